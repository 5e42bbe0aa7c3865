"""``tweetsent bench quality``: the default recipe against a plain reference on several tasks.

Each task is trained on its training split, the checkpoint is picked on its validation split
(as ``tweetsent train --val-file`` does) and the test split is scored with the task's official
metric and with macro / weighted F1. Every recipe sees the same rows and the same seeds, so the
rows of a table differ only by recipe.

The suite (``suite_tasks``): the TweetEval tasks in ``../shared/data/tweeteval`` with their
official splits, SMILE and the COVID tweets. Where a set has no official split:

* ``sentiment`` has no training split: it trains on a stratified 80 % of the official
  validation split, selects on the other 20 % and is scored on the official test split. Off
  by default (its training rows are not official); name it in ``--tasks``.
* ``smile`` has no test split: the tutorials' split (85/15 stratified, seed 17) trains and
  selects, and the validation scores are shown as its test scores, marked ``val=test``; such
  tasks stay out of the mean over tasks.
* ``covid`` is one file: a stratified 70/15/15 train / validation / test split, seed 17.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tweetsent.benchmarks.quality_summary import summarize
from tweetsent.config import DataConfig, TrainConfig
from tweetsent.data import LabelledData, load_labelled, resolve_data_config, stratified_split
from tweetsent.errors import ConfigError, DataError
from tweetsent.evaluation import evaluate
from tweetsent.training import train

logger = logging.getLogger(__name__)

# The plain reference recipe of issue 19: one lr for every weight, no class weights, raw text.
PLAIN = {
    "lr": 5e-5,
    "batch_size": 32,
    "epochs": 5,
    "class_weights": "none",
    "head_lr": 5e-5,
    "layer_lr_decay": 1.0,
    "warmup_ratio": 0.06,
    "normalize": False,
    "demojize": False,
}
RECIPES: dict[str, dict] = {"ours": {}, "plain": PLAIN}
DEFAULT_TASKS = ("irony", "hate", "offensive", "stance-climate", "smile", "covid")
SPLIT_SEED = 17  # splits and --max-train subsamples: the same rows for every recipe and seed


@dataclass(frozen=True)
class Metric:
    """A task's official score: the mean F1 or recall over ``labels`` (all classes if empty)."""

    kind: str = "f1"  # f1 | recall
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("f1", "recall"):
            raise ConfigError(f"metric kind must be f1 or recall, got {self.kind!r}")

    @property
    def name(self) -> str:
        kind = "F1" if self.kind == "f1" else "recall"
        if not self.labels:
            return f"macro {kind}"
        which = ", ".join(self.labels)
        return f"{kind}({which})" if len(self.labels) == 1 else f"mean {kind}({which})"

    def score(self, metrics: dict) -> float:
        """The score from ``evaluation.classification_metrics`` output (its ``per_class``)."""
        per_class = metrics["per_class"]
        labels = self.labels or tuple(per_class)
        missing = [label for label in labels if label not in per_class]
        if missing:
            raise DataError(f"metric {self.name}: no class {', '.join(missing)} in the scores")
        return statistics.fmean(per_class[label][self.kind] for label in labels)


@dataclass(frozen=True)
class Task:
    """Where a task's rows come from and how its test split is scored.

    ``val`` / ``test`` None: carved out of ``train`` by stratified split (``val_share``,
    ``test_share``, seed ``SPLIT_SEED``); ``test_is_val``: no test split, the validation split is
    scored instead (and the task stays out of the mean over tasks).
    """

    name: str
    train: Path
    metric: Metric = field(default_factory=Metric)
    val: Path | None = None
    test: Path | None = None
    data: DataConfig = field(default_factory=lambda: DataConfig(text_col="text", label_col="label"))
    val_share: float = 0.15
    test_share: float = 0.0
    test_is_val: bool = False
    note: str = ""


@dataclass
class Split:
    """A task's rows written as ``text,label`` CSVs: what every recipe trains and is scored on."""

    train: Path
    val: Path
    test: Path
    data: DataConfig
    rows: dict


