"""Side-by-side speed benchmarks: ours against the usual references, in one run, same model.

``bench_predict`` times raw tweets → label names with ``transformers.pipeline`` (fp32, batch 64,
the reference) and with each of our backends; ``bench_train`` times the tutorials' recipe (pad to
256, batch 4, fp32), a plain per-batch-padding fp32 loop and our default ``tweetsent train``.
Both return plain dicts (the CLI prints them as a table and writes them as JSON) with throughputs,
ratios to the reference, label agreement / F1, and the achieved FLOP/s against the CPU's peak.

The reference loops are written out here on purpose: they *are* the baselines the issue names
(a tutorial's loop), so they must not borrow any of our speed levers.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from tweetsent.config import DataConfig, TrainConfig
from tweetsent.data import LabelledData, load_labelled, resolve_data_config
from tweetsent.errors import ConfigError, DataError
from tweetsent.hardware import cpu_has_bf16, cpu_peak_flops

logger = logging.getLogger(__name__)

PREDICT_KEYS = ("name", "tweets_per_second", "seconds", "ratio", "agreement", "f1_weighted")
TRAIN_KEYS = ("name", "tweets_per_second", "seconds", "ratio_vs_tutorial", "ratio_vs_plain")


# --- FLOPs --------------------------------------------------------------------------------------


def encoder_flops(config, lengths: Sequence[int]) -> float:
    """Forward-pass FLOPs of a BERT-style encoder over sequences of these (unpadded) lengths.

    Per token and layer: the Q, K, V and output projections (4·H² multiply-adds), the feed-forward
    block (2·H·I) and attention scores plus weighted sum (2·L·H for a sequence of length L); a
    multiply-add is 2 FLOPs. Embedding look-ups, LayerNorm, softmax and the head are negligible.
    """
    hidden = config.hidden_size
    inter = config.intermediate_size
    layers = config.num_hidden_layers
    total = 0.0
    for length in lengths:
        per_token = 2 * (4 * hidden * hidden + 2 * hidden * inter + 2 * length * hidden)
        total += layers * length * per_token
    return total


@functools.cache
def peak_flops() -> tuple[dict[str, float], float, float]:
    """``(peak FLOP/s per precision, measured fp32 GEMM FLOP/s, clock scale)``.

    The nominal peak (:func:`tweetsent.hardware.cpu_peak_flops`) uses the clock /proc/cpuinfo
    reports, which on a VM is the base clock while the cores boost: on an AVX2 EPYC a large fp32
    matmul ran faster than that "peak". Where one does, the ratio is taken as the clock really
    run at and every precision's nominal peak is scaled by it. Kernels other than ``torch.mm``
    (onnxruntime's MLAS) can still run slightly above it.
    """
    import torch

    nominal = cpu_peak_flops()["peak_flops"]
    n = 2048
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)  # warm-up
    best = 0.0
    for _ in range(3):
        started = time.perf_counter()
        torch.mm(a, b)
        best = max(best, 2 * n**3 / (time.perf_counter() - started))
    scale = max(1.0, best / nominal["fp32"])
    return {k: v * scale for k, v in nominal.items()}, best, scale


def machine_info() -> dict:
    import torch

    peak = cpu_peak_flops()
    scaled, gemm, scale = peak_flops()
    return {
        "cpu": _cpu_name(),
        "cpus": peak["cpus"],
        "ghz": peak["ghz"],
        "bf16_native": cpu_has_bf16(),
        "peak_gflops": {k: round(v / 1e9, 1) for k, v in scaled.items()},
        "nominal_peak_gflops": {k: round(v / 1e9, 1) for k, v in peak["peak_flops"].items()},
        "gemm_fp32_gflops": round(gemm / 1e9, 1),
        "peak_assumption": (
            "logical CPUs x reported clock x FLOPs/cycle/core "
            f"{peak['flops_per_cycle']} (see tweetsent.hardware.cpu_peak_flops), "
            f"x {scale:.2f} where a 2048x2048 fp32 matmul measured here beat that"
        ),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
    }


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _flops_entry(flops: float, seconds: float, precision: str) -> dict:
    peak = peak_flops()[0][precision]
    achieved = flops / seconds if seconds > 0 else 0.0
    return {
        "precision": precision,
        "achieved_gflops": round(achieved / 1e9, 2),
        "peak_gflops": round(peak / 1e9, 1),
        "fraction_of_peak": round(achieved / peak, 6),
    }


# --- data ---------------------------------------------------------------------------------------


def parse_source(spec: str) -> tuple[str, DataConfig]:
    """``FILE`` or ``FILE:PRESET`` (e.g. ``Corona_NLP_test.csv:covid``)."""
    from tweetsent.data import PRESETS

    path, sep, preset = spec.rpartition(":")
    if sep and preset in PRESETS:
        return path, DataConfig(preset=preset)
    return spec, DataConfig()


def sample_texts(sources: Sequence[tuple[str | Path, DataConfig]], n: int) -> list[str]:
    """Up to ``n`` tweets, an equal share from each source (its first rows, in file order)."""
    from tweetsent.data import load_texts

    if n <= 0:
        raise ConfigError(f"the number of tweets must be positive, got {n}")
    if not sources:
        raise ConfigError("no data to benchmark on")
    share = math.ceil(n / len(sources))
    texts: list[str] = []
    for path, config in sources:
        texts.extend(t for t in load_texts(path, config)[:share])
    if not texts:
        raise DataError("the benchmark data holds no tweets")
    return texts[:n]


# --- inference ----------------------------------------------------------------------------------


def predict_contestants(run_dir: Path, onnx_dir: Path | None) -> dict[str, Callable]:
    """Name → loader of a ``TweetClassifier`` for each backend available here."""
    from tweetsent.prediction import TweetClassifier

    contestants: dict[str, Callable] = {
        "torch fp32": lambda: TweetClassifier.load(run_dir, backend="torch", precision="fp32"),
    }
    if cpu_has_bf16():
        contestants["torch bf16"] = lambda: TweetClassifier.load(
            run_dir, backend="torch", precision="bf16"
        )
    if onnx_dir is not None:
        for name, prefer in (("onnx fp32", "fp32"), ("onnx int8", "int8")):
            if (onnx_dir / ("model.onnx" if prefer == "fp32" else "model_int8.onnx")).is_file():
                contestants[name] = lambda prefer=prefer: TweetClassifier.load(
                    run_dir, backend="onnx", onnx_dir=onnx_dir, onnx_variant=prefer
                )
    contestants["ours (auto)"] = lambda: TweetClassifier.load(
        run_dir, backend="auto", onnx_dir=onnx_dir
    )
    return contestants


def bench_predict(
    run_dir: str | Path,
    texts: Sequence[str],
    *,
    validation: LabelledData | None = None,
    onnx_dir: str | Path | None = None,
    batch_size: int = 64,
    include: Sequence[str] | None = None,
) -> dict:
    """Tweets/s from raw text to label names: the pipeline reference and each of our backends.

    ``validation`` (labelled tweets, e.g. the run's own validation split) adds ``f1_weighted``
    per contestant. ``onnx_dir``: an ONNX export to include (``tweetsent export``).
    ``include``: names of contestants to run (default: all available).
    """
    from tweetsent.evaluation import classification_metrics
    from tweetsent.prediction import TweetClassifier

    run_dir = Path(run_dir)
    texts = list(texts)
    if not texts:
        raise DataError("no tweets to benchmark on")
    onnx_dir = Path(onnx_dir) if onnx_dir else None

    reference_clf = TweetClassifier.load(run_dir, backend="torch", precision="fp32")
    labels = reference_clf.labels
    model_config = reference_clf.engine.model.config
    lengths = [
        len(ids)
        for ids in reference_clf.tokenizer(
            texts, truncation=True, max_length=reference_clf.max_length
        )["input_ids"]
    ]
    flops = encoder_flops(model_config, lengths)

    loaders: dict[str, Callable] = {"pipeline fp32 (reference)": lambda: _pipeline(reference_clf)}
    loaders.update(predict_contestants(run_dir, onnx_dir))
    if include is not None:
        loaders = {k: v for k, v in loaders.items() if k in include or k.startswith("pipeline")}

    rows = []
    baseline: list[str] | None = None
    for name, load in loaders.items():
        predictor = load()
        predict = predictor if callable(predictor) else predictor.predict
        predict(texts[:batch_size])  # warm-up: first-call allocations, lazy initialisation
        started = time.perf_counter()
        predicted = predict(texts)
        seconds = time.perf_counter() - started
        row = {
            "name": name,
            "backend": getattr(predictor, "backend", "pipeline"),
            "tweets_per_second": round(len(texts) / seconds, 1),
            "seconds": round(seconds, 3),
        }
        if name == "torch fp32":
            baseline = predicted
        row["_labels"] = predicted
        if validation is not None and len(validation):
            val_pred = predict(validation.texts)
            index = {label: i for i, label in enumerate(labels)}
            row["f1_weighted"] = round(
                classification_metrics(
                    [index[x] for x in validation.labels], [index[x] for x in val_pred], labels
                )["f1_weighted"],
                4,
            )
        else:
            row["f1_weighted"] = None
        precision = _precision_of(predictor)
        row.update(_flops_entry(flops, seconds, precision))
        rows.append(row)
        logger.info("%s: %.1f tweets/s", name, row["tweets_per_second"])
        del predictor

    reference = rows[0]["tweets_per_second"]
    fp32_f1 = next((r["f1_weighted"] for r in rows if r["name"] == "torch fp32"), None)
    for row in rows:
        predicted = row.pop("_labels")
        row["ratio"] = round(row["tweets_per_second"] / reference, 2)
        row["agreement"] = (
            round(float(np.mean([a == b for a, b in zip(predicted, baseline, strict=True)])), 4)
            if baseline is not None
            else None
        )
        row["f1_delta_vs_fp32"] = (
            round(row["f1_weighted"] - fp32_f1, 4)
            if row["f1_weighted"] is not None and fp32_f1 is not None
            else None
        )
    return {
        "benchmark": "predict",
        "run_dir": str(run_dir),
        "tweets": len(texts),
        "mean_tokens": round(float(np.mean(lengths)), 1),
        "validation_tweets": len(validation) if validation is not None else 0,
        "batch_size": batch_size,
        "encoder_gflop": round(flops / 1e9, 1),
        "reference": rows[0]["name"],
        "results": rows,
        "machine": machine_info(),
    }


def _pipeline(classifier):
    """``transformers.pipeline`` on the same fine-tuned fp32 model: the issue's reference."""
    from transformers import pipeline

    pipe = pipeline(
        "text-classification",
        model=classifier.engine.model,
        tokenizer=classifier.tokenizer,
        device=-1,
        batch_size=64,
    )

    def predict(texts: Sequence[str]) -> list[str]:
        out = pipe(list(texts), truncation=True, max_length=classifier.max_length)
        return [o["label"] for o in out]

    return predict


def _precision_of(predictor) -> str:
    if not hasattr(predictor, "engine"):
        return "fp32"
    engine = predictor.engine
    if getattr(engine, "precision", None) == "bf16":
        return "bf16"
    if "int8" in str(getattr(engine, "path", "")):
        return "int8"
    return "fp32"


# --- training -----------------------------------------------------------------------------------


def bench_train(
    config: TrainConfig,
    work_dir: str | Path,
    *,
    tutorial_steps: int = 20,
    include: Sequence[str] = ("tutorial", "plain", "trainer", "ours"),
) -> dict:
    """Training tweets/s of the tutorial recipe, a plain fp32 loop, plain ``Trainer`` and ours.

    All three fine-tune ``config.model`` on the same split of ``config.data_path``. The tutorial
    recipe runs ``tutorial_steps`` steps only (at ~3 tweets/s its 10 epochs would take hours); the
    plain loop, Trainer and ours run ``config.epochs`` epochs with the same learning rate, batch
    size and schedule, so their final validation ``f1_weighted`` compares like with like.
    """
    from tweetsent.modeling import load_classifier, resolve_model
    from tweetsent.training import prepare_data, train

    unknown = set(include) - {"tutorial", "plain", "trainer", "ours"}
    if unknown:
        raise ConfigError(f"unknown training contestant(s): {', '.join(sorted(unknown))}")
    work_dir = Path(work_dir)
    config.data = resolve_data_config(config.data)
    if config.multi_label_rows != "drop":
        # Same rows for every contestant: the references know only plain class labels, so the
        # multi-label rows ours would train on as soft targets sit this comparison out.
        config = dataclasses.replace(config, multi_label_rows="drop")
    train_data, val_data = prepare_data(config)
    labels = train_data.label_set
    model_name = resolve_model(config.model)
    rows = []

    if "tutorial" in include:
        rows.append(
            _reference_loop(
                "tutorial (pad 256, batch 4, fp32)",
                model_name,
                train_data,
                labels,
                batch_size=4,
                lr=1e-5,
                pad_to=256,
                max_steps=tutorial_steps,
                seed=config.seed,
            )
        )
    if "plain" in include:
        rows.append(
            _reference_loop(
                f"plain loop (per-batch padding, batch {config.batch_size}, fp32)",
                model_name,
                train_data,
                labels,
                batch_size=config.batch_size,
                lr=config.lr,
                epochs=config.epochs,
                warmup_ratio=config.warmup_ratio,
                weight_decay=config.weight_decay,
                max_length=config.max_length,
                seed=config.seed,
                validation=val_data,
            )
        )
    if "trainer" in include:
        rows.append(_reference_trainer(config, model_name, train_data, val_data, labels, work_dir))
    if "ours" in include:
        result = train(config, work_dir / "ours", overwrite=True, progress=False)
        metrics = result.metrics
        final = metrics["history"][-1] if metrics["history"] else {}
        model = load_classifier(work_dir / "ours" / "model")
        tokens = _token_lengths(model_name, train_data.texts, config.max_length)
        flops = 3 * encoder_flops(model.config, tokens) * config.epochs
        rows.append(
            {
                "name": f"ours (tweetsent train, {metrics['precision']}, "
                f"batch {config.batch_size}"
                + (", word embeddings frozen)" if config.freeze_word_embeddings else ")"),
                "tweets_per_second": round(metrics["train_tweets_per_second"], 2),
                "seconds": round(metrics["train_seconds"], 2),
                "tweets": len(train_data) * config.epochs,
                "epochs": config.epochs,
                "final_f1_weighted": round(final.get("f1_weighted", float("nan")), 4),
                "best_f1_weighted": round(metrics["validation"]["f1_weighted"], 4),
                **_flops_entry(flops, metrics["train_seconds"], metrics["precision"]),
            }
        )

    by_kind = {row["name"].split()[0]: row for row in rows}
    for row in rows:
        for kind in ("tutorial", "plain", "Trainer"):
            ref = by_kind.get(kind)
            row[f"ratio_vs_{kind.lower()}"] = (
                round(row["tweets_per_second"] / ref["tweets_per_second"], 2) if ref else None
            )
    if "plain" in by_kind and "ours" in by_kind:
        by_kind["ours"]["f1_delta_vs_plain"] = round(
            by_kind["ours"]["final_f1_weighted"] - by_kind["plain"]["final_f1_weighted"], 4
        )
    return {
        "benchmark": "train",
        "data": str(config.data_path),
        "model": model_name,
        "train_tweets": len(train_data),
        "validation_tweets": len(val_data),
        "epochs": config.epochs,
        "tutorial_steps": tutorial_steps,
        "results": rows,
        "machine": machine_info(),
    }


def _token_lengths(model_name: str, texts: Sequence[str], max_length: int) -> list[int]:
    from tweetsent.modeling import load_tokenizer

    tokenizer = load_tokenizer(model_name)
    return [
        len(ids)
        for ids in tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
    ]


def _reference_loop(
    name: str,
    model_name: str,
    train_data: LabelledData,
    labels: list[str],
    *,
    batch_size: int,
    lr: float,
    seed: int,
    pad_to: int | None = None,
    epochs: int = 1,
    max_steps: int | None = None,
    warmup_ratio: float = 0.0,
    weight_decay: float = 0.0,
    max_length: int = 256,
    validation: LabelledData | None = None,
) -> dict:
    """The textbook fp32 fine-tuning loop: shuffle, pad, forward, backward, AdamW, schedule."""
    import torch
    from transformers import get_linear_schedule_with_warmup, set_seed

    from tweetsent.evaluation import classification_metrics
    from tweetsent.modeling import build_classifier, load_tokenizer

    set_seed(seed)
    tokenizer = load_tokenizer(model_name)
    model = build_classifier(model_name, labels)
    label2id = {label: i for i, label in enumerate(labels)}
    width = pad_to or max_length
    encoded = tokenizer(train_data.texts, truncation=True, max_length=width)["input_ids"]
    targets = [label2id[x] for x in train_data.labels]
    steps_per_epoch = math.ceil(len(encoded) / batch_size)
    total = min(max_steps, steps_per_epoch * epochs) if max_steps else steps_per_epoch * epochs
    decay = [p for n, p in model.named_parameters() if not _no_decay(n)]
    rest = [p for n, p in model.named_parameters() if _no_decay(n)]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}],
        lr=lr,
    )
    schedule = get_linear_schedule_with_warmup(optimizer, int(warmup_ratio * total), total)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    step = 0
    tweets = 0
    seconds = 0.0
    lengths: list[int] = []
    while step < total:
        for batch_rows in torch.randperm(len(encoded), generator=generator).split(batch_size):
            if step >= total:
                break
            rows = batch_rows.tolist()
            batch = tokenizer.pad(
                {"input_ids": [encoded[i] for i in rows]},
                padding="max_length" if pad_to else "longest",
                max_length=pad_to,
                return_tensors="pt",
            )
            started = time.perf_counter()
            loss = model(**batch, labels=torch.tensor([targets[i] for i in rows])).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            if step > 0:  # the first step pays one-off allocations; leave it out
                seconds += time.perf_counter() - started
                tweets += len(rows)
                lengths.extend(int(n) for n in batch["attention_mask"].sum(1))
            step += 1
    row = {
        "name": name,
        "tweets_per_second": round(tweets / seconds, 2) if seconds else 0.0,
        "seconds": round(seconds, 2),
        "tweets": tweets,
        "epochs": round(step / steps_per_epoch, 3),
        **_flops_entry(3 * encoder_flops(model.config, lengths), seconds, "fp32"),
    }
    if validation is not None:
        model.eval()
        predicted = []
        with torch.inference_mode():
            for start in range(0, len(validation), 64):
                batch = tokenizer(
                    validation.texts[start : start + 64],
                    truncation=True,
                    max_length=max_length,
                    padding=True,
                    return_tensors="pt",
                )
                predicted.extend(model(**batch).logits.argmax(-1).tolist())
        y_true = [label2id[x] for x in validation.labels]
        row["final_f1_weighted"] = round(
            classification_metrics(y_true, predicted, labels)["f1_weighted"], 4
        )
    return row


