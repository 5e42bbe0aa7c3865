"""Knowledge distillation: a smaller student made of a trained run's own layers.

The student is the teacher with only some of its encoder layers (evenly spaced, the first one
kept: 3 of 6 keeps layers 0, 2, 4), its embeddings and head: it starts close to the teacher
rather than from a fresh backbone. It trains on the teacher's split, against the usual
distillation loss (Hinton et al. 2015): ``alpha`` x T² x KL(teacher || student), both softened
by the temperature T, plus ``1 - alpha`` x the cross-entropy with the hard labels; rows of
unlabelled tweets (``unlabelled``) carry the teacher's soft labels only. The result is a normal
run directory (model/, config.json, metrics.json, report.md, plots), so predict, evaluate,
serve and export take it as they take any run; ``metrics.json["distillation"]`` and the
report's last section put teacher and student quality and speed side by side.

Why a loop of its own rather than ``fit``: the loss needs the teacher's logits per row, which
the training recipe's loss (class weights, soft multi-label rows) has no place for.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tweetsent import rundir
from tweetsent.config import TrainConfig
from tweetsent.data.normalize import clean_tweet
from tweetsent.data.prepare import prepare_data, run_data_config
from tweetsent.data.reading import load_texts, load_unlabelled
from tweetsent.errors import ConfigError, ModelError
from tweetsent.evaluation.metrics import classification_metrics
from tweetsent.evaluation.report import write_plots, write_report
from tweetsent.inference.engines import TorchEngine
from tweetsent.inference.predictor import TweetClassifier
from tweetsent.modeling.loading import load_classifier
from tweetsent.rundir import RunDir
from tweetsent.training import checkpoints
from tweetsent.training.run import TrainResult

logger = logging.getLogger(__name__)


@dataclass
class DistillSettings:
    """How to distil: student depth, softening temperature, soft/hard loss mix, epochs."""

    layers: int | None = None  # None: half the teacher's layers
    temperature: float = 2.0
    alpha: float = 0.5  # weight of the soft (teacher) term; 1 - alpha for the hard labels
    epochs: int | None = None  # None: the teacher's
    unlabelled: list[str] = field(default_factory=list)
    # Also the data file's own rows without a usable label (missing, dropped such as SMILE's
    # nocode, multi-label): never in the validation split, so free soft-label tweets.
    data_unlabelled: bool = False
    # The student's initialisation order and shuffling; None: the teacher's. The split stays
    # the teacher's whatever the seed, so that teacher and student are scored on the same rows.
    seed: int | None = None

    def check(self, depth: int) -> int:
        layers = self.layers if self.layers is not None else max(1, depth // 2)
        if not 1 <= layers <= depth:
            raise ConfigError(
                f"--layers must be between 1 and {depth} (the teacher's), got {layers}"
            )
        if not self.temperature > 0:
            raise ConfigError(f"--temperature must be positive, got {self.temperature}")
        if not 0 <= self.alpha <= 1:
            raise ConfigError(f"--alpha must be between 0 and 1, got {self.alpha}")
        if self.epochs is not None and self.epochs < 1:
            raise ConfigError(f"--epochs must be at least 1, got {self.epochs}")
        return layers


def kept_layers(depth: int, layers: int) -> list[int]:
    """Evenly spaced layer indices, the first always kept: (6, 3) -> [0, 2, 4]; (6, 2) -> [0, 3]."""
    return [i * depth // layers for i in range(layers)]


def distill(
    run_dir: str | Path,
    out_dir: str | Path,
    settings: DistillSettings | None = None,
    *,
    overwrite: bool = False,
    progress: bool = True,
) -> TrainResult:
    """Distil the run at ``run_dir`` into a smaller student run at ``out_dir``.

    Args:
        run_dir: the teacher's run directory (single-label).
        out_dir: the student's run directory; not the teacher's, nor inside it.
        settings: layers, temperature, alpha, epochs, unlabelled tweets, seed.
        overwrite: replace an earlier student tweetsent wrote there.
        progress: show progress bars.

    Returns:
        The student run; its metrics hold ``distillation`` (teacher and student side by side).

    Raises:
        ConfigError: a bad option, a multi-label teacher, or an ``out_dir`` that may not be
            written.
        ModelError: ``run_dir`` is not a run.

    Examples:
        >>> distill("runs/smile", "runs/smile-3l", DistillSettings(layers=3))  # doctest: +SKIP
    """
    settings = settings or DistillSettings()
    teacher = RunDir.open(run_dir)
    if not teacher.config_file.is_file():
        raise ModelError(f"{run_dir}: not a tweetsent run directory (no {rundir.CONFIG})")
    run_dir = teacher.path
    config = teacher.read_config()
    if config.multi_label:
        raise ConfigError(f"{run_dir}: a multi-label run; distill handles single-label runs")
    out = checkpoints.run_dir_path(out_dir)
    RunDir(out).check_apart_from(teacher)
    with checkpoints.RunLock(out).held():
        checkpoints.check_out_dir(out, overwrite)
        train_data, val_data = prepare_data(config)  # the teacher's own split
        extra = _unlabelled_texts(settings.unlabelled, config, settings.data_unlabelled)
        staging = checkpoints.start_staging(out, config, overwrite=overwrite)
        with _removed_on_failure(staging):
            # The split above used the teacher's seed; the student trains with its own.
            student_config = (
                config if settings.seed is None else dataclasses.replace(config, seed=settings.seed)
            )
            metrics = _distill_into(
                run_dir, student_config, settings, train_data, val_data, extra, staging
            )
            write_plots(metrics, staging, config)
            write_report(metrics, config, staging)
            _append_comparison(RunDir(staging).report, metrics["distillation"])
            checkpoints.finish(staging, out, overwrite=overwrite)
    return TrainResult(out, metrics, config)


@contextlib.contextmanager
def _removed_on_failure(staging: Path):
    try:
        yield
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _unlabelled_texts(files: list[str], config: TrainConfig, from_data: bool) -> list[str]:
    """The tweets of ``files`` (read as the run read its data) and, with ``from_data``, the
    rows of the run's data file that have no usable label; cleaned as the run cleaned its."""
    texts: list[str] = []
    if from_data:
        # Read as the run reads it: multi-label rows it trains on as soft targets stay out.
        own = load_unlabelled(config.data_path, run_data_config(config))
        logger.info("%s: %d row(s) without a usable label join as unlabelled", config.data_path,
                    len(own))  # fmt: skip
        texts.extend(own)
    for path in files:
        texts.extend(t for t in load_texts(path, config.data) if t.strip())
    if config.normalize or config.demojize:
        texts = [
            clean_tweet(t, normalize=config.normalize, demojize_emoji=config.demojize)
            for t in texts
        ]
    return texts


