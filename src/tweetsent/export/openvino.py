"""``tweetsent export --format openvino``: the run's model as OpenVINO IR, optionally NNCF int8.

The graph is the ONNX export's (same tracing, :func:`write_onnx_graph`) converted by
OpenVINO's ONNX frontend (``Core.read_model``: what ``openvino.convert_model`` runs for an ONNX
file, without its usage telemetry) and saved in fp32 (``compress_to_fp16=False``: OpenVINO picks the
compute precision when it compiles). ``--quantize int8`` adds NNCF post-training quantization
(``nncf.quantize`` with ``ModelType.TRANSFORMER``: SmoothQuant on the MatMuls and symmetric
activations where a transformer needs them) calibrated on a sample of the run's own training
tweets. Where that changes more than ``max_drop`` of the fp32 labels on half of the held-out
tweets, NNCF's accuracy control (``quantize_with_accuracy_control``) returns the layers that
cost the most labels to fp32 until it does not. The other half, never used for that choice,
then measures how many fp32 labels the int8 model keeps; that figure and its 95 % lower bound
go into ``config.json``, and ``--backend auto`` takes int8 only when the bound is >= 99 %.
The folder is staged under a temporary name and renamed into place (:mod:`.staging`).
"""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

import numpy as np

from tweetsent.config import DataConfig
from tweetsent.data.normalize import clean_tweet
from tweetsent.data.prepare import prepare_data
from tweetsent.data.reading import load_texts
from tweetsent.errors import ConfigError, ModelError
from tweetsent.export.onnx import OPSET, QUANTIZE, load_for_export, write_onnx_graph
from tweetsent.export.staging import staged_folder, write_export_config
from tweetsent.inference.backends import agreement_lower_bound, export_tokenizer
from tweetsent.inference.ov_engine import OPENVINO_DIR, OpenVinoEngine, import_openvino
from tweetsent.inference.predictor import TweetClassifier
from tweetsent.quiet import our_details_quiet, third_party_quiet, verbose
from tweetsent.rundir import RunDir

logger = logging.getLogger(__name__)

CALIBRATION_TWEETS = 300  # NNCF's default subset size
AGREEMENT_TWEETS = 2000  # at most this many validation tweets measure the int8 labels
# int8 may change at most 1 % of the fp32 labels on the tweets steering the accuracy control.
MAX_DROP = 0.01


def export_openvino(
    run_dir: str | Path,
    *,
    quantize: str | None = None,
    allow_pickle: bool = False,
    calibration: str | Path | None = None,
    calibration_size: int = CALIBRATION_TWEETS,
    max_drop: float = MAX_DROP,
) -> Path:
    """Export a run's model to ``RUN_DIR/openvino/`` and return that folder.

    ``calibration``: a file of tweets to calibrate int8 on (read as the run read its data),
    instead of the run's own training split (needed when that file is gone). ``max_drop``: the
    share of fp32 labels int8 may change on the tweets that steer NNCF's accuracy control.

    >>> export_openvino("runs/smile", quantize="int8")      # doctest: +SKIP
    PosixPath('runs/smile/openvino')
    """
    if quantize is not None and quantize not in QUANTIZE:
        raise ConfigError(f"quantize must be one of {', '.join(QUANTIZE)}, got {quantize!r}")
    if calibration_size < 1:
        raise ConfigError(f"calibration_size must be positive, got {calibration_size}")
    if not 0 <= max_drop < 1:
        raise ConfigError(f"max_drop must be in [0, 1), got {max_drop}")
    ov = import_openvino()
    run_dir = Path(run_dir)
    model, tokenizer = load_for_export(run_dir, allow_pickle=allow_pickle)
    sample = None
    if quantize == "int8":  # the data is checked before anything is written
        sample = calibration_sample(run_dir, calibration, calibration_size)
    with staged_folder(run_dir, OPENVINO_DIR) as staging:
        onnx_file = staging / "graph.onnx"
        input_names = write_onnx_graph(model, tokenizer, onnx_file, OPSET)
        graph = ov.Core().read_model(str(onnx_file))
        ov.save_model(graph, str(staging / "model.xml"), compress_to_fp16=False)
        onnx_file.unlink()
        tokenizer.save_pretrained(str(staging))
        settings = {"format": "openvino", "input_names": input_names, "quantize": quantize}
        write_export_config(staging, model, settings)
        if sample is not None:
            settings.update(_quantize_int8(ov, graph, staging, sample, max_drop))
            write_export_config(staging, model, settings)
    final = run_dir / OPENVINO_DIR
    logger.debug("exported %s to %s", run_dir, final)
    return final


