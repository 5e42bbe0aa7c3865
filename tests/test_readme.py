"""The README runs as written: its shell and Python blocks, in order, on the quickstart data.

Every ```bash and ```python block of README.md is classified below (PLAN); a block that matches
no entry fails the test, so a new block is either run or skipped with a stated reason.

- ``test_every_readme_command_parses`` (fast): every ``tweetsent ...`` line of every shell block,
  skipped ones included, parses with the real command-line parser.
- ``TestReadmeFirstSteps`` / ``TestReadmeDeploy`` (fast, default suite): the blocks that run, in
  README order, in two chains that each start from the quickstart training (see PLAN), in a
  fresh folder beside ``../shared/data``, with one documented change so that they take seconds:
  every training (``tweetsent train`` and the API's ``TrainConfig``) gets TINY_TRAIN (a tiny
  random BERT, one epoch, 600 rows, 32 tokens). Everything else is the README's text, byte for
  byte. They run in the test's own process (each ``tweetsent`` line through ``cli.main``, each
  Python block through ``exec``): a fresh interpreter per line would spend most of the time
  importing torch (about 3 s each, 17 lines).
- ``test_readme_runs_as_written`` (``slow``, about 8 minutes on 2 cores): the same blocks with no
  change at all, each line a real shell command in a fresh interpreter: the full quickstart
  training with the embedded MiniLM.

Both create ``tweets.csv`` (a ``text`` column: SMILE's first 300 tweets), the file the batch
prediction blocks name as the user's own.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# (how the block begins, mode, why); mode: "skip", or which chain runs it (both variants):
# "first" (the first steps) or "deploy" (export, distil, batch prediction); "run": both chains,
# which each start from the quickstart training and so can run side by side. A block is the
# entry whose beginning is the longest that fits it.
QUICKSTART = (
    "tweetsent train ../shared/data/smile-annotations-final.csv --preset smile --out runs/smile\n"
)
PLAN = [
    ("pip install -e .\n", "skip", "installs the package: CI's own first step"),
    (
        QUICKSTART,
        "run",
        "quickstart training",
    ),
    ('tweetsent predict runs/smile "What a wonderful', "first", "quickstart predict / evaluate"),
    ('pip install -e ".[test', "skip", "runs this test suite"),
    ('pip install -e ".[ray]"', "skip", "installs an extra; Ray: tests/inference/test_ray.py"),
    ("import ray", "skip", "needs Ray and S3 buckets; tests/inference/test_ray.py"),
    ('pip install -e ".[spark]"', "skip", "installs an extra; tests/inference/test_spark.py"),
    ("from pyspark.sql import", "skip", "needs S3 buckets; tests/inference/test_spark.py"),
    ("python -m pytest tests/cli/test_bad_inputs.py", "skip", "runs tests"),
    ("tweetsent train data.csv", "skip", "needs a model hub and the user's data.csv"),
    ("from transformers import pipeline\npipe", "first", "plain transformers"),
    (
        "from transformers import pipeline\nfrom tweetsent",
        "first",
        "pipeline + tweetsent's cleaning",
    ),
    ("from tweetsent import DataConfig", "first", "Python API"),
    ("# 2 processes on one machine", "skip", "multi-process; tests/training/test_distributed.py"),
    (
        "tweetsent train tweets.csv --preset smile --out runs/smile --save-steps",
        "skip",
        "kills a run on purpose; tests/training/test_checkpoints.py",
    ),
    (
        QUICKSTART + "tweetsent train",
        "skip",
        "full trainings, an ensemble of 3, K-fold and a search: over an hour",
    ),
    ("tweetsent export runs/smile --format onnx", "deploy", "export and ONNX predict"),
    ("tweetsent distill runs/smile --out", "deploy", "distil the quickstart run"),
    (
        "tweetsent audit ../shared/data",
        "skip",
        "K-fold MiniLM embeddings; tests/evaluation/test_audit.py",
    ),
    (
        "tweetsent suggest runs/smile --pool",
        "skip",
        "needs the user's pool; tests/inference/test_suggest.py",
    ),
    ('python -c "import pandas as pd; pd.concat', "skip", "the user's files; test_suggest.py"),
    (
        "from tweetsent.audit.core import",
        "skip",
        "the user's files; tests/evaluation/test_audit.py",
    ),
    (
        "tweetsent predict runs/smile --min-confidence",
        "skip",
        "tests/evaluation/test_calibration.py",
    ),
    ("tweetsent bench predict", "skip", "minutes of timing; tests/benchmarks/test_benchmarks.py"),
    ("tweetsent serve runs/smile", "skip", "a server until Ctrl+C; tests/serving/test_serving.py"),
    (
        "curl -sS localhost:8000/predict-file",
        "skip",
        "needs a server; run as written in tests/serving/test_serving_upload.py",
    ),
    (
        "tweetsent predict runs/smile --input tweets.csv --output labelled.csv --text-col text\n",
        "deploy",
        "batch prediction",
    ),
    (
        "tweetsent predict runs/smile --input tweets.csv --output labelled.csv --text-col text "
        "--shard 0/3",
        "deploy",
        "sharded batch prediction and merge",
    ),
]

# The one change the fast variant makes: trainings use a tiny model on few rows.
TINY_TRAIN = "--model {tiny} --epochs 1 --limit 600 --max-length 32"
TINY_API = "epochs=1, model={tiny!r}, limit=600, max_length=32)"


def readme_blocks() -> list[tuple[str, str]]:
    """(language, code) of every bash / python block, in order, dedented."""
    pattern = re.compile(r"^( *)```(bash|python)\n(.*?)^\1```", re.M | re.S)
    blocks = []
    for match in pattern.finditer(README.read_text(encoding="utf-8")):
        indent = len(match.group(1))
        code = "".join(line[indent:] for line in match.group(3).splitlines(keepends=True))
        blocks.append((match.group(2), code))
    return blocks


def planned_blocks() -> list[tuple[str, str, str]]:
    """(language, code, mode) of every block; fails on a block PLAN does not know."""
    out = []
    for lang, code in readme_blocks():
        entries = sorted((len(key), mode) for key, mode, _ in PLAN if code.startswith(key))
        assert entries, f"README block not in PLAN (run or skip it, with a reason):\n{code}"
        out.append((lang, code, entries[-1][1]))
    return out


def tweetsent_commands(code: str) -> list[list[str]]:
    """The arguments of every ``tweetsent`` / ``-m tweetsent`` command in a shell block."""
    commands = []
    for line in code.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        for start, word in enumerate(words):
            if word == "tweetsent" and (start == 0 or words[start - 1] == "-m"):
                commands.append(words[start + 1 :])
                break
    return commands


def test_every_block_is_planned_and_every_plan_entry_used():
    blocks = planned_blocks()
    unused = [key for key, _, _ in PLAN if not any(code.startswith(key) for _, code, _ in blocks)]
    assert not unused, f"PLAN entries no README block matches: {unused}"
    assert sum(mode != "skip" for *_, mode in blocks) >= 7
    assert {mode for *_, mode in blocks} == {"run", "first", "deploy", "skip"}


def test_every_readme_command_parses():
    from tweetsent.cli import build_parser

    commands = [
        argv
        for lang, code, _ in planned_blocks()
        if lang == "bash"
        for argv in tweetsent_commands(code)
    ]
    assert len(commands) >= 20
    for argv in commands:
        try:
            build_parser().parse_args(argv)
        except SystemExit as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(
                f"README command does not parse (exit {exc.code}): tweetsent {shlex.join(argv)}"
            )


def _workdir(tmp_path: Path, smile_path: Path) -> tuple[Path, dict]:
    """A fresh project folder with ../shared/data beside it, as in a clone of the repository."""
    import pandas as pd

    (tmp_path / "shared").symlink_to(smile_path.parents[1], target_is_directory=True)
    work = tmp_path / "project"
    work.mkdir()
    texts = pd.read_csv(smile_path, header=None, names=["id", "text", "category"])["text"]
    pd.DataFrame({"text": texts.head(300)}).to_csv(work / "tweets.csv", index=False)
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
    env.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    return work, env


def _tiny(code: str, lang: str, tiny: Path) -> str:
    if lang == "python":
        return code.replace("epochs=3)", TINY_API.format(tiny=str(tiny)))
    lines = []
    for line in code.splitlines():
        if re.match(r"\s*tweetsent train ", line):
            line += " " + TINY_TRAIN.format(tiny=shlex.quote(str(tiny)))
        lines.append(line)
    return "\n".join(lines) + "\n"


def _run_readme(work: Path, env: dict) -> list[tuple[str, str, str]]:
    """Run every block that runs, as written, each in a fresh shell or interpreter, in README
    order; (code, stdout, stderr) of each."""
    results = []
    for lang, code, mode in planned_blocks():
        if mode == "skip":
            continue
        if lang == "bash":
            argv = ["bash", "-euo", "pipefail", "-c", code]
        else:
            argv = [sys.executable, "-c", code]
        proc = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True)
        assert proc.returncode == 0, (
            f"README block failed ({proc.returncode}):\n{code}\n{proc.stderr}"
        )
        assert "Traceback" not in proc.stderr, proc.stderr
        results.append((code, proc.stdout, proc.stderr))
    return results


def _check_promises(work: Path, results, chain: str | None = None) -> None:
    """What the README says the blocks (of one chain) print or write."""
    by_key = {key: (out, err) for code, out, err in results for key, *_ in PLAN if key in code}
    if chain in (None, "first"):
        out, err = by_key['tweetsent predict runs/smile "What a wonderful']
        predictions = [line for line in out.splitlines() if line.endswith("The queue was awful")]
        assert len(predictions) == 1
        assert "warning:" in err and "trained on" in err  # evaluate on the training file says so
        out, _ = by_key["from transformers import pipeline\npipe"]
        assert "'label':" in out
        out, err = by_key["from tweetsent import DataConfig"]
        assert "happy" in out and "trained on" in err
    if chain in (None, "deploy"):
        assert (work / "runs/smile/onnx/model_int8.onnx").is_file()
        merged = (work / "labelled.csv").read_bytes()
        assert merged.count(b"\n") > 300 and b"predicted_label" in merged.splitlines()[0]


# Two chains, so that pytest-xdist can run them side by side: loadscope sends each class to
# one process. Each starts from the quickstart training, as a reader who skips ahead would.
@pytest.mark.needs_shared_data
class TestReadmeFirstSteps:
    def test_runs_on_a_tiny_model(
        self, tmp_path, smile_path, tiny_backbone, run_cli, capsys, monkeypatch
    ):
        _run_chain(tmp_path, smile_path, tiny_backbone, "first", run_cli, capsys, monkeypatch)


@pytest.mark.needs_shared_data
class TestReadmeDeploy:
    def test_runs_on_a_tiny_model(
        self, tmp_path, smile_path, tiny_backbone, run_cli, capsys, monkeypatch
    ):
        _run_chain(tmp_path, smile_path, tiny_backbone, "deploy", run_cli, capsys, monkeypatch)


def _run_chain(tmp_path, smile_path, tiny_backbone, chain: str, run_cli, capsys, monkeypatch):
    work, _ = _workdir(tmp_path, smile_path)
    monkeypatch.chdir(work)
    results = []
    for lang, code, mode in planned_blocks():
        if mode not in ("run", chain):
            continue
        code = _tiny(code, lang, tiny_backbone)
        assert lang == "python" or "tweetsent train" not in code or str(tiny_backbone) in code
        if lang == "python":
            out, err = _exec_python_block(code, capsys)
        else:
            out, err = _run_shell_block(code, run_cli)
        assert "Traceback" not in err, err
        results.append((code, out, err))
    _check_promises(work, results, chain)


def _run_shell_block(code: str, run_cli) -> tuple[str, str]:
    """Each line is one ``tweetsent`` command (checked), run through the real ``cli.main``."""
    outs, errs = [], []
    for line in code.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        assert words[0] == "tweetsent", f"not a tweetsent command, run it in a shell: {line}"
        status, out, err = run_cli(*words[1:])
        assert status == 0, f"README line failed ({status}):\n{line}\n{err}"
        outs.append(out)
        errs.append(err)
    return "".join(outs), "".join(errs)


def _exec_python_block(code: str, capsys) -> tuple[str, str]:
    """The block as a script would run it, ``__name__`` ``"__main__"``, with logging as in a
    fresh interpreter: no handler anywhere, so warnings reach stderr through Python's last
    resort (pytest's own root handlers would otherwise take them)."""
    import logging

    library = logging.getLogger("tweetsent")
    saved = (library.handlers[:], library.level, library.propagate)
    library.handlers[:] = [logging.lastResort]
    library.level, library.propagate = logging.WARNING, False
    try:
        exec(compile(code, "<README block>", "exec"), {"__name__": "__main__"})
    finally:
        library.handlers[:], library.level, library.propagate = saved
    return capsys.readouterr()


@pytest.mark.slow
@pytest.mark.needs_shared_data
def test_readme_runs_as_written(tmp_path, smile_path):
    work, env = _workdir(tmp_path, smile_path)
    results = _run_readme(work, env)
    _check_promises(work, results)
    # The README's figures for the quickstart: about 0.87 on validation, 0.97 on its own data.
    import json

    metrics = json.loads((work / "runs/smile/metrics.json").read_text())
    assert metrics["validation"]["f1_weighted"] > 0.82
