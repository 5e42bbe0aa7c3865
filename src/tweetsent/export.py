"""Exported models: finding and running an ONNX export of a run (``tweetsent export``)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from tweetsent.errors import ModelError

logger = logging.getLogger(__name__)

ONNX_DIR = "onnx"


def find_onnx_model(run_dir: Path) -> Path | None:
    """The exported model of a run (int8 preferred when both exist), or None."""
    folder = Path(run_dir) / ONNX_DIR
    for name in ("model_int8.onnx", "model.onnx"):
        if (folder / name).is_file():
            return folder / name
    return None


class OnnxEngine:
    """Runs an exported classifier with onnxruntime; the labels come from its config.json."""

    name = "onnx"

    def __init__(self, path: Path):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise ModelError(f"{path}: corrupt or unreadable ONNX model ({exc})") from None
        self.input_names = [i.name for i in self.session.get_inputs()]
        config = json.loads((path.parent / "config.json").read_text(encoding="utf-8"))
        id2label = config["id2label"]
        self.labels = [id2label[str(i)] for i in range(len(id2label))]

    def __call__(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        feed = {k: v for k, v in batch.items() if k in self.input_names}
        return self.session.run(None, feed)[0].astype(np.float32)


def load_onnx_engine(path: Path) -> OnnxEngine:
    return OnnxEngine(Path(path))
