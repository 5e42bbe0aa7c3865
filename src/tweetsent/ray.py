"""Batch prediction on Ray Data: label files of any size on a cluster, as ``predict --input`` does.

Ray does the distributed work: read tasks, an actor pool in which each worker loads the run once
(the same ``TweetClassifier``), scheduling, and the restart of a worker that dies together with
a retry of its batch (Ray Data's actor pools are created with ``max_restarts=-1`` and
``max_task_retries=-1``; since Ray 2.60 passing these through ``map_batches`` is deprecated, so
we rely on those defaults and test them, see tests/test_ray.py).

What is ours is only what no library offers, at the product's edge:

- Reading. Each file is read by tweetsent's own streaming reader (``read_table_chunks``) inside
  a Ray task, so formats, presets, header and encoding rules are exactly those of
  ``tweetsent predict --input`` and training (Ray Data's CSV reader would, for instance, split
  quoted newlines or reject cp1252 files). Every row carries ``input_file`` and ``input_row``
  (its 0-based row in that file): the input row id that restores the order.
- Output naming. The labels of rows ``a..b-1`` of input file ``f`` go to
  ``OUT/part-<f>-<a>-<b>.parquet`` (or ``.csv``), written under a temporary name and renamed,
  so a part that exists is complete. Rows are cut into the same chunks as ``predict --input``
  (``--chunk-size``), so each part normally holds one chunk, labelled in the same batches as on
  one machine. A rerun after the driver was killed lists the parts already there and does not
  label their rows again; ``_SUCCESS`` is written last, once every row of every file is in
  exactly one part. ``merge_output`` joins the parts into one file in input order.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from tweetsent.config import DataConfig
from tweetsent.errors import ConfigError, DataError, ModelError

logger = logging.getLogger(__name__)

INSTALL_HINT = 'pip install -e ".[ray]"'
ID_COLUMNS = ("input_file", "input_row")
OUTPUT_FORMATS = ("parquet", "csv")
MANIFEST = "_tweetsent_ray.json"
SUCCESS = "_SUCCESS"
MANIFEST_VERSION = 1
_PART = re.compile(r"part-(\d{5})-(\d{12})-(\d{12})\.(parquet|csv)")
_TMP_PREFIX = ".tmp-"


def import_ray():
    """The ``ray`` module, or a one-line error saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401 - Ray Data ships with the extra, not with bare ray
    except ImportError:
        raise ConfigError(f"Ray is not installed; install the extra with: {INSTALL_HINT}") from None
    return ray


def connect(address: str | None = None, *, num_cpus: int | None = None, quiet: bool = True) -> bool:
    """Start a local Ray instance (``address=None``) or join a cluster (``"auto"``, ``ray://…``).

    Returns True when this call started Ray (the caller then shuts it down); False when Ray was
    already initialised in this process (a caller's own session is left alone).
    """
    ray = import_ray()
    if ray.is_initialized():
        return False
    # Quiet: Ray's own notices (dashboard, token set-up, execution plans) are not the user's.
    options = {"logging_level": logging.ERROR if quiet else logging.INFO}
    if quiet:
        options["log_to_driver"] = False
        # Ray Data 2.60's actor pools make the driver's core worker log a spurious error about
        # constructor arguments for every pool; real failures still arrive as exceptions.
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    if address is None:
        # Logical CPUs: one per worker plus one for the read tasks (see read_input).
        options.update(num_cpus=num_cpus, include_dashboard=False)
    else:
        options["address"] = address
    try:
        ray.init(**options)
    except ConnectionError as exc:
        raise ConfigError(f"could not join the Ray cluster at {address}: {exc}") from None
    if quiet:
        logging.getLogger("ray.data").setLevel(logging.WARNING)
    return True


# --- the Python API -------------------------------------------------------------------------


