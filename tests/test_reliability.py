"""Issue 15, "nothing lost, nothing silent": the cases that are not one-line errors of the
bad-input table (tests/cli/test_bad_inputs.py): behaviour that must be right, not just refused."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from tweetsent.cli import main

SMILE_LIKE = (
    "1,a museum visit,nocode\n"
    "2,what a lovely day,happy\n"
    "3,so lovely,happy\n"
    "4,wow did not expect that,surprise\n"
    "5,awful queue,angry\n"
    "6,rude staff,angry\n"
)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- item 6: list flags add to a preset's list -----------------------------------------------


def test_drop_labels_adds_to_the_preset_list(tmp_path, run_cli, tiny_backbone):
    path = _write(tmp_path / "smile.csv", SMILE_LIKE)
    code, out, err = run_cli(
        "inspect", path, "--preset", "smile", "--drop-labels", "surprise", "--model", tiny_backbone
    )
    assert code == 0, err
    assert "4 usable rows" in out  # nocode (the preset's) and surprise (ours) both dropped
    assert "skipped 2 row(s): dropped label" in out
    assert "surprise" not in out.split("skipped")[-1]


# --- item 7: label look-alikes and invisible texts --------------------------------------------


def test_nfd_and_nfc_spellings_are_one_label(tmp_path):
    from tweetsent.config import DataConfig
    from tweetsent.data import load_labelled

    nfc, nfd = "caf\u00e9", "cafe\u0301"
    path = _write(tmp_path / "d.csv", f"text,label\na,{nfc}\nb,{nfd}\nc,x\nd,x\n")
    data = load_labelled(path, DataConfig(text_col="text", label_col="label"))
    assert data.label_set == [nfc, "x"]


def test_texts_of_invisible_characters_are_skipped_as_empty(tmp_path):
    from tweetsent.config import DataConfig
    from tweetsent.data import load_labelled

    invisible = ["\u200b\u200b", "\u200d\ufeff", " \u2060 ", "\u3164", "\u200e"]
    rows = "".join(f"{t},x\n" for t in invisible)
    path = _write(tmp_path / "d.csv", "text,label\nreal tweet,x\nother,y\n" + rows + "t,\u200b\n")
    data = load_labelled(path, DataConfig(text_col="text", label_col="label"))
    assert data.texts == ["real tweet", "other"]
    assert data.dropped == {"empty text": len(invisible), "missing label": 1}


# --- item 9: an output encoding that cannot show an emoji --------------------------------------


def test_ascii_stdout_shows_an_emoji_escaped_not_a_traceback(_tiny_run, monkeypatch):
    raw = io.BytesIO()
    ascii_out = io.TextIOWrapper(raw, encoding="ascii")  # as PYTHONIOENCODING=ascii gives
    monkeypatch.setattr(sys, "stdout", ascii_out)
    code = main(["predict", str(_tiny_run), "love it \U0001f60d caf\u00e9"])
    ascii_out.flush()
    assert code == 0
    assert raw.getvalue().decode("ascii").endswith("\tlove it \\U0001f60d caf\\xe9\n")


# --- item 11: the pickle refusal names a flag the command has ---------------------------------


@pytest.fixture
def pickle_run(tiny_run):
    """The tiny run with its weights as a pickle (pytorch_model.bin) only."""
    import torch
    from safetensors.torch import load_file

    model = tiny_run / "model"
    torch.save(load_file(str(model / "model.safetensors")), model / "pytorch_model.bin")
    (model / "model.safetensors").unlink()
    return tiny_run


@pytest.mark.parametrize("command", ["predict", "evaluate", "export"])
def test_pickle_refusal_names_a_flag_the_command_accepts(pickle_run, small_csv, run_cli, command):
    args = {
        "predict": ["predict", pickle_run, "love it"],
        "evaluate": ["evaluate", pickle_run, small_csv],
        "export": ["export", pickle_run],
    }[command]
    code, _, err = run_cli(*args)
    assert code == 1 and "pass --allow-pickle if you trust them" in err
    code, out, err = run_cli(*args, "--allow-pickle")
    assert code == 0, err


def test_serve_accepts_allow_pickle():
    from tweetsent.cli import build_parser

    args = build_parser().parse_args(["serve", "RUN", "--allow-pickle"])
    assert args.allow_pickle is True


# --- item 12: CSV outputs safe to open in a spreadsheet ---------------------------------------

FORMULA_LABEL = '=HYPERLINK("http://evil.example","x")'


@pytest.fixture
def formula_run(tiny_run):
    """The tiny run with one label renamed to a spreadsheet formula."""
    config_file = tiny_run / "model" / "config.json"
    config = json.loads(config_file.read_text())
    config["id2label"] = {"0": FORMULA_LABEL, "1": "@happy", "2": "neutral"}
    config["label2id"] = {v: int(k) for k, v in config["id2label"].items()}
    config_file.write_text(json.dumps(config))
    return tiny_run


def test_csv_output_cells_cannot_run_as_formulas(formula_run, tmp_path, run_cli):
    import pandas as pd

    texts = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "plain", "-1"]
    frame = pd.DataFrame({"n": ["-1", "2.5", "+3", "-4e5", "=5", "6", "7"], "text": texts})
    frame.to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "out.csv"
    code, _, err = run_cli(
        "predict", formula_run, "--input", tmp_path / "in.csv", "--output", out, "--text-col",
        "text", "--batch-size", "2", "--chunk-size", "3",
    )  # fmt: skip
    assert code == 0, err
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(written.columns) == [
        "n", "text", "predicted_label", "confidence", f"p_{FORMULA_LABEL}", "p_@happy",
        "p_neutral",
    ]  # fmt: skip
    # The input's cells are copied as given; our predicted labels that a spreadsheet would
    # evaluate start with a quote.
    assert written["n"].tolist() == ["-1", "2.5", "+3", "-4e5", "=5", "6", "7"]
    assert written["text"].tolist() == texts
    for cell in written["predicted_label"]:
        assert cell in (f"'{FORMULA_LABEL}", "'@happy", "neutral")
    assert any(cell.startswith("'") for cell in written["predicted_label"])
    float(written["confidence"][0])  # scores untouched

    # Shards (and so resumed chunks) still join to the single run's bytes.
    for i in range(2):
        code, _, err = run_cli(
            "predict", formula_run, "--input", tmp_path / "in.csv", "--output", tmp_path / "m.csv",
            "--text-col", "text", "--batch-size", "2", "--chunk-size", "3", "--shard", f"{i}/2",
        )  # fmt: skip
        assert code == 0, err
    assert run_cli("predict", formula_run, "--output", tmp_path / "m.csv", "--merge")[0] == 0
    assert (tmp_path / "m.csv").read_bytes() == out.read_bytes()


# --- item 8: many classes ----------------------------------------------------------------------


def _many_class_validation(n: int, seed: int = 0) -> dict:
    import numpy as np

    rng = np.random.default_rng(seed)
    matrix = np.diag(rng.integers(1, 20, n))
    for _ in range(3 * n):  # scattered confusions
        matrix[rng.integers(n), rng.integers(n)] += int(rng.integers(1, 4))
    labels = [f"class-{i}" for i in range(n)]
    support = matrix.sum(axis=1)
    per_class = {
        label: {
            "precision": 0.5,
            "recall": 0.5,
            "f1": 0.5,
            "support": int(support[i]),
            "accuracy": f"{matrix[i, i]}/{support[i]}",
        }
        for i, label in enumerate(labels)
    }
    return {"labels": labels, "confusion_matrix": matrix.tolist(), "per_class": per_class}


def test_confusion_matrix_of_many_classes_is_drawn_fast_and_small(tmp_path):
    import time

    from matplotlib.image import imread

    from tweetsent.evaluation.report import write_confusion_matrix

    validation = _many_class_validation(300)
    started = time.perf_counter()
    write_confusion_matrix(validation, tmp_path / "cm.png")
    seconds = time.perf_counter() - started
    height, width = imread(tmp_path / "cm.png").shape[:2]
    assert seconds < 10, seconds
    assert max(height, width) < 2200  # 14 inches at 110 dpi, plus labels


def test_most_confused_classes_are_the_ones_plotted_and_reported():
    from tweetsent.cli._util import metrics_summary
    from tweetsent.evaluation.report import confused_pairs, most_confused

    matrix = [[5, 0, 0, 0], [0, 5, 0, 9], [0, 0, 5, 0], [0, 2, 0, 5]]
    assert most_confused(matrix, 2) == [1, 3]
    assert most_confused(matrix, 10) == [0, 1, 2, 3]
    validation = {"labels": list("abcd"), "confusion_matrix": matrix}
    assert confused_pairs(validation, 5) == [("b", "d", 9), ("d", "b", 2)]

    many = _many_class_validation(1000)
    many.update(accuracy=0.5, f1_weighted=0.5)
    summary = metrics_summary(many)
    assert len(summary.splitlines()) < 50
    assert "... and 970 smaller classes" in summary


# --- item 10: huge files, pipes and standard input ---------------------------------------------


def _cli_under_memory_limit(args: list[str], limit_bytes: int, env: dict):
    """``tweetsent ARGS`` in a process whose address space is capped (as a small machine)."""
    import subprocess

    script = (
        "import resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({limit_bytes}, {limit_bytes}))\n"
        "from tweetsent.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


GB = 1 << 30


@pytest.fixture
def huge_binary(tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as fh:  # sparse: 3 GB of NUL bytes that take no disk
        fh.truncate(3 * GB)
    return path


def test_a_huge_binary_file_is_refused_from_its_first_bytes(huge_binary, subprocess_env):
    # 1.5 GB of address space: the whole file (3 GB) can never be read into it.
    result = _cli_under_memory_limit(
        ["inspect", str(huge_binary), "--text-col", "text", "--label-col", "label"],
        int(1.5 * GB),
        subprocess_env,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().endswith(
        "huge.csv: looks like a binary file, not a text table (NUL bytes)"
    ), result.stderr


def test_a_file_larger_than_memory_is_a_one_line_error_with_text(tmp_path, subprocess_env):
    path = tmp_path / "big.csv"
    with path.open("wb") as fh:
        fh.write(b"text,label\n" + b"a tweet,happy\n" * 20_000)  # a real head ...
        fh.truncate(3 * GB)  # ... then 3 GB (sparse) that cannot fit
    result = _cli_under_memory_limit(
        ["inspect", str(path), "--text-col", "text", "--label-col", "label"],
        int(1.5 * GB),
        subprocess_env,
    )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "big.csv: too large to load into memory (3.2 GB)" in lines[0]


def test_predict_reads_standard_input(_tiny_run, small_csv, tmp_path, run_cli, monkeypatch):
    code, _, err = run_cli(
        "predict", _tiny_run, "--input", small_csv, "--output", tmp_path / "file.csv",
        "--text-col", "text",
    )  # fmt: skip
    assert code == 0, err
    stdin = io.TextIOWrapper(io.BytesIO(small_csv.read_bytes()))
    monkeypatch.setattr(sys, "stdin", stdin)
    code, out, err = run_cli(
        "predict", _tiny_run, "--input", "-", "--output", tmp_path / "stdin.csv",
        "--text-col", "text",
    )  # fmt: skip
    assert code == 0, err
    assert "standard input: a pipe, so an interrupted run cannot resume" in err
    assert (tmp_path / "stdin.csv").read_bytes() == (tmp_path / "file.csv").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.csv", "stdin.csv"]


def test_predict_reads_a_fifo(_tiny_run, small_csv, tmp_path, run_cli):
    import os
    import threading

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)

    def feed():
        with fifo.open("wb") as fh:
            fh.write(small_csv.read_bytes())

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    code, out, err = run_cli(
        "predict", _tiny_run, "--input", fifo, "--output", tmp_path / "out.csv",
        "--text-col", "text",
    )  # fmt: skip
    writer.join(timeout=10)
    assert code == 0, err
    assert out.startswith("90 rows labelled")
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 91


# --- item 9: a full disk, a corrupt checkpoint ---------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A real, small file system (tmpfs): ``small_disk(megabytes) -> folder``; ``.resize(mb)``
    frees space as a user would. Skipped where mounting is not permitted (not root)."""
    import subprocess

    folder = tmp_path / "disk"
    folder.mkdir()

    class Disk:
        path = folder

        def resize(self, megabytes: int) -> None:
            subprocess.run(
                ["mount", "-o", f"remount,size={megabytes}m", str(folder)],
                check=True,
                capture_output=True,
            )

    def mount(megabytes: int):
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(folder)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip()}); needs root")
        return Disk()

    yield mount
    import gc

    gc.collect()  # weights memory-mapped from the disk by a test's model
    # Lazy: detached now, freed when the last file on it is closed.
    subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def _one_error_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.slow  # two short trainings; fast counterparts: the export and predict cases below
