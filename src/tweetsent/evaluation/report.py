"""Plots and the Markdown report written into a run directory."""

from __future__ import annotations

import logging
from pathlib import Path

from tweetsent import fileio
from tweetsent.config import TrainConfig
from tweetsent.evaluation import training_plots
from tweetsent.evaluation.calibration import write_reliability_diagram
from tweetsent.evaluation.training_plots import pyplot as _pyplot
from tweetsent.evaluation.training_plots import save as _save
from tweetsent.evaluation.training_plots import smooth  # noqa: F401 - part of this API
from tweetsent.rundir import RunDir

logger = logging.getLogger(__name__)

PLOTS = {
    "train_loss.png": "Training loss per step (smoothed), with epoch boundaries",
    "validation.png": "Loss (training objective) and F1 per epoch; the best epoch marked",
    "learning_rate.png": "Learning rate per step of each parameter group",
    "confusion_matrix.png": "Confusion matrix (validation, best epoch)",
    "reliability.png": "Reliability diagram (validation, before and after temperature scaling)",
}


def objective(config: TrainConfig | None) -> str:
    """In words, the loss Trainer minimises (and reports per epoch on the validation rows)."""
    if config is None:
        return "training objective"
    if config.multi_label:
        what = "binary cross-entropy"
        weights = "positive weights" if config.class_weights != "none" else ""
    else:
        what = "cross-entropy"
        weights = f"class weights {config.class_weights}" if config.class_weights != "none" else ""
    extras = [w for w in (weights,) if w]
    if config.label_smoothing:
        extras.append(f"label smoothing {config.label_smoothing}")
    return what + (f" ({', '.join(extras)})" if extras else "")


def _load_config(out_dir: Path) -> TrainConfig | None:
    try:
        return RunDir(out_dir).read_config()
    except Exception:  # a plot label is not worth failing a finished run for
        return None


def write_plots(metrics: dict, out_dir: Path, config: TrainConfig | None = None) -> None:
    plt = _pyplot()
    config = config or _load_config(out_dir)
    steps = metrics["train_steps"]
    history = metrics["history"]
    loss_name = objective(config)
    run = RunDir(out_dir)
    training_plots.train_loss(plt, steps, loss_name, run.plot("train_loss.png"))
    training_plots.validation(plt, metrics, history, loss_name, run.plot("validation.png"))
    training_plots.learning_rate(
        plt, steps, metrics.get("lr_groups"), run.plot("learning_rate.png")
    )
    if "confusion_matrix" in metrics["validation"]:  # multi-label runs have none
        write_confusion_matrix(metrics["validation"], run.plot("confusion_matrix.png"))
    if metrics.get("calibration", {}).get("method") == "temperature":
        write_reliability_diagram(metrics["calibration"], run.plot("reliability.png"))


# A confusion matrix stays readable, and cheap to draw, up to a few dozen classes: beyond it the
# plot shows the classes most involved in confusions (1,000 classes drawn whole took 7 GB).
PLOT_MAX_CLASSES = 30
CELL_TEXT_MAX_CLASSES = 20  # counts written in the cells up to this many classes
FIGURE_MAX_INCHES = 14.0


def most_confused(matrix, top: int) -> list[int]:
    """Indices of the ``top`` classes with the most confusions (rows and columns, off the
    diagonal), in label order; all classes when there are no more than ``top``."""
    import numpy as np

    m = np.asarray(matrix)
    if len(m) <= top:
        return list(range(len(m)))
    off = m - np.diag(np.diag(m))
    involvement = off.sum(axis=0) + off.sum(axis=1)
    order = np.lexsort((np.arange(len(m)), -involvement))  # most confused, then label order
    return sorted(int(i) for i in order[:top])


def confused_pairs(validation: dict, top: int = 10) -> list[tuple[str, str, int]]:
    """The ``top`` largest off-diagonal cells: (true label, predicted label, count)."""
    import numpy as np

    m = np.array(validation["confusion_matrix"])
    np.fill_diagonal(m, 0)
    flat = np.argsort(-m, axis=None, kind="stable")[:top]
    labels = validation["labels"]
    rows, cols = np.unravel_index(flat, m.shape)
    pairs = [(labels[i], labels[j], int(m[i, j])) for i, j in zip(rows, cols, strict=True)]
    return [p for p in pairs if p[2] > 0]


def write_confusion_matrix(validation: dict, path: Path) -> None:
    import numpy as np

    plt = _pyplot()
    all_labels = validation["labels"]
    keep = most_confused(validation["confusion_matrix"], PLOT_MAX_CLASSES)
    matrix = np.asarray(validation["confusion_matrix"])[np.ix_(keep, keep)]
    labels = [all_labels[i] for i in keep]
    size = min(max(4.0, 0.7 * len(labels) + 2), FIGURE_MAX_INCHES)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    if len(labels) <= CELL_TEXT_MAX_CLASSES:
        top = int(matrix.max()) or 1
        for i, row in enumerate(matrix):
            for j, value in enumerate(row):
                ax.text(
                    j,
                    i,
                    str(value),
                    ha="center",
                    va="center",
                    color="white" if value > top / 2 else "black",
                    fontsize=9,
                )
    title = "Confusion matrix"
    if len(keep) < len(all_labels):
        title += f": the {len(keep)} most confused of {len(all_labels)} classes"
    ax.set(xlabel="predicted", ylabel="true", title=title)
    _save(fig, path)
    plt.close(fig)