def predict_dataset(
    run_dir: str | Path,
    dataset,
    *,
    text_col: str,
    backend: str = "auto",
    batch_size: int = 64,
    workers: int | None = None,
    chunk_rows: int | None = None,
):
    """Label every row of a Ray ``Dataset``; returns the (lazy) labelled ``Dataset``.

    Rows keep their columns and gain ``predicted_label``, ``confidence`` and one ``p_<label>``
    probability column per label, as ``tweetsent predict --input`` writes them. ``workers``
    actors (default: one per CPU of the cluster) each load ``run_dir`` once; ``batch_size`` is
    tweets per forward pass, ``chunk_rows`` rows per call of an actor (default: a whole block).
    Rows carrying ``input_file`` / ``input_row`` (as from :func:`read_input`) are labelled in
    the chunks ``predict --input`` would use, so the results are the same.

    >>> ds = ray.data.read_parquet("s3://bucket/tweets/")                 # doctest: +SKIP
    >>> predict_dataset("runs/smile", ds, text_col="text").write_parquet("s3://bucket/out/")
    """
    ray = import_ray()
    _check_run_dir(run_dir)
    if not text_col:
        raise ConfigError("text_col: name the column holding the tweets")
    workers = default_workers() if workers is None else workers
    if not (isinstance(workers, int) and workers >= 1):
        raise ConfigError(f"workers must be a positive integer, got {workers!r}")
    if chunk_rows is not None and not (isinstance(chunk_rows, int) and chunk_rows >= 1):
        raise ConfigError(f"chunk size must be a positive number of rows, got {chunk_rows!r}")
    _configure_data_context()
    return dataset.map_batches(
        _Labeller,
        fn_constructor_kwargs=dict(
            run_dir=str(run_dir),
            backend=backend,
            batch_size=batch_size,
            text_col=text_col,
            chunk_rows=chunk_rows,
        ),
        batch_size=chunk_rows,
        batch_format="pandas",
        **_actor_options(ray, workers),
    )


def read_input(
    path: str | Path | list,
    data_config: DataConfig | None = None,
    *,
    chunk_rows: int = 2048,
    skip: dict[int, list[tuple[int, int]]] | None = None,
):
    """A Ray ``Dataset`` of the rows of a file, a directory of tables or a glob.

    Read with tweetsent's own reader (same options and encoding rules as everywhere else),
    one Ray task per file, into blocks of ``chunk_rows`` rows carrying ``input_file`` and
    ``input_row``. ``skip``: per file index (in :func:`input_files` order), row ranges
    ``[start, stop)`` not to emit (already labelled).
    """
    from tweetsent.data import resolve_data_config

    ray = import_ray()
    files = path if isinstance(path, list) else input_files(path)
    data_config = resolve_data_config(data_config or DataConfig())
    _configure_data_context()
    items = [{"file_index": i, "path": str(p)} for i, p in enumerate(files)]
    ds = ray.data.from_items(items, override_num_blocks=len(items))
    ds = ds.map_batches(
        _read_files,
        fn_kwargs=dict(data_config=data_config, chunk_rows=chunk_rows, skip=skip or {}),
        batch_size=1,
        batch_format="pandas",
    )
    # One block per chunk: Ray otherwise packs a task's output into blocks of up to 128 MiB,
    # and an actor labels a whole block, so one file would go to one worker. Ray fuses this
    # split into the read task (same resources: one CPU, hence the spare CPU, see connect).
    return ds.repartition(target_num_rows_per_block=chunk_rows)


def input_files(path: str | Path) -> list[Path]:
    """The tables PATH names: a file, a directory's tables (recursively) or a glob, sorted."""
    from tweetsent.data import SUFFIX_FORMATS, check_file

    text = str(path)
    if any(ch in text for ch in "*?["):
        found = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
        if not found:
            raise DataError(f"{text}: no file matches this pattern")
    elif Path(text).is_dir():
        found = sorted(
            p
            for p in Path(text).rglob("*")
            if p.is_file()
            and p.suffix.lower() in SUFFIX_FORMATS
            and not any(part.startswith((".", "_")) for part in p.relative_to(text).parts)
        )
        if not found:
            raise DataError(f"{text}: no CSV, TSV, JSON Lines or Parquet files in this directory")
    else:
        found = [Path(text)]
    return [check_file(p).resolve() for p in found]


# --- files in, files out: what `tweetsent predict --engine ray` runs ---------------------------


