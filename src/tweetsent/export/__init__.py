"""Export: a run's model as ONNX or OpenVINO IR (optionally int8), for tweetsent.inference."""

from pathlib import Path
from typing import Any

from tweetsent.errors import ConfigError
from tweetsent.export.onnx import ONNX_DIR, QUANTIZE, export_onnx
from tweetsent.export.openvino import export_openvino
from tweetsent.inference.ov_engine import OPENVINO_DIR

FORMATS = ("onnx", "openvino")


def export_run(run_dir: str | Path, *, format: str = "onnx", **options: Any) -> Path:
    """Export a run's model as ONNX or OpenVINO IR (``RUN_DIR/onnx``, ``RUN_DIR/openvino``).

    Args:
        run_dir: the run directory.
        format: ``onnx`` or ``openvino``.
        **options: ``quantize="int8"`` (also an int8 model), ``allow_pickle``, and for OpenVINO
            int8 ``calibration`` (a file of tweets to calibrate on).

    Returns:
        The folder written.

    Raises:
        ConfigError: a bad option, or another process exporting or training the run.
        ModelError: the run cannot be loaded.
    """

    if format not in FORMATS:
        raise ConfigError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    calibration = options.get("calibration")
    if calibration is not None and (format != "openvino" or options.get("quantize") != "int8"):
        raise ConfigError("--calibration is for --format openvino --quantize int8 only")
    if format == "onnx":
        options.pop("calibration", None)
        return export_onnx(run_dir, **options)
    return export_openvino(run_dir, **options)


__all__ = [
    "FORMATS",
    "ONNX_DIR",
    "OPENVINO_DIR",
    "QUANTIZE",
    "export_onnx",
    "export_openvino",
    "export_run",
]
