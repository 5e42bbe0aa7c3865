"""OpenVINO export and backend: parity with torch, NNCF int8, auto's choice by CPU, errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tweetsent.cli import main
from tweetsent.errors import ConfigError, ModelError
from tweetsent.export import export_openvino, export_run
from tweetsent.inference import TweetClassifier
from tweetsent.inference.backends import (
    MIN_INT8_AGREEMENT,
    agreement_lower_bound,
    auto_backend,
    auto_order,
    cpu_class,
)

pytest.importorskip("openvino")

TEXTS = [
    "love great day",
    "hate awful furious",
    "museum opens tuesday",
    "",
    "a much longer tweet about the exhibition schedule and the tickets, which I love " * 3,
    "terrible horrible day 7",
]
MORE = TEXTS * 2 + [f"{w} day {i}" for i, w in enumerate(["love", "hate", "museum"] * 6)]

# /proc/cpuinfo flags of the three CPU classes the machine has had, and of a VNNI-only Xeon.
SAPPHIRE_RAPIDS = {"avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8"}
ZEN4 = {"avx2", "avx512f", "avx512_vnni", "avx512_bf16"}
ZEN3 = {"avx2", "fma", "sse4_2"}
ICE_LAKE = {"avx2", "avx512f", "avx512_vnni"}


@pytest.fixture(scope="module")
def ov_run(tmp_path_factory, _tiny_run):
    run = tmp_path_factory.mktemp("openvino") / "run"
    shutil.copytree(_tiny_run, run)
    export_openvino(run, quantize="int8")
    return run


def test_export_writes_a_complete_folder(ov_run):
    folder = ov_run / "openvino"
    names = {p.name for p in folder.iterdir()}
    assert {"model.xml", "model.bin", "model_int8.xml", "model_int8.bin"} <= names
    assert {"config.json", "tokenizer.json"} <= names and "graph.onnx" not in names
    config = json.loads((folder / "config.json").read_text())
    assert config["id2label"] == {"0": "angry", "1": "happy", "2": "neutral"}
    settings = config["tweetsent"]
    assert settings["format"] == "openvino" and settings["quantize"] == "int8"
    assert settings["calibration_tweets"] > 0 and settings["agreement_tweets"] > 0
    assert 0.0 <= settings["int8_label_agreement"] <= 1.0
    assert not list(ov_run.glob(".openvino*")), "no staging folder left behind"


def test_openvino_fp32_matches_torch(ov_run):
    torch_clf = TweetClassifier.load(ov_run, backend="torch", precision="fp32")
    ov_clf = TweetClassifier.load(ov_run, backend="openvino", variant="fp32")
    assert ov_clf.backend == "openvino" and ov_clf.engine.path.name == "model.xml"
    assert ov_clf.engine.precision == "fp32"
    assert ov_clf.labels == torch_clf.labels
    np.testing.assert_allclose(ov_clf.predict_proba(MORE), torch_clf.predict_proba(MORE), atol=1e-4)
    assert ov_clf.predict(MORE) == torch_clf.predict(MORE)


def test_openvino_int8_loads_and_predicts(ov_run):
    torch_clf = TweetClassifier.load(ov_run, backend="torch", precision="fp32")
    int8 = TweetClassifier.load(ov_run, backend="openvino")  # int8 when the folder has it
    assert int8.engine.path.name == "model_int8.xml" and int8.engine.precision == "int8"
    proba = int8.predict_proba(MORE)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    pairs = zip(int8.predict(MORE), torch_clf.predict(MORE), strict=True)
    agree = np.mean([a == b for a, b in pairs])
    assert agree >= 0.8
    assert int8.engine.int8_label_agreement is not None


def test_calibration_file_replaces_the_run_data(tiny_run, small_csv, tmp_path):
    # The run's data file is gone: int8 needs tweets to calibrate on, and says how to give them.
    config = json.loads((tiny_run / "config.json").read_text())
    config["data_path"] = str(tmp_path / "moved.csv")
    (tiny_run / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="--calibration FILE"):
        export_openvino(tiny_run, quantize="int8")
    assert not (tiny_run / "openvino").exists()
    folder = export_run(tiny_run, format="openvino", quantize="int8", calibration=small_csv)
    settings = json.loads((folder / "config.json").read_text())["tweetsent"]
    assert settings["calibration_source"] == str(small_csv)
    assert settings["agreement_tweets"] == 0 or settings["int8_label_agreement"] is not None


def test_export_option_errors(tiny_run, small_csv):
    with pytest.raises(ConfigError, match="format"):
        export_run(tiny_run, format="tflite")
    with pytest.raises(ConfigError, match="--calibration"):
        export_run(tiny_run, format="onnx", calibration=small_csv)
    with pytest.raises(ConfigError, match="quantize"):
        export_openvino(tiny_run, quantize="int4")
    with pytest.raises(ModelError, match="not found"):
        export_openvino(tiny_run / "nope")


def test_corrupt_model_is_one_line(ov_run, tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(ov_run / "openvino", folder)
    (folder / "model.xml").write_text("<net><layers>")
    (folder / "model_int8.xml").unlink()
    with pytest.raises(ModelError, match="corrupt or unreadable OpenVINO model"):
        TweetClassifier.load(ov_run, backend="openvino", openvino_dir=folder)


@pytest.mark.parametrize(
    "flags, cpu, first",
    [
        (SAPPHIRE_RAPIDS, "amx", ("torch", "bf16")),
        (ZEN4, "avx512_bf16", ("torch", "bf16")),
        (ICE_LAKE, "vnni", ("openvino", "int8")),
        ({"avx2", "avx_vnni"}, "vnni", ("openvino", "int8")),
        (ZEN3, "avx2", ("onnx", "fp32")),
        ({"sse4_2"}, "other", ("onnx", "fp32")),
    ],
)
def test_auto_order_by_cpu_flags(flags, cpu, first):
    assert cpu_class(flags) == cpu
    order = auto_order(frozenset(flags))
    assert order[0] == first
    assert order[-1] == ("torch", "fp32")  # always something to run
    # int8 is only ever tried where VNNI makes it pay, and never on the bf16 CPUs
    assert (("openvino", "int8") in order) == (cpu == "vnni")
    assert auto_order(flags, cuda=True) == (("torch", "auto"),)


def test_auto_takes_what_the_run_has(ov_run, tiny_run):
    assert auto_backend(ov_run, flags=ZEN3) == ("openvino", "fp32")  # no ONNX export there
    assert auto_backend(ov_run, flags=ZEN4) == ("torch", "bf16")
    assert auto_backend(tiny_run, flags=ZEN3) == ("torch", "fp32")  # no export at all
    clf = TweetClassifier.load(ov_run, backend="auto")  # this machine's own choice
    assert (clf.backend, clf.engine.precision) in [
        ("openvino", "fp32"),
        ("openvino", "bf16"),
        ("torch", "bf16"),
        ("torch", "fp32"),
    ]


def test_auto_takes_int8_only_when_its_labels_were_kept(ov_run, tmp_path):
    folder = tmp_path / "ov"
    shutil.copytree(ov_run / "openvino", folder)
    config_file = folder / "config.json"
    config = json.loads(config_file.read_text())
    # What the agreement is at least (95 %), not the share measured: 99.55 % on 223 tweets (the
    # issue's export, 94.6 % on 2,000 others) is not enough; 100 % on 2,000 is.
    cases = [(1.0, 2000, "int8"), (0.9955, 223, "fp32"), (0.95, 2000, "fp32"), (None, 0, "fp32")]
    for agreement, tweets, expected in cases:
        config["tweetsent"].pop("int8_agreement_lower_bound", None)  # from the figures below
        config["tweetsent"].update(int8_label_agreement=agreement, agreement_tweets=tweets)
        config_file.write_text(json.dumps(config))
        assert auto_backend(ov_run, openvino_dir=folder, flags=ICE_LAKE) == ("openvino", expected)
    assert agreement_lower_bound(0.9955, 223) < MIN_INT8_AGREEMENT < agreement_lower_bound(1, 2000)


def test_cli_export_predict_evaluate(tiny_run, small_csv, capsys):
    assert main(["export", str(tiny_run), "--format", "openvino"]) == 0
    assert "model.xml" in capsys.readouterr().out
    assert main(["predict", str(tiny_run), "love great day", "--backend", "openvino"]) == 0
    assert capsys.readouterr().out.split("\t")[0] in {"angry", "happy", "neutral"}
    args = ["evaluate", str(tiny_run), str(small_csv), "--backend", "openvino"]
    assert main([*args, "--text-col", "text", "--label-col", "label"]) == 0
    assert "f1" in capsys.readouterr().out.lower()


def test_cli_errors_are_one_line(tiny_run, capsys):
    assert main(["predict", str(tiny_run), "hello", "--backend", "openvino"]) == 1
    err = capsys.readouterr().err
    assert "tweetsent export" in err and "--format openvino" in err and len(err.splitlines()) == 1
    with pytest.raises(SystemExit) as exit_info:
        main(["export", str(tiny_run), "--format", "tflite"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


# ~13 s of NNCF's accuracy control: CI's slow step (.ci/run names it).
@pytest.mark.slow
def test_int8_accuracy_control_keeps_the_labels_it_was_steered_on(tiny_run, tmp_path):
    import pandas as pd
    import torch
    from safetensors.torch import load_file, save_file

    from tweetsent.export.openvino import calibration_sample

    # A fragile model: two classes' weights differ by 1e-5 (the third never wins), so fp32
    # decides on differences int8's rounding changes (it then keeps few labels).
    weights_file = tiny_run / "model" / "model.safetensors"
    weights = load_file(weights_file)
    head = weights["classifier.weight"]
    torch.manual_seed(0)
    head[1:] = head[0] + 1e-5 * torch.randn_like(head[1:])
    weights["classifier.bias"].copy_(torch.tensor([0.0, 0.0, -1.0]))
    save_file(weights, weights_file, metadata={"format": "pt"})
    # Many varied tweets, so that some lie near a decision boundary.
    rng = np.random.default_rng(0)
    words = [
        "love",
        "hate",
        "museum",
        "day",
        "great",
        "awful",
        "opens",
        "ticket",
        "furious",
        "lovely",
        "the",
        "a",
        "of",
    ]
    texts = [" ".join(rng.choice(words, size=rng.integers(2, 12))) for _ in range(150)]
    tweets = tmp_path / "tweets.csv"
    pd.DataFrame({"text": texts, "label": "x"}).to_csv(tweets, index=False)
    folder = export_openvino(
        tiny_run, quantize="int8", max_drop=0.0, calibration=tweets, calibration_size=50
    )
    settings = json.loads((folder / "config.json").read_text())["tweetsent"]
    control = settings["int8_accuracy_control"]
    assert control["agreement_before"] < 1.0 and control["applied"]
    steer = calibration_sample(tiny_run, tweets, 50).measure[0::2]
    assert control["steering_tweets"] == len(steer) > 0
    # Restoring layers to fp32 brought most labels back, on tweets it was not steered on.
    assert settings["agreement_tweets"] == len(steer)
    assert settings["int8_label_agreement"] >= control["agreement_before"] + 0.5
    # Still short of 99 %: auto keeps the fp32 model.
    auto = TweetClassifier.load(tiny_run, backend="openvino")
    assert auto.engine.precision == "int8"  # asked for openvino: the int8 file is used
    assert TweetClassifier.load(tiny_run, backend="auto").engine.precision != "int8"


def test_int8_max_drop_is_checked(tiny_run, run_cli):
    code, _, err = run_cli("export", tiny_run, "--format", "openvino", "--int8-max-drop", "2")
    assert code == 2 and "int8" in err
    with pytest.raises(ConfigError, match="max_drop"):
        export_openvino(tiny_run, quantize="int8", max_drop=-0.1)
