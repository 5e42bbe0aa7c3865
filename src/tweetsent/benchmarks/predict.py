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
PREDICT_KEYS = ("name", "tweets_per_second", "seconds", "ratio", "agreement", "f1_weighted")


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
) -> dict:
    """Tweets/s from raw text to label names: the pipeline reference and each of our backends.

    ``validation`` (labelled tweets, e.g. the run's own validation split) adds ``f1_weighted``
    per contestant. ``onnx_dir`` / ``openvino_dir``: exports to include (``tweetsent export``).
    The reference is the pipeline fed the text our predictor feeds its model (cleaned as the
    run was trained: the fair comparison); "pipeline fp32 (raw text)" is what a user of plain
    ``pipeline`` gets. ``students``: distilled runs of this one (``tweetsent distill``), timed
    with their own exports, their labels compared with this run's fp32 ones.
    ``include``: names of contestants to run (default: all available).
    """
    run_dir = Path(run_dir)
    texts = list(texts)
    if not texts:
        raise DataError("no tweets to benchmark on")
    onnx_dir = Path(onnx_dir) if onnx_dir else None
    openvino_dir = Path(openvino_dir) if openvino_dir else None

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

    loaders, flops_of = _loaders(
        run_dir, reference_clf, onnx_dir, openvino_dir, students, lengths, flops
    )
    if include is not None:
        loaders = {k: v for k, v in loaders.items() if k in include or k == REFERENCE}

    rows = [
        _time_one(name, load, texts, batch_size, validation, labels, flops_of[name])
        for name, load in loaders.items()
    ]
    _compare(rows)
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


def _time_one(name, load, texts, batch_size, validation, labels, flops) -> dict:
    """One contestant's row: tweets/s over ``texts``, F1 on ``validation``, its labels."""
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
        "_labels": predicted,
        "f1_weighted": None,
    }
    if validation is not None and len(validation):
        val_pred = predict(validation.texts)
        index = {label: i for i, label in enumerate(labels)}
        row["f1_weighted"] = round(
            classification_metrics(
                [index[x] for x in validation.labels], [index[x] for x in val_pred], labels
            )["f1_weighted"],
            4,
        )
    row.update(flops_entry(flops, seconds, _precision_of(predictor)))
    logger.info("%s: %.1f tweets/s", name, row["tweets_per_second"])
    return row


def _compare(rows: list[dict]) -> None:
    """Ratios to the first row (the reference); label agreement and F1 against torch fp32."""
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


__all__ = ["PREDICT_KEYS", "bench_predict", "predict_contestants"]
