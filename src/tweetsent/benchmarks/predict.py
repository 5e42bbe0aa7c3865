"""Prediction speed: raw tweets → label names, ``transformers.pipeline`` against our backends.

``bench_predict`` times the pipeline (fp32, batch 64, the reference) and each of our backends on
the same fine-tuned model, with label agreement / F1 and the achieved FLOP/s against the peak.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from tweetsent.benchmarks.machine import encoder_flops, flops_entry, machine_info
from tweetsent.data.reading import LabelledData
from tweetsent.errors import DataError
from tweetsent.evaluation.metrics import classification_metrics
from tweetsent.hardware import cpu_has_bf16
from tweetsent.inference import TweetClassifier
from tweetsent.rundir import RunDir, read_model_config

logger = logging.getLogger(__name__)


REFERENCE = "pipeline fp32 (reference)"
EXPORTS = ("onnx", "openvino")  # a run's export folders, as tweetsent export names them
PREDICT_KEYS = (
    "name",
    "backend",
    "precision",
    "tweets_per_second",
    "spread",
    "ratio",
    "agreement",
    "f1_weighted",
)


def predict_contestants(
    run_dir: Path, onnx_dir: Path | None, openvino_dir: Path | None = None
) -> dict[str, Callable]:
    """Name → loader of a ``TweetClassifier`` for each backend available here."""
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
    if openvino_dir is not None:
        variants = ["fp32"] + (["bf16"] if cpu_has_bf16() else [])
        if (openvino_dir / "model_int8.xml").is_file():
            variants.append("int8")
        for variant in variants:
            contestants[f"openvino {variant}"] = lambda variant=variant: TweetClassifier.load(
                run_dir, backend="openvino", openvino_dir=openvino_dir, variant=variant
            )
    contestants["ours (auto)"] = lambda: TweetClassifier.load(
        run_dir, backend="auto", onnx_dir=onnx_dir, openvino_dir=openvino_dir
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
    openvino_dir: str | Path | None = None,
    students: Sequence[str | Path] = (),
    rounds: int = 3,
) -> dict:
    """Tweets/s from raw text to label names: the pipeline reference and each of our backends.

    All contestants are loaded, then timed in ``rounds`` alternating rounds (each row keeps its
    best and reports the spread), so a passing load lands on every row alike. Each row names
    the engine and precision it ran; "ours (auto)" is ``TweetClassifier.load(run, "auto")``.

    Args:
        run_dir: the run to time.
        texts: raw tweets.
        validation: labelled tweets (e.g. the run's validation split): adds ``f1_weighted``.
        onnx_dir: an ONNX export to include (``tweetsent export``).
        batch_size: texts per forward pass of our backends.
        include: names of contestants to run (default: all available).
        openvino_dir: an OpenVINO export to include.
        students: distilled runs of this one, timed with their own exports; their labels
            are compared with this run's fp32 ones.
        rounds: timed passes over ``texts`` per contestant.

    Returns:
        A dict with the machine, the settings and one row per contestant (``results``).

    Raises:
        DataError: no tweets.
    """
    run_dir, texts = Path(run_dir), _some(texts)
    reference_clf = TweetClassifier.load(run_dir, backend="torch", precision="fp32")
    lengths = _token_lengths(reference_clf, texts)
    flops = encoder_flops(reference_clf.engine.model.config, lengths)
    exports = [Path(d) if d else None for d in (onnx_dir, openvino_dir)]
    loaders, flops_of = _loaders(run_dir, reference_clf, *exports, students, lengths, flops)
    predictors = {n: load() for n, load in loaders.items() if _included(n, include)}
    timings = time_alternating(predictors, texts, batch_size, max(1, rounds))
    rows = [
        _row(name, predictors[name], timings[name], texts, validation, reference_clf.labels)
        for name in predictors
    ]
    _compare(rows, flops_of)
    return {
        "benchmark": "predict",
        "run_dir": str(run_dir),
        "tweets": len(texts),
        "mean_tokens": round(float(np.mean(lengths)), 1),
        "validation_tweets": len(validation) if validation is not None else 0,
        **{"batch_size": batch_size, "rounds": max(1, rounds)},
        "encoder_gflop": round(flops / 1e9, 1),
        **{"reference": rows[0]["name"], "results": rows, "machine": machine_info()},
    }


def _some(texts: Sequence[str]) -> list[str]:
    texts = list(texts)
    if not texts:
        raise DataError("no tweets to benchmark on")
    return texts


def _included(name: str, include: Sequence[str] | None) -> bool:
    return include is None or name in include or name == REFERENCE


def _token_lengths(classifier, texts: list[str]) -> list[int]:
    encoded = classifier.tokenizer(texts, truncation=True, max_length=classifier.max_length)
    return [len(ids) for ids in encoded["input_ids"]]


def time_alternating(predictors: dict, texts: list[str], batch_size: int, rounds: int) -> dict:
    """Seconds per round of each predictor over ``texts``, the predictors taking turns; and
    the labels of its last round (``name -> (seconds list, labels)``)."""
    calls = {name: _predict_call(p) for name, p in predictors.items()}
    for call in calls.values():
        call(texts[:batch_size])  # warm-up: first-call allocations, lazy initialisation
    seconds: dict[str, list[float]] = {name: [] for name in calls}
    labels: dict[str, list[str]] = {}
    for _ in range(rounds):
        for name, call in calls.items():
            started = time.perf_counter()
            labels[name] = call(texts)
            seconds[name].append(time.perf_counter() - started)
    return {name: (seconds[name], labels[name]) for name in calls}


def _predict_call(predictor) -> Callable:
    return predictor if callable(predictor) else predictor.predict


def _loaders(run_dir, reference_clf, onnx_dir, openvino_dir, students, lengths, flops):
    """Every contestant's loader, and the encoder FLOPs of each over the benchmark tweets."""
    loaders: dict[str, Callable] = {
        REFERENCE: lambda: _pipeline(reference_clf, clean=True),
        "pipeline fp32 (raw text)": lambda: _pipeline(reference_clf, clean=False),
    }
    loaders.update(predict_contestants(run_dir, onnx_dir, openvino_dir))
    flops_of = dict.fromkeys(loaders, flops)
    for student in map(Path, students):
        student_loaders = _student_contestants(student)
        loaders.update(student_loaders)
        student_flops = encoder_flops(_model_config(student), lengths)
        flops_of.update(dict.fromkeys(student_loaders, student_flops))
    return loaders, flops_of


def _student_contestants(student: Path) -> dict[str, Callable]:
    """A distilled run's backends (with the exports it has), named after it."""
    exports = [student / name if (student / name).is_dir() else None for name in EXPORTS]
    return {
        f"student {student.name}: {name}": load
        for name, load in predict_contestants(student, *exports).items()
    }


def _model_config(run_dir: Path):
    """A run's model config.json as attributes (what :func:`encoder_flops` reads)."""
    from types import SimpleNamespace

    return SimpleNamespace(**read_model_config(RunDir(run_dir).model))


def _row(name, predictor, timing, texts, validation, labels) -> dict:
    """One contestant's row: best round, spread, engine and precision, F1 on ``validation``."""
    seconds, predicted = timing
    best = min(seconds)
    row = {
        "name": name,
        "backend": getattr(predictor, "backend", "pipeline"),
        "precision": _precision_of(predictor),
        "tweets_per_second": round(len(texts) / best, 1),
        "seconds": round(best, 3),
        # (slowest - fastest) / fastest over the rounds: how much the machine's load moved
        "spread": round((max(seconds) - best) / best, 3),
        "_labels": predicted,
        "f1_weighted": None,
    }
    if validation is not None and len(validation):
        val_pred = _predict_call(predictor)(validation.texts)
        index = {label: i for i, label in enumerate(labels)}
        row["f1_weighted"] = round(
            classification_metrics(
                [index[x] for x in validation.labels], [index[x] for x in val_pred], labels
            )["f1_weighted"],
            4,
        )
    logger.info(
        "%s (%s %s): %.1f tweets/s",
        name,
        row["backend"],
        row["precision"],
        row["tweets_per_second"],
    )
    return row


def _compare(rows: list[dict], flops_of: dict[str, float]) -> None:
    """Ratios to the first row (the reference); label agreement and F1 against torch fp32;
    the achieved FLOP/s of each row."""
    for row in rows:
        row.update(flops_entry(flops_of[row["name"]], row["seconds"], row["precision"]))
    reference = rows[0]["tweets_per_second"]
    fp32 = next((r for r in rows if r["name"] == "torch fp32"), None)
    baseline = fp32["_labels"] if fp32 else None
    fp32_f1 = fp32["f1_weighted"] if fp32 else None
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


def _pipeline(classifier, *, clean: bool):
    """``transformers.pipeline`` on the same fine-tuned fp32 model; ``clean``: fed the text
    cleaned as ours is (normalised, emoji named), else the raw text."""
    from transformers import pipeline

    pipe = pipeline(
        "text-classification",
        model=classifier.engine.model,
        tokenizer=classifier.tokenizer,
        device=-1,
        batch_size=64,
    )

    def predict(texts: Sequence[str]) -> list[str]:
        texts = [classifier._clean(t) for t in texts] if clean else list(texts)
        out = pipe(texts, truncation=True, max_length=classifier.max_length)
        return [o["label"] for o in out]

    return predict


def _precision_of(predictor) -> str:
    if not hasattr(predictor, "engine"):
        return "fp32"
    engine = predictor.engine
    if getattr(engine, "precision", None) == "bf16":
        return "bf16"
    if getattr(engine, "precision", None) == "int8" or "int8" in str(getattr(engine, "path", "")):
        return "int8"
    return "fp32"


__all__ = ["PREDICT_KEYS", "bench_predict", "predict_contestants", "time_alternating"]
