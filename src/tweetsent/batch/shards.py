"""Shards of a batch prediction: part I of N holds rows ``I*R//N .. (I+1)*R//N - 1`` of the
file's R rows (even to one row, whatever the chunk size), so the finished parts concatenate, in
order, to the single run's output byte for byte. Beside each finished part a small record names
the input it was made from (its SHA-256) and its rows, so ``--merge`` never joins parts of
different files."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from tweetsent import fileio
from tweetsent.errors import ConfigError, DataError


@dataclass(frozen=True)
class Shard:
    """Part ``index`` of ``count`` (0-based): a contiguous run of the file's chunks."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if not (isinstance(self.count, int) and self.count >= 1):
            raise ConfigError(f"shard count must be a positive integer, got {self.count!r}")
        if not (isinstance(self.index, int) and 0 <= self.index < self.count):
            raise ConfigError(f"shard index must be in 0..{self.count - 1}, got {self.index!r}")

    @classmethod
    def parse(cls, spec: str) -> Shard:
        """``"I/N"``, e.g. ``"0/4"`` for the first of four parts."""
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(spec))
        if not match:
            raise ConfigError(f"--shard must look like I/N (e.g. 0/4), got {spec!r}")
        return cls(int(match[1]), int(match[2]))

    def rows(self, total: int) -> range:
        """This part's rows of a file of ``total`` rows: counts differ by one at most."""
        return range(self.index * total // self.count, (self.index + 1) * total // self.count)


def shard_path(output_path: str | Path, shard: Shard | None) -> Path:
    """Where a shard's part goes: ``out.csv`` → ``out.shard-1-of-4.csv``."""
    output_path = Path(output_path)
    if shard is None or shard.count == 1:
        return output_path
    return output_path.with_name(
        f"{output_path.stem}.shard-{shard.index}-of-{shard.count}{output_path.suffix}"
    )


def merge_shards(output_path: str | Path, *, overwrite: bool = False) -> int:
    """Concatenate the finished parts ``out.shard-I-of-N.csv`` into ``out.csv``.

    Every part must be there (a part exists only once its shard finished). The header is kept
    once; the rest is copied byte for byte, so the result is what one unsharded run writes.

    Args:
        output_path: the output the parts were made for.
        overwrite: replace an existing file there that is not a prediction output.

    Returns:
        The number of parts merged.

    Raises:
        DataError: no parts, a missing part, or parts of different splits or columns.
    """
    output_path = Path(output_path)
    found = _finished_parts(output_path)
    count, parts = next(iter(found.items()))
    missing = [
        shard_path(output_path, Shard(i, count)).name for i in range(count) if i not in parts
    ]
    if missing:
        raise DataError(
            f"{output_path}: missing part(s) {', '.join(missing)} (not finished, or not copied "
            "here yet)"
        )
    _check_same_input(output_path, [parts[i] for i in range(count)])
    header = None
    check_replaceable(output_path, overwrite)
    with fileio.atomic_path(output_path) as tmp, tmp.open("wb") as out:
        for i in range(count):
            with parts[i].open("rb") as part:
                part_header = _read_header(part, parts[i])
                if header is None:
                    header = part_header
                    out.write(header)
                elif part_header != header:
                    raise DataError(
                        f"{parts[i]}: its columns differ from {parts[0].name}'s; were the parts "
                        "made from the same input and model?"
                    )
                shutil.copyfileobj(part, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())
    return count


def part_record(part: Path) -> Path:
    """The record beside a finished part: ``.out.shard-0-of-2.csv.json``."""
    return part.with_name(f".{part.name}.json")


def write_part_record(part: Path, *, input_digest: str, rows: range, total: int) -> None:
    fileio.write_json(
        part_record(part),
        {"input_sha256": input_digest, "rows": [rows.start, rows.stop], "rows_total": total},
    )


def _check_same_input(output_path: Path, parts: list[Path]) -> None:
    """Every part was made from the same input (by its SHA-256), and together they hold each of
    its rows once.

    Raises:
        DataError: a part without its record, or parts of different inputs or row ranges.
    """
    records = []
    for part in parts:
        try:
            records.append(json.loads(part_record(part).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            raise DataError(
                f"{part}: no record of the input it was made from ({part_record(part).name}); "
                "label that part again with --shard"
            ) from None
    first = records[0]
    for part, record in zip(parts[1:], records[1:], strict=True):
        if record.get("input_sha256") != first.get("input_sha256"):
            raise DataError(
                f"{part}: made from another input than {parts[0].name} (its SHA-256 differs); "
                "label every part from the same file"
            )
    ranges = [r.get("rows") for r in records]
    stops = [0] + [r[1] for r in ranges[:-1]]
    if [r[0] for r in ranges] != stops or ranges[-1][1] != first.get("rows_total"):
        raise DataError(f"{output_path}: the parts' rows do not follow each other; relabel them")


def check_replaceable(target: Path, overwrite: bool) -> None:
    """An existing ``target`` is replaced only when it is an earlier prediction output (its
    header has our columns) or ``overwrite`` says so: anything else is someone's file.

    Raises:
        ConfigError: ``target`` exists and is not a prediction output.
    """
    if overwrite or not target.is_file() or target.stat().st_size == 0:
        return
    with open(target, "rb") as handle:
        header = handle.readline(1 << 16).decode("utf-8", errors="replace")
    if not {"predicted_label", "confidence"} <= set(next(csv.reader([header]), [])):
        raise ConfigError(
            f"{target}: exists and is not a prediction output; choose another --output, or "
            "pass --overwrite to replace it"
        )


def _finished_parts(output_path: Path) -> dict[int, dict[int, Path]]:
    """The parts beside ``output_path``, by shard count and index: exactly one split.

    Raises:
        DataError: no parts, or parts of different shard counts.
    """
    pattern = re.compile(
        rf"{re.escape(output_path.stem)}\.shard-(\d+)-of-(\d+){re.escape(output_path.suffix)}"
    )
    found: dict[int, dict[int, Path]] = {}
    parent = output_path.parent if str(output_path.parent) else Path(".")
    for p in parent.iterdir() if parent.is_dir() else []:
        match = pattern.fullmatch(p.name)
        if match:
            found.setdefault(int(match[2]), {})[int(match[1])] = p
    if not found:
        example = shard_path(output_path, Shard(0, 2)).name
        raise DataError(
            f"{output_path}: no shard parts to merge (expected files such as {example}, "
            "written by --shard I/N)"
        )
    if len(found) > 1:
        raise DataError(
            f"{output_path}: parts of different shard counts ({', '.join(map(str, sorted(found)))})"
            "; keep the parts of one split only"
        )
    return found


def _read_header(part, path: Path) -> bytes:
    """The bytes of a CSV file's first record (a header may hold quoted newlines)."""
    consumed: list[bytes] = []

    def lines():
        for line in part:
            consumed.append(line)
            yield line.decode("utf-8")

    try:
        next(csv.reader(lines()))
    except (StopIteration, UnicodeDecodeError, csv.Error):
        raise DataError(f"{path}: not a part written by tweetsent predict --shard") from None
    return b"".join(consumed)


__all__ = [
    "Shard",
    "check_replaceable",
    "merge_shards",
    "part_record",
    "shard_path",
    "write_part_record",
]
