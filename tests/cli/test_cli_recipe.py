"""The recipe flags of ``tweetsent train`` reach the run's config, and bad ones fail cleanly."""

import json

import pytest


def test_recipe_flags_reach_the_run_config(tmp_path, run_cli, train_argv):
    run = tmp_path / "run"
    code, out, err = run_cli(
        *train_argv(out=run),
        "--class-weights",
        "balanced",
        "--no-normalize",
        "--scheduler",
        "onecycle",
        "--optimizer",
        "sgd",
        "--head",
        "mlp",
        "--freeze-layers",
        1,
        "--early-stopping",
        0,
        "--seed",
        18,
        "--split-seed",
        5,
        "--label-smoothing",
        0.1,
        "--multi-label-rows",
        "soft",
        "--demojize",
        "--freeze-word-embeddings",
    )
    assert code == 0, err
    assert "baseline tfidf+logreg (balanced)" in out
    saved = json.loads((run / "config.json").read_text())
    expected = {
        "class_weights": "balanced",
        "normalize": False,
        "scheduler": "onecycle",
        "optimizer": "sgd",
        "head": "mlp",
        "freeze_layers": 1,
        "early_stopping_patience": 0,
        "seed": 18,
        "split_seed": 5,
        "label_smoothing": 0.1,
        "multi_label_rows": "soft",
        "demojize": True,
        "freeze_word_embeddings": True,
    }
    assert {k: saved[k] for k in expected} == expected
    assert (run / "model" / "model.safetensors").exists()


def test_split_seed_not_seed_decides_the_split(tiny_config):
    from tweetsent.training import prepare_data

    _, a = prepare_data(tiny_config)
    tiny_config.seed = 99
    _, b = prepare_data(tiny_config)
    tiny_config.split_seed = 99
    _, c = prepare_data(tiny_config)
    assert a.texts == b.texts and a.texts != c.texts


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--class-weights", "{tmp}/missing.json"], "missing.json: class-weights file not found"),
        (["--freeze-layers", "-2"], "freeze_layers must be a non-negative integer"),
        (["--multi-label", "--label-sep", ""], "label_sep must be a non-empty"),
        (["--cv", "1"], "--cv needs at least 2 folds"),
        (["--search", "0"], "argument --search: must be a positive integer, got 0"),
        (["--label-smoothing", "1"], "label_smoothing must be in [0, 1)"),
    ],
)
def test_bad_recipe_options_fail_with_one_line(tmp_path, run_cli, train_argv, extra, fragment):
    extra = [e.replace("{tmp}", str(tmp_path)) for e in extra]
    code, _, err = run_cli(*train_argv(out=tmp_path / "r"), *extra)
    assert code in (1, 2)  # 2: a usage error (a flag's value out of range)
    assert err.strip().splitlines()[-1].startswith("error: ")
    assert fragment in err and "Traceback" not in err
    assert not (tmp_path / "r").exists() and not (tmp_path / "r.partial").exists()
