"""The OpenVINO engine: runs ``RUN_DIR/openvino/`` (``tweetsent export --format openvino``).

``model.xml`` is the fp32 graph; OpenVINO's CPU plugin runs it in fp32, or in bf16 where the CPU
computes bf16 natively (its ``INFERENCE_PRECISION_HINT``). ``model_int8.xml`` is the NNCF
post-training int8 model; the export measured how many of the fp32 labels it keeps and wrote
that into ``config.json`` (``tweetsent.int8_label_agreement``), which ``--backend auto`` reads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tweetsent import rundir
from tweetsent.errors import ConfigError, ModelError
from tweetsent.hardware import check_inference_precision, cpu_has_bf16
from tweetsent.modeling.loading import check_model_dir, labels_from_config

OPENVINO_DIR = rundir.OPENVINO
OV_VARIANTS = ("fp32", "bf16", "int8")
INSTALL_HINT = "the openvino backend needs the openvino package: pip install openvino"


def import_openvino():
    """The ``openvino`` module, or one actionable line when it is not installed."""
    try:
        import openvino
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    return openvino


def find_openvino_model(
    run_dir: Path, *, prefer: str | None = None, folder: str | Path | None = None
) -> Path | None:
    """The exported OpenVINO model of a run (``RUN_DIR/openvino`` or ``folder``), or None.

    ``prefer``: ``int8`` picks ``model_int8.xml``, ``fp32`` / ``bf16`` the fp32 graph
    ``model.xml``, when present; None takes int8 when both exist (as the ONNX backend does).
    """
    folder = Path(folder) if folder is not None else Path(run_dir) / OPENVINO_DIR
    names = ["model_int8.xml", "model.xml"]
    if prefer in ("fp32", "bf16"):
        names.reverse()
    for name in names:
        if (folder / name).is_file() and (folder / name).with_suffix(".bin").is_file():
            return folder / name
    return None


def export_settings(folder: Path) -> dict:
    """The ``tweetsent`` section of an export's config.json (empty when unreadable)."""
    settings = rundir.read_model_config(folder).get("tweetsent")
    return settings if isinstance(settings, dict) else {}


class OpenVinoEngine:
    """Runs an exported classifier with OpenVINO's CPU plugin; labels from its config.json.

    ``precision``: ``fp32``; ``bf16`` (emulated, so slow, on CPUs without native bf16);
    ``auto``: bf16 where native, else fp32. An int8 model runs its remaining float ops at it.
    """

    name = "openvino"

    def __init__(self, path: Path, *, precision: str = "auto", threads: int | None = None):
        ov = import_openvino()
        path = Path(path)
        if check_inference_precision(precision) == "auto":
            precision = "bf16" if cpu_has_bf16() else "fp32"
        # The export folder checked as a whole first, as every model directory is.
        config = check_model_dir(path.parent, classifier=True, weights=False)
        self.labels = labels_from_config(config, path.parent)
        self.vocab_size = config.get("vocab_size")
        # Set explicitly: OpenVINO's own default on bf16-capable CPUs is bf16, even for "fp32".
        settings = {"INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32"}
        settings["PERFORMANCE_HINT"] = "LATENCY"  # one request at a time, all cores on it
        if threads:
            settings["INFERENCE_NUM_THREADS"] = int(threads)
        try:
            self.compiled = ov.Core().compile_model(str(path), "CPU", settings)
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise ModelError(f"{path}: corrupt or unreadable OpenVINO model ({first})") from None
        self.path = path
        self.precision = "int8" if path.name == "model_int8.xml" else precision
        self.input_names = [port.get_any_name() for port in self.compiled.inputs]
        self.int8_label_agreement = export_settings(path.parent).get("int8_label_agreement")

    def __call__(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        feed = {k: v for k, v in batch.items() if k in self.input_names}
        return np.asarray(self.compiled(feed)[0], dtype=np.float32)


__all__ = [
    "INSTALL_HINT",
    "OPENVINO_DIR",
    "OV_VARIANTS",
    "OpenVinoEngine",
    "export_settings",
    "find_openvino_model",
    "import_openvino",
]
