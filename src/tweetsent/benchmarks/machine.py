"""The machine a benchmark ran on: its CPU, its peak FLOP/s, and the encoder's FLOPs."""

from __future__ import annotations

import functools
import platform
import time
from collections.abc import Sequence

from tweetsent.hardware import cpu_flags, cpu_has_bf16, cpu_peak_flops
from tweetsent.inference.backends import auto_order, cpu_class

# The instruction sets that decide the fast paths (README, Speed and export).
KEY_FLAGS = ("avx2", "avx512f", "avx_vnni", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def encoder_flops(config, lengths: Sequence[int]) -> float:
    """Forward-pass FLOPs of a BERT-style encoder over sequences of these (unpadded) lengths.

    Per token and layer: the Q, K, V and output projections (4·H² multiply-adds), the feed-forward
    block (2·H·I) and attention scores plus weighted sum (2·L·H for a sequence of length L); a
    multiply-add is 2 FLOPs. Embedding look-ups, LayerNorm, softmax and the head are negligible.
    """
    hidden = config.hidden_size
    inter = config.intermediate_size
    layers = config.num_hidden_layers
    total = 0.0
    for length in lengths:
        per_token = 2 * (4 * hidden * hidden + 2 * hidden * inter + 2 * length * hidden)
        total += layers * length * per_token
    return total


@functools.cache
def peak_flops() -> tuple[dict[str, float], float, float]:
    """``(peak FLOP/s per precision, measured fp32 GEMM FLOP/s, clock scale)``.

    The nominal peak (:func:`tweetsent.hardware.cpu_peak_flops`) uses the clock /proc/cpuinfo
    reports, which on a VM is the base clock while the cores boost: on an AVX2 EPYC a large fp32
    matmul ran faster than that "peak". Where one does, the ratio is taken as the clock really
    run at and every precision's nominal peak is scaled by it. Kernels other than ``torch.mm``
    (onnxruntime's MLAS) can still run slightly above it.
    """
    import torch

    nominal = cpu_peak_flops()["peak_flops"]
    n = 2048
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)  # warm-up
    best = 0.0
    for _ in range(3):
        started = time.perf_counter()
        torch.mm(a, b)
        best = max(best, 2 * n**3 / (time.perf_counter() - started))
    scale = max(1.0, best / nominal["fp32"])
    return {k: v * scale for k, v in nominal.items()}, best, scale


def machine_info() -> dict:
    import torch

    peak = cpu_peak_flops()
    scaled, gemm, scale = peak_flops()
    return {
        "cpu": _cpu_name(),
        "cpu_class": cpu_class(cpu_flags()),
        "cpu_flags": [flag for flag in KEY_FLAGS if flag in cpu_flags()],
        "auto_order": [" ".join(pair) for pair in auto_order(cpu_flags())],
        "cpus": peak["cpus"],
        "ghz": peak["ghz"],
        "bf16_native": cpu_has_bf16(),
        "peak_gflops": {k: round(v / 1e9, 1) for k, v in scaled.items()},
        "nominal_peak_gflops": {k: round(v / 1e9, 1) for k, v in peak["peak_flops"].items()},
        "gemm_fp32_gflops": round(gemm / 1e9, 1),
        "peak_assumption": (
            "logical CPUs x reported clock x FLOPs/cycle/core "
            f"{peak['flops_per_cycle']} (see tweetsent.hardware.cpu_peak_flops), "
            f"x {scale:.2f} where a 2048x2048 fp32 matmul measured here beat that"
        ),
        "torch": torch.__version__,
        "openvino": _version("openvino"),
        "onnxruntime": _version("onnxruntime"),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
    }


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def flops_entry(flops: float, seconds: float, precision: str) -> dict:
    peak = peak_flops()[0][precision]
    achieved = flops / seconds if seconds > 0 else 0.0
    return {
        "precision": precision,
        "achieved_gflops": round(achieved / 1e9, 2),
        "peak_gflops": round(peak / 1e9, 1),
        "fraction_of_peak": round(achieved / peak, 6),
    }


__all__ = ["encoder_flops", "flops_entry", "machine_info", "peak_flops"]
