"""``tweetsent export``: write a run's model as ONNX (optionally int8) for fast CPU inference."""

from __future__ import annotations

from tweetsent.export import FORMATS, QUANTIZE


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "export",
        help="export a trained run to ONNX (optionally int8-quantized)",
        description="Write RUN_DIR/onnx/: model.onnx with dynamic batch and sequence axes (and "
        "model_int8.onnx with --quantize int8), the tokenizer and config.json with the labels. "
        "'tweetsent predict --backend onnx' and the service then use it.",
    )
    p.add_argument("run_dir", help="run directory written by 'tweetsent train'")
    p.add_argument("--format", choices=FORMATS, default="onnx", help="export format (onnx)")
    p.add_argument(
        "--quantize",
        choices=QUANTIZE,
        default=None,
        help="also write a dynamically quantized int8 model (onnxruntime.quantization)",
    )
    p.add_argument(
        "--allow-pickle", action="store_true", help="allow pickle (.bin) weights you trust"
    )
    p.set_defaults(func=export_cli)


def export_cli(args) -> int:
    from tweetsent.export import export_onnx

    folder = export_onnx(args.run_dir, quantize=args.quantize, allow_pickle=args.allow_pickle)
    files = ", ".join(sorted(p.name for p in folder.glob("*.onnx")))
    print(f"exported {files} to {folder}")
    return 0


__all__ = ["add_parser", "export_cli"]
