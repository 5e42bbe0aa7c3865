"""The predictor: raw tweets in, label names and probabilities out.

``TweetClassifier`` is what the CLI, the Python API and the HTTP service all call. Inference
engines (:mod:`tweetsent.inference.engines`: PyTorch or an exported ONNX model) only map padded
token arrays to logits; tokenising, batching and labels live here once.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from tweetsent.config import DataConfig, TrainConfig
from tweetsent.data.labels import apply_thresholds
from tweetsent.data.normalize import clean_tweet
from tweetsent.errors import ConfigError, ModelError
from tweetsent.hardware import check_inference_precision
from tweetsent.inference.backends import BACKENDS, auto_backend, load_engine
from tweetsent.inference.calibration import apply_min_confidence
from tweetsent.modeling.ensemble import ENSEMBLE_KEY
from tweetsent.rundir import RunDir, model_config_file, read_model_config

logger = logging.getLogger(__name__)

_OWN = object()  # decide(): the classifier's own min_confidence


class TweetClassifier:
    """A fine-tuned tweet classifier with a scikit-learn-shaped interface.

    >>> clf = TweetClassifier.load("runs/smile")             # doctest: +SKIP
    >>> clf.predict(["what a lovely museum!"])                # doctest: +SKIP
    ['happy']
    """

    def __init__(
        self,
        engine,
        tokenizer,
        labels: Sequence[str],
        *,
        max_length: int = 128,
        batch_size: int = 64,
        config: TrainConfig | None = None,
        normalize: bool | None = None,
        thresholds: Sequence[float] | None = None,
        demojize: bool | None = None,
        temperature: float | None = None,
        min_confidence: float | None = None,
    ):
        if batch_size <= 0:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size}")
        self.engine = engine
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.max_length = max_length
        self.batch_size = batch_size
        self.config = config
        # The run's own setting: texts are normalised here exactly as they were in training.
        self.normalize = (
            bool(config.normalize if config else False) if normalize is None else normalize
        )
        self.demojize = bool(config.demojize if config else False) if demojize is None else demojize
        # A multi-label model (sigmoid head) carries one decision threshold per label.
        if thresholds is not None and len(thresholds) != len(self.labels):
            raise ConfigError(f"expected {len(self.labels)} thresholds, got {len(thresholds)}")
        self.thresholds = None if thresholds is None else np.asarray(thresholds, dtype=np.float64)
        # Temperature scaling fitted at the end of training (inference/calibration.py): logits
        # are divided by it before the softmax, whatever the engine. None (or 1): raw softmax.
        if temperature is not None and not temperature > 0:
            raise ConfigError(f"temperature must be positive, got {temperature}")
        self.temperature = None if thresholds is not None else temperature
        # Below this probability, predict() answers "uncertain" (single-label models only).
        self.min_confidence = min_confidence
        if min_confidence is not None and self.multi_label:
            raise ConfigError("min_confidence applies to single-label models only")
        # DistilBERT / RoBERTa take no token_type_ids; feed each model only what it declares.
        self._input_names = set(getattr(engine, "input_names", None) or tokenizer.model_input_names)

    @property
    def backend(self) -> str:
        return self.engine.name

    @property
    def data_config(self) -> DataConfig | None:
        return self.config.data if self.config else None

    @property
    def multi_label(self) -> bool:
        return self.thresholds is not None

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        backend: str = "auto",
        batch_size: int = 64,
        precision: str = "auto",
        allow_pickle: bool = False,
        onnx_dir: str | Path | None = None,
        onnx_variant: str | None = None,
        openvino_dir: str | Path | None = None,
        variant: str | None = None,
    ) -> TweetClassifier:
        """Load from a run directory (``RUN_DIR`` or ``RUN_DIR/model``) or a saved model folder.

        Args:
            path: the run or model directory.
            backend: ``torch``; ``onnx`` or ``openvino`` (need ``tweetsent export``); ``auto`` picks
                the fastest this CPU and run have that keeps the fp32 labels
                (:func:`tweetsent.inference.backends.auto_order`).
            batch_size: texts per forward pass.
            precision: ``auto`` (bf16 where computed natively, else fp32), ``fp32`` or ``bf16``
                (torch, OpenVINO); with ``backend="auto"``, engines at that precision only.
            allow_pickle: allow pickle (``.bin``) weights.
            onnx_dir: an ONNX export elsewhere than ``RUN_DIR/onnx``.
            onnx_variant: the older name of ``variant``.
            openvino_dir: an OpenVINO export elsewhere than ``RUN_DIR/openvino``.
            variant: ``int8`` or ``fp32`` (OpenVINO also ``bf16``) when an export holds several.

        Returns:
            The predictor.

        Raises:
            ConfigError: an unknown backend or precision, or one the backend cannot run.
            ModelError: ``path`` is no usable run or model directory, or lacks the export.
        """
        _check_engine_options(backend, precision)
        path = Path(path)
        if not path.exists():
            raise ModelError(f"{path}: run or model directory not found")
        # RUN_DIR/model too belongs to its run: the run's settings (max_length) still apply.
        run = RunDir.of_model(path)
        run_dir = run.path if run else None
        model_dir = run.model if run else path
        settings = _predictor_settings(model_dir, run.read_config() if run else None, batch_size)
        variant = variant or onnx_variant
        if backend == "auto":
            backend, variant = auto_backend(
                run_dir or path, onnx_dir=onnx_dir, openvino_dir=openvino_dir, precision=precision
            )
        engine, tokenizer, labels = load_engine(
            run_dir or path,
            model_dir,
            backend,
            variant,
            precision=precision,
            allow_pickle=allow_pickle,
            export_dir=onnx_dir if backend == "onnx" else openvino_dir,
        )
        return cls(engine, tokenizer, labels, **settings)

    def predict_proba(self, texts: str | Iterable[str]) -> np.ndarray:
        """Probabilities, one row per text, columns in ``self.labels`` order.

        Single-label models: a softmax over the labels (rows sum to 1), of the logits divided by
        the run's fitted temperature where it has one (``self.temperature``). Multi-label
        models: one independent sigmoid probability per label. An ensemble run: the mean of
        its members' (temperature-scaled) probabilities.
        """
        logits = self.predict_logits(texts)
        if self.multi_label:
            return _sigmoid(logits)
        return _softmax(logits / self.temperature if self.temperature else logits)

    def predict_logits(self, texts: str | Iterable[str]) -> np.ndarray:
        """The engine's raw logits, one row per text (no temperature applied); for an ensemble
        run, the log of its averaged probabilities (modeling.ensemble)."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        logits_out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        if not texts:
            return logits_out
        encoded = self.tokenizer(
            [self._clean(t) for t in texts],
            truncation=True,
            max_length=self.max_length,
            padding=False,
            return_attention_mask=False,
            return_token_type_ids=False,
        )["input_ids"]
        # Sorting by length before batching keeps padding, and so wasted work, near zero; this
        # is why we batch here rather than through transformers.pipeline.
        order = np.argsort([len(ids) for ids in encoded], kind="stable")
        pad_id = self.tokenizer.pad_token_id or 0
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            batch = _pad([encoded[i] for i in rows], pad_id)
            logits = self.engine({k: v for k, v in batch.items() if k in self._input_names})
            logits_out[rows] = logits
        return logits_out

    def predict(self, texts: str | Iterable[str]) -> str | list[str] | list[list[str]]:
        """Label names; a single string in gives a single answer out (see :meth:`decide`)."""
        single = isinstance(texts, str)
        answers = self.decide(self.predict_proba([texts] if single else texts))
        return answers[0] if single else answers

    def decide(self, proba: np.ndarray, *, min_confidence=_OWN) -> list[str] | list[list[str]]:
        """The label decision, made here only: the CLI, file prediction, the service and
        evaluation all call it, so they cannot disagree.

        Multi-label: a label set per row, the labels whose probability reaches their tuned
        threshold (at least the most probable one), in ``self.labels`` order. Single-label: the
        most probable label, or ``"uncertain"`` below ``min_confidence`` (by default the
        classifier's own; ``None``: never uncertain, as evaluation needs).
        """
        if self.multi_label:
            chosen = apply_thresholds(proba, self.thresholds)
            return [[self.labels[j] for j in np.flatnonzero(row)] for row in chosen]

        floor = self.min_confidence if min_confidence is _OWN else min_confidence
        return apply_min_confidence(self.labels, proba, floor)

    def label_text(self, decision: str | list[str]) -> str:
        """One decision as one string: a label set joined by the run's separator."""
        if isinstance(decision, str):
            return decision
        return (self.config.label_sep if self.config else "|").join(decision)

    def _clean(self, text) -> str:
        if text is None or (isinstance(text, float) and text != text):
            return ""
        if self.normalize or self.demojize:
            return clean_tweet(str(text), normalize=self.normalize, demojize_emoji=self.demojize)
        return str(text)


