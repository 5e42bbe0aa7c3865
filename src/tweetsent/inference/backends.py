"""Which engine runs a model: the ``--backend`` choices, and what ``auto`` takes on this CPU.

:func:`auto_order` is a pure function from the CPU's instruction-set flags to the order in which
``auto`` tries backends and precisions (README, *Speed and export*, has it as a table);
:func:`auto_backend` takes the first one this run can use (its exports, installed packages);
:func:`load_engine` builds the engine with its tokenizer and labels.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Iterable
from pathlib import Path

from tweetsent.errors import ConfigError, ModelError
from tweetsent.hardware import cpu_flags, device_type
from tweetsent.inference.engines import TorchEngine, find_onnx_model, load_onnx_engine
from tweetsent.inference.ov_engine import OpenVinoEngine, export_settings, find_openvino_model
from tweetsent.inference.tokenizer import SavedTokenizer
from tweetsent.modeling.ensemble import load_run_model
from tweetsent.modeling.loading import load_tokenizer

BACKENDS = ("auto", "torch", "onnx", "openvino")
# An int8 model is taken automatically only when its export measured that it keeps at least
# this share of the fp32 model's labels (on the run's validation tweets).
MIN_INT8_AGREEMENT = 0.99

# Why this order (docs/benchmarks.md has the tables): where bf16 is native, torch with bf16
# weights was 5.2x the pipeline on Sapphire Rapids (bench/history/RESULTS-2026-11.md) and 2.99x
# on Zen 4 (bench/measurements/zen4-bench-predict.json, where OpenVINO bf16 ran 3.18x in the
# same run, timed one after the other). With AVX2 only (Zen 2, Zen 3) the three fp32 engines
# were within run-to-run drift of each other, and NNCF int8 was no faster than fp32 (no VNNI).
# With VNNI and no bf16, int8 dot products run at four times the fp32 rate, so a checked NNCF
# int8 model comes first: unmeasured.
_BF16 = (("torch", "bf16"), ("openvino", "bf16"), ("onnx", "fp32"), ("torch", "fp32"))
_AVX2 = (("onnx", "fp32"), ("openvino", "fp32"), ("torch", "fp32"))
AUTO_ORDER = {
    "amx": _BF16,
    "avx512_bf16": _BF16,
    "vnni": (("openvino", "int8"), *_AVX2),
    "avx2": _AVX2,
    "other": (("onnx", "fp32"), ("torch", "fp32")),
}


def cpu_class(flags: Iterable[str]) -> str:
    """``amx``, ``avx512_bf16``, ``vnni``, ``avx2`` or ``other``, from /proc/cpuinfo flags."""
    flags = set(flags)
    if "amx_bf16" in flags:
        return "amx"
    if "avx512_bf16" in flags:
        return "avx512_bf16"
    if flags & {"avx512_vnni", "avx_vnni"}:
        return "vnni"
    return "avx2" if "avx2" in flags else "other"


def auto_order(flags: Iterable[str], *, cuda: bool = False) -> tuple[tuple[str, str], ...]:
    """``(backend, variant)`` pairs in the order ``--backend auto`` tries them on such a CPU.

    A GPU runs torch at its own precision (bf16 where it has it). Torch fp32 always ends the
    list, so some backend is always there.
    """
    if cuda:
        return (("torch", "auto"),)
    return AUTO_ORDER[cpu_class(flags)]


def auto_backend(
    path: str | Path,
    *,
    onnx_dir: str | Path | None = None,
    openvino_dir: str | Path | None = None,
    flags: Iterable[str] | None = None,
    precision: str = "auto",
) -> tuple[str, str]:
    """The first backend of :func:`auto_order` for this machine that the run can use: an
    export there (and its package installed), an int8 model only with its measured agreement.

    ``precision`` ``fp32`` or ``bf16`` keeps only the choices at that precision (no int8);
    torch at that precision is always left.
    """
    cuda = device_type() == "cuda"
    for backend, variant in auto_order(cpu_flags() if flags is None else flags, cuda=cuda):
        if precision != "auto" and variant not in (precision, "auto"):
            continue
        if _usable(Path(path), backend, variant, onnx_dir, openvino_dir):
            return backend, variant
    return "torch", "fp32" if precision == "auto" else precision


def _usable(path: Path, backend: str, variant: str, onnx_dir, openvino_dir) -> bool:
    if backend == "torch":
        return True
    if backend == "onnx":
        found = find_onnx_model(path, prefer=variant, folder=onnx_dir)
        return found is not None and found.name == "model.onnx" and variant == "fp32"
    if importlib.util.find_spec("openvino") is None:
        return False
    found = find_openvino_model(path, prefer=variant, folder=openvino_dir)
    if found is None or (found.name == "model_int8.xml") != (variant == "int8"):
        return False
    if variant != "int8":
        return True
    settings = export_settings(found.parent)
    # What the agreement is at least (95 %), not the share on a sample: 99.55 % on 223 tweets
    # was 94.6 % on 2,000 others. An export without the bound gets it from its own figures.
    lower = settings.get("int8_agreement_lower_bound")
    if lower is None:
        lower = agreement_lower_bound(
            settings.get("int8_label_agreement"), settings.get("agreement_tweets") or 0
        )
    return lower is not None and lower >= MIN_INT8_AGREEMENT


def load_engine(
    path: Path,
    model_dir: Path,
    backend: str,
    variant: str | None,
    *,
    precision: str = "auto",
    allow_pickle: bool = False,
    export_dir: str | Path | None = None,
):
    """``(engine, tokenizer, labels)`` for a resolved backend (not ``auto``).

    ``variant``: for onnx ``fp32`` / ``int8``; for openvino ``fp32`` / ``bf16`` / ``int8``; for
    torch ``fp32`` / ``bf16``. An explicit ``precision`` (not ``auto``) overrides a float
    variant's (torch, and the float ops of OpenVINO).
    ``export_dir``: the export folder when it is not ``RUN_DIR/onnx`` / ``RUN_DIR/openvino``.
    An explicit ``precision`` with no ``variant`` takes an export's float model, not its int8 one.
    """
    if backend in ("onnx", "openvino"):
        if backend == "onnx" and precision == "bf16":
            raise ConfigError(
                "--precision bf16 applies to --backend torch or openvino; onnx runs fp32 "
                "(or its int8 model)"
            )
        variant = variant or (None if precision == "auto" else precision)
        find = find_onnx_model if backend == "onnx" else find_openvino_model
        found = find(path, prefer=variant, folder=export_dir)
        flag = "" if backend == "onnx" else " --format openvino"
        if found is None:
            raise ModelError(
                f"{export_dir or path}: no exported {'ONNX' if backend == 'onnx' else 'OpenVINO'}"
                f" model; run: tweetsent export {path}{flag}"
            )
        if variant in ("fp32", "bf16") and "_int8" in found.name:  # a float model was asked for
            raise ModelError(
                f"{found.parent}: holds only an int8 model, not the float one {variant} needs; "
                f"run: tweetsent export {path}{flag}"
            )
        if backend == "onnx":
            engine = load_onnx_engine(found)  # checks the export folder as a whole
        else:
            engine = OpenVinoEngine(found, precision=_float_precision(precision, variant))
        tokenizer = export_tokenizer(found.parent, vocab_size=engine.vocab_size)
        return engine, tokenizer, engine.labels

    model = load_run_model(model_dir, allow_pickle=allow_pickle)  # or an ensemble's members
    tokenizer = load_tokenizer(str(model_dir), vocab_size=model.config.vocab_size)
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    return TorchEngine(model, _float_precision(precision, variant)), tokenizer, labels


def _float_precision(precision: str, variant: str | None) -> str:
    """An explicit precision, else the variant's where it names one (fp32 / bf16), else auto."""
    if precision != "auto" or variant not in ("fp32", "bf16"):
        return precision
    return variant


