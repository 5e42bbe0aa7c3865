"""Multi-label runs: label sets kept, a sigmoid head, per-label thresholds, set predictions."""

import json

import numpy as np
import pytest

from tweetsent.config import DataConfig
from tweetsent.data import LabelledData, load_labelled
from tweetsent.data import labels as ml
from tweetsent.evaluation import evaluate
from tweetsent.evaluation.metrics import multilabel_metrics, tune_thresholds
from tweetsent.inference import TweetClassifier
from tweetsent.training import prepare_data, train


@pytest.fixture(scope="module")
def multi_csv(tmp_path_factory):
    import pandas as pd

    words = {
        "happy": ["love", "great", "wonderful", "amazing"],
        "angry": ["hate", "awful", "furious", "terrible"],
        "surprise": ["wow", "unexpected", "omg", "shocked"],
    }
    rows = []
    for label, vocab in words.items():
        for i in range(24):
            rows.append({"text": f"{vocab[i % 4]} {vocab[(i + 1) % 4]} day {i}", "label": label})
    for i in range(20):
        rows.append({"text": f"wow love omg great {i}", "label": "happy | surprise"})
    path = tmp_path_factory.mktemp("ml") / "multi.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("happy", ["happy"]),
        ("happy|surprise", ["happy", "surprise"]),
        (" surprise | happy ", ["happy", "surprise"]),
        ("sad|sad", ["sad"]),
        ("a||b", ["a", "b"]),
    ],
)
def test_split_labels(raw, expected):
    assert ml.split_labels(raw, "|") == expected


def test_multi_hot_and_vocabulary():
    labels = ["happy|surprise", "sad", "happy"]
    vocab = ml.label_vocabulary(labels, "|")
    assert vocab == ["happy", "sad", "surprise"]
    assert ml.multi_hot(labels, vocab, "|").tolist() == [[1, 0, 1], [0, 1, 0], [1, 0, 0]]


def test_thresholds_are_tuned_per_label():
    y = np.array([[1, 0], [1, 0], [0, 1], [0, 0]])
    # Label 0 is separable at 0.3 (not at 0.5); label 1 at 0.5 and above (0.5 wins the tie).
    p = np.array([[0.35, 0.1], [0.4, 0.2], [0.1, 0.9], [0.2, 0.3]])
    t = tune_thresholds(y, p)
    assert 0.2 < t[0] <= 0.35 and t[1] == 0.5
    # The last row has no label over its threshold, so it gets its most probable one.
    assert ml.apply_thresholds(p, t).astype(int).tolist() == y.tolist()[:3] + [[0, 1]]


def test_positive_weights_for_multilabel_loss():
    from tweetsent.training.losses import positive_weights

    y = np.array([[1, 0], [1, 0], [1, 1], [0, 0]])
    assert positive_weights("balanced", ["a", "b"], y) == pytest.approx([1 / 3, 3.0])
    assert positive_weights("sqrt", ["a", "b"], y) == pytest.approx([np.sqrt(1 / 3), np.sqrt(3)])
    assert positive_weights("none", ["a", "b"], y) is None


def test_multilabel_metrics():
    y = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 0]])
    pred = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0]])
    m = multilabel_metrics(y, pred, ["a", "b", "c"])
    assert m["subset_accuracy"] == pytest.approx(2 / 3)
    assert m["f1_micro"] == pytest.approx(2 * 3 / (2 * 3 + 1))
    assert m["per_class"]["c"]["f1"] == 0 and m["per_class"]["a"]["accuracy"] == "2/2"
    assert m["f1_macro"] == pytest.approx((1 + 1 + 0) / 3)


def test_smile_multilabel_rows_are_kept(smile_path):
    cfg = ml.keep_multilabel_rows(DataConfig(preset="smile"))
    data = ml.canonical(load_labelled(smile_path, cfg), "|")
    assert "multi-label" not in data.dropped and data.dropped["dropped label"] > 0  # nocode
    multi = [label for label in data.labels if "|" in label]
    assert len(multi) > 10 and "happy|surprise" in multi
    train_data, val = ml.multilabel_split(data, 0.15, 17, "|")
    assert len(train_data) + len(val) == len(data)
    assert any("|" in label for label in val.labels)


