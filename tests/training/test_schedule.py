"""The size-aware schedule: batch size and epochs chosen from the number of training rows."""

from __future__ import annotations

import json

import pytest

from tweetsent.config import TrainConfig
from tweetsent.errors import ConfigError
from tweetsent.training.schedule import auto_batch_size, auto_epochs, resolve_schedule


@pytest.mark.parametrize(
    ("rows", "batch", "epochs"),
    [
        (90, 8, 10),  # 12 steps an epoch: capped at 10 epochs
        (355, 8, 10),  # stance-climate
        (999, 8, 5),  # 125 steps an epoch
        (1_290, 16, 8),  # SMILE with its soft multi-label rows: 81 steps an epoch
        (2_862, 16, 4),  # irony: 179 steps an epoch
        (3_999, 16, 3),
        (4_000, 32, 5),  # 125 steps an epoch
        (11_916, 32, 3),  # offensive: at least 3 epochs
    ],
)
def test_small_sets_get_small_batches_and_more_epochs(rows, batch, epochs):
    assert auto_batch_size(rows) == batch
    assert auto_epochs(rows, batch) == epochs


def test_only_what_is_auto_is_chosen():
    config = TrainConfig(batch_size=32)  # epochs stays auto
    chosen = resolve_schedule(config, 1_290)
    assert (chosen.batch_size, chosen.epochs) == (32, 10)  # 41 steps an epoch
    fixed = TrainConfig(batch_size=4, epochs=2)
    assert resolve_schedule(fixed, 1_290) is fixed
    # Two processes halve the steps of an epoch, so they need more epochs for the same steps.
    assert auto_epochs(4_000, 32, processes=2) == 10


@pytest.mark.parametrize("value", [0, -1, 2.5, "six", True])
def test_a_wrong_epochs_value_is_one_line(value):
    with pytest.raises(ConfigError, match="epochs must be a positive integer or auto"):
        TrainConfig(epochs=value)


def test_the_run_saves_the_numbers_it_chose(tiny_config, tmp_path):
    from tweetsent.training import train

    tiny_config.epochs = "auto"
    tiny_config.batch_size = "auto"
    tiny_config.early_stopping_patience = 1
    result = train(tiny_config, tmp_path / "run", progress=False)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    rows = result.metrics["data"]["train_rows"]
    assert saved["batch_size"] == auto_batch_size(rows) == 8
    assert saved["epochs"] == auto_epochs(rows, 8) == result.config.epochs
