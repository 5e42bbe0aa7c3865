"""Plots and the Markdown report written into a run directory."""

from __future__ import annotations

import logging
from pathlib import Path

from tweetsent.config import TrainConfig

logger = logging.getLogger(__name__)

PLOTS = {
    "train_loss.png": "Training loss per step (smoothed), with epoch boundaries",
    "validation.png": "Loss (training objective) and F1 per epoch; the best epoch marked",
    "learning_rate.png": "Learning rate per step of each parameter group",
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


def smooth(values, window: int):
    """Centred moving average; the ends average over the points they have."""
    import numpy as np

    values = np.asarray(values, dtype=float)
    if window <= 1 or len(values) < 3:
        return values
    window = min(window, len(values))
    kernel = np.ones(window)
    sums = np.convolve(values, kernel, mode="same")
    counts = np.convolve(np.ones_like(values), kernel, mode="same")
    return sums / counts


def _load_config(out_dir: Path) -> TrainConfig | None:
    try:
        return TrainConfig.load(out_dir / "config.json")
    except Exception:  # a plot label is not worth failing a finished run for
        return None


def write_plots(metrics: dict, out_dir: Path, config: TrainConfig | None = None) -> None:
    plt = _pyplot()
    config = config or _load_config(out_dir)
    steps = metrics["train_steps"]
    history = metrics["history"]
    loss_name = objective(config)
    _train_loss_plot(plt, steps, loss_name, out_dir / "train_loss.png")
    _validation_plot(plt, metrics, history, loss_name, out_dir / "validation.png")
    _learning_rate_plot(plt, steps, metrics.get("lr_groups"), out_dir / "learning_rate.png")
    if "confusion_matrix" in metrics["validation"]:  # multi-label runs have none
        write_confusion_matrix(metrics["validation"], out_dir / "confusion_matrix.png")


def _epoch_starts(steps: list[dict]) -> list[tuple[int, int]]:
    """(step, epoch) where each epoch after the first begins."""
    starts, seen = [], 0
    for s in steps:
        epoch = int(s["epoch"] - 1e-9) + 1  # step at epoch 1.0 is the last of epoch 1
        if epoch > seen:
            if seen:
                starts.append((s["step"] - 0.5, epoch))
            seen = epoch
    return starts


def _train_loss_plot(plt, steps, loss_name: str, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 3.6))
    x = [s["step"] for s in steps]
    y = [s["loss"] for s in steps]
    starts = _epoch_starts(steps)
    per_epoch = x[-1] / (len(starts) + 1) if x else 1
    window = max(5, round(per_epoch / 8))
    ax.plot(x, y, lw=0.6, alpha=0.3, color="tab:blue", label="per step")
    ax.plot(x, smooth(y, window), lw=1.8, color="tab:blue", label=f"mean of {window} steps")
    for step, epoch in starts:
        ax.axvline(step, color="grey", ls=":", lw=1)
        ax.text(
            step,
            1.0,
            f" epoch {epoch}",
            transform=ax.get_xaxis_transform(),
            va="top",
            ha="left",
            fontsize=8,
            color="dimgrey",
        )
    ax.set(xlabel="optimizer step", ylabel="loss", title=f"Training loss: {loss_name}")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    _save(fig, path)
    plt.close(fig)


def _validation_plot(plt, metrics, history, loss_name: str, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 3.6))
    epochs = [h["epoch"] for h in history]
    ax.plot(
        epochs,
        [h["train_loss"] for h in history],
        "o--",
        color="tab:blue",
        label="training loss (epoch mean)",
    )
    ax.plot(
        epochs, [h["val_loss"] for h in history], "o-", color="tab:red", label="validation loss"
    )
    ax.set(xlabel="epoch", ylabel=f"loss: {loss_name}", title="Loss and F1 per epoch")
    ax.set_xticks(epochs)
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
    ax2.set(ylabel="F1 (validation)", ylim=(0, 1.02))
    best = metrics.get("best_epoch")
    if best is not None:
        by = metrics.get("metric_for_best", "")
        ax.axvspan(
            best - 0.2,
            best + 0.2,
            color="gold",
            alpha=0.35,
            label=f"best epoch {best} (by {by}): the model kept",
        )
    lines, labels = ax.get_legend_handles_labels()
    lines2, labels2 = ax2.get_legend_handles_labels()
    # Outside the axes, so it never covers a point.
    ax.legend(
        lines + lines2,
        labels + labels2,
        loc="upper left",
        bbox_to_anchor=(1.12, 1),
        fontsize=8,
        frameon=False,
    )
    ax.grid(alpha=0.3)
    _save(fig, path)
    plt.close(fig)


