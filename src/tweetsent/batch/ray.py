"""Batch prediction on Ray Data: label files of any size on a cluster, as ``predict --input`` does.

Ray does the distributed work: read tasks, an actor pool in which each worker loads the run once
(the same ``TweetClassifier``), scheduling, and the restart of a worker that dies together with
a retry of its batch (Ray Data's actor pools are created with ``max_restarts=-1`` and
``max_task_retries=-1``; since Ray 2.60 passing these through ``map_batches`` is deprecated, so
we rely on those defaults and test them, see tests/batch/test_ray.py).

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

import glob
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

from tweetsent import rundir
from tweetsent.batch import ray_output
from tweetsent.batch.files import _text_column
from tweetsent.batch.ray_output import SUCCESS, merge_output
from tweetsent.batch.ray_tasks import ID_COLUMNS, Labeller, PartWriter, read_files
from tweetsent.config import DataConfig
from tweetsent.data.presets import resolve_data_config
from tweetsent.data.reading import SUFFIX_FORMATS, check_file
from tweetsent.data.streaming import read_table_chunks
from tweetsent.errors import ConfigError, DataError, ModelError
from tweetsent.hardware import check_inference_precision

logger = logging.getLogger(__name__)

INSTALL_HINT = 'pip install -e ".[ray]"'
OUTPUT_FORMATS = ("parquet", "csv")


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
    precision: str = "auto",
):
    """Label every row of a Ray ``Dataset``; returns the (lazy) labelled ``Dataset``.

    Rows keep their columns and gain ``predicted_label``, ``confidence`` and one ``p_<label>``
    probability column per label, as ``tweetsent predict --input`` writes them. ``workers``
    actors (default: one per CPU of the cluster) each load ``run_dir`` once; ``batch_size`` is
    tweets per forward pass, ``chunk_rows`` rows per call of an actor (default: a whole block).
    Rows carrying ``input_file`` / ``input_row`` (as from :func:`read_input`) are labelled in
    the chunks ``predict --input`` would use, so the results are the same. ``precision``:
    ``auto``, ``fp32`` or ``bf16`` (:meth:`tweetsent.inference.TweetClassifier.load`).

    >>> ds = ray.data.read_parquet("s3://bucket/tweets/")                 # doctest: +SKIP
    >>> predict_dataset("runs/smile", ds, text_col="text").write_parquet("s3://bucket/out/")
    """
    ray = import_ray()
    _check_run_dir(run_dir)
    check_inference_precision(precision)  # said here, not by every actor
    if not text_col:
        raise ConfigError("text_col: name the column holding the tweets")
    workers = default_workers() if workers is None else workers
    check_workers_fit(workers)
    if chunk_rows is not None and not (isinstance(chunk_rows, int) and chunk_rows >= 1):
        raise ConfigError(f"chunk size must be a positive number of rows, got {chunk_rows!r}")
    _configure_data_context()
    return dataset.map_batches(
        Labeller,
        fn_constructor_kwargs=dict(
            run_dir=str(run_dir),
            backend=backend,
            precision=precision,
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
    ray = import_ray()
    files = path if isinstance(path, list) else input_files(path)
    data_config = resolve_data_config(data_config or DataConfig())
    _configure_data_context()
    items = [{"file_index": i, "path": str(p)} for i, p in enumerate(files)]
    ds = ray.data.from_items(items, override_num_blocks=len(items))
    ds = ds.map_batches(
        read_files,
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
    precision: str = "auto",
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
    worker that wrote it, ...) as the parts arrive. ``precision``: ``auto``, ``fp32`` or
    ``bf16`` (:meth:`tweetsent.inference.TweetClassifier.load`).
    """
    check_inference_precision(precision)
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
    options = dict(backend=backend, precision=precision, batch_size=batch_size)
    manifest = ray_output.manifest(files, data_config, run_dir, chunk_rows, output_format, options)
    with ray_output.locked(out):
        ray_output.start_or_resume(out, manifest, restart)
        if (out / SUCCESS).is_file():
            logger.info("%s: already complete; nothing to label", out)
            return json.loads((out / SUCCESS).read_text(encoding="utf-8"))
        worker_options = dict(
            run_dir=str(run_dir),
            backend=backend,
            precision=precision,
            batch_size=batch_size,
            text_col=text_col,
            chunk_rows=chunk_rows,
            output_dir=str(out.resolve()),
            output_format=output_format,
            files=[str(p) for p in files],
        )
        _label_missing_rows(out, files, data_config, worker_options, workers, progress, on_part)
        return ray_output.finish(out, files)