def test_disk_full_while_training_then_resume(small_disk, train_argv, run_cli):
    from tweetsent.training.checkpoints import is_complete

    # 20 MB: the first epoch's checkpoint (~12 MB) fits, the second does not.
    disk = small_disk(20)
    out = disk.path / "run"
    code, _, err = run_cli(*train_argv(epochs=2, out=out))
    line = _one_error_line(err)
    assert code == 1
    assert "no space left on device while writing the run" in line
    assert f"then continue with: tweetsent train --resume {out}" in line
    # Nothing half-written: no run, a staging folder with complete checkpoints only.
    assert not out.exists()
    staging = disk.path / "run.partial"
    left = list((staging / "checkpoints").iterdir())
    assert left and all(is_complete(p) for p in left)
    assert not [p for p in staging.rglob("*") if ".tmp" in p.name]

    disk.resize(64)  # space freed
    code, out_text, err = run_cli("train", "--resume", out, "--no-progress")
    assert code == 0, err
    assert (out / "model" / "model.safetensors").is_file() and not staging.exists()


def test_disk_full_while_exporting_then_rerun(small_disk, _tiny_run, run_cli):
    import shutil

    disk = small_disk(7)  # holds the run (~5 MB), not its export
    run = disk.path / "run"
    shutil.copytree(_tiny_run, run)
    code, _, err = run_cli("export", run)
    line = _one_error_line(err)
    assert code == 1 and "no space left on device" in line, err
    assert sorted(p.name for p in run.iterdir()) == sorted(p.name for p in _tiny_run.iterdir())

    disk.resize(32)
    code, out, err = run_cli("export", run)
    assert code == 0, err
    assert (run / "onnx" / "model.onnx").is_file() and not (run / ".onnx.partial").exists()