def _learning_rate_plot(plt, steps, groups, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 3.6))
    x = [s["step"] for s in steps]
    per_group = groups and all(len(s.get("group_lrs", ())) == len(groups) for s in steps)
    if per_group:
        cmap = plt.get_cmap("viridis")
        for i, group in enumerate(groups):
            color = cmap(i / max(len(groups) - 1, 1))
            ax.plot(
                x,
                [s["group_lrs"][i] for s in steps],
                color=color,
                label=f"{group['name']}: {group['lr']:.2g}",
            )
        if groups[0]["lr"] / max(groups[-1]["lr"], 1e-30) > 4:
            ax.set_yscale(
                "log", nonpositive="mask"
            )  # the head's rate is 10x the encoder's: both readable
        title = "Learning rate per parameter group (legend: configured peak)"
    else:  # a run from before per-group rates were recorded: Trainer's one logged rate
        ax.plot(x, [s["learning_rate"] for s in steps], label="first parameter group")
        title = "Learning-rate schedule"
    ax.set(xlabel="optimizer step", ylabel="learning rate", title=title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    _save(fig, path)
    plt.close(fig)


def write_confusion_matrix(validation: dict, path: Path) -> None:
    plt = _pyplot()
    labels = validation["labels"]
    matrix = validation["confusion_matrix"]
    size = max(4.0, 0.7 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    top = max(max(row) for row in matrix) or 1
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
    ax.set(xlabel="predicted", ylabel="true", title="Confusion matrix")
    _save(fig, path)
    plt.close(fig)


def write_report(metrics: dict, config: TrainConfig, out_dir: Path) -> None:
    """``report.md``: data summary, settings, metrics, the per-class table and the plots."""
    v = metrics["validation"]
    lines = ["# tweetsent training report", "", *_data_lines(metrics["data"])]
    lines += ["", "## Settings", "", "| setting | value |", "|---|---|"]
    settings = config.to_dict()
    settings.pop("data")
    settings["model"] = metrics["model"]
    settings["precision"] = metrics["precision"]
    for key, value in settings.items():
        lines.append(f"| {key} | {code_cell(value)} |")
    lines += _validation_lines(metrics, config)
    if metrics.get("baseline"):
        lines += baseline_lines(metrics["baseline"], v)
    lines += [
        "",
        "| class | precision | recall | f1 | support | accuracy |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, row in v["per_class"].items():
        lines.append(
            f"| {cell(label)} | {row['precision']:.3f} | {row['recall']:.3f} | "
            f"{row['f1']:.3f} | {row['support']} | {row['accuracy']} |"
        )
    lines += _epoch_lines(metrics)
    lines += ["", "## Plots", ""]
    for name, title in PLOTS.items():
        if (out_dir / name).exists():
            lines += [f"![{title}]({name})", ""]
    tmp = out_dir / "report.md.tmp"
    tmp.write_text("\n".join(lines), encoding="utf-8")
    tmp.replace(out_dir / "report.md")


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
    lines = [
        "",
        f"## Validation metrics (best epoch {metrics['best_epoch']} "
        f"by {metrics['metric_for_best']})",
        "",
        "| metric | value |",
        "|---|---:|",
    ]
    keys = ("loss", "accuracy", "f1_weighted", "f1_macro", "f1_micro", "mcc")
    keys += ("f1_samples", "hamming_loss") if v.get("multi_label") else ()
    lines += [f"| {key} | {v[key]:.4f} |" for key in keys if key in v]
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


def _epoch_lines(metrics: dict) -> list[str]:
    lines = [
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
    ]
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
