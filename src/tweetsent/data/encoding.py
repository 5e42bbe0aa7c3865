"""The one rule for a text table's encoding, shared by the whole-file and the streaming readers.

A byte-order mark says UTF-8 or UTF-16, whatever the options say; else ``--encoding``; else
UTF-8; else UTF-8 with the bytes that are not UTF-8 read as cp1252, with a warning (one stray
cp1252 byte must not turn every other character of a UTF-8 file into mojibake, and a file that
is all cp1252 reads the same either way); else a one-line error. cp1252 is the documented fallback
because scraped files from Windows tools are mostly cp1252, and it reads genuine latin-1 text
identically (they differ only in 0x80-0x9F, which latin-1 text does not use). Bytes cp1252
leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) mean some other encoding: decoding as latin-1
anyway would train on silently garbled text, so we stop and ask for ``--encoding``. Binary
files are refused from their first bytes. Training / evaluation (whole file) and ``predict
--input`` (streamed) differ only in how they find the first byte an encoding rejects
(``first_bad``).
"""

from __future__ import annotations

import codecs
import logging
from collections.abc import Callable
from pathlib import Path

from tweetsent.errors import ConfigError, DataError

logger = logging.getLogger(__name__)

UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
HEAD_BYTES = 1 << 16  # what the binary checks look at

# The fallback codec: UTF-8 where the bytes are UTF-8, cp1252 for the bytes that are not.
FALLBACK = "utf8_cp1252"


def _cp1252_for_bad_bytes(exc: UnicodeError):
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    try:
        return exc.object[exc.start : exc.end].decode("cp1252"), exc.end
    except UnicodeDecodeError:  # a byte cp1252 leaves undefined: neither encoding
        raise exc from None


class _FallbackDecoder(codecs.getincrementaldecoder("utf-8")):
    def __init__(self, errors: str = "strict") -> None:
        super().__init__("tweetsent-cp1252")


def _find_fallback(name: str):
    if name != FALLBACK:
        return None
    utf8 = codecs.lookup("utf-8")
    return codecs.CodecInfo(
        name=FALLBACK,
        encode=utf8.encode,
        decode=lambda data, errors="strict": codecs.utf_8_decode(data, "tweetsent-cp1252", True),
        incrementaldecoder=_FallbackDecoder,
        incrementalencoder=utf8.incrementalencoder,
        streamreader=utf8.streamreader,
        streamwriter=utf8.streamwriter,
    )


codecs.register_error("tweetsent-cp1252", _cp1252_for_bad_bytes)
codecs.register(_find_fallback)

# first_bad(encoding, offset): where the data from ``offset`` on stops decoding, or None.
FirstBad = Callable[[str, int], str | None]


def _is_utf16(encoding: str | None) -> bool:
    return (encoding or "").lower().replace("-", "").replace("_", "").startswith("utf16")


def refuse_binary(head: bytes, path: Path, encoding: str | None) -> None:
    """A one-line error for a binary file, judged from its first bytes."""
    head = head.removeprefix(UTF8_BOM)
    if _is_utf16(encoding) or (head.startswith(UTF16_BOMS) and not encoding):
        return
    if b"\x00" in head[:HEAD_BYTES]:
        raise DataError(f"{path}: looks like a binary file, not a text table (NUL bytes)")
    try:
        text = head.decode(encoding or "utf-8", errors="ignore")
    except LookupError:
        raise ConfigError(f"unknown encoding {encoding!r}") from None
    controls = sum(1 for ch in text[:HEAD_BYTES] if ord(ch) < 32 and ch not in "\t\n\r")
    if controls > 0.01 * min(len(text), HEAD_BYTES):
        raise DataError(f"{path}: looks like a binary file, not a text table (control bytes)")


