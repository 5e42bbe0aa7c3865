"""Files and directories that no reader ever sees half-written, and one-writer locks.

One place for these jobs, so every output of tweetsent follows the same rules: a file is
written under a hidden temporary name beside its target and renamed into place; a directory is
built under a staging name and swapped in; an existing target that tweetsent did not write
(a device node, a folder of the user's files) is refused, never replaced.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
from pathlib import Path

from tweetsent.errors import ConfigError, TweetsentError

logger = logging.getLogger(__name__)


def _kind(mode: int) -> str:
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


def check_output_file(path: str | Path) -> Path:
    """The path an output file may be written to: absent, or an existing regular file.

    Anything else (a directory, ``/dev/null``, a pipe) would be replaced by our rename, or
    written half through a stream that cannot be resumed, so it is refused with one line.
    """
    path = Path(path)
    if not path.name or path.name in (".", ".."):
        raise ConfigError(f"{path}: needs a file name")
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if not path.parent.is_dir():
            raise ConfigError(f"{path.parent}: output folder not found") from None
        return path
    if not stat.S_ISREG(mode):
        raise ConfigError(f"{path}: is {_kind(mode)}; the output must be a regular file name")
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it, then rename."""
    path = check_output_file(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def swap_dir(staging: Path, final: Path) -> None:
    """Put the complete directory ``staging`` at ``final``, replacing what is there.

    The old directory is renamed aside first and removed last, so ``final`` is absent for a
    moment but never a mix of old and new.
    """
    if not final.exists():
        staging.rename(final)
        return
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    shutil.rmtree(old, ignore_errors=True)
    final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def check_output_dir(out: Path, *, overwrite: bool, markers: tuple[str, ...], what: str) -> None:
    """Refuse an ``out`` that exists, unless ``overwrite`` and it is one of our outputs.

    ``markers`` are the names every output of this kind holds (e.g. ``metrics.json`` and
    ``model`` for a run): ``--overwrite`` replaces only such a directory, never a folder of
    someone's files that happens to be named as the output.
    """
    if not out.name or out.name in (".", ".."):
        raise ConfigError(f"{out}: needs a directory name (e.g. runs/NAME), not {str(out)!r}")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a directory")
    if not out.exists() or not any(out.iterdir()):
        return
    if not is_output(out, markers):
        found = sorted(p.name for p in out.iterdir())
        shown = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
        raise ConfigError(
            f"{out}: already exists and is not a tweetsent {what} (it holds {shown}); "
            "choose another --out (--overwrite replaces only a tweetsent output)"
        )
    if not overwrite:
        raise ConfigError(f"{out}: {what} already exists; pass --overwrite to replace it")


def is_output(out: Path, markers: tuple[str, ...]) -> bool:
    return out.is_dir() and all((out / name).exists() for name in markers)


class ExclusiveLock:
    """An advisory lock file beside an output, held while one process writes that output.

    The operating system drops the lock when its process dies, so a killed writer never
    blocks the next one. The lock file is removed on release; a process that opened it just
    before is told by the inode check and takes a fresh one (otherwise two could hold "it").
    """

    def __init__(self, path: Path, busy: TweetsentError) -> None:
        self.path = path
        self.busy = busy  # raised when another process holds the lock
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not on POSIX: no lock
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise self.busy from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                return
            os.close(fd)  # the holder before us removed this file as we opened it: retry

    def release(self) -> None:
        if self._fd is not None:
            self.path.unlink(missing_ok=True)  # while still held: see the class docstring
            os.close(self._fd)
            self._fd = None

    @contextlib.contextmanager
    def held(self):
        self.acquire()
        try:
            yield self
        finally:
            self.release()
