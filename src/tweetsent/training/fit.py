"""The fit itself: tokenise, build the model and ``TweetTrainer``, train, re-score the best epoch,
save the model and collect the run's metrics.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from tweetsent.config import TrainConfig
from tweetsent.data import labels as ml
from tweetsent.data.prepare import run_labels
from tweetsent.data.reading import LabelledData
from tweetsent.evaluation import metrics as ml_metrics
from tweetsent.evaluation.calibration import calibrate
from tweetsent.evaluation.metrics import classification_metrics, cross_entropy, format_per_class
from tweetsent.hardware import device_type, resolve_precision
from tweetsent.inference.calibration import MULTI_LABEL_NOTE
from tweetsent.modeling.loading import build_classifier, load_tokenizer, resolve_model
from tweetsent.quiet import third_party_quiet
from tweetsent.rundir import RunDir
from tweetsent.training import checkpoints, distributed, losses
from tweetsent.training import trainer as recipe
from tweetsent.training.callbacks import EPOCH_METRICS, TqdmProgress, TrainingLog, history

logger = logging.getLogger(__name__)

SCALAR_METRICS = EPOCH_METRICS  # scored at every epoch; the best epoch gets the full report


def fit(
    config: TrainConfig,
    train_data,
    val_data,
    staging: Path,
    *,
    progress: bool,
    resume_from=None,
    backbone: Path | None = None,
) -> dict:
    """Train, load the best epoch back, score it in full, save it (rank 0) and return the run's
    metrics; the caller adds the baseline and writes them, once, to metrics.json.

    ``backbone``: the folder to start from instead of ``config.model`` (``--adapt``'s adapted
    copy of it); the run still names ``config.model`` as its model.
    """
    labels = run_labels(train_data, config)
    model_name = resolve_model(config.model)
    start_from = str(backbone) if backbone else model_name
    precision = resolve_precision(config.precision)
    logger.info(
        "training %s on %d tweets, validating on %d; %d classes; %s on %s",
        model_name,
        len(train_data),
        len(val_data),
        len(labels),
        precision,
        device_type(),
    )
    log = TrainingLog()
    trainer, val_set = build_trainer(
        config,
        labels,
        (train_data, val_data),
        staging,
        model_name=start_from,
        precision=precision,
        callbacks=[log, TqdmProgress(enabled=progress)],
    )
    started = time.perf_counter()
    trainer.train(resume_from_checkpoint=resume_from)
    seconds = time.perf_counter() - started + log.seconds_before_resume
    validation, calibration = rescore_best(trainer, val_set, labels, config.multi_label)
    if distributed.is_main():
        _save_model(trainer.model, trainer.processing_class, config, staging)
    epochs, steps = history(trainer.state.log_history)
    metrics = collect_metrics(
        config,
        (train_data, val_data),
        epochs=epochs,
        steps=steps,
        lr_groups=log.lr_groups,
        scores=(validation, calibration),
        run={"labels": labels, "model": model_name, "precision": precision},
        seconds=seconds,
    )
    metrics["warnings"] = [w for w in (one_label_warning(validation, config),) if w]
    for warning in metrics["warnings"]:
        logger.warning("warning: %s", warning)
    return metrics


def one_label_warning(validation: dict, config: TrainConfig) -> str | None:
    """The warning for a run whose best epoch gives every validation tweet the same label.

    Such a run learned nothing (its MCC is 0), yet it ends like any other and its accuracy can
    look fair on imbalanced data; no library says so, hence this check. Seen on COVID with one
    seed of an adapted backbone: the training loss stayed at the label entropy for 4 epochs.

    Args:
        validation: the best epoch's single-label validation scores (``confusion_matrix``,
            ``labels``), as ``classification_metrics`` returns them.
        config: the run's settings, named in the advice.

    Returns:
        The warning's text, or None when the predictions use more than one label, when the
        validation rows hold a single label, or for a multi-label run.
    """
    matrix = validation.get("confusion_matrix")
    if validation.get("multi_label") or not matrix:
        return None
    matrix = np.asarray(matrix)
    predicted = np.flatnonzero(matrix.sum(axis=0))
    if len(predicted) != 1 or np.count_nonzero(matrix.sum(axis=1)) < 2:
        return None
    label = validation["labels"][predicted[0]]
    advice = f"another --seed or a lower --lr (this run: --seed {config.seed}, --lr {config.lr:g})"
    if config.adapt:
        advice += ", or without --adapt"
    return (
        f"every validation tweet ({int(matrix.sum())}) got the label {label!r}: the model "
        f"tells no tweets apart (validation MCC 0); train again with {advice}"
    )


def build_trainer(
    config: TrainConfig, labels, data, staging: Path, *, model_name, precision, callbacks: list
):
    """The model, its tokenised data and the ``TweetTrainer`` that fits it; and the tokenised
    validation set, to score the best epoch with afterwards."""
    from transformers import DataCollatorWithPadding, set_seed
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    train_data, val_data = data
    set_seed(config.seed)
    model = build_classifier(
        model_name, labels, allow_pickle=config.allow_pickle, multi_label=config.multi_label
    )
    tokenizer = load_tokenizer(model_name, vocab_size=model.config.vocab_size)
    model = recipe.prepare_model(model, config)
    distributed.mark_mean_loss(model)
    targets, train_targets = _target_makers(config, labels)
    val_set = _tokenize(tokenizer, val_data, targets(val_data), config.max_length)
    trainer = recipe.TweetTrainer(
        model=model,
        args=training_arguments(config, staging, precision),
        train_dataset=_tokenize(
            tokenizer, train_data, train_targets(train_data), config.max_length
        ),
        eval_dataset=val_set,
        # Padding to a multiple of 8 cuts the number of distinct batch shapes, each of which
        # costs oneDNN a one-off kernel build in bf16 (measured: a 17 % faster first epoch).
        data_collator=DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8),
        processing_class=tokenizer,
        compute_metrics=_epoch_scorer(config, labels),
        callbacks=[
            *callbacks,  # TrainingLog first: the others may read what it adds to the log
            *recipe.callbacks(config),
            *checkpoints.callbacks(config),
            *recipe.reporting_callbacks(config, staging),
        ],
        loss_weights=_loss_weights(config, labels, train_data, targets),
        multi_label=config.multi_label,
        scheduler=config.scheduler,
        lr_multipliers=recipe.lr_multipliers(model, config),
    )
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    return trainer, val_set


def _target_makers(config: TrainConfig, labels: list[str]):
    """Functions from rows to targets: for validation (one class index, or a multi-hot row), and
    for training, where soft rows (``a|b``) become probability vectors."""
    if config.multi_label:

        def targets(data: LabelledData) -> list:
            return ml.multi_hot(data.labels, labels, config.label_sep).tolist()

    else:
        label2id = {label: i for i, label in enumerate(labels)}

        def targets(data: LabelledData) -> list:
            return [label2id[label] for label in data.labels]

    soft = ml.soft_separator(config)
    if not soft:
        return targets, targets

    def soft_targets(data: LabelledData) -> list:
        return ml.soft_targets(data.labels, labels, soft).tolist()

    return targets, soft_targets


def _loss_weights(config: TrainConfig, labels, train_data: LabelledData, targets):
    if config.multi_label:
        return losses.positive_weights(config.class_weights, labels, targets(train_data))
    sep = ml.soft_separator(config)
    return losses.class_weights(config.class_weights, labels, train_data.labels, sep=sep)


def _epoch_scorer(config: TrainConfig, labels: list[str]):
    """Trainer's ``compute_metrics``: the scalar scores of one epoch's validation."""

    def compute_metrics(prediction) -> dict:
        logits = prediction.predictions
        if config.multi_label:  # per-epoch scores at threshold 0.5; tuned once at the end
            y_pred = ml.apply_thresholds(ml_metrics.sigmoid(logits), [0.5] * len(labels))
            full = ml_metrics.multilabel_metrics(prediction.label_ids, y_pred, labels)
        else:
            full = classification_metrics(prediction.label_ids, logits.argmax(axis=-1), labels)
        return {k: full[k] for k in SCALAR_METRICS if k in full}

    return compute_metrics


def training_arguments(config: TrainConfig, staging: Path, precision: str, **extra):
    """The recipe's ``TrainingArguments``; ``extra`` for a loop that differs (distillation)."""
    from transformers import TrainingArguments

    cpu = device_type() == "cpu"
    return TrainingArguments(
        output_dir=str(RunDir(staging).checkpoints),
        num_train_epochs=config.epochs,
        learning_rate=config.lr,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.eval_batch_size,
        warmup_steps=config.warmup_ratio,  # a float below 1 is a ratio of all steps
        weight_decay=config.weight_decay,  # Trainer exempts biases and LayerNorm weights
        max_grad_norm=config.max_grad_norm,
        label_smoothing_factor=config.label_smoothing,
        **recipe.trainer_arguments(config),  # scheduler and optimizer
        eval_strategy="epoch",
        save_strategy="epoch",
        save_total_limit=1,
        load_best_model_at_end=True,
        metric_for_best_model=config.metric_for_best,
        greater_is_better=config.metric_for_best != "loss",
        logging_strategy="steps",
        logging_steps=1,  # TrainingLog and metrics.json's train_steps: every step's loss
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        use_cpu=cpu,
        ddp_backend=distributed.backend(cpu=cpu),
        **checkpoints.trainer_args(config),
        seed=config.seed,
        data_seed=config.seed,
        # Similar lengths in a batch: per-batch padding then wastes almost nothing.
        train_sampling_strategy="group_by_length",
        length_column_name="length",
        report_to=[],  # --report-to: recipe.reporting_callbacks
        disable_tqdm=True,
        dataloader_num_workers=0,
        **extra,
    )


