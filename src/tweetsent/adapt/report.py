"""What ``tweetsent adapt`` writes beside the adapted weights: its report (``adapt.json``), the
loss plot, its settings and a model card naming where the backbone came from."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from tweetsent import fileio
from tweetsent.adapt.config import AdaptConfig
from tweetsent.modeling.loading import default_model_path
from tweetsent.quiet import third_party_quiet
from tweetsent.rundir import RunDir

# The card's base_model for the embedded backbone (a local folder has no hub id).
EMBEDDED_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"


def build_report(
    config: AdaptConfig, name: str, texts: list[str], sources: list[dict], figures: dict
) -> dict:
    seen = figures["steps"] * config.batch_size
    return {
        "objective": config.objective,
        "model": name,
        "tweets": len(texts),
        "tweets_seen": seen,
        "sources": sources,
        **figures,
        "tweets_per_second": round(seen / figures["seconds"], 2) if figures["seconds"] else None,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tweetsent": _version(),
    }


def write_backbone(model, tokenizer, staging: Path, config: AdaptConfig, report: dict) -> None:
    folder = RunDir(staging)
    with third_party_quiet():  # transformers' "Writing model shards" bar
        model.save_pretrained(str(staging))
        tokenizer.save_pretrained(str(staging))
    # The settings beside the weights: what it was adapted with, to repeat it.
    fileio.write_json(folder.adapt_config_file, config.to_dict())
    fileio.write_json(folder.adapt_report, report)
    plot_loss(report, folder.adapt_plot)
    fileio.atomic_write_text(folder.adapt_card, model_card(report))


def plot_loss(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = report["loss_curve"]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    if curve:
        ax.plot([s for s, _ in curve], [loss for _, loss in curve])
    ax.set_xlabel("optimizer step")
    ax.set_ylabel(f"{report['objective']} loss")
    ax.set_title(f"adaptation on {report['tweets']:,} tweets")
    fig.tight_layout()
    with fileio.atomic_path(path) as tmp:
        fig.savefig(tmp)
    plt.close(fig)


def model_card(report: dict) -> str:
    """The adapted backbone's README.md: what it was adapted from, on what, and how far."""
    base = report["model"]
    hub_id = EMBEDDED_HUB_ID if base == default_model_path() else None
    if hub_id is None and not Path(base).exists():
        hub_id = base
    files = "\n".join(
        f"- `{Path(s['path']).name}` (SHA-256 `{s['sha256'][:12]}`): {s['tweets']:,} tweets of "
        f"{s['rows']:,} rows"
        for s in report["sources"]
    )
    front = [
        "---",
        *([f"base_model: {hub_id}"] if hub_id else []),
        "library_name: transformers",
        "tags:",
        "- tweets",
        "- tweetsent",
        "- domain-adaptation",
        "---",
        "",
    ]
    body = [
        "# Adapted backbone",
        "",
        f"`{base}` after continued pretraining with `tweetsent adapt` ({report['objective']}) "
        f"on {report['tweets']:,} distinct tweets, {report['steps']:,} optimizer steps "
        f"({report['tweets_seen']:,} tweets seen), {report['seconds']:.0f} s on "
        f"{report['device']} ({report['precision']}), {report['date']}, tweetsent "
        f"{report['tweetsent']}.",
        "",
        "Tweets from:",
        "",
        files,
        "",
        f"Loss on {report['probe_tweets']} of them (fixed masks and dropout): "
        f"{report['probe_loss_before']:.3f} before, {report['probe_loss_after']:.3f} after.",
        "",
        "It has no classification head: fine-tune it with "
        "`tweetsent train DATA --model THIS_FOLDER --out RUN_DIR`.",
    ]
    return "\n".join(front + body) + "\n"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tweetsent")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "unknown"


__all__ = ["build_report", "model_card", "plot_loss", "write_backbone"]