def write_report(metrics: dict, config: TrainConfig, out_dir: Path) -> None:
    """``report.md``: data summary, settings, metrics, the per-class table and the plots."""
    v = metrics["validation"]
    lines = ["# tweetsent training report", ""]
    if metrics.get("warnings"):  # first: a run that learned nothing must not read as fine
        lines += ["## Warnings", "", *(f"- {w}" for w in metrics["warnings"]), ""]
    lines += _data_lines(metrics["data"])
    lines += ["", "## Settings", "", "| setting | value |", "|---|---|"]
    settings = config.to_dict()
    settings.pop("data")
    settings["model"] = metrics["model"]
    settings["precision"] = metrics["precision"]
    for key, value in settings.items():
        lines.append(f"| {key} | {code_cell(value)} |")
    lines += _validation_lines(metrics, config)
    lines += calibration_lines(metrics.get("calibration"))
    if metrics.get("baseline"):
        lines += baseline_lines(metrics["baseline"], v)
    lines += per_class_lines(v)
    lines += _epoch_lines(metrics)
    lines += ["", "## Plots", ""]
    for name, title in PLOTS.items():
        if (out_dir / name).exists():
            lines += [f"![{title}]({name})", ""]
    fileio.atomic_write_text(RunDir(out_dir).report, "\n".join(lines))


def _data_lines(data: dict) -> list[str]:
    lines = [
        "## Data",
        f"- source: {code_cell(data['source'])}",
        f"- training rows: {data['train_rows']}, validation rows: {data['validation_rows']}",
    ]
    if data["dropped"]:
        lines.append(
            "- dropped while cleaning: "
            + ", ".join(f"{n} {why}" for why, n in data["dropped"].items())
        )
    lines += ["", "| label | train | % | validation |", "|---|---:|---:|---:|"]
    val_counts = {r["label"]: r["count"] for r in data["validation_distribution"]}
    for row in data["train_distribution"]:
        lines.append(
            f"| {cell(row['label'])} | {row['count']} | {row['percent']:.1f} | "
            f"{val_counts.get(row['label'], 0)} |"
        )
    return lines


def _validation_lines(metrics: dict, config: TrainConfig) -> list[str]:
    v = metrics["validation"]
    ensemble = metrics.get("ensemble")
    which = (
        f"ensemble of {ensemble['size']}: the mean of its members' calibrated probabilities"
        if ensemble
        else f"best epoch {metrics['best_epoch']} by {metrics['metric_for_best']}"
    )
    lines = ["", f"## Validation metrics ({which})", "", "| metric | value |", "|---|---:|"]
    keys = ("loss", "accuracy", "f1_weighted", "f1_macro", "f1_micro", "mcc")
    keys += ("f1_samples", "hamming_loss") if v.get("multi_label") else ()
    lines += [f"| {key} | {v[key]:.4f} |" for key in keys if key in v]
    lines += ensemble_lines(metrics)
    plain = "binary cross-entropy" if v.get("multi_label") else "cross-entropy"
    lines += [
        "",
        f"Two validation losses: `loss` above is the plain {plain} of the predicted "
        "probabilities (what `tweetsent evaluate` reports, comparable across runs and "
        f"recipes); the per-epoch validation loss (Epochs table, validation.png) is the "
        f"training objective, {objective(config)}, on the same rows, comparable with the "
        "training loss beside it.",
    ]
    if v.get("thresholds"):
        lines += [
            "",
            "Multi-label: accuracy is subset accuracy (the exact label set). Per-label "
            "thresholds, tuned on this validation set (so its tuned scores are optimistic): "
            + ", ".join(f"{cell(label)} {t:.2f}" for label, t in v["thresholds"].items())
            + ". At threshold 0.5: "
            + ", ".join(f"{k} {x:.4f}" for k, x in v["at_threshold_0.5"].items())
            + ".",
        ]
    return lines


