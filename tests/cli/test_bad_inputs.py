"""Every bad input of issue #6 through the real CLI, in-process: one ``error:`` line naming the
file or field, a non-zero exit, no traceback, and nothing written."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from tweetsent.cli import main

GOOD = "text,label\n" + "".join(
    f"{w} day {i},{label}\n"
    for i in range(8)
    for w, label in (("love", "happy"), ("hate", "angry"), ("museum", "neutral"))
)


def _write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _corrupt_model(tmp: Path, backbone: Path) -> Path:
    import shutil

    model = tmp / "corrupt-model"
    shutil.copytree(backbone, model)
    (model / "model.safetensors").write_bytes(b"\x00garbage" * 100)
    return model


def _cols(path) -> list[str]:
    return [str(path), "--text-col", "text", "--label-col", "label"]


# Each case: (id, setup(tmp, fixtures) -> argv, text the error line must contain).
# "out" is always tmp/"out"; the test checks neither it nor its staging dir appears.
CASES = [
    ("missing file", lambda t, f: ["train", *_cols(t / "nope.csv")], "nope.csv: file not found"),
    (
        "empty file",
        lambda t, f: ["train", *_cols(_write(t / "empty.csv", ""))],
        "empty.csv: file is empty",
    ),
    ("directory", lambda t, f: ["train", *_cols(t)], "is a directory"),
    (
        "unknown preset (flag)",
        lambda t, f: ["train", str(_write(t / "d.csv", GOOD)), "--preset", "smiel"],
        "invalid choice: 'smiel'",
    ),
    (
        "unknown preset (config file)",
        lambda t, f: [
            "train",
            "--config",
            str(
                _write(
                    t / "c.json",
                    json.dumps(
                        {"data_path": str(_write(t / "d.csv", GOOD)), "data": {"preset": "smiel"}}
                    ),
                )
            ),
        ],
        "unknown preset 'smiel'; choose one of smile, covid, climate, cola; did you mean 'smile'",
    ),
    (
        "wrong text column",
        lambda t, f: [
            "train",
            str(_write(t / "d.csv", GOOD)),
            "--text-col",
            "txt",
            "--label-col",
            "label",
        ],
        "d.csv: no column 'txt'; did you mean 'text'?",
    ),
    (
        "wrong label column (case)",
        lambda t, f: [
            "train",
            str(_write(t / "d.csv", GOOD)),
            "--text-col",
            "text",
            "--label-col",
            "Label",
        ],
        "no column 'Label'; did you mean 'label'?",
    ),
    (
        "header only",
        lambda t, f: ["train", *_cols(_write(t / "h.csv", "text,label\n"))],
        "h.csv: no usable rows after cleaning (the file has no data rows)",
    ),
    (
        "all texts empty or NaN",
        lambda t, f: ["train", *_cols(_write(t / "e.csv", 'text,label\n,a\n"  ",b\n,a\n'))],
        "e.csv: no usable rows after cleaning (3 empty text)",
    ),
    (
        "all labels missing",
        lambda t, f: ["train", *_cols(_write(t / "l.csv", "text,label\nhi,\nho,\n"))],
        "l.csv: no usable rows after cleaning (2 missing label)",
    ),
    (
        "one class only",
        lambda t, f: ["train", *_cols(_write(t / "o.csv", "text,label\na,x\nb,x\nc,x\n"))],
        "o.csv: only one class ('x')",
    ),
    (
        "a class with one row",
        lambda t, f: ["train", *_cols(_write(t / "s.csv", GOOD + "lonely tweet,solo\n"))],
        "class 'solo' has only 1 row",
    ),
    (
        "unknown label in a validation file",
        lambda t, f: [
            "train",
            *_cols(_write(t / "d.csv", GOOD)),
            "--val-file",
            str(_write(t / "v.csv", "text,label\nhmm,confused\nlove it,happy\n")),
        ],
        "v.csv: label(s) absent from the training data: confused",
    ),
    (
        "unknown label in evaluation data",
        lambda t, f: [
            "evaluate",
            str(f["run"]),
            *_cols(_write(t / "v.csv", "text,label\nhmm,confused\nlove it,happy\n")),
        ],
        "v.csv: label(s) the model was not trained on: confused",
    ),
    (
        "undecodable bytes without --encoding",
        lambda t, f: [
            "train",
            *_cols(
                _write(
                    t / "u.csv",
                    GOOD.encode()
                    + "caf\u00e9,happy\n".encode("cp1252")
                    + b"bad \x81\x9d bytes,angry\n",
                )
            ),
        ],
        "u.csv: neither UTF-8 (line 26, byte 0xe9) nor cp1252 (line 27, byte 0x81)",
    ),
    (
        "undecodable bytes with --encoding",
        lambda t, f: [
            "train",
            *_cols(_write(t / "u.csv", b"text,label\n\xff\xfe,a\n")),
            "--encoding",
            "ascii",
        ],
        "u.csv: cannot be decoded as ascii (line 2, byte 0xff)",
    ),
    (
        "binary garbage",
        lambda t, f: ["train", *_cols(_write(t / "g.csv", random.Random(0).randbytes(4096)))],
        "g.csv: looks like a binary file",
    ),
    (
        "binary garbage as parquet",
        lambda t, f: ["train", *_cols(_write(t / "g.parquet", b"PAR1" + b"\x01" * 64))],
        "g.parquet: not a readable Parquet file",
    ),
    (
        "malformed quoting",
        lambda t, f: ["train", *_cols(_write(t / "q.csv", 'text,label\n"open quote,a\nb,c\n'))],
        "q.csv: malformed CSV",
    ),
    (
        "ragged rows",
        lambda t, f: ["train", *_cols(_write(t / "r.csv", "text,label\na,b\nc,d,e,f\n"))],
        "r.csv: malformed CSV",
    ),
    (
        "first row longer than the header",  # pandas would take "hello" as an index, silently
        lambda t, f: [
            "train",
            *_cols(_write(t / "h.csv", "text,label\nhello, world,happy\nfoo,sad\n")),
        ],
        "h.csv: the first row has more fields than the header (2); quote a text that holds a comma",
    ),
    (
        "model directory missing",
        lambda t, f: ["train", *_cols(_write(t / "d.csv", GOOD)), "--model", str(t / "no-model")],
        "no-model: model directory not found",
    ),
    (
        "model directory empty",
        lambda t, f: [
            "train",
            *_cols(_write(t / "d.csv", GOOD)),
            "--model",
            str(_mkdir(t / "empty-model")),
        ],
        "empty-model: not a model directory (no config.json)",
    ),
    (
        "model directory corrupt",
        lambda t, f: [
            "train",
            *_cols(_write(t / "d.csv", GOOD)),
            "--model",
            str(_corrupt_model(t, f["backbone"])),
        ],
        "corrupt-model: cannot load the model",
    ),
    (
        "pickle-only model without --allow-pickle",
        lambda t, f: ["train", *_cols(_write(t / "d.csv", GOOD)), "--model", str(_pickle_model(t))],
        "holds only pickle weights (pytorch_model.bin)",
    ),
    (
        "run directory corrupt (predict)",
        lambda t, f: ["predict", str(_corrupt_run(t, f["run"])), "hello"],
        "model: corrupt or unreadable model",
    ),
    (
        "existing RUN_DIR without --overwrite",
        lambda t, f: ["train", *_cols(_write(t / "d.csv", GOOD)), "--out", str(_run_copy(t, f))],
        "existing: run directory already exists; pass --overwrite",
    ),
    (
        "--overwrite on a folder that is not a run",
        lambda t, f: [
            "train",
            *_cols(_write(t / "d.csv", GOOD)),
            "--out",
            str(_existing(t)),
            "--overwrite",
        ],
        "existing: already exists and is not a tweetsent run directory (it holds keep.txt)",
    ),
    (
        "--overwrite on the folder holding the data",
        lambda t, f: [
            "train",
            *_cols(_write(_mkdir(t / "ow") / "train.csv", GOOD)),
            "--out",
            str(t / "ow"),
            "--overwrite",
        ],
        "ow: holds the data file",
    ),
    (
        "--overwrite on a run that holds the data",
        lambda t, f: [
            "train",
            *_cols(_write(_run_copy(t, f) / "train.csv", GOOD)),
            "--out",
            str(t / "existing"),
            "--overwrite",
        ],
        "existing: holds the data file",
    ),
    (
        "predict --output is a device",
        lambda t, f: [
            "predict",
            str(f["run"]),
            "--input",
            str(_write(t / "in.csv", GOOD)),
            "--text-col",
            "text",
            "--output",
            "/dev/null",
        ],
        "/dev/null: is a character device; the output must be a regular file name",
    ),
    (
        "evaluate --json is a device",
        lambda t, f: [
            "evaluate",
            str(f["run"]),
            *_cols(_write(t / "d.csv", GOOD)),
            "--json",
            "/dev/null",
        ],
        "/dev/null: is a character device; the output must be a regular file name",
    ),
    (
        "predict input has a column named like ours",
        lambda t, f: [
            "predict",
            str(f["run"]),
            "--input",
            str(_write(t / "in.csv", "text,confidence\nhello,high\n")),
            "--text-col",
            "text",
            "--output",
            str(t / "labelled.csv"),
        ],
        "in.csv: has a column named 'confidence', which the output uses",
    ),
    (
        "--val-size above 1",
        lambda t, f: ["train", *_cols(_write(t / "d.csv", GOOD)), "--val-size", "1.5"],
        "val_size must be between 0 and 1 (exclusive), got 1.5",
    ),
    (
        "--val-size zero",
        lambda t, f: ["train", *_cols(_write(t / "d.csv", GOOD)), "--val-size", "0"],
        "val_size must be between 0 and 1",
    ),
    (
        "--val-size too small for the classes",
        lambda t, f: ["train", *_cols(_write(t / "d.csv", GOOD)), "--val-size", "0.01"],
        "cannot be split 99%/1% with every one of the 3 classes on both sides",
    ),
    (
        "zero epochs",
        lambda t, f: ["train", *_cols(_write(t / "d.csv", GOOD)), "--epochs", "0"],
        "epochs must be a positive integer or auto, got 0",
    ),
    (
        "negative epochs",
        lambda t, f: ["train", *_cols(_write(t / "d.csv", GOOD)), "--epochs", "-2"],
        "epochs must be a positive integer or auto, got -2",
    ),
    (
        "zero batch size",
        lambda t, f: ["train", *_cols(_write(t / "d.csv", GOOD)), "--batch-size", "0"],
        "batch_size must be a positive integer or auto, got 0",
    ),
    (
        "zero learning rate",
        lambda t, f: ["train", *_cols(_write(t / "d.csv", GOOD)), "--lr", "0"],
        "lr must be a positive number, got 0.0",
    ),
    (
        "negative learning rate",
        lambda t, f: ["train", *_cols(_write(t / "d.csv", GOOD)), "--lr=-1e-5"],
        "lr must be a positive number, got -1e-05",
    ),
    (
        "zero --save-steps",
        lambda t, f: ["train", *_cols(_write(t / "d.csv", GOOD)), "--save-steps", "0"],
        "save_steps must be a positive integer, got 0",
    ),
    (
        "--fp16 without a GPU",
        lambda t, f: ["train", *_cols(_write(t / "d.csv", GOOD)), "--fp16"],
        "fp16 mixed precision needs a CUDA GPU",
    ),
    (
        "--resume with nothing to resume",
        lambda t, f: ["train", "--resume", str(t / "out")],
        "out: no interrupted run to resume",
    ),
    (
        "--resume with changed settings",
        lambda t, f: ["train", "--resume", str(t / "out"), "--epochs", "3"],
        "--resume continues",
    ),
    (
        "no --out",
        lambda t, f: ["train", *_cols(_write(t / "d.csv", GOOD))],
        "one of the arguments --out --resume is required",
    ),
    # --- issue 15: nothing silent, no tracebacks ---
    (
        "run without model/tokenizer.json (predict)",
        lambda t, f: ["predict", str(_run_without(t, f["run"], "tokenizer.json")), "hello"],
        "model: no tokenizer files (one of tokenizer.json, vocab.txt",
    ),
    (
        "run without model/tokenizer.json (export)",
        lambda t, f: ["export", str(_run_without(t, f["run"], "tokenizer.json"))],
        "model: no tokenizer files",
    ),
    (
        "run whose weights have no classification head (predict)",
        lambda t, f: ["predict", str(_bare_encoder_run(t, f)), "hello"],
        "model: the weights have no classification head (classifier.bias, classifier.weight",
    ),
    (
        "run whose weights have no classification head (evaluate)",
        lambda t, f: ["evaluate", str(_bare_encoder_run(t, f)), *_cols(_write(t / "d.csv", GOOD))],
        "the weights have no classification head",
    ),
    (
        "bare encoder directory (serve)",
        lambda t, f: ["serve", str(f["backbone"]), "--host", "999.0.0.1"],  # no server if loaded
        "config.json: no id2label (label names), so not a fine-tuned classifier",
    ),
    (
        "id2label with a gap (predict)",
        lambda t, f: ["predict", str(_id2label_gap(t, f["run"])), "hello"],
        "config.json: id2label has no label for id 1 (ids 0, 2, 3)",
    ),
    (
        "JSON Lines file with a null line",
        lambda t, f: [
            "train",
            *_cols(_write(t / "n.jsonl", '{"text": "a", "label": "x"}\nnull\n')),
        ],
        "n.jsonl: malformed JSON Lines (line 2: null is not a JSON object)",
    ),
    (
        "JSON Lines file with a list line (predict)",
        lambda t, f: [
            "predict",
            str(f["run"]),
            "--input",
            str(_write(t / "n.jsonl", '{"text": "a"}\n[1, 2]\n')),
            "--output",
            str(t / "o.csv"),
            "--text-col",
            "text",
        ],
        "n.jsonl: malformed JSON Lines (line 2: [1, 2] is not a JSON object)",
    ),
    (  # the folder we are in (the repository when testing): not a run, so never replaced
        "--out .",
        lambda t, f: ["train", *_cols(_write(t / "d.csv", GOOD)), "--out", "."],
        "already exists and is not a tweetsent run directory",
    ),
    (
        "--out /",
        lambda t, f: ["train", *_cols(_write(t / "d.csv", GOOD)), "--out", "/"],
        "/: needs a directory name",
    ),
    ("--resume /", lambda t, f: ["train", "--resume", "/"], "/: needs a directory name"),
    (
        "a pipe as training data",
        lambda t, f: ["train", *_cols(_fifo(t / "pipe.csv"))],
        "pipe.csv: a pipe, not a file; training reads its data more than once",
    ),
    (
        "labels that look alike (Cyrillic a)",
        lambda t, f: ["train", *_cols(_write(t / "d.csv", GOOD + "hate it,\u0430ngry\n"))],
        "d.csv: labels 'angry' (row 2) and '\\u0430ngry' (row 25) look alike but differ "
        "(U+0061 LATIN SMALL LETTER A vs U+0430 CYRILLIC SMALL LETTER A)",
    ),
    (
        "labels that look alike (zero-width space)",
        lambda t, f: ["train", *_cols(_write(t / "d.csv", GOOD + "hate it,angry\u200b\n"))],
        "labels 'angry' (row 2) and 'angry\\u200b' (row 25) look alike",
    ),
]


def _copy_run(tmp: Path, run: Path, name: str) -> Path:
    import shutil

    dest = tmp / name
    shutil.copytree(run, dest)
    return dest


def _run_without(tmp: Path, run: Path, name: str) -> Path:
    dest = _copy_run(tmp, run, "run-without")
    (dest / "model" / name).unlink()
    return dest


def _bare_encoder_run(tmp: Path, f) -> Path:
    """A run whose model.safetensors is a bare encoder's (no classifier.* weights)."""
    import shutil

    dest = _copy_run(tmp, f["run"], "bare-run")
    shutil.copy(f["backbone"] / "model.safetensors", dest / "model" / "model.safetensors")
    return dest


