"""``--ensemble K``: K members trained on one split with seeds SEED..SEED+K-1, saved as one run.

Each member is a complete fit (``training.fit``: its best epoch kept by validation, its own
temperature fitted) in ``RUN_DIR.partial/members/member-N``; a member whose ``metrics.json``
is written is done, so ``--resume`` keeps the finished members and continues the interrupted
one from its last checkpoint. Then the members' models move into the run's model directory
(layout: :mod:`tweetsent.modeling.ensemble`) and the run's validation metrics are those of the
averaged probabilities, computed by the predictor that ``predict`` and ``evaluate`` use.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from pathlib import Path

import numpy as np

from tweetsent import fileio, rundir
from tweetsent.config import TrainConfig
from tweetsent.data import labels as ml
from tweetsent.evaluation.metrics import classification_metrics, cross_entropy
from tweetsent.inference.calibration import MULTI_LABEL_NOTE, expected_calibration_error, softmax
from tweetsent.inference.engines import TorchEngine
from tweetsent.inference.predictor import TweetClassifier
from tweetsent.modeling.ensemble import ENSEMBLE_KEY, load_run_model, member_path
from tweetsent.modeling.loading import load_tokenizer
from tweetsent.rundir import RunDir
from tweetsent.training import checkpoints, distributed

logger = logging.getLogger(__name__)

_DONE = "done"
MEMBER_SCORES = ("loss", "accuracy", "f1_weighted", "f1_macro", "f1_micro", "mcc")


def member_config(config: TrainConfig, index: int) -> TrainConfig:
    """Member ``index`` (0-based): the run's settings with seed ``config.seed + index``."""
    return dataclasses.replace(config, seed=config.seed + index, ensemble=1)


def fit_ensemble(
    config: TrainConfig, train_data, val_data, staging: Path, *, progress, backbone=None
) -> dict:
    """Train (or finish training) every member, then assemble the run; its metrics.
    ``backbone``: as in :func:`~tweetsent.training.fit.fit` (one adaptation for all members)."""
    from tweetsent.training.fit import fit  # torch, transformers: seconds; only when used

    results = []
    for index in range(config.ensemble):
        folder = staging / checkpoints.MEMBERS / f"member-{index + 1}"
        state, found = distributed.on_main(lambda folder=folder: _member_plan(folder))
        if state == _DONE:
            results.append(found)
            continue
        member = member_config(config, index)
        logger.info("ensemble member %d of %d (seed %d)", index + 1, config.ensemble, member.seed)
        metrics = fit(
            member,
            train_data,
            val_data,
            folder,
            progress=progress,
            resume_from=found,
            backbone=backbone,
        )
        results.append(metrics)
        distributed.on_main(lambda folder=folder, metrics=metrics: _member_done(folder, metrics))
    return distributed.on_main(lambda: assemble(config, results, val_data, staging))


def _member_plan(folder: Path) -> tuple[str, dict | str | None]:
    """Rank 0: (done, its metrics), or (train, the checkpoint to resume from or None)."""
    member = RunDir(folder)
    if member.metrics_file.is_file():
        _drop_checkpoints(folder)  # an interrupted run may have stopped before they went
        return _DONE, member.read_metrics()
    if folder.is_dir():  # interrupted while training: continue from its last checkpoint
        point = checkpoints.resume_point_in(folder)
        return "train", str(point) if point else None
    folder.mkdir(parents=True)
    return "train", None


def _member_done(folder: Path, metrics: dict) -> None:
    """Rank 0: the member's metrics.json, its mark of being done; then its checkpoints go."""
    RunDir(folder).write_metrics(metrics)
    _drop_checkpoints(folder)


def _drop_checkpoints(folder: Path) -> None:
    shutil.rmtree(folder / checkpoints.CHECKPOINTS, ignore_errors=True)


