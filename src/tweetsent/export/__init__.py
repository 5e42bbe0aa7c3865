"""Export: a run's model as ONNX (optionally int8), for :mod:`tweetsent.inference` to run."""

from tweetsent.export.onnx import FORMATS, ONNX_DIR, QUANTIZE, export_onnx

__all__ = ["FORMATS", "ONNX_DIR", "QUANTIZE", "export_onnx"]
