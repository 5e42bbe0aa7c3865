"""Resumable runs: the staging directory, choosing the checkpoint to resume, step checkpoints.

A run is built in ``RUN_DIR.partial`` and renamed to ``RUN_DIR`` only when complete, so
``RUN_DIR`` is at every moment either absent or complete. ``transformers.Trainer`` writes the
checkpoints into ``RUN_DIR.partial/checkpoints/checkpoint-STEP`` (weights, optimizer, scheduler,
RNG states, and ``trainer_state.json`` with epoch, step, logs and the best checkpoint so far) and
resumes from one. This module adds what Trainer leaves to its caller: which checkpoint is
complete after a kill, the saved config to resume with, checkpoints every N steps alongside the
per-epoch ones, and a data order that does not depend on where a run was resumed.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from tweetsent import checkpoint_files, fileio, rundir
from tweetsent.adapt import has_progress as adaptation_progress
from tweetsent.config import TrainConfig
from tweetsent.errors import ConfigError
from tweetsent.rundir import RunDir

logger = logging.getLogger(__name__)

CHECKPOINTS = rundir.CHECKPOINTS
# --ensemble K: RUN_DIR.partial/members/member-N holds member N's own checkpoints, model and
# metrics.json (its "done" mark) while the run trains; finish() removes the folder.
MEMBERS = rundir.MEMBERS
# Which of Trainer's checkpoints is complete: rundir's (the adaptation's checkpoints use it too).
is_complete = checkpoint_files.is_complete_checkpoint
latest_checkpoint = checkpoint_files.latest_checkpoint
_checkpoint_dirs = checkpoint_files.checkpoint_dirs


def staging_dir(out: Path) -> Path:
    """Where the run at ``out`` is built; every rank derives the same path from ``out`` alone."""
    return RunDir(out).staging.path


def discard_incomplete(staging: Path) -> None:
    """Remove checkpoint folders a kill left half-written (rank 0 only, before resuming)."""
    for path in _checkpoint_dirs(staging):
        if not is_complete(path):
            logger.warning("%s: incomplete checkpoint (interrupted while saving), removed", path)
            shutil.rmtree(path, ignore_errors=True)


def is_finished(staging: Path) -> bool:
    """Everything was written and only the final rename was missing when the run stopped."""
    run = RunDir(staging)
    return (
        run.report.is_file()
        and run.is_run()
        and not (staging / CHECKPOINTS).exists()
        and not (staging / MEMBERS).exists()
        and not run.adapted.exists()
    )


def start_staging(out: Path, config: TrainConfig, *, overwrite: bool) -> Path:
    """Create a fresh ``RUN_DIR.partial`` holding ``config.json`` (the settings to resume with).

    An interrupted run there is kept unless ``overwrite``: it may be hours of training.
    """
    staged = RunDir(out).staging
    staging = staged.path
    if staging.exists():
        staged.check_staging_is_ours()  # a folder of that name a person made is never deleted
        if _has_progress(staging) and not overwrite:
            raise ConfigError(
                f"{staging}: holds an interrupted run; continue it with --resume {out} "
                "or pass --overwrite to start over"
            )
        shutil.rmtree(staging)
    staged.start_staging()
    if overwrite and out.exists():  # so that a resumed run still may replace the old one
        (staging / _REPLACES).touch()
    staged.write_config(config)
    staged.write_inputs(input_digests(config))
    return staging


_REPLACES = rundir.REPLACES


def input_digests(config: TrainConfig) -> dict[str, str]:
    paths = (config.data_path, config.val_file)
    return {str(path): fileio.content_digest(path) for path in paths if path}


def check_inputs(out: Path, config: TrainConfig) -> None:
    """Refuse to resume on data files that changed since the run started.

    The split and the batches already trained on come from the data; resuming on other rows
    would silently mix two data sets in one model.
    """
    saved = RunDir(out).staging.read_inputs()
    if not saved:
        return
    for path, digest in input_digests(config).items():
        if saved.get(path) not in (None, digest):
            raise ConfigError(
                f"{path}: changed since the run started, so resuming would train on other data; "
                f"restore the file or start over with --overwrite"
            )


def interrupted_config(out: Path) -> TrainConfig:
    """The saved settings of the interrupted run at ``out`` (``RUN_DIR.partial/config.json``)."""
    run = RunDir(out)
    staging = run.staging.path
    if not staging.is_dir():
        if run.metrics_file.is_file():
            raise ConfigError(f"{out}: the run is complete; there is nothing to resume")
        raise ConfigError(f"{out}: no interrupted run to resume ({staging} not found)")
    config_file = run.staging.config_file
    if not config_file.is_file():
        raise ConfigError(
            f"{staging}: no config.json, so it cannot be resumed; start over with --overwrite"
        )
    return TrainConfig.load(config_file)


def resume_point(out: Path) -> Path | None:
    """Rank 0's preparation for resuming: drop half-written and corrupt checkpoints, pick the
    latest that reads back."""
    return resume_point_in(staging_dir(out))


def resume_point_in(staging: Path) -> Path | None:
    """:func:`resume_point` of a staging folder (a run's, or an ensemble member's)."""
    discard_incomplete(staging)
    checkpoint = latest_checkpoint(staging)
    while checkpoint is not None and (problem := damage(checkpoint)) is not None:
        logger.warning("%s: corrupt checkpoint (%s), skipped and removed", checkpoint, problem)
        shutil.rmtree(checkpoint, ignore_errors=True)
        checkpoint = latest_checkpoint(staging)
    if checkpoint is None:
        logger.warning("%s: no complete checkpoint yet; training starts over", staging)
    else:
        logger.info("resuming from %s", checkpoint)
    return checkpoint


def damage(checkpoint: Path) -> str | None:
    """Why a complete-looking checkpoint would not load (a file damaged after it was written),
    or None. Checked without unpickling anything: the safetensors header and sizes, and the
    CRC of every member of torch.save's zip archives (optimizer, scheduler, RNG states)."""
    import zipfile

    from safetensors import safe_open

    try:
        with safe_open(str(checkpoint / "model.safetensors"), framework="pt") as weights:
            weights.keys()
    except Exception as exc:  # safetensors raises its own SafetensorError for a bad file
        return f"model.safetensors: {str(exc).strip().splitlines()[0][:120] or type(exc).__name__}"
    for path in sorted([*checkpoint.glob("*.pt"), *checkpoint.glob("*.pth")]):
        try:
            with zipfile.ZipFile(path) as archive:
                bad = archive.testzip()
        except (OSError, zipfile.BadZipFile, EOFError, ValueError) as exc:
            return f"{path.name}: {exc or type(exc).__name__}"
        if bad is not None:
            return f"{path.name}: damaged member {bad}"
    return None


