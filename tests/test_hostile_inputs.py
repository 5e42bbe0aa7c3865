"""Silent wrong results and tracebacks a hostile run found (issue "Nothing lost, round two",
parts B and C): each is now a refusal in one line, or the right result."""

from __future__ import annotations

import json
import shutil


def test_utf16_asked_for_a_file_without_a_bom_is_one_line(tiny_run, small_csv, tmp_path, run_cli):
    code, _, err = run_cli(
        "predict", tiny_run, "--input", small_csv, "--text-col", "text", "--encoding", "utf-16",
        "--output", tmp_path / "o.csv",
    )  # fmt: skip
    assert code == 1 and "Traceback" not in err
    assert "cannot be decoded as utf-16" in err and str(small_csv) in err


def test_a_damaged_temperature_is_one_line_naming_the_file(tiny_run, run_cli):
    config_file = tiny_run / "model" / "config.json"
    saved = json.loads(config_file.read_text())
    saved["tweetsent_temperature"] = "abc"
    config_file.write_text(json.dumps(saved))
    code, _, err = run_cli("predict", tiny_run, "a tweet")
    assert code == 1 and "Traceback" not in err
    assert "tweetsent_temperature must be a positive number, got 'abc'" in err


def test_the_same_label_twice_in_id2label_is_refused(tiny_run, run_cli):
    config_file = tiny_run / "model" / "config.json"
    saved = json.loads(config_file.read_text())
    first = saved["id2label"]["0"]
    saved["id2label"]["1"] = first
    config_file.write_text(json.dumps(saved))
    code, _, err = run_cli("predict", tiny_run, "a tweet")
    assert code == 1 and f"id2label names {first!r} more than once" in err


def test_a_val_file_with_the_training_data_is_refused(train_argv, small_csv, tmp_path, run_cli):
    copy = tmp_path / "copy.csv"
    shutil.copy(small_csv, copy)
    for val in (small_csv, copy):
        code, _, err = run_cli(*train_argv(out=tmp_path / "r"), "--val-file", val)
        assert code == 1 and "holds the same data as the training file" in err
    assert not (tmp_path / "r").exists()


def test_a_run_names_its_data_absolutely_and_repeats_only_on_the_same_bytes(
    train_argv, small_csv, tmp_path, monkeypatch, run_cli
):
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(small_csv, work / "data.csv")
    monkeypatch.chdir(work)
    assert run_cli(*train_argv(data="data.csv", out="run"))[0] == 0
    saved = json.loads((work / "run" / "config.json").read_text())
    assert saved["data_path"] == str(work / "data.csv")  # not "data.csv"
    # From another folder holding another data.csv, --config still means the run's own file.
    other = tmp_path / "other"
    other.mkdir()
    (other / "data.csv").write_text("text,label\nnot,this\n")
    monkeypatch.chdir(other)
    code, _, err = run_cli("train", "--config", work / "run" / "config.json", "--out", "again")
    assert code == 0, err
    assert (
        json.loads((other / "again" / "config.json").read_text())["data_path"] == saved["data_path"]
    )
    # The run's own file changed since: repeating it would train on other data, so it says so.
    with open(work / "data.csv", "a") as handle:
        handle.write("brand new row,happy\n")
    code, _, err = run_cli("train", "--config", work / "run" / "config.json", "--out", "third")
    assert code == 1 and "differs from the file" in err and not (other / "third").exists()


def test_a_byte_order_mark_wins_over_a_presets_encoding(tmp_path):
    """COVID's preset reads ISO-8859-1; its shipped test file is UTF-8 with a BOM, and 66 of 300
    tweets came out double-encoded (hostile run, B5). The BOM says what the file is."""
    from tweetsent.config import DataConfig
    from tweetsent.data.reading import load_texts

    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "text\ncan’t stop café ☕\n".encode())
    texts = load_texts(path, DataConfig(text_col="text", encoding="ISO-8859-1"))
    assert texts == ["can’t stop café ☕"]
