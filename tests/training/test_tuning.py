"""Cross-validation and the bounded search, on the tiny model."""

import json

import pytest

from tweetsent.errors import ConfigError, DataError
from tweetsent.training.tuning import SEARCH_SPACE, cross_validate, search, summarize_folds


def test_cross_validation_reports_mean_and_std(tmp_path, tiny_config):
    summary = cross_validate(tiny_config, 2, tmp_path / "cv")
    saved = json.loads((tmp_path / "cv" / "cv.json").read_text())
    assert saved["k"] == 2
    for key in ("accuracy", "f1_weighted", "f1_macro", "mcc", "loss"):
        stats = summary["model"][key]
        assert len(stats["folds"]) == 2
        assert stats["mean"] == pytest.approx(sum(stats["folds"]) / 2)
        assert stats["std"] >= 0
        assert key in summary["baseline"] or key == "loss"
    assert set(summary["per_class_f1"]) == {"angry", "happy", "neutral"}
    # Each fold validated on a different half: 45 rows each, all 90 rows used once.
    rows = [
        json.loads((tmp_path / "cv" / f"fold-{i}" / "run" / "metrics.json").read_text())["data"][
            "validation_rows"
        ]
        for i in (1, 2)
    ]
    assert rows == [45, 45]
    assert "± " in (tmp_path / "cv" / "cv.md").read_text()
    assert not (tmp_path / "cv.partial").exists()


def test_summarize_folds_std_is_sample_std():
    results = [
        {
            "validation": {"f1_macro": x, "per_class": {"a": {"f1": x}}},
            "baseline": {"f1_macro": x / 2},
            "best_epoch": 1,
            "train_seconds": 1.0,
        }
        for x in (0.2, 0.4, 0.6)
    ]
    s = summarize_folds(results)
    assert s["model"]["f1_macro"]["mean"] == pytest.approx(0.4)
    assert s["model"]["f1_macro"]["std"] == pytest.approx(0.2)
    assert s["baseline"]["f1_macro"]["mean"] == pytest.approx(0.2)


def test_cv_refuses_too_many_folds_and_val_file(tmp_path, tiny_config, small_csv):
    with pytest.raises(DataError, match="fewer than the 40 folds"):
        cross_validate(tiny_config, 40, tmp_path / "cv")
    with pytest.raises(ConfigError, match="at least 2 folds"):
        cross_validate(tiny_config, 1, tmp_path / "cv")
    tiny_config.val_file = str(small_csv)
    with pytest.raises(ConfigError, match="drop --val-file"):
        cross_validate(tiny_config, 2, tmp_path / "cv")


def test_search_runs_bounded_trials_and_writes_best_config(tmp_path, tiny_config):
    from tweetsent.config import TrainConfig

    # Short trials: the space's epochs are bounded above, and each trial is a real run.
    result = search(tiny_config, 2, tmp_path / "s")
    assert len(result["trials"]) == 2
    for row in result["trials"]:
        assert SEARCH_SPACE["lr"][0] <= row["lr"] <= SEARCH_SPACE["lr"][1]
        assert row["batch_size"] in SEARCH_SPACE["batch_size"]
        assert SEARCH_SPACE["epochs"][0] <= row["epochs"] <= SEARCH_SPACE["epochs"][1]
    best = TrainConfig.load(tmp_path / "s" / "best_config.json")
    assert best.lr == result["best_params"]["lr"]
    metric = tiny_config.metric_for_best  # the search maximises what picks the best epoch
    assert result["best_value"] == max(r[metric] for r in result["trials"])
    assert (tmp_path / "s" / "trials.csv").read_text().count("\n") == 3
    assert not (tmp_path / "s" / "trial-0" / "model").exists()  # models dropped by default


@pytest.mark.parametrize("run", [cross_validate, search])
def test_overwrite_replaces_only_our_own_outputs(tmp_path, tiny_config, run):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="--overwrite"):
        run(tiny_config, 2, out)
    with pytest.raises(ConfigError, match="not a tweetsent .* output .*holds notes.txt"):
        run(tiny_config, 2, out, overwrite=True)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
