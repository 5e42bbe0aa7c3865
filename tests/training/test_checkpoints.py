"""Resumable runs: a training process killed with SIGKILL mid-epoch, then resumed, ends exactly
where an uninterrupted run with the same seed ends; RUN_DIR is never seen half-written."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tweetsent.config import TrainConfig
from tweetsent.errors import ConfigError
from tweetsent.training import checkpoints

STEPS_PER_EPOCH = 10  # 76 training rows of small_csv, batch 8


def _complete_or_absent(out: Path) -> None:
    if out.exists():
        for name in ("config.json", "metrics.json", "report.md", "model/model.safetensors"):
            assert (out / name).is_file(), f"{out} visible without {name}"


# Three epochs with a checkpoint every 3 steps besides the per-epoch ones.
KILLABLE = {"epochs": 3, "save_steps": 3}


def _wait(proc: subprocess.Popen, outs: list[Path], timeout: float = 300) -> str:
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        for out in outs:
            _complete_or_absent(out)
        assert time.monotonic() < deadline, "training took too long"
        time.sleep(0.05)
    log = proc.stdout.read()
    assert proc.returncode == 0, log[-3000:]
    return log


# ~22 s (three trainings in fresh interpreters): CI runs it in its slow step; the default
# suite keeps the in-process resume tests below (half-written checkpoints, a kill just before
# the rename).
@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_matches_uninterrupted(tmp_path, train_argv, subprocess_env):
    popen = dict(env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    staging = checkpoints.staging_dir(killed)
    # The reference run and the run to kill go side by side (two cores).
    command = [sys.executable, "-m", "tweetsent"]
    reference = subprocess.Popen([*command, *train_argv(**KILLABLE, out=clean)], **popen)
    victim = subprocess.Popen([*command, *train_argv(**KILLABLE, out=killed)], **popen)

    # Kill once a checkpoint inside epoch 2 exists: resuming must restore the shuffle of an
    # epoch that is not the first one, and skip the batches already trained on.
    deadline = time.monotonic() + 300
    while True:
        _complete_or_absent(killed)
        latest = checkpoints.latest_checkpoint(staging)
        step = int(latest.name.split("-")[1]) if latest else 0
        if step > STEPS_PER_EPOCH + 2:
            break
        assert victim.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    assert step % STEPS_PER_EPOCH != 0, f"killed at an epoch boundary (step {step})"
    assert not killed.exists() and staging.is_dir()
    # The best epoch's checkpoint is kept beside the latest one.
    assert (staging / "checkpoints" / f"checkpoint-{STEPS_PER_EPOCH}").is_dir()

    # A kill while saving leaves a folder without a readable trainer_state.json: never used.
    half = staging / "checkpoints" / "checkpoint-999"
    half.mkdir()
    (half / "model.safetensors").write_bytes(b"\x00" * 10)
    (half / "trainer_state.json").write_text('{"global_step": 99')

    resumed = subprocess.Popen(
        [sys.executable, "-m", "tweetsent", "train", "--resume", str(killed), "--no-progress"],
        **popen,
    )
    log = _wait(resumed, [killed])
    assert f"resuming from {staging / 'checkpoints' / f'checkpoint-{step}'}" in log
    assert "checkpoint-999: incomplete checkpoint" in log
    _wait(reference, [clean])

    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean", "killed"]
    _complete_or_absent(killed)
    a = json.loads((clean / "metrics.json").read_text())
    b = json.loads((killed / "metrics.json").read_text())
    assert b["best_epoch"] == a["best_epoch"]
    assert [e["epoch"] for e in b["history"]] == [1, 2, 3]
    assert len(b["train_steps"]) == len(a["train_steps"]) == 3 * STEPS_PER_EPOCH
    for x, y in zip(a["train_steps"], b["train_steps"], strict=True):
        assert y["loss"] == pytest.approx(x["loss"], abs=1e-6), x["step"]
        assert y["learning_rate"] == pytest.approx(x["learning_rate"], rel=1e-9)
    for x, y in zip(a["history"], b["history"], strict=True):
        assert y["val_loss"] == pytest.approx(x["val_loss"], abs=1e-6)
        assert y["train_loss"] == pytest.approx(x["train_loss"], abs=1e-6)
    assert b["validation"]["loss"] == pytest.approx(a["validation"]["loss"], abs=1e-6)
    assert b["validation"]["confusion_matrix"] == a["validation"]["confusion_matrix"]


def _fake_checkpoint(staging: Path, step: int, *, state: str | None = None) -> Path:
    path = staging / "checkpoints" / f"checkpoint-{step}"
    path.mkdir(parents=True)
    for name in ("model.safetensors", "optimizer.pt", "scheduler.pt"):
        (path / name).write_bytes(b"x")
    text = json.dumps({"global_step": step}) if state is None else state
    (path / "trainer_state.json").write_text(text)
    return path


def test_latest_checkpoint_skips_half_written_ones(tmp_path):
    staging = tmp_path / "run.partial"
    _fake_checkpoint(staging, 10)
    _fake_checkpoint(staging, 20)
    _fake_checkpoint(staging, 30, state='{"global_step": 3')  # truncated by a kill
    _fake_checkpoint(staging, 40, state='{"global_step": 39}')  # not its own state
    (staging / "checkpoints" / "checkpoint-50").mkdir()  # killed before anything was written
    assert checkpoints.latest_checkpoint(staging).name == "checkpoint-20"
    checkpoints.discard_incomplete(staging)
    left = sorted(p.name for p in (staging / "checkpoints").iterdir())
    assert left == ["checkpoint-10", "checkpoint-20"]


def test_new_run_does_not_silently_discard_an_interrupted_one(tmp_path, tiny_config):
    out = tmp_path / "run"
    staging = checkpoints.start_staging(out, tiny_config, overwrite=False)
    assert TrainConfig.load(staging / "config.json") == tiny_config
    _fake_checkpoint(staging, 5)
    with pytest.raises(ConfigError, match="holds an interrupted run; continue it with --resume"):
        checkpoints.start_staging(out, tiny_config, overwrite=False)
    assert checkpoints.latest_checkpoint(staging) is not None
    checkpoints.start_staging(out, tiny_config, overwrite=True)
    assert checkpoints.latest_checkpoint(staging) is None


def test_resume_errors(tmp_path, tiny_config):
    out = tmp_path / "run"
    with pytest.raises(ConfigError, match="no interrupted run to resume"):
        checkpoints.interrupted_config(out)
    out.mkdir()
    (out / "metrics.json").write_text("{}")
    with pytest.raises(ConfigError, match="the run is complete; there is nothing to resume"):
        checkpoints.interrupted_config(out)
    checkpoints.staging_dir(out).mkdir()
    with pytest.raises(ConfigError, match="no config.json, so it cannot be resumed"):
        checkpoints.interrupted_config(out)


def test_resume_finishes_a_run_killed_just_before_the_rename(tmp_path, tiny_run):
    from tweetsent.training import resume

    out = tmp_path / "again"
    staging = checkpoints.staging_dir(out)
    tiny_run.rename(staging)  # everything written, only the rename missing
    result = resume(out, progress=False)
    assert result.run_dir == out and not staging.exists()
    assert (out / "model" / "model.safetensors").is_file()
    assert result.metrics["validation"]["labels"] == ["angry", "happy", "neutral"]


def test_step_checkpoints_skip_epoch_ends():
    from transformers import TrainerControl, TrainerState, TrainingArguments

    from tweetsent.training.callbacks import StepCheckpoints

    callback = StepCheckpoints(every=5)
    args = TrainingArguments(output_dir="unused", num_train_epochs=2, use_cpu=True, report_to=[])
    saved = []
    for step in range(1, 21):
        state = TrainerState(global_step=step, max_steps=20)
        control = callback.on_step_end(args, state, TrainerControl())
        if control.should_save:
            saved.append(step)
    assert saved == [5, 15]  # 10 and 20 end an epoch: Trainer saves them after evaluating


def _kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL a launcher and every process under it (torchrun's workers too)."""

    def children(pid: int) -> list[int]:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True)
        found = [int(p) for p in out.stdout.split()]
        return found + [c for p in found for c in children(p)]

    for pid in [proc.pid, *children(proc.pid)]:
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.kill(pid, signal.SIGKILL)
    proc.wait()


