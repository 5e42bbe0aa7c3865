"""What the machine can do: device choice and native bf16 support."""

from __future__ import annotations

import functools
import logging

logger = logging.getLogger(__name__)


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
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_precision(precision: str) -> str:
    """Map ``auto`` to ``bf16`` where the device computes it natively, else ``fp32``.

    An explicit choice the device cannot run is a ``ConfigError``: fp16 mixed precision needs a
    CUDA GPU (its loss scaling is GPU-only in PyTorch); bf16 runs on any CPU, natively or not.
    """
    import torch

    if precision == "fp16" and device_type() != "cuda":
        from tweetsent.errors import ConfigError

        raise ConfigError(
            "fp16 mixed precision needs a CUDA GPU and none is visible; "
            "on CPU use --bf16 or --precision fp32"
        )
    if precision == "bf16" and device_type() == "cuda" and not torch.cuda.is_bf16_supported():
        from tweetsent.errors import ConfigError

        raise ConfigError("this GPU has no bf16 support; use --fp16 or --precision fp32")
    if precision != "auto":
        return precision

    if device_type() == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_bf16() else "fp32"
