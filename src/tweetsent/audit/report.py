"""The audit's result, and its files: every row as CSV, and a Markdown summary to read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tweetsent.fileio import atomic_write_bytes, atomic_write_text, check_output_file


@dataclass
class AuditResult:
    """The audit of one labelled file."""

    labels: list[str]
    table: pd.DataFrame  # one row per labelled row, flagged ones first, by label quality
    noise: pd.DataFrame  # per given label: rows, estimated wrong share and count, likely truth
    duplicates: pd.DataFrame  # rows of duplicate groups whose labels disagree
    mode: str
    cv: int
    source: str
    dropped: dict = field(default_factory=dict)
    multi_label: bool = False

    @property
    def issues(self) -> pd.DataFrame:
        return self.table[self.table["label_issue"]]


def write_audit(result: AuditResult, out_csv: str | Path, *, top: int = 20) -> tuple[Path, Path]:
    """Write the audit: ``out_csv`` (every row) and, beside it, the Markdown summary (``.md``).

    Both are written under a temporary name and renamed into place.

    Args:
        result: the audit.
        out_csv: the CSV to write.
        top: suspects shown in the summary.

    Returns:
        The CSV's and the summary's paths.

    Raises:
        ConfigError: an output that is not a regular file name, or a file the command read.
    """
    out_csv = check_output_file(out_csv)
    out_md = check_output_file(out_csv.with_suffix(".md"))
    atomic_write_bytes(out_csv, result.table.to_csv(index=False).encode("utf-8"))
    atomic_write_text(out_md, audit_markdown(result, top=top))
    return out_csv, out_md


def audit_markdown(result: AuditResult, *, top: int = 20) -> str:
    issues = result.issues
    n = len(result.table)
    how = (
        "frozen-encoder sentence embeddings + logistic regression"
        if result.mode == "fast"
        else "fine-tuned runs (default recipe), one per fold"
    )
    lines = [
        "# tweetsent label audit",
        "",
        f"- source: `{result.source}`, {n} labelled rows, {len(result.labels)} classes"
        + (" (multi-label: label sets)" if result.multi_label else ""),
        f"- out-of-fold probabilities: {result.cv}-fold, {result.mode} mode ({how})",
        f"- flagged by confident learning (cleanlab `find_label_issues`): **{len(issues)}** "
        f"rows ({100 * len(issues) / max(n, 1):.1f} %)",
        f"- duplicate groups with conflicting labels: "
        f"{result.duplicates['group'].nunique() if len(result.duplicates) else 0}",
        "",
        "## Estimated label noise per class",
        "",
        *_noise_lines(result),
    ]
    lines += [
        "",
        f"## Top {min(top, len(issues))} suspects",
        "",
        "`row`: the data row in the file (1 = the first row after any header); `quality`: "
        "cleanlab's label quality score (self-confidence: the model's probability of the "
        "given label; for a label set, a pooled score over its labels), lowest first.",
        "",
        "| # | row | given | suggested | quality | text |",
        "|---:|---:|---|---|---:|---|",
    ]
    for r in issues.head(top).itertuples():
        lines.append(
            f"| {r.rank} | {r.row} | {r.given_label} | {r.suggested_label} | "
            f"{r.label_quality:.3f} | {_md(r.text)} |"
        )
    lines += _duplicate_lines(result.duplicates)
    return "\n".join(lines) + "\n"


def _noise_lines(result: AuditResult) -> list[str]:
    if result.multi_label:
        lines = [
            "From cleanlab's per-class confident joints (multi-label: each label is a yes/no "
            "question of its own): rows that carry a label but should not, and rows that "
            "miss it but should carry it.",
            "",
            "| label | rows | estimated wrong | ≈ rows | flagged | ≈ rows missing it |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for r in result.noise.itertuples():
            lines.append(
                f"| {r.label} | {r.rows} | {100 * r.estimated_wrong:.1f} % | "
                f"{r.estimated_wrong_rows} | {r.flagged} | {r.estimated_missing_rows} |"
            )
        return lines
    lines = [
        "From cleanlab's confident joint: the share of rows given each label whose true label "
        "is estimated to be another one.",
        "",
        "| given label | rows | estimated wrong | ≈ rows | flagged | most likely instead |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in result.noise.itertuples():
        lines.append(
            f"| {r.label} | {r.rows} | {100 * r.estimated_wrong:.1f} % | "
            f"{r.estimated_wrong_rows} | {r.flagged} | {r.most_likely_instead} |"
        )
    return lines


def _duplicate_lines(duplicates: pd.DataFrame) -> list[str]:
    if not len(duplicates):
        return []
    lines: list[str] = []
    lines += [
        "",
        "## Duplicates with different labels",
        "",
        "Exact or near-duplicate tweets (after normalisation; similarity: lowest TF-IDF "
        "cosine in the group, 1 = identical) that carry different labels.",
        "",
        "| group | row | label | similarity | text |",
        "|---:|---:|---|---:|---|",
    ]
    for r in duplicates.itertuples():
        lines.append(
            f"| {r.group} | {r.row} | {r.given_label} | {r.similarity:.2f} | {_md(r.text)} |"
        )
    return lines


def _md(text: str, width: int = 160) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"


__all__ = ["AuditResult", "audit_markdown", "write_audit"]