def predict_files(
    run_dir: str | Path,
    input_path: str | Path,
    output_dir: str | Path,
    data_config: DataConfig | None = None,
    *,
    backend: str = "auto",
    batch_size: int = 64,
    workers: int | None = None,
    chunk_rows: int = 2048,
    output_format: str = "parquet",
    restart: bool = False,
    progress: bool = False,
    on_part: Callable[[dict], None] | None = None,
) -> dict:
    """Label PATH's rows into part files under ``output_dir``; returns the ``_SUCCESS`` record.

    Needs a Ray session (see :func:`connect`). Parts already in ``output_dir`` from an earlier,
    interrupted call with the same input, model and options are kept and their rows not
    labelled again; ``restart`` discards them. ``progress``: Ray Data's progress bars;
    ``on_part`` is called with a dict per part written (``part``, ``rows``, ``pid`` of the
    worker that wrote it, ...) as the parts arrive.
    """
    from tweetsent.data import resolve_data_config
    from tweetsent.predict_file import model_fingerprint

    if output_format not in OUTPUT_FORMATS:
        raise ConfigError(f"output format must be parquet or csv, got {output_format!r}")
    if not (isinstance(chunk_rows, int) and chunk_rows >= 1):
        raise ConfigError(f"chunk size must be a positive number of rows, got {chunk_rows!r}")
    _check_run_dir(run_dir)
    data_config = resolve_data_config(data_config or DataConfig())
    files = input_files(input_path)
    out = Path(output_dir)
    if out.exists() and not out.is_dir():
        raise DataError(f"{out}: exists and is not a directory; --output needs a folder here")
    if any(out.resolve() == f or out.resolve() in f.parents for f in files):
        raise ConfigError(f"{out}: the output folder would hold or overwrite the input")
    text_col = _check_first_file(files[0], data_config, chunk_rows)
    out.mkdir(parents=True, exist_ok=True)
    manifest = {
        "version": MANIFEST_VERSION,
        "inputs": [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in files],
        "data": dataclasses.asdict(data_config),
        "chunk_rows": chunk_rows,
        "format": output_format,
        "model": [str(Path(run_dir).resolve()), model_fingerprint(run_dir)],
        "backend": backend,
        "batch_size": batch_size,
    }
    with _locked(out):
        _start_or_resume(out, manifest, restart)
        if (out / SUCCESS).is_file():
            logger.info("%s: already complete; nothing to label", out)
            return json.loads((out / SUCCESS).read_text(encoding="utf-8"))
        done = _merged_ranges(_parts(out))
        already = sum(stop - start for ranges in done.values() for start, stop in ranges)
        if already:
            logger.info(
                "%s: %d row(s) already labelled in earlier parts; skipping them", out, already
            )
        ray = import_ray()
        workers = default_workers() if workers is None else workers
        ds = read_input(
            files,
            data_config,
            chunk_rows=chunk_rows,
            skip=done,
        )
        _configure_data_context(progress)
        labelled = ds.map_batches(
            _PartWriter,
            fn_constructor_kwargs=dict(
                run_dir=str(run_dir),
                backend=backend,
                batch_size=batch_size,
                text_col=text_col,
                chunk_rows=chunk_rows,
                output_dir=str(out.resolve()),
                output_format=output_format,
                files=[str(p) for p in files],
            ),
            batch_size=None,
            batch_format="pandas",
            **_actor_options(ray, workers),
        )
        written = 0
        for row in labelled.iter_rows():
            written += int(row["rows"])
            if on_part is not None:
                on_part(dict(row))
        logger.info("%d row(s) labelled in this run", written)
        return _finish(out, files)


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
    parts = _parts(out)
    _check_complete(out, parts, len(json.loads((out / MANIFEST).read_text())["inputs"]))
    tmp = target.with_name(f".{target.name}.partial")
    rows = 0
    writer = None
    try:
        with open(tmp, "wb") as fh:
            for i, (_, _, _, path) in enumerate(parts):
                frame = _read_part(path)
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
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return rows


# --- inside Ray: reading and labelling --------------------------------------------------------


def _read_files(batch: pd.DataFrame, *, data_config, chunk_rows, skip) -> Iterator[pd.DataFrame]:
    """Ray task: every file of ``batch`` as frames of its chunks, less the rows in ``skip``."""
    from tweetsent.data import read_table_chunks
    from tweetsent.predict_file import _text_column

    for index, path in zip(batch["file_index"], batch["path"], strict=True):
        ranges = skip.get(int(index), [])
        starts = np.array([r[0] for r in ranges], dtype=np.int64)
        stops = np.array([r[1] for r in ranges], dtype=np.int64)
        checked = False
        for chunk in read_table_chunks(path, data_config, chunk_rows):
            if not checked:
                _text_column(list(chunk.columns), data_config, path)
                clash = [c for c in ID_COLUMNS if c in chunk.columns]
                if clash:
                    raise DataError(f"{path}: has a column named {clash[0]!r}, which we add")
                checked = True
            if not len(chunk):
                continue
            rows = chunk.index.to_numpy(dtype=np.int64)
            if len(starts):
                at = np.searchsorted(starts, rows, side="right") - 1
                done = (at >= 0) & (rows < stops[np.maximum(at, 0)])
                if done.all():
                    continue
                chunk, rows = chunk[~done], rows[~done]
            # Strings throughout (as read), so that every block has the same schema.
            frame = chunk.astype("string").reset_index(drop=True)
            frame["input_file"] = path
            frame["input_row"] = rows
            yield frame