class Sample:
    """Cleaned tweets to calibrate on, and held-out ones to measure label agreement on."""

    def __init__(self, calibrate: list[str], measure: list[str], source: str, max_length: int):
        self.calibrate, self.measure, self.source = calibrate, measure, source
        self.max_length = max_length


def calibration_sample(run_dir: Path, calibration, size: int) -> Sample:
    """A seeded sample of the run's training tweets (or of ``calibration``'s), cleaned as the
    run cleans them, and the run's validation tweets (else other tweets of the file)."""

    config = RunDir(run_dir).read_config()
    rng = np.random.default_rng(17)
    if calibration is not None:
        data = config.data if config else DataConfig()
        texts = [t for t in load_texts(calibration, data) if t.strip()]
        if config is not None and (config.normalize or config.demojize):
            texts = [
                clean_tweet(t, normalize=config.normalize, demojize_emoji=config.demojize)
                for t in texts
            ]
        order = rng.permutation(len(texts))
        picked = [texts[i] for i in order[:size]]
        rest = [texts[i] for i in order[size : size + AGREEMENT_TWEETS]]
        return Sample(picked, rest, str(calibration), config.max_length if config else 128)
    if config is None or not config.data_path or not Path(config.data_path).is_file():
        where = f"its data file {config.data_path} is not there" if config else "no config.json"
        raise ModelError(
            f"{run_dir}: int8 calibration needs the run's training tweets, but {where}; "
            "pass --calibration FILE (tweets like the ones it will label)"
        )
    with our_details_quiet("tweetsent.data"):  # the run's data messages were said at training
        train, val = prepare_data(config)  # cleaned as the run cleaned them
    order = rng.permutation(len(train.texts))
    picked = [train.texts[i] for i in order[:size]]
    # The labels kept are measured on as many tweets as there are (the validation split, then
    # training tweets the calibration did not see): a few hundred bound the share too loosely.
    measure = list(val.texts) + [train.texts[i] for i in order[size:]]
    return Sample(picked, measure[:AGREEMENT_TWEETS], config.data_path, config.max_length)