def _reference_trainer(
    config: TrainConfig,
    model_name: str,
    train_data: LabelledData,
    val_data: LabelledData,
    labels: list[str],
    work_dir: Path,
) -> dict:
    """Plain ``transformers.Trainer``: default arguments (fp32, its default fused AdamW, random
    batches padded per batch) except the lr, batch size, epochs, warm-up and weight decay that
    the other contestants share; no evaluation or saving while it trains."""
    import datasets
    from transformers import Trainer, TrainingArguments, set_seed

    from tweetsent.evaluation import classification_metrics
    from tweetsent.modeling import build_classifier, load_tokenizer

    set_seed(config.seed)
    tokenizer = load_tokenizer(model_name)
    model = build_classifier(model_name, labels)
    label2id = {label: i for i, label in enumerate(labels)}

    def encode(data: LabelledData) -> datasets.Dataset:
        ids = tokenizer(list(data.texts), truncation=True, max_length=config.max_length)
        return datasets.Dataset.from_dict({**ids, "labels": [label2id[x] for x in data.labels]})

    args = TrainingArguments(
        output_dir=str(work_dir / "trainer"),
        num_train_epochs=config.epochs,
        learning_rate=config.lr,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=64,
        warmup_steps=config.warmup_ratio,
        weight_decay=config.weight_decay,
        save_strategy="no",
        use_cpu=True,
        seed=config.seed,
        report_to=[],
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=encode(train_data),
        processing_class=tokenizer,
    )
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    output = trainer.predict(encode(val_data))
    tokens = [
        len(x)
        for x in tokenizer(list(train_data.texts), truncation=True, max_length=config.max_length)[
            "input_ids"
        ]
    ]
    tweets = len(train_data) * config.epochs
    return {
        "name": f"Trainer (defaults, fp32, batch {config.batch_size})",
        "tweets_per_second": round(tweets / seconds, 2),
        "seconds": round(seconds, 2),
        "tweets": tweets,
        "epochs": config.epochs,
        "final_f1_weighted": round(
            classification_metrics(output.label_ids, output.predictions.argmax(-1), labels)[
                "f1_weighted"
            ],
            4,
        ),
        **_flops_entry(3 * encoder_flops(model.config, tokens) * config.epochs, seconds, "fp32"),
    }


def _no_decay(name: str) -> bool:
    return name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name


def run_validation(run_dir: str | Path) -> LabelledData | None:
    """The validation split a run was trained with, re-made from its config (None if unknown)."""
    from tweetsent.training import prepare_data

    config_file = Path(run_dir) / "config.json"
    if not config_file.is_file():
        return None
    config = TrainConfig.load(config_file)
    if not config.data_path or not Path(config.data_path).is_file():
        return None
    return prepare_data(config)[1]


def load_sources(specs: Sequence[str]) -> list[tuple[str, DataConfig]]:
    return [parse_source(spec) for spec in specs]


__all__ = [
    "PREDICT_KEYS",
    "TRAIN_KEYS",
    "bench_predict",
    "bench_train",
    "encoder_flops",
    "load_labelled",
    "machine_info",
    "parse_source",
    "run_validation",
    "sample_texts",
]
