"""Files and directories that no reader ever sees half-written, and one-writer locks.

One place for these jobs, so every output of tweetsent follows the same rules: a file is
written under a hidden temporary name beside its target and renamed into place; a directory is
built under a staging name and swapped in; an existing target that tweetsent did not write
(a device node, a folder of the user's files) is refused, never replaced.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import stat
from collections.abc import Iterator
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


def content_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes; of a folder (a ``datasets`` save), of its files' names and
    bytes in sorted order, so that a changed or added file changes it."""
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    digest = hashlib.sha256()
    for file in files:
        if path.is_dir():
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):  # noqa: B023 - used at once
                digest.update(block)
    return digest.hexdigest()


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
    if _INPUTS and str(path.resolve()) in _INPUTS:
        raise ConfigError(f"{path}: is an input of this command; write the output elsewhere")
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it, then rename.

    Raises:
        ConfigError: ``path`` is not a regular file name, or is a file this process read.
    """
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, value) -> None:
    """``value`` as indented JSON, written atomically."""
    atomic_write_text(path, json.dumps(value, indent=2) + "\n")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` for a writer that wants a file name (matplotlib,
    ``torch.save``, pandas); renamed to ``path`` when the block ends cleanly, removed when it
    fails. The temporary name keeps ``path``'s suffix, which some writers read the format from.

    Raises:
        ConfigError: ``path`` is not a regular file name, or is a file this process read.
    """
    path = check_output_file(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        move(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


_TEMPORARY = re.compile(r"^\..+\.\d+\.tmp(\.\w+)?$")


def is_temporary(path: Path) -> bool:
    """A temporary file of :func:`atomic_path` (left behind only by a killed process)."""
    return bool(_TEMPORARY.match(path.name))


def remove_temporaries(folder: Path) -> None:
    """Remove what killed writers left in ``folder``: their temporary files."""
    for path in folder.iterdir() if folder.is_dir() else []:
        if path.is_file() and is_temporary(path):
            path.unlink(missing_ok=True)


def move(source: Path, target: Path) -> None:
    """The one rename of tweetsent: ``source`` replaces ``target`` in one step."""
    os.replace(source, target)


def swap_dir(staging: Path, final: Path) -> None:
    """Put the complete directory ``staging`` at ``final``, replacing what is there.

    The old directory is renamed aside first and removed last, so ``final`` is absent for a
    moment but never a mix of old and new.
    """
    if not final.exists():
        move(staging, final)
        return
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    shutil.rmtree(old, ignore_errors=True)
    move(final, old)
    move(staging, final)
    shutil.rmtree(old, ignore_errors=True)


STAGED_MARKER = ".tweetsent-staged"


@contextlib.contextmanager
def atomic_dir(final: Path, staging: Path | None = None) -> Iterator[Path]:
    """A fresh staging folder (``.NAME.partial`` beside ``final`` by default) to fill; swapped
    in for ``final`` when the block ends cleanly, removed when it fails.

    A staging folder left by an earlier, killed attempt is removed first, but only when it
    carries tweetsent's marker: a folder of that name that a person made is refused.

    Raises:
        ConfigError: the staging name is taken by a folder tweetsent did not create.
    """
    staging = staging or final.with_name(f".{final.name}.partial")
    if staging.exists():
        if not (staging / STAGED_MARKER).is_file():
            raise ConfigError(
                f"{staging}: exists and was not created by tweetsent; move it away and run the "
                "command again"
            )
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    (staging / STAGED_MARKER).touch()
    try:
        yield staging
        (staging / STAGED_MARKER).unlink()
        swap_dir(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


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


class Lock:
    """An advisory lock file (``filelock``) held while one process writes an output.

    The operating system drops the lock when its process dies, so a killed writer never
    blocks the next one. It does not wait: a second process is told at once with ``busy``.
    The lock file is removed on release, while still held; filelock notices a file unlinked
    under it and takes a fresh one, so no two processes can hold "it".

    Args:
        path: the lock file.
        busy: the error raised when another process holds the lock.
    """

    def __init__(self, path: Path, busy: TweetsentError) -> None:
        self.path = Path(path)
        self.busy = busy
        self._lock = None

    def acquire(self) -> None:
        """Raises: the ``busy`` error when another process holds the lock."""
        from filelock import FileLock, Timeout

        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.path, timeout=0, thread_local=False)
        try:
            lock.acquire()
        except Timeout:
            raise self.busy from None
        self._lock = lock

    def release(self) -> None:
        if self._lock is not None:
            self.path.unlink(missing_ok=True)  # while still held: see the class docstring
            self._lock.release()
            self._lock = None

    @contextlib.contextmanager
    def held(self):
        self.acquire()
        try:
            yield self
        finally:
            self.release()


ExclusiveLock = Lock  # the name before 0.2


# The files the running command read as input: never replaced by its own output (``evaluate
# DATA --json DATA`` would otherwise overwrite the data with scores). Readers register them in
# ``tweetsent.data.reading.check_file``; every write goes through ``check_output_file``. Kept
# for one command at a time (``inputs_guarded``), so a long-lived process (the service) does not
# collect the names of every file it ever read.
_INPUTS: set[str] | None = None


def note_input(path: str | Path) -> None:
    """Remember ``path`` as an input of the running command, so no output may replace it."""
    if _INPUTS is not None:
        with contextlib.suppress(OSError):
            _INPUTS.add(str(Path(path).resolve()))


@contextlib.contextmanager
def inputs_guarded() -> Iterator[None]:
    """One command: the files it reads may not be replaced by the files it writes."""
    global _INPUTS
    _INPUTS = set()
    try:
        yield
    finally:
        _INPUTS = None
