"""ONNX export: parity with the torch model, int8, backend selection, CLI and errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tweetsent.cli import main
from tweetsent.errors import ConfigError, ModelError
from tweetsent.export import export_onnx
from tweetsent.inference import TweetClassifier
from tweetsent.inference.engines import find_onnx_model

TEXTS = [
    "love great day",
    "hate awful furious",
    "museum opens tuesday",
    "",
    "a much longer tweet about the exhibition schedule and the tickets, which I love " * 3,
    "terrible horrible day 7",
]


@pytest.fixture(scope="module")
def exported_run(tmp_path_factory, _tiny_run):
    import shutil

    run = tmp_path_factory.mktemp("exported") / "run"
    shutil.copytree(_tiny_run, run)
    export_onnx(run, quantize="int8")
    return run


def test_export_writes_a_complete_folder(exported_run):
    folder = exported_run / "onnx"
    names = {p.name for p in folder.iterdir()}
    assert {"model.onnx", "model_int8.onnx", "config.json", "tokenizer.json"} <= names
    config = json.loads((folder / "config.json").read_text())
    assert config["id2label"] == {"0": "angry", "1": "happy", "2": "neutral"}
    assert not list(exported_run.glob(".onnx*")), "no staging folder left behind"


def test_onnx_fp32_matches_torch(exported_run):
    torch_clf = TweetClassifier.load(exported_run, backend="torch", precision="fp32")
    onnx_clf = TweetClassifier.load(exported_run, backend="onnx", onnx_variant="fp32")
    assert onnx_clf.backend == "onnx"
    assert onnx_clf.labels == torch_clf.labels
    p_torch = torch_clf.predict_proba(TEXTS)
    p_onnx = onnx_clf.predict_proba(TEXTS)
    np.testing.assert_allclose(p_onnx, p_torch, atol=1e-4)
    assert onnx_clf.predict(TEXTS) == torch_clf.predict(TEXTS)


def test_dynamic_axes_accept_any_batch_and_length(exported_run):
    onnx_clf = TweetClassifier.load(exported_run, backend="onnx", batch_size=3)
    many = [f"love great day {'x ' * i}" for i in range(11)]
    assert len(onnx_clf.predict(many)) == 11


def test_int8_loads_and_mostly_agrees(exported_run):
    torch_clf = TweetClassifier.load(exported_run, backend="torch", precision="fp32")
    int8 = TweetClassifier.load(exported_run, backend="onnx", onnx_variant="int8")
    assert int8.engine.path.name == "model_int8.onnx"
    texts = TEXTS * 3 + [f"{w} day {i}" for i, w in enumerate(["love", "hate", "museum"] * 6)]
    pairs = zip(int8.predict(texts), torch_clf.predict(texts), strict=True)
    agree = np.mean([a == b for a, b in pairs])
    assert agree >= 0.8
    np.testing.assert_allclose(int8.predict_proba(texts).sum(axis=1), 1.0, rtol=1e-5)


def test_onnx_backend_without_export_is_a_clear_error(tiny_run):
    with pytest.raises(ModelError, match="tweetsent export"):
        TweetClassifier.load(tiny_run, backend="onnx")


def test_auto_without_export_uses_torch(tiny_run):
    assert TweetClassifier.load(tiny_run, backend="auto").backend == "torch"


def test_auto_backend_choice_follows_the_cpu(exported_run):
    from tweetsent.inference.backends import auto_backend

    # Without native bf16 (and no OpenVINO export): the exported fp32 model (int8 changes
    # labels, so only on request); with it, torch bf16.
    zen3, zen4 = {"avx2"}, {"avx2", "avx512_bf16", "avx512_vnni"}
    assert auto_backend(exported_run, flags=zen3) == ("onnx", "fp32")
    (exported_run / "onnx" / "model.onnx").rename(exported_run / "onnx" / "fp32.bak")
    try:  # an int8-only folder is not taken automatically
        assert auto_backend(exported_run, flags=zen3) == ("torch", "fp32")
    finally:
        (exported_run / "onnx" / "fp32.bak").rename(exported_run / "onnx" / "model.onnx")
    assert auto_backend(exported_run, flags=zen4) == ("torch", "bf16")
    expected = auto_backend(exported_run)
    assert TweetClassifier.load(exported_run, backend="auto").backend == expected[0]


def test_unknown_quantization_is_rejected(tiny_run):
    with pytest.raises(ConfigError, match="quantize"):
        export_onnx(tiny_run, quantize="int4")


def test_export_of_a_missing_run_fails(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        export_onnx(tmp_path / "nope")


def test_cli_export_then_predict_with_onnx(tiny_run, capsys):
    assert main(["export", str(tiny_run)]) == 0
    assert find_onnx_model(tiny_run).name == "model.onnx"
    capsys.readouterr()
    assert main(["predict", str(tiny_run), "love great day", "--backend", "onnx"]) == 0
    out = capsys.readouterr().out
    assert out.split("\t")[0] in {"angry", "happy", "neutral"}


def test_cli_predict_onnx_without_export(tiny_run, capsys):
    assert main(["predict", str(tiny_run), "hello", "--backend", "onnx"]) == 1
    assert "tweetsent export" in capsys.readouterr().err


def test_precision_keeps_auto_to_engines_at_that_precision(exported_run):
    from tweetsent.inference.backends import auto_backend

    zen3, zen4 = {"avx2"}, {"avx2", "avx512_bf16", "avx512_vnni"}
    # fp32: torch bf16 (first on a bf16 CPU) is passed over for the exported fp32 model.
    assert auto_backend(exported_run, flags=zen4, precision="fp32") == ("onnx", "fp32")
    assert auto_backend(exported_run, flags=zen4, precision="bf16") == ("torch", "bf16")
    # bf16 where no engine of the order has it: torch, at the precision asked for.
    assert auto_backend(exported_run, flags=zen3, precision="bf16") == ("torch", "bf16")
    clf = TweetClassifier.load(exported_run, precision="fp32")
    assert clf.engine.precision == "fp32", (clf.backend, clf.engine.precision)


def test_explicit_precision_takes_the_float_model_or_says_why_not(exported_run):
    # Without a precision the ONNX backend takes int8 where the export has it; fp32 asks for
    # the float model.
    assert TweetClassifier.load(exported_run, backend="onnx").engine.precision == "int8"
    fp32 = TweetClassifier.load(exported_run, backend="onnx", precision="fp32")
    assert (fp32.engine.path.name, fp32.engine.precision) == ("model.onnx", "fp32")
    bf16 = TweetClassifier.load(exported_run, backend="torch", precision="bf16")
    assert bf16.engine.precision == "bf16"
    with pytest.raises(ConfigError, match="bf16 applies to --backend torch or openvino"):
        TweetClassifier.load(exported_run, backend="onnx", precision="bf16")
    with pytest.raises(ConfigError, match="precision must be auto, fp32 or bf16, got 'fp16'"):
        TweetClassifier.load(exported_run, precision="fp16")
    (exported_run / "onnx" / "model.onnx").rename(exported_run / "onnx" / "fp32.bak")
    try:  # an int8-only export is never taken for the float model asked for
        with pytest.raises(ModelError, match="holds only an int8 model"):
            TweetClassifier.load(exported_run, backend="onnx", precision="fp32")
    finally:
        (exported_run / "onnx" / "fp32.bak").rename(exported_run / "onnx" / "model.onnx")


def test_cli_precision_reaches_the_engine(exported_run, run_cli):
    texts = TEXTS[:3]
    code, out, err = run_cli(
        "predict", exported_run, *texts, "--backend", "torch", "--precision", "fp32"
    )
    assert code == 0, err
    fp32 = TweetClassifier.load(exported_run, backend="torch", precision="fp32")
    printed = [line.split("\t") for line in out.splitlines()]
    assert [row[0] for row in printed] == fp32.predict(texts)
    # Printed to 3 decimals: the fp32 confidences, rounded.
    confidences = fp32.predict_proba(texts).max(axis=1)
    assert [float(row[1]) for row in printed] == [round(float(c), 3) for c in confidences]

    code, _, err = run_cli(
        "predict", exported_run, "hi", "--backend", "onnx", "--precision", "bf16"
    )
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 1 and len(errors) == 1 and "--backend torch or openvino" in errors[0], err
    for command in (("predict", exported_run, "hi"), ("evaluate", exported_run, "x.csv")):
        code, _, err = run_cli(*command, "--precision", "fp16")
        assert code == 2 and "invalid choice: 'fp16'" in err
