"""Inference engines: padded token arrays in, logits out (PyTorch, or an exported ONNX model).

``TweetClassifier`` tokenises, batches and decides labels once; an engine only runs the network.
The ONNX engine lives here, beside the PyTorch one, so that prediction does not need the
exporter; :mod:`tweetsent.export` writes the files this module finds and loads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tweetsent import rundir
from tweetsent.errors import ModelError
from tweetsent.hardware import device_type, resolve_precision
from tweetsent.modeling.loading import check_model_dir, labels_from_config

ONNX_DIR = rundir.ONNX


def find_onnx_model(
    run_dir: Path, *, prefer: str | None = None, folder: str | Path | None = None
) -> Path | None:
    """The exported model of a run (in ``RUN_DIR/onnx`` or ``folder``), or None.

    ``prefer``: ``"int8"`` or ``"fp32"`` picks that file when present; None takes int8 when both
    exist (onnxruntime's int8 kernels beat its fp32 ones on CPUs with VNNI/AMX).
    """
    folder = Path(folder) if folder is not None else Path(run_dir) / ONNX_DIR
    names = ["model_int8.onnx", "model.onnx"]
    if prefer == "fp32":
        names.reverse()
    for name in names:
        if (folder / name).is_file():
            return folder / name
    return None


class OnnxEngine:
    """Runs an exported classifier with onnxruntime; the labels come from its config.json."""

    name = "onnx"

    def __init__(self, path: Path, *, threads: int | None = None):
        import onnxruntime as ort

        path = Path(path)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise ModelError(f"{path}: corrupt or unreadable ONNX model ({exc})") from None
        self.path = path
        self.precision = "int8" if path.name == "model_int8.onnx" else "fp32"
        self.input_names = [i.name for i in self.session.get_inputs()]
        # The export folder checked as a whole, as every model directory is: tokenizer files,
        # config.json and an id2label naming every output.
        config = check_model_dir(path.parent, classifier=True, weights=False)
        self.labels = labels_from_config(config, path.parent)
        self.vocab_size = config.get("vocab_size")

    def __call__(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        feed = {k: v for k, v in batch.items() if k in self.input_names}
        return self.session.run(None, feed)[0].astype(np.float32)


def load_onnx_engine(path: Path) -> OnnxEngine:
    return OnnxEngine(Path(path))


class TorchEngine:
    """Runs a ``transformers`` sequence classifier; in bf16 where the hardware computes it natively.

    bf16 means the weights themselves are cast to bf16, not autocast: autocast re-casts every
    weight on every call. The cast model keeps the fp32 labels (99.8 % agreement on Sapphire
    Rapids, bench/history/RESULTS-2026-11.md; 99.75 % on Zen 4,
    bench/measurements/zen4-bench-predict.json).
    """

    name = "torch"

    def __init__(self, model, precision: str = "auto"):
        import torch

        self.precision = resolve_precision(precision)
        self.device = torch.device(device_type())
        self.model = model.to(self.device).eval()
        if self.precision == "bf16":
            self.model = self.model.to(torch.bfloat16)

    def __call__(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        import torch

        inputs = {k: torch.from_numpy(v).to(self.device) for k, v in batch.items()}
        with torch.inference_mode():
            logits = self.model(**inputs).logits
        return logits.float().cpu().numpy()


__all__ = ["ONNX_DIR", "OnnxEngine", "TorchEngine", "find_onnx_model", "load_onnx_engine"]
