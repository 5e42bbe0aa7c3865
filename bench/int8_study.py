"""Where int8 loses labels, and what the int8 schemes onnxruntime offers cost and keep.

    python bench/int8_study.py RUN_DIR [--n 2000] [--json FILE]

Same 2,000 tweets as ``tweetsent bench predict`` (the first 1,000 of SMILE and of the COVID test
file); every figure is against the run's own fp32 torch model in the same process:

1. simulated (torch, fp32 arithmetic on quantize-dequantized tensors): weights alone, activations
   alone, both, and per-token instead of per-tensor activation scales, to see which rounding
   costs the labels. The fake quantizers below are a diagnostic, not a product path.
2. onnxruntime, measured: the fp32 export, dynamic int8 (``quantize_dynamic``, per tensor and per
   output channel: the latter is ``tweetsent export --quantize int8``), and ``MatMulNBits``
   (8- and 4-bit blocked weights, int8 compute, ``accuracy_level=4``; needs ``pip install
   onnx-ir``) with tweets/s and the ratio to the fp32 export.
3. onnxruntime, per-token int8 (2026-11-28): the fp32 export rewritten so that each MatMul
   quantizes its input with one scale per token (``per_token_int8`` below), on all MatMuls and
   with the most sensitive ones (value, FFN out) left in fp32. The scheme issue 20 names for
   AVX2 CPUs, measured as real int8 kernels rather than simulated.

``--skip-simulation`` runs only the onnxruntime rows (parts 2 and 3).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def fake_weight(w, bits=8):
    """Symmetric, one scale per output channel (the export's weight scheme)."""
    top = 2 ** (bits - 1) - 1
    scale = w.abs().amax(1, keepdim=True).clamp(min=1e-12) / top
    return (w / scale).round().clamp(-top, top) * scale


def fake_activation(x, per_token: bool):
    """Asymmetric uint8 with a zero point, as onnxruntime's DynamicQuantizeLinear (per tensor)."""
    dims = dict(dim=-1, keepdim=True) if per_token else {}
    low = x.amin(**dims).clamp(max=0)
    high = x.amax(**dims).clamp(min=0)
    scale = (high - low).clamp(min=1e-12) / 255
    zero = (-low / scale).round()
    return ((x / scale).round() + zero).clamp(0, 255).sub(zero) * scale


# The MatMuls whose int8 rounding cost the most labels in the simulation (value, FFN out).
SENSITIVE_MATMULS = (r"/value/", r"layer\.\d+/output/")


def per_token_int8(source: Path, target: Path, keep_fp32: tuple[str, ...] = ()) -> int:
    """Rewrite the fp32 ONNX graph: every MatMul by a weight (not matching a ``keep_fp32``
    regex) becomes per-token int8 activations x per-channel int8 weights. Returns how many.

    Written by hand because neither onnxruntime's quantizer nor its MatMulInteger take one
    activation scale per row. Per row: symmetric scale max|x| / 127 with zero point 128, so
    one ``QuantizeLinear`` (axis 0) quantizes the rows, the contrib ``MatMulIntegerToFloat``
    (u8 x s8, MLAS) applies the weight scales, and one ``Mul`` the row scales.
    """
    import re

    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    weights = {i.name: i for i in graph.initializer}
    nodes, added = [], []

    def const(name, value):
        added.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    for name, value in {
        "pt_one": np.float32(1.0),
        "pt_127": np.float32(127.0),
        "pt_eps": np.float32(1e-8),
        "pt_128": np.uint8(128),
        "pt_first": np.array([0], dtype=np.int64),
        "pt_last": np.array([-1], dtype=np.int64),
    }.items():
        const(name, value)
    zero_point = helper.make_tensor("zp", TensorProto.UINT8, [1], [128])
    count = 0
    for node in graph.node:
        weight = weights.get(node.input[1]) if node.op_type == "MatMul" else None
        if (
            weight is None
            or len(weight.dims) != 2
            or any(re.search(k, node.name) for k in keep_fp32)
        ):
            nodes.append(node)
            continue
        count += 1
        w = numpy_helper.to_array(weight).astype(np.float32)
        k, n = w.shape
        w_scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / 127.0
        p, x, y = f"pt{count}_", node.input[0], node.output[0]
        make = helper.make_node
        nodes += [
            make("Reshape", [x, const(p + "k", np.array([-1, k], dtype=np.int64))], [p + "x"]),
            make("ReduceMax", [p + "x"], [p + "hi"], axes=[1], keepdims=1),
            make("ReduceMin", [p + "x"], [p + "lo"], axes=[1], keepdims=1),
            make("Neg", [p + "lo"], [p + "nlo"]),
            make("Max", [p + "hi", p + "nlo"], [p + "amax"]),
            make("Div", [p + "amax", "pt_127"], [p + "s0"]),
            make("Max", [p + "s0", "pt_eps"], [p + "s"]),  # [rows, 1]
            make("Squeeze", [p + "s", "pt_last"], [p + "s1"]),  # [rows]
            # QuantizeLinear per axis wants a zero point per row: 128 each.
            make("Shape", [p + "s1"], [p + "rows"]),
            make("ConstantOfShape", [p + "rows"], [p + "zp"], value=zero_point),
            make("QuantizeLinear", [p + "x", p + "s1", p + "zp"], [p + "xq"], axis=0),
            make(
                "MatMulIntegerToFloat",
                [
                    p + "xq",
                    const(p + "wq", np.clip(np.round(w / w_scale), -127, 127).astype(np.int8)),
                    "pt_one",
                    const(p + "ws", w_scale.astype(np.float32)),
                    "pt_128",
                ],
                [p + "yr"],
                domain="com.microsoft",
            ),
            make("Mul", [p + "yr", p + "s"], [p + "y2"]),
            make("Shape", [x], [p + "shape"]),
            make("Slice", [p + "shape", "pt_first", "pt_last"], [p + "lead"]),
            make(
                "Concat",
                [p + "lead", const(p + "n", np.array([n], dtype=np.int64))],
                [p + "yshape"],
                axis=0,
            ),
            make("Reshape", [p + "y2", p + "yshape"], [y]),
        ]
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(added)
    used = {i for node in graph.node for i in node.input}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save(model, str(target))
    return count


def simulate(reference, texts, labels, probabilities) -> list[dict]:
    import torch

    model = reference.engine.model
    linears = {
        n: m
        for n, m in model.named_modules()
        if isinstance(m, torch.nn.Linear) and ".encoder." in n
    }
    weights = {n: m.weight.detach().clone() for n, m in linears.items()}
    rows = []
    kinds = {
        "query": "attention.self.query",
        "key": "attention.self.key",
        "value": "attention.self.value",
        "attention out": "attention.output.dense",
        "FFN in": "intermediate.dense",
        "FFN out": "output.dense",
    }

    def variant(name, quantize_weights, activations, only=None):
        hooks = []
        for n, module in linears.items():
            chosen = only is None or (
                n.endswith(only) and not (only == "output.dense" and "attention" in n)
            )
            module.weight.data = (
                fake_weight(weights[n]) if quantize_weights and chosen else weights[n]
            )
            if activations and chosen:
                per_token = activations == "per token"
                hooks.append(
                    module.register_forward_pre_hook(
                        lambda _m, inputs, p=per_token: (fake_activation(inputs[0], p),)
                    )
                )
        try:
            rows.append(
                score(f"simulated: {name}", reference.predict_proba(texts), labels, probabilities)
            )
        finally:
            for hook in hooks:
                hook.remove()

    variant("int8 weights (per channel) only", True, None)
    variant("uint8 activations (per tensor) only", False, "per tensor")
    variant("W8A8, activations per tensor", True, "per tensor")
    variant("W8A8, activations per token", True, "per token")
    for kind, suffix in kinds.items():
        variant(f"W8A8 per tensor, {kind} MatMuls only", True, "per tensor", only=suffix)
    for n, module in linears.items():
        module.weight.data = weights[n]
    return rows


def score(name, proba, labels, reference, seconds=None, n=None) -> dict:
    row = {
        "variant": name,
        "agreement": float((proba.argmax(1) == labels).mean()),
        "p90_max_prob_diff": float(np.quantile(np.abs(proba - reference).max(1), 0.9)),
    }
    if seconds is not None:
        row["tweets_per_s"] = n / seconds
    print(json.dumps(row), flush=True)
    return row


def onnx_variants(run_dir: Path, texts, labels, probabilities) -> list[dict]:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from tweetsent.export import export_onnx
    from tweetsent.inference import TweetClassifier

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        shutil.copytree(run_dir, run, ignore=shutil.ignore_patterns("onnx", "checkpoint-*"))
        export_onnx(run, quantize="int8")  # the export's own int8, measured as it ships
        fp32, slot = run / "onnx" / "model.onnx", run / "onnx" / "model_int8.onnx"
        exported = slot.rename(slot.with_name("exported_int8.onnx"))

        def measure(name):
            clf = TweetClassifier.load(run, backend="onnx", onnx_variant="int8")
            clf.predict_proba(texts[:200])  # warm-up: first-shape costs out of the timing
            start = time.perf_counter()
            proba = clf.predict_proba(texts)
            rows.append(
                score(name, proba, labels, probabilities, time.perf_counter() - start, len(texts))
            )

        shutil.copy(fp32, slot)
        measure("onnx fp32")
        # The export's settings but one weight scale per tensor.
        quantize_dynamic(
            str(fp32), str(slot), op_types_to_quantize=["MatMul"], weight_type=QuantType.QInt8
        )
        measure("onnx dynamic int8, weights per tensor")
        shutil.copy(exported, slot)
        measure("onnx dynamic int8, weights per channel")
        per_token_int8(fp32, slot)
        measure("onnx per-token int8 (every MatMul)")
        per_token_int8(fp32, slot, keep_fp32=SENSITIVE_MATMULS)
        measure("onnx per-token int8, value and FFN out in fp32")
        try:
            from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
        except ImportError as exc:
            print(f"MatMulNBits skipped ({exc}; pip install onnx-ir)")
            MatMulNBitsQuantizer = None
        for bits, block in ((8, 32), (8, 128), (4, 32)) if MatMulNBitsQuantizer else ():
            quantizer = MatMulNBitsQuantizer(
                onnx.load(str(fp32)),
                bits=bits,
                block_size=block,
                is_symmetric=True,
                accuracy_level=4,
            )
            quantizer.process()
            quantizer.model.save_model_to_file(str(slot), False)
            measure(f"onnx MatMulNBits {bits}-bit, block {block}, int8 compute")
    base = rows[0]["tweets_per_s"]
    for row in rows:
        row["vs_onnx_fp32"] = row["tweets_per_s"] / base
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--skip-simulation", action="store_true")
    args = parser.parse_args()

    from tweetsent.benchmarks import load_sources, sample_texts
    from tweetsent.inference import TweetClassifier

    sources = load_sources(
        [f"{DATA / 'smile-annotations-final.csv'}:smile", f"{DATA / 'Corona_NLP_test.csv'}:covid"]
    )
    texts = sample_texts(sources, args.n)
    reference = TweetClassifier.load(args.run_dir, backend="torch", precision="fp32")
    probabilities = reference.predict_proba(texts)
    labels = probabilities.argmax(1)
    rows = [] if args.skip_simulation else simulate(reference, texts, labels, probabilities)
    rows += onnx_variants(args.run_dir, texts, labels, probabilities)
    header = ["variant", "label agreement with fp32", "p90 of max prob. diff", "tweets/s"]
    print("\n| " + " | ".join([*header, "vs onnx fp32"]) + " |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        speed = (
            f"{row['tweets_per_s']:.0f} | {row['vs_onnx_fp32']:.2f}x"
            if "tweets_per_s" in row
            else "– | –"
        )
        agreement, diff = 100 * row["agreement"], row["p90_max_prob_diff"]
        print(f"| {row['variant']} | {agreement:.2f} % | {diff:.3f} | {speed} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