def test_disk_full_while_predicting_then_resume(small_disk, _tiny_run, tmp_path, run_cli):
    import pandas as pd

    rows = [f"tweet number {i} about a lovely museum day" for i in range(600)]
    pd.DataFrame({"text": rows}).to_csv(tmp_path / "in.csv", index=False)
    args = ["--input", tmp_path / "in.csv", "--text-col", "text", "--chunk-size", "100"]
    code, _, err = run_cli("predict", _tiny_run, *args, "--output", tmp_path / "whole.csv")
    assert code == 0, err

    disk = small_disk(1)
    out = disk.path / "out.csv"
    big = disk.path / "filler"
    big.write_bytes(b"x" * (1024 * 1024 - 40 * 1024))  # 40 KB left for a 65 KB output
    code, _, err = run_cli("predict", _tiny_run, *args, "--output", out)
    line = _one_error_line(err)
    assert code == 1, err
    assert f"{disk.path}: no space left on device while writing out.csv" in line, err
    assert "run the same command again: it resumes" in line
    assert not out.exists()

    big.unlink()
    disk.resize(8)
    code, _, err = run_cli("predict", _tiny_run, *args, "--output", out)
    assert code == 0, err
    assert "resuming after" in err
    assert out.read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert sorted(p.name for p in disk.path.iterdir()) == ["out.csv"]


