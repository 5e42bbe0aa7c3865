"""Start-up: no torch / transformers before the arguments and files are checked, and none at
all to label tweets with an ONNX export (tokenizers + onnxruntime only)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers", "sklearn", "matplotlib")

# Runs the command in-process and prints which heavy modules it imported.
PROBE = f"""
import json, sys
from tweetsent.cli import main
code = main(sys.argv[1:])
print(json.dumps({{"code": code, "heavy": sorted(m for m in {HEAVY!r} if m in sys.modules)}}))
"""


def _probe(env, *argv) -> tuple[dict, str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *map(str, argv)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.stdout.strip(), proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "{tmp}/missing.csv", "--preset", "smile", "--out", "{tmp}/r"],
        ["train", "{csv}", "--text-col", "txt", "--label-col", "label", "--out", "{tmp}/r"],
        ["inspect", "{csv}", "--text-col", "txt", "--label-col", "label"],
        ["evaluate", "{run}", "{tmp}/missing.csv"],
        ["predict", "{run}", "--input", "{tmp}/missing.csv", "--output", "{tmp}/o.csv"],
    ],
)
def test_a_data_error_comes_before_any_heavy_import(
    subprocess_env, tmp_path, small_csv, _tiny_run, argv
):
    argv = [a.format(tmp=tmp_path, csv=small_csv, run=_tiny_run) for a in argv]
    result, err = _probe(subprocess_env, *argv)
    assert result["code"] == 1 and err.startswith("error: "), err
    assert result["heavy"] == [], result


@pytest.mark.slow  # ~9 s: fresh interpreters
def test_onnx_predict_never_imports_torch(subprocess_env, tiny_run):
    from tweetsent.export import export_onnx
    from tweetsent.inference import TweetClassifier

    export_onnx(tiny_run)
    texts = ["love this wonderful day", "@bob hate it https://t.co/x"]
    for backend in ("onnx", "auto"):  # auto takes the fp32 export on a CPU without bf16
        result, err = _probe(subprocess_env, "predict", tiny_run, "--backend", backend, *texts)
        assert result["code"] == 0, err
        if backend == "onnx" or not _bf16():
            assert "torch" not in result["heavy"] and "transformers" not in result["heavy"]
    # the same labels as through transformers' own tokenizer
    fast = TweetClassifier.load(tiny_run, backend="onnx")
    from tweetsent.modeling.loading import load_tokenizer

    reference = load_tokenizer(str(tiny_run / "onnx"))
    kwargs = dict(truncation=True, max_length=8, padding=False)
    assert fast.tokenizer(texts, **kwargs)["input_ids"] == reference(texts, **kwargs)["input_ids"]
    assert fast.tokenizer.pad_token_id == reference.pad_token_id


def _bf16() -> bool:
    from tweetsent.hardware import cpu_has_bf16

    return cpu_has_bf16()


def test_onnx_serve_never_imports_torch(tiny_run, tmp_path, monkeypatch):
    import httpx

    from tests.conftest import ServerProcess
    from tweetsent.export import export_onnx

    export_onnx(tiny_run)
    # Python's own import log (stderr) of the server process: every module it imported.
    monkeypatch.setenv("PYTHONPROFILEIMPORTTIME", "1")
    server = ServerProcess([str(tiny_run), "--backend", "onnx", "--no-access-log"], tmp_path / "l")
    try:
        answer = httpx.post(f"{server.url}/predict", json={"texts": ["love it"]}, timeout=30)
        assert answer.status_code == 200
    finally:
        server.stop()
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in server.log().splitlines()
        if line.startswith("import time:")
    }
    assert "onnxruntime" in imported and "tokenizers" in imported
    assert "torch" not in imported and "transformers" not in imported
