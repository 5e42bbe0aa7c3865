"""Training speed: the tutorials' recipe, a plain loop and plain ``Trainer`` against ours.

``bench_train`` times the tutorials' recipe (pad to 256, batch 4, fp32), a plain per-batch-padding
fp32 loop, plain ``transformers.Trainer`` and our default ``tweetsent train`` on the same split.

The reference loops are written out here on purpose: they *are* the baselines the issue names
(a tutorial's loop), so they must not borrow any of our speed levers.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path

from tweetsent.benchmarks.machine import encoder_flops, flops_entry, machine_info
from tweetsent.config import TrainConfig
from tweetsent.data.prepare import prepare_data
from tweetsent.data.presets import resolve_data_config
from tweetsent.data.reading import LabelledData
from tweetsent.errors import ConfigError
from tweetsent.evaluation.metrics import classification_metrics
from tweetsent.modeling.loading import (
    build_classifier,
    load_classifier,
    load_tokenizer,
    resolve_model,
)
from tweetsent.rundir import RunDir
from tweetsent.training.schedule import resolve_schedule

logger = logging.getLogger(__name__)

TRAIN_KEYS = ("name", "tweets_per_second", "seconds", "ratio_vs_tutorial", "ratio_vs_plain")


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
    unknown = set(include) - {"tutorial", "plain", "trainer", "ours"}
    if unknown:
        raise ConfigError(f"unknown training contestant(s): {', '.join(sorted(unknown))}")
    work_dir = Path(work_dir)
    config, train_data, val_data = _shared_setup(config)
    labels = train_data.label_set
    model_name = resolve_model(config.model)
    tutorial = Loop(batch_size=4, lr=1e-5, seed=config.seed, pad_to=256, max_steps=tutorial_steps)
    plain = Loop.plain(config)
    contestants = {
        "tutorial": lambda: _reference_loop(
            "tutorial (pad 256, batch 4, fp32)", model_name, train_data, labels, tutorial
        ),
        "plain": lambda: _reference_loop(
            f"plain loop (per-batch padding, batch {config.batch_size}, fp32)",
            model_name,
            train_data,
            labels,
            plain,
            validation=val_data,
        ),
        "trainer": lambda: _reference_trainer(
            config, model_name, train_data, val_data, labels, work_dir
        ),
        "ours": lambda: _ours_row(config, work_dir, model_name, train_data),
    }
    rows = [run() for name, run in contestants.items() if name in include]
    _add_ratios(rows)
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


def _ours_row(config: TrainConfig, work_dir: Path, model_name: str, train_data) -> dict:
    """``tweetsent train`` itself, timed and scored like the references."""
    from tweetsent.training import train  # torch and transformers: loaded only when needed

    result = train(config, work_dir / "ours", overwrite=True, progress=False)
    metrics = result.metrics
    final = metrics["history"][-1] if metrics["history"] else {}
    model = load_classifier(RunDir(work_dir / "ours").model)
    tokens = _token_lengths(model_name, train_data.texts, config.max_length)
    flops = 3 * encoder_flops(model.config, tokens) * config.epochs
    return {
        "name": f"ours (tweetsent train, {metrics['precision']}, "
        f"batch {config.batch_size}"
        + (", word embeddings frozen)" if config.freeze_word_embeddings else ")"),
        "tweets_per_second": round(metrics["train_tweets_per_second"], 2),
        "seconds": round(metrics["train_seconds"], 2),
        "tweets": len(train_data) * config.epochs,
        "epochs": config.epochs,
        "final_f1_weighted": round(final.get("f1_weighted", float("nan")), 4),
        "best_f1_weighted": round(metrics["validation"]["f1_weighted"], 4),
        **flops_entry(flops, metrics["train_seconds"], metrics["precision"]),
    }


def _add_ratios(rows: list[dict]) -> None:
    """Each row's speed against each reference present; ours' final F1 against plain's."""
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


def _token_lengths(model_name: str, texts: Sequence[str], max_length: int) -> list[int]:
    tokenizer = load_tokenizer(model_name)
    return [
        len(ids)
        for ids in tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
    ]


def _shared_setup(config: TrainConfig) -> tuple[TrainConfig, LabelledData, LabelledData]:
    """The rows and the schedule every contestant trains with."""
    config.data = resolve_data_config(config.data)
    if config.multi_label_rows != "drop":
        # Same rows for every contestant: the references know only plain class labels, so the
        # multi-label rows ours would train on as soft targets sit this comparison out.
        config = dataclasses.replace(config, multi_label_rows="drop")
    train_data, val_data = prepare_data(config)
    # "auto" batch size and epochs as ours resolves them, so every contestant runs the same.
    return resolve_schedule(config, len(train_data)), train_data, val_data


@dataclasses.dataclass(frozen=True)
class Loop:
    """The settings of a textbook loop: the tutorial's (pad to 256, a few steps) or plain's."""

    batch_size: int
    lr: float
    seed: int
    pad_to: int | None = None
    epochs: int = 1
    max_steps: int | None = None
    warmup_ratio: float = 0.0
    weight_decay: float = 0.0
    max_length: int = 256

    @classmethod
    def plain(cls, config: TrainConfig) -> Loop:
        """The plain loop: the schedule and settings every contestant but the tutorial shares."""
        return cls(
            batch_size=config.batch_size,
            lr=config.lr,
            seed=config.seed,
            epochs=config.epochs,
            warmup_ratio=config.warmup_ratio,
            weight_decay=config.weight_decay,
            max_length=config.max_length,
        )


