"""Data-parallel training with torchrun: two CPU processes (gloo) on the tiny model."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tweetsent.training import distributed


def test_single_process_runs_everything_itself():
    assert not distributed.is_distributed()
    assert distributed.is_main()
    assert distributed.backend(cpu=True) is None
    assert distributed.on_main(lambda: 41 + 1) == 42


# ~26 s (two fresh interpreters, gloo): CI runs it in its slow step; the default suite keeps
# the single-process path and resolve_precision.
@pytest.mark.slow
def test_torchrun_two_cpu_processes(tmp_path, train_argv, subprocess_env):
    out = tmp_path / "ddp-run"
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    cmd = [*torchrun, "--nproc_per_node", "2", "-m", "tweetsent", *train_argv(epochs=2, out=out)]
    proc = subprocess.run(
        cmd, env=subprocess_env, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]

    # Rank 0 alone wrote a complete run directory and left no staging behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ddp-run"]
    for name in ("config.json", "metrics.json", "report.md", "confusion_matrix.png"):
        assert (out / name).is_file(), name
    assert (out / "model" / "model.safetensors").is_file()
    assert not (out / "checkpoints").exists()

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["processes"] == 2
    # 90 rows, 15 % validation: 14 rows, all of them scored (not one rank's shard of 7).
    assert metrics["data"]["validation_rows"] == 14
    assert sum(row["support"] for row in metrics["validation"]["per_class"].values()) == 14
    assert sum(map(sum, metrics["validation"]["confusion_matrix"])) == 14
    assert [h["epoch"] for h in metrics["history"]] == [1, 2]
    # Losses are means, not sums over processes: ~ln 3 for three classes at the start.
    assert 0.9 < metrics["history"][0]["train_loss"] < 1.4
    assert 0.9 < metrics["history"][0]["val_loss"] < 1.4
    assert 0.9 < metrics["validation"]["loss"] < 1.4

    # Logging and the summary come from rank 0 only.
    assert log.count("epoch 1/2") == 1
    assert log.count("best epoch") == 1  # the printed summary, once (not once per rank)
    assert "error:" not in log


def test_fp16_needs_a_gpu():
    from tweetsent.errors import ConfigError
    from tweetsent.hardware import device_type, resolve_precision

    if device_type() == "cuda":
        pytest.skip("a GPU is visible")
    with pytest.raises(ConfigError, match="fp16 mixed precision needs a CUDA GPU"):
        resolve_precision("fp16")
    assert resolve_precision("bf16") == "bf16"


@pytest.mark.slow  # ~9 s; CI's slow step
def test_torchrun_bad_input_is_reported_once(tmp_path, subprocess_env):
    missing = tmp_path / "missing.csv"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "tweetsent",
        "train",
        str(missing),
        "--text-col",
        "text",
        "--label-col",
        "label",
        "--out",
        str(tmp_path / "run"),
    ]
    proc = subprocess.run(
        cmd, env=subprocess_env, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0
    errors = [line for line in log.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {missing}: file not found"], log[-3000:]
    # torchrun itself reports a failed worker with its own traceback; ours print none.
    assert "site-packages/torch/distributed/run.py" in log
    assert "tweetsent/" not in log.split("Traceback", 1)[-1]
    assert sorted(p.name for p in tmp_path.iterdir()) == []