def member_dirs(staging: Path) -> list[Path]:
    """The ensemble members' folders of a staging directory, in member order."""
    folder = staging / MEMBERS
    found = folder.glob("member-*") if folder.is_dir() else []
    numbered = [p for p in found if p.name.removeprefix("member-").isdigit()]
    return sorted(numbered, key=lambda p: int(p.name.removeprefix("member-")))


def _has_progress(staging: Path) -> bool:
    """A checkpoint, an ensemble member with a checkpoint or finished, or an adaptation
    (``--adapt``) finished or with a checkpoint: work to keep."""
    return (
        latest_checkpoint(staging) is not None
        or adaptation_progress(RunDir(staging).adapted)
        or any(
            RunDir(m).metrics_file.is_file() or latest_checkpoint(m) is not None
            for m in member_dirs(staging)
        )
    )


def can_resume(staging: Path) -> bool:
    return staging.is_dir() and (_has_progress(staging) or is_finished(staging))


def finish(staging: Path, out: Path, *, overwrite: bool = False) -> None:
    """Drop the checkpoints and rename the complete staging directory into place.

    The checkpoints go only now, so a kill during the final writes still resumes from them.
    ``out`` is checked again (the lock keeps other tweetsent processes out, not other
    programs): an existing run is replaced only with ``overwrite``, anything else never, and
    the finished run then stays in ``RUN_DIR.partial``.
    """
    replaces = staging / _REPLACES
    check_out_dir(out, overwrite or replaces.exists())
    shutil.rmtree(staging / CHECKPOINTS, ignore_errors=True)
    shutil.rmtree(staging / MEMBERS, ignore_errors=True)
    shutil.rmtree(RunDir(staging).adapted, ignore_errors=True)  # the report is in metrics.json
    shutil.rmtree(RunDir(RunDir(staging).adapted).staging.path, ignore_errors=True)
    replaces.unlink(missing_ok=True)
    (staging / rundir.STAGING_MARKER).unlink(missing_ok=True)
    RunDir(staging).mark()
    fileio.swap_dir(staging, out)


def keep_or_remove(staging: Path, out: Path) -> None:
    """After a failure: keep a resumable staging directory, remove one with nothing to resume.

    What the failure left half-written goes either way: an unfinished checkpoint folder, and
    the temporary files of writes that did not complete (a full disk).
    """
    if can_resume(staging):
        discard_incomplete(staging)
        fileio.remove_temporaries(staging)
        logger.warning("kept %s; continue it with: tweetsent train --resume %s", staging, out)
    else:
        shutil.rmtree(staging, ignore_errors=True)


def run_dir_path(out_dir: str | Path) -> Path:
    """``out_dir`` as a path with a name (``.`` becomes the current folder's absolute path)."""
    return RunDir(out_dir).path


def check_data_outside(out: Path, config: TrainConfig) -> None:
    """Refuse a run directory that holds the data: replacing it would delete the data."""
    RunDir(out).check_holds_none_of((config.data_path, config.val_file))


def check_out_dir(out: Path, overwrite: bool) -> None:
    """``out`` may be created, or replaced with ``overwrite`` when it is a finished run."""
    RunDir(out).check_new_or_replaceable(overwrite=overwrite)


def RunLock(out: Path) -> fileio.Lock:  # noqa: N802 - reads as the class it returns
    """An advisory lock on ``RUN_DIR`` (``.RUN_DIR.lock`` beside it) while a process trains.

    A repeated command, or a ``--resume`` of a run that is in fact still going, then stops
    with an error instead of deleting or writing into the live run's staging directory.
    """
    return RunDir(out).lock(
        f"{out}: another tweetsent process is training into it; "
        "wait for it to finish or stop it first"
    )


def trainer_args(config: TrainConfig) -> dict:
    """``TrainingArguments`` that make a run resumable."""
    return {
        # Early stopping's patience count travels in the checkpoints (an ExportableState).
        "restore_callback_states_from_checkpoint": True,
    }


def callbacks(config: TrainConfig) -> list:
    # Imported here: transformers costs seconds, and the checks above run before any training.
    from tweetsent.training.callbacks import EpochSeed, StepCheckpoints

    found: list = [EpochSeed(config.seed)]
    if config.save_steps:
        found.append(StepCheckpoints(config.save_steps))
    return found


__all__ = [
    "RunLock",
    "callbacks",
    "can_resume",
    "finish",
    "keep_or_remove",
    "interrupted_config",
    "is_complete",
    "is_finished",
    "latest_checkpoint",
    "member_dirs",
    "resume_point",
    "resume_point_in",
    "staging_dir",
    "start_staging",
]