def make_student(teacher, layers: int):
    """A copy of ``teacher`` with ``layers`` of its encoder layers (see :func:`kept_layers`)."""
    import torch

    student = copy.deepcopy(teacher)
    base = student.base_model
    holder = getattr(base, "encoder", None) or getattr(base, "transformer", None)
    if holder is None or not hasattr(holder, "layer"):
        raise ConfigError(f"cannot find the transformer layers of {type(base).__name__}")
    depth = len(holder.layer)
    keep = kept_layers(depth, layers)
    holder.layer = torch.nn.ModuleList([holder.layer[i] for i in keep])
    for attr in ("num_hidden_layers", "n_layers"):
        if hasattr(student.config, attr):
            setattr(student.config, attr, layers)
    return student, keep


def _distill_into(run_dir, config, settings, train_data, val_data, extra, staging) -> dict:
    """Teacher logits, student, Trainer, training, final validation, saved model: metrics."""
    from transformers import set_seed

    from tweetsent.distill.fit import Rows, fit_student  # torch and transformers: seconds
    from tweetsent.modeling.loading import load_classifier, load_tokenizer
    from tweetsent.training import trainer as recipe  # (as the line above)

    teacher = load_classifier(RunDir(run_dir).model).eval()
    tokenizer = load_tokenizer(str(RunDir(run_dir).model), vocab_size=teacher.config.vocab_size)
    depth = teacher.config.num_hidden_layers
    layers = settings.check(depth)
    labels = [teacher.config.id2label[i] for i in range(teacher.config.num_labels)]
    texts = list(train_data.texts) + extra
    teacher_clf = _plain_classifier(teacher, tokenizer, labels, config.max_length)
    teacher_logits = teacher_clf.predict_logits(texts)
    set_seed(config.seed)
    student, keep = make_student(teacher, layers)
    student = recipe.prepare_model(student, config)
    logger.info(
        "distilling %d of %d layers (%s) on %d tweets (%d unlabelled), validating on %d",
        layers,
        depth,
        ", ".join(map(str, keep)),
        len(texts),
        len(extra),
        len(val_data),
    )
    data = Rows(train_data, extra, teacher_logits, val_data)
    metrics = fit_student(student, tokenizer, labels, config, settings, data, staging)
    metrics["distillation"] = _comparison(
        run_dir,
        teacher_clf,
        staging,
        labels,
        val_data,
        settings,
        keep,
        depth,
        len(extra),
        metrics,
    )
    RunDir(staging).write_metrics(metrics)
    return metrics