def ensemble_lines(metrics: dict) -> list[str]:
    """--ensemble: each member's validation scores beside the ensemble's, and the cost."""
    ensemble = metrics.get("ensemble")
    if not ensemble:
        return []
    keys = ("loss", "accuracy", "f1_weighted", "f1_macro", "mcc")
    lines = [
        "",
        f"Ensemble of {ensemble['size']} members: the same split and settings, seeds "
        f"{', '.join(str(m['seed']) for m in ensemble['members'])}; each member kept its best "
        "epoch by "
        f"{metrics['metric_for_best']} and fitted its own temperature. Training and every "
        f"prediction run all {ensemble['size']} members: {ensemble['size']} times the work of one.",
        "",
        "| model | seed | best epoch | " + " | ".join(keys) + " |",
        "|---|---:|---:|" + "---:|" * len(keys),
    ]
    for m in ensemble["members"]:
        scores = " | ".join(_num(m["validation"].get(k)) for k in keys)
        lines.append(f"| member {m['member']} | {m['seed']} | {m['best_epoch']} | {scores} |")
    scores = " | ".join(_num(metrics["validation"].get(k)) for k in keys)
    lines.append(f"| **ensemble** | | | {scores} |")
    return lines


def _epoch_lines(metrics: dict) -> list[str]:
    members = (metrics.get("ensemble") or {}).get("members")
    lines = [
        "",
        "## Epochs" + (" (member 1; the plots too)" if members else ""),
        "",
        "| epoch | train loss | val loss | accuracy | f1 weighted | f1 macro | seconds |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for h in metrics["history"]:
        lines.append(
            f"| {h['epoch']} | {_num(h['train_loss'])} | {_num(h['val_loss'])} | "
            f"{_num(h.get('accuracy'))} | {_num(h.get('f1_weighted'))} | "
            f"{_num(h.get('f1_macro'))} | {h['seconds']:.1f} |"
        )
    lines += [
        "",
        f"Training took {metrics['train_seconds']:.0f} s "
        + (f"for {len(members)} members " if members else "")
        + f"({metrics['train_tweets_per_second']:.1f} tweets/s).",
    ]
    return lines


def calibration_lines(calibration: dict | None) -> list[str]:
    """Temperature scaling in the report: the fitted T and ECE / NLL before and after."""
    if not calibration:
        return []
    if calibration.get("method") != "temperature":
        return ["", f"Calibration: {calibration.get('note', 'none')}."]
    return [
        "",
        "### Calibration (temperature scaling, fitted on the validation split)",
        "",
        f"Probabilities shown by `predict`, the API and the service are "
        f"softmax(logits / {calibration['temperature']:.3f}); labels are unchanged. Measured on "
        "the rows the temperature was fitted on, so the figures after are somewhat optimistic.",
        "",
        "| | ECE | NLL |",
        "|---|---:|---:|",
        f"| raw softmax | {calibration['ece_before']:.4f} | {calibration['nll_before']:.4f} |",
        f"| temperature {calibration['temperature']:.3f} | {calibration['ece_after']:.4f} | "
        f"{calibration['nll_after']:.4f} |",
    ]


def per_class_lines(validation: dict) -> list[str]:
    """The per-class table and, for more classes than the plot shows, the worst confusions."""
    lines = [
        "",
        "| class | precision | recall | f1 | support | accuracy |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, row in validation["per_class"].items():
        lines.append(
            f"| {cell(label)} | {row['precision']:.3f} | {row['recall']:.3f} | "
            f"{row['f1']:.3f} | {row['support']} | {row['accuracy']} |"
        )
    if "confusion_matrix" in validation and len(validation["labels"]) > CELL_TEXT_MAX_CLASSES:
        lines += ["", "Most frequent confusions (true → predicted):", ""]
        pairs = confused_pairs(validation, 20)
        lines += [f"- {cell(a)} → {cell(b)}: {n}" for a, b, n in pairs] or ["- none"]
    return lines


def baseline_lines(baseline: dict, validation: dict) -> list[str]:
    """The TF-IDF + logistic-regression baseline beside the model, same split, same metrics."""
    lines = [
        "",
        "### Against the baseline (TF-IDF + logistic regression, same split)",
        "",
        "| metric | this model | baseline |",
        "|---|---:|---:|",
    ]
    for key in ("accuracy", "f1_weighted", "f1_macro", "f1_micro", "mcc"):
        if key in validation and key in baseline:
            lines.append(f"| {key} | {validation[key]:.4f} | {baseline[key]:.4f} |")
    lines += ["", "| class | this model | baseline |", "|---|---:|---:|"]
    for label, row in validation["per_class"].items():
        other = baseline.get("per_class", {}).get(label, {}).get("accuracy", "–")
        lines.append(f"| {cell(label)} | {row['accuracy']} | {other} |")
    return lines


def cell(value) -> str:
    """Text safe inside a Markdown table cell: a label like ``happy|sad`` must not split it."""
    text = " ".join(str(value).split())  # newlines end a table row
    return text.replace("\\", "\\\\").replace("|", "\\|")


def code_cell(value) -> str:
    """``value`` as inline code in a table cell; GFM takes ``\\|`` as ``|`` there too."""
    text = " ".join(str(value).split()).replace("|", "\\|").replace("`", "'")
    return f"`{text}`"


def _num(value) -> str:
    return "–" if value is None else f"{value:.4f}"
