"""Streaming, resumable, sharded batch prediction (tweetsent.batch.files and its CLI)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tweetsent.batch.files import (
    Shard,
    merge_shards,
    model_fingerprint,
    predict_file,
    shard_path,
)
from tweetsent.cli import main
from tweetsent.config import DataConfig
from tweetsent.data import load_labelled, read_table, read_table_chunks
from tweetsent.errors import ConfigError, DataError
from tweetsent.inference import TweetClassifier

ROOT = Path(__file__).resolve().parents[2]
TEXT = DataConfig(text_col="text")
VOCAB = [
    *["love", "great", "museum", "awful", "opens", "tuesday", "ticket", "hate", "lovely"],
    *[
        "#art",
        "@user",
        "day",
        "night",
        "🙂",
        "café",
        "naïve",
        "http://t.co/x",
        '"quoted"',
        "a,b",
        "tab\there",
    ],
]


def make_tweets(n: int, seed: int = 0) -> pd.DataFrame:
    """Tweets of varied length with commas, quotes, emoji, empty texts and embedded newlines."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        words = [rng.choice(VOCAB) for _ in range(rng.randint(1, 30))]
        if i % 11 == 3:
            words.insert(rng.randint(0, len(words)), "line\nbreak")
        if i % 17 == 5:
            words.insert(rng.randint(0, len(words)), "windows\r\nbreak")
        text = None if i % 23 == 7 else " ".join(words)
        rows.append({"id": str(i), "text": text, "lang": rng.choice(["en", "fr"])})
    return pd.DataFrame(rows)


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def read_output(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture
def log(caplog):
    """Our log records, even after a CLI call stopped 'tweetsent' propagating to the root."""
    logger = logging.getLogger("tweetsent")
    logger.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="tweetsent")
    yield caplog
    logger.removeHandler(caplog.handler)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread, as in the CLI children (see _cli_env): results then match bit for bit."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def clf(_tiny_run):
    return TweetClassifier.load(_tiny_run, precision="fp32")


@pytest.fixture(scope="module")
def tweets_csv(tmp_path_factory) -> Path:
    return write_csv(make_tweets(120), tmp_path_factory.mktemp("in") / "tweets.csv")


def assert_matches_whole_file(out: Path, source: Path, cfg: DataConfig, classifier) -> None:
    """The output is the whole-file read plus whole-file predictions, row for row."""
    expected = read_table(source, cfg)
    got = read_output(out)
    proba = classifier.predict_proba(expected[cfg.text_col or "text"].fillna("").astype(str))
    labels = classifier.labels
    assert list(got.columns) == [
        *expected.columns,
        "predicted_label",
        "confidence",
        *[f"p_{label}" for label in labels],
    ]
    assert len(got) == len(expected)
    for col in expected.columns:  # the input's cells arrive exactly as given
        want = expected[col].fillna("").astype(str).tolist()
        assert got[col].tolist() == want, col
    assert got["predicted_label"].tolist() == [labels[i] for i in proba.argmax(axis=1)]
    got_proba = got[[f"p_{label}" for label in labels]].astype(float).to_numpy()
    np.testing.assert_allclose(got_proba, proba, atol=2e-6)
    np.testing.assert_allclose(got["confidence"].astype(float), proba.max(axis=1), atol=2e-6)


# --- streaming reads -------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_rows", [1, 7, 120, 1000])
def test_streamed_output_equals_whole_file_prediction(clf, tweets_csv, tmp_path, chunk_rows):
    out = tmp_path / "out.csv"
    rows = predict_file(clf, tweets_csv, out, TEXT, chunk_rows=chunk_rows)
    assert rows == 120
    assert_matches_whole_file(out, tweets_csv, TEXT, clf)
    # Nothing but the output is left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


@pytest.mark.needs_shared_data
@pytest.mark.parametrize(("name", "preset"), [("covid", "covid"), ("smile", "smile")])
def test_chunked_reader_equals_read_table_on_real_data(name, preset, request):
    # COVID tweets: embedded newlines and latin-1 bytes; SMILE: no header, named by the preset.
    path = request.getfixturevalue(f"{name}_path")
    cfg = DataConfig(preset=preset)
    chunks = list(read_table_chunks(path, cfg, 500))
    whole = read_table(path, cfg)
    assert [len(c) for c in chunks[:-1]] == [500] * (len(chunks) - 1)
    pd.testing.assert_frame_equal(pd.concat(chunks), whole)


