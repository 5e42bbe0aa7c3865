"""Shared pieces of the command-line interface: data options, logging, output helpers."""

from __future__ import annotations

import argparse
import logging
import sys

from tweetsent.config import FORMATS
from tweetsent.data.presets import PRESETS
from tweetsent.fileio import atomic_write_text  # noqa: F401 - used by the commands
from tweetsent.hardware import INFERENCE_PRECISIONS
from tweetsent.quiet import quiet_command_line
from tweetsent.rules import flag_type, positive_int, seed

SUPPRESS = argparse.SUPPRESS
# Hand-written numeric flags, checked by the same rules as the config fields beside them.
SEED = flag_type(int, seed)
COUNT = flag_type(int, positive_int)
DATA_KEYS = (
    "preset",
    "text_col",
    "label_col",
    "format",
    "header",
    "encoding",
    "drop_labels",
    "drop_multilabel",
)


BACKENDS = ("auto", "torch", "onnx", "openvino")
BACKEND_HELP = (
    "inference engine: torch (the saved model; bf16 weights where the CPU or GPU computes bf16 "
    "natively), onnx (RUN_DIR/onnx from 'tweetsent export'; its int8 model when there is one), "
    "openvino (RUN_DIR/openvino from 'tweetsent export --format openvino'; its int8 model when "
    "there is one, bf16 where native), or auto (default): the fastest one this CPU and run "
    "have that keeps the fp32 labels (README, 'Speed and export')"
)


PRECISION_HELP = (
    "torch's weights and OpenVINO's float arithmetic: auto (default: bf16 where the CPU or GPU "
    "computes it natively, else fp32), fp32 (the same labels on every machine) or bf16; with "
    "--backend auto, only engines at that precision (no int8)"
)


def add_backend_args(parser: argparse.ArgumentParser, *, batch_size: bool = True) -> None:
    """``--backend`` and ``--precision`` (and ``--batch-size``): how a run's model is loaded."""
    parser.add_argument("--backend", choices=BACKENDS, default="auto", help=BACKEND_HELP)
    parser.add_argument(
        "--precision", choices=INFERENCE_PRECISIONS, default="auto", help=PRECISION_HELP
    )
    if not batch_size:
        return
    parser.add_argument(
        "--batch-size", type=COUNT, default=64, help="texts per forward pass (default 64)"
    )


def preset_help() -> str:
    return "; ".join(f"{name}: {p.description}" for name, p in PRESETS.items())


def add_data_args(parser: argparse.ArgumentParser, *, labels: bool = True) -> None:
    """The data options every command shares; unset options fall back to the preset or run."""
    group = parser.add_argument_group("data options")
    group.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default=SUPPRESS,
        help=f"a known data set: {preset_help()}",
    )
    group.add_argument(
        "--text-col",
        default=SUPPRESS,
        help="name of the text column (for a file without header: its 0-based position)",
    )
    if labels:
        group.add_argument("--label-col", default=SUPPRESS, help="name of the label column")
    group.add_argument(
        "--format", choices=FORMATS, default=SUPPRESS, help="file format (default: from the suffix)"
    )
    group.add_argument(
        "--header",
        action=argparse.BooleanOptionalAction,
        default=SUPPRESS,
        help="whether the first row names the columns (default: yes)",
    )
    group.add_argument(
        "--encoding",
        default=SUPPRESS,
        help="text encoding (default: UTF-8; bytes that are not UTF-8 read as cp1252, with a "
        "warning)",
    )
    if labels:
        group.add_argument(
            "--drop-labels",
            nargs="+",
            action="extend",
            default=SUPPRESS,
            metavar="LABEL",
            help="drop rows with these labels (e.g. nocode); added to a preset's own list",
        )
        group.add_argument(
            "--drop-multilabel",
            default=SUPPRESS,
            metavar="SEP",
            help="drop rows whose label contains SEP (e.g. '|')",
        )


def add_allow_pickle(parser: argparse.ArgumentParser) -> None:
    """``--allow-pickle``, on every command that loads a model (the pickle refusal names it)."""
    parser.add_argument(
        "--allow-pickle",
        action="store_true",
        help="allow loading pickle (.bin) weights; only for models you trust",
    )


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def setup_logging(verbose: bool = False, quiet: bool = False) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO)
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger("tweetsent")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False

    quiet_command_line(verbose)


def format_table(rows: list[list], headers: list[str]) -> str:
    cells = [[str(c) for c in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    body = [
        "  ".join(
            c.rjust(w) if i else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in cells
    ]
    return "\n".join([line, "  ".join("-" * w for w in widths), *body])


def metrics_summary(metrics: dict) -> str:
    keys = [
        k
        for k in (
            "loss",
            "accuracy",
            "f1_weighted",
            "f1_macro",
            "f1_micro",
            "mcc",
            "ece",
            "ece_uncalibrated",
        )
        if k in metrics
    ]
    top = format_table([[k, f"{metrics[k]:.4f}"] for k in keys], ["metric", "value"])
    rows = list(metrics["per_class"].items())
    more = ""
    if len(rows) > SUMMARY_MAX_CLASSES:  # a terminal page, not 1,000 lines: the largest classes
        more = (
            f"\n... and {len(rows) - SUMMARY_MAX_CLASSES} smaller classes (every class: "
            "metrics.json, report.md or --json)"
        )
        rows = sorted(rows, key=lambda kv: -kv[1]["support"])[:SUMMARY_MAX_CLASSES]
    per_class = format_table(
        [
            [
                label,
                f"{r['precision']:.3f}",
                f"{r['recall']:.3f}",
                f"{r['f1']:.3f}",
                r["support"],
                r["accuracy"],
            ]
            for label, r in rows
        ],
        ["class", "precision", "recall", "f1", "support", "accuracy"],
    )
    return f"{top}\n\n{per_class}{more}"


SUMMARY_MAX_CLASSES = 30
