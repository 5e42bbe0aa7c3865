"""A batch prediction's output while it is written: the hidden partial file and its progress
record beside the output, committed chunk by chunk, so a killed run resumes where it stopped."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path

import pandas as pd

from tweetsent import fileio
from tweetsent.errors import DataError

logger = logging.getLogger(__name__)

# 2: predicted labels escaped against spreadsheet formulas; 3: shards split rows, not chunks
STATE_VERSION = 3


class PartialOutput:
    """The hidden partial output and its progress sidecar, beside the output file."""

    def __init__(self, target: Path):
        self.target = target
        self.partial = target.with_name(f".{target.name}.partial")
        self.state_file = target.with_name(f".{target.name}.progress.json")
        self.lock_file = target.with_name(f".{target.name}.lock")

    def locked(self):
        """One writer per output: a second process is refused rather than corrupting it."""
        return fileio.Lock(
            self.lock_file,
            DataError(f"{self.target}: another 'tweetsent predict' is writing it right now"),
        ).held()

    def load(self, signature: str) -> dict | None:
        """The committed state of an earlier run with this signature, or None to start over."""
        if not self.state_file.exists():
            if self.partial.exists():
                logger.info("%s: discarding a partial output with no progress record", self.target)
            return None
        try:
            state = json.loads(self.state_file.read_text(encoding="utf-8"))
            usable = state["version"] == STATE_VERSION and self.partial.is_file()
            usable = usable and self.partial.stat().st_size >= state["bytes"]
        except (OSError, ValueError, KeyError, TypeError):
            usable = False
        if not usable:
            logger.warning("%s: unreadable earlier progress; starting over", self.target)
            return None
        if state["signature"] != signature:
            logger.warning(
                "%s: earlier partial output was made from another input, model or options; "
                "starting over",
                self.target,
            )
            return None
        return state

    def begin(self, state: dict) -> None:
        header = pd.DataFrame(columns=state["columns"]).to_csv(index=False).encode("utf-8")
        with self.partial.open("wb") as out:
            out.write(header)
            out.flush()
            os.fsync(out.fileno())
        state["bytes"] = len(header)
        self.commit(state)

    @contextlib.contextmanager
    def appender(self, committed: int):
        with self.partial.open("r+b") as out:
            # Bytes past the last commit belong to a chunk cut short by the kill: drop them.
            out.truncate(committed)
            out.seek(committed)
            yield out

    def commit(self, state: dict) -> None:
        fileio.write_json(self.state_file, state)

    def finish(self) -> None:
        fileio.move(self.partial, fileio.check_output_file(self.target))
        _fsync_dir(self.target.parent)
        self.state_file.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


__all__ = ["STATE_VERSION", "PartialOutput"]