@pytest.mark.slow  # two short trainings; fast counterpart: test_damaged_checkpoint_files_are_found
def test_corrupt_checkpoint_on_resume_is_skipped(tmp_path, train_argv, run_cli):
    """A run stopped with Ctrl+C after its first checkpoint, whose optimizer state is then
    damaged: --resume skips that checkpoint (with a warning) instead of an UnpicklingError."""
    import os
    import signal
    import threading
    import time

    from tweetsent.training.checkpoints import latest_checkpoint

    out = tmp_path / "run"
    staging = tmp_path / "run.partial"

    returned = threading.Event()

    def ctrl_c_after_first_checkpoint():
        deadline = time.monotonic() + 120
        while latest_checkpoint(staging) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if not returned.is_set():  # never Ctrl+C the test runner itself
            os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=ctrl_c_after_first_checkpoint, daemon=True).start()
    # Many epochs after the first checkpoint: a loaded machine that is slow to run the thread
    # above still interrupts the run (with 3 tiny epochs it once finished first: exit 0).
    code, _, err = run_cli(*train_argv(epochs=12, out=out))
    returned.set()
    assert code == 130, err
    checkpoint = latest_checkpoint(staging)
    assert checkpoint is not None
    (checkpoint / "optimizer.pt").write_bytes(b"\x80\x04 not a pickle, not a zip")

    code, _, err = run_cli("train", "--resume", out, "--no-progress")
    assert code == 0, err
    assert f"{checkpoint}: corrupt checkpoint (optimizer.pt:" in err
    assert (out / "metrics.json").is_file()


