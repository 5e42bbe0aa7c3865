"""What the machine can do: device choice and native bf16 support."""

from __future__ import annotations

import functools
import logging
import sys

from tweetsent.errors import ConfigError

logger = logging.getLogger(__name__)

# What a trained model can predict at. fp16 is no choice here: it is a GPU training setting
# (its loss scaling), and prediction would only be cast to it.
INFERENCE_PRECISIONS = ("auto", "fp32", "bf16")


def check_inference_precision(precision: str) -> str:
    """``precision`` when it is one of :data:`INFERENCE_PRECISIONS`.

    Raises:
        ConfigError: any other value.
    """
    if precision not in INFERENCE_PRECISIONS:
        raise ConfigError(f"precision must be auto, fp32 or bf16, got {precision!r}")
    return precision


@functools.cache
def cpu_has_bf16() -> bool:
    """True on CPUs with native bf16 arithmetic (AVX512-BF16 or AMX), where autocast pays off.

    Elsewhere bf16 is emulated and slower than fp32, so callers fall back to fp32.
    """
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as handle:
            flags = handle.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def device_type() -> str:
    if "torch" not in sys.modules and not gpu_driver_present():
        return "cpu"  # answered without importing torch (seconds of start-up for predict/serve)
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@functools.cache
def gpu_driver_present() -> bool:
    """Whether a GPU driver could be there: False only where it surely is not (Linux with no
    NVIDIA, ROCm or WSL GPU device node), so torch need not be imported to learn it."""
    import glob
    import os

    if not sys.platform.startswith("linux"):
        return True  # no cheap check elsewhere: let torch tell
    nodes = glob.glob("/dev/nvidia[0-9]*") + glob.glob("/dev/dxg")
    return bool(nodes) or os.path.exists("/dev/kfd")


def resolve_precision(precision: str) -> str:
    """Map ``auto`` to ``bf16`` where the device computes it natively, else ``fp32``.

    An explicit choice the device cannot run is a ``ConfigError``: fp16 mixed precision needs a
    CUDA GPU (its loss scaling is GPU-only in PyTorch); bf16 runs on any CPU, natively or not.
    """
    if precision == "fp16" and device_type() != "cuda":
        raise ConfigError(
            "fp16 mixed precision needs a CUDA GPU and none is visible; "
            "on CPU use --bf16 or --precision fp32"
        )
    if precision == "bf16" and device_type() == "cuda" and not _cuda_bf16():
        raise ConfigError("this GPU has no bf16 support; use --fp16 or --precision fp32")
    if precision != "auto":
        return precision

    if device_type() == "cuda":
        return "bf16" if _cuda_bf16() else "fp32"
    return "bf16" if cpu_has_bf16() else "fp32"


def _cuda_bf16() -> bool:
    import torch

    return torch.cuda.is_bf16_supported()


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The instruction-set flags of this CPU (Linux ``/proc/cpuinfo``; empty elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_peak_flops() -> dict:
    """A nominal compute peak of this CPU, per precision, with the assumptions that give it.

    peak = logical CPUs x clock x FLOPs per cycle per core, where FLOPs/cycle is 64 for fp32
    with AVX-512 (two 16-lane FMA units), 32 with AVX2, 1024 for bf16 and 2048 for int8 with
    AMX tiles (128/256 with AVX512-BF16/VNNI only). The clock is the one /proc/cpuinfo reports
    (the base clock on a VM); each logical CPU is assumed to have a core of its own, so this is an
    upper bound that real kernels, with memory traffic and small matrices, never reach.
    """
    import os

    flags = cpu_flags()
    cpus = os.cpu_count() or 1
    ghz = _cpu_ghz()
    fp32 = 64 if "avx512f" in flags else 32 if "avx2" in flags else 8
    bf16 = 1024 if "amx_bf16" in flags else 128 if "avx512_bf16" in flags else fp32
    int8 = 2048 if "amx_int8" in flags else 256 if "avx512_vnni" in flags else 2 * fp32
    per_cycle = {"fp32": fp32, "bf16": bf16, "int8": int8}
    return {
        "cpus": cpus,
        "ghz": ghz,
        "flops_per_cycle": per_cycle,
        "peak_flops": {k: cpus * ghz * 1e9 * v for k, v in per_cycle.items()},
    }


def _cpu_ghz() -> float:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as handle:
            for line in handle:
                if line.startswith("cpu MHz"):
                    return float(line.split(":", 1)[1]) / 1000
    except (OSError, ValueError):
        pass
    return 2.0  # a typical server base clock when the OS does not say