def assemble(config: TrainConfig, results: list[dict], val_data, staging: Path) -> dict:
    """Rank 0: the members' models into ``staging/model``, scored together on validation.

    Every step may be repeated after an interruption: moves skip what already moved, and the
    scores are computed again from the saved members.
    """
    model_dir = RunDir(staging).model
    for index in range(1, config.ensemble + 1):
        folder = staging / checkpoints.MEMBERS / f"member-{index}"
        target = model_dir if index == 1 else model_dir / member_path(index)
        if not target.is_dir():  # not moved yet (a rename: whole or not at all)
            target.parent.mkdir(parents=True, exist_ok=True)
            fileio.move(RunDir(folder).model, target)
        if (folder / "tensorboard").is_dir():  # --report-to tensorboard: one log per member
            (staging / "tensorboard").mkdir(exist_ok=True)
            fileio.move(folder / "tensorboard", staging / "tensorboard" / folder.name)
    members = [member_path(i) for i in range(2, config.ensemble + 1)]
    _update_model_config(model_dir, {ENSEMBLE_KEY: members})
    labels = results[0]["labels"]
    logits = _ensemble_logits(model_dir, config, val_data.texts)
    if config.multi_label:
        from types import SimpleNamespace

        # torch and transformers: seconds, loaded only when used
        from tweetsent.training.fit import _multilabel_validation

        y_true = ml.multi_hot(val_data.labels, labels, config.label_sep).astype(np.float32)
        holder = SimpleNamespace(config=SimpleNamespace())  # receives the tuned thresholds
        validation = _multilabel_validation(holder, logits, y_true, labels)
        # The ensemble's thresholds, tuned on its averaged probabilities, replace member 1's.
        _update_model_config(model_dir, {"tweetsent_thresholds": validation["thresholds"]})
        calibration = {"method": "none", "note": MULTI_LABEL_NOTE}
    else:
        validation, calibration = _single_label_scores(logits, val_data.labels, labels, results)
    return run_metrics(config, results, validation, calibration)


def _ensemble_logits(model_dir: Path, config: TrainConfig, texts: list[str]) -> np.ndarray:
    """The saved ensemble's outputs on these (already cleaned) texts, as ``predict`` computes
    them: the log of the averaged probabilities."""

    model = load_run_model(model_dir)
    tokenizer = load_tokenizer(str(model_dir), vocab_size=model.config.vocab_size)
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    classifier = TweetClassifier(
        TorchEngine(model, "fp32"),
        tokenizer,
        labels,
        max_length=config.max_length,
        batch_size=config.eval_batch_size,
        normalize=False,  # prepare_data cleaned the texts already
        demojize=False,
    )
    return classifier.predict_logits(texts)


def _single_label_scores(logits, y_labels, labels, results) -> tuple[dict, dict]:
    index = {label: i for i, label in enumerate(labels)}
    y_true = np.asarray([index[label] for label in y_labels], dtype=int)
    proba = softmax(logits)  # the averaged calibrated probabilities (modeling.ensemble)
    validation = classification_metrics(y_true, proba.argmax(axis=1), labels)
    validation["loss"] = cross_entropy(proba, y_true)
    temperatures = [r.get("calibration", {}).get("temperature") for r in results]
    ece = expected_calibration_error(proba, y_true)
    shown = ", ".join(f"{t:.3f}" for t in temperatures if t is not None)
    calibration = {
        "method": "ensemble",
        "temperatures": temperatures,
        "ece": ece,
        "nll": validation["loss"],
        "note": f"each member temperature-scaled on the validation split (T = {shown}); the "
        f"ensemble averages their calibrated probabilities (validation ECE {ece:.4f}, NLL "
        f"{validation['loss']:.4f})",
    }
    return validation, calibration


def run_metrics(config: TrainConfig, results: list[dict], validation, calibration) -> dict:
    """The run's metrics: the ensemble's validation scores, each member's beside them; the
    history, plots and best epoch are member 1's (seed ``config.seed``)."""
    seconds = sum(r["train_seconds"] for r in results)
    tweets = sum(r["data"]["train_rows"] * max(r["epochs_run"], 1) for r in results)
    members = [
        {
            "member": i + 1,
            "seed": config.seed + i,
            "best_epoch": r["best_epoch"],
            "epochs_run": r["epochs_run"],
            "train_seconds": r["train_seconds"],
            "temperature": r.get("calibration", {}).get("temperature"),
            "validation": {k: r["validation"][k] for k in MEMBER_SCORES if k in r["validation"]},
        }
        for i, r in enumerate(results)
    ]
    return {
        **results[0],
        "validation": validation,
        "calibration": calibration,
        "train_seconds": seconds,
        "train_tweets_per_second": tweets / seconds if seconds else 0.0,
        "ensemble": {
            "size": config.ensemble,
            "combine": "mean of the members' calibrated probabilities",
            "history_of": "member 1",
            "members": members,
        },
    }


def _update_model_config(model_dir: Path, values: dict) -> None:
    path = model_dir / rundir.CONFIG
    saved = json.loads(path.read_text(encoding="utf-8"))
    saved.update(values)
    fileio.atomic_write_text(path, json.dumps(saved, indent=2, sort_keys=True) + "\n")


__all__ = ["assemble", "fit_ensemble", "member_config", "run_metrics"]