class _Labeller:
    """Ray actor: loads the run once, then labels the batches it is given."""

    def __init__(self, *, run_dir, backend, batch_size, text_col, chunk_rows):
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from tweetsent.prediction import TweetClassifier

        self.classifier = TweetClassifier.load(run_dir, backend=backend, batch_size=batch_size)
        self.text_col = text_col
        self.chunk_rows = chunk_rows

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        pieces = [self._label(piece) for piece in self._pieces(batch)]
        return pd.concat(pieces, ignore_index=True) if pieces else self._label(batch)

    def _pieces(self, batch: pd.DataFrame) -> Iterator[pd.DataFrame]:
        """Runs of consecutive rows of one file and one chunk; the whole batch without ids."""
        if not all(c in batch.columns for c in ID_COLUMNS) or not len(batch):
            yield batch
            return
        rows = batch["input_row"].to_numpy(dtype=np.int64)
        files = batch["input_file"].to_numpy()
        chunk = rows // self.chunk_rows if self.chunk_rows else np.zeros_like(rows)
        cut = np.flatnonzero(
            (files[1:] != files[:-1]) | (rows[1:] != rows[:-1] + 1) | (chunk[1:] != chunk[:-1])
        )
        bounds = [0, *(cut + 1).tolist(), len(batch)]
        for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
            yield batch.iloc[start:stop]

    def _label(self, piece: pd.DataFrame) -> pd.DataFrame:
        from tweetsent.predict_file import label_frame

        if self.text_col not in piece.columns:
            raise DataError(
                f"no column {self.text_col!r} to label; columns: {', '.join(piece.columns)}"
            )
        labelled = label_frame(self.classifier, piece, self.text_col)
        # The id columns last, after ours, as in the parts and in predict --input's layout.
        ids = [c for c in ID_COLUMNS if c in labelled.columns]
        return labelled[[c for c in labelled.columns if c not in ids] + ids]


class _PartWriter(_Labeller):
    """Ray actor: labels its blocks and writes each run of rows to its part file."""

    def __init__(self, *, output_dir, output_format, files, **kwargs):
        super().__init__(**kwargs)
        self.output_dir = Path(output_dir)
        self.output_format = output_format
        self.file_index = {path: i for i, path in enumerate(files)}

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        written = []
        for piece in self._pieces(batch):
            labelled = self._label(piece.reset_index(drop=True))
            path = str(piece["input_file"].iloc[0])
            start = int(piece["input_row"].iloc[0])
            stop = start + len(piece)
            name = f"part-{self.file_index[path]:05d}-{start:012d}-{stop:012d}.{self.output_format}"
            _write_part(labelled, self.output_dir / name, self.output_format)
            written.append(
                {
                    "part": name,
                    "input_file": path,
                    "start": start,
                    "stop": stop,
                    "rows": len(piece),
                    "pid": os.getpid(),
                }
            )
        return pd.DataFrame(written, columns=["part", "input_file", "start", "stop", "rows", "pid"])


def _write_part(frame: pd.DataFrame, target: Path, fmt: str) -> None:
    """Under a temporary name, then renamed: a part that exists is complete."""
    tmp = target.with_name(f"{_TMP_PREFIX}{os.getpid()}-{target.name}")
    try:
        if fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
        else:
            frame.to_csv(tmp, index=False)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def _read_part(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pandas()
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""]).astype(
        {"input_row": "int64"}
    )


def default_workers() -> int:
    """One worker per CPU of the Ray cluster, less one CPU for the tasks that read the input."""
    import ray

    return max(1, int(ray.cluster_resources().get("CPU", 2)) - 1)


