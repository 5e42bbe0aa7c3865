"""``tweetsent adapt``: continued pretraining of a backbone on the user's unlabelled tweets.

Task-adaptive pretraining (Gururangan et al., "Don't Stop Pretraining", ACL 2020): before
fine-tuning, the encoder trains a little more on the task's own texts with a self-supervised
objective. The result is a backbone folder (``save_pretrained``) that ``train --model DIR``
takes, holding its report (``adapt.json``), loss plot, settings (``adapt_config.json``) and a
model card that says where it came from.

It is built in ``OUT.partial`` (with Trainer's checkpoints) and renamed into place when done;
a killed adaptation continues from its last checkpoint when the same command runs again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from tweetsent import fileio
from tweetsent.adapt.config import AdaptConfig
from tweetsent.adapt.report import build_report, write_backbone
from tweetsent.checkpoint_files import latest_checkpoint
from tweetsent.data.duplicates import duplicate_key
from tweetsent.data.lookalike import is_blank
from tweetsent.data.normalize import clean_tweet
from tweetsent.data.presets import resolve_data_config
from tweetsent.data.reading import load_texts
from tweetsent.errors import ConfigError, DataError
from tweetsent.hardware import device_type, resolve_precision
from tweetsent.modeling.loading import resolve_model
from tweetsent.rundir import CONFIG, RunDir

logger = logging.getLogger(__name__)

# auto epochs: about this many tweets seen in all, in 1 to 10 passes. 10,000 tweets of one
# pass take minutes on two CPU cores, and keep adapt + fine-tune within twice the fine-tune.
AUTO_TWEETS_SEEN = 10_000
MAX_AUTO_EPOCHS = 10


@dataclass
class AdaptResult:
    """What :func:`adapt` wrote: the backbone folder and its report (``adapt.json``)."""

    path: Path
    report: dict


def adapt(
    config: AdaptConfig, out_dir: str | Path, *, overwrite: bool = False, progress: bool = True
) -> AdaptResult:
    """Continue pretraining ``config.model`` on the tweets of ``config.data_paths``.

    The files are read as ``train`` reads them (format, encoding, column options; labels are
    ignored), normalised as the classifier will see them, and stripped of empty texts and
    duplicates.

    Args:
        config: the files, the backbone and the recipe.
        out_dir: the backbone folder to write (``train --model OUT_DIR`` takes it).
        overwrite: replace an adapted backbone tweetsent wrote there (never anything else).
        progress: show a progress bar.

    Returns:
        The folder and its report: tweets, steps, loss curve, probe loss before and after, time.

    Raises:
        ConfigError: a bad option, or ``out_dir`` exists and may not be replaced.
        DataError: a file cannot be read, or holds no tweets.
        ModelError: the backbone cannot be loaded.

    Examples:
        >>> config = AdaptConfig(data_paths=["tweets.csv"], data=DataConfig(text_col="text"))
        >>> adapt(config, "backbones/tweets").report["tweets"]  # doctest: +SKIP
    """
    if not config.data_paths:
        raise ConfigError("no tweets given: name one or more files to adapt on")
    out = RunDir(out_dir).path
    check_out(out, overwrite)
    RunDir(out).check_holds_none_of(config.data_paths)  # replacing it would delete them
    precision = resolve_precision(config.precision)
    _check_device(config)
    with RunDir(out).lock(f"{out}: another tweetsent process is adapting into it").held():
        texts, sources = read_texts(config.data_paths, config)
        report = adapt_texts(
            texts,
            config,
            out,
            sources=sources,
            precision=precision,
            progress=progress,
            overwrite=overwrite,
        )
    return AdaptResult(out, report)


def check_out(out: Path, overwrite: bool) -> None:
    """``out`` may be created, or replaced with ``overwrite`` when it is an adapted backbone."""
    fileio.check_output_dir(
        out,
        overwrite=overwrite,
        markers=(RunDir(out).adapt_report.name, CONFIG),
        what="adapted backbone",
    )
    RunDir(out).staging.check_staging_is_ours()


def _check_device(config: AdaptConfig) -> None:
    if config.device == "cuda" and device_type() != "cuda":
        raise ConfigError("--device cuda: no CUDA GPU is visible; use --device cpu or auto")


def read_texts(
    paths, config: AdaptConfig, *, held_out: set[str] = frozenset()
) -> tuple[list[str], list[dict]]:
    """The distinct, non-empty, normalised tweets of ``paths``, in file order, without any of
    ``held_out`` (normalised texts that must not be trained on: a run's validation tweets).

    Returns:
        The texts, and per file: path, SHA-256, rows read, tweets kept.

    Raises:
        DataError: a file cannot be read, or none of them holds a tweet to adapt on.
    """
    data_config = resolve_data_config(config.data)
    seen: set[str] = set()
    texts: list[str] = []
    sources = []
    for path in paths:
        rows = load_texts(path, data_config)
        kept = 0
        counts = {"empty": 0, "duplicate": 0, "held_out": 0}
        for raw in rows:
            text = clean_tweet(raw, normalize=config.normalize, demojize_emoji=config.demojize)
            # Copies differ by case, mentions and links: the uncased model sees one tweet.
            key = duplicate_key(text) or text
            reason = (
                "empty"
                if is_blank(text)
                else "held_out"
                if text in held_out
                else "duplicate"
                if key in seen
                else None
            )
            if reason:
                counts[reason] += 1
                continue
            seen.add(key)
            texts.append(text)
            kept += 1
        sources.append(
            {
                "path": str(path),
                "sha256": _digest(path),
                "rows": len(rows),
                "tweets": kept,
                "dropped": {k: v for k, v in counts.items() if v},
            }
        )
        logger.info("%s: %d tweets of %d rows", path, kept, len(rows))
    if not texts:
        raise DataError(
            f"{', '.join(map(str, paths))}: no tweets to adapt on (all empty or held out)"
        )
    return texts, sources


def auto_epochs(tweets: int) -> int:
    return max(1, min(MAX_AUTO_EPOCHS, round(AUTO_TWEETS_SEEN / tweets)))


def adapt_texts(
    texts: list[str],
    config: AdaptConfig,
    out: Path,
    *,
    sources: list[dict],
    precision: str,
    progress: bool = True,
    overwrite: bool = False,
) -> dict:
    """Adapt on ``texts`` into the backbone folder ``out``, resuming an interrupted attempt with
    the same settings and texts; returns the report. The caller holds ``out``'s lock."""
    name = resolve_model(config.model)
    # torch and transformers: seconds to import, so only once the options and data are good.
    from tweetsent.adapt.objectives import fit_backbone

    staged = RunDir(out).staging
    staging = staged.path
    epochs = config.epochs if config.epochs != "auto" else auto_epochs(len(texts))
    plan = {"config": config.to_dict(), "texts_sha256": _texts_digest(texts), "epochs": epochs}
    resume_from = _start_or_resume(staged, plan, overwrite=overwrite)
    logger.info(
        "adapting %s on %d tweets (%s, %d epoch(s), %s)",
        name,
        len(texts),
        config.objective,
        epochs,
        precision,
    )
    try:
        model, tokenizer, figures = fit_backbone(
            name,
            texts,
            config,
            staging,
            epochs=epochs,
            precision=precision,
            resume_from=resume_from,
            progress=progress,
        )
        report = build_report(config, name, texts, sources, figures)
        write_backbone(model, tokenizer, staging, config, report)
        shutil.rmtree(RunDir(staging).checkpoints, ignore_errors=True)
        (staging / fileio.STAGED_MARKER).unlink()
        fileio.swap_dir(staging, out)
    except BaseException:
        if latest_checkpoint(staging) is None:
            shutil.rmtree(staging, ignore_errors=True)
        else:
            fileio.remove_temporaries(staging)
            logger.warning("kept %s; run the same command again to continue from it", staging)
        raise
    return report


def _start_or_resume(staged: RunDir, plan: dict, *, overwrite: bool) -> Path | None:
    """A fresh ``OUT.partial`` holding the plan; or, when one holds the same plan and a
    checkpoint, that checkpoint to resume from."""
    staging = staged.path
    plan_file = staged.adapt_config_file
    if staging.exists():
        staged.check_staging_is_ours()
        checkpoint = latest_checkpoint(staging)
        same = plan_file.is_file() and _read_json(plan_file) == json.loads(json.dumps(plan))
        if checkpoint is not None and same:
            logger.info("resuming the adaptation from %s", checkpoint)
            return checkpoint
        if checkpoint is not None and not overwrite:
            raise ConfigError(
                f"{staging}: holds an interrupted adaptation with other settings or tweets; "
                "run it with those, or pass --overwrite to start over"
            )
        shutil.rmtree(staging)
    staged.start_staging()
    fileio.write_json(plan_file, plan)
    return None


def has_progress(out: Path) -> bool:
    """An adapted backbone at ``out``, or an interrupted adaptation with a checkpoint."""
    return (
        RunDir(out).adapt_report.is_file()
        or latest_checkpoint(RunDir(out).staging.path) is not None
    )


def _digest(path) -> str | None:
    return fileio.content_digest(path) if Path(path).is_file() else None


def _texts_digest(texts: list[str]) -> str:
    h = hashlib.sha256()
    for text in texts:
        h.update(text.encode("utf-8") + b"\0")
    return h.hexdigest()


def _read_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


__all__ = ["AdaptResult", "adapt", "adapt_texts", "auto_epochs", "has_progress", "read_texts"]
