"""``tweetsent distill``: a smaller, faster student run made of a trained run's own layers."""

from __future__ import annotations

from dataclasses import dataclass

from tweetsent.cli._options import Options
from tweetsent.cli._util import COUNT, SEED
from tweetsent.distill.core import DistillSettings, distill


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "distill",
        help="distil a trained run into a smaller student (fewer of its own layers)",
        description="Train a student made of some of RUN_DIR's encoder layers (evenly spaced, "
        "with its embeddings and head) on the teacher's temperature-softened probabilities "
        "(KL) plus the hard labels, over the run's training split and any unlabelled tweets. "
        "STUDENT_DIR is a normal run directory: predict, evaluate, serve and export use it; "
        "its report.md compares teacher and student quality and speed.",
    )
    p.add_argument("run_dir", help="the teacher: a run directory written by 'tweetsent train'")
    p.add_argument("--out", required=True, metavar="STUDENT_DIR", help="the student's run dir")
    p.add_argument(
        "--layers", type=COUNT, default=None, help="encoder layers to keep (default: half)"
    )
    p.add_argument(
        "--unlabelled",
        nargs="+",
        default=[],
        metavar="FILE",
        help="more tweets the teacher labels for the student, read as the run read its data",
    )
    p.add_argument(
        "--data-unlabelled",
        action="store_true",
        help="also the tweets of the run's data file that cleaning dropped for their label "
        "(missing, a dropped label such as SMILE's nocode, multi-label); never validation rows",
    )
    p.add_argument("--temperature", type=float, default=2.0, help="softening temperature (2)")
    p.add_argument(
        "--alpha",
        type=float,
        default=0.5,
        help="weight of the teacher's term (0.5); the rest: hard labels",
    )
    p.add_argument("--epochs", type=COUNT, default=None, help="default: the teacher's")
    p.add_argument(
        "--seed",
        type=SEED,
        default=None,
        help="the student's seed (default: the teacher's); the validation split stays the "
        "teacher's",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an earlier student run")
    p.set_defaults(func=distill_cli)


@dataclass(frozen=True)
class DistillOptions(Options):
    run_dir: str = ""
    out: str = ""
    layers: int | None = None
    temperature: float | None = None
    alpha: float | None = None
    epochs: int | None = None
    unlabelled: tuple[str, ...] = ()
    data_unlabelled: bool = False
    seed: int | None = None
    overwrite: bool = False


def distill_cli(args) -> int:
    opts = DistillOptions.from_args(args)
    settings = DistillSettings(
        layers=opts.layers,
        temperature=opts.temperature,
        alpha=opts.alpha,
        epochs=opts.epochs,
        unlabelled=list(opts.unlabelled),
        data_unlabelled=opts.data_unlabelled,
        seed=opts.seed,
    )
    result = distill(opts.run_dir, opts.out, settings, overwrite=opts.overwrite)
    d = result.metrics["distillation"]
    for name in ("teacher", "student"):
        r = d[name]
        print(
            f"{name}: f1_weighted {r['f1_weighted']:.4f}, f1_macro {r['f1_macro']:.4f}, "
            f"{r['tweets_per_second']:.1f} tweets/s"
        )
    print(f"student written to {result.run_dir} ({d['speedup']:.2f}x the teacher's speed)")
    return 0


__all__ = ["add_parser", "distill_cli"]
