"""Shared fixtures: real data paths, a tiny random BERT, and one tiny trained run.

The tiny model is a randomly initialised 2-layer BERT that uses the embedded MiniLM's real
WordPiece tokenizer, so every code path (tokenising, training, saving, loading) is the real one
while a training run takes seconds on two cores.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    # pytest-xdist runs one test process per core: each gets its share of the cores, set before
    # torch is imported. Two processes with two OpenMP threads each on two cores spin-wait on
    # each other and run several times slower than one thread each.
    workers = int(os.environ["PYTEST_XDIST_WORKER_COUNT"])
    os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // workers))

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
SMILE = SHARED_DATA / "smile-annotations-final.csv"
COVID = SHARED_DATA / "Corona_NLP_test.csv"


# The longest test modules / classes (about 15-45 s each alone), started first so that the
# pytest-xdist processes finish together instead of one running a long module at the end.
LONGEST_FIRST = (
    "tests/test_docs_pages.py",
    "tests/training/test_distributed.py",
    "tests/batch/test_ray.py",
    "tests/test_integration.py",
    "tests/training/test_checkpoints.py",
    "tests/batch/test_predict_file.py",
)


def _start_rank(item) -> int:
    for rank, prefix in enumerate(LONGEST_FIRST):
        if item.nodeid.startswith(prefix):
            return rank
    return len(LONGEST_FIRST)


def pytest_collection_modifyitems(config, items):
    items.sort(key=_start_rank)  # stable: the rest keep their order
    if not SMILE.exists():
        skip = pytest.mark.skip(reason=f"shared data not found at {SHARED_DATA}")
        for item in items:
            if "needs_shared_data" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def smile_path() -> Path:
    if not SMILE.exists():
        pytest.skip(f"shared data not found at {SMILE}")
    return SMILE


@pytest.fixture(scope="session")
def covid_path() -> Path:
    if not COVID.exists():
        pytest.skip(f"shared data not found at {COVID}")
    return COVID


@pytest.fixture(scope="session")
def tiny_backbone(tmp_path_factory) -> Path:
    """A directory holding a tiny random BERT encoder and the real uncased WordPiece tokenizer."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    from tweetsent.modeling import default_model_path

    out = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(default_model_path())
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    import torch

    torch.manual_seed(0)
    BertModel(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def small_csv(tmp_path_factory) -> Path:
    """A small, easy, balanced 3-class CSV with a header (text,label)."""
    import pandas as pd

    words = {
        "happy": ["love", "great", "wonderful", "amazing", "lovely", "fantastic"],
        "angry": ["hate", "awful", "furious", "terrible", "disgusting", "horrible"],
        "neutral": ["museum", "opens", "tuesday", "exhibition", "ticket", "schedule"],
    }
    rows = []
    for label, vocab in words.items():
        for i in range(30):
            rows.append({"text": f"{vocab[i % 6]} {vocab[(i + 1) % 6]} day {i}", "label": label})
    path = tmp_path_factory.mktemp("data") / "small.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


# The tiny model's `tweetsent train` options: a run takes a few seconds on two cores.
TINY_TRAIN = {
    "text_col": "text",
    "label_col": "label",
    "epochs": 1,
    "batch_size": 8,
    "lr": "1e-3",
    "max_length": 32,
    "precision": "fp32",
    "progress": False,
}


def cli_flags(options: dict) -> list[str]:
    """``{"max_length": 32, "progress": False, "demojize": True}`` -> ``["--max-length", "32",
    "--no-progress", "--demojize"]``; a value of None leaves its flag out."""
    argv: list[str] = []
    for name, value in options.items():
        flag = name.replace("_", "-")
        if value is True:
            argv.append(f"--{flag}")
        elif value is False:
            argv.append(f"--no-{flag}")
        elif value is not None:
            argv += [f"--{flag}", str(value)]
    return argv


@pytest.fixture(scope="session")
def train_argv(small_csv, tiny_backbone):
    """``tweetsent train`` arguments for the tiny model on the small CSV, with overrides.

    >>> run_cli(*train_argv(out=run, epochs=2, class_weights="balanced"))  # doctest: +SKIP
    >>> [sys.executable, "-m", "tweetsent", *train_argv(data=other_csv, out=run)]  # doctest: +SKIP
    """

    def make(data=small_csv, **overrides) -> list[str]:
        options = {"model": tiny_backbone, **TINY_TRAIN, **overrides}
        return ["train", str(data), *cli_flags(options)]

    return make


@pytest.fixture(scope="session")
def _tiny_run(tmp_path_factory, tiny_backbone, small_csv) -> Path:
    from tweetsent.config import DataConfig, TrainConfig
    from tweetsent.training import train

    out = tmp_path_factory.mktemp("runs") / "tiny"
    config = TrainConfig(
        data_path=str(small_csv),
        data=DataConfig(text_col="text", label_col="label"),
        model=str(tiny_backbone),
        epochs=2,
        batch_size=8,
        lr=1e-3,
        max_length=32,
        precision="fp32",
    )
    train(config, out, progress=False)
    return out


@pytest.fixture(scope="session")
def onnx_run(_tiny_run, tmp_path_factory) -> Path:
    """The tiny run with an ONNX export, so that ``auto`` picks onnxruntime in every process:
    for tests of what happens around the model (Ray workers, a killed ``predict``), whose
    fresh processes then start in about a second instead of importing torch. Read-only."""
    import shutil

    from tweetsent.export import export_onnx

    run = tmp_path_factory.mktemp("runs") / "tiny-onnx"
    shutil.copytree(_tiny_run, run)
    export_onnx(run)
    return run


@pytest.fixture
def tiny_run(_tiny_run, tmp_path) -> Path:
    """A copy of one tiny trained run directory, so a test may change it freely."""
    import shutil

    dest = tmp_path / "run"
    shutil.copytree(_tiny_run, dest)
    return dest


@pytest.fixture
def tiny_config(tiny_backbone, small_csv):
    """A fast TrainConfig for the tiny model; each test gets its own copy."""
    from tweetsent.config import DataConfig, TrainConfig

    return copy.deepcopy(
        TrainConfig(
            data_path=str(small_csv),
            data=DataConfig(text_col="text", label_col="label"),
            model=str(tiny_backbone),
            epochs=1,
            batch_size=8,
            lr=1e-3,
            max_length=32,
            precision="fp32",
        )
    )


@pytest.fixture(scope="session")
def subprocess_env() -> dict:
    """Environment for running ``python -m tweetsent`` / torchrun on this checkout's sources."""
    env = dict(os.environ)
    src = str(ROOT / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    # One thread per process: the two cores are shared by the processes a test starts.
    env.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", OMP_NUM_THREADS="1")
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    return env


class ServerProcess:
    """A real ``tweetsent serve`` process on a free loopback port (see ``serve_run``)."""

    def __init__(self, args: list[str], log_path: Path):
        import subprocess
        import sys

        self.log_path = log_path
        self._log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tweetsent", "serve", *args, "--port", "0"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.url = self._wait_for_url()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def _wait_for_url(self, timeout: float = 180) -> str:
        import re
        import time

        import httpx

        deadline = time.monotonic() + timeout
        url = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"tweetsent serve exited with {self.process.returncode}:\n{self.log()}")
            if url is None:
                found = re.search(r"serving .* at (http://\S+) ", self.log())
                url = found.group(1) if found else None
            if url is not None:
                try:
                    if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                        return url
                except httpx.TransportError:
                    pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"tweetsent serve did not come up in {timeout} s:\n{self.log()}")

    def stop(self, timeout: float = 30) -> int:
        """Ctrl+C, as a user would; the exit status."""
        import signal
        import subprocess

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode


