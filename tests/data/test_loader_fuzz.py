"""Property tests: whatever bytes or table shapes a file holds, the loaders either return data
or raise a TweetsentError with a one-line message, never anything else."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tweetsent.config import DataConfig
from tweetsent.data import LabelledData, load_labelled, load_texts
from tweetsent.errors import TweetsentError

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
SUFFIXES = [".csv", ".tsv", ".jsonl", ".txt", ".parquet", ".dat"]

cell = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", " ", '"', '""', "a,b", "x\ny", "\t", "NaN", "null", "\r\n", "é", "😀"]),
    st.integers(-5, 5).map(str),
)


def _check(path: Path, cfg: DataConfig) -> None:
    for load in (lambda: load_labelled(path, cfg), lambda: load_texts(path, cfg)):
        try:
            result = load()
        except TweetsentError as exc:
            message = str(exc)
            assert message and "\n" not in message and "Traceback" not in message
            continue
        if isinstance(result, LabelledData):
            assert len(result) > 0
            assert all(isinstance(t, str) and t.strip() for t in result.texts)
            assert all(isinstance(label, str) and label for label in result.labels)
        else:
            assert all(isinstance(t, str) for t in result)


@SETTINGS
@given(raw=st.binary(max_size=2048), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes(tmp_path_factory, raw, suffix):
    path = tmp_path_factory.mktemp("fuzz") / f"data{suffix}"
    path.write_bytes(raw)
    _check(path, DataConfig(text_col="text", label_col="label"))


@SETTINGS
@given(
    header=st.lists(st.sampled_from(["text", "label", "id", "Text", "", "text"]), max_size=4),
    rows=st.lists(st.lists(cell, max_size=5), max_size=12),
    fmt=st.sampled_from(["csv", "tsv", "jsonl", "parquet"]),
    has_header=st.booleans(),
)
# Found by this test: a first row longer than the header became pandas' index, and the labels
# of the shifted columns were read as if nothing were wrong.
@example(header=["text", "label"], rows=[["", "", "0", "0"]], fmt="csv", has_header=True)
@example(header=["text", "label"], rows=[["", "0", "0"]], fmt="tsv", has_header=True)
def test_random_table_shapes(tmp_path_factory, header, rows, fmt, has_header):
    path = tmp_path_factory.mktemp("shapes") / f"data.{fmt}"
    if fmt == "jsonl":
        lines = [json.dumps(dict(zip(header, row, strict=False))) for row in rows]
        path.write_text("\n".join(lines), encoding="utf-8")
    elif fmt == "parquet":
        import pandas as pd

        names = list(dict.fromkeys(h for h in header if h)) or ["text"]
        frame = pd.DataFrame([row[: len(names)] + [None] * (len(names) - len(row)) for row in rows])
        frame = frame.reindex(columns=range(len(names)))
        frame.columns = names
        try:
            frame.to_parquet(path)
        except Exception:  # a shape pyarrow itself cannot write is not our loader's problem
            return
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter="\t" if fmt == "tsv" else ",")
        if has_header:
            writer.writerow(header)
        writer.writerows(rows)
        path.write_text(buffer.getvalue(), encoding="utf-8")
    cfg = DataConfig(
        text_col="text" if has_header or fmt in ("jsonl", "parquet") else "0",
        label_col="label" if has_header or fmt in ("jsonl", "parquet") else "1",
        header=has_header if fmt in ("csv", "tsv") else None,
    )
    _check(path, cfg)


@pytest.mark.parametrize("preset", ["smile", "covid", "cola", "climate"])
@SETTINGS
@given(raw=st.binary(max_size=1024))
def test_random_bytes_with_presets(tmp_path_factory, preset, raw):
    path = tmp_path_factory.mktemp("preset") / "data.csv"
    path.write_bytes(raw)
    _check(path, DataConfig(preset=preset))