def suite_tasks(data_dir: str | Path) -> dict[str, Task]:
    """The development suite, read from ``data_dir`` (the project's ``../shared/data``)."""
    data_dir = Path(data_dir)
    te = data_dir / "tweeteval"

    def tweeteval(name: str, metric: Metric) -> Task:
        folder = te / name
        return Task(name, folder / "train.csv", metric, folder / "val.csv", folder / "test.csv")

    tasks = [
        tweeteval("irony", Metric("f1", ("irony",))),
        tweeteval("hate", Metric("f1")),
        tweeteval("offensive", Metric("f1")),
        tweeteval("stance-climate", Metric("f1", ("against", "favor"))),
        Task(
            "sentiment",
            te / "sentiment/val.csv",
            Metric("recall"),
            test=te / "sentiment/test.csv",
            val_share=0.2,
            note="no official training split: trains on 80 % of the official validation split",
        ),
        Task(
            "smile",
            data_dir / "smile-annotations-final.csv",
            Metric("f1"),
            data=DataConfig(preset="smile"),
            val_share=0.15,
            test_is_val=True,
            note="no test split: the tutorials' validation split is scored (val=test)",
        ),
        Task(
            "covid",
            data_dir / "Corona_NLP_test.csv",
            Metric("f1"),
            data=DataConfig(preset="covid"),
            test_share=0.15,
            note="one file: stratified 70/15/15 train/val/test, seed 17",
        ),
    ]
    return {task.name: task for task in tasks}


def materialize(task: Task, work: str | Path, *, max_train: int | None = None) -> Split:
    """Load, split and (with ``max_train``) subsample a task; write its CSVs under ``work``."""
    import pandas as pd

    data = resolve_data_config(task.data)
    sep = data.drop_multilabel
    if sep:  # e.g. SMILE: multi-label rows only ever join the training rows (soft targets)
        from tweetsent.data.labels import keep_multilabel_rows

        rows = load_labelled(task.train, keep_multilabel_rows(data))
        single_idx = [i for i, label in enumerate(rows.labels) if sep not in label]
        multi = rows.subset([i for i, label in enumerate(rows.labels) if sep in label])
        rows = rows.subset(single_idx)
    else:
        rows, multi = load_labelled(task.train, data), None
    if task.test is not None:
        test = load_labelled(task.test, data)
    elif task.test_share:
        rows, test = stratified_split(rows, task.test_share, SPLIT_SEED)
    else:
        test = None
    if task.val is not None:
        train, val = rows, load_labelled(task.val, data)
    else:
        # A share of what is left, so the validation split is val_share of the whole file.
        share = task.val_share / (1 - task.test_share)
        train, val = stratified_split(rows, share, SPLIT_SEED)
    if test is None:
        if not task.test_is_val:
            raise ConfigError(f"task {task.name}: no test split (give test, test_share or mark it)")
        test = val
    if max_train is not None and max_train < len(train):
        train, multi = _subsample(train, multi, max_train, task.name)
    if multi is not None and len(multi):
        train = LabelledData(train.texts + multi.texts, train.labels + multi.labels, train.source)
    out = Path(work)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, part in (("train", train), ("val", val), ("test", test)):
        path = out / f"{name}.csv"
        pd.DataFrame({"text": part.texts, "label": part.labels}).to_csv(path, index=False)
        paths[name] = path
    written = DataConfig(
        format="csv", header=True, text_col="text", label_col="label", drop_multilabel=sep
    )
    rows_count = {"train": len(train), "val": len(val), "test": len(test)}
    return Split(paths["train"], paths["val"], paths["test"], written, rows_count)


def _subsample(train: LabelledData, multi, n: int, name: str):
    """A stratified ``n`` of the training rows (multi-label rows cut to the same share)."""
    from sklearn.model_selection import train_test_split

    classes = len(set(train.labels))
    if n < classes:
        raise ConfigError(f"--max-train {n} is below task {name}'s {classes} classes")
    keep, _ = train_test_split(
        list(range(len(train))), train_size=n, random_state=SPLIT_SEED, stratify=train.labels
    )
    subset = train.subset(sorted(keep))
    if multi is not None and len(multi):
        multi = multi.subset(range(round(len(multi) * n / len(train))))
    return subset, multi