def _id2label_gap(tmp: Path, run: Path) -> Path:
    dest = _copy_run(tmp, run, "gap-run")
    config_file = dest / "model" / "config.json"
    config = json.loads(config_file.read_text())
    config["id2label"] = {"0": "angry", "2": "happy", "3": "neutral"}
    config_file.write_text(json.dumps(config))
    return dest


def _fifo(path: Path) -> Path:
    os.mkfifo(path)  # nobody writes to it: reading it would wait for ever
    return path


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def _existing(tmp: Path) -> Path:
    out = tmp / "existing"
    out.mkdir()
    (out / "keep.txt").write_text("a previous run\n")
    return out


def _run_copy(tmp: Path, fixtures) -> Path:
    import shutil

    out = tmp / "existing"
    shutil.copytree(fixtures["run"], out)
    return out


def _pickle_model(tmp: Path) -> Path:
    model = tmp / "pickle-model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "bert"}')
    (model / "pytorch_model.bin").write_bytes(b"not even a pickle")
    return model


def _corrupt_run(tmp: Path, run: Path) -> Path:
    import shutil

    dest = tmp / "corrupt-run"
    shutil.copytree(run, dest)
    (dest / "model" / "model.safetensors").write_bytes(b"{}" * 50)
    return dest


@pytest.fixture(scope="module")
def fixtures(_tiny_run, tiny_backbone):
    return {"run": _tiny_run, "backbone": tiny_backbone}


