import json

import pytest

from tweetsent.config import DataConfig, TrainConfig
from tweetsent.errors import ConfigError


def test_defaults_round_trip_through_json(tmp_path):
    config = TrainConfig(data_path="x.csv", data=DataConfig(preset="smile"), epochs=3)
    path = tmp_path / "config.json"
    config.save(path)
    again = TrainConfig.load(path)
    assert again == config
    assert isinstance(again.data, DataConfig)
    assert json.loads(path.read_text())["data"]["preset"] == "smile"


@pytest.mark.parametrize(
    "field, value, fragment",
    [
        ("epochs", 0, "epochs"),
        ("epochs", -1, "epochs"),
        ("batch_size", 0, "batch_size"),
        ("lr", 0, "lr"),
        ("lr", -1e-5, "lr"),
        ("val_size", 0.0, "val_size"),
        ("val_size", 1.0, "val_size"),
        ("max_length", 1024, "max_length"),
        ("metric_for_best", "auc", "metric_for_best"),
        ("precision", "fp8", "precision"),
        ("warmup_ratio", 1.5, "warmup_ratio"),
        ("limit", 0, "limit"),
    ],
)
def test_invalid_values_are_refused_on_construction(field, value, fragment):
    with pytest.raises(ConfigError, match=fragment):
        TrainConfig(**{field: value})


def test_unknown_keys_in_a_config_file_are_named(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"epochs": 2, "epoch": 3}))
    with pytest.raises(ConfigError, match="epoch"):
        TrainConfig.load(path)


def test_unreadable_config_file(tmp_path):
    path = tmp_path / "c.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="c.json"):
        TrainConfig.load(path)


def test_data_config_rejects_unknown_format():
    with pytest.raises(ConfigError, match="format"):
        DataConfig(format="xlsx")
