"""The README and every docs page run as written (``tests/docs_blocks.py`` says how).

- Fast, in the default suite: every block is run or skipped for a machine this one is not;
  every documented ``tweetsent`` command parses; the README's quickstart runs on a tiny model
  (each ``tweetsent`` line through ``cli.main`` in this process, trainings on 600 rows for one
  epoch: a fresh interpreter per line would spend most of the time importing torch).
- ``slow`` (CI's slow step): every page, each block in a fresh shell or interpreter, with the
  backbone a tiny random BERT (``TWEETSENT_MODEL``); and the README with no change at all: the
  full quickstart training with the embedded MiniLM.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.docs_blocks import (
    QUICKSTART,
    README,
    SKIP_REASONS,
    Runner,
    page_blocks,
    pages,
    project,
    run_page,
    tweetsent_commands,
)

pytestmark = pytest.mark.needs_shared_data

# The one change the fast README run makes: trainings use the tiny model on few rows.
TINY_FLAGS = "--epochs 1 --limit 600 --max-length 32"


def test_every_block_runs_or_is_skipped_for_a_machine_this_is_not():
    blocks = [b for page in pages() for b in page_blocks(page)]
    assert len(blocks) >= 40 and {b.page for b in blocks} >= {"README.md", "training.md"}
    for block in blocks:
        assert block.directive in ("", "background") or block.skipped, block
        if block.skipped:
            assert any(reason in block.directive for reason in SKIP_REASONS), block


def test_every_documented_command_parses():
    from tweetsent.cli import build_parser

    commands = [
        argv
        for page in pages()
        for block in page_blocks(page)
        if block.lang == "bash"
        for argv in tweetsent_commands(block.code)
    ]
    assert len(commands) >= 40
    for argv in commands:
        try:
            build_parser().parse_args(argv)
        except SystemExit as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(f"documented command does not parse ({exc.code}): {shlex.join(argv)}")


def test_readme_quickstart_on_a_tiny_model(
    tmp_path, smile_path, tiny_backbone, run_cli, capsys, monkeypatch
):
    work, env = project(tmp_path, smile_path.parents[1], tiny_backbone)
    monkeypatch.chdir(work)
    monkeypatch.setenv("TWEETSENT_MODEL", str(tiny_backbone))
    runner = Runner(work, env)
    outputs = {}
    try:
        for block in page_blocks(README):
            if block.skipped or block.code.startswith("pip install"):
                continue  # installing: CI's own first step
            if block.background:
                runner.run(block)
            elif block.lang == "python":
                code = block.code.replace("epochs=2,", "epochs=1, limit=600, max_length=32,")
                outputs[block.code] = _exec_python(code, capsys)
            else:
                outputs[block.code] = _run_shell(block.code, run_cli, work, env)
    finally:
        runner.stop()
    _check_readme_promises(work, outputs)


def _run_shell(code: str, run_cli, work: Path, env: dict) -> tuple[str, str]:
    """``tweetsent`` lines through ``cli.main`` (trainings made tiny), the rest in a shell."""
    outs, errs = [], []
    for line in code.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        if words[0] == "tweetsent":
            if words[1] == "train":
                words += TINY_FLAGS.split()
            status, out, err = run_cli(*words[1:])
        else:
            proc = subprocess.run(
                line, shell=True, cwd=work, env=env, capture_output=True, text=True
            )
            status, out, err = proc.returncode, proc.stdout, proc.stderr
        assert status == 0, f"README line failed ({status}):\n{line}\n{err}"
        outs.append(out)
        errs.append(err)
    return "".join(outs), "".join(errs)


def _exec_python(code: str, capsys) -> tuple[str, str]:
    """The block as a script would run it, with logging as in a fresh interpreter (no handler:
    warnings reach stderr through Python's last resort)."""
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


def _output_of(outputs: dict, start: str) -> tuple[str, str]:
    return next(v for code, v in outputs.items() if code.startswith(start))


def _check_readme_promises(work: Path, outputs: dict) -> None:
    """What the README says its blocks print or write."""
    out, err = _output_of(outputs, 'tweetsent predict runs/smile "What a wonderful')
    assert len([line for line in out.splitlines() if line.endswith("The queue was awful")]) == 1
    assert "warning:" in err and "trained on" in err  # evaluate on the training file says so
    out, _ = _output_of(outputs, "head -n 40 runs/smile/report.md")
    assert "report.md" in out or "# " in out
    labelled = (work / "labelled.csv").read_text(encoding="utf-8").splitlines()
    assert len(labelled) == 301 and labelled[0].startswith("text,label,predicted_label")
    out, _ = _output_of(outputs, "curl -s localhost:8000/predict")
    assert len(json.loads(out)["predictions"]) == 2
    out, _ = _output_of(outputs, "from transformers import pipeline")
    assert "'label':" in out
    out, _ = _output_of(outputs, "from tweetsent import DataConfig")
    assert re.search(r"\['\w", out)


@pytest.fixture(scope="module")
def quickstart_run(tmp_path_factory, smile_path, tiny_backbone) -> Path:
    """``runs/smile`` as the quickstart's command writes it (the tiny backbone), for the pages
    that start from it."""
    work, env = project(tmp_path_factory.mktemp("quickstart"), smile_path.parents[1], tiny_backbone)
    subprocess.run(
        ["bash", "-euo", "pipefail", "-c", QUICKSTART],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
    )
    return work / "runs" / "smile"


@pytest.mark.slow
@pytest.mark.parametrize("page", pages(), ids=lambda p: p.name)
def test_page_runs_as_written(page, tmp_path, smile_path, tiny_backbone, quickstart_run):
    work, env = project(tmp_path, smile_path.parents[1], tiny_backbone)
    text = page.read_text(encoding="utf-8")
    if QUICKSTART not in text:  # a page that starts from the quickstart's run
        shutil.copytree(quickstart_run, work / "runs" / "smile")
    _tweets_csv(work, smile_path)
    results = run_page(page, work, env)
    runnable = [b for b in page_blocks(page) if not b.skipped]
    assert len(results) == len(runnable)  # every block that is not a cluster's ran, in order


def _tweets_csv(work: Path, smile_path: Path) -> None:
    """``tweets.csv``: the file of a user's own tweets the pages label (SMILE's first 300)."""
    import pandas as pd

    texts = pd.read_csv(smile_path, header=None, names=["id", "text", "category"])["text"]
    pd.DataFrame({"text": texts.head(300)}).to_csv(work / "tweets.csv", index=False)


@pytest.mark.slow
def test_readme_runs_as_written_with_the_embedded_model(tmp_path, smile_path, monkeypatch):
    monkeypatch.delenv("TWEETSENT_MODEL", raising=False)
    work, env = project(tmp_path, smile_path.parents[1], Path("unused"))
    env.pop("TWEETSENT_MODEL")
    results = run_page(README, work, env)
    assert len(results) >= 8
    metrics = json.loads((work / "runs/smile/metrics.json").read_text())
    assert metrics["validation"]["f1_weighted"] > 0.82  # the README says about 0.87
