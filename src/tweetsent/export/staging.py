"""What every export format shares: the staged folder swapped into place, and config.json."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from tweetsent import fileio, rundir
from tweetsent.errors import disk_full_as_error
from tweetsent.modeling.ensemble import members_of
from tweetsent.rundir import RunDir


@contextlib.contextmanager
def staged_folder(run_dir: Path, name: str) -> Iterator[Path]:
    """A fresh ``RUN_DIR/.NAME.partial`` to write into; renamed to ``RUN_DIR/NAME`` when the
    block ends cleanly, removed when it fails, so a user never meets a half-written export."""
    # A full disk is reported while the staging folder still fills it, then removed.
    then = "nothing was left behind: free some space and run the same command again"
    busy = f"{run_dir}: another tweetsent process is exporting or training it; wait for it first"
    with (
        RunDir(run_dir).lock(busy).held(),  # two exports would share one staging folder
        fileio.atomic_dir(run_dir / name) as staging,
        disk_full_as_error(run_dir, "while exporting", then),
    ):
        yield staging


def write_export_config(folder: Path, model, settings: dict) -> None:
    """The model's config.json (``id2label`` included) with the export's ``settings`` under
    "tweetsent"; an ensemble's graph applies the members' temperatures itself."""
    config = dict(model.config.to_dict(), tweetsent=dict(settings))
    if len(members_of(model)) > 1:
        config.pop("tweetsent_temperature", None)
        config["tweetsent"]["ensemble"] = len(members_of(model))
    fileio.write_json(folder / rundir.CONFIG, config)