@pytest.fixture(scope="session")
def serve_run(tmp_path_factory):
    """Start ``tweetsent serve RUN_DIR [options]`` in a subprocess; stopped at the session's end.

    >>> server = serve_run(run_dir, "--max-texts", "8")  # doctest: +SKIP
    >>> httpx.post(f"{server.url}/predict", json={"texts": ["hi"]})  # doctest: +SKIP
    """
    servers: list[ServerProcess] = []

    def start(run_dir: Path, *options: str) -> ServerProcess:
        log = tmp_path_factory.mktemp("server") / "server.log"
        server = ServerProcess([str(run_dir), "--no-access-log", *options], log)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


# The limits every serving test relies on: small, so that each is cheap to exceed.
TINY_SERVER_OPTIONS = (
    *("--max-texts", "8", "--max-text-chars", "200", "--max-body-bytes", "4096"),
    *("--max-upload-bytes", "200000"),
)


@pytest.fixture(scope="session")
def tiny_server(serve_run, _tiny_run) -> ServerProcess:
    """One ``tweetsent serve`` of the tiny run, shared by the session; it only reads the run."""
    return serve_run(_tiny_run, *TINY_SERVER_OPTIONS, "--max-wait-ms", "20")


@pytest.fixture
def run_cli(capsys):
    """Run ``tweetsent`` in-process: ``run_cli("train", ...) -> (exit code, stdout, stderr)``."""
    from tweetsent.cli import main

    def run(*argv):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse's usage errors (exit 2), as a shell would see them
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return run
