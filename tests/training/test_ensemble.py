"""``train --ensemble K``: K seeds in one run, their calibrated probabilities averaged, used by
predict, evaluate, serve and export like any other run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tweetsent.config import DataConfig, TrainConfig


@pytest.fixture(autouse=True)
def _fp32(monkeypatch):
    """These tests are about the arithmetic of ensembles, compared at fp32 tolerances: torch runs
    fp32 here on every CPU class (on a bf16 CPU "auto" would cast the weights to bf16)."""
    monkeypatch.setattr("tweetsent.hardware.cpu_has_bf16", lambda: False)


TEXTS = [
    "love great day",
    "hate awful furious",
    "museum opens tuesday",
    "a ticket for the lovely exhibition",
    "terrible schedule",
]


def _config(backbone, csv, **extra) -> TrainConfig:
    settings = dict(epochs=4, batch_size=8, lr=3e-3, max_length=32, precision="fp32")
    settings.update(extra)
    return TrainConfig(
        data_path=str(csv),
        data=DataConfig(text_col="text", label_col="label"),
        model=str(backbone),
        **settings,
    )


@pytest.fixture(scope="module")
def _ensemble_run(tmp_path_factory, tiny_backbone, small_csv) -> Path:
    from tweetsent.training import train

    out = tmp_path_factory.mktemp("ensemble") / "run"
    train(_config(tiny_backbone, small_csv, ensemble=2), out, progress=False)
    return out


@pytest.fixture
def ensemble_run(_ensemble_run, tmp_path) -> Path:
    dest = tmp_path / "run"
    shutil.copytree(_ensemble_run, dest)
    return dest


def _set_temperature(model_dir: Path, value: float) -> None:
    path = model_dir / "config.json"
    saved = json.loads(path.read_text())
    saved["tweetsent_temperature"] = value
    path.write_text(json.dumps(saved))


def _member_proba(model_dir: Path, texts: list[str], multi_label: bool = False) -> np.ndarray:
    """One member's calibrated probabilities, with plain transformers (not tweetsent)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    batch = tokenizer(texts, padding=True, truncation=True, max_length=32, return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits.double()
    if multi_label:
        return torch.sigmoid(logits).numpy()
    temperature = json.loads((model_dir / "config.json").read_text())["tweetsent_temperature"]
    return torch.softmax(logits / temperature, dim=-1).numpy()


def test_an_ensemble_is_one_run_directory_with_its_members(_ensemble_run):
    run = _ensemble_run
    assert not run.with_name("run.partial").exists()
    assert not (run / "members").exists() and not (run / "checkpoints").exists()
    saved = json.loads((run / "model" / "config.json").read_text())
    assert saved["tweetsent_ensemble"] == ["ensemble/member-2"]
    assert (run / "model" / "ensemble" / "member-2" / "model.safetensors").is_file()
    assert json.loads((run / "config.json").read_text())["ensemble"] == 2

    metrics = json.loads((run / "metrics.json").read_text())
    members = metrics["ensemble"]["members"]
    assert metrics["ensemble"]["size"] == 2
    assert [m["seed"] for m in members] == [17, 18]
    assert all(0 <= m["validation"]["f1_macro"] <= 1 and m["temperature"] for m in members)
    report = (run / "report.md").read_text()
    assert "Ensemble of 2 members" in report and "| member 2 | 18 |" in report
    assert "2 times the work of one" in report
    card = (run / "model" / "README.md").read_text()
    assert "the ensemble of 2" in card
    # Two seeds, two models: the members' weights differ.
    from safetensors.numpy import load_file

    first = load_file(run / "model" / "model.safetensors")
    second = load_file(run / "model" / "ensemble" / "member-2" / "model.safetensors")
    assert not np.allclose(first["classifier.weight"], second["classifier.weight"])


def test_predict_proba_is_the_mean_of_the_members_calibrated_probabilities(ensemble_run):
    from tweetsent.inference.predictor import TweetClassifier

    model_dir = ensemble_run / "model"
    members = [model_dir, model_dir / "ensemble" / "member-2"]
    # Temperatures of their own, so that each member must be scaled by its own.
    _set_temperature(members[0], 0.7)
    _set_temperature(members[1], 2.5)
    each = [_member_proba(m, TEXTS) for m in members]
    assert not np.allclose(each[0], each[1], atol=1e-3)  # the average is not one of them

    classifier = TweetClassifier.load(ensemble_run, backend="torch")
    assert classifier.temperature is None  # applied inside, per member
    proba = classifier.predict_proba(TEXTS)
    np.testing.assert_allclose(proba, np.mean(each, axis=0), atol=1e-5)
    assert classifier.predict(TEXTS) == [classifier.labels[i] for i in proba.argmax(axis=1)]
    # RUN_DIR/model alone is the same ensemble.
    np.testing.assert_allclose(
        TweetClassifier.load(model_dir, backend="torch").predict_proba(TEXTS), proba, atol=1e-6
    )


