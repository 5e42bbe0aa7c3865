"""report.md and the plots: label-safe tables, the configured rates per group, the loss named."""

from __future__ import annotations

import copy
import json

from tweetsent.evaluation.report import cell, smooth, write_plots, write_report


def _table_rows(text: str, header: str) -> list[list[str]]:
    """Cells of the Markdown table whose header line starts with ``header``."""
    import re

    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        # GFM: a cell ends at a "|" that is not escaped
        rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]])
    return rows


def test_labels_with_pipes_stay_in_their_cell(_tiny_run, tmp_path):
    from tweetsent.config import TrainConfig

    metrics = json.loads((_tiny_run / "metrics.json").read_text())
    config = TrainConfig.load(_tiny_run / "config.json")
    renamed = {"happy": "happy|surprise", "angry": "a\\b | c"}
    text = json.dumps(metrics)
    for old, new in renamed.items():
        text = text.replace(f'"{old}"', json.dumps(new))
    write_report(json.loads(text), config, tmp_path)
    report = (tmp_path / "report.md").read_text()
    rows = _table_rows(report, "| class | precision")
    assert all(len(row) == 6 for row in rows), rows
    assert "happy\\|surprise" in [row[0] for row in rows]
    assert all(len(row) == 4 for row in _table_rows(report, "| label | train"))
    # the two validation losses are told apart
    assert "plain cross-entropy" in report and "training objective" in report


def test_cell_escapes_pipes_and_newlines():
    assert cell("a|b\nc") == "a\\|b c"


def test_smooth_keeps_length_and_flattens_noise():
    import numpy as np

    noisy = np.tile([0.0, 2.0], 50)
    smoothed = smooth(noisy, 10)
    assert len(smoothed) == len(noisy)
    assert np.ptp(smoothed[10:-10]) < 0.25 and abs(smoothed.mean() - 1) < 0.05


def test_each_configured_rate_is_recorded_and_named(_tiny_run):
    metrics = json.loads((_tiny_run / "metrics.json").read_text())
    config = json.loads((_tiny_run / "config.json").read_text())
    groups = {g["name"]: g["lr"] for g in metrics["lr_groups"]}
    lr, decay = config["lr"], config["layer_lr_decay"]
    head = config["head_lr"] if config["head_lr"] is not None else lr
    assert abs(groups["head"] - head) < 1e-12
    assert abs(groups["layer 2"] - lr * decay) < 1e-12  # the top of 2 layers
    assert abs(groups["embeddings"] - lr * decay**3) < 1e-12
    # every step holds each group's rate, peaking at the configured one
    for i, group in enumerate(metrics["lr_groups"]):
        peak = max(step["group_lrs"][i] for step in metrics["train_steps"])
        assert peak <= group["lr"] * (1 + 1e-9) and peak > 0.5 * group["lr"]


def test_plots_are_written_also_for_runs_without_group_rates(_tiny_run, tmp_path):
    metrics = json.loads((_tiny_run / "metrics.json").read_text())
    old = copy.deepcopy(metrics)
    old.pop("lr_groups")
    for step in old["train_steps"]:
        step.pop("group_lrs")
    for name, m in (("new", metrics), ("old", old)):
        out = tmp_path / name
        out.mkdir()
        write_plots(m, out)
        for png in ("train_loss.png", "validation.png", "learning_rate.png"):
            assert (out / png).read_bytes()[:4] == b"\x89PNG"
