"""Exceptions the library raises for problems a user can fix.

Library code raises these; only the CLI turns them into a one-line message and an exit code.
"""

import contextlib


class TweetsentError(Exception):
    """Base class: the message is a complete, one-line explanation for the user."""


class DataError(TweetsentError):
    """A data file is missing, unreadable, or does not hold what was asked for."""


class ConfigError(TweetsentError, ValueError):
    """An option or configuration value is out of range or inconsistent."""


class ModelError(TweetsentError):
    """A model or run directory is missing, empty or corrupt."""


class DiskFullError(TweetsentError):
    """The disk filled up while writing; what was written is left resumable or removed."""


# What writers that do not raise OSError say on a full disk: torch.save's zip writer ("unexpected
# pos", "file write failed"), safetensors ("No space left on device (os error 28)").
_SHORT_WRITE_HINTS = ("unexpected pos", "file write failed", "failed writing")


def is_disk_full(exc: BaseException, folder=None) -> bool:
    """True when ``exc`` (or an exception it came from) means the disk is full.

    ENOSPC / EDQUOT anywhere in the chain, or "No space left" in a message, say so; a writer's
    short-write error counts too when ``folder``'s file system has less than 256 MiB left.
    """
    import errno
    import shutil

    seen: set[int] = set()
    current: BaseException | None = exc
    short_write = False
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        text = str(current).lower()
        if "no space left" in text or "disk quota exceeded" in text:
            return True
        short_write = short_write or any(hint in text for hint in _SHORT_WRITE_HINTS)
        current = current.__cause__ or current.__context__
    if short_write and folder is not None:
        try:
            return shutil.disk_usage(folder).free < 256 * 2**20
        except OSError:
            return False
    return False


@contextlib.contextmanager
def disk_full_as_error(folder, doing: str, then: str):
    """Inside this block, a full disk under ``folder`` becomes one line: where, while ``doing``
    what, and what to do ``then``. Raised before the caller's own cleanup frees the space."""
    try:
        yield
    except DiskFullError:
        raise
    except Exception as exc:
        if not is_disk_full(exc, folder):
            raise
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise DiskFullError(
            f"{folder}: no space left on device {doing} ({reason}); {then}"
        ) from exc