@pytest.mark.slow
def test_torchrun_run_killed_and_resumed_matches(tmp_path, train_argv, subprocess_env):
    torchrun = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
    ]
    popen = dict(env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    staging = checkpoints.staging_dir(killed)
    # 2 processes x batch 4: the same 10 steps per epoch as one process with batch 8.
    args = ["-m", "tweetsent", *train_argv(**KILLABLE, batch_size=4)]
    reference = subprocess.Popen([*torchrun, *args, "--out", str(clean)], **popen)
    victim = subprocess.Popen([*torchrun, *args, "--out", str(killed)], **popen)
    deadline = time.monotonic() + 300
    while True:
        _complete_or_absent(killed)
        latest = checkpoints.latest_checkpoint(staging)
        if latest and int(latest.name.split("-")[1]) > STEPS_PER_EPOCH:
            break
        assert victim.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    _kill_tree(victim)
    assert not killed.exists()
    resumed = subprocess.Popen(
        [*torchrun, "-m", "tweetsent", "train", "--resume", str(killed), "--no-progress"], **popen
    )
    assert f"resuming from {latest}" in _wait(resumed, [killed])
    _wait(reference, [clean])
    a = json.loads((clean / "metrics.json").read_text())
    b = json.loads((killed / "metrics.json").read_text())
    assert b["processes"] == 2
    for x, y in zip(a["train_steps"], b["train_steps"], strict=True):
        assert y["loss"] == pytest.approx(x["loss"], abs=1e-6), x["step"]
    assert b["validation"]["loss"] == pytest.approx(a["validation"]["loss"], abs=1e-6)


def test_a_run_in_progress_is_not_touched_by_a_second_process(tmp_path, tiny_config):
    from tweetsent.training import resume, train

    out = tmp_path / "run"
    holder = checkpoints.RunLock(out)  # stands for a training process that is still running
    holder.acquire()
    try:
        staging = checkpoints.start_staging(out, tiny_config, overwrite=False)
        _fake_checkpoint(staging, 7)
        with pytest.raises(ConfigError, match="another tweetsent process is training into it"):
            train(tiny_config, out, overwrite=True, progress=False)
        with pytest.raises(ConfigError, match="another tweetsent process is training into it"):
            resume(out, progress=False)
        assert checkpoints.latest_checkpoint(staging).name == "checkpoint-7"
    finally:
        holder.release()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.partial"]


def test_resume_refuses_changed_data(tmp_path, tiny_config, small_csv):
    from tweetsent.training import resume

    data = tmp_path / "data.csv"
    data.write_bytes(small_csv.read_bytes())
    tiny_config.data_path = str(data)
    out = tmp_path / "run"
    staging = checkpoints.start_staging(out, tiny_config, overwrite=False)
    assert json.loads((staging / "inputs.json").read_text()) == checkpoints.input_digests(
        tiny_config
    )
    with data.open("a") as handle:
        handle.write("one more tweet,happy\n")
    with pytest.raises(ConfigError, match="data.csv: changed since the run started"):
        resume(out, progress=False)


def test_a_run_directory_that_appears_meanwhile_is_not_replaced(tmp_path, tiny_config, tiny_run):
    # Another program (not tweetsent: tweetsent processes are kept out by the lock) creates
    # RUN_DIR while we train: the finished run stays in RUN_DIR.partial, theirs is untouched.
    out = tmp_path / "out"
    staging = checkpoints.start_staging(out, tiny_config, overwrite=False)
    out.mkdir()
    (out / "theirs.txt").write_text("theirs")
    with pytest.raises(ConfigError, match="not a tweetsent run directory"):
        checkpoints.finish(staging, out)
    assert (out / "theirs.txt").read_text() == "theirs"
    assert staging.is_dir()
    # A run started with --overwrite replaces a finished run, also after a resume.
    (out / "theirs.txt").unlink()
    out.rmdir()
    tiny_run.rename(out)
    staging = checkpoints.start_staging(out, tiny_config, overwrite=True)
    (staging / "marker").write_text("new")
    checkpoints.finish(staging, out)
    assert (out / "marker").read_text() == "new"
    assert not (out / ".replaces-run").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_lock_refuses_a_second_holder_and_leaves_no_file(tmp_path):
    from tweetsent.fileio import ExclusiveLock

    path = tmp_path / ".x.lock"
    first = ExclusiveLock(path, ConfigError("busy"))
    first.acquire()
    with pytest.raises(ConfigError, match="busy"):
        ExclusiveLock(path, ConfigError("busy")).acquire()
    first.release()
    with ExclusiveLock(path, ConfigError("busy")).held():
        assert path.exists()
    assert not path.exists()
