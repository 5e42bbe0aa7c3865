"""The fit itself: tokenise, build the model and ``TweetTrainer``, train, re-score the best epoch,
save the model and collect the run's metrics.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

from tweetsent.config import TrainConfig
from tweetsent.data import labels as ml
from tweetsent.data.prepare import run_labels
from tweetsent.data.reading import LabelledData
from tweetsent.evaluation import metrics as ml_metrics
from tweetsent.evaluation.metrics import classification_metrics, cross_entropy, format_per_class
from tweetsent.hardware import device_type, resolve_precision
from tweetsent.modeling.loading import build_classifier, load_tokenizer, resolve_model
from tweetsent.training import checkpoints, distributed, losses
from tweetsent.training import trainer as recipe
from tweetsent.training.callbacks import EpochHistory, TqdmProgress, current_history

logger = logging.getLogger(__name__)

SCALAR_METRICS = ("accuracy", "f1_weighted", "f1_macro", "f1_micro", "mcc")


def fit(
    config: TrainConfig, train_data, val_data, staging: Path, *, progress: bool, resume_from=None
) -> dict:
    import torch
    from transformers import DataCollatorWithPadding, TrainingArguments, set_seed

    labels = run_labels(train_data, config)
    label2id = {label: i for i, label in enumerate(labels)}
    if config.multi_label:

        def targets(data: LabelledData) -> list:
            return ml.multi_hot(data.labels, labels, config.label_sep).tolist()

    else:

        def targets(data: LabelledData) -> list:
            return [label2id[label] for label in data.labels]

    train_targets = targets
    soft = ml.soft_separator(config)
    if soft:

        def train_targets(data: LabelledData) -> list:
            return ml.soft_targets(data.labels, labels, soft).tolist()

    model_name = resolve_model(config.model)
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
    set_seed(config.seed)
    model = build_classifier(
        model_name, labels, allow_pickle=config.allow_pickle, multi_label=config.multi_label
    )
    tokenizer = load_tokenizer(model_name, vocab_size=model.config.vocab_size)
    model = recipe.prepare_model(model, config)
    distributed.mark_mean_loss(model)
    if config.multi_label:
        loss_weights = losses.positive_weights(config.class_weights, labels, targets(train_data))
    else:
        loss_weights = losses.class_weights(
            config.class_weights,
            labels,
            train_data.labels,
            sep=soft,
        )
    train_set = _tokenize(tokenizer, train_data, train_targets(train_data), config.max_length)
    val_set = _tokenize(tokenizer, val_data, targets(val_data), config.max_length)

    def compute_metrics(prediction) -> dict:
        logits = prediction.predictions
        if config.multi_label:  # per-epoch scores at threshold 0.5; tuned once at the end
            y_pred = ml.apply_thresholds(ml_metrics.sigmoid(logits), [0.5] * len(labels))
            full = ml_metrics.multilabel_metrics(prediction.label_ids, y_pred, labels)
        else:
            full = classification_metrics(prediction.label_ids, logits.argmax(axis=-1), labels)
        return {k: full[k] for k in SCALAR_METRICS if k in full}

    greater = config.metric_for_best != "loss"
    args = TrainingArguments(
        output_dir=str(staging / "checkpoints"),
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
        greater_is_better=greater,
        logging_strategy="steps",
        logging_steps=1,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        use_cpu=device_type() == "cpu",
        ddp_backend=distributed.backend(cpu=device_type() == "cpu"),
        **checkpoints.trainer_args(config),
        seed=config.seed,
        data_seed=config.seed,
        # Similar lengths in a batch: per-batch padding then wastes almost nothing.
        train_sampling_strategy="group_by_length",
        length_column_name="length",
        report_to=[],
        disable_tqdm=True,
        dataloader_num_workers=0,
    )
    history = EpochHistory()
    trainer = recipe.TweetTrainer(
        model=model,
        args=args,
        train_dataset=train_set,
        eval_dataset=val_set,
        # Padding to a multiple of 8 cuts the number of distinct batch shapes, each of which
        # costs oneDNN a one-off kernel build in bf16 (measured: a 17 % faster first epoch).
        data_collator=DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8),
        processing_class=tokenizer,
        compute_metrics=compute_metrics,
        callbacks=[
            history,
            TqdmProgress(enabled=progress),
            *recipe.callbacks(config),
            *checkpoints.callbacks(config),
        ],
        loss_weights=loss_weights,
        multi_label=config.multi_label,
        scheduler=config.scheduler,
        lr_multipliers=recipe.lr_multipliers(model, config),
    )
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)

    started = time.perf_counter()
    trainer.train(resume_from_checkpoint=resume_from)
    history = current_history(trainer)  # restored from the checkpoint when resuming
    seconds = time.perf_counter() - started + history.seconds_before_resume

    # The best epoch's model is loaded back; score it once more in full detail.
    output = trainer.predict(val_set)
    logits = output.predictions
    # Labels from the output, which stay aligned with the predictions whatever order Trainer
    # evaluated the rows in (TweetTrainer keeps row order; this holds either way).
    if config.multi_label:
        y_multi = np.asarray(output.label_ids, dtype=np.float32)
        validation = _multilabel_validation(trainer.model, logits, y_multi, labels)
    else:
        proba = torch.softmax(torch.from_numpy(np.asarray(logits, dtype=np.float32)), -1).numpy()
        y_true = np.asarray(output.label_ids, dtype=int)
        validation = classification_metrics(y_true, proba.argmax(axis=1), labels)
        validation["loss"] = cross_entropy(proba, y_true)
    # Under DDP Trainer gathers the shards; every validation row must be scored exactly once.
    if len(output.label_ids) != len(val_data):
        raise RuntimeError(f"evaluated {len(output.label_ids)} of {len(val_data)} validation rows")
    best_epoch = _best_epoch(history.epochs, config.metric_for_best, greater)
    logger.info("best epoch %d: %s", best_epoch, format_per_class(validation))

    model_dir = staging / "model"
    trainer.model.config.tweetsent_normalize = config.normalize  # the model dir alone knows
    trainer.model.config.tweetsent_demojize = config.demojize
    if distributed.is_main():
        # save_pretrained, not trainer.save_model: no pickled training_args.bin beside weights.
        trainer.model.save_pretrained(str(model_dir))
        tokenizer.save_pretrained(str(model_dir))
        config.save(staging / "config.json")

    metrics = {
        "best_epoch": best_epoch,
        "metric_for_best": config.metric_for_best,
        "validation": validation,
        "history": history.epochs,
        "train_steps": history.steps,
        "labels": labels,
        "model": model_name,
        "precision": precision,
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
        "epochs_run": len(history.epochs),
        "train_tweets_per_second": len(train_data) * max(len(history.epochs), 1) / seconds,
    }
    if distributed.is_main():
        write_json(staging / "metrics.json", metrics)
    return metrics


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


def write_json(path: Path, payload: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


__all__ = ["fit", "write_json"]