def test_empty_label_set_is_an_error():
    with pytest.raises(Exception, match="row 2 has an empty label set"):
        ml.canonical(LabelledData(["a", "b"], ["x", " | "], "f.csv"), "|")


def test_multilabel_training_end_to_end(tmp_path, tiny_config, multi_csv, run_cli, serve_run):
    tiny_config.data_path = str(multi_csv)
    tiny_config.multi_label = True
    tiny_config.class_weights = "balanced"  # BCE pos_weight = negatives / positives
    tiny_config.epochs = 3
    train_data, val = prepare_data(tiny_config)
    assert any("|" in label for label in train_data.labels)
    run = train(tiny_config, tmp_path / "run", progress=False).run_dir

    model_config = json.loads((run / "model" / "config.json").read_text())
    assert model_config["problem_type"] == "multi_label_classification"
    assert set(model_config["tweetsent_thresholds"]) == {"angry", "happy", "surprise"}
    metrics = json.loads((run / "metrics.json").read_text())
    v = metrics["validation"]
    # No temperature for sigmoids: the tuned thresholds calibrate the decision instead.
    assert metrics["calibration"]["method"] == "none"
    assert "thresholds" in metrics["calibration"]["note"]
    assert "tweetsent_temperature" not in model_config
    assert {"subset_accuracy", "f1_micro", "f1_macro", "f1_samples", "hamming_loss"} <= set(v)
    assert v["f1_micro"] > 0.5
    assert "subset accuracy" in (run / "report.md").read_text()

    clf = TweetClassifier.load(run)
    assert clf.multi_label and clf.temperature is None
    proba = clf.predict_proba(["wow love omg great", "hate awful"])
    assert proba.shape == (2, 3) and not np.allclose(proba.sum(axis=1), 1)  # sigmoids
    sets = clf.predict(["wow love omg great", "hate awful"])
    assert all(isinstance(s, list) and s for s in sets)
    assert set(sets[0]) <= {"angry", "happy", "surprise"}
    assert clf.predict("hate awful") == sets[1]

    scored = evaluate(run, multi_csv)
    assert scored["rows"] == 92 and scored["f1_micro"] > 0.5  # training rows included
    _same_label_sets_everywhere(clf, run, tmp_path, run_cli, serve_run)


def _same_label_sets_everywhere(clf, run, tmp_path, run_cli, serve_run):
    """One label decision: the API, the CLI, file prediction and the service (its /predict and
    its file upload) agree."""
    import httpx
    import pandas as pd

    texts = ["wow love omg great", "hate awful", "museum tuesday", "love hate wow", "omg"]
    api = ["|".join(labels) for labels in clf.predict(texts)]
    assert len(set(api)) > 1 or any("|" in a for a in api)  # a real mix, not one constant
    code, out, err = run_cli("predict", run, *texts)
    assert code == 0, err
    assert [line.split("\t")[0] for line in out.splitlines()] == api
    pd.DataFrame({"text": texts}).to_csv(tmp_path / "in.csv", index=False)
    code, _, err = run_cli(
        "predict", run, "--input", tmp_path / "in.csv", "--output", tmp_path / "out.csv",
        "--text-col", "text",
    )  # fmt: skip
    assert code == 0, err
    written = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert written["predicted_label"].tolist() == api
    server = serve_run(run)
    answer = httpx.post(f"{server.url}/predict", json={"texts": texts}, timeout=60).json()
    assert [p["label"] for p in answer["predictions"]] == api
    assert ["|".join(p["label_set"]) for p in answer["predictions"]] == api
    uploaded = httpx.post(
        f"{server.url}/predict-file",
        files={"file": ("in.csv", (tmp_path / "in.csv").read_bytes())},
        data={"text_col": "text"},
        timeout=60,
    )
    assert uploaded.content == (tmp_path / "out.csv").read_bytes()  # the page's upload too
    server.stop()