def _check_engine_options(backend: str, precision: str) -> None:
    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    check_inference_precision(precision)


def _pad(sequences: list[list[int]], pad_id: int) -> dict[str, np.ndarray]:
    width = max(len(s) for s in sequences)
    input_ids = np.full((len(sequences), width), pad_id, dtype=np.int64)
    attention = np.zeros((len(sequences), width), dtype=np.int64)
    for row, ids in enumerate(sequences):
        input_ids[row, : len(ids)] = ids
        attention[row, : len(ids)] = 1
    return {
        "input_ids": input_ids,
        "attention_mask": attention,
        "token_type_ids": np.zeros_like(input_ids),
    }


def _predictor_settings(model_dir: Path, config: TrainConfig | None, batch_size: int) -> dict:
    """What a run (or a bare model directory) tells the predictor besides its weights."""
    saved = read_model_config(model_dir)  # read once: both below come from it
    thresholds, normalize, demojize = _model_settings(saved, config)
    return dict(
        max_length=config.max_length if config else 128,
        batch_size=batch_size,
        config=config,
        thresholds=thresholds,
        normalize=normalize,
        demojize=demojize,
        temperature=_model_temperature(saved, model_dir),
    )


def _model_settings(
    saved: dict, config: TrainConfig | None
) -> tuple[list[float] | None, bool, bool]:
    """What a run stored in its model's config.json: per-label thresholds of a multi-label
    model (else None), and whether its texts were normalised and demojized (so a bare model
    dir knows too; the run's own config, when there is one, decides).
    """
    normalize = bool(saved.get("tweetsent_normalize", False))
    demojize = bool(saved.get("tweetsent_demojize", False))
    if config is not None:
        normalize, demojize = config.normalize, config.demojize
    thresholds = saved.get("tweetsent_thresholds")
    if saved.get("problem_type") != "multi_label_classification" or not thresholds:
        return None, normalize, demojize
    id2label = saved.get("id2label") or {}
    thresholds = [float(thresholds[id2label[str(i)]]) for i in range(len(id2label))]
    return thresholds, normalize, demojize


def _model_temperature(saved: dict, model_dir: Path) -> float | None:
    """The temperature a single-label run fitted on its validation split (None: none fitted,
    or an ensemble, whose members are scaled inside it)."""
    if saved.get(ENSEMBLE_KEY):  # each member applies its own; the average is final
        return None
    value = saved.get("tweetsent_temperature")
    if value is None:
        return None
    # Hand-edited or damaged: a temperature that is not a positive number would divide the
    # logits into nonsense (or by zero), so it is refused, naming the file.
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ModelError(
            f"{model_config_file(model_dir)}: tweetsent_temperature must be a positive number, "
            f"got {value!r}"
        )
    return float(value)


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits))


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)
