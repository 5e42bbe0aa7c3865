"""Exported models: ``tweetsent export`` writes ``RUN_DIR/onnx/``; this module also runs it.

The export is a plain ``torch.onnx.export`` of the fine-tuned classifier (TorchScript exporter:
it needs no extra package, unlike the dynamo one, and handles the BERT family with dynamic batch
and sequence axes), optionally followed by onnxruntime's dynamic int8 quantization. The folder
holds everything a predictor needs: ``model.onnx`` (and ``model_int8.onnx``), the tokenizer, and
``config.json`` with ``id2label``. It is staged under a temporary name and renamed into place.
"""

from __future__ import annotations

import json
import logging
import shutil
import warnings
from pathlib import Path

import numpy as np

from tweetsent import fileio
from tweetsent.errors import ConfigError, ModelError

logger = logging.getLogger(__name__)

ONNX_DIR = "onnx"
FORMATS = ("onnx",)
QUANTIZE = ("int8",)
OPSET = 17


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


def export_onnx(
    run_dir: str | Path,
    *,
    quantize: str | None = None,
    allow_pickle: bool = False,
    opset: int = OPSET,
) -> Path:
    """Export a run's model to ``RUN_DIR/onnx/`` and return that folder.

    >>> export_onnx("runs/smile", quantize="int8")          # doctest: +SKIP
    PosixPath('runs/smile/onnx')
    """
    import torch

    from tweetsent.modeling import load_classifier, load_tokenizer

    if quantize is not None and quantize not in QUANTIZE:
        raise ConfigError(f"quantize must be one of {', '.join(QUANTIZE)}, got {quantize!r}")
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise ModelError(f"{run_dir}: run directory not found")
    model_dir = run_dir / "model" if (run_dir / "model").is_dir() else run_dir
    model = load_classifier(model_dir, allow_pickle=allow_pickle).eval()
    tokenizer = load_tokenizer(str(model_dir))
    # eager attention: a plain MatMul/Softmax graph that onnxruntime's fusions recognise.
    model.set_attn_implementation("eager")
    model.config.return_dict = False

    input_names = _model_inputs(model, tokenizer)
    example = tokenizer(
        ["an example tweet to trace", "a second, longer example tweet to trace the graph"],
        padding=True,
        return_tensors="pt",
    )
    args = tuple(example[name] for name in input_names)
    axes = {name: {0: "batch", 1: "sequence"} for name in input_names}
    axes["logits"] = {0: "batch"}

    final = run_dir / ONNX_DIR
    staging = run_dir / f".{ONNX_DIR}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _logits_module(model, input_names),
                args,
                str(staging / "model.onnx"),
                input_names=input_names,
                output_names=["logits"],
                dynamic_axes=axes,
                opset_version=opset,
                dynamo=False,
            )
        if quantize == "int8":
            _quantize_int8(staging / "model.onnx", staging / "model_int8.onnx")
        tokenizer.save_pretrained(str(staging))
        config = model.config.to_dict()
        config["tweetsent"] = {"input_names": input_names, "quantize": quantize, "opset": opset}
        (staging / "config.json").write_text(json.dumps(config, indent=2) + "\n", "utf-8")
        fileio.swap_dir(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    logger.info("exported %s to %s", model_dir, final)
    return final


def _logits_module(model, input_names: list[str]):
    """The model called with positional inputs in a fixed order, returning only the logits."""
    import torch

    class Logits(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *inputs):
            return self.model(**dict(zip(input_names, inputs, strict=True)))[0]

    return Logits().eval()


def _model_inputs(model, tokenizer) -> list[str]:
    import inspect

    accepted = inspect.signature(model.forward).parameters
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in accepted]
    return [n for n in names if n in tokenizer.model_input_names or n == "attention_mask"]


def _quantize_int8(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Signed int8 weights (onnxruntime's VNNI/AMX kernels take u8 activations x s8 weights), one
    # scale per output channel: on a trained SMILE model per-channel kept 96.4 % of the fp32
    # labels against 91.2 % per tensor, at the same speed (reduce_range, 7-bit weights for CPUs
    # without VNNI, kept only 80 %). Only the MatMuls are quantized; embeddings stay fp32.
    quantize_dynamic(
        str(source),
        str(target),
        op_types_to_quantize=["MatMul"],
        weight_type=QuantType.QInt8,
        per_channel=True,
    )


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
        self.input_names = [i.name for i in self.session.get_inputs()]
        config_file = path.parent / "config.json"
        try:
            config = json.loads(config_file.read_text(encoding="utf-8"))
            id2label = config["id2label"]
            self.labels = [id2label[str(i)] for i in range(len(id2label))]
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(f"{config_file}: missing or without id2label ({exc})") from None

    def __call__(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        feed = {k: v for k, v in batch.items() if k in self.input_names}
        return self.session.run(None, feed)[0].astype(np.float32)


def load_onnx_engine(path: Path) -> OnnxEngine:
    return OnnxEngine(Path(path))