def test_split_off_multilabel_keeps_known_label_sets_only():
    data = LabelledData(
        ["t1", "t2", "t3", "t4", "t5"],
        ["happy", "sad", " sad | happy", "happy|fear", "sad"],
        "f.csv",
        {"empty text": 2},
    )
    single, extra = ml.split_off_multilabel(data, "|")
    assert single.texts == ["t1", "t2", "t5"] and single.labels == ["happy", "sad", "sad"]
    assert extra.texts == ["t3"] and extra.labels == ["happy|sad"]  # canonical
    # 'fear' exists only as a share of a multi-label row: that row cannot train any class.
    assert single.dropped == {
        "empty text": 2,
        "multi-label with a label no single-label row has": 1,
    }
    targets = ml.soft_targets(
        ["happy|sad", "sad", "happy|sad|angry"], ["angry", "happy", "sad"], "|"
    )
    expected = [[0, 0.5, 0.5], [0, 0, 1], [1 / 3, 1 / 3, 1 / 3]]
    np.testing.assert_allclose(targets, expected, rtol=1e-6)


def test_soft_rows_join_training_only(smile_path):
    from tweetsent.config import TrainConfig

    cfg = dict(data_path=str(smile_path), data=DataConfig(preset="smile"))
    train_drop, val_drop = prepare_data(TrainConfig(**cfg, multi_label_rows="drop"))
    train_soft, val_soft = prepare_data(TrainConfig(**cfg))  # soft is the default
    # The tutorial's validation split, row for row; the 32 multi-label tweets only train.
    assert (val_soft.texts, val_soft.labels) == (val_drop.texts, val_drop.labels)
    assert len(val_soft) == 223 and len(train_drop) == 1258
    assert train_soft.texts[: len(train_drop)] == train_drop.texts
    added = train_soft.labels[len(train_drop) :]
    assert len(added) == 32 and "happy|surprise" in added and all("|" in a for a in added)


def test_soft_rows_train_a_single_label_model(tmp_path, tiny_config, multi_csv):
    tiny_config.data_path = str(multi_csv)
    tiny_config.multi_label_rows = "soft"
    tiny_config.data.drop_multilabel = "|"  # what cleaning marks as multi-label
    tiny_config.epochs = 2
    tiny_config.class_weights = "sqrt"  # weights from fractional class counts
    train_data, val = prepare_data(tiny_config)
    assert not any("|" in label for label in val.labels)
    assert sum("|" in label for label in train_data.labels) == 20
    run = train(tiny_config, tmp_path / "run", progress=False).run_dir
    model_config = json.loads((run / "model" / "config.json").read_text())
    assert model_config.get("problem_type") != "multi_label_classification"
    assert sorted(model_config["id2label"].values()) == ["angry", "happy", "surprise"]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["data"]["train_rows"] == len(train_data)
    assert np.isfinite(metrics["validation"]["loss"])
    assert metrics["baseline"]["f1_weighted"] > 0.5  # the baseline took the soft rows too
    proba = TweetClassifier.load(run).predict_proba(["wow love omg great"])
    assert proba.shape == (1, 3) and proba.sum() == pytest.approx(1, abs=1e-5)


def test_soft_rows_need_a_multilabel_filter(tiny_config, multi_csv):
    # Without drop_multilabel nothing is multi-label to cleaning: 'happy|surprise' stays a class.
    tiny_config.data_path = str(multi_csv)
    tiny_config.multi_label_rows = "soft"
    train_data, val = prepare_data(tiny_config)
    assert "happy | surprise" in set(train_data.labels) | set(val.labels)


def test_cross_validation_adds_soft_rows_to_every_training_fold(tmp_path, tiny_config, multi_csv):
    import pandas as pd

    from tweetsent.training.tuning import cross_validate

    tiny_config.data_path = str(multi_csv)
    tiny_config.multi_label_rows = "soft"
    tiny_config.data.drop_multilabel = "|"
    cross_validate(tiny_config, 2, tmp_path / "cv")
    fold_config = json.loads((tmp_path / "cv" / "fold-1" / "run" / "config.json").read_text())
    assert fold_config["data"]["drop_multilabel"] == "|"  # folds train on the soft rows too
    fold_labels = json.loads((tmp_path / "cv" / "fold-1" / "run" / "metrics.json").read_text())
    assert sorted(fold_labels["labels"]) == ["angry", "happy", "surprise"]
    for fold in (1, 2):
        train_rows = pd.read_csv(tmp_path / "cv" / f"fold-{fold}" / "train.csv")
        val_rows = pd.read_csv(tmp_path / "cv" / f"fold-{fold}" / "validation.csv")
        assert train_rows["label"].str.contains("|", regex=False).sum() == 20
        assert not val_rows["label"].str.contains("|", regex=False).any()
        assert len(val_rows) == 36  # half of the 72 single-label rows