def _plain_classifier(model, tokenizer, labels, max_length: int) -> TweetClassifier:
    """A predictor for texts already cleaned (no second normalisation), fp32."""
    engine = TorchEngine(model, "fp32")
    return TweetClassifier(engine, tokenizer, labels, max_length=max_length)


def _comparison(
    run_dir, teacher_clf, staging, labels, val_data, settings, keep, depth, n_extra, metrics
) -> dict:
    """Teacher vs student on the validation split: F1, agreement, tweets/s (fp32, same texts)."""

    student = load_classifier(RunDir(staging).model).eval()
    student_clf = _plain_classifier(student, teacher_clf.tokenizer, labels, teacher_clf.max_length)
    texts = list(val_data.texts)
    index = {label: i for i, label in enumerate(labels)}
    y_true = [index[x] for x in val_data.labels]
    pair = {"teacher": teacher_clf, "student": student_clf}
    predictions = {name: clf.predict_logits(texts).argmax(axis=1) for name, clf in pair.items()}
    # Alternating rounds, each model's best: a load that comes and goes on a shared machine
    # then slows both, not the one that happened to run during it.
    best = dict.fromkeys(pair, float("inf"))
    for _ in range(3):
        for name, clf in pair.items():
            started = time.perf_counter()
            clf.predict_logits(texts)
            best[name] = min(best[name], time.perf_counter() - started)
    rows = {}
    for name in pair:
        scores = classification_metrics(y_true, predictions[name], labels)
        rows[name] = {
            "f1_weighted": round(scores["f1_weighted"], 4),
            "f1_macro": round(scores["f1_macro"], 4),
            "accuracy": round(scores["accuracy"], 4),
            "tweets_per_second": round(len(texts) / best[name], 1),
        }
    teacher_metrics = RunDir(run_dir).read_metrics()
    return {
        "teacher_run": str(run_dir),  # "teacher" holds its scores (below)
        "teacher_layers": depth,
        "kept_layers": keep,
        "temperature": settings.temperature,
        "alpha": settings.alpha,
        "seed": settings.seed,
        "unlabelled_tweets": n_extra,
        "unlabelled_files": list(settings.unlabelled),
        "data_unlabelled": settings.data_unlabelled,
        "validation_tweets": len(texts),
        "agreement_with_teacher": round(
            float(np.mean(predictions["teacher"] == predictions["student"])), 4
        ),
        "speedup": round(
            rows["student"]["tweets_per_second"] / rows["teacher"]["tweets_per_second"], 2
        ),
        "teacher_best_epoch": teacher_metrics.get("best_epoch"),
        **rows,
    }


def _append_comparison(report: Path, d: dict) -> None:
    lines = [
        "",
        "## Distillation",
        "",
        f"Student of `{d['teacher_run']}`: layers {', '.join(map(str, d['kept_layers']))} of its "
        f"{d['teacher_layers']}, temperature {d['temperature']}, alpha {d['alpha']}, "
        f"{d['unlabelled_tweets']} unlabelled tweets. On the {d['validation_tweets']} "
        f"validation tweets (torch fp32 on this machine, best of 3 alternating rounds; the student "
        f"agrees with the teacher on "
        f"{100 * d['agreement_with_teacher']:.1f} % of them):",
        "",
        "| model | f1_weighted | f1_macro | accuracy | tweets/s |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in ("teacher", "student"):
        r = d[name]
        lines.append(
            f"| {name} | {r['f1_weighted']:.4f} | {r['f1_macro']:.4f} | {r['accuracy']:.4f} "
            f"| {r['tweets_per_second']:.1f} |"
        )
    lines.append(f"\nThe student ran {d['speedup']:.2f}x the teacher's speed.\n")
    with open(report, "a", encoding="utf-8") as handle:
        handle.write("\n".join(lines))


__all__ = ["DistillSettings", "distill", "kept_layers", "make_student"]
