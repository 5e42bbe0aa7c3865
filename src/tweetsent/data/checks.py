"""Looking at a data file before reading it whole: pipes, binary files, files too large."""

from __future__ import annotations

from pathlib import Path

from tweetsent.data.encoding import HEAD_BYTES as _HEAD_BYTES
from tweetsent.data.encoding import UTF8_BOM, refuse_binary
from tweetsent.errors import DataError


def is_stream(path: str | Path) -> bool:
    """A pipe, FIFO or terminal (``/dev/stdin``, ``<(cat f)``): readable once, not seekable."""
    path = Path(path)
    return path.exists() and not path.is_file() and not path.is_dir()


def read_bytes_checked(path: Path, encoding: str | None) -> bytes:
    """The whole file, refused as binary from its first 64 KiB before the rest is read (a
    2 GB binary file costs no 2 GB of memory), and a one-line error if it does not fit."""
    with path.open("rb") as fh:
        head = fh.read(_HEAD_BYTES + len(UTF8_BOM))
        if not head:
            raise DataError(f"{path}: file is empty")
        refuse_binary(head, path, encoding)
        try:
            if fh.seekable():
                fh.seek(0)
                return fh.read()
            return head + fh.read()
        except MemoryError:
            size = path.stat().st_size if path.is_file() else 0
            shown = f" ({size / 1e9:.1f} GB)" if size else ""
            raise DataError(
                f"{path}: too large to load into memory{shown}; training, evaluation and "
                "inspection read the whole file, so use part of it (tweetsent predict --input "
                "streams files of any size)"
            ) from None


__all__ = ["is_stream", "read_bytes_checked"]
