"""The quality suite: official metrics by hand, splits, and a tiny-model run over two tasks."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tweetsent.benchmarks.quality import Metric, Task, materialize, run_suite, suite_tasks
from tweetsent.benchmarks.quality_summary import merge_results, parse_overrides, summarize
from tweetsent.cli import main
from tweetsent.config import DataConfig
from tweetsent.errors import ConfigError
from tweetsent.evaluation import classification_metrics
from tweetsent.training.schedule import auto_batch_size

LABELS = ["none", "against", "favor"]
# true / predicted, as indices into LABELS
Y_TRUE = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
Y_PRED = [0, 0, 1, 2, 1, 1, 0, 2, 2, 1]


def test_official_metrics_by_hand():
    metrics = classification_metrics(Y_TRUE, Y_PRED, LABELS)
    # none: tp 2, predicted 3, true 4 -> P 2/3, R 2/4, F1 = 2*2/(3+4) = 4/7
    # against: tp 2, predicted 4, true 3 -> F1 = 4/7; R 2/3
    # favor: tp 2, predicted 3, true 3 -> F1 = 4/6; R 2/3
    f1 = {"none": 4 / 7, "against": 4 / 7, "favor": 4 / 6}
    recall = {"none": 2 / 4, "against": 2 / 3, "favor": 2 / 3}
    assert Metric("f1", ("against", "favor")).score(metrics) == pytest.approx((4 / 7 + 4 / 6) / 2)
    assert Metric("f1", ("favor",)).score(metrics) == pytest.approx(4 / 6)
    assert Metric("f1").score(metrics) == pytest.approx(sum(f1.values()) / 3)
    assert Metric("f1").score(metrics) == pytest.approx(metrics["f1_macro"])
    assert Metric("recall").score(metrics) == pytest.approx(sum(recall.values()) / 3)
    assert Metric("f1", ("against", "favor")).name == "mean F1(against, favor)"
    assert Metric("recall").name == "macro recall"


def test_metric_rejects_an_unknown_class():
    metrics = classification_metrics(Y_TRUE, Y_PRED, LABELS)
    with pytest.raises(Exception, match="no class irony"):
        Metric("f1", ("irony",)).score(metrics)
    with pytest.raises(ConfigError):
        Metric("accuracy")


def test_suite_tasks_name_the_official_metrics(tmp_path):
    tasks = suite_tasks(tmp_path)
    assert tasks["irony"].metric == Metric("f1", ("irony",))
    assert tasks["stance-climate"].metric == Metric("f1", ("against", "favor"))
    assert tasks["hate"].metric == tasks["offensive"].metric == Metric("f1")
    assert tasks["sentiment"].metric == Metric("recall")
    assert tasks["smile"].test_is_val and not tasks["irony"].test_is_val
    assert tasks["irony"].test.name == "test.csv" and tasks["irony"].val.name == "val.csv"


def _write(path, rows):
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(path, index=False)
    return path


def _rows(n_per_class: dict, offset: int = 0) -> list:
    words = {"pos": "love great", "neg": "hate awful", "neu": "museum tuesday"}
    return [
        (f"{words[label]} day {offset + i}", label)
        for label, n in n_per_class.items()
        for i in range(n)
    ]


def test_materialize_splits_stratified_and_subsamples(tmp_path):
    source = _write(tmp_path / "one.csv", _rows({"pos": 60, "neg": 30, "neu": 10}))
    task = Task("one", source, test_share=0.2, val_share=0.2)
    split = materialize(task, tmp_path / "w")
    assert split.rows == {"train": 60, "val": 20, "test": 20}
    train, val, test = (pd.read_csv(p) for p in (split.train, split.val, split.test))
    assert set(train.text).isdisjoint(val.text) and set(val.text).isdisjoint(test.text)
    assert test.label.value_counts().to_dict() == {"pos": 12, "neg": 6, "neu": 2}
    small = materialize(task, tmp_path / "s", max_train=30)
    sub = pd.read_csv(small.train)
    assert sub.label.value_counts().to_dict() == {"pos": 18, "neg": 9, "neu": 3}
    assert set(sub.text) <= set(train.text)
    # the same rows every time: what each recipe and seed trains on
    assert pd.read_csv(materialize(task, tmp_path / "t", max_train=30).train).equals(sub)
    assert pd.read_csv(small.test).equals(test)


def test_materialize_keeps_multilabel_rows_for_training_only(tmp_path):
    rows = _rows({"pos": 20, "neg": 20}) + [("love hate day x", "neg|pos")] * 4
    source = _write(tmp_path / "m.csv", rows)
    data = DataConfig(text_col="text", label_col="label", drop_multilabel="|")
    task = Task("m", source, data=data, test_is_val=True)
    split = materialize(task, tmp_path / "w")
    train, val = pd.read_csv(split.train), pd.read_csv(split.val)
    assert (train.label == "neg|pos").sum() == 4 and "neg|pos" not in set(val.label)
    assert pd.read_csv(split.test).equals(val)
    assert split.data.drop_multilabel == "|"


def test_parse_overrides():
    assert parse_overrides(["lr=5e-5", "class-weights=none", "demojize=false"]) == {
        "lr": 5e-5,
        "class_weights": "none",
        "demojize": False,
    }
    with pytest.raises(ConfigError, match="no field 'nope'"):
        parse_overrides(["nope=1"])
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_overrides(["lr"])


@pytest.fixture
def two_tasks(tmp_path):
    a = tmp_path / "a"
    a.mkdir()
    for name, offset in (("train", 0), ("val", 100), ("test", 200)):
        _write(a / f"{name}.csv", _rows({"pos": 12, "neg": 8}, offset))
    b = _write(tmp_path / "b.csv", _rows({"pos": 20, "neg": 14, "neu": 10}))
    return [
        Task("a", a / "train.csv", Metric("f1", ("neg",)), a / "val.csv", a / "test.csv"),
        Task("b", b, Metric("recall"), test_share=0.25, val_share=0.25),
    ]


def test_run_suite_tiny_model_two_tasks(two_tasks, tiny_backbone, tmp_path):
    common = {"model": str(tiny_backbone), "epochs": 1, "max_length": 16, "precision": "fp32"}
    seen = []
    result = run_suite(
        two_tasks,
        {"ours": {}, "plain": {"lr": 5e-5, "batch_size": 32, "class_weights": "none"}},
        [1],
        common=common,
        out_dir=tmp_path / "runs",
        on_run=lambda partial: seen.append(len(partial["runs"])),
    )
    assert seen == [1, 2, 3, 4]
    assert [(r["task"], r["recipe"]) for r in result["runs"]] == [
        ("a", "ours"),
        ("a", "plain"),
        ("b", "ours"),
        ("b", "plain"),
    ]
    assert result["tasks"]["b"]["rows"] == {"train": 22, "val": 11, "test": 11}
    for run in result["runs"]:
        assert run["train_seconds"] > 0 and run["epochs_run"] == 1 and run["seed"] == 1
        expected = sum(run["per_class_f1"].values()) / len(run["per_class_f1"])
        assert run["f1_macro"] == pytest.approx(expected)
        # the test split's calibration, before and after the validation-fitted temperature
        assert 0 <= run["ece"] <= 1 and 0 <= run["ece_uncalibrated"] <= 1
        assert run["temperature"] > 0
        assert (tmp_path / "runs" / run["task"] / f"{run['recipe']}-s{run['seed']}").is_dir()
    for run in result["runs"][:2]:  # task a's official score: the F1 of its one named class
        assert run["official"] == pytest.approx(run["per_class_f1"]["neg"])
    assert result["runs"][1]["config"]["batch_size"] == 32
    # Ours leaves the batch size "auto": task a's 20 training rows get the small-set batch.
    assert result["runs"][0]["config"]["batch_size"] == auto_batch_size(20)
    # the test split is scored: 11 rows of task b, every class present
    assert result["runs"][2]["train_rows"] == 22
    mean = result["summary"]["mean_over_tasks"]["ours"]["official"]
    assert mean == pytest.approx(
        (result["runs"][0]["official"] + result["runs"][2]["official"]) / 2
    )


def test_a_stopped_suite_records_the_seeds_it_ran(two_tasks, tiny_backbone):
    common = {"model": str(tiny_backbone), "epochs": 1, "max_length": 16, "precision": "fp32"}
    saved = []

    def stop_after_the_first_run(partial):  # as --json writes it, then a kill
        saved.append(json.loads(json.dumps(partial)))
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_suite(
            two_tasks[:1], {"ours": {}}, [19, 17], common=common, on_run=stop_after_the_first_run
        )
    assert [run["seed"] for run in saved[0]["runs"]] == [19]
    assert (saved[0]["seeds"], saved[0]["seeds_asked"]) == ([19], [19, 17])


def _run(task, recipe, seed, official):
    return {
        "task": task,
        "recipe": recipe,
        "seed": seed,
        "official": official,
        "f1_macro": official,
        "f1_weighted": official,
        "train_seconds": 10.0,
        "best_epoch": 2,
    }


def test_summarize_spread_over_seeds_and_mean_over_finished_tasks():
    result = {
        "tasks": {
            "a": {"test_is_val": False},
            "b": {"test_is_val": False},
            "v": {"test_is_val": True},
        },
        "recipes": {"ours": {}, "plain": {}},
        "seeds": [1, 2],
        "runs": [
            _run("a", "ours", 1, 0.6),
            _run("a", "plain", 1, 0.5),
            _run("a", "ours", 2, 0.8),
            _run("a", "plain", 2, 0.5),
            _run("v", "ours", 1, 0.9),
            _run("v", "plain", 1, 0.1),
            _run("b", "ours", 1, 0.4),  # b unfinished: stays out of the mean
        ],
    }
    summary = summarize(result)
    ours_a = summary["per_task"]["a"]["ours"]
    assert ours_a["official"] == pytest.approx(0.7)
    assert ours_a["official_sd"] == pytest.approx(0.1414213, abs=1e-6)  # sample sd of 0.6, 0.8
    assert summary["per_task"]["b"]["ours"]["official_sd"] == 0.0
    assert summary["mean_tasks"] == ["a"]
    assert summary["mean_over_tasks"]["ours"]["official"] == pytest.approx(0.7)
    assert summary["mean_over_tasks"]["plain"]["official_sd"] == 0.0
    assert summary["mean_over_tasks"]["plain"]["train_seconds"] == 20.0


def test_cli_bench_quality_on_tiny_tasks(tmp_path, tiny_backbone, capsys, monkeypatch):
    data = tmp_path / "data"
    irony = data / "tweeteval" / "irony"
    irony.mkdir(parents=True)
    pairs = {"irony": 10, "non_irony": 14}
    for name, offset in (("train", 0), ("val", 100), ("test", 200)):
        rows = [(f"{'yeah right' if lab == 'irony' else 'nice day'} {offset + i}", lab)
                for lab, n in pairs.items() for i in range(n)]  # fmt: skip
        _write(irony / f"{name}.csv", rows)
    out = tmp_path / "q.json"
    argv = ["bench", "quality", "--data-dir", str(data), "--tasks", "irony", "--seeds", "3"]
    argv += ["--recipes", "ours", "b32", "--variant", "b32", "from=plain", "batch_size=32"]
    argv += ["--set", f"model={tiny_backbone}", "epochs=1", "max_length=16", "precision=fp32"]
    argv += ["--max-train", "12", "--json", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "irony: 12 train / 24 val / 24 test; official metric F1(irony)" in text
    assert "mean over irony" in text
    result = json.loads(out.read_text())
    assert [r["recipe"] for r in result["runs"]] == ["ours", "b32"]
    assert result["recipes"]["b32"]["lr"] == 5e-5 and result["recipes"]["b32"]["epochs"] == 1


def test_cli_bench_quality_rejects_unknown_names(tmp_path, capsys):
    assert main(["bench", "quality", "--tasks", "nope", "--data-dir", str(tmp_path)]) == 1
    assert "unknown task(s) nope" in capsys.readouterr().err
    assert main(["bench", "quality", "--recipes", "fancy", "--data-dir", str(tmp_path)]) == 1
    assert "unknown recipe(s) fancy" in capsys.readouterr().err


ROWS = {"train": 5, "val": 3, "test": 3}


def _result(runs, tasks=("a",), rows=None):
    return {
        "tasks": {
            t: {"test_is_val": False, "rows": rows or ROWS, "metric": "macro F1"} for t in tasks
        },
        "recipes": {"ours": {}, "plain": {"lr": 5e-5}},
        "seeds": sorted({r["seed"] for r in runs}),
        "runs": runs,
    }


def test_merge_results_joins_seeds_and_refuses_conflicts():
    first = _result([_run("a", "ours", 1, 0.6), _run("a", "plain", 1, 0.5)])
    second = _result([_run("a", "ours", 2, 0.8), _run("a", "plain", 2, 0.7)])
    merged = merge_results([first, second])
    assert merged["seeds"] == [1, 2]
    assert merged["summary"]["mean_over_tasks"]["plain"]["official"] == pytest.approx(0.6)
    only = merge_results([first, second], recipes=["ours"], seeds=[2])
    assert [r["official"] for r in only["runs"]] == [0.8]
    with pytest.raises(ConfigError, match="appears twice"):
        merge_results([first, first])
    with pytest.raises(ConfigError, match="different rows"):
        merge_results([first, _result([], rows={**ROWS, "train": 9})])


def test_cli_bench_quality_report_merges_json_files(tmp_path, capsys):
    paths = []
    for seed, score in ((1, 0.6), (2, 0.8)):
        path = tmp_path / f"s{seed}.json"
        run = _run("a", "ours", seed, score)
        run.update(ece_uncalibrated=0.1 * seed, ece=0.01 * seed)  # test-split calibration
        path.write_text(json.dumps(_result([run])))
        paths.append(str(path))
    out = tmp_path / "merged.json"
    argv = ["bench", "quality", "--report", *paths, "--recipes", "ours", "--json", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "70.0 ± 14.1" in text and "60.0 80.0" in text
    assert "0.150 -> 0.015" in text  # mean test ECE before and after the temperature
    header = next(line for line in text.splitlines() if line.startswith("recipe"))
    assert header.count("macro F1") == 1  # the official metric is macro F1: printed once
    assert json.loads(out.read_text())["seeds"] == [1, 2]
    bad = tmp_path / "bad.json"
    bad.write_text("[1]")
    assert main(["bench", "quality", "--report", str(bad)]) == 1
    assert "not a bench quality JSON file" in capsys.readouterr().err
