"""Batch prediction of a file into a CSV: streamed, resumable after a kill, split into shards.

The input is read and labelled chunk by chunk (``read_table_chunks``), so memory stays flat
whatever the file size. Each labelled chunk is appended to a hidden partial file, fsynced, and
only then recorded in a progress sidecar, so a run killed at any instant (even SIGKILL) resumes
from its last committed chunk: no row lost, none written twice. The output appears under its
real name only when complete (rename). Chunk ``k`` always holds rows ``k*C .. k*C+C-1``; shards
take contiguous runs of chunks, so the parts concatenate, in shard order, to the single run's
output byte for byte.

This bookkeeping is our own code because no library offers a resumable, shardable file
predictor; the reading (pandas / pyarrow) and the model (``TweetClassifier``) are not.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import sys
from pathlib import Path

import pandas as pd

from tweetsent import fileio, rundir
from tweetsent.batch.labelling import label_frame
from tweetsent.batch.partial import STATE_VERSION, PartialOutput
from tweetsent.batch.pipes import predict_pipe
from tweetsent.batch.shards import (
    Shard,
    check_replaceable,
    merge_shards,
    shard_path,
    write_part_record,
)
from tweetsent.config import DataConfig
from tweetsent.data.checks import is_stream
from tweetsent.data.presets import resolve_data_config
from tweetsent.data.reading import check_file, require_column
from tweetsent.data.streaming import read_table_chunks
from tweetsent.errors import ConfigError, DataError, disk_full_as_error
from tweetsent.inference.predictor import TweetClassifier

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_ROWS = 2048
# Rows per chunk, at least, for the counting pass: parsing only, so tiny chunks would be slow.
_COUNT_CHUNK_ROWS = 1024
_END_BYTES = 1 << 16  # the input's first and last bytes hashed into its identity


def output_columns(labels: list[str]) -> list[str]:
    return ["predicted_label", "confidence", *[f"p_{label}" for label in labels]]


def model_fingerprint(path: str | Path) -> str:
    """A cheap identity of a run or model directory: its weight, config and tokenizer files.

    Names, sizes and modification times, not contents: hashing gigabytes of weights on every
    resume would cost more than it guards against.
    """
    path = Path(path)
    root = rundir.model_folder(path)
    files = [p for p in root.rglob("*") if p.is_file()]
    files += [p for p in path.rglob("*.onnx") if p.is_file() and root not in p.parents]
    digest = hashlib.sha256()
    for p in sorted(files):
        stat = p.stat()
        digest.update(f"{p.relative_to(path)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def predict_file(
    classifier: TweetClassifier,
    input_path: str | Path,
    output_path: str | Path,
    data_config: DataConfig,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    shard: Shard | None = None,
    resume: bool = True,
    progress: bool = False,
    model_id: str | None = None,
    overwrite: bool = False,
) -> int:
    """Label every row of ``input_path``; write its columns plus ours to ``output_path`` (CSV).

    Rows keep their order; read, labelled and written in chunks, under a hidden name.

    Args:
        classifier: the predictor.
        input_path: a CSV, TSV, JSON Lines or Parquet file; ``-`` for standard input.
        output_path: the CSV to write: a new file, or this function's own earlier output.
        data_config: how to read the input (its text column).
        chunk_rows: rows per chunk.
        shard: label only this part of the rows, into ``shard_path(output_path, shard)``.
        resume: keep what an interrupted call with the same input, model and options wrote.
        progress: show a progress bar.
        model_id: the model's identity for resuming (``model_fingerprint(run_dir)``).
    overwrite: replace an existing file that is not an earlier prediction output.

    Returns:
        The number of rows written.

    Raises:
        ConfigError: a bad option, or an output that may not be written.
        DataError: the input cannot be read, or lacks the text column.
    """
    if not isinstance(chunk_rows, int) or chunk_rows <= 0:
        raise ConfigError(f"chunk size must be a positive number of rows, got {chunk_rows!r}")
    data_config = resolve_data_config(data_config)
    if str(input_path) == "-" or is_stream(input_path):  # standard input, a FIFO
        options = dict(shard=shard, resume=resume, progress=progress, model_id=model_id)
        options["overwrite"] = overwrite
        return predict_pipe(
            classifier, input_path, output_path, data_config, chunk_rows, options, predict_file
        )
    input_path = check_file(input_path)
    shard = shard or Shard()
    target = _checked_target(input_path, output_path, shard, overwrite)
    key = _signature(input_path, data_config, chunk_rows, shard, classifier, model_id)
    job = (classifier, input_path, data_config, chunk_rows)
    return _label_resumably(job, target, shard, key, resume=resume, progress=progress)


def _label_resumably(job: tuple, target: Path, shard: Shard, key: str, *, resume, progress) -> int:
    """Label ``job`` (classifier, input, data options, chunk rows) into ``target``, continuing
    the committed work of an earlier run with the same ``key`` when ``resume``."""
    classifier, input_path, data_config, chunk_rows = job
    checkpoint = PartialOutput(target)
    then = "free some space and run the same command again: it resumes"
    full = disk_full_as_error(target.parent, f"while writing {target.name}", then)
    with checkpoint.locked(), full:
        state = checkpoint.load(key) if resume else None
        if state is not None:
            _say_resuming(input_path, state)
        else:
            state = _plan(classifier, input_path, data_config, chunk_rows, shard, key)
            checkpoint.begin(state)
        _run(classifier, input_path, data_config, chunk_rows, checkpoint, state, progress)
        checkpoint.finish()
        if shard.count > 1:  # what --merge checks: the input and the rows of each part
            rows = range(state["first_row"], state["end_row"])
            digest = fileio.content_digest(input_path)
            write_part_record(target, input_digest=digest, rows=rows, total=state["rows_total"])
    return state["rows_done"]


def _say_resuming(input_path: Path, state: dict) -> None:
    logger.info(
        "%s: resuming after %d of %d rows (%d chunk(s) written)",
        input_path,
        state["rows_done"],
        state["shard_rows"],
        state["next_chunk"] - state["first_chunk"],
    )


def _checked_target(
    input_path: Path, output_path: str | Path, shard: Shard, overwrite: bool
) -> Path:
    """The file this call writes (a shard's part, or the output), checked before any work."""
    target = shard_path(output_path, shard)
    fileio.check_output_file(target)
    if target.resolve() == input_path.resolve():
        raise ConfigError(f"{target}: the output would overwrite the input")
    check_replaceable(target, overwrite)
    return target


def explain_run_options(exc: DataError, data_config: DataConfig, how: str) -> DataError:
    """``exc``, for a file read with the run's own data options (no others given), which a
    different file rarely fits: it names them and says ``how`` to give this file's."""
    preset = f"preset {data_config.preset}, " if data_config.preset else ""
    return DataError(
        f"{exc}; read with the run's data options ({preset}text column "
        f"{data_config.text_col!r}): give this file's with {how}"
    )


# --- the work -------------------------------------------------------------------------------


def _plan(classifier, input_path, data_config, chunk_rows, shard, signature) -> dict:
    """Count the rows (a parsing pass, no model: bad input fails in seconds) and pick ours."""
    rows = 0
    columns: list[str] = []
    for frame in read_table_chunks(input_path, data_config, max(chunk_rows, _COUNT_CHUNK_ROWS)):
        columns = list(frame.columns) if not rows else columns
        rows += len(frame)
    if rows == 0:
        raise DataError(f"{input_path}: no data rows (only a header)")
    text_col = _text_column(columns, data_config, input_path)
    n_chunks = -(-rows // chunk_rows)
    mine = shard.rows(rows)
    # The chunks holding our rows; a chunk cut by a shard's edge is labelled whole and only our
    # rows are written, so every row is labelled in the same batch as in an unsharded run.
    first_chunk = mine.start // chunk_rows
    end_chunk = -(-mine.stop // chunk_rows) if mine else first_chunk
    ours = output_columns(classifier.labels)
    clash = [c for c in ours if c in columns]
    if clash:
        raise DataError(
            f"{input_path}: has a column named {clash[0]!r}, which the output uses for the "
            "prediction; rename or drop that column first (is this an earlier output?)"
        )
    header = [*columns, *ours]
    logger.info("%s: %d rows in %d chunk(s) of %d", input_path, rows, n_chunks, chunk_rows)
    if shard.count > 1:
        logger.info("%s", describe_part(shard, mine, rows))
    return {
        "version": STATE_VERSION,
        "signature": signature,
        "input": str(input_path),
        "rows_total": rows,
        "text_col": text_col,
        "columns": header,
        "first_chunk": first_chunk,
        "end_chunk": end_chunk,
        "first_row": mine.start,
        "end_row": mine.stop,
        "shard_rows": len(mine),
        "next_chunk": first_chunk,
        "rows_done": 0,
        "bytes": 0,
    }


def _run(classifier, input_path, data_config, chunk_rows, checkpoint, state, progress) -> None:
    from tqdm import tqdm

    bar = tqdm(
        total=state["shard_rows"],
        initial=state["rows_done"],
        unit=" tweets",
        desc=Path(input_path).name,
        file=sys.stderr,
        disable=not progress,
        dynamic_ncols=True,
        smoothing=0.1,
    )
    with bar, checkpoint.appender(state["bytes"]) as out:
        if state["next_chunk"] < state["end_chunk"]:
            chunks = read_table_chunks(input_path, data_config, chunk_rows)
            for k, chunk in enumerate(chunks):
                if k < state["next_chunk"]:
                    continue  # already in the partial output: only parsed, not predicted
                if k >= state["end_chunk"]:
                    break
                ours = slice(
                    max(state["first_row"] - k * chunk_rows, 0),
                    max(state["end_row"] - k * chunk_rows, 0),
                )
                cols = state["columns"]
                data = _label(classifier, chunk, state["text_col"], cols, input_path, ours)
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
                state["next_chunk"] = k + 1
                done = len(range(len(chunk))[ours])
                state["rows_done"] += done
                state["bytes"] += len(data)
                checkpoint.commit(state)
                bar.update(done)
    if state["rows_done"] != state["shard_rows"]:
        raise DataError(
            f"{input_path}: read {state['rows_done']} of the {state['shard_rows']} rows counted; "
            "did the file change while it was read?"
        )


def _label(
    classifier, chunk: pd.DataFrame, text_col: str, columns: list[str], path, ours: slice
) -> bytes:
    """The CSV records of the chunk's rows ``ours``. The whole chunk is labelled even when a
    shard's edge cuts it, so each row is in the batch it has in an unsharded run (and gets the
    same digits); pandas writes each value on its own, so a slice's records are those rows'."""
    if text_col not in chunk.columns:
        raise DataError(f"{path}: column {text_col!r} missing from row {chunk.index[0] + 1} on")
    labelled = label_frame(classifier, chunk, text_col)[columns].iloc[ours]
    return labelled.to_csv(index=False, header=False).encode("utf-8")


def describe_part(shard: Shard, rows: range, total: int) -> str:
    """One line on what a shard labels: ``shard 1/3: rows 101-200 of 300 (100 rows)``."""
    if not rows:
        return f"shard {shard.index}/{shard.count}: no rows (the file has {total})"
    return (
        f"shard {shard.index}/{shard.count}: rows {rows.start + 1}-{rows.stop} of {total} "
        f"({len(rows)} rows)"
    )


def check_input(input_path: str | Path, data_config: DataConfig) -> None:
    """The input's first rows hold the text column ``data_config`` names (or the file has one
    column): checked in a moment, before a model takes seconds to load.

    Raises:
        DataError: the file cannot be read, or has no such column.
    """
    data_config = resolve_data_config(data_config)
    first = next(iter(read_table_chunks(check_file(input_path), data_config, 64)), None)
    if first is not None:
        _text_column(list(first.columns), data_config, input_path)


def _text_column(columns: list[str], data_config: DataConfig, path) -> str:
    text_col = data_config.text_col
    if text_col is None and len(columns) == 1:
        return columns[0]
    return require_column(pd.DataFrame(columns=columns), text_col, "text", path)


def _signature(input_path: Path, data_config, chunk_rows, shard, classifier, model_id) -> str:
    """What must not change between a run and its resumption: input, model, options."""
    stat = input_path.stat()
    ends = hashlib.sha256()  # with size and mtime, enough to tell an edited file
    with input_path.open("rb") as fh:
        ends.update(fh.read(_END_BYTES))
        if stat.st_size > _END_BYTES:
            fh.seek(max(stat.st_size - _END_BYTES, _END_BYTES))
            ends.update(fh.read())
    engine = getattr(classifier, "engine", None)
    facts = {
        "input": [str(input_path.resolve()), stat.st_size, stat.st_mtime_ns, ends.hexdigest()],
        "data": dataclasses.asdict(data_config),
        "chunk_rows": chunk_rows,
        "shard": [shard.index, shard.count],
        "model": model_id,
        "labels": list(classifier.labels),
        "backend": getattr(classifier, "backend", None),
        "precision": getattr(engine, "precision", None),
        "batch_size": getattr(classifier, "batch_size", None),
        "max_length": getattr(classifier, "max_length", None),
        "min_confidence": getattr(classifier, "min_confidence", None),
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()


__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "Shard",
    "check_input",
    "explain_run_options",
    "label_frame",
    "merge_shards",
    "model_fingerprint",
    "output_columns",
    "predict_file",
    "shard_path",
]