def rescore_best(trainer, val_set, labels: list[str], multi_label: bool) -> tuple[dict, dict]:
    """The best epoch's model is loaded back; score it once more in full detail."""
    output = trainer.predict(val_set)
    # Under DDP Trainer gathers the shards; every validation row must be scored exactly once.
    if len(output.label_ids) != len(val_set):
        raise RuntimeError(f"evaluated {len(output.label_ids)} of {len(val_set)} validation rows")
    # Labels from the output, which stay aligned with the predictions whatever order Trainer
    # evaluated the rows in (TweetTrainer keeps row order; this holds either way).
    return _final_validation(trainer.model, output, labels, multi_label)


def collect_metrics(
    config: TrainConfig, data, *, epochs, steps, lr_groups, scores, run: dict, seconds: float
) -> dict:
    """metrics.json's content (see the README's table of run files), less the baseline."""
    train_data, val_data = data
    validation, calibration = scores
    greater = config.metric_for_best != "loss"
    best_epoch = _best_epoch(epochs, config.metric_for_best, greater)
    logger.debug("best epoch %d: %s", best_epoch, format_per_class(validation))
    return {
        "best_epoch": best_epoch,
        "metric_for_best": config.metric_for_best,
        "validation": validation,
        "calibration": calibration,
        "history": epochs,
        "train_steps": steps,
        "lr_groups": lr_groups,
        "labels": run["labels"],
        "model": run["model"],
        "precision": run["precision"],
        "processes": distributed.world_size(),
        "data": {
            "source": str(config.data_path),
            "train_rows": len(train_data),
            "validation_rows": len(val_data),
            "dropped": train_data.dropped,
            "train_distribution": train_data.distribution().to_dict(orient="records"),
            "validation_distribution": val_data.distribution().to_dict(orient="records"),
        },
        "train_seconds": seconds,
        "epochs_run": len(epochs),
        "train_tweets_per_second": len(train_data) * max(len(epochs), 1) / seconds,
    }