def _quantize_int8(ov, graph, staging: Path, sample: Sample, max_drop: float) -> dict:
    """NNCF int8 of ``graph`` into ``model_int8.xml``; what it measured, for config.json.

    ``sample.measure`` is split in two: the even tweets steer the accuracy control, the odd
    ones (never used to choose) measure the labels kept.
    """
    try:
        import nncf
    except ImportError:
        raise ConfigError("--quantize int8 needs NNCF: pip install nncf") from None
    fp32 = OpenVinoEngine(staging / "model.xml", precision="fp32")
    encode = _encoder(fp32, staging, sample.max_length)
    dataset = nncf.Dataset([encode(text) for text in sample.calibrate])
    steer, held_out = sample.measure[0::2], sample.measure[1::2]
    with _nncf_quiet(nncf):
        quantized = nncf.quantize(
            graph, dataset, model_type=nncf.ModelType.TRANSFORMER, subset_size=len(sample.calibrate)
        )
        ov.save_model(quantized, str(staging / "model_int8.xml"), compress_to_fp16=False)
    int8 = OpenVinoEngine(staging / "model_int8.xml", precision="fp32")
    plain = label_agreement(fp32, int8, staging, steer, sample.max_length)
    controlled = plain is not None and plain < 1 - max_drop
    if controlled:
        logger.info(
            "int8 keeps %.2f %% of the fp32 labels; restoring layers to fp32 (NNCF accuracy "
            "control, at most %.1f %% changed)",
            100 * plain,
            100 * max_drop,
        )
        labels = _labels(fp32, staging, steer, sample.max_length)
        items = [(encode(text), label) for text, label in zip(steer, labels, strict=True)]
        with _nncf_quiet(nncf):
            quantized = nncf.quantize_with_accuracy_control(
                graph,
                dataset,
                nncf.Dataset(items),
                _kept_labels,
                max_drop=max_drop,
                drop_type=nncf.DropType.ABSOLUTE,
                model_type=nncf.ModelType.TRANSFORMER,
                subset_size=len(sample.calibrate),
            )
            ov.save_model(quantized, str(staging / "model_int8.xml"), compress_to_fp16=False)
        int8 = OpenVinoEngine(staging / "model_int8.xml", precision="fp32")
    agreement = label_agreement(fp32, int8, staging, held_out, sample.max_length)
    return {
        "calibration_tweets": len(sample.calibrate),
        "calibration_source": sample.source,
        "int8_accuracy_control": {
            "max_drop": max_drop,
            "steering_tweets": len(steer),
            "agreement_before": plain,
            "applied": controlled,
        },
        "int8_label_agreement": agreement,
        "agreement_tweets": len(held_out),
        "int8_agreement_lower_bound": agreement_lower_bound(agreement, len(held_out)),
    }


def _kept_labels(compiled, items) -> tuple[float, list[float]]:
    """NNCF's validation function: the share of items whose fp32 label the model keeps, and
    per item 1 or 0 (NNCF ranks the layers to restore by these)."""
    kept = [float(np.argmax(compiled(inputs)[0]) == label) for inputs, label in items]
    return float(np.mean(kept)) if kept else 1.0, kept


def _labels(engine, folder: Path, texts: list[str], max_length: int) -> list[int]:
    tokenizer = export_tokenizer(folder, vocab_size=engine.vocab_size)
    clf = TweetClassifier(engine, tokenizer, engine.labels, max_length=max_length)
    return clf.predict_logits(texts).argmax(axis=1).tolist()


def label_agreement(fp32, int8, folder: Path, texts: list[str], max_length: int) -> float | None:
    """Share of ``texts`` (already cleaned) on which the two engines give the same label."""
    if not texts:
        return None
    same = np.equal(*(_labels(e, folder, texts, max_length) for e in (fp32, int8)))
    return round(float(np.mean(same)), 4)


def _encoder(engine, folder: Path, max_length: int):
    """text -> the model's input arrays for one tweet (batch of one: NNCF's calibration items)."""

    tokenizer = export_tokenizer(folder, vocab_size=engine.vocab_size)
    names = set(engine.input_names)

    def encode(text: str) -> dict[str, np.ndarray]:
        ids = tokenizer([text], truncation=True, max_length=max_length)["input_ids"][0]
        arrays = {
            "input_ids": np.asarray([ids], dtype=np.int64),
            "attention_mask": np.ones((1, len(ids)), dtype=np.int64),
            "token_type_ids": np.zeros((1, len(ids)), dtype=np.int64),
        }
        return {k: v for k, v in arrays.items() if k in names}

    return encode


@contextlib.contextmanager
def _nncf_quiet(nncf):
    """NNCF's log lines and progress bars (rich, on stdout) only with ``-v``."""
    if verbose():
        yield
        return
    level = logging.getLogger("nncf").level
    nncf.set_log_level(logging.ERROR)
    try:
        with third_party_quiet(), contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        nncf.set_log_level(level)


__all__ = ["CALIBRATION_TWEETS", "export_openvino", "label_agreement"]