def test_quoted_newlines_survive_chunk_boundaries(clf, tmp_path):
    frame = pd.DataFrame(
        {"text": [f'row {i}\nsecond line, "quoted"\r\nthird' for i in range(9)], "n": "x"}
    )
    source = write_csv(frame, tmp_path / "multi.csv")
    out = tmp_path / "out.csv"
    predict_file(clf, source, out, TEXT, chunk_rows=2)
    got = read_output(out)
    assert got["text"].tolist() == frame["text"].tolist()
    assert_matches_whole_file(out, source, TEXT, clf)


def test_latin1_file_decoded_like_read_table(clf, tmp_path, log):
    # The one non-UTF-8 byte sits in the last chunk: the whole file must still be read as
    # cp1252, exactly as read_table reads it, not switched half-way.
    texts = [f"caf\u00e9 number {i}" for i in range(40)]
    raw = "text\n" + "\n".join(texts) + "\n"
    source = tmp_path / "latin.csv"
    source.write_bytes(raw.encode("utf-8")[:-3] + "\u00e9\n".encode("latin-1"))
    out = tmp_path / "out.csv"
    predict_file(clf, source, out, TEXT, chunk_rows=5)
    assert "not valid UTF-8" in log.text and "cp1252" in log.text
    assert_matches_whole_file(out, source, TEXT, clf)
    assert read_output(out)["text"].iloc[-1].endswith("\u00e9")

    pure = tmp_path / "pure-latin.csv"
    pure.write_bytes(raw.encode("latin-1"))
    predict_file(clf, pure, out, TEXT, chunk_rows=5)
    assert read_output(out)["text"].tolist() == texts


def test_explicit_encoding_error_found_before_any_output(clf, tmp_path):
    source = tmp_path / "bad.csv"
    body = "".join(f"tweet {i}\n" for i in range(200))
    source.write_bytes(b"text\n" + body.encode() + b"caf\xe9\n")
    out = tmp_path / "out.csv"
    cfg = DataConfig(text_col="text", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.csv: cannot be decoded as utf-8 \(byte \d+\)"):
        predict_file(clf, source, out, cfg, chunk_rows=10)
    assert not out.exists()


def test_utf8_bom_stripped(clf, tmp_path):
    source = tmp_path / "bom.csv"
    source.write_bytes(b"\xef\xbb\xbftext,id\nhello,1\nworld,2\n")
    out = tmp_path / "out.csv"
    predict_file(clf, source, out, TEXT, chunk_rows=1)
    assert read_output(out).columns[0] == "text"


def test_jsonl_and_parquet_inputs(clf, tweets_csv, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = read_table(tweets_csv, TEXT)
    csv_out = tmp_path / "from-csv.csv"
    predict_file(clf, tweets_csv, csv_out, TEXT, chunk_rows=16)
    expected = read_output(csv_out)

    jsonl = tmp_path / "tweets.jsonl"
    frame.to_json(jsonl, orient="records", lines=True, force_ascii=False)
    with jsonl.open("a") as fh:
        fh.write("\n")  # a trailing blank line, as editors leave
    parquet = tmp_path / "tweets.parquet"
    # Row groups of 13 rows do not line up with chunks of 16.
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), parquet, row_group_size=13)
    for source in (jsonl, parquet):
        out = tmp_path / f"from-{source.suffix[1:]}.csv"
        predict_file(clf, source, out, TEXT, chunk_rows=16)
        pd.testing.assert_frame_equal(read_output(out), expected)


def test_parquet_integer_column_formatting_does_not_depend_on_chunks(clf, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"text": ["a", "b", "c", "d"], "n": pa.array([1, None, 3, 4], pa.int64())})
    source = tmp_path / "ints.parquet"
    pq.write_table(table, source)
    out = tmp_path / "out.csv"
    predict_file(clf, source, out, TEXT, chunk_rows=2)
    assert read_output(out)["n"].tolist() == ["1", "", "3", "4"]


@pytest.mark.parametrize(
    ("content", "cfg", "error", "message"),
    [
        ("text,id\n", TEXT, DataError, "no data rows"),
        ("txt,id\nhi,1\n", TEXT, DataError, "no column 'text'; did you mean 'txt'"),
        ('text,id\n"open,1\n', TEXT, DataError, "malformed CSV"),
        ("text,id\nhello, world,1\nfoo,2\n", TEXT, DataError, "first row has more fields"),
    ],
)
def test_bad_input_is_one_clear_error_and_no_output(clf, tmp_path, content, cfg, error, message):
    source = tmp_path / "in.csv"
    source.write_text(content)
    out = tmp_path / "out.csv"
    with pytest.raises(error, match=message):
        predict_file(clf, source, out, cfg, chunk_rows=1)
    assert not out.exists()


