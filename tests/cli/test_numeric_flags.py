"""Every numeric flag goes through one rule (the generated flags' and the hand-written ones'):
a value out of range is argparse's one-line usage error (exit 2), never a traceback from numpy
or scikit-learn deep in the work (issue "Nothing lost, round two", C1-C2)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tweetsent.cli import main

CLI = Path(__file__).resolve().parents[2] / "src" / "tweetsent" / "cli"

CASES = [
    ("train DATA --text-col text --label-col label --out OUT --seed -1", "--seed"),
    (
        "train DATA --text-col text --label-col label --out OUT --seed 99999999999999999999",
        "--seed",
    ),
    ("train DATA --text-col text --label-col label --out OUT --split-seed -1", "--split-seed"),
    ("suggest RUN --pool DATA --text-col text --n 5 --out OUT --seed -1", "--seed"),
    ("audit DATA --text-col text --label-col label --out OUT --seed -1", "--seed"),
    ("distill RUN --out OUT --seed -3", "--seed"),
    ("inspect DATA --text-col text --label-col label --limit 0", "--limit"),
    ("inspect DATA --text-col text --label-col label --limit -5", "--limit"),
    ("audit DATA --text-col text --label-col label --out OUT --limit 0", "--limit"),
    ("predict RUN --input DATA --text-col text --output OUT --chunk-size 0", "--chunk-size"),
    ("suggest RUN --pool DATA --text-col text --n 0 --out OUT", "--n"),
    ("train DATA --text-col text --label-col label --out OUT --lr -1", "--lr"),
]


@pytest.mark.parametrize(("command", "flag"), CASES, ids=[c for c, _ in CASES])
def test_a_bad_number_is_a_usage_error(command, flag, tiny_run, small_csv, tmp_path, capsys):
    argv = [
        {"DATA": str(small_csv), "RUN": str(tiny_run), "OUT": str(tmp_path / "out")}.get(w, w)
        for w in command.split()
    ]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2, err
    assert err.count("\n") == 1 and f"argument {flag}" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_no_numeric_flag_skips_its_rule():
    """``type=int`` / ``type=float`` would parse any number; flags take SEED, COUNT or their
    config field's rule (``tweetsent.rules.flag_type``). Floats are checked by the function
    they feed, which the cases above cover for the ones users meet."""
    for path in sorted(CLI.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "type":
                assert not (isinstance(node.value, ast.Name) and node.value.id == "int"), path