def _actor_options(ray, workers: int) -> dict:
    return dict(
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=1,  # one thread per worker (Ray sets OMP_NUM_THREADS from it)
        # Workers never reach for a model hub (runs are local folders) and tokenize in their
        # own thread. A runtime_env of its own also keeps Ray from fusing the read tasks into
        # the actors, which would read each file inside one worker.
        runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}},
    )


# --- bookkeeping on the driver ----------------------------------------------------------------


def _configure_data_context(progress: bool | None = None) -> None:
    import ray.data

    ctx = ray.data.DataContext.get_current()
    if progress is not None:
        ctx.enable_progress_bars = progress
        if hasattr(ctx, "print_on_execution_start"):
            ctx.print_on_execution_start = progress
    # A bad row is bad on every try: fail at once with the original error (a tweetsent error
    # with its one-line message), retry only what Ray retries itself, i.e. dead workers.
    ctx.max_errored_blocks = 0
    ctx.actor_task_retry_on_errors = False
    if hasattr(ctx, "raise_original_map_exception"):
        ctx.raise_original_map_exception = True


def _check_run_dir(run_dir) -> None:
    path = Path(run_dir)
    if not path.is_dir():
        raise ModelError(f"{path}: run or model directory not found")
    if not ((path / "model").is_dir() or (path / "config.json").is_file()):
        raise ModelError(f"{path}: not a run or model directory (no model/ or config.json)")


def _check_first_file(path: Path, data_config: DataConfig, chunk_rows: int) -> str:
    """Fail in seconds, before Ray starts, on the usual mistakes (wrong --text-col, format)."""
    from tweetsent.data import read_table_chunks
    from tweetsent.predict_file import _text_column

    first = next(iter(read_table_chunks(path, data_config, min(chunk_rows, 256))))
    clash = [c for c in ID_COLUMNS if c in first.columns]
    if clash:
        raise DataError(f"{path}: has a column named {clash[0]!r}, which the Ray output adds")
    return _text_column(list(first.columns), data_config, path)


def _parts(out: Path) -> list[tuple[int, int, int, Path]]:
    """The finished parts in ``out``: (file index, start, stop, path), in input order."""
    found = []
    for p in out.iterdir():
        match = _PART.fullmatch(p.name)
        if match:
            found.append((int(match[1]), int(match[2]), int(match[3]), p))
    return sorted(found)


def _merged_ranges(parts) -> dict[int, list[tuple[int, int]]]:
    ranges: dict[int, list[tuple[int, int]]] = {}
    for index, start, stop, _ in parts:
        spans = ranges.setdefault(index, [])
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(stop, spans[-1][1]))
        else:
            spans.append((start, stop))
    return ranges


def _check_complete(out: Path, parts, n_files: int) -> dict[int, int]:
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


def _finish(out: Path, files: list[Path]) -> dict:
    parts = _parts(out)
    rows = _check_complete(out, parts, len(files))
    for p in out.glob(f"{_TMP_PREFIX}*"):  # left by workers killed mid-write
        p.unlink(missing_ok=True)
    record = {
        "rows": sum(rows.values()),
        "parts": len(parts),
        "files": [{"path": str(p), "rows": rows[i]} for i, p in enumerate(files)],
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    tmp = out / f"{_TMP_PREFIX}{SUCCESS}"
    tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
    tmp.replace(out / SUCCESS)
    return record


def _start_or_resume(out: Path, manifest: dict, restart: bool) -> None:
    path = out / MANIFEST
    ours = [p for p in out.iterdir() if _PART.fullmatch(p.name) or p.name.startswith(_TMP_PREFIX)]
    if path.is_file() and not restart:
        try:
            earlier = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            earlier = {}
        changed = [k for k in manifest if earlier.get(k) != json.loads(json.dumps(manifest[k]))]
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
    tmp = out / f"{_TMP_PREFIX}{MANIFEST}"
    tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    tmp.replace(path)


@contextlib.contextmanager
def _locked(out: Path):
    """One driver per output folder: a second one is refused rather than racing the first."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    lock = out / ".lock"
    with lock.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataError(f"{out}: another 'tweetsent predict' is writing it right now") from None
        yield


__all__ = [
    "ID_COLUMNS",
    "connect",
    "input_files",
    "merge_output",
    "predict_dataset",
    "predict_files",
    "read_input",
]
