"""Training end to end on the tiny random BERT: what a run directory holds."""

import json
from pathlib import Path

import pytest

from tweetsent.config import TrainConfig
from tweetsent.errors import ConfigError, DataError
from tweetsent.training import prepare_data, train

RUN_FILES = [
    "config.json",
    "metrics.json",
    "report.md",
    "train_loss.png",
    "validation.png",
    "learning_rate.png",
    "confusion_matrix.png",
    "model/config.json",
    "model/model.safetensors",
    "model/tokenizer.json",
]


def test_run_directory_holds_everything(_tiny_run):
    for name in RUN_FILES:
        assert (_tiny_run / name).is_file(), name
    assert not (_tiny_run / "checkpoints").exists()
    assert not (_tiny_run / "model" / "training_args.bin").exists()  # no pickles in the model
    assert not _tiny_run.with_name(_tiny_run.name + ".partial").exists()


def test_metrics_json_has_the_documented_keys(_tiny_run):
    metrics = json.loads((_tiny_run / "metrics.json").read_text())
    assert metrics["best_epoch"] in (1, 2)
    v = metrics["validation"]
    for key in (
        "loss",
        "accuracy",
        "f1_weighted",
        "f1_macro",
        "f1_micro",
        "mcc",
        "per_class",
        "confusion_matrix",
        "labels",
    ):
        assert key in v
    assert v["labels"] == ["angry", "happy", "neutral"]
    assert sum(map(sum, v["confusion_matrix"])) == metrics["data"]["validation_rows"] == 14
    assert len(metrics["history"]) == 2
    for entry in metrics["history"]:
        for key in ("epoch", "train_loss", "val_loss", "f1_weighted", "learning_rate", "seconds"):
            assert entry[key] is not None
    best = metrics["history"][metrics["best_epoch"] - 1]
    assert best["f1_weighted"] == max(h["f1_weighted"] for h in metrics["history"])
    # The saved model is the best epoch's: its full re-evaluation agrees with the history.
    assert v["f1_weighted"] == pytest.approx(best["f1_weighted"], abs=1e-6)
    steps = metrics["train_steps"]
    assert steps[0]["learning_rate"] < max(s["learning_rate"] for s in steps)  # warm-up


def test_model_config_carries_the_labels(_tiny_run):
    config = json.loads((_tiny_run / "model" / "config.json").read_text())
    assert config["id2label"] == {"0": "angry", "1": "happy", "2": "neutral"}


def test_report_mentions_metrics_and_plots(_tiny_run):
    report = (_tiny_run / "report.md").read_text()
    assert "f1_weighted" in report and "![Confusion matrix" in report
    assert "| happy |" in report


def test_training_learns_the_easy_task(tmp_path, tiny_config):
    tiny_config.epochs, tiny_config.lr, tiny_config.warmup_ratio = 4, 5e-3, 0.0
    result = train(tiny_config, tmp_path / "run", progress=False)
    assert result.metrics["validation"]["accuracy"] > 0.6  # chance is 1/3
    assert result.metrics["warnings"] == []  # it learned: no one-label warning
    assert "## Warnings" not in (result.run_dir / "report.md").read_text()


def test_same_seed_same_result(tmp_path, _tiny_run):
    """The session's tiny run trained again from its own config.json: the same numbers."""
    a = json.loads((_tiny_run / "metrics.json").read_text())
    config = TrainConfig.load(_tiny_run / "config.json")
    b = train(config, tmp_path / "again", progress=False).metrics
    for x, y in zip(a["history"], b["history"], strict=True):
        assert y["val_loss"] == pytest.approx(x["val_loss"], rel=1e-5)
        assert y["train_loss"] == pytest.approx(x["train_loss"], rel=1e-5)


def test_existing_run_dir_is_refused_unless_overwrite(tmp_path, tiny_run, tiny_config):
    out = tiny_run  # a copy of the session's run, in tmp_path
    first = (out / "metrics.json").read_bytes()
    with pytest.raises(ConfigError, match="--overwrite"):
        train(tiny_config, out, progress=False)
    assert (out / "metrics.json").read_bytes() == first
    # A user's file inside a run is never deleted with it: --overwrite refuses, naming it.
    (out / "note.txt").write_text("mine")
    with pytest.raises(ConfigError, match="note.txt"):
        train(tiny_config, out, overwrite=True, progress=False)
    assert (out / "note.txt").read_text() == "mine"
    (out / "note.txt").unlink()
    train(tiny_config, out, overwrite=True, progress=False)
    assert (out / "metrics.json").is_file() and not (out / "note.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no lock or .old left


def test_overwrite_never_replaces_a_folder_that_is_not_a_run(tmp_path, tiny_config):
    out = tmp_path / "ow"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    data = out / "train.csv"
    data.write_bytes(Path(tiny_config.data_path).read_bytes())
    tiny_config.data_path = str(data)
    with pytest.raises(ConfigError, match="holds the data file"):
        train(tiny_config, out, overwrite=True, progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "train.csv"]
    tiny_config.data_path = str(Path(tmp_path / "elsewhere.csv"))
    Path(tiny_config.data_path).write_bytes(data.read_bytes())
    with pytest.raises(ConfigError, match="not a tweetsent run directory"):
        train(tiny_config, out, overwrite=True, progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "train.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere.csv", "ow"]


def test_out_dot_is_the_current_folder_and_is_refused_when_not_empty(
    tmp_path, tiny_config, monkeypatch
):
    here = tmp_path / "here"
    here.mkdir()
    (here / "keep.txt").write_text("mine")
    monkeypatch.chdir(here)
    for out in (".", "./"):
        with pytest.raises(ConfigError, match="here: already exists and is not a tweetsent run"):
            train(tiny_config, out, overwrite=True, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here"]
    assert [p.name for p in here.iterdir()] == ["keep.txt"]


def test_bad_data_leaves_no_partial_directory(tmp_path, tiny_config):
    bad = tmp_path / "one_class.csv"
    bad.write_text("text,label\n" + "".join(f"t{i},same\n" for i in range(10)))
    tiny_config.data_path = str(bad)
    with pytest.raises(DataError, match="only one class"):
        train(tiny_config, tmp_path / "run", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one_class.csv"]


def test_val_file_replaces_the_split(tmp_path, tiny_config, small_csv):
    import pandas as pd

    val_file = tmp_path / "val.csv"
    pd.read_csv(small_csv).iloc[::3].to_csv(val_file, index=False)  # 30 rows, every class
    tiny_config.val_file = str(val_file)
    train_data, val = prepare_data(tiny_config)
    assert len(train_data) == 90 and len(val) == 30


def test_config_json_repeats_the_run(_tiny_run):
    config = TrainConfig.load(_tiny_run / "config.json")
    assert config.epochs == 2 and config.data.text_col == "text"
    assert config.data_path.endswith("small.csv")
