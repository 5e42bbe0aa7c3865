"""Batch prediction on Ray Data (tweetsent.batch.ray, predict --engine ray) on a two-node cluster.

One local Ray cluster for the module (``ray.cluster_utils.Cluster``: a head node and a second
node, separate raylets and worker processes), real tweets from ../shared/data and the tiny
trained run. Every test compares with single-process ``predict_file`` on the same rows.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("ray.data", reason='Ray is an optional extra: pip install -e ".[ray]"')

from tweetsent.batch import ray as tray  # noqa: E402
from tweetsent.batch.files import predict_file  # noqa: E402
from tweetsent.config import DataConfig  # noqa: E402
from tweetsent.errors import ConfigError, DataError  # noqa: E402
from tweetsent.inference.predictor import TweetClassifier  # noqa: E402

pytestmark = pytest.mark.needs_shared_data
SMILE = DataConfig(preset="smile")


@pytest.fixture(scope="module")
def cluster():
    """A head node (2 CPUs) and a second node (1 CPU): 3 logical CPUs, 2 workers + a reader."""
    import ray
    from ray.cluster_utils import Cluster

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a throw-away loopback cluster
    started = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 2, "include_dashboard": False},
    )
    started.add_node(num_cpus=1)
    started.wait_for_nodes()
    ray.init(address=started.address, logging_level="ERROR", log_to_driver=False)
    yield started
    ray.shutdown()
    started.shutdown()


def single_process(run_dir, inputs, tmp_path, chunk_rows, data_config=SMILE) -> bytes:
    """What ``tweetsent predict --input`` writes for each input file, joined as one CSV."""
    classifier = TweetClassifier.load(run_dir)
    joined = b""
    for i, path in enumerate(inputs):
        out = tmp_path / f"single-{i}.csv"
        predict_file(classifier, path, out, data_config, chunk_rows=chunk_rows)
        data = out.read_bytes()
        joined += data if i == 0 else data.split(b"\n", 1)[1]
    return joined


def part_stats(out: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in sorted(out.glob("part-*"))}


def check_rows_once(out: Path, expected: dict[str, int]) -> None:
    """Every row of every input file in exactly one part."""
    parts = pd.concat(pd.read_parquet(p) for p in sorted(out.glob("part-*.parquet")))
    for path, rows in expected.items():
        ids = sorted(parts.loc[parts["input_file"] == str(path), "input_row"])
        assert ids == list(range(rows)), path


# Slow: the default suite's longest test, which took its time past 3 minutes in CI; the
# default suite keeps Ray end to end in test_predict_dataset_labels_any_ray_dataset.
@pytest.mark.slow
def test_folder_of_tweets_matches_single_process(cluster, onnx_run, smile_path, tmp_path):
    """Two files in a folder, two workers on two nodes: the same file as predict --input."""
    # The workers and the driver both load with "auto": whichever engine this CPU class picks
    # (onnx on AVX2, torch bf16 where bf16 is native), it is the same on both sides.
    raw = smile_path.read_bytes().splitlines(keepends=True)
    folder = tmp_path / "in"
    folder.mkdir()
    halves = [folder / "a.csv", folder / "b.csv"]
    halves[0].write_bytes(b"".join(raw[:1500]))  # header-less rows: any cut is a valid file
    halves[1].write_bytes(b"".join(raw[1500:]))
    out = tmp_path / "out"
    pids: set[int] = set()
    record = tray.predict_files(
        onnx_run,
        folder,
        out,
        SMILE,
        workers=2,
        chunk_rows=256,
        on_part=lambda part: pids.add(part["pid"]),
    )
    sizes = {p.resolve(): len(pd.read_csv(p, header=None)) for p in halves}
    assert record["rows"] == sum(sizes.values()) == 3085
    assert (out / "_SUCCESS").is_file()
    assert len(pids) >= 2, "the work should be spread over both workers"
    check_rows_once(out, sizes)

    merged = tmp_path / "merged.csv"
    assert tray.merge_output(out, merged) == 3085
    assert merged.read_bytes() == single_process(onnx_run, halves, tmp_path, 256)
    # Parquet too: the same rows, labels and probabilities.
    tray.merge_output(out, tmp_path / "merged.parquet")
    as_parquet = pd.read_parquet(tmp_path / "merged.parquet")
    as_csv = pd.read_csv(merged, dtype={"id": str})
    assert list(as_parquet["predicted_label"]) == list(as_csv["predicted_label"])
    p_cols = [c for c in as_csv.columns if c.startswith("p_")]
    assert (as_parquet[p_cols].to_numpy() - as_csv[p_cols].to_numpy()).max() < 1e-5


# ~35 s (a replacement worker starts mid-run): CI runs it in its slow step; the default suite
# keeps the two-worker equality test.
@pytest.mark.slow
def test_a_killed_worker_is_replaced_and_no_row_is_lost(cluster, _tiny_run, smile_path, tmp_path):
    out = tmp_path / "out"
    killed: list[int] = []
    seen: list[int] = []

    def kill_first_writer(part: dict) -> None:
        seen.append(part["pid"])
        if not killed:
            # The worker that wrote the first part is already busy with its next block.
            os.kill(part["pid"], signal.SIGKILL)
            killed.append(part["pid"])

    record = tray.predict_files(
        _tiny_run, smile_path, out, SMILE, workers=2, chunk_rows=64, on_part=kill_first_writer
    )
    assert killed and record["rows"] == 3085
    assert len(set(seen) - set(killed)) >= 1
    check_rows_once(out, {smile_path.resolve(): 3085})
    tray.merge_output(out, tmp_path / "merged.csv")
    expected = single_process(_tiny_run, [smile_path], tmp_path, 64)
    assert (tmp_path / "merged.csv").read_bytes() == expected


@pytest.mark.slow  # ~20 s each
def test_rerun_after_the_driver_was_killed_skips_finished_parts(
    cluster, _tiny_run, smile_path, tmp_path, subprocess_env
):
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "tweetsent",
        "predict",
        str(_tiny_run),
        "--input",
        str(smile_path),
        "--output",
        str(out),
        "--preset",
        "smile",
        "--engine",
        "ray",
        "--address",
        cluster.address,
        "--workers",
        "2",
        "--chunk-size",
        "32",
    ]
    driver = subprocess.Popen(command, env=subprocess_env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(list(out.glob("part-*"))) < 3 and driver.poll() is None:
        assert time.monotonic() < deadline, "no part written in 120 s"
        time.sleep(0.05)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    assert driver.returncode == -signal.SIGKILL, driver.stderr.read()
    assert not (out / "_SUCCESS").exists(), "the run finished before it could be interrupted"
    before = part_stats(out)
    assert 3 <= len(before) < 97  # 3085 rows in chunks of 32: 97 parts

    merged = tmp_path / "merged.csv"
    rerun = subprocess.run(
        [*command, "--merged", str(merged)],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert "3085 rows merged" in rerun.stdout
    after = part_stats(out)
    assert len(after) == 97
    assert {name: after[name] for name in before} == before, "finished parts were redone"
    assert not list(out.glob(".tmp-*"))
    check_rows_once(out, {smile_path.resolve(): 3085})
    assert merged.read_bytes() == single_process(_tiny_run, [smile_path], tmp_path, 32)


@pytest.mark.slow  # ~20 s each
def test_changed_options_are_refused_not_mixed(cluster, _tiny_run, smile_path, tmp_path):
    small = tmp_path / "small.csv"
    small.write_bytes(b"".join(smile_path.read_bytes().splitlines(keepends=True)[:300]))
    out = tmp_path / "out"
    tray.predict_files(_tiny_run, small, out, SMILE, workers=2, chunk_rows=200)
    with pytest.raises(ConfigError, match="chunk_rows changed.*--restart"):
        tray.predict_files(_tiny_run, small, out, SMILE, workers=2, chunk_rows=100)
    record = tray.predict_files(
        _tiny_run, small, out, SMILE, workers=2, chunk_rows=100, restart=True
    )
    assert record["parts"] == 3 and len(list(out.glob("part-*"))) == 3


@pytest.mark.slow  # ~40 s: two Ray actors start and load the run
def test_predict_dataset_labels_any_ray_dataset(cluster, onnx_run, smile_path):
    import ray

    texts = pd.read_csv(smile_path, header=None, names=["id", "text", "category"], dtype=str)
    texts = texts.head(200)
    ds = ray.data.from_pandas([texts.iloc[:100], texts.iloc[100:]])  # two blocks, two workers
    labelled = tray.predict_dataset(onnx_run, ds, text_col="text", workers=2).to_pandas()
    classifier = TweetClassifier.load(onnx_run)
    proba = classifier.predict_proba(texts["text"].tolist())
    labelled = labelled.set_index("id").loc[texts["id"]]
    assert list(labelled["predicted_label"]) == classifier.predict(texts["text"].tolist())
    p_cols = [f"p_{label}" for label in classifier.labels]
    assert abs(labelled[p_cols].to_numpy() - proba).max() < 1e-5


def test_bad_input_fails_with_one_line_before_any_work(cluster, _tiny_run, smile_path, tmp_path):
    with pytest.raises(DataError, match="no column 'tweet'"):
        tray.predict_files(
            _tiny_run, smile_path, tmp_path / "out", DataConfig(preset="smile", text_col="tweet")
        )
    with pytest.raises(DataError, match="no file matches"):
        tray.predict_files(_tiny_run, str(tmp_path / "*.csv"), tmp_path / "out", SMILE)


def test_a_bad_precision_is_refused_before_any_work(_tiny_run, smile_path, tmp_path):
    with pytest.raises(ConfigError, match="precision must be auto, fp32 or bf16, got 'fp16'"):
        tray.predict_files(_tiny_run, smile_path, tmp_path / "out", SMILE, precision="fp16")
    assert not (tmp_path / "out").exists()
    with pytest.raises(ConfigError, match="precision must be auto, fp32 or bf16"):
        tray.predict_dataset(_tiny_run, None, text_col="text", precision="int8")


def test_resuming_at_another_precision_is_refused(_tiny_run, smile_path, tmp_path):
    from tweetsent.batch import ray_output

    def manifest(precision):
        options = dict(backend="torch", precision=precision, batch_size=64)
        return ray_output.manifest([smile_path], SMILE, _tiny_run, 2048, "parquet", options)

    out = tmp_path / "out"
    out.mkdir()
    ray_output.start_or_resume(out, manifest("fp32"), restart=False)
    for other in ("auto", "bf16"):  # auto too: on a bf16 CPU it would mix bf16 labels in
        with pytest.raises(ConfigError, match=r"\(precision changed\); pass --restart"):
            ray_output.start_or_resume(out, manifest(other), restart=False)
    ray_output.start_or_resume(out, manifest("fp32"), restart=False)  # the same: resumes


def test_missing_ray_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the extra were not installed
    with pytest.raises(ConfigError, match=r'pip install -e "\.\[ray\]"'):
        tray.import_ray()


@pytest.mark.slow
def test_twenty_thousand_tweets_on_two_workers(cluster, _tiny_run, tmp_path):
    from tests.conftest import SHARED_DATA

    inputs = [
        SHARED_DATA / "tweeteval" / "offensive" / "train.csv",
        SHARED_DATA / "tweeteval" / "sentiment" / "test.csv",
    ]
    folder = tmp_path / "in"
    folder.mkdir()
    for path in inputs:
        (folder / f"{path.parent.name}.csv").symlink_to(path)
    config = DataConfig(text_col="text")
    out = tmp_path / "out"
    pids: set[int] = set()
    record = tray.predict_files(
        _tiny_run, folder, out, config, workers=2, on_part=lambda p: pids.add(p["pid"])
    )
    assert record["rows"] >= 20_000 and len(pids) >= 2
    merged = tmp_path / "merged.csv"
    tray.merge_output(out, merged)
    ordered = sorted(folder.iterdir())
    expected = single_process(_tiny_run, ordered, tmp_path, 2048, config)
    assert merged.read_bytes() == expected


def test_more_workers_than_the_cluster_can_start_is_one_error(
    cluster, _tiny_run, smile_path, tmp_path
):
    small = tmp_path / "small.csv"
    small.write_bytes(b"".join(smile_path.read_bytes().splitlines(keepends=True)[:50]))
    # The cluster has 3 CPUs: 5 workers (or 3, with the reader) never start. Said at once, from
    # the command's function and from the Python API's, instead of waiting with no word.
    started = time.monotonic()
    with pytest.raises(ConfigError, match="5 Ray worker.*need 6 CPUs.*has 3.*at most 2"):
        tray.predict_files(_tiny_run, small, tmp_path / "out", SMILE, workers=5, chunk_rows=25)
    import ray

    dataset = ray.data.from_items([{"text": "a tweet"}])
    with pytest.raises(ConfigError, match="3 Ray worker.*need 4 CPUs"):
        tray.predict_dataset(_tiny_run, dataset, text_col="text", workers=3)
    assert time.monotonic() - started < 30
    assert not (tmp_path / "out" / "_SUCCESS").exists()
