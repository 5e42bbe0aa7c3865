"""The output folder of ``tweetsent.batch.ray.predict_files``: manifest, parts, _SUCCESS, the merge.

Bookkeeping on the driver: which rows earlier runs finished (the part names say), whether the
folder holds work from the same input, model and options (the manifest), the completeness
check before ``_SUCCESS`` is written, and the merge into one file in input order.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
from pathlib import Path

from tweetsent import fileio
from tweetsent.batch.files import model_fingerprint
from tweetsent.batch.ray_tasks import ID_COLUMNS, PART, read_part
from tweetsent.errors import ConfigError, DataError

MANIFEST = "_tweetsent_ray.json"
SUCCESS = "_SUCCESS"
MANIFEST_VERSION = 1


def merge_output(output_dir: str | Path, target: str | Path, *, keep_ids: bool = False) -> int:
    """Join the parts of a finished run into one file (``.csv`` or ``.parquet``), in input order.

    Returns the number of rows. The result holds the columns ``tweetsent predict --input``
    writes (``keep_ids`` keeps ``input_file`` / ``input_row`` too); for one CSV input it is the
    same file, byte for byte. Memory holds one part at a time.
    """
    out = Path(output_dir)
    target = Path(target)
    if not (out / SUCCESS).is_file():
        raise DataError(
            f"{out}: not complete (no {SUCCESS}); run the same predict command again to finish it"
        )
    fmt = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}.get(target.suffix.lower())
    if fmt is None:
        raise ConfigError(f"{target}: the merged file must end in .csv or .parquet")
    if not target.parent.is_dir():
        raise DataError(f"{target.parent}: output folder not found")
    parts = list_parts(out)
    check_complete(out, parts, len(json.loads((out / MANIFEST).read_text())["inputs"]))
    rows = 0
    writer = None
    with fileio.atomic_path(target) as tmp, open(tmp, "wb") as fh:
        for i, (_, _, _, path) in enumerate(parts):
            frame = read_part(path)
            if not keep_ids:
                frame = frame.drop(columns=list(ID_COLUMNS))
            rows += len(frame)
            if fmt == "csv":
                fh.write(frame.to_csv(index=False, header=i == 0).encode("utf-8"))
            else:
                import pyarrow as pa
                import pyarrow.parquet as pq

                table = pa.Table.from_pandas(frame, preserve_index=False)
                writer = writer or pq.ParquetWriter(fh, table.schema)
                writer.write_table(table.cast(writer.schema))
        if writer is not None:
            writer.close()
        fh.flush()
        os.fsync(fh.fileno())
    return rows


def list_parts(out: Path) -> list[tuple[int, int, int, Path]]:
    """The finished parts in ``out``: (file index, start, stop, path), in input order."""
    found = []
    for p in out.iterdir():
        match = PART.fullmatch(p.name)
        if match:
            found.append((int(match[1]), int(match[2]), int(match[3]), p))
    return sorted(found)


def merged_ranges(parts) -> dict[int, list[tuple[int, int]]]:
    ranges: dict[int, list[tuple[int, int]]] = {}
    for index, start, stop, _ in parts:
        spans = ranges.setdefault(index, [])
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(stop, spans[-1][1]))
        else:
            spans.append((start, stop))
    return ranges


def check_complete(out: Path, parts, n_files: int) -> dict[int, int]:
    """Every file's rows in exactly one part, from row 0 on; rows per file index."""
    rows: dict[int, int] = {i: 0 for i in range(n_files)}
    for index, start, stop, path in parts:
        if index >= n_files:
            raise DataError(f"{path}: a part of an input file this run does not have")
        if start != rows[index]:
            what = "overlaps the part before" if start < rows[index] else "leaves a gap before it"
            raise DataError(f"{path}: {what} (rows {rows[index]}..{start - 1} of file {index})")
        rows[index] = stop
    return rows


def finish(out: Path, files: list[Path]) -> dict:
    parts = list_parts(out)
    rows = check_complete(out, parts, len(files))
    fileio.remove_temporaries(out)  # left by workers killed mid-write
    record = {
        "rows": sum(rows.values()),
        "parts": len(parts),
        "files": [{"path": str(p), "rows": rows[i]} for i, p in enumerate(files)],
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    fileio.write_json(out / SUCCESS, record)
    return record


def manifest(files, data_config, run_dir, chunk_rows, output_format, options: dict) -> dict:
    """What must not change between a run and its resumption: input, model, options."""
    record = {
        "version": MANIFEST_VERSION,
        "inputs": [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in files],
        "data": dataclasses.asdict(data_config),
        "chunk_rows": chunk_rows,
        "model": [str(Path(run_dir).resolve()), model_fingerprint(run_dir)],
        "backend": options["backend"],
        "batch_size": options["batch_size"],
        "format": output_format,
    }
    if options["precision"] != "auto":  # only then: outputs begun before the option resume
        record["precision"] = options["precision"]
    return record


def start_or_resume(out: Path, manifest: dict, restart: bool) -> None:
    path = out / MANIFEST
    ours = [p for p in out.iterdir() if PART.fullmatch(p.name) or fileio.is_temporary(p)]
    if path.is_file() and not restart:
        try:
            earlier = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            earlier = {}
        keys = [*manifest, *(k for k in earlier if k not in manifest)]  # one side may lack one
        changed = [k for k in keys if earlier.get(k) != json.loads(json.dumps(manifest.get(k)))]
        if changed:
            raise ConfigError(
                f"{out}: holds labels made from another input, model or options "
                f"({', '.join(changed)} changed); pass --restart to discard them, or choose "
                "another --output"
            )
        return
    if ours and not path.is_file() and not restart:
        raise ConfigError(f"{out}: holds part files but no {MANIFEST}; choose another --output")
    if restart:
        for p in [*ours, out / SUCCESS, path]:
            p.unlink(missing_ok=True)
    fileio.write_json(path, manifest)


@contextlib.contextmanager
def locked(out: Path):
    """One driver per output folder: a second one is refused rather than racing the first."""
    busy = DataError(f"{out}: another 'tweetsent predict' is writing it right now")
    with fileio.Lock(out / ".lock", busy).held():
        yield


__all__ = [
    "MANIFEST",
    "SUCCESS",
    "check_complete",
    "finish",
    "locked",
    "merge_output",
    "merged_ranges",
    "list_parts",
    "start_or_resume",
]