def _label_missing_rows(out, files, data_config, worker_options, workers, progress, on_part):
    """The rows no part holds yet: read, labelled and written by Ray; the parts as they come."""
    done = ray_output.merged_ranges(ray_output.list_parts(out))
    already = sum(stop - start for ranges in done.values() for start, stop in ranges)
    if already:
        logger.info("%s: %d row(s) already labelled in earlier parts; skipping them", out, already)
    ray = import_ray()
    workers = default_workers() if workers is None else workers
    check_workers_fit(workers)
    ds = read_input(files, data_config, chunk_rows=worker_options["chunk_rows"], skip=done)
    _configure_data_context(progress)
    labelled = ds.map_batches(
        PartWriter,
        fn_constructor_kwargs=worker_options,
        batch_size=None,
        batch_format="pandas",
        **_actor_options(ray, workers),
    )
    written = 0
    try:
        for row in labelled.iter_rows():
            written += int(row["rows"])
            if on_part is not None:
                on_part(dict(row))
    except ray.exceptions.GetTimeoutError:  # the wait set in _configure_data_context
        cpus = int(ray.cluster_resources().get("CPU", 0))
        raise ConfigError(
            f"could not start {workers} Ray worker(s) within {WAIT_FOR_WORKERS_S} s on a cluster "
            f"of {cpus} CPU(s) (each worker takes one, the readers need one more): ask for "
            "fewer with --workers"
        ) from None
    logger.info("%d row(s) labelled in this run", written)


def check_workers_fit(workers: int) -> None:
    """Fail at once when the cluster, as it is, cannot place ``workers`` workers and a reader:
    Ray Data would otherwise wait (10 minutes) with no word for CPUs that never come.

    Raises:
        ConfigError: ``workers`` is not a positive integer, or more than the cluster's CPUs
            less one.
    """
    import ray

    if not (isinstance(workers, int) and not isinstance(workers, bool) and workers >= 1):
        raise ConfigError(f"workers must be a positive integer, got {workers!r}")
    cpus = int(ray.cluster_resources().get("CPU", 0))
    if workers + 1 > cpus:
        raise ConfigError(
            f"{workers} Ray worker(s) need {workers + 1} CPUs (one each, and one to read the "
            f"input); the cluster has {cpus}: ask for at most {max(cpus - 1, 1)} with --workers "
            "(workers=), or add nodes first"
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


WAIT_FOR_WORKERS_S = 600


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
    # Every worker loads the run before the first block is handed out: otherwise the first one
    # ready can take every block of a small input while the others still load the model, and
    # a cluster that cannot start the workers asked for says so (Ray's "Timed out while
    # starting actors") instead of running on fewer.
    ctx.wait_for_min_actors_s = WAIT_FOR_WORKERS_S
    if hasattr(ctx, "raise_original_map_exception"):
        ctx.raise_original_map_exception = True


def _check_run_dir(run_dir) -> None:
    path = Path(run_dir)
    if not path.is_dir():
        raise ModelError(f"{path}: run or model directory not found")
    if not rundir.model_config_file(rundir.model_folder(path)).is_file():
        raise ModelError(
            f"{path}: not a run or model directory (no {rundir.MODEL}/ or {rundir.CONFIG})"
        )


def _check_first_file(path: Path, data_config: DataConfig, chunk_rows: int) -> str:
    """Fail in seconds, before Ray starts, on the usual mistakes (wrong --text-col, format)."""
    first = next(iter(read_table_chunks(path, data_config, min(chunk_rows, 256))))
    clash = [c for c in ID_COLUMNS if c in first.columns]
    if clash:
        raise DataError(f"{path}: has a column named {clash[0]!r}, which the Ray output adds")
    return _text_column(list(first.columns), data_config, path)


__all__ = [
    "ID_COLUMNS",
    "INSTALL_HINT",
    "connect",
    "default_workers",
    "input_files",
    "merge_output",
    "predict_dataset",
    "predict_files",
    "read_input",
]
