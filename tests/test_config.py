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


@pytest.mark.parametrize(
    "values, fragment",
    [
        ({"warmup_ratio": "0.1"}, "warmup_ratio must be in [0, 1), got '0.1'"),
        ({"weight_decay": None}, "weight_decay must be a non-negative number, got None"),
        ({"seed": "abc"}, "seed must be an integer from 0 to 4294967295, got 'abc'"),
        ({"data": "smile"}, "data must be an object of data options, got 'smile'"),
        ({"model": 123}, "model must be a non-empty string, got 123"),
        ({"data": {"header": "false"}}, "header must be true or false, got 'false'"),
        ({"data": {"drop_labels": "nocode"}}, "drop_labels must be a list of strings"),
        ({"data": {"colums": ["a"]}}, "unknown data key(s): colums"),
        ({"epochs": 2.5}, "epochs must be a positive integer or auto, got 2.5"),
        ({"normalize": "yes"}, "normalize must be true or false, got 'yes'"),
    ],
)
def test_a_wrong_type_in_a_config_file_is_one_line_naming_the_field(tmp_path, values, fragment):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(values))
    with pytest.raises(ConfigError) as info:
        TrainConfig.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and fragment in message
    assert "\n" not in message


def test_nan_max_grad_norm_is_refused_not_clipping_off():
    with pytest.raises(ConfigError, match="max_grad_norm must be a positive number, got nan"):
        TrainConfig(max_grad_norm=float("nan"))


def test_every_train_option_has_one_generated_flag():
    """A field is an option in one place: its help and rule make the flag (cli._options)."""
    import dataclasses

    from tweetsent.cli import build_parser
    from tweetsent.cli._options import flag_fields, flag_name

    helps = build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    flagged = {f.name for f in flag_fields(TrainConfig)}
    assert flagged == {f.name for f in dataclasses.fields(TrainConfig)} - {"data_path", "data"}
    for f in flag_fields(TrainConfig):
        assert flag_name(f) in helps, f.name
        assert f.metadata["help"].split()[0] in helps, f.name