def choose_encoding(
    path: Path, head: bytes, encoding: str | None, first_bad: FirstBad
) -> tuple[str, int]:
    """``(encoding, offset)``: decode the file from byte ``offset`` (past a UTF-8 BOM)."""
    offset = len(UTF8_BOM) if head.startswith(UTF8_BOM) else 0
    # A byte-order mark says what the file is, whatever a preset assumes (COVID's ISO-8859-1
    # would turn a UTF-8 file's "can’t" into "canâ€™t" in the model's input and the output).
    bom = "utf-8" if offset else "utf-16" if head.startswith(UTF16_BOMS) else None
    if bom and not (encoding or "").lower().replace("_", "-").startswith(bom):
        if encoding is None:
            # UTF-16 must be named; a UTF-8 mark is tried first anyway (then cp1252, warned)
            encoding = "utf-16" if bom == "utf-16" else None
        elif first_bad(bom, offset) is None:
            encoding = bom
        else:  # a mark the bytes contradict (a latin-1 file saved behind a UTF-8 BOM)
            logger.warning(
                "%s: a %s byte-order mark on bytes that are not; read as %s", path, bom, encoding
            )
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ConfigError(f"unknown encoding {encoding!r}") from None
    refuse_binary(head, path, encoding)
    if encoding:
        bad = first_bad(encoding, offset)
        if bad is not None:
            raise DataError(
                f"{path}: cannot be decoded as {encoding} ({bad}); pass the right --encoding"
            )
        return encoding, offset
    bad = first_bad("utf-8", offset)
    if bad is None:
        return "utf-8", offset
    bad_cp1252 = first_bad(FALLBACK, offset)
    if bad_cp1252 is not None:
        raise DataError(
            f"{path}: neither UTF-8 ({bad}) nor cp1252 ({bad_cp1252}); pass --encoding, "
            "e.g. --encoding latin-1"
        )
    logger.warning(
        "%s: not valid UTF-8 (from %s on): the bytes that are not UTF-8 read as cp1252; pass "
        "--encoding to choose",
        path,
        bad,
    )
    return FALLBACK, offset


def decode_bytes(raw: bytes, path: Path, encoding: str | None) -> str:
    """A whole file's text, by :func:`choose_encoding`'s rule."""
    decoded: dict[str, str] = {}

    def first_bad(name: str, offset: int) -> str | None:
        try:
            decoded[name] = raw[offset:].decode(name)
        except UnicodeError as exc:
            return _where(raw[offset:], exc)
        return None

    used, _ = choose_encoding(path, raw[: HEAD_BYTES + len(UTF8_BOM)], encoding, first_bad)
    return decoded[used].removeprefix("\ufeff")


def _where(raw: bytes, exc: UnicodeError) -> str:
    start = getattr(exc, "start", 0)
    line = raw.count(b"\n", 0, start) + 1
    return f"line {line}, byte 0x{raw[start]:02x}" if start < len(raw) else f"line {line}"


def stream_encoding(path: Path, encoding: str | None) -> tuple[str, int]:
    """:func:`choose_encoding` for a file read in chunks: never loaded whole, scanned once per
    candidate encoding."""
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES + len(UTF8_BOM))

    def first_bad(name: str, offset: int) -> str | None:
        position = _first_undecodable(path, offset, name)
        return None if position is None else f"byte {position}"

    return choose_encoding(path, head, encoding, first_bad)


_SCAN_BLOCK = 1 << 16


def _first_undecodable(path: Path, offset: int, encoding: str) -> int | None:
    """Byte position (after ``offset``) of the first byte ``encoding`` rejects, or None."""
    decoder = codecs.getincrementaldecoder(encoding)()
    done = 0
    with path.open("rb") as fh:
        fh.seek(offset)
        while True:
            block = fh.read(_SCAN_BLOCK)
            pending = len(decoder.getstate()[0])  # bytes of a character cut by the block end
            try:
                decoder.decode(block, final=not block)
            except UnicodeError as exc:  # also UTF-16's "stream does not start with BOM"
                return done - pending + getattr(exc, "start", 0)
            if not block:
                return None
            done += len(block)


__all__ = ["UTF8_BOM", "choose_encoding", "decode_bytes", "refuse_binary", "stream_encoding"]
