"""The training run's plots: loss per step, loss and F1 per epoch, each group's learning rate.

Drawn to be read at a glance: the noisy per-step loss smoothed, epochs marked, the loss named
(the training objective, class-weighted by default), the kept epoch marked, legends outside the
points, and every parameter group's own learning rate with its configured peak.
"""

from __future__ import annotations

from pathlib import Path

from tweetsent import fileio


def pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    return plt


def save(fig, path: Path) -> None:
    with fileio.atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")


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


def train_loss(plt, steps, loss_name: str, path: Path) -> None:
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
    save(fig, path)
    plt.close(fig)


def validation(plt, metrics, history, loss_name: str, path: Path) -> None:
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
    save(fig, path)
    plt.close(fig)


def learning_rate(plt, steps, groups, path: Path) -> None:
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
    save(fig, path)
    plt.close(fig)
