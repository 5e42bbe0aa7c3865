"""``tweetsent audit``: find labels that are probably wrong, and duplicates that disagree."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from tweetsent.audit import audit, audit_finetune, write_audit
from tweetsent.cli._options import Options
from tweetsent.cli._util import COUNT, SEED, SUPPRESS, add_data_args, format_table
from tweetsent.config import TrainConfig
from tweetsent.errors import ConfigError
from tweetsent.fileio import check_output_file


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "audit",
        help="find probably-wrong labels (confident learning with cleanlab)",
        description="Out-of-fold probabilities for every labelled row, then cleanlab's "
        "confident learning ranks the rows whose given label is probably wrong. Writes --out "
        "(every row: rank among the flagged, row, text, given and suggested label, label "
        "quality, per-class probabilities, duplicate group) and a Markdown summary beside it "
        "(same name, .md) with the estimated noise per class, the top suspects and exact / "
        "near-duplicate tweets that carry different labels. With --multi-label, rows carry label "
        "sets (happy|surprise) and cleanlab's multi-label mode judges each set.",
    )
    p.add_argument("data", help="labelled file")
    add_data_args(p)
    p.add_argument("--out", required=True, metavar="FILE.csv", help="where to write the audit")
    p.add_argument("--cv", type=COUNT, default=5, metavar="K", help="folds (default: 5)")
    p.add_argument(
        "--mode",
        choices=("fast", "finetune"),
        default="fast",
        help="fast: frozen-encoder embeddings + logistic regression (seconds to minutes); "
        "finetune: one 'tweetsent train' run per fold with the default recipe (K trainings)",
    )
    p.add_argument(
        "--model",
        default=SUPPRESS,
        metavar="NAME_OR_DIR",
        help="encoder (fast) or backbone (finetune); default: the embedded MiniLM",
    )
    _add_finetune_options(p)
    p.add_argument("--seed", type=SEED, default=17, help="folds and training seed (default: 17)")
    p.add_argument("--limit", type=COUNT, default=SUPPRESS, help="audit only the first N rows")
    p.add_argument(
        "--multi-label",
        action="store_true",
        help="rows carry label sets such as happy|surprise (kept, not dropped): one yes/no "
        "per label, and cleanlab's multi-label mode flags the sets that look wrong",
    )
    p.add_argument(
        "--label-sep",
        default="|",
        metavar="SEP",
        help="with --multi-label: what separates the labels of a set (default: |)",
    )
    p.add_argument("--top", type=COUNT, default=20, help="suspects shown and in the .md (20)")
    p.set_defaults(func=audit_cli)


def _add_finetune_options(p) -> None:
    p.add_argument(
        "--config",
        default=SUPPRESS,
        metavar="FILE",
        help="finetune: the training recipe, e.g. a run's config.json (data fields ignored)",
    )
    p.add_argument(
        "--epochs",
        type=COUNT,
        default=SUPPRESS,
        help="finetune: epochs per fold (default: auto, as tweetsent train)",
    )
    p.add_argument(
        "--work-dir",
        default=SUPPRESS,
        metavar="DIR",
        help="finetune: keep the fold runs here (default: a temporary folder, removed)",
    )


@dataclass(frozen=True)
class AuditOptions(Options):
    data: str = ""
    out: str = ""
    cv: int = 5
    mode: str = "fast"
    model: str | None = None
    config: str | None = None
    epochs: int | None = None
    work_dir: str | None = None
    seed: int = 17
    limit: int | None = None
    multi_label: bool = False
    label_sep: str = "|"
    top: int = 20


def audit_cli(args) -> int:
    opts = AuditOptions.from_args(args)
    check_output_file(opts.out)
    if opts.mode == "fast":
        for flag in ("config", "epochs", "work_dir"):
            if opts.gave(flag):
                raise ConfigError(f"--{flag.replace('_', '-')} applies to --mode finetune only")
    recipe = TrainConfig.load(opts.config) if opts.config is not None else TrainConfig()
    if opts.epochs is not None:
        recipe.epochs = opts.epochs
    if opts.multi_label:
        recipe = dataclasses.replace(recipe, multi_label=True, label_sep=opts.label_sep)
    run_audit = audit_finetune if opts.mode == "finetune" else audit
    result = run_audit(
        opts.data,
        opts.data_config(),
        cv=opts.cv,
        model=opts.model,
        seed=opts.seed,
        limit=opts.limit,
        train_config=recipe,
        work_dir=opts.work_dir,
    )
    csv_path, md_path = write_audit(result, opts.out, top=opts.top)
    _print_summary(result, opts.top)
    print(f"written to {csv_path} and {md_path}")
    return 0


def _print_summary(result, top_n: int) -> None:
    n = len(result.table)
    print(
        f"{n} rows audited ({result.cv}-fold, {result.mode} mode): {len(result.issues)} "
        f"label issue(s) flagged ({100 * len(result.issues) / n:.1f} %)"
    )
    print()
    print(
        format_table(
            [
                [
                    r.label,
                    r.rows,
                    f"{100 * r.estimated_wrong:.1f} %",
                    r.flagged,
                    r.estimated_missing_rows if result.multi_label else r.most_likely_instead,
                ]
                for r in result.noise.itertuples()
            ],
            [
                "given label",
                "rows",
                "est. wrong",
                "flagged",
                "est. rows missing it" if result.multi_label else "most likely instead",
            ],
        )
    )
    top = result.issues.head(top_n)
    if len(top):
        print(f"\ntop {len(top)} suspects (row: data row in the file):")
        print(
            format_table(
                [
                    [
                        r.row,
                        r.given_label,
                        r.suggested_label,
                        f"{r.label_quality:.3f}",
                        _short(r.text),
                    ]
                    for r in top.itertuples()
                ],
                ["row", "given", "suggested", "quality", "text"],
            )
        )
    groups = result.duplicates["group"].nunique() if len(result.duplicates) else 0
    print(f"\n{groups} group(s) of duplicate tweets with different labels")


def _short(text: str, width: int = 70) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"