@pytest.mark.parametrize(("setup", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_error(tmp_path, capsys, fixtures, setup, expected):
    work = tmp_path / "work"
    work.mkdir()
    argv = setup(work, fixtures)
    wants_out = not {"--out", "--resume"} & set(argv) and "--out --resume" not in expected
    if argv[0] == "train" and wants_out:
        argv += ["--out", str(work / "out")]
    before = _snapshot(work)
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors (bad choice) exit with status 2
        code = exc.code
    err = capsys.readouterr().err

    assert code not in (0, None), err
    assert "Traceback" not in err
    error_lines = [line for line in err.splitlines() if "error:" in line]
    assert len(error_lines) == 1, err
    assert expected in error_lines[0], err
    assert _snapshot(work) == before, "files were written"


def test_some_empty_texts_and_labels_are_skipped_with_a_count(tmp_path, capsys, tiny_backbone):
    path = _write(tmp_path / "d.csv", GOOD + ',happy\n"   ",angry\nno label here,\n')
    code = main(["inspect", *_cols(path), "--model", str(tiny_backbone)])
    out = capsys.readouterr().out
    assert code == 0
    assert "24 usable rows" in out
    assert "skipped 2 row(s): empty text" in out
    assert "skipped 1 row(s): missing label" in out


def test_a_10mb_tweet_is_cut_not_a_crash(tmp_path, caplog, tiny_backbone):
    from tweetsent.config import DataConfig
    from tweetsent.data.reading import MAX_TEXT_CHARS, load_labelled
    from tweetsent.modeling import load_tokenizer
    from tweetsent.training.fit import _tokenize

    huge = "word " * (2 * 1024 * 1024)  # 10 MiB in one cell
    path = _write(tmp_path / "big.csv", GOOD + f'"{huge}",happy\n')
    assert os.path.getsize(path) > 10 * 1024 * 1024
    data = load_labelled(path, DataConfig(text_col="text", label_col="label"))
    assert len(data) == 25
    assert max(len(t) for t in data.texts) == MAX_TEXT_CHARS
    assert "1 text(s) longer than 20000 characters" in caplog.text
    ids = {"happy": 0, "angry": 1, "neutral": 2}
    encoded = _tokenize(load_tokenizer(str(tiny_backbone)), data, [ids[y] for y in data.labels], 64)
    assert max(encoded["length"]) == 64


def test_latin1_file_still_reads_with_a_warning(tmp_path, caplog):
    from tweetsent.config import DataConfig
    from tweetsent.data import load_labelled

    path = _write(tmp_path / "l1.csv", (GOOD + "caf\u00e9 cr\u00e8me,happy\n").encode("latin-1"))
    data = load_labelled(path, DataConfig(text_col="text", label_col="label"))
    assert "caf\u00e9 cr\u00e8me" in data.texts
    assert "not valid UTF-8 (from line 26, byte 0xe9 on)" in caplog.text
    assert "read as cp1252" in caplog.text


def test_one_cp1252_byte_in_a_utf8_file_spoils_nothing_else(tmp_path):
    """The stray byte is cp1252; every UTF-8 character around it is read as UTF-8, by the
    trainer and by predict, whose output copies the input's text exactly."""
    from tweetsent.config import DataConfig
    from tweetsent.data import load_labelled
    from tweetsent.data.streaming import read_table_chunks

    raw = (GOOD + "caf\u00e9 \u2615,happy\n").encode() + b"na\xefve,angry\n"
    path = _write(tmp_path / "mixed.csv", raw)
    data = load_labelled(path, DataConfig(text_col="text", label_col="label"))
    assert data.texts[-2:] == ["caf\u00e9 \u2615", "na\u00efve"]
    streamed = [t for c in read_table_chunks(path, DataConfig(text_col="text"), 7) for t in c.text]
    assert streamed[-2:] == ["caf\u00e9 \u2615", "na\u00efve"]


def test_utf16_with_bom_reads(tmp_path):
    from tweetsent.config import DataConfig
    from tweetsent.data import load_labelled

    path = _write(tmp_path / "u16.csv", (GOOD + "na\u00efve \u2603,happy\n").encode("utf-16"))
    data = load_labelled(path, DataConfig(text_col="text", label_col="label"))
    assert data.texts[-1] == "na\u00efve \u2603"


# One encoding rule for every reader (tweetsent.data.encoding): the whole-file reader of
# train / evaluate and the streaming reader of predict --input decide alike.
CFG = {"text_col": "text", "label_col": "label"}


def _whole(path: Path):
    from tweetsent.config import DataConfig
    from tweetsent.data.reading import read_table

    return read_table(path, DataConfig(**CFG))


def _streamed(path: Path):
    import pandas as pd

    from tweetsent.config import DataConfig
    from tweetsent.data.streaming import read_table_chunks

    return pd.concat(list(read_table_chunks(path, DataConfig(**CFG), 7)))


def test_utf16_with_bom_streams_as_it_reads(tmp_path):
    path = _write(tmp_path / "u16.csv", (GOOD + "na\u00efve \u2603,happy\n").encode("utf-16"))
    streamed = _streamed(path)
    assert _whole(path)["text"].tolist() == streamed["text"].tolist()
    assert streamed["text"].iloc[-1] == "na\u00efve \u2603"


def test_bytes_no_fallback_reads_are_refused_by_both_readers(tmp_path):
    from tweetsent.errors import DataError

    # 0x81 is undefined in cp1252 and invalid UTF-8: some other encoding, so no silent latin-1.
    path = _write(tmp_path / "x.csv", GOOD.encode() + b"caf\x81,happy\n")
    for read in (_whole, _streamed):
        with pytest.raises(DataError, match=r"neither UTF-8 \(.*\) nor cp1252 .*--encoding"):
            read(path)


@pytest.mark.parametrize("offline_mode", [True, False])
def test_an_unreachable_hub_is_one_line_without_retries(
    run_cli, small_csv, tmp_path, caplog, monkeypatch, offline_mode
):
    import socket

    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", offline_mode)  # the tests set it on

    try:  # a machine that reaches the Hub would download: nothing to test there
        socket.create_connection(("huggingface.co", 443), timeout=3).close()
        pytest.skip("the Hugging Face Hub is reachable from here")
    except OSError:
        pass
    code, _, err = run_cli(
        "train",
        small_csv,
        "--text-col",
        "text",
        "--label-col",
        "label",
        "--model",
        "no-such-org/no-such-model",
        "--out",
        tmp_path / "run",
    )
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert ("not in the local cache" if offline_mode else "cannot be reached") in err
    assert "Retrying" not in caplog.text and not (tmp_path / "run.partial").exists()


def test_predict_checks_the_input_before_loading_the_model(run_cli, tiny_run, small_csv, tmp_path):
    # A model that would fail to load: the input's error comes first, so it was never loaded.
    (tiny_run / "model" / "model.safetensors").write_bytes(b"not weights")
    code, _, err = run_cli(
        "predict",
        tiny_run,
        "--input",
        small_csv,
        "--output",
        tmp_path / "o.csv",
        "--text-col",
        "tweet",
    )
    assert code == 1 and "no column 'tweet'" in err
    code, _, err = run_cli(
        "predict", tiny_run, "--input", small_csv, "--output", tmp_path / "o.csv"
    )
    assert code == 1 and "corrupt" in err or "unreadable" in err