def _reference_loop(
    name: str,
    model_name: str,
    train_data: LabelledData,
    labels: list[str],
    loop: Loop,
    validation: LabelledData | None = None,
) -> dict:
    """The textbook fp32 fine-tuning loop: shuffle, pad, forward, backward, AdamW, schedule."""
    from transformers import set_seed

    set_seed(loop.seed)
    tokenizer = load_tokenizer(model_name)
    model = build_classifier(model_name, labels)
    label2id = {label: i for i, label in enumerate(labels)}
    width = loop.pad_to or loop.max_length
    encoded = tokenizer(train_data.texts, truncation=True, max_length=width)["input_ids"]
    targets = [label2id[x] for x in train_data.labels]
    steps_per_epoch = math.ceil(len(encoded) / loop.batch_size)
    total = steps_per_epoch * loop.epochs
    total = min(loop.max_steps, total) if loop.max_steps else total
    tweets, seconds, lengths = _train_steps(model, tokenizer, encoded, targets, loop, total)
    row = {
        "name": name,
        "tweets_per_second": round(tweets / seconds, 2) if seconds else 0.0,
        "seconds": round(seconds, 2),
        "tweets": tweets,
        "epochs": round(total / steps_per_epoch, 3),
        **flops_entry(3 * encoder_flops(model.config, lengths), seconds, "fp32"),
    }
    if validation is not None:
        row["final_f1_weighted"] = _f1_weighted(
            model, tokenizer, validation, labels, loop.max_length
        )
    return row


def _train_steps(model, tokenizer, encoded, targets, loop: Loop, total: int):
    """``total`` optimizer steps over shuffled batches; the tweets and seconds timed (the first
    step pays one-off allocations and is left out) and the tokens per timed row."""
    import torch

    warmup = int(loop.warmup_ratio * total)
    optimizer, schedule = _adamw_linear(model, loop.lr, loop.weight_decay, warmup, total)
    generator = torch.Generator().manual_seed(loop.seed)
    model.train()
    step, tweets, seconds, lengths = 0, 0, 0.0, []
    while step < total:
        for batch_rows in torch.randperm(len(encoded), generator=generator).split(loop.batch_size):
            if step >= total:
                break
            rows = batch_rows.tolist()
            batch = tokenizer.pad(
                {"input_ids": [encoded[i] for i in rows]},
                padding="max_length" if loop.pad_to else "longest",
                max_length=loop.pad_to,
                return_tensors="pt",
            )
            started = time.perf_counter()
            loss = model(**batch, labels=torch.tensor([targets[i] for i in rows])).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            if step > 0:
                seconds += time.perf_counter() - started
                tweets += len(rows)
                lengths.extend(int(n) for n in batch["attention_mask"].sum(1))
            step += 1
    return tweets, seconds, lengths


def _adamw_linear(model, lr: float, weight_decay: float, warmup: int, total: int):
    """AdamW without decay on biases and LayerNorm, and a linear warm-up-then-decay schedule."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    decay = [p for n, p in model.named_parameters() if not _no_decay(n)]
    rest = [p for n, p in model.named_parameters() if _no_decay(n)]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}],
        lr=lr,
    )
    return optimizer, get_linear_schedule_with_warmup(optimizer, warmup, total)


def _f1_weighted(model, tokenizer, validation: LabelledData, labels, max_length: int) -> float:
    import torch

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
    label2id = {label: i for i, label in enumerate(labels)}
    y_true = [label2id[x] for x in validation.labels]
    return round(classification_metrics(y_true, predicted, labels)["f1_weighted"], 4)


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
    from transformers import PrinterCallback, Trainer, TrainingArguments, set_seed

    set_seed(config.seed)
    tokenizer = load_tokenizer(model_name)
    model = build_classifier(model_name, labels)
    label2id = {label: i for i, label in enumerate(labels)}

    def encode(data: LabelledData) -> datasets.Dataset:
        ids = tokenizer(list(data.texts), truncation=True, max_length=config.max_length)
        return datasets.Dataset.from_dict({**ids, "labels": [label2id[x] for x in data.labels]})

    args = _trainer_arguments(TrainingArguments, config, work_dir)
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=encode(train_data),
        processing_class=tokenizer,
    )
    trainer.remove_callback(PrinterCallback)  # it prints Trainer's raw log dicts to stdout
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    output = trainer.predict(encode(val_data))
    f1 = classification_metrics(output.label_ids, output.predictions.argmax(-1), labels)
    tokens = _token_lengths(model_name, train_data.texts, config.max_length)
    tweets = len(train_data) * config.epochs
    return {
        "name": f"Trainer (defaults, fp32, batch {config.batch_size})",
        "tweets_per_second": round(tweets / seconds, 2),
        "seconds": round(seconds, 2),
        "tweets": tweets,
        "epochs": config.epochs,
        "final_f1_weighted": round(f1["f1_weighted"], 4),
        **flops_entry(3 * encoder_flops(model.config, tokens) * config.epochs, seconds, "fp32"),
    }


def _trainer_arguments(arguments_class, config: TrainConfig, work_dir: Path):
    """Trainer's defaults but for the settings every contestant shares; no saving."""
    return arguments_class(
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


def _no_decay(name: str) -> bool:
    return name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name


__all__ = ["TRAIN_KEYS", "bench_train"]
