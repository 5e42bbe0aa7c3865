"""Which of ``transformers.Trainer``'s checkpoints in a staging folder is complete: for a run
(``training.checkpoints``) and for an adaptation (``tweetsent.adapt``) alike."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tweetsent.rundir import CHECKPOINTS

# Trainer's checkpoints (in a run's or an adaptation's staging folder): which are complete.
_CHECKPOINT_NAME = re.compile(r"^checkpoint-(\d+)$")
# Trainer writes these before trainer_state.json, which comes last (see is_complete_checkpoint).
_CHECKPOINT_FILES = ("model.safetensors", "optimizer.pt", "scheduler.pt")


def is_complete_checkpoint(checkpoint: Path) -> bool:
    """True when a checkpoint folder was fully written.

    Trainer writes a checkpoint in place, in a fixed order: weights, optimizer, scheduler,
    RNG states, then ``trainer_state.json``. A kill part-way leaves the state file missing or
    truncated, so a folder counts only with a parseable state file for its own step.
    """
    match = _CHECKPOINT_NAME.match(checkpoint.name)
    if not match or not checkpoint.is_dir():
        return False
    try:
        state = json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(state, dict) or state.get("global_step") != int(match.group(1)):
        return False
    return all((checkpoint / name).is_file() for name in _CHECKPOINT_FILES)


def checkpoint_dirs(staging: Path) -> list[Path]:
    """Trainer's ``checkpoint-STEP`` folders of a staging folder, by step."""
    folder = staging / CHECKPOINTS
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if _CHECKPOINT_NAME.match(p.name)]
    return sorted(found, key=lambda p: int(_CHECKPOINT_NAME.match(p.name).group(1)))


def latest_checkpoint(staging: Path) -> Path | None:
    """The complete checkpoint with the highest step, or None."""
    complete = [p for p in checkpoint_dirs(staging) if is_complete_checkpoint(p)]
    return complete[-1] if complete else None


__all__ = ["checkpoint_dirs", "is_complete_checkpoint", "latest_checkpoint"]