def test_damaged_checkpoint_files_are_found(tmp_path):
    import torch
    from safetensors.torch import save_file

    from tweetsent.training.checkpoints import damage, resume_point

    staging = tmp_path / "run.partial"
    for step in (10, 20):
        folder = staging / "checkpoints" / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        save_file({"w": torch.ones(64, 64)}, str(folder / "model.safetensors"))
        for name in ("optimizer.pt", "scheduler.pt", "rng_state.pth"):
            torch.save({"state": torch.arange(1000.0)}, folder / name)
        (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}))
        assert damage(folder) is None
    latest = staging / "checkpoints" / "checkpoint-20"
    optimizer = (latest / "optimizer.pt").read_bytes()
    (latest / "optimizer.pt").write_bytes(optimizer[: len(optimizer) // 2])  # truncated
    assert damage(latest).startswith("optimizer.pt: ")
    flipped = bytearray(optimizer)
    flipped[len(flipped) // 3] ^= 0xFF  # one byte of the tensor data changed
    (latest / "optimizer.pt").write_bytes(bytes(flipped))
    assert damage(latest) is not None
    (latest / "optimizer.pt").write_bytes(optimizer)
    weights = (latest / "model.safetensors").read_bytes()
    (latest / "model.safetensors").write_bytes(weights[:-100])
    assert damage(latest).startswith("model.safetensors: ")
    # Resuming takes the newest checkpoint that reads back, and drops the damaged one.
    assert resume_point(tmp_path / "run").name == "checkpoint-10"
    assert not latest.exists()


def test_disk_full_is_recognised_in_what_writers_raise(tmp_path):
    import errno

    from tweetsent.errors import is_disk_full

    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as inner:
            raise RuntimeError("PytorchStreamWriter failed writing file data/0") from inner
    except RuntimeError as chained:
        assert is_disk_full(chained)
    assert is_disk_full(Exception("Error while serializing: No space left on device (os error 28)"))
    # A short write on a disk with room is some other failure.
    short = RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 10 vs 9")
    assert not is_disk_full(short, tmp_path)
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))


# --- item 9: SIGKILL during export (train and predict: test_checkpoints, test_predict_file) ------


@pytest.mark.slow  # ~8 s: an export killed mid-way in a fresh interpreter
def test_sigkill_during_export_leaves_the_old_export_then_rerun_succeeds(
    tiny_run, subprocess_env, run_cli
):
    import signal
    import subprocess
    import time

    from tweetsent.inference import TweetClassifier

    assert run_cli("export", tiny_run)[0] == 0
    before = {p.name: p.read_bytes() for p in (tiny_run / "onnx").iterdir()}
    staging = tiny_run / ".onnx.partial"
    child = subprocess.Popen(
        [sys.executable, "-m", "tweetsent", "export", str(tiny_run), "--quantize", "int8"],
        env=subprocess_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not staging.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL, child.stderr.read()
    # The export a reader sees is the old one, whole; the staging folder is never read.
    assert {p.name: p.read_bytes() for p in (tiny_run / "onnx").iterdir()} == before
    assert TweetClassifier.load(tiny_run, backend="onnx").predict(["love it"])

    code, _, err = run_cli("export", tiny_run, "--quantize", "int8")
    assert code == 0, err
    assert (tiny_run / "onnx" / "model_int8.onnx").is_file()
    assert not staging.exists() and not (tiny_run / "onnx.old").exists()


# --- item 13: slow and idle clients of the service ---------------------------------------------


@pytest.mark.slow  # ~10 s: waits out the service's client deadlines
def test_service_drops_slow_and_idle_clients_and_bounds_connections(serve_run, _tiny_run):
    import socket
    import time

    import httpx

    server = serve_run(
        _tiny_run, "--header-timeout", "1", "--body-timeout", "1", "--max-connections", "8"
    )
    host, port = server.url.removeprefix("http://").rsplit(":", 1)

    def connect() -> socket.socket:
        sock = socket.create_connection((host, int(port)))
        sock.settimeout(10)
        return sock

    def answer(sock: socket.socket) -> bytes:
        data = b""
        try:
            while chunk := sock.recv(4096):
                data += chunk
        except OSError:  # reset: the server closed while we were still sending
            pass
        return data

    headers = (
        b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 25\r\n\r\n"
    )
    # A client sending its headers a byte every 50 ms (5 s in all) is cut off after ~1 s.
    slow = connect()
    started = time.monotonic()
    try:
        for byte in headers:
            slow.send(bytes([byte]))
            time.sleep(0.05)
    except OSError:
        pass
    reply = answer(slow)
    assert reply.startswith(b"HTTP/1.1 408"), reply
    assert time.monotonic() - started < 4

    # Connections that never send a byte are closed after the same deadline.
    idle = [connect() for _ in range(20)]
    started = time.monotonic()
    assert all(answer(sock).startswith(b"HTTP/1.1 408") for sock in idle)
    assert time.monotonic() - started < 4

    # A body that does not arrive in time: 408 with a one-line reason, connection closed.
    trickle = connect()
    trickle.send(headers + b'{"texts": ')
    reply = answer(trickle)
    assert reply.startswith(b"HTTP/1.1 408"), reply
    assert b"request body not received within 1 s (10 bytes arrived)" in reply

    # Beyond --max-connections open connections, requests get 503.
    held = [connect() for _ in range(8)]
    extra = connect()
    extra.send(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer(extra).startswith(b"HTTP/1.1 503")
    for sock in held:
        sock.close()
    time.sleep(0.2)
    response = httpx.post(f"{server.url}/predict", json={"texts": ["love it"]}, timeout=30)
    assert response.status_code == 200, response.text
