"""``train --adapt``: the adaptation step of a training run, before its fine-tuning.

The run adapts on its training file's own texts (every row, labelled or not, except the
validation tweets) and on any ``--unlabelled`` files, into ``RUN_DIR.partial/adapted``; the
fine-tuning then starts from that backbone. A killed run resumes the adaptation where it
stopped, or skips it when it had finished. Validation tweets never reach the adaptation: they
choose the best epoch and calibrate, so training on them (even without labels) would flatter
the scores. A ``--unlabelled`` file with the validation file's bytes is refused outright.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from tweetsent import fileio
from tweetsent.adapt.config import AdaptConfig
from tweetsent.adapt.core import adapt_texts, read_texts
from tweetsent.config import TrainConfig
from tweetsent.errors import ConfigError
from tweetsent.hardware import resolve_precision
from tweetsent.rundir import RunDir

logger = logging.getLogger(__name__)


def adaptation_config(config: TrainConfig) -> AdaptConfig:
    """The adaptation a run with ``config`` does: its backbone, normalisation, length, seed."""
    return AdaptConfig(
        data_paths=[p for p in (config.data_path, *config.unlabelled) if p],
        data=config.data,
        model=config.model,
        objective=config.adapt_objective,
        epochs=config.adapt_epochs,
        head_warmup=config.adapt_head_warmup,
        max_length=config.max_length,
        normalize=config.normalize,
        demojize=config.demojize,
        seed=config.seed,
        precision=config.precision,
        allow_pickle=config.allow_pickle,
    )


def check_unlabelled(config: TrainConfig) -> None:
    """Refuse adaptation files that are the run's validation data (the same bytes).

    Raises:
        ConfigError: an ``--unlabelled`` file holds the validation file's bytes.
    """
    if not config.val_file or not Path(config.val_file).is_file():
        return
    held_out = fileio.content_digest(config.val_file)
    for path in config.unlabelled:
        if Path(path).is_file() and fileio.content_digest(path) == held_out:
            raise ConfigError(
                f"{path}: holds the validation file's tweets ({config.val_file}); a run never "
                "adapts on its validation texts, so drop it from --unlabelled"
            )


def adapt_for_run(
    config: TrainConfig, val_texts: list[str], staging: Path, *, progress: bool
) -> tuple[Path, dict]:
    """Adapt the run's backbone (or find it adapted) in ``staging``.

    Args:
        config: the run's config (``adapt`` on).
        val_texts: the run's validation tweets, as cleaned for training: never adapted on.
        staging: the run's ``RUN_DIR.partial``.
        progress: show a progress bar.

    Returns:
        The adapted backbone's folder and its report.
    """
    out = RunDir(staging).adapted
    report_file = RunDir(out).adapt_report
    if not report_file.is_file():
        check_unlabelled(config)
        adapt_config = adaptation_config(config)
        texts, sources = read_texts(adapt_config.data_paths, adapt_config, held_out=set(val_texts))
        adapt_texts(
            texts,
            adapt_config,
            out,
            sources=sources,
            precision=resolve_precision(config.precision),
            progress=progress,
        )
    else:
        logger.info("%s: adapted already; fine-tuning it", out)
    return out, json.loads(report_file.read_text(encoding="utf-8"))


__all__ = ["adapt_for_run", "adaptation_config", "check_unlabelled"]