def test_the_runs_validation_scores_are_the_ensembles(_ensemble_run, tmp_path):
    """evaluate on the validation rows gives exactly the run's validation metrics."""
    import pandas as pd

    from tweetsent.data.prepare import prepare_data
    from tweetsent.evaluation.evaluate import evaluate

    config = TrainConfig.load(_ensemble_run / "config.json")
    _, val = prepare_data(config)
    path = tmp_path / "val.csv"
    pd.DataFrame({"text": val.texts, "label": val.labels}).to_csv(path, index=False)
    scores = evaluate(_ensemble_run, path, config.data, backend="torch")
    validation = json.loads((_ensemble_run / "metrics.json").read_text())["validation"]
    for key in ("accuracy", "f1_macro", "f1_weighted"):
        assert scores[key] == pytest.approx(validation[key], abs=1e-9), key
    assert scores["loss"] == pytest.approx(validation["loss"], abs=1e-5)
    assert scores["confusion_matrix"] == validation["confusion_matrix"]


def test_cli_predict_evaluate_and_onnx_export_agree_with_torch(ensemble_run, run_cli, small_csv):
    from tweetsent.inference.predictor import TweetClassifier

    torch_clf = TweetClassifier.load(ensemble_run, backend="torch")
    expected = torch_clf.predict(TEXTS)
    code, out, err = run_cli("predict", ensemble_run, *TEXTS, "--backend", "torch")
    assert code == 0, err
    assert [line.split("\t")[0] for line in out.splitlines()] == expected

    code, out, err = run_cli("export", ensemble_run, "--format", "onnx")
    assert code == 0, err
    onnx_config = json.loads((ensemble_run / "onnx" / "config.json").read_text())
    assert onnx_config["tweetsent"]["ensemble"] == 2
    assert "tweetsent_temperature" not in onnx_config  # the graph scales each member itself
    onnx_clf = TweetClassifier.load(ensemble_run, backend="onnx")
    assert onnx_clf.backend == "onnx" and onnx_clf.temperature is None
    np.testing.assert_allclose(
        onnx_clf.predict_proba(TEXTS), torch_clf.predict_proba(TEXTS), atol=1e-4
    )
    code, out, err = run_cli("predict", ensemble_run, *TEXTS, "--backend", "onnx")
    assert code == 0, err
    assert [line.split("\t")[0] for line in out.splitlines()] == expected
    # The export folder alone (no run around it) predicts the same.
    folder = shutil.copytree(ensemble_run / "onnx", ensemble_run.parent / "exported")
    alone = TweetClassifier.load(folder, backend="onnx", onnx_dir=folder)
    assert alone.temperature is None
    np.testing.assert_allclose(
        alone.predict_proba(TEXTS), torch_clf.predict_proba(TEXTS), atol=1e-4
    )

    reports = {}
    for backend in ("torch", "onnx"):
        path = ensemble_run.parent / f"{backend}.json"
        code, _, err = run_cli(
            "evaluate", ensemble_run, small_csv, "--backend", backend, "--json", path
        )
        assert code == 0, err
        reports[backend] = json.loads(path.read_text())
    assert reports["onnx"]["confusion_matrix"] == reports["torch"]["confusion_matrix"]
    assert reports["onnx"]["loss"] == pytest.approx(reports["torch"]["loss"], abs=1e-4)


def test_plain_pipeline_loads_the_model_directory_as_member_one(_ensemble_run):
    from transformers import pipeline

    pipe = pipeline("text-classification", model=str(_ensemble_run / "model"))
    answers = pipe(TEXTS)
    first = _member_proba(_ensemble_run / "model", TEXTS)  # argmax: temperature-free
    labels = json.loads((_ensemble_run / "metrics.json").read_text())["labels"]
    assert [a["label"] for a in answers] == [labels[i] for i in first.argmax(axis=1)]


def test_the_service_serves_the_ensemble(serve_run, _ensemble_run):
    import httpx

    from tweetsent.inference.predictor import TweetClassifier

    # The server is another process, where _fp32 does not reach: --precision fp32 says it there.
    server = serve_run(_ensemble_run, "--backend", "torch", "--precision", "fp32")
    body = httpx.post(f"{server.url}/predict", json={"texts": TEXTS}, timeout=30).json()
    classifier = TweetClassifier.load(_ensemble_run, backend="torch", precision="fp32")
    expected = classifier.predict_proba(TEXTS)
    got = np.array([p["probabilities"] for p in body["predictions"]])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    info = httpx.get(f"{server.url}/model").json()
    assert info["training"]["ensemble"] == 2
    assert (info["backend"], info["precision"]) == ("torch", "fp32")


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--ensemble", "0"], "ensemble must be a positive integer, got 0"),
        (["--ensemble", "2", "--cv", "2"], "--ensemble does not combine with --cv"),
        (["--ensemble", "2", "--search", "2"], "--ensemble does not combine with --search"),
    ],
)
def test_bad_ensemble_options_are_one_line(run_cli, small_csv, tmp_path, extra, fragment):
    code, _, err = run_cli(
        "train", small_csv, "--text-col", "text", "--label-col", "label",
        "--out", tmp_path / "r", *extra,
    )  # fmt: skip
    assert code in (1, 2) and "Traceback" not in err  # 2: a flag's value out of range
    error_lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and fragment in error_lines[0], err
    assert not (tmp_path / "r").exists() and not (tmp_path / "r.partial").exists()