def _final_validation(model, output, labels: list[str], multi_label: bool) -> tuple[dict, dict]:
    """The best epoch's validation scores in full, and its calibration: temperature scaling on
    the validation logits for a single-label model, stored in the model's config so every
    predictor shows calibrated probabilities (labels and scores are unchanged by it)."""
    import torch

    logits = output.predictions
    if multi_label:
        y_multi = np.asarray(output.label_ids, dtype=np.float32)
        validation = _multilabel_validation(model, logits, y_multi, labels)
        return validation, {"method": "none", "note": MULTI_LABEL_NOTE}
    proba = torch.softmax(torch.from_numpy(np.asarray(logits, dtype=np.float32)), -1).numpy()
    y_true = np.asarray(output.label_ids, dtype=int)
    validation = classification_metrics(y_true, proba.argmax(axis=1), labels)
    validation["loss"] = cross_entropy(proba, y_true)
    calibration = calibrate(logits, y_true)
    model.config.tweetsent_temperature = calibration["temperature"]
    logger.debug("calibration: %s", {k: v for k, v in calibration.items() if "bins" not in k})
    return validation, calibration


def _multilabel_validation(model, logits, y_true, labels) -> dict:
    """Tune one threshold per label on validation, score with them, store them in the model."""
    proba = ml_metrics.sigmoid(logits)
    at_half = ml_metrics.multilabel_metrics(
        y_true, ml.apply_thresholds(proba, [0.5] * len(labels)), labels
    )
    thresholds = ml_metrics.tune_thresholds(y_true, proba)
    validation = ml_metrics.multilabel_metrics(
        y_true, ml.apply_thresholds(proba, thresholds), labels
    )
    validation["loss"] = ml_metrics.binary_cross_entropy(proba, y_true)
    validation["thresholds"] = {
        label: float(t) for label, t in zip(labels, thresholds, strict=True)
    }
    # Tuned on these very rows, so the tuned scores are optimistic; the 0.5 ones are not.
    validation["at_threshold_0.5"] = {k: at_half[k] for k in ("f1_micro", "f1_macro", "accuracy")}
    model.config.tweetsent_thresholds = validation["thresholds"]
    return validation


def _tokenize(tokenizer, data: LabelledData, targets: list, max_length: int):
    from datasets import Dataset

    encoded = tokenizer(data.texts, truncation=True, max_length=max_length)
    columns = dict(encoded)
    columns["labels"] = targets
    columns["length"] = [len(ids) for ids in encoded["input_ids"]]
    return Dataset.from_dict(columns)


def _best_epoch(epochs: list[dict], metric: str, greater: bool) -> int:
    key = "val_loss" if metric == "loss" else metric
    scored = [(e[key], -e["epoch"]) if greater else (-e[key], -e["epoch"]) for e in epochs]
    # The first epoch that reaches the best score wins, as in Trainer's own selection.
    return epochs[scored.index(max(scored))]["epoch"] if epochs else 0


def _save_model(model, tokenizer, config: TrainConfig, staging: Path) -> None:
    model.config.tweetsent_normalize = config.normalize  # the model dir alone knows
    model.config.tweetsent_demojize = config.demojize
    # save_pretrained, not trainer.save_model: no pickled training_args.bin beside weights.
    with third_party_quiet():  # transformers' "Writing model shards" bar
        model.save_pretrained(str(RunDir(staging).model))
        tokenizer.save_pretrained(str(RunDir(staging).model))
    RunDir(staging).write_config(config)


__all__ = ["fit"]
