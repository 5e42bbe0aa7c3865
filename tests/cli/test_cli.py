"""The command-line tool, run in-process through ``tweetsent.cli.main``."""

import csv
import json
import subprocess
import sys

import pytest

from tweetsent.cli import main


def test_train_evaluate_predict_round_trip(tmp_path, run_cli, train_argv, small_csv):
    run = tmp_path / "run"
    code, out, err = run_cli(*train_argv(out=run))
    assert code == 0, err
    assert "best epoch 1 of 1" in out and "f1_weighted" in out
    assert "epoch 1/1" in err  # the per-epoch summary line

    code, out, err = run_cli("evaluate", run, small_csv, "--json", tmp_path / "e.json")
    assert code == 0, err
    assert json.loads((tmp_path / "e.json").read_text())["rows"] == 90

    code, out, _ = run_cli("predict", run, "love great day", "hate awful")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 2 and lines[0].split("\t")[0] in {"angry", "happy", "neutral"}

    code, out, _ = run_cli("predict", run, "--input", small_csv, "--output", tmp_path / "p.csv")
    assert code == 0
    with open(tmp_path / "p.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 90
    assert {"text", "label", "predicted_label", "confidence", "p_happy"} <= set(rows[0])


def test_config_file_repeats_a_run_and_flags_override(tmp_path, run_cli, _tiny_run):
    out_dir = tmp_path / "again"
    code, out, err = run_cli(
        "train",
        "--config",
        _tiny_run / "config.json",
        "--out",
        out_dir,
        "--epochs",
        1,
        "--no-progress",
    )
    assert code == 0, err
    repeated = json.loads((out_dir / "config.json").read_text())
    original = json.loads((_tiny_run / "config.json").read_text())
    assert repeated["epochs"] == 1
    assert {k: v for k, v in repeated.items() if k != "epochs"} == {
        k: v for k, v in original.items() if k != "epochs"
    }


def test_inspect_prints_distribution_and_saves_plot(tmp_path, run_cli, small_csv):
    code, out, _ = run_cli(
        "inspect",
        small_csv,
        "--text-col",
        "text",
        "--label-col",
        "label",
        "--plot",
        tmp_path / "i.png",
    )
    assert code == 0
    assert "happy" in out and "33.3%" in out and "suggested --max-length" in out
    assert (tmp_path / "i.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["inspect", "{tmp}/missing.csv", "--preset", "smile"], "missing.csv: file not found"),
        (["inspect", "{csv}", "--text-col", "txt", "--label-col", "label"], "did you mean 'text'"),
        (
            [
                "train",
                "{csv}",
                "--text-col",
                "text",
                "--label-col",
                "label",
                "--out",
                "{tmp}/r",
                "--epochs",
                "0",
            ],
            "epochs must be a positive integer",
        ),
        (
            [
                "train",
                "{csv}",
                "--text-col",
                "text",
                "--label-col",
                "label",
                "--out",
                "{tmp}/r",
                "--val-size",
                "1.5",
            ],
            "val_size",
        ),
        (
            [
                "train",
                "{csv}",
                "--text-col",
                "text",
                "--label-col",
                "label",
                "--out",
                "{tmp}",
                "--epochs",
                "1",
            ],
            "already exists",
        ),
        (
            [
                "train",
                "{csv}",
                "--text-col",
                "text",
                "--label-col",
                "label",
                "--out",
                "{tmp}/r",
                "--model",
                "{tmp}/no-model",
            ],
            "model directory not found",
        ),
        (["predict", "{tmp}/no-run", "hello"], "not found"),
        (["evaluate", "{tmp}/no-run", "{csv}"], "not found"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(tmp_path, run_cli, small_csv, argv, fragment):
    (tmp_path / "occupied.txt").write_text("x")
    argv = [a.format(tmp=tmp_path, csv=small_csv) for a in argv]
    code, out, err = run_cli(*argv)
    assert code in (1, 2)  # 2: a usage error (a flag's value out of range)
    assert "Traceback" not in err
    error_lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and fragment in error_lines[0], err
    assert not (tmp_path / "r").exists() and not (tmp_path / "r.partial").exists()


def test_unknown_preset_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["inspect", "x.csv", "--preset", "nope"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_usage_error_is_one_line_with_the_closest_choice_and_a_help_hint(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["inspect", "x.csv", "--preset", "smiles"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "did you mean 'smile'?" in err and "tweetsent inspect --help" in err


def test_options_may_come_between_the_run_and_the_texts(run_cli, tiny_run):
    code, out, err = run_cli("predict", tiny_run, "--batch-size", 2, "love it", "hate it")
    assert code == 0, err
    assert [line.split("\t")[-1] for line in out.splitlines()] == ["love it", "hate it"]


def test_evaluate_warns_on_the_file_the_run_trained_on(run_cli, tiny_run, small_csv, tmp_path):
    code, _, err = run_cli("evaluate", tiny_run, small_csv)
    assert code == 0
    assert "warning:" in err and "trained on" in err
    held_out = tmp_path / "other.csv"  # other bytes: no warning
    held_out.write_text(small_csv.read_text().replace("day 1,", "day 100,"))
    code, _, err = run_cli("evaluate", tiny_run, held_out)
    assert code == 0 and "trained on" not in err


def test_python_dash_m_works():
    result = subprocess.run(
        [sys.executable, "-m", "tweetsent", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("inspect", "train", "evaluate", "predict"):
        assert command in result.stdout


def test_predict_input_says_it_used_the_runs_data_options(run_cli, tiny_run, tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("id,tweet\n1,love it\n")
    code, _, err = run_cli("predict", tiny_run, "--input", other, "--output", tmp_path / "o.csv")
    assert code == 1
    assert "run's data options" in err and "--text-col" in err
    code, _, err = run_cli(
        "predict", tiny_run, "--input", other, "--output", tmp_path / "o.csv", "--text-col", "tweet"
    )
    assert code == 0, err


@pytest.mark.slow  # ~9 s: a fresh interpreter piped into one that leaves
def test_a_reader_that_leaves_early_stops_the_output_quietly(onnx_run, subprocess_env):
    """`tweetsent predict RUN ... | head -1`: no "Broken pipe" error, no traceback. (The
    ONNX-exported run: the same output path, a process that starts without torch.)"""

    texts = [f"tweet number {i} with a few more words to fill the pipe" for i in range(3000)]
    cmd = [sys.executable, "-m", "tweetsent", "predict", str(onnx_run), *texts]
    proc = subprocess.Popen(
        cmd, env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    first = proc.stdout.readline()
    proc.stdout.close()  # what head does after its line
    stderr = proc.stderr.read()
    assert proc.wait(timeout=120) == 141, stderr
    assert "\ttweet number 0 " in first
    assert "Broken pipe" not in stderr and "Traceback" not in stderr, stderr
