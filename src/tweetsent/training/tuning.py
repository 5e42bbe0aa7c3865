"""Not being fooled by one lucky split: k-fold cross-validation and a bounded search.

Both drive :func:`tweetsent.training.train` as a black box, one complete run directory per
fold or trial, so every number they report comes from the same code path as a single run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from tweetsent import fileio
from tweetsent.config import DataConfig, TrainConfig
from tweetsent.data import labels as ml
from tweetsent.data.prepare import cleaned, run_data_config
from tweetsent.data.reading import load_labelled
from tweetsent.errors import ConfigError, DataError
from tweetsent.rundir import RunDir
from tweetsent.training import checkpoints
from tweetsent.training.run import train

logger = logging.getLogger(__name__)

SUMMARY_METRICS = ("loss", "accuracy", "f1_weighted", "f1_macro", "f1_micro", "mcc")
# The search space: the recipe's four main knobs, bounded so N trials stay affordable.
SEARCH_SPACE = {
    "lr": (1e-5, 3e-4),  # log-uniform
    "epochs": (2, 10),
    "batch_size": (8, 16, 32),
    "warmup_ratio": (0.0, 0.2),
}


def _all_rows(config: TrainConfig):
    """The cleaned, normalised rows a run would split, unsplit, and the soft multi-label rows
    that only ever train (None unless ``multi_label_rows`` is ``soft``)."""
    if config.val_file:
        raise ConfigError("--cv makes its own validation folds; drop --val-file")
    soft = ml.soft_separator(config)
    rows = load_labelled(config.data_path, run_data_config(config), limit=config.limit)
    data = cleaned(rows, config)
    if soft:  # folds of the single-label rows; the multi-label ones join every training fold
        return ml.split_off_multilabel(data, soft)
    return data, None


def _write_rows(path: Path, texts, labels) -> None:
    pd.DataFrame({"text": texts, "label": labels}).to_csv(path, index=False)


CV_MARKERS = ("cv.json",)  # what a finished --cv output holds
SEARCH_MARKERS = ("search.json",)  # and a finished --search output


def cross_validate(
    config: TrainConfig, k: int, out_dir: str | Path, *, overwrite: bool = False
) -> dict:
    """Stratified ``k``-fold cross-validation: one run per fold under ``OUT/fold-N``, mean ± std of
    every metric (the model's and the TF-IDF baseline's) in ``OUT/cv.json`` and ``OUT/cv.md``.

    Args:
        config: the data and the recipe.
        k: the number of folds (at least 2).
        out_dir: the output folder.
        overwrite: replace an earlier cross-validation output there.

    Returns:
        The summary written to ``cv.json``.

    Raises:
        ConfigError: a bad option or output folder.
        DataError: a class has fewer rows than ``k``.
    """
    _no_ensemble(config, "--cv")
    out = checkpoints.run_dir_path(out_dir)
    with _output(out, overwrite, CV_MARKERS, "cross-validation output"):
        return _cross_validate(config, k, out, overwrite)


def _no_ensemble(config: TrainConfig, option: str) -> None:
    # K members per fold or trial would multiply the cost by K for a few hundredths of a score.
    if config.ensemble > 1:
        raise ConfigError(
            f"--ensemble does not combine with {option}: choose the settings with {option}, "
            "then train the ensemble once with them"
        )


def _cross_validate(config: TrainConfig, k: int, out: Path, overwrite: bool) -> dict:
    from sklearn.model_selection import StratifiedKFold

    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise ConfigError(f"--cv needs at least 2 folds, got {k!r}")
    data, extra = _all_rows(config)
    # Multi-label rows are stratified by their label combination, as the single split is.
    strata = pd.Series(data.labels)
    rare = strata.map(strata.value_counts()) < k
    if rare.any() and config.multi_label:
        strata[rare] = "<rare>"
    smallest = strata.value_counts().min()
    if smallest < k:
        raise DataError(
            f"{config.data_path}: class {strata.value_counts().idxmin()!r} has {smallest} rows, "
            f"fewer than the {k} folds; use a smaller --cv"
        )
    folds = StratifiedKFold(n_splits=k, shuffle=True, random_state=config.split_seed)
    results = []
    with fileio.atomic_dir(out, RunDir(out).staging.path) as staging:
        for fold, (train_idx, val_idx) in enumerate(folds.split(data.texts, strata), start=1):
            fold_dir = staging / f"fold-{fold}"
            fold_dir.mkdir()
            texts, labels = _take(data.texts, data.labels, train_idx)
            if extra:
                texts, labels = texts + extra.texts, labels + extra.labels
            _write_rows(fold_dir / "train.csv", texts, labels)
            _write_rows(fold_dir / "validation.csv", *_take(data.texts, data.labels, val_idx))
            fold_config = dataclasses.replace(
                config,
                data_path=str(fold_dir / "train.csv"),
                val_file=str(fold_dir / "validation.csv"),
                # The soft rows' separator too, so each fold trains on them as the run would.
                data=DataConfig(
                    format="csv",
                    text_col="text",
                    label_col="label",
                    drop_multilabel=ml.soft_separator(config),
                ),
                limit=None,
            )
            logger.info(
                "fold %d/%d: %d train, %d validation", fold, k, len(train_idx), len(val_idx)
            )
            metrics = train(fold_config, fold_dir / "run", progress=False).metrics
            results.append(metrics)
        summary = summarize_folds(results)
        summary["k"] = k
        summary["source"] = str(config.data_path)
        (staging / "cv.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        (staging / "cv.md").write_text(cv_markdown(summary), encoding="utf-8")
        RunDir(staging).write_config(config)
        _check_again(out, overwrite, CV_MARKERS, "cross-validation output")
    return summary


def _take(texts, labels, idx):
    return [texts[i] for i in idx], [labels[i] for i in idx]


def summarize_folds(results: list[dict]) -> dict:
    """Mean and standard deviation (ddof=1) over folds of every scalar and per-class metric."""

    def stats(values: list[float]) -> dict:
        array = np.asarray(values, dtype=np.float64)
        std = float(array.std(ddof=1)) if len(array) > 1 else 0.0
        return {"mean": float(array.mean()), "std": std, "folds": [float(v) for v in array]}

    summary: dict = {"model": {}, "baseline": {}, "per_class_f1": {}}
    for key in SUMMARY_METRICS:
        if all(key in r["validation"] for r in results):
            summary["model"][key] = stats([r["validation"][key] for r in results])
        if all(key in (r.get("baseline") or {}) for r in results):
            summary["baseline"][key] = stats([r["baseline"][key] for r in results])
    labels = results[0]["validation"]["per_class"]
    for label in labels:
        summary["per_class_f1"][label] = stats(
            [r["validation"]["per_class"][label]["f1"] for r in results]
        )
    summary["best_epoch"] = [r["best_epoch"] for r in results]
    summary["train_seconds"] = stats([r["train_seconds"] for r in results])
    return summary


def cv_markdown(summary: dict) -> str:
    lines = [
        f"# {summary['k']}-fold cross-validation",
        "",
        f"Source: `{summary['source']}`; stratified folds; mean ± std over folds.",
        "",
        "| metric | model | baseline (TF-IDF + LR) |",
        "|---|---:|---:|",
    ]
    for key, s in summary["model"].items():
        b = summary["baseline"].get(key)
        other = f"{b['mean']:.4f} ± {b['std']:.4f}" if b else "–"
        lines.append(f"| {key} | {s['mean']:.4f} ± {s['std']:.4f} | {other} |")
    lines += ["", "| class | F1 (model) |", "|---|---:|"]
    for label, s in summary["per_class_f1"].items():
        lines.append(f"| {label} | {s['mean']:.3f} ± {s['std']:.3f} |")
    return "\n".join(lines) + "\n"


def search(
    config: TrainConfig,
    n_trials: int,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    keep_models: bool = False,
) -> dict:
    """A bounded Optuna (TPE) search over learning rate, epochs, batch size and warm-up.

    Each trial is a full run scored by ``config.metric_for_best`` on the validation split; the
    winner was chosen on that split, so confirm it with :func:`cross_validate` or fresh data.

    Args:
        config: the data and the recipe the trials start from.
        n_trials: the number of trials.
        out_dir: where ``trials.csv``, ``search.json`` and ``best_config.json`` go
            (``tweetsent train --config OUT/best_config.json`` repeats the winner).
        overwrite: replace an earlier search output there.
        keep_models: keep each trial's model.

    Returns:
        The summary written to ``search.json``.

    Raises:
        ConfigError: a bad option or output folder.
    """
    _no_ensemble(config, "--search")
    out = checkpoints.run_dir_path(out_dir)
    with _output(out, overwrite, SEARCH_MARKERS, "search output"):
        return _search(config, n_trials, out, overwrite, keep_models)


def _search(
    config: TrainConfig, n_trials: int, out: Path, overwrite: bool, keep_models: bool
) -> dict:
    try:
        import optuna
    except ImportError:  # pragma: no cover - a declared dependency
        raise ConfigError("--search needs optuna: pip install optuna") from None
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise ConfigError(f"--search needs a positive number of trials, got {n_trials!r}")
    staging = RunDir(out).staging.path
    metric = config.metric_for_best
    direction = "minimize" if metric == "loss" else "maximize"
    rows: list[dict] = []

    def objective(trial) -> float:
        lo, hi = SEARCH_SPACE["lr"]
        params = {
            "lr": trial.suggest_float("lr", lo, hi, log=True),
            "epochs": trial.suggest_int("epochs", *SEARCH_SPACE["epochs"]),
            "batch_size": trial.suggest_categorical("batch_size", SEARCH_SPACE["batch_size"]),
            "warmup_ratio": trial.suggest_float("warmup_ratio", *SEARCH_SPACE["warmup_ratio"]),
        }
        trial_dir = staging / f"trial-{trial.number}"
        metrics = train(dataclasses.replace(config, **params), trial_dir, progress=False).metrics
        if not keep_models:
            shutil.rmtree(RunDir(trial_dir).model, ignore_errors=True)
        v = metrics["validation"]
        rows.append(
            {
                "trial": trial.number,
                **params,
                "best_epoch": metrics["best_epoch"],
                **{k: v[k] for k in SUMMARY_METRICS if k in v},
                "train_seconds": round(metrics["train_seconds"], 1),
            }
        )
        logger.debug("trial %d: %s -> %s %.4f", trial.number, params, metric, v[metric])
        return float(v[metric])

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction=direction, sampler=optuna.samplers.TPESampler(seed=config.seed)
    )
    with fileio.atomic_dir(out, staging):
        study.optimize(objective, n_trials=n_trials)
        best = dataclasses.replace(config, **study.best_params)
        pd.DataFrame(rows).to_csv(staging / "trials.csv", index=False)
        result = {
            "metric": metric,
            "best_value": study.best_value,
            "best_params": study.best_params,
            "best_trial": study.best_trial.number,
            "trials": rows,
            "space": {k: list(v) for k, v in SEARCH_SPACE.items()},
        }
        (staging / "search.json").write_text(json.dumps(result, indent=2) + "\n", "utf-8")
        best.save(staging / "best_config.json")
        _check_again(out, overwrite, SEARCH_MARKERS, "search output")
    return result


@contextlib.contextmanager
def _output(out: Path, overwrite: bool, markers: tuple[str, ...], what: str):
    """Hold ``out``'s lock while checking and writing it, as ``train`` does for a run."""
    with checkpoints.RunLock(out).held():
        fileio.check_output_dir(out, overwrite=overwrite, markers=markers, what=what)
        yield


def _check_again(out: Path, overwrite: bool, markers: tuple[str, ...], what: str):
    """Before the swap: the lock keeps other tweetsent processes out, not other programs."""
    fileio.check_output_dir(out, overwrite=overwrite, markers=markers, what=what)


__all__ = ["SEARCH_SPACE", "cross_validate", "cv_markdown", "search", "summarize_folds"]
