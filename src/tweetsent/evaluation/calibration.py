"""Temperature scaling at the end of training, described before and after; the reliability
diagram. The numbers themselves (fit, ECE) are in :mod:`tweetsent.inference.calibration`, where
the predictor applies the temperature."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tweetsent.evaluation.metrics import cross_entropy
from tweetsent.evaluation.training_plots import pyplot, save
from tweetsent.inference.calibration import (
    N_BINS,
    expected_calibration_error,
    fit_temperature,
    reliability_bins,
    softmax,
)


def calibrate(logits: np.ndarray, y_true: Sequence[int], n_bins: int = N_BINS) -> dict:
    """Fit a temperature on these rows and describe calibration before and after.

    The figures are measured on the rows the temperature was fitted on (the validation split),
    so the "after" figures are somewhat optimistic; measure on a test file with
    ``tweetsent evaluate`` for an unbiased figure. A temperature that would raise the
    validation ECE is not kept (temperature 1; ``rejected_temperature`` says which).
    """
    temperature = fit_temperature(logits, y_true)
    before = softmax(logits)
    after = softmax(logits, temperature)
    ece_before = expected_calibration_error(before, y_true, n_bins)
    ece_after = expected_calibration_error(after, y_true, n_bins)
    rejected = {}
    if ece_after > ece_before:  # the better of the two: the raw probabilities
        rejected = {"rejected_temperature": temperature, "rejected_ece": ece_after}
        temperature, after, ece_after = 1.0, before, ece_before
    return {
        "method": "temperature",
        "temperature": temperature,
        **rejected,
        "fitted_on": "validation",
        "rows": len(before),
        "n_bins": n_bins,
        "ece_before": ece_before,
        "ece_after": ece_after,
        "nll_before": cross_entropy(before, y_true),
        "nll_after": cross_entropy(after, y_true),
        "bins_before": reliability_bins(before, y_true, n_bins),
        "bins_after": reliability_bins(after, y_true, n_bins),
    }


def write_reliability_diagram(calibration: dict, path: Path) -> None:
    """Accuracy against confidence per bin, before and after temperature scaling."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], ":", color="grey", label="perfect calibration")
    for key, style, name in (
        ("bins_before", "o--", f"raw softmax (ECE {calibration['ece_before']:.3f})"),
        (
            "bins_after",
            "s-",
            f"T = {calibration['temperature']:.2f} (ECE {calibration['ece_after']:.3f})",
        ),
    ):
        used = [b for b in calibration[key] if b["count"]]
        ax.plot([b["confidence"] for b in used], [b["accuracy"] for b in used], style, label=name)
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1),
        xlabel="confidence (top label)",
        ylabel="accuracy",
        title=f"Reliability ({calibration['fitted_on']}, {calibration['rows']} rows)",
    )
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    save(fig, path)
    plt.close(fig)