def test_chunk_size_and_shard_validated(clf, tweets_csv, tmp_path):
    with pytest.raises(ConfigError, match="chunk size"):
        predict_file(clf, tweets_csv, tmp_path / "o.csv", TEXT, chunk_rows=0)
    for spec in ("3/3", "1/0", "a/b", "2"):
        with pytest.raises(ConfigError):
            Shard.parse(spec)
    assert Shard.parse(" 1 / 4 ") == Shard(1, 4)


def test_progress_bar_shows_tweets_per_second(clf, tweets_csv, tmp_path, capsys):
    predict_file(clf, tweets_csv, tmp_path / "o.csv", TEXT, chunk_rows=50, progress=True)
    err = capsys.readouterr().err
    assert "120/120" in err and "tweets/s" in err


# --- resuming ----------------------------------------------------------------------------------


class InterruptAfter:
    """The real classifier, interrupted as by Ctrl-C when asked for chunk ``calls + 1``."""

    def __init__(self, classifier, calls: int):
        self._classifier = classifier
        self.calls = calls
        self.texts_seen = 0

    def __getattr__(self, name):
        return getattr(self._classifier, name)

    def predict_proba(self, texts):
        if self.calls == 0:
            raise KeyboardInterrupt
        self.calls -= 1
        self.texts_seen += len(texts)
        return self._classifier.predict_proba(texts)


def test_interrupted_run_resumes_without_redoing_work(clf, tweets_csv, tmp_path):
    reference = tmp_path / "reference.csv"
    predict_file(clf, tweets_csv, reference, TEXT, chunk_rows=10)

    out = tmp_path / "out.csv"
    with pytest.raises(KeyboardInterrupt):
        predict_file(InterruptAfter(clf, 3), tweets_csv, out, TEXT, chunk_rows=10)
    assert not out.exists()
    state = json.loads((tmp_path / ".out.csv.progress.json").read_text())
    assert (state["next_chunk"], state["rows_done"]) == (3, 30)
    # A write torn by the kill: bytes past the last commit must be dropped on resume.
    with (tmp_path / ".out.csv.partial").open("ab") as fh:
        fh.write(b"31,half a row")

    resumed = InterruptAfter(clf, -1)
    assert predict_file(resumed, tweets_csv, out, TEXT, chunk_rows=10) == 120
    assert resumed.texts_seen == 90  # only the 9 chunks not yet committed
    assert out.read_bytes() == reference.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "reference.csv"]


def test_changed_input_or_options_start_over(clf, tmp_path, log):
    source = write_csv(make_tweets(60), tmp_path / "in.csv")
    out = tmp_path / "out.csv"
    for change in ("chunk size", "input", "no resume"):
        with pytest.raises(KeyboardInterrupt):
            predict_file(InterruptAfter(clf, 2), source, out, TEXT, chunk_rows=10)
        chunk_rows, resume = 10, True
        if change == "chunk size":
            chunk_rows = 20
        elif change == "input":
            write_csv(make_tweets(60, seed=1), source)
        else:
            resume = False
        counting = InterruptAfter(clf, -1)
        log.clear()
        predict_file(counting, source, out, TEXT, chunk_rows=chunk_rows, resume=resume)
        assert counting.texts_seen == 60, change
        if change != "no resume":
            assert "another input, model or options; starting over" in log.text
        assert_matches_whole_file(out, source, TEXT, clf)


def _cli_env() -> dict:
    # One thread: two cores shared with other work make a spinning OpenMP pool crawl.
    return dict(
        os.environ,
        PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
        OMP_NUM_THREADS="1",
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
    )


def _read_pty(fd: int, sink: list[bytes]) -> None:
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO once the child closed its end
            return
        if not data:
            return
        sink.append(data)


