"""Fine-tuning: data → stratified split → ``transformers.Trainer`` → a complete run directory.

The run is staged in ``RUN_DIR.partial`` and renamed into place only when everything is
written, so no reader ever sees a half-written run directory.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

from tweetsent.adapt import adapt_for_run, check_unlabelled
from tweetsent.config import TrainConfig
from tweetsent.data.prepare import prepare_data
from tweetsent.data.presets import resolve_data_config
from tweetsent.errors import ConfigError, DiskFullError, is_disk_full
from tweetsent.evaluation.report import write_plots, write_report
from tweetsent.hardware import device_type, resolve_precision
from tweetsent.modeling.loading import resolve_model
from tweetsent.rundir import RunDir
from tweetsent.training import checkpoints, distributed, hub
from tweetsent.training.ensemble import fit_ensemble
from tweetsent.training.schedule import resolve_schedule

logger = logging.getLogger(__name__)

_FINISHED = "finished"


@dataclass
class TrainResult:
    run_dir: Path
    metrics: dict
    config: TrainConfig


def train(
    config: TrainConfig,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    progress: bool = True,
) -> TrainResult:
    """Fine-tune ``config.model`` on ``config.data_path`` and write a run directory.

    Under ``torchrun`` every process calls this; only rank 0 writes files. The run is built in
    ``OUT.partial`` and renamed into place when complete.

    Args:
        config: the data and the recipe (``TrainConfig``; its defaults are the recipe).
        out_dir: the run directory to write.
        overwrite: replace an existing run tweetsent wrote there (never anything else).
        progress: show progress bars.

    Returns:
        The run's directory, metrics (as in its ``metrics.json``) and resolved config.

    Raises:
        ConfigError: a bad option, or ``out_dir`` exists and may not be replaced.
        DataError: the data cannot be read or has too little to train on.
        ModelError: the backbone cannot be loaded.

    Examples:
        >>> config = TrainConfig(data_path="smile.csv", data=DataConfig(preset="smile"))
        >>> train(config, "runs/smile").metrics["validation"]["f1_macro"]  # doctest: +SKIP
    """
    return _run(
        lambda: config, checkpoints.run_dir_path(out_dir), overwrite=overwrite, progress=progress
    )


def resume(out_dir: str | Path, *, progress: bool = True) -> TrainResult:
    """Continue the interrupted run at ``out_dir`` from its last checkpoint, with its settings.

    Args:
        out_dir: the run directory an interrupted ``train`` was writing.
        progress: show progress bars.

    Returns:
        The finished run, as :func:`train` returns it.

    Raises:
        ConfigError: nothing to resume there, or its data files changed since it started.
    """
    out = checkpoints.run_dir_path(out_dir)
    return _run(lambda: checkpoints.interrupted_config(out), out, progress=progress, resuming=True)


def _run(
    get_config, out: Path, *, overwrite: bool = False, progress: bool = True, resuming=False
) -> TrainResult:
    if distributed.is_distributed():
        distributed.init(cpu=device_type() == "cpu")
    staging = checkpoints.staging_dir(out)
    lock = checkpoints.RunLock(out)
    loaded: list = []

    def plan() -> tuple[dict, str | None]:
        """Rank 0: check everything, then create or inspect RUN_DIR.partial."""
        config = get_config() if resuming else get_config().with_absolute_paths()
        resolve_precision(config.precision)  # e.g. --fp16 without a GPU: fail before any file
        check_report_to(config.report_to)
        check_adaptation(config)
        resolve_model(config.model)  # a missing folder, or an unreachable hub: said at once
        # The lock first, then the checks: another process cannot slip in between them.
        lock.acquire()  # held until this function's end: one process per run directory
        if not resuming:
            checkpoints.check_data_outside(out, config)  # the more precise of the two refusals
            checkpoints.check_out_dir(out, overwrite)
        config.data = resolve_data_config(config.data)
        loaded.extend(prepare_data(config))
        config = resolve_schedule(config, len(loaded[0]), distributed.world_size())
        if not resuming:
            checkpoints.start_staging(out, config, overwrite=overwrite)
            return config.to_dict(), None
        if checkpoints.is_finished(staging):
            return config.to_dict(), _FINISHED
        checkpoints.check_inputs(out, config)
        if config.ensemble > 1:  # each member resumes on its own (training.ensemble)
            return config.to_dict(), None
        point = checkpoints.resume_point(out)
        return config.to_dict(), str(point) if point else None

    try:
        return _train_and_write(plan, loaded, out, staging, progress)
    finally:
        lock.release()


def _train_and_write(plan, loaded: list, out: Path, staging: Path, progress: bool) -> TrainResult:
    """Rank 0 plans (see ``_run``); every rank trains; rank 0 writes and renames."""
    # Every rank derives the same staging path; rank 0 alone prepares it, the others follow.
    config_values, resume_from = distributed.on_main(plan)
    # Imported only now: torch and transformers take seconds, and a bad option or data file is
    # reported by plan() above without them.
    from tweetsent.training.baseline import baseline_metrics
    from tweetsent.training.fit import fit  # torch, transformers: seconds; only when used

    config = TrainConfig.from_dict(config_values)
    if resume_from == _FINISHED:  # killed between the last write and the rename
        distributed.on_main(lambda: checkpoints.finish(staging, out))
        return TrainResult(out, RunDir(out).read_metrics(), config)
    train_data, val_data = loaded or prepare_data(config)
    progress = progress and distributed.is_main()
    with _cleaned_up_on_failure(staging, out, main=distributed.is_main()):
        backbone, adaptation = None, None
        if config.adapt:
            backbone, adaptation = adapt_for_run(config, val_data.texts, staging, progress=progress)
        if config.ensemble > 1:
            metrics = fit_ensemble(
                config, train_data, val_data, staging, progress=progress, backbone=backbone
            )
        else:
            metrics = fit(
                config,
                train_data,
                val_data,
                staging,
                progress=progress,
                resume_from=resume_from,
                backbone=backbone,
            )
        if adaptation:
            metrics["adapt"] = adaptation

    def write() -> None:
        metrics["baseline"] = baseline_metrics(train_data, val_data, config)
        with _cleaned_up_on_failure(staging, out):
            # The one write of metrics.json; is_finished() needs it and report.md, both below.
            RunDir(staging).write_metrics(metrics)
            write_plots(metrics, staging)
            write_report(metrics, config, staging)
            hub.publish(RunDir(staging).model, metrics, config)
            checkpoints.finish(staging, out)
        logger.debug("run written to %s", out)  # the CLI prints it, once

    distributed.on_main(write)  # every rank returns once RUN_DIR is in place
    return TrainResult(out, metrics, config)


@contextlib.contextmanager
def _cleaned_up_on_failure(staging: Path, out: Path, *, main: bool = True):
    """After a failure: the staging folder kept if it can be resumed, else removed; a full disk
    becomes one line saying whether to resume or to run the command again."""
    try:
        yield
    except BaseException as exc:
        full = is_disk_full(exc, staging.parent)  # before the clean-up frees the space again
        if main:
            checkpoints.keep_or_remove(staging, out)
        if not full:
            raise
        then = (
            f"then continue with: tweetsent train --resume {out}"
            if checkpoints.can_resume(staging)
            else "then run the same command again"
        )
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise DiskFullError(
            f"{staging.parent}: no space left on device while writing the run ({reason}); "
            f"free some space, {then}"
        ) from exc


def check_adaptation(config: TrainConfig) -> None:
    """``--adapt`` options that cannot work, refused before any file is written."""
    if not config.adapt:
        if config.unlabelled:
            raise ConfigError("--unlabelled FILE is adaptation data: add --adapt")
        return
    if distributed.is_distributed():
        raise ConfigError(
            "--adapt under torchrun: adapt first (tweetsent adapt DATA --out DIR), then "
            "train with --model DIR"
        )
    check_unlabelled(config)


# --report-to: what Trainer's integration imports, and the extra that installs it
INTEGRATIONS = {
    "tensorboard": (("tensorboard", "tensorboardX"), "tensorboard"),
    "mlflow": (("mlflow",), "mlflow"),
}


def check_report_to(report_to: str) -> None:
    """An actionable error before training when the integration's package is missing
    (transformers would only warn, or fail after the first epoch)."""
    import importlib.util

    if report_to not in INTEGRATIONS:
        return
    modules, extra = INTEGRATIONS[report_to]
    if not any(importlib.util.find_spec(m) for m in modules):
        raise ConfigError(
            f"--report-to {report_to} needs the {modules[0]} package: "
            f"pip install 'tweetsent[{extra}]'"
        )


__all__ = ["TrainResult", "check_adaptation", "check_report_to", "resume", "train"]
