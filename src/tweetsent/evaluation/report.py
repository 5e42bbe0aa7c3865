"""Plots and the Markdown report written into a run directory."""

from __future__ import annotations

import logging
from pathlib import Path

from tweetsent.config import TrainConfig

logger = logging.getLogger(__name__)

PLOTS = {
    "train_loss.png": "Training loss per step",
    "validation.png": "Validation loss and F1 per epoch",
    "learning_rate.png": "Learning rate per step",
    "confusion_matrix.png": "Confusion matrix (validation, best epoch)",
}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    tmp.replace(path)


def write_plots(metrics: dict, out_dir: Path) -> None:
    plt = _pyplot()
    steps = metrics["train_steps"]
    history = metrics["history"]

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([s["step"] for s in steps], [s["loss"] for s in steps], lw=0.8)
    ax.set(xlabel="step", ylabel="loss", title="Training loss")
    ax.grid(alpha=0.3)
    _save(fig, out_dir / "train_loss.png")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 3.5))
    epochs = [h["epoch"] for h in history]
    ax.plot(epochs, [h["val_loss"] for h in history], "o-", label="validation loss")
    ax.plot(epochs, [h["train_loss"] for h in history], "o--", label="training loss")
    ax.set(xlabel="epoch", ylabel="loss", title="Loss and F1 per epoch")
    ax2 = ax.twinx()
    ax2.plot(
        epochs,
        [h.get("f1_weighted") for h in history],
        "s-",
        color="tab:green",
        label="F1 weighted",
    )
    ax2.plot(
        epochs, [h.get("f1_macro") for h in history], "s--", color="tab:olive", label="F1 macro"
    )
    ax2.set(ylabel="F1", ylim=(0, 1))
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="center right", fontsize=8)
    ax.grid(alpha=0.3)
    _save(fig, out_dir / "validation.png")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 3.0))
    ax.plot([s["step"] for s in steps], [s["learning_rate"] for s in steps])
    ax.set(xlabel="step", ylabel="learning rate", title="Learning-rate schedule")
    ax.grid(alpha=0.3)
    _save(fig, out_dir / "learning_rate.png")
    plt.close(fig)

    if "confusion_matrix" in metrics["validation"]:  # multi-label runs have none
        write_confusion_matrix(metrics["validation"], out_dir / "confusion_matrix.png")


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
    data = metrics["data"]
    lines = [
        "# tweetsent training report",
        "",
        "## Data",
        f"- source: `{data['source']}`",
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
            f"| {row['label']} | {row['count']} | {row['percent']:.1f} | "
            f"{val_counts.get(row['label'], 0)} |"
        )
    lines += ["", "## Settings", "", "| setting | value |", "|---|---|"]
    settings = config.to_dict()
    settings.pop("data")
    settings["model"] = metrics["model"]
    settings["precision"] = metrics["precision"]
    for key, value in settings.items():
        lines.append(f"| {key} | `{value}` |")
    lines += [
        "",
        f"## Validation metrics (best epoch {metrics['best_epoch']} "
        f"by {metrics['metric_for_best']})",
        "",
        "| metric | value |",
        "|---|---:|",
    ]
    keys = ("loss", "accuracy", "f1_weighted", "f1_macro", "f1_micro", "mcc")
    keys += ("f1_samples", "hamming_loss") if v.get("multi_label") else ()
    for key in keys:
        if key in v:
            lines.append(f"| {key} | {v[key]:.4f} |")
    if v.get("thresholds"):
        lines += [
            "",
            "Multi-label: accuracy is subset accuracy (the exact label set). Per-label "
            "thresholds, tuned on this validation set (so its tuned scores are optimistic): "
            + ", ".join(f"{label} {t:.2f}" for label, t in v["thresholds"].items())
            + ". At threshold 0.5: "
            + ", ".join(f"{k} {x:.4f}" for k, x in v["at_threshold_0.5"].items())
            + ".",
        ]
    if metrics.get("baseline"):
        lines += baseline_lines(metrics["baseline"], v)
    lines += per_class_lines(v)
    lines += [
        "",
        "## Epochs",
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
        f"({metrics['train_tweets_per_second']:.1f} tweets/s).",
        "",
        "## Plots",
        "",
    ]
    for name, title in PLOTS.items():
        if not (out_dir / name).exists():
            continue
        lines.append(f"![{title}]({name})")
        lines.append("")
    tmp = out_dir / "report.md.tmp"
    tmp.write_text("\n".join(lines), encoding="utf-8")
    tmp.replace(out_dir / "report.md")


def per_class_lines(validation: dict) -> list[str]:
    """The per-class table and, for more classes than the plot shows, the worst confusions."""
    lines = [
        "",
        "| class | precision | recall | f1 | support | accuracy |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, row in validation["per_class"].items():
        lines.append(
            f"| {label} | {row['precision']:.3f} | {row['recall']:.3f} | "
            f"{row['f1']:.3f} | {row['support']} | {row['accuracy']} |"
        )
    if "confusion_matrix" in validation and len(validation["labels"]) > CELL_TEXT_MAX_CLASSES:
        lines += ["", "Most frequent confusions (true → predicted):", ""]
        pairs = confused_pairs(validation, 20)
        lines += [f"- {a} → {b}: {n}" for a, b, n in pairs] or ["- none"]
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
        lines.append(f"| {label} | {row['accuracy']} | {other} |")
    return lines


def _num(value) -> str:
    return "–" if value is None else f"{value:.4f}"
