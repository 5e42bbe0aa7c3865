"""The code Ray runs for ``tweetsent.batch.ray``: reading files into chunks, the labellers.

Each row carries its input row id (``input_file``, ``input_row``). Chunks are cut as
``predict --input`` cuts them, so a worker labels the same batches as one process would. A run of
rows ``a..b-1`` of input file number ``f`` goes to the part ``part-<f>-<a>-<b>.<format>``,
written under a temporary name and renamed: a part that exists is complete.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from tweetsent import fileio
from tweetsent.batch.files import _text_column
from tweetsent.batch.labelling import label_frame
from tweetsent.data.streaming import read_table_chunks
from tweetsent.errors import DataError
from tweetsent.inference.predictor import TweetClassifier

ID_COLUMNS = ("input_file", "input_row")
PART = re.compile(r"part-(\d{5})-(\d{12})-(\d{12})\.(parquet|csv)")


def read_files(batch: pd.DataFrame, *, data_config, chunk_rows, skip) -> Iterator[pd.DataFrame]:
    """Ray task: every file of ``batch`` as frames of its chunks, less the rows in ``skip``."""
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


class Labeller:
    """Ray actor: loads the run once, then labels the batches it is given."""

    def __init__(self, *, run_dir, backend, batch_size, text_col, chunk_rows, precision="auto"):
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

        self.classifier = TweetClassifier.load(
            run_dir, backend=backend, batch_size=batch_size, precision=precision
        )
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
        if self.text_col not in piece.columns:
            raise DataError(
                f"no column {self.text_col!r} to label; columns: {', '.join(piece.columns)}"
            )
        labelled = label_frame(self.classifier, piece, self.text_col)
        # The id columns last, after ours, as in the parts and in predict --input's layout.
        ids = [c for c in ID_COLUMNS if c in labelled.columns]
        return labelled[[c for c in labelled.columns if c not in ids] + ids]


class PartWriter(Labeller):
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
            write_part(labelled, self.output_dir / name, self.output_format)
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


def write_part(frame: pd.DataFrame, target: Path, fmt: str) -> None:
    """Under a temporary name, then renamed: a part that exists is complete."""
    with fileio.atomic_path(target) as tmp:
        if fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
        else:
            frame.to_csv(tmp, index=False)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())


def read_part(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pandas()
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""]).astype(
        {"input_row": "int64"}
    )


__all__ = ["ID_COLUMNS", "PART", "Labeller", "PartWriter", "read_files", "read_part"]
