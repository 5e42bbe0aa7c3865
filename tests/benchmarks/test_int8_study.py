"""bench/int8_study.py: the per-token int8 rewrite, a real onnxruntime graph, on the tiny run."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

STUDY = Path(__file__).resolve().parents[2] / "bench" / "int8_study.py"


@pytest.fixture(scope="module")
def study():
    spec = importlib.util.spec_from_file_location("int8_study", STUDY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _logits(path: Path, feed: dict) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    return session.run(None, {k: v for k, v in feed.items() if k in names})[0]


def test_per_token_int8_keeps_the_fp32_logits(study, onnx_run, tmp_path):
    import onnx

    from tweetsent.inference import TweetClassifier

    fp32 = onnx_run / "onnx" / "model.onnx"
    every, mixed = tmp_path / "every.onnx", tmp_path / "mixed.onnx"
    weight_matmuls = study.per_token_int8(fp32, every)
    kept = study.per_token_int8(fp32, mixed, keep_fp32=study.SENSITIVE_MATMULS)

    clf = TweetClassifier.load(onnx_run, backend="torch")
    layers = clf.engine.model.config.num_hidden_layers
    assert weight_matmuls == 6 * layers  # query, key, value, attention out, FFN in, FFN out
    assert kept == 4 * layers
    ops = [n.op_type for n in onnx.load(str(every)).graph.node]
    assert ops.count("MatMulIntegerToFloat") == weight_matmuls

    texts = ["love this so much", "worst day ever, really", "ok", "a longer tweet " * 5]
    feed = {k: np.asarray(v, dtype=np.int64) for k, v in clf.tokenizer(texts, padding=True).items()}
    reference = _logits(fp32, feed)
    scale = np.abs(reference).max()
    for path in (every, mixed):
        logits = _logits(path, feed)
        assert logits.shape == reference.shape
        assert np.abs(logits - reference).max() < 0.05 * scale + 1e-3
