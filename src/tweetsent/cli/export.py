"""``tweetsent export``: write a run's model as ONNX or OpenVINO IR (optionally int8)."""

from __future__ import annotations

from dataclasses import dataclass

from tweetsent.cli._options import Options
from tweetsent.export import FORMATS, QUANTIZE, export_run
from tweetsent.rules import flag_type, interval
from tweetsent.rundir import read_model_config


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "export",
        help="export a trained run to ONNX or OpenVINO (optionally int8-quantized)",
        description="Write RUN_DIR/onnx/ (--format onnx: model.onnx with dynamic batch and "
        "sequence axes, and model_int8.onnx with --quantize int8) or RUN_DIR/openvino/ "
        "(--format openvino: model.xml/.bin, and with --quantize int8 model_int8.xml/.bin from "
        "NNCF post-training quantization calibrated on the run's training tweets, with the "
        "share of fp32 labels it keeps measured on its validation tweets), each with the "
        "tokenizer and config.json. 'tweetsent predict --backend onnx|openvino' and the service "
        "then use it.",
    )
    p.add_argument("run_dir", help="run directory written by 'tweetsent train'")
    p.add_argument("--format", choices=FORMATS, default="onnx", help="export format (onnx)")
    p.add_argument(
        "--quantize",
        choices=QUANTIZE,
        default=None,
        help="also write an int8 model (onnx: onnxruntime dynamic quantization; openvino: NNCF "
        "static quantization with SmoothQuant)",
    )
    p.add_argument(
        "--calibration",
        default=None,
        metavar="FILE",
        help="openvino int8: tweets to calibrate on, read as the run read its data (default: "
        "a sample of the run's own training tweets)",
    )
    p.add_argument(
        "--int8-max-drop",
        type=flag_type(float, interval(0, 1, high_open=True), "int8_max_drop"),
        default=None,
        metavar="SHARE",
        help="openvino int8: the share of fp32 labels int8 may change (0.01); beyond it NNCF's "
        "accuracy control keeps the costliest layers in fp32",
    )
    p.add_argument(
        "--allow-pickle", action="store_true", help="allow pickle (.bin) weights you trust"
    )
    p.set_defaults(func=export_cli)


@dataclass(frozen=True)
class ExportOptions(Options):
    run_dir: str = ""
    format: str = "onnx"
    quantize: str | None = None
    calibration: str | None = None
    int8_max_drop: float | None = None
    allow_pickle: bool = False


def export_cli(args) -> int:
    opts = ExportOptions.from_args(args)
    folder = export_run(
        opts.run_dir,
        format=opts.format,
        quantize=opts.quantize,
        allow_pickle=opts.allow_pickle,
        calibration=opts.calibration,
        **({"max_drop": opts.int8_max_drop} if opts.int8_max_drop is not None else {}),
    )
    files = ", ".join(sorted(p.name for p in folder.iterdir() if p.suffix in (".onnx", ".xml")))
    print(f"exported {files} to {folder}")
    settings = read_model_config(folder).get("tweetsent")
    agreement = (settings or {}).get("int8_label_agreement")
    if agreement is not None:
        lower = settings.get("int8_agreement_lower_bound")
        bound = f"; at least {100 * lower:.2f} % with 95 % confidence" if lower is not None else ""
        print(
            f"int8 keeps {100 * agreement:.2f} % of the fp32 labels on "
            f"{settings['agreement_tweets']} tweets it was not calibrated on{bound}"
        )
        control = settings.get("int8_accuracy_control") or {}
        if control.get("applied"):
            print(
                f"(NNCF accuracy control kept the costliest layers in fp32: before it, int8 "
                f"kept {100 * control['agreement_before']:.2f} % on {control['steering_tweets']} "
                "other tweets)"
            )
    return 0


__all__ = ["add_parser", "export_cli"]
