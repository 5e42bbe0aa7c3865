"""Distillation: a tiny teacher into a tiny student that is a normal run everywhere."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tweetsent.cli import main
from tweetsent.distill.core import DistillSettings, distill, kept_layers, make_student
from tweetsent.errors import ConfigError, ModelError
from tweetsent.inference import TweetClassifier


def test_kept_layers_are_evenly_spaced():
    assert kept_layers(6, 3) == [0, 2, 4]
    assert kept_layers(6, 2) == [0, 3]
    assert kept_layers(12, 4) == [0, 3, 6, 9]
    assert kept_layers(2, 2) == [0, 1]


def test_student_starts_from_the_teachers_layers(tiny_run):
    import torch

    from tweetsent.modeling.loading import load_classifier

    teacher = load_classifier(tiny_run / "model").eval()
    student, keep = make_student(teacher, 1)
    assert keep == [0] and student.config.num_hidden_layers == 1
    assert len(student.bert.encoder.layer) == 1 and len(teacher.bert.encoder.layer) == 2
    same = student.bert.encoder.layer[0].state_dict()
    for name, value in teacher.bert.encoder.layer[0].state_dict().items():
        assert torch.equal(same[name], value)
    assert torch.equal(student.classifier.weight, teacher.classifier.weight)


@pytest.fixture(scope="module")
def student_run(_tiny_run, small_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("distill") / "student"
    unlabelled = tmp_path_factory.mktemp("pool") / "pool.csv"
    unlabelled.write_text("text\n" + "".join(f"lovely great museum {i}\n" for i in range(8)))
    settings = DistillSettings(layers=1, epochs=2, unlabelled=[str(unlabelled)])
    return distill(_tiny_run, out, settings, progress=False)


def test_student_is_a_normal_run(student_run, small_csv, tmp_path):
    out = student_run.run_dir
    assert {"model", "config.json", "metrics.json", "report.md", "inputs.json"} <= {
        p.name for p in out.iterdir()
    }
    assert not (out.parent / f"{out.name}.partial").exists()
    model_config = json.loads((out / "model" / "config.json").read_text())
    assert model_config["num_hidden_layers"] == 1
    d = json.loads((out / "metrics.json").read_text())["distillation"]
    assert d["kept_layers"] == [0] and d["teacher_layers"] == 2 and d["unlabelled_tweets"] == 8
    assert 0 <= d["agreement_with_teacher"] <= 1 and d["student"]["tweets_per_second"] > 0
    assert "## Distillation" in (out / "report.md").read_text()
    clf = TweetClassifier.load(out, backend="torch")
    assert clf.labels == ["angry", "happy", "neutral"]
    proba = clf.predict_proba(["love great day", "hate awful day"])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def test_student_through_the_cli(student_run, small_csv, capsys):
    run = str(student_run.run_dir)
    assert main(["predict", run, "love great day"]) == 0
    assert capsys.readouterr().out.split("\t")[0] in {"angry", "happy", "neutral"}
    data = [str(small_csv), "--text-col", "text", "--label-col", "label"]
    assert main(["evaluate", run, *data]) == 0
    assert main(["export", run]) == 0
    assert main(["predict", run, "love great day", "--backend", "onnx"]) == 0


def test_distill_cli_and_errors(_tiny_run, tmp_path, capsys):
    out = tmp_path / "s"
    args = ["distill", str(_tiny_run), "--out", str(out), "--layers", "1", "--epochs", "1"]
    assert main(args) == 0
    assert "student written to" in capsys.readouterr().out
    assert main(args) == 1  # exists, no --overwrite
    assert "already exists" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="--layers"):
        distill(_tiny_run, tmp_path / "t", DistillSettings(layers=5))
    with pytest.raises(ModelError, match="not a tweetsent run"):
        distill(tmp_path / "nope", tmp_path / "u")


def test_bench_times_the_student_beside_the_teacher(_tiny_run, student_run):
    from tweetsent.benchmarks import bench_predict

    name = f"student {student_run.run_dir.name}: torch fp32"
    result = bench_predict(
        _tiny_run,
        ["love it", "hate it", "museum"],
        students=[student_run.run_dir],
        include=("torch fp32", name),
    )
    rows = {r["name"]: r for r in result["results"]}
    assert list(rows)[1:] == ["torch fp32", name]
    assert 0 <= rows[name]["agreement"] <= 1  # against the teacher's fp32 labels


def test_student_seed_changes_the_training_not_the_split(_tiny_run, tmp_path):
    from safetensors.numpy import load_file

    def student(name, seed):
        out = tmp_path / name
        settings = DistillSettings(layers=1, epochs=1, seed=seed)
        metrics = distill(_tiny_run, out, settings, progress=False).metrics
        return load_file(out / "model" / "model.safetensors"), metrics

    default, m_default = student("default", None)
    seven, m_seven = student("seven", 7)
    again, _ = student("again", 7)
    assert m_seven["distillation"]["seed"] == 7 and m_default["distillation"]["seed"] is None
    assert all(np.array_equal(seven[k], again[k]) for k in seven)  # reproducible
    assert any(not np.array_equal(seven[k], default[k]) for k in seven)
    # Teacher and student are scored on the teacher's validation rows, whatever the seed.
    assert m_seven["data"] == m_default["data"]
    scores = [
        {k: m["distillation"]["teacher"][k] for k in ("f1_macro", "accuracy")}
        for m in (m_seven, m_default)
    ]
    assert scores[0] == scores[1]


def test_data_unlabelled_rows_join_the_student_not_the_split(tiny_backbone, tmp_path):
    """``--data-unlabelled``: rows without a usable label (missing, a dropped label, multi-label)
    are soft-label tweets for the student; the labelled rows and the split stay the teacher's."""
    import pandas as pd

    from tweetsent.config import DataConfig, TrainConfig
    from tweetsent.data.reading import load_unlabelled
    from tweetsent.training import train

    words = {"happy": ["love", "great", "lovely"], "angry": ["hate", "awful", "terrible"]}
    rows = [
        {"text": f"{vocab[i % 3]} day {i}", "label": label}
        for label, vocab in words.items()
        for i in range(20)
    ]
    extra = [
        {"text": "no label at all", "label": ""},
        {"text": "a nocode tweet", "label": "nocode"},
        {"text": "two at once", "label": "happy|angry"},
        {"text": "", "label": ""},  # no text either: not a tweet to label
    ]
    path = tmp_path / "data.csv"
    pd.DataFrame(rows[:10] + extra + rows[10:]).to_csv(path, index=False)
    data = DataConfig(
        text_col="text", label_col="label", drop_labels=["nocode"], drop_multilabel="|"
    )
    assert load_unlabelled(path, data) == ["no label at all", "a nocode tweet", "two at once"]

    teacher = tmp_path / "teacher"
    config = TrainConfig(
        data_path=str(path), data=data, model=str(tiny_backbone), epochs=1, batch_size=8,
        max_length=16, precision="fp32",
    )  # fmt: skip
    train(config, teacher, progress=False)
    plain = distill(teacher, tmp_path / "plain", DistillSettings(layers=1, epochs=1)).metrics
    settings = DistillSettings(layers=1, epochs=1, data_unlabelled=True)
    own = distill(teacher, tmp_path / "own", settings, progress=False).metrics
    assert plain["distillation"]["unlabelled_tweets"] == 0
    # The multi-label row already trains as a soft target (multi_label_rows="soft", the
    # default), so the missing and the dropped label join.
    assert own["distillation"]["unlabelled_tweets"] == 2
    assert own["distillation"]["data_unlabelled"] is True
    # The same labelled rows and validation split; only the unlabelled count differs.
    assert own["data"].pop("unlabelled_rows") == 2 and plain["data"].pop("unlabelled_rows") == 0
    assert own["data"] == plain["data"]
    assert main(["distill", str(teacher), "--out", str(tmp_path / "cli"), "--layers", "1",
                 "--epochs", "1", "--data-unlabelled"]) == 0  # fmt: skip
    metrics = json.loads((tmp_path / "cli" / "metrics.json").read_text())
    assert metrics["distillation"]["unlabelled_tweets"] == 2
