"""Task-adaptive pretraining: ``tweetsent adapt`` and ``train --adapt`` on the tiny model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tweetsent.adapt import adapt, read_texts
from tweetsent.adapt.config import AdaptConfig
from tweetsent.config import DataConfig
from tweetsent.errors import ConfigError, DataError
from tweetsent.rundir import RunDir
from tweetsent.training import train

# The tiny model learns fast at this rate, so a few dozen steps show the loss falling.
TINY_ADAPT = {"lr": 1e-3, "max_length": 32, "precision": "fp32", "batch_size": 16}


def _config(paths, tiny_backbone, **overrides) -> AdaptConfig:
    values = {**TINY_ADAPT, "max_steps": 30, **overrides}
    return AdaptConfig(
        data_paths=[str(p) for p in paths],
        data=DataConfig(text_col="text"),
        model=str(tiny_backbone),
        **values,
    )


@pytest.fixture(scope="module")
def adapted(tiny_backbone, small_csv, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("adapt") / "backbone"
    adapt(_config([small_csv], tiny_backbone), out, progress=False)
    return out


def test_the_adapted_backbone_learned_and_says_where_it_came_from(adapted, small_csv):
    report = json.loads(RunDir(adapted).adapt_report.read_text())
    # The masked-LM loss on a fixed sample with fixed masks, before and after.
    assert report["probe_loss_after"] < report["probe_loss_before"] - 0.3
    assert report["steps"] == 30 and report["tweets_seen"] == 30 * 16
    assert report["tweets"] == 90  # small_csv: 90 distinct texts
    assert report["sources"][0]["sha256"] and report["sources"][0]["rows"] == 90
    assert len(report["loss_curve"]) == 3  # logged every 10 steps
    card = (adapted / "README.md").read_text()
    assert "tweetsent adapt" in card and "small.csv" in card and "90 distinct tweets" in card
    assert RunDir(adapted).adapt_plot.stat().st_size > 1000
    assert AdaptConfig.from_dict(json.loads(RunDir(adapted).adapt_config_file.read_text()))
    assert not list(adapted.parent.glob("*.partial")) and not (adapted / "checkpoints").exists()


def test_train_fine_tunes_the_adapted_backbone(adapted, tiny_config, tmp_path):
    tiny_config.model = str(adapted)
    result = train(tiny_config, tmp_path / "run", progress=False)
    assert result.metrics["validation"]["accuracy"] > 0
    # The run names its backbone: repeating it fine-tunes the same adapted folder.
    assert RunDir(result.run_dir).read_config().model == str(adapted)


def test_simcse_adapts_too(tiny_backbone, small_csv, tmp_path):
    result = adapt(
        _config([small_csv], tiny_backbone, objective="simcse"), tmp_path / "b", progress=False
    )
    assert result.report["probe_loss_after"] < result.report["probe_loss_before"]
    # A bare encoder (no MLM head): what train --model loads.
    assert json.loads((tmp_path / "b" / "config.json").read_text())["architectures"] == [
        "BertModel"
    ]


def test_head_warmup_leaves_the_encoder_alone_until_it_ends(tiny_backbone, small_csv, tmp_path):
    from safetensors.torch import load_file

    before = load_file(tiny_backbone / "model.safetensors")
    encoder = [k for k in before if k.startswith(("embeddings.", "encoder."))]

    def weights(head_warmup, max_steps):
        out = tmp_path / f"b-{head_warmup}-{max_steps}"
        config = _config([small_csv], tiny_backbone, head_warmup=head_warmup, max_steps=max_steps)
        result = adapt(config, out, progress=False)
        after = load_file(out / "model.safetensors")
        return result.report, {k: after[k] for k in after if k.removeprefix("bert.") in encoder}

    report, half_warm = weights(0.5, 6)  # 3 steps warm, then 3 with the encoder learning
    assert report["head_warmup_steps"] == 3 and report["steps"] == 6
    assert report["probe_loss_after"] < report["probe_loss_before"]
    assert len(half_warm) == len(encoder)
    _, all_warm = weights(0.99, 3)  # every step warm: the encoder never moves
    unchanged = [k for k, v in all_warm.items() if v.equal(before[k.removeprefix("bert.")])]
    assert len(unchanged) == len(encoder)
    moved = [k for k, v in half_warm.items() if not v.equal(before[k.removeprefix("bert.")])]
    assert moved and any("embeddings" in k for k in moved)


def test_texts_are_normalised_distinct_and_never_held_out(tmp_path):
    path = tmp_path / "t.csv"
    texts = ["Hi @bob http://x.co", "hi @alice http://y.co", "  ", "new one", "Hi @bob http://x.co"]
    pd.DataFrame({"text": texts, "label": ["a", "b", "a", "b", "a"]}).to_csv(path, index=False)
    config = AdaptConfig(data_paths=[str(path)], data=DataConfig(text_col="text"))
    kept, sources = read_texts([path], config, held_out={"new one"})
    # Mentions and links normalised, so the first two are one tweet; blank and held-out gone.
    assert kept == ["Hi @user http"]
    assert sources[0]["dropped"] == {"empty": 1, "duplicate": 2, "held_out": 1}


def test_train_adapt_never_adapts_on_validation_texts(tiny_config, small_csv, tmp_path):
    tiny_config.adapt = True
    tiny_config.adapt_epochs = 1
    result = train(tiny_config, tmp_path / "run", progress=False)
    report = result.metrics["adapt"]
    source = report["sources"][0]
    assert source["dropped"]["held_out"] == result.metrics["data"]["validation_rows"]
    assert report["tweets"] == 90 - result.metrics["data"]["validation_rows"]
    # The adapted copy is gone with the staging folder; its report stays in metrics.json.
    assert not (tmp_path / "run" / "adapted").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_the_validation_file_is_refused_as_adaptation_data(tiny_config, small_csv, tmp_path):
    val = tmp_path / "val.csv"
    val.write_bytes(Path(small_csv).read_bytes().replace(b"day 1", b"day 99"))
    copy = tmp_path / "copy-of-val.csv"
    copy.write_bytes(val.read_bytes())
    tiny_config.adapt = True
    tiny_config.val_file = str(val)
    tiny_config.unlabelled = [str(copy)]
    with pytest.raises(ConfigError, match="validation file"):
        train(tiny_config, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists() and not (tmp_path / "run.partial").exists()


def test_unlabelled_without_adapt_is_an_error(run_cli, train_argv, small_csv, tmp_path):
    code, _, err = run_cli(*train_argv(out=tmp_path / "r"), "--unlabelled", small_csv)
    assert code != 0 and "add --adapt" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing.csv"], "missing.csv"),
        (["{small}", "--text-col", "tweet"], "tweet"),
        (["{empty}"], "no tweets to adapt on"),
        (["{small}", "--mask-prob", "1.5"], "mask-prob"),
        (["{small}", "--objective", "bert"], "objective"),
    ],
)
def test_bad_input_is_one_line(run_cli, small_csv, tiny_backbone, tmp_path, args, message):
    empty = tmp_path / "empty.csv"
    empty.write_text("text,label\n ,a\n")
    argv = [a.format(small=small_csv, empty=empty) for a in args]
    if "--text-col" not in argv:
        argv += ["--text-col", "text"]
    code, out, err = run_cli(
        "adapt", *argv, "--out", tmp_path / "b", "--model", tiny_backbone, "--no-progress"
    )
    assert code != 0 and message in err
    assert "Traceback" not in err and not (tmp_path / "b").exists()
    assert not (tmp_path / "b.partial").exists()


def test_out_is_never_someone_elses_folder(run_cli, small_csv, tiny_backbone, adapted, tmp_path):
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    base = ["adapt", small_csv, "--text-col", "text", "--model", tiny_backbone, "--steps", "2"]
    code, _, err = run_cli(*base, "--out", mine, "--overwrite", "--no-progress")
    assert code != 0 and "not a tweetsent adapted backbone" in err
    assert (mine / "notes.txt").read_text() == "keep"
    code, _, err = run_cli(*base, "--out", adapted, "--no-progress")
    assert code != 0 and "--overwrite" in err


def test_a_backbone_folder_holding_the_data_is_never_replaced(
    run_cli, small_csv, tiny_backbone, adapted, tmp_path
):
    import shutil

    mine = tmp_path / "backbone"
    shutil.copytree(adapted, mine)
    data = mine / "tweets.csv"
    data.write_bytes(small_csv.read_bytes())
    code, _, err = run_cli(
        "adapt",
        data,
        "--text-col",
        "text",
        "--model",
        tiny_backbone,
        "--steps",
        "2",
        "--out",
        mine,
        "--overwrite",
        "--no-progress",
    )
    assert code != 0 and "holds the data file" in err and data.is_file()


def test_the_cli_writes_a_backbone_train_accepts(run_cli, small_csv, tiny_backbone, tmp_path):
    code, out, err = run_cli(
        "adapt",
        small_csv,
        "--text-col",
        "text",
        "--model",
        tiny_backbone,
        "--out",
        tmp_path / "b",
        "--steps",
        "4",
        "--lr",
        "1e-3",
        "--max-length",
        "32",
        "--precision",
        "fp32",
        "--no-progress",
    )
    assert code == 0, err
    assert "4 steps" in out and "--model" in out
    code, _, err = run_cli(
        "train",
        small_csv,
        "--text-col",
        "text",
        "--label-col",
        "label",
        "--model",
        tmp_path / "b",
        "--epochs",
        "1",
        "--precision",
        "fp32",
        "--out",
        tmp_path / "run",
        "--no-progress",
    )
    assert code == 0, err


def _kill_when_checkpointed(proc: subprocess.Popen, staging: Path, least_step: int) -> int:
    deadline = time.monotonic() + 300
    while True:
        found = [
            int(p.name.split("-")[1])
            for p in (staging / "checkpoints").glob("checkpoint-*")
            if (p / "trainer_state.json").is_file()
        ]
        if found and max(found) >= least_step:
            break
        assert proc.poll() is None, proc.stdout.read()[-3000:]
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return max(found)


# Two processes each (~20 s): CI's slow step.
@pytest.mark.slow
def test_a_killed_adaptation_continues_when_run_again(
    small_csv, tiny_backbone, tmp_path, subprocess_env
):
    out = tmp_path / "b"
    command = [
        sys.executable,
        "-m",
        "tweetsent",
        "adapt",
        str(small_csv),
        "--text-col",
        "text",
        "--model",
        str(tiny_backbone),
        "--out",
        str(out),
        "--steps",
        "400",
        "--save-steps",
        "20",
        "--batch-size",
        "4",
        "--lr",
        "1e-3",
        "--max-length",
        "32",
        "--precision",
        "fp32",
        "--no-progress",
    ]
    popen = dict(env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    step = _kill_when_checkpointed(subprocess.Popen(command, **popen), RunDir(out).staging.path, 20)
    assert not out.exists() and RunDir(out).staging.path.is_dir()
    again = subprocess.run(command, **popen, timeout=300)
    assert again.returncode == 0, again.stdout[-3000:]
    assert "resuming the adaptation from" in again.stdout
    report = json.loads(RunDir(out).adapt_report.read_text())
    assert report["resumed_from_step"] >= step and report["steps"] == 400
    assert not RunDir(out).staging.path.exists()


@pytest.mark.slow
def test_train_adapt_killed_while_adapting_resumes(train_argv, tmp_path, subprocess_env):
    run = tmp_path / "run"
    extra = tmp_path / "unlabelled.csv"  # enough tweets for the adaptation to checkpoint
    pd.DataFrame({"text": [f"tweet {i} of {i % 97} words" for i in range(3000)]}).to_csv(
        extra, index=False
    )
    argv = train_argv(out=run, adapt=True, unlabelled=extra)
    popen = dict(env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    proc = subprocess.Popen([sys.executable, "-m", "tweetsent", *argv], **popen)
    adapting = RunDir(RunDir(run).staging.path / "adapted").staging.path
    # The adaptation checkpoints every 200 steps (3 passes over ~3,000 tweets: ~290 steps).
    step = _kill_when_checkpointed(proc, adapting, 200)
    resumed = subprocess.run(
        [sys.executable, "-m", "tweetsent", "train", "--resume", str(run), "--no-progress"],
        **popen,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    assert "resuming the adaptation from" in resumed.stdout
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["adapt"]["resumed_from_step"] >= step
    assert metrics["adapt"]["steps"] > step and metrics["adapt"]["tweets"] > 3000


def test_adapt_refuses_a_data_file_that_cannot_be_read(tiny_backbone, tmp_path):
    with pytest.raises(DataError):
        read_texts([tmp_path / "nope.csv"], _config([], tiny_backbone))
