"""What every export format shares: the staged folder swapped into place, and config.json."""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

from tweetsent import fileio
from tweetsent.errors import disk_full_as_error
from tweetsent.modeling.ensemble import members_of


@contextlib.contextmanager
def staged_folder(run_dir: Path, name: str) -> Iterator[Path]:
    """A fresh ``RUN_DIR/.NAME.partial`` to write into; renamed to ``RUN_DIR/NAME`` when the
    block ends cleanly, removed when it fails, so a user never meets a half-written export."""
    staging = run_dir / f".{name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        # A full disk is reported while the staging folder still fills it, then removed.
        then = "nothing was left behind: free some space and run the same command again"
        with disk_full_as_error(run_dir, "while exporting", then):
            yield staging
            fileio.swap_dir(staging, run_dir / name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_export_config(folder: Path, model, settings: dict) -> None:
    """The model's config.json (``id2label`` included) with the export's ``settings`` under
    "tweetsent"; an ensemble's graph applies the members' temperatures itself."""
    config = dict(model.config.to_dict(), tweetsent=dict(settings))
    if len(members_of(model)) > 1:
        config.pop("tweetsent_temperature", None)
        config["tweetsent"]["ensemble"] = len(members_of(model))
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n", "utf-8")