def test_multi_label_ensemble_averages_sigmoid_probabilities(tmp_path, tiny_backbone):
    import pandas as pd

    from tweetsent.inference.predictor import TweetClassifier
    from tweetsent.training import train

    rows = [{"text": f"love great day {i}", "label": "happy"} for i in range(16)]
    rows += [{"text": f"hate awful day {i}", "label": "angry"} for i in range(16)]
    rows += [{"text": f"wow love omg {i}", "label": "happy|surprise"} for i in range(16)]
    csv = tmp_path / "multi.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    out = tmp_path / "run"
    config = _config(tiny_backbone, csv, ensemble=2, multi_label=True, epochs=2)
    metrics = train(config, out, progress=False).metrics

    members = [out / "model", out / "model" / "ensemble" / "member-2"]
    classifier = TweetClassifier.load(out, backend="torch")
    expected = np.mean([_member_proba(m, TEXTS, multi_label=True) for m in members], axis=0)
    np.testing.assert_allclose(classifier.predict_proba(TEXTS), expected, atol=1e-5)
    # The thresholds are the ensemble's, tuned on its averaged validation probabilities.
    saved = json.loads((out / "model" / "config.json").read_text())
    assert saved["tweetsent_thresholds"] == metrics["validation"]["thresholds"]
    assert len(metrics["ensemble"]["members"]) == 2


def test_an_interrupted_ensemble_keeps_its_finished_members(tmp_path, tiny_config):
    """The fast counterpart of the SIGKILL test below: what resuming decides per member."""
    from tweetsent.errors import ConfigError
    from tweetsent.training import checkpoints
    from tweetsent.training.ensemble import _member_plan

    out = tmp_path / "run"
    staging = checkpoints.start_staging(out, tiny_config, overwrite=False)
    first = staging / "members" / "member-1"
    (first / "checkpoints").mkdir(parents=True)
    (first / "metrics.json").write_text('{"best_epoch": 1}')  # written last by a member's fit
    assert checkpoints.can_resume(staging) and not checkpoints.is_finished(staging)
    with pytest.raises(ConfigError, match="holds an interrupted run; continue it with --resume"):
        checkpoints.start_staging(out, tiny_config, overwrite=False)

    assert _member_plan(first) == ("done", {"best_epoch": 1})
    assert not (first / "checkpoints").exists()  # a finished member's checkpoints go
    second = staging / "members" / "member-2"
    assert _member_plan(second) == ("train", None) and second.is_dir()
    checkpoints.start_staging(out, tiny_config, overwrite=True)
    assert not (staging / "members").exists()


@pytest.mark.slow
def test_killed_ensemble_resumes_keeping_finished_members(tmp_path, train_argv, subprocess_env):
    """SIGKILL while member 2 trains; --resume keeps member 1 and continues member 2 from its
    checkpoint, ending where an uninterrupted ensemble ends."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tweetsent.training import checkpoints

    def command(out: Path) -> list[str]:
        options = dict(epochs=2, lr="3e-3", save_steps=3, ensemble=2, out=out)
        return [sys.executable, "-m", "tweetsent", *train_argv(**options)]

    def finish(proc: subprocess.Popen) -> str:
        log = proc.communicate(timeout=300)[0]
        assert proc.returncode == 0, log[-3000:]
        return log

    popen = dict(env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    reference = subprocess.Popen(command(clean), **popen)
    victim = subprocess.Popen(command(killed), **popen)
    member_2 = checkpoints.staging_dir(killed) / "members" / "member-2"
    deadline = time.monotonic() + 300
    while (latest := checkpoints.latest_checkpoint(member_2)) is None or latest.name.endswith(
        ("-0", "-1", "-2", "-3")
    ):
        assert victim.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    assert not killed.exists()
    assert (member_2.parent / "member-1" / "metrics.json").is_file()
    # A new run into the same directory does not silently discard the finished member.
    code = subprocess.run(command(killed), **popen)
    assert code.returncode == 1 and "holds an interrupted run" in code.stdout

    resumed = subprocess.Popen(
        [sys.executable, "-m", "tweetsent", "train", "--resume", str(killed), "--no-progress"],
        **popen,
    )
    log = finish(resumed)
    assert f"resuming from {member_2 / 'checkpoints'}" in log
    assert "ensemble member 1 of 2" not in log and "ensemble member 2 of 2" in log
    finish(reference)
    a = json.loads((clean / "metrics.json").read_text())
    b = json.loads((killed / "metrics.json").read_text())
    for x, y in zip(a["ensemble"]["members"], b["ensemble"]["members"], strict=True):
        assert y["validation"]["loss"] == pytest.approx(x["validation"]["loss"], abs=1e-6)
    assert b["validation"]["loss"] == pytest.approx(a["validation"]["loss"], abs=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean", "killed"]
    assert not (killed / "members").exists()
