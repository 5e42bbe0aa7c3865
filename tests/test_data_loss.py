"""Nothing a user keeps is lost: every command that writes refuses to replace what it must not.

Each case is a repro of a hostile run against an earlier main (issue "Nothing lost, round
two", part A); the guards live in ``RunDir`` and ``fileio``, so each is tested here once per
command that writes.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.conftest import cli_flags

DATA = ("--text-col", "text", "--label-col", "label")


def _outputs(run, data, target):
    """Each command of tweetsent that writes one file, writing it to ``target``."""
    return {
        "evaluate --json": ["evaluate", run, data, *DATA, "--json", target],
        "inspect --json": ["inspect", data, *DATA, "--json", target],
        "inspect --plot": ["inspect", data, *DATA, "--plot", target],
        "baseline --json": ["baseline", data, *DATA, "--json", target],
        "audit --out": ["audit", data, *DATA, "--out", target],
        "suggest --out": [
            "suggest",
            run,
            "--pool",
            data,
            "--text-col",
            "text",
            "--n",
            "5",
            "--out",
            target,
        ],
        "predict --output": [
            "predict",
            run,
            "--input",
            data,
            "--text-col",
            "text",
            "--output",
            target,
        ],
    }


COMMANDS = list(_outputs("r", "d", "t"))


@pytest.mark.parametrize("command", COMMANDS)
def test_output_equal_to_an_input_is_refused_and_the_input_kept(
    command, tiny_run, small_csv, tmp_path, run_cli
):
    data = tmp_path / "s.csv"
    shutil.copy(small_csv, data)
    before = data.read_bytes()
    code, _, err = run_cli(*_outputs(tiny_run, data, data)[command])
    assert code != 0
    assert "s.csv" in err and "input" in err
    assert data.read_bytes() == before


@pytest.mark.parametrize("command", COMMANDS)
def test_an_output_that_is_a_fifo_or_a_directory_is_refused(
    command, tiny_run, small_csv, tmp_path, run_cli
):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    code, _, err = run_cli(*_outputs(tiny_run, small_csv, fifo)[command])
    assert code != 0 and "pipe" in err
    assert fifo.exists() and not fifo.is_file()  # still the pipe, not replaced
    folder = tmp_path / "d"
    folder.mkdir()
    code, _, err = run_cli(*_outputs(tiny_run, small_csv, folder)[command])
    assert code != 0
    assert folder.is_dir() and not list(tmp_path.glob("*.tmp*")), list(tmp_path.iterdir())


def test_a_character_device_is_never_replaced(small_csv, tmp_path, run_cli):
    if os.geteuid() != 0:
        pytest.skip("mknod of a character device needs root")
    device = tmp_path / "fakenull"
    os.mknod(device, 0o666 | 0o020000, os.makedev(1, 3))
    code, _, err = run_cli("inspect", small_csv, *DATA, "--plot", device)
    assert code != 0 and "character device" in err
    assert not device.is_file()


def _train(train_argv, out, *extra, data=None):
    argv = train_argv(out=out) if data is None else train_argv(data=data, out=out)
    return [*argv, *extra]


def test_a_partial_folder_tweetsent_did_not_make_is_kept(train_argv, tmp_path, run_cli):
    keep = tmp_path / "keep.partial"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    code, _, err = run_cli(*_train(train_argv, tmp_path / "keep"))
    assert code == 1 and "keep.partial" in err and "not created by tweetsent" in err
    assert (keep / "notes.txt").read_text() == "mine"


def test_data_inside_the_partial_folder_is_not_deleted(train_argv, small_csv, tmp_path, run_cli):
    folder = tmp_path / "d2.partial"
    folder.mkdir()
    data = folder / "data.csv"
    shutil.copy(small_csv, data)
    code, _, err = run_cli(*_train(train_argv, tmp_path / "d2", data=data))
    assert code == 1 and "data" in err
    assert data.read_bytes() == small_csv.read_bytes()


def test_cv_keeps_a_partial_folder_it_did_not_make(train_argv, tmp_path, run_cli):
    keep = tmp_path / "cv.partial"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    code, _, err = run_cli(*_train(train_argv, tmp_path / "cv", "--cv", "2"))
    assert code == 1 and "cv.partial" in err
    assert (keep / "notes.txt").read_text() == "mine"


def test_a_symlink_does_not_hide_the_data_inside_the_run(
    tiny_run, train_argv, small_csv, tmp_path, run_cli
):
    data = tiny_run / "mydata.csv"
    shutil.copy(small_csv, data)
    link = tmp_path / "lnk"
    link.symlink_to(tiny_run)
    code, _, err = run_cli(*_train(train_argv, tiny_run, "--overwrite", data=link / "mydata.csv"))
    assert code == 1 and "mydata.csv" in err
    assert data.is_file()


def test_the_symlink_guard_itself_resolves_paths(tiny_run, tmp_path):
    from tweetsent.errors import ConfigError
    from tweetsent.rundir import RunDir

    (tiny_run / "x.csv").write_text("a")
    link = tmp_path / "lnk"
    link.symlink_to(tiny_run)
    with pytest.raises(ConfigError, match="holds the data file"):
        RunDir(tiny_run).check_holds_none_of([link / "x.csv"])


def test_overwrite_refuses_a_folder_shaped_like_a_run_that_tweetsent_did_not_write(
    train_argv, tmp_path, run_cli
):
    proj = tmp_path / "proj"
    (proj / "model").mkdir(parents=True)
    (proj / "src").mkdir()
    (proj / "metrics.json").write_text("{}")
    (proj / "model" / "my.pt").write_text("weights")
    (proj / "src" / "train.py").write_text("code")
    (proj / "NOTES.md").write_text("notes")
    code, _, err = run_cli(*_train(train_argv, proj, "--overwrite"))
    assert code == 1 and "not written by tweetsent" in err
    assert (proj / "src" / "train.py").is_file() and (proj / "NOTES.md").is_file()


def test_overwrite_refuses_a_run_holding_files_a_run_does_not(tiny_run, train_argv, run_cli):
    (tiny_run / "NOTES.md").write_text("my notes")
    code, _, err = run_cli(*_train(train_argv, tiny_run, "--overwrite"))
    assert code == 1 and "NOTES.md" in err
    assert (tiny_run / "NOTES.md").read_text() == "my notes"


def test_overwrite_replaces_a_run_tweetsent_wrote_and_its_exports(tiny_run, train_argv, run_cli):
    from tweetsent.export import export_onnx

    export_onnx(tiny_run)
    code, _, err = run_cli(*_train(train_argv, tiny_run, "--overwrite"))
    assert code == 0, err
    assert not (tiny_run / "onnx").exists()  # the new run has no export yet
    assert (tiny_run / ".tweetsent-run").is_file()


@pytest.mark.parametrize("out", ["same", "inside"])
def test_distill_never_replaces_its_teacher(out, tiny_run, run_cli):
    before = (tiny_run / "model" / "config.json").read_bytes()
    target = tiny_run if out == "same" else tiny_run / "student"
    code, _, err = run_cli("distill", tiny_run, "--out", target, "--overwrite")
    assert code == 1 and "it is made from" in err
    assert (tiny_run / "model" / "config.json").read_bytes() == before


def test_an_export_waits_for_no_one_and_leaves_the_other_intact(tiny_run, run_cli):
    from tweetsent.rundir import RunDir

    with RunDir(tiny_run).lock().held():  # another process exporting (or training) this run
        code, _, err = run_cli("export", tiny_run)
    assert code == 1 and "another tweetsent process" in err
    assert not (tiny_run / "onnx").exists() and not (tiny_run / ".onnx.partial").exists()
    code, out, err = run_cli("export", tiny_run, "--quantize", "int8")
    assert code == 0, err
    assert {"model.onnx", "model_int8.onnx"} <= {p.name for p in (tiny_run / "onnx").iterdir()}


def test_audit_work_dir_of_someone_elses_files_is_refused(small_csv, tmp_path, run_cli):
    work = tmp_path / "wd"
    (work / "fold-1").mkdir(parents=True)
    (work / "fold-1" / "train.csv").write_text("mine")
    code, _, err = run_cli(
        "audit",
        small_csv,
        *DATA,
        "--mode",
        "finetune",
        "--work-dir",
        work,
        "--out",
        tmp_path / "audit.csv",
        *cli_flags({"epochs": 1}),
    )
    assert code == 1 and "--work-dir" in err
    assert (work / "fold-1" / "train.csv").read_text() == "mine"


def test_a_failed_plot_leaves_no_temporary_file(small_csv, tmp_path, run_cli):
    folder = tmp_path / "d"
    folder.mkdir()
    code, _, _ = run_cli("inspect", small_csv, *DATA, "--plot", folder)
    assert code == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_predict_never_replaces_a_file_that_is_not_its_own_output(
    tiny_run, small_csv, tmp_path, run_cli
):
    other = tmp_path / "other.csv"
    other.write_text("name,notes\nann,keep me\n")
    argv = ["predict", tiny_run, "--input", small_csv, "--text-col", "text", "--output", other]
    code, _, err = run_cli(*argv)
    assert code == 1 and "not a prediction output" in err and "--overwrite" in err
    assert other.read_text() == "name,notes\nann,keep me\n"
    code, _, err = run_cli(*argv, "--overwrite")
    assert code == 0, err
    assert other.read_text().splitlines()[0].startswith("text,label,predicted_label")
    code, _, err = run_cli(*argv)  # its own earlier output: replaced as before
    assert code == 0, err


def test_merge_never_replaces_a_file_that_is_not_a_prediction(
    tiny_run, small_csv, tmp_path, run_cli
):
    out = tmp_path / "labelled.csv"
    base = ["predict", tiny_run, "--input", small_csv, "--text-col", "text", "--output", out]
    for part in ("0/2", "1/2"):
        assert run_cli(*base, "--shard", part)[0] == 0
    out.write_text("my,own\n1,2\n")
    code, _, err = run_cli("predict", tiny_run, "--output", out, "--merge")
    assert code == 1 and "not a prediction output" in err
    assert out.read_text() == "my,own\n1,2\n"


def test_output_with_tweets_as_arguments_is_an_error_not_ignored(tiny_run, tmp_path, run_cli):
    code, out, err = run_cli("predict", tiny_run, "--output", tmp_path / "f.csv", "a tweet")
    assert code == 1 and "--output applies to --input" in err and out == ""
