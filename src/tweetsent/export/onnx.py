"""Exported models: ``tweetsent export`` writes ``RUN_DIR/onnx/``; ``inference.engines`` runs it.

The export is a plain ``torch.onnx.export`` of the fine-tuned classifier (an ensemble run's
members as one graph, see ``_load_model``), with the TorchScript exporter: it needs no extra
package, unlike the dynamo one, and handles the BERT family with dynamic batch and sequence
axes; optionally followed by onnxruntime's dynamic int8 quantization. The folder
holds everything a predictor needs: ``model.onnx`` (and ``model_int8.onnx``), the tokenizer, and
``config.json`` with ``id2label``. It is staged under a temporary name and renamed into place.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from tweetsent import rundir
from tweetsent.errors import ConfigError, ModelError
from tweetsent.export.staging import staged_folder, write_export_config
from tweetsent.inference.engines import ONNX_DIR
from tweetsent.modeling.ensemble import load_run_model, members_of
from tweetsent.modeling.loading import load_tokenizer
from tweetsent.quiet import third_party_quiet

logger = logging.getLogger(__name__)

QUANTIZE = ("int8",)
OPSET = 17


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
    if quantize is not None and quantize not in QUANTIZE:
        raise ConfigError(f"quantize must be one of {', '.join(QUANTIZE)}, got {quantize!r}")
    run_dir = Path(run_dir)
    model, tokenizer = load_for_export(run_dir, allow_pickle=allow_pickle)

    with staged_folder(run_dir, ONNX_DIR) as staging:
        input_names = write_onnx_graph(model, tokenizer, staging / "model.onnx", opset)
        if quantize == "int8":
            _quantize_int8(staging / "model.onnx", staging / "model_int8.onnx")
        tokenizer.save_pretrained(str(staging))
        settings = {"input_names": input_names, "quantize": quantize, "opset": opset}
        write_export_config(staging, model, settings)
    final = run_dir / ONNX_DIR
    logger.debug("exported %s to %s", run_dir, final)
    return final


def load_for_export(run_dir: Path, *, allow_pickle: bool = False):
    """The run's model (classifier or ensemble, see ``_load_model``) and tokenizer, ready to
    trace; a missing run is an error."""
    if not run_dir.exists():
        raise ModelError(f"{run_dir}: run directory not found")
    return _load_model(rundir.model_folder(run_dir), allow_pickle)


def write_onnx_graph(model, tokenizer, target: Path, opset: int = OPSET) -> list[str]:
    """Trace ``model`` (from :func:`load_for_export`) into the ONNX file ``target`` (dynamic
    batch and sequence axes); the names of its inputs, in order. The OpenVINO export converts
    this same graph."""
    import torch

    input_names = _model_inputs(members_of(model)[0], tokenizer)
    example = tokenizer(
        ["an example tweet to trace", "a second, longer example tweet to trace the graph"],
        padding=True,
        return_tensors="pt",
    )
    args = tuple(example[name] for name in input_names)
    axes = {name: {0: "batch", 1: "sequence"} for name in input_names}
    axes["logits"] = {0: "batch"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _logits_module(model, input_names),
            args,
            str(target),
            input_names=input_names,
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=opset,
            dynamo=False,
        )
    return input_names


def _load_model(model_dir: Path, allow_pickle: bool):
    """The run's classifier, or its ensemble, ready to trace; and its tokenizer.

    An ensemble becomes ONE graph that runs every member and averages their calibrated
    probabilities (``modeling.ensemble.Ensemble``: its "logits" are the log of the mean), rather
    than K graphs averaged by the ONNX engine: the engine, the export folder's layout and every
    predictor stay as they are, and onnxruntime schedules the K members in one session.
    """
    model = load_run_model(model_dir, allow_pickle=allow_pickle).eval()
    tokenizer = load_tokenizer(str(model_dir), vocab_size=model.config.vocab_size)
    for member in members_of(model):
        # eager attention: a plain MatMul/Softmax graph that onnxruntime's fusions recognise.
        member.set_attn_implementation("eager")
        member.config.return_dict = False
    return model, tokenizer


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
    with third_party_quiet():  # onnxruntime's "consider pre-processing" advice on the root log
        quantize_dynamic(
            str(source),
            str(target),
            op_types_to_quantize=["MatMul"],
            weight_type=QuantType.QInt8,
            per_channel=True,
        )