@pytest.mark.slow  # ~22 s: a fresh interpreter killed mid-file, then resumed
def test_sigkill_mid_file_then_resume_gives_the_uninterrupted_output(onnx_run, tmp_path):
    import fcntl
    import pty
    import struct
    import termios

    # The kill comes after 4 chunks of 25: the rest is the resumed run's work (onnxruntime on
    # the tiny model labels a chunk in milliseconds, so many chunks keep the kill mid-file).
    rows = 4000
    source = write_csv(make_tweets(rows), tmp_path / "big.csv")
    out = tmp_path / "out.csv"
    state_file = tmp_path / ".out.csv.progress.json"
    cmd = [sys.executable, "-m", "tweetsent", "predict", str(onnx_run)]
    cmd += ["--input", str(source), "--output", str(out), "--text-col", "text"]
    cmd += ["--chunk-size", "25"]

    child = subprocess.Popen(cmd, env=_cli_env(), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    done = 0
    while done < 4 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
        with contextlib.suppress(OSError, ValueError):
            done = json.loads(state_file.read_text())["rows_done"] // 25
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL, child.stderr.read()
    state = json.loads(state_file.read_text())
    assert 0 < state["rows_done"] < rows, "killed before or after the work; cannot test resume"
    assert not out.exists()

    # Resume in a terminal, as a person would: the bar starts from the committed rows.
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    resumed = subprocess.Popen(cmd, env=_cli_env(), stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    screen: list[bytes] = []
    reader = threading.Thread(target=_read_pty, args=(master, screen))
    reader.start()
    stdout, _ = resumed.communicate(timeout=300)
    reader.join()
    os.close(master)
    terminal = b"".join(screen).decode(errors="replace")
    assert resumed.returncode == 0, terminal
    assert "resuming after" in terminal and "tweets/s" in terminal
    assert f"{state['rows_done']}/{rows}" in terminal
    assert f"{rows} rows labelled".encode() in stdout

    got = read_output(out)
    assert got["id"].tolist() == [str(i) for i in range(rows)]  # none lost, none twice
    reference = tmp_path / "reference.csv"
    classifier = TweetClassifier.load(onnx_run)  # the CLI's defaults
    predict_file(
        classifier,
        source,
        reference,
        TEXT,
        chunk_rows=25,
        model_id=model_fingerprint(onnx_run),
    )
    assert out.read_bytes() == reference.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.csv", "out.csv", "reference.csv"]


def test_second_writer_of_the_same_output_is_refused(clf, tweets_csv, tmp_path):
    import fcntl

    out = tmp_path / "out.csv"
    with (tmp_path / ".out.csv.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(DataError, match="another 'tweetsent predict' is writing it"):
            predict_file(clf, tweets_csv, out, TEXT)
    assert not out.exists()


# --- shards ------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 3, 20])
def test_shards_concatenate_to_the_single_run(clf, tweets_csv, tmp_path, count):
    single = tmp_path / "single.csv"
    predict_file(clf, tweets_csv, single, TEXT, chunk_rows=7)
    out = tmp_path / "out.csv"
    rows = [
        predict_file(clf, tweets_csv, out, TEXT, chunk_rows=7, shard=Shard(i, count))
        for i in range(count)
    ]
    assert sum(rows) == 120
    if count == 1:
        assert out.read_bytes() == single.read_bytes()
        return
    parts = [shard_path(out, Shard(i, count)) for i in range(count)]
    assert all(p.exists() for p in parts) and not out.exists()
    assert merge_shards(out) == count
    assert out.read_bytes() == single.read_bytes()
    # The documented shell rule: the first part whole, then every other part minus its header.
    blobs = [p.read_bytes() for p in parts]
    joined = blobs[0] + b"".join(b.split(b"\n", 1)[1] for b in blobs[1:])
    assert joined == single.read_bytes()


@pytest.mark.parametrize("rows, count", [(300, 3), (301, 3), (7, 3), (2, 5)])
def test_shards_split_rows_evenly_whatever_the_chunk_size(clf, tmp_path, rows, count, log):
    source = write_csv(make_tweets(rows), tmp_path / "in.csv")
    single = tmp_path / "single.csv"
    predict_file(clf, source, single, TEXT)  # one chunk of 2048 holds every row
    out = tmp_path / "out.csv"
    done = [predict_file(clf, source, out, TEXT, shard=Shard(i, count)) for i in range(count)]
    assert sum(done) == rows and max(done) - min(done) <= 1
    assert f"shard 0/{count}: rows 1-{done[0]} of {rows} ({done[0]} rows)" in log.text or (
        done[0] == 0 and f"shard 0/{count}: no rows" in log.text
    )
    assert merge_shards(out) == count
    assert out.read_bytes() == single.read_bytes()


def test_merge_refuses_parts_of_different_inputs(clf, tmp_path):
    a = write_csv(make_tweets(40), tmp_path / "a.csv")
    b = write_csv(make_tweets(40)[::-1], tmp_path / "b.csv")
    out = tmp_path / "out.csv"
    predict_file(clf, a, out, TEXT, shard=Shard(0, 2))
    predict_file(clf, b, out, TEXT, shard=Shard(1, 2))
    with pytest.raises(DataError, match="made from another input"):
        merge_shards(out)
    assert not out.exists()
    predict_file(clf, a, out, TEXT, shard=Shard(1, 2))
    assert merge_shards(out) == 2


def test_merge_refuses_missing_or_mixed_parts(clf, tweets_csv, tmp_path):
    out = tmp_path / "out.csv"
    with pytest.raises(DataError, match="no shard parts to merge"):
        merge_shards(out)
    predict_file(clf, tweets_csv, out, TEXT, chunk_rows=7, shard=Shard(0, 3))
    predict_file(clf, tweets_csv, out, TEXT, chunk_rows=7, shard=Shard(2, 3))
    with pytest.raises(DataError, match=r"missing part\(s\) out.shard-1-of-3.csv"):
        merge_shards(out)
    predict_file(clf, tweets_csv, out, TEXT, chunk_rows=7, shard=Shard(1, 2))
    with pytest.raises(DataError, match="different shard counts"):
        merge_shards(out)
    assert not out.exists()


def test_cli_shards_merge_and_errors(_tiny_run, tweets_csv, tmp_path, capsys):
    out = tmp_path / "out.csv"
    base = ["predict", str(_tiny_run), "--input", str(tweets_csv), "--output", str(out)]
    base += ["--text-col", "text", "--chunk-size", "9"]
    assert main(base) == 0
    single = out.read_bytes()
    out.unlink()
    for i in range(2):
        assert main([*base, "--shard", f"{i}/2"]) == 0
    captured = capsys.readouterr()
    assert "written to " + str(tmp_path / "out.shard-1-of-2.csv") in captured.out
    assert "tweets/s" not in captured.err  # stderr is not a terminal here: no bar
    assert main(["predict", str(_tiny_run), "--output", str(out), "--merge"]) == 0
    assert out.read_bytes() == single

    for args, message in [
        ([*base, "--chunk-size", "0"], "error: argument --chunk-size: must be a positive integer"),
        ([*base, "--shard", "2/2"], "error: shard index must be in 0..1"),
        (["predict", str(_tiny_run), "hello", "--shard", "0/2"], "--shard applies to --input"),
        (["predict", str(_tiny_run), "--merge"], "error: --merge needs --output"),
    ]:
        try:
            code = main(args)
        except SystemExit as exc:  # a flag's value out of range: argparse's usage error
            code = exc.code
        assert code in (1, 2)
        assert message in capsys.readouterr().err


# --- memory ------------------------------------------------------------------------------------


def _traced_peak_mb(work) -> float:
    """Peak of the memory Python, numpy and pandas allocate while ``work()`` runs."""
    import gc
    import tracemalloc

    gc.collect()
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


@pytest.mark.slow  # ~10 s: a file large enough for memory to tell
def test_streaming_holds_less_than_the_whole_file(clf, tmp_path):
    """The fast counterpart of the test below: on one file of 2,500 tweets, labelling it in
    chunks holds well under half of what reading and labelling it whole holds."""
    source = write_csv(make_tweets(2500, seed=2), tmp_path / "t.csv")
    clf.predict_proba(["warm up the model runtime before measuring"])
    streamed = _traced_peak_mb(
        lambda: predict_file(clf, source, tmp_path / "o.csv", TEXT, chunk_rows=100)
    )
    whole = _traced_peak_mb(lambda: clf.predict_proba(read_table(source, TEXT)["text"].fillna("")))
    assert streamed < whole / 2, (streamed, whole)


@pytest.mark.slow  # about 25 s (tracemalloc slows every allocation); fast counterpart above
def test_held_memory_does_not_grow_with_rows(clf, tmp_path):
    """Labelling 10x the rows must not hold 10x the data; reading the file whole does.

    tracemalloc sees the frames, texts, token ids and probabilities (what a non-streaming
    predictor piles up), not the model runtime's own warm-up; the CLI's whole-process peak RSS
    is measured by the slow test below and in bench/RESULTS.md.
    """
    small = write_csv(make_tweets(800), tmp_path / "small.csv")
    big = write_csv(make_tweets(8000, seed=2), tmp_path / "big.csv")
    streamed = {
        n: _traced_peak_mb(
            lambda f=f: predict_file(clf, f, tmp_path / "o.csv", TEXT, chunk_rows=100)
        )
        for n, f in ((1, small), (10, big))
    }
    whole = {
        n: _traced_peak_mb(lambda f=f: clf.predict_proba(read_table(f, TEXT)["text"].fillna("")))
        for n, f in ((1, small), (10, big))
    }
    print(f"traced peak MB, streamed: {streamed}, whole file: {whole}")
    # The control shows the measure sees growth: the whole-file path holds ~10x as much.
    assert whole[10] - whole[1] > 4 * whole[1], whole
    # Streaming grows only by the model runtime's garbage awaiting collection, a bounded amount.
    assert streamed[10] - streamed[1] < (whole[10] - whole[1]) / 5, (streamed, whole)
    assert streamed[10] < whole[10] / 5, (streamed, whole)


# The kernel's ru_maxrss of a child counts the memory it had before exec, and a child forked
# (or vfork-spawned) from pytest starts out as big as pytest. A small launcher process is the
# parent instead, so the figure is the command's own peak.
_MEASURE = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def _peak_rss_mb(cmd: list[str]) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, *cmd],
        env=_cli_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out[0] == "0", f"{cmd} exited with {out[0]}"
    return int(out[1]) / 1024


def test_peak_rss_measure_ignores_the_parents_own_peak():
    ballast = b"x" * (600 * 2**20)  # this process now holds 600 MB more than the command needs
    small = _peak_rss_mb([sys.executable, "-c", "pass"])
    big = _peak_rss_mb([sys.executable, "-c", "b = b'x' * (300 * 2**20)"])
    del ballast
    assert small < 200, small
    assert 250 < big - small < 400, (small, big)


_WHOLE_FILE = """
import sys
from tweetsent.config import DataConfig
from tweetsent.data import read_table
from tweetsent.inference import TweetClassifier
frame = read_table(sys.argv[2], DataConfig(text_col="text"))
TweetClassifier.load(sys.argv[1]).predict_proba(frame["text"].fillna("").tolist())
"""


@pytest.mark.slow
def test_cli_peak_memory_flat_from_20k_to_200k_tweets(_tiny_run, tmp_path):
    """Whole-process peak RSS of the CLI for 20k and 200k tweets, against reading them whole."""
    streamed, whole = {}, {}
    for n in (20_000, 200_000):
        source = write_csv(make_tweets(n, seed=n), tmp_path / f"t{n}.csv")
        out = tmp_path / f"o{n}.csv"
        streamed[n] = _peak_rss_mb(
            [sys.executable, "-m", "tweetsent", "predict", str(_tiny_run), "--input", str(source)]
            + ["--output", str(out), "--text-col", "text", "--no-progress"]
        )
        assert len(read_output(out)) == n
        whole[n] = _peak_rss_mb([sys.executable, "-c", _WHOLE_FILE, str(_tiny_run), str(source)])
    print(f"peak RSS MB, streamed: {streamed}, whole file: {whole}")
    # Reading whole gains well over a GB; streaming ten times the rows stays within noise.
    assert whole[200_000] - whole[20_000] > 500, whole
    assert streamed[200_000] - streamed[20_000] < 30, streamed
    assert streamed[200_000] < whole[200_000] / 2


def test_blank_lines_of_a_one_column_file_keep_their_rows(clf, tmp_path):
    source = tmp_path / "one.csv"
    source.write_text("text\nhello\n\nworld\n\n\nbye\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    assert predict_file(clf, source, out, TEXT, chunk_rows=2) == 6
    assert read_output(out)["text"].tolist() == ["hello", "", "world", "", "", "bye"]


def test_a_header_naming_a_column_twice_is_refused(clf, tmp_path):
    source = tmp_path / "dup.csv"
    source.write_text("text,id,text\na,1,b\n", encoding="utf-8")
    with pytest.raises(DataError, match="names column 'text' twice"):
        predict_file(clf, source, tmp_path / "out.csv", TEXT)
    with pytest.raises(DataError, match="names column 'text' twice"):
        load_labelled(source, DataConfig(text_col="text", label_col="id"))
    assert not (tmp_path / "out.csv").exists()
