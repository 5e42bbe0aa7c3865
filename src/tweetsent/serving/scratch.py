"""Where uploads live while they are labelled: one folder per server process (its PID in the
name), removed when the server stops; the folder of a server that was killed is removed by the
next one to start."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

# Every upload's folder lies in one folder per server process, removed when it stops; one left
# by a server that was killed (SIGKILL: no clean-up runs) is removed by the next server to start.
UPLOAD_ROOT_PREFIX = "tweetsent-uploads-"


def make_upload_root() -> Path:
    """This process's folder for uploads (its PID in the name), after removing the folders of
    servers that are no longer running."""
    tmp = Path(tempfile.gettempdir())
    for stale in tmp.glob(f"{UPLOAD_ROOT_PREFIX}*"):
        pid = stale.name.removeprefix(UPLOAD_ROOT_PREFIX).split("-")[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _running(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{UPLOAD_ROOT_PREFIX}{os.getpid()}-"))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


__all__ = ["UPLOAD_ROOT_PREFIX", "make_upload_root"]