def export_tokenizer(folder: Path, *, vocab_size: int | None = None):
    """The tokenizer saved beside an exported model (fast, without torch, where it can)."""
    if not SavedTokenizer.available(folder):  # a slow tokenizer: no tokenizer.json
        from tweetsent.modeling.loading import load_tokenizer

        return load_tokenizer(str(folder), vocab_size=vocab_size)
    tokenizer = SavedTokenizer(folder)  # no torch, no transformers: start-up in a second
    if vocab_size and len(tokenizer) < vocab_size // 2:  # as load_tokenizer checks
        raise ModelError(
            f"{folder}: the tokenizer has {len(tokenizer)} tokens but the model {vocab_size}; "
            "its tokenizer files are incomplete"
        )
    return tokenizer


def agreement_lower_bound(agreement: float | None, n: int, z: float = 1.96) -> float | None:
    """The Wilson score interval's lower end (95 %) of a share measured on ``n`` tweets: what
    the share is at least, given how few tweets measured it (1 miss in 223 bounds it at 97.5 %)."""
    if agreement is None or n <= 0:
        return None
    centre = agreement + z * z / (2 * n)
    spread = z * math.sqrt(agreement * (1 - agreement) / n + z * z / (4 * n * n))
    return round((centre - spread) / (1 + z * z / n), 4)


__all__ = [
    "AUTO_ORDER",
    "BACKENDS",
    "MIN_INT8_AGREEMENT",
    "agreement_lower_bound",
    "auto_backend",
    "auto_order",
    "cpu_class",
    "export_tokenizer",
    "load_engine",
]
