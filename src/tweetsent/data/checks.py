"""Looking at a data file before reading it whole: pipes, binary files, files too large."""

from __future__ import annotations

from pathlib import Path

from tweetsent.errors import ConfigError, DataError

UTF8_BOM = b"\xef\xbb\xbf"


def is_stream(path: str | Path) -> bool:
    """A pipe, FIFO or terminal (``/dev/stdin``, ``<(cat f)``): readable once, not seekable."""
    path = Path(path)
    return path.exists() and not path.is_file() and not path.is_dir()


_HEAD_BYTES = 1 << 16


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


def refuse_binary(head: bytes, path: Path, encoding: str | None) -> None:
    """The binary-file checks of ``decode_bytes`` on a file's first bytes only."""
    head = head.removeprefix(UTF8_BOM)
    utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff")) and not encoding
    utf16 = utf16 or (encoding or "").lower().replace("-", "").replace("_", "").startswith("utf16")
    if utf16:
        return
    if b"\x00" in head[:_HEAD_BYTES]:
        raise DataError(f"{path}: looks like a binary file, not a text table (NUL bytes)")
    try:
        text = head.decode(encoding or "utf-8", errors="ignore")
    except LookupError:
        raise ConfigError(f"unknown encoding {encoding!r}") from None
    controls = sum(1 for ch in text[:_HEAD_BYTES] if ord(ch) < 32 and ch not in "\t\n\r")
    if controls > 0.01 * min(len(text), _HEAD_BYTES):
        raise DataError(f"{path}: looks like a binary file, not a text table (control bytes)")


__all__ = ["is_stream", "read_bytes_checked", "refuse_binary"]