def run_suite(
    tasks: Sequence[Task],
    recipes: dict[str, dict],
    seeds: Sequence[int],
    *,
    max_train: int | None = None,
    common: dict | None = None,
    out_dir: str | Path | None = None,
    on_run: Callable[[dict], None] | None = None,
) -> dict:
    """Train every recipe on every task and seed, score each test split; the runs and summary.

    ``recipes``: name -> TrainConfig overrides of the defaults; ``common``: overrides for every
    recipe, applied last (a model, max_length, epochs for a quick run). ``out_dir`` keeps the
    run directories (``TASK/RECIPE-sSEED``); without it each is deleted once scored.
    ``on_run`` is called with the result so far after every run (to save partial results):
    its ``seeds`` are those with a finished run, ``seeds_asked`` all of ``seeds``.
    """

    common = _check_inputs(tasks, recipes, seeds, common)
    scratch = Path(tempfile.mkdtemp(prefix="tweetsent-quality-"))
    keep = Path(out_dir) if out_dir else None
    result = {
        "tasks": {},
        "recipes": {name: {**overrides, **common} for name, overrides in recipes.items()},
        "seeds": [],
        "seeds_asked": list(seeds),
        "max_train": max_train,
        "runs": [],
    }
    try:
        for task in tasks:
            split = materialize(task, scratch / "data" / task.name, max_train=max_train)
            result["tasks"][task.name] = {
                "metric": task.metric.name,
                "rows": split.rows,
                "test_is_val": task.test_is_val,
                "note": task.note,
            }
            for seed in seeds:
                for name, overrides in recipes.items():
                    run_dir = (keep or scratch / "runs") / task.name / f"{name}-s{seed}"
                    settings = {**overrides, **common}
                    run = _run_one(task, split, name, settings, seed, train, evaluate, run_dir)
                    if keep is None:
                        shutil.rmtree(run_dir, ignore_errors=True)
                    result["runs"].append(run)
                    # What ran, not what was asked: a stopped suite's file says so itself.
                    result["seeds"] = sorted({r["seed"] for r in result["runs"]})
                    result["summary"] = summarize(result)
                    if on_run:
                        on_run(result)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result["summary"] = summarize(result)
    return result


def _check_inputs(tasks, recipes: dict, seeds, common: dict | None) -> dict:
    """Every recipe's configuration checked before any training; the common overrides."""
    if not tasks or not recipes or not seeds:
        raise ConfigError("the quality suite needs at least one task, recipe and seed")
    common = dict(common or {})
    for name, overrides in recipes.items():
        if not name:
            raise ConfigError("a recipe needs a name")
        TrainConfig(**{**overrides, **common})
    return common


def _run_one(task, split, name, overrides, seed, train, evaluate, run_dir: Path) -> dict:
    config = TrainConfig(
        data_path=str(split.train),
        data=dataclasses.replace(split.data),
        val_file=str(split.val),
        seed=seed,
        **overrides,
    )
    logger.info(
        "quality: %s / %s / seed %d (%d training rows)", task.name, name, seed, split.rows["train"]
    )
    started = time.perf_counter()
    trained = train(config, run_dir, overwrite=True, progress=False)
    wall = time.perf_counter() - started
    metrics = trained.metrics
    test = evaluate(run_dir, split.test, split.data)
    run = {
        "task": task.name,
        "recipe": name,
        "seed": seed,
        "official": task.metric.score(test),
        "f1_macro": test["f1_macro"],
        "f1_weighted": test["f1_weighted"],
        "accuracy": test["accuracy"],
        # Calibration on the test split: the temperature is fitted on validation during train.
        "ece": test.get("ece"),
        "ece_uncalibrated": test.get("ece_uncalibrated"),
        "temperature": test.get("temperature"),
        "per_class_f1": {label: row["f1"] for label, row in test["per_class"].items()},
        "val_official": task.metric.score(metrics["validation"]),
        "val_f1_macro": metrics["validation"]["f1_macro"],
        "best_epoch": metrics["best_epoch"],
        "epochs_run": metrics["epochs_run"],
        "train_seconds": metrics["train_seconds"],
        # --adapt: the adaptation's own time, before the fine-tuning's train_seconds.
        "adapt_seconds": (metrics.get("adapt") or {}).get("seconds"),
        "wall_seconds": wall,
        "train_rows": metrics["data"]["train_rows"],
        "config": {k: getattr(trained.config, k) for k in RECORDED if hasattr(trained.config, k)},
    }
    logger.info(
        "quality: %s / %s / seed %d: %s %.4f, macro F1 %.4f (best epoch %d, %.0f s)",
        task.name,
        name,
        seed,
        task.metric.name,
        run["official"],
        run["f1_macro"],
        run["best_epoch"],
        run["train_seconds"],
    )
    return run


# The settings a run resolved, kept beside its scores (auto values become concrete in the run).
RECORDED = (
    "epochs",
    "batch_size",
    "lr",
    "head_lr",
    "layer_lr_decay",
    "class_weights",
    "warmup_ratio",
    "metric_for_best",
    "normalize",
    "demojize",
    "early_stopping_patience",
    "adapt",
    "adapt_objective",
    "adapt_epochs",
    "adapt_head_warmup",
)


__all__ = [
    "DEFAULT_TASKS",
    "Metric",
    "PLAIN",
    "RECIPES",
    "Split",
    "Task",
    "materialize",
    "run_suite",
    "suite_tasks",
]
