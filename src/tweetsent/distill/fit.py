"""The student's training loop (:mod:`.distill`): Trainer with the distillation loss.

Everything else is the training recipe's: the optimizer and per-layer learning rates, the
schedule, early stopping, the best epoch kept, the final validation with temperature scaling,
and the saved model and metrics, so the student's run directory is a run like any other.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from tweetsent.data import labels as ml
from tweetsent.evaluation.metrics import classification_metrics
from tweetsent.hardware import resolve_precision
from tweetsent.training import losses
from tweetsent.training import trainer as recipe
from tweetsent.training.baseline import baseline_metrics
from tweetsent.training.callbacks import EPOCH_METRICS, TqdmProgress, TrainingLog, history
from tweetsent.training.fit import _save_model, collect_metrics, rescore_best, training_arguments
from tweetsent.training.schedule import resolve_schedule

logger = logging.getLogger(__name__)

UNLABELLED = -100  # rows with no hard label: the teacher's soft labels only


class Rows(NamedTuple):
    """What the student learns from: the labelled split, extra tweets, the teacher's logits
    for both (labelled rows first), and the validation rows."""

    train: object
    extra: list
    teacher_logits: object
    val: object


class DistillTrainer(recipe.TweetTrainer):
    """``alpha`` x T² x KL(teacher_T || student_T) + (1 - alpha) x weighted CE(hard labels)."""

    def __init__(self, *args, temperature: float, alpha: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.temperature = temperature
        self.alpha = alpha

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        import torch
        from torch.nn import functional

        inputs = dict(inputs)
        inputs.pop("length", None)
        teacher = inputs.pop("teacher_logits", None)
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        logits = outputs.logits.float()
        weight = None
        if self.loss_weights is not None:
            weight = torch.tensor(self.loss_weights, dtype=torch.float32, device=logits.device)
        hard = logits.new_zeros(())
        if (labels != UNLABELLED).any():
            hard = functional.cross_entropy(logits, labels, weight=weight, ignore_index=UNLABELLED)
        if teacher is None:  # evaluation rows: the plain (weighted) cross-entropy
            return (hard, outputs) if return_outputs else hard
        t = self.temperature
        soft = functional.kl_div(
            functional.log_softmax(logits / t, dim=-1),
            functional.softmax(teacher.float() / t, dim=-1),
            reduction="batchmean",
        ) * (t * t)  # T²: the soft term's gradients keep their scale whatever T (Hinton)
        loss = self.alpha * soft + (1 - self.alpha) * hard
        return (loss, outputs) if return_outputs else loss


def fit_student(student, tokenizer, labels, config, settings, data: Rows, staging: Path) -> dict:
    """Train ``student`` and write its model and config under ``staging``; the run's metrics."""
    from transformers import DataCollatorWithPadding
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    train_data, extra, _, val_data = data
    config = resolve_schedule(config, len(train_data))
    if settings.epochs:
        config = dataclasses.replace(config, epochs=settings.epochs)
    train_set, val_set = _datasets(tokenizer, labels, config, data)
    weights = losses.class_weights(
        config.class_weights, labels, train_data.labels, sep=ml.soft_separator(config)
    )
    # The recipe's arguments; the teacher's logits are a column Trainer must not drop.
    precision = resolve_precision(config.precision)
    args = training_arguments(config, staging, precision, remove_unused_columns=False)
    log = TrainingLog()
    trainer = DistillTrainer(
        model=student,
        args=args,
        train_dataset=train_set,
        eval_dataset=val_set,
        data_collator=DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8),
        processing_class=tokenizer,
        compute_metrics=lambda p: _scores(p, labels),
        callbacks=[log, TqdmProgress(enabled=False), *recipe.callbacks(config)],
        loss_weights=weights,
        lr_multipliers=recipe.lr_multipliers(student, config),
        scheduler=config.scheduler,
        temperature=settings.temperature,
        alpha=settings.alpha,
    )
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started
    validation, calibration = rescore_best(trainer, val_set, labels, False)
    _save_model(trainer.model, tokenizer, config, staging)
    epochs_run, steps = history(trainer.state.log_history)
    model = f"student of {config.model or 'the embedded MiniLM-L6'}"
    metrics = collect_metrics(
        config,
        (train_data, val_data),
        epochs=epochs_run,
        steps=steps,
        lr_groups=log.lr_groups,
        scores=(validation, calibration),
        run={"labels": labels, "model": model, "precision": "bf16" if args.bf16 else "fp32"},
        seconds=seconds,
    )
    metrics["data"]["unlabelled_rows"] = len(extra)
    metrics["baseline"] = baseline_metrics(train_data, val_data, config)
    return metrics


def _datasets(tokenizer, labels, config, data: Rows):
    """The tokenised training rows (with the teacher's logits) and validation rows."""
    index = {label: i for i, label in enumerate(labels)}
    # Rows labelled "a|b" (soft multi-label rows) and unlabelled tweets: teacher only.
    hard = [index.get(label, UNLABELLED) for label in data.train.labels]
    hard += [UNLABELLED] * len(data.extra)
    texts = list(data.train.texts) + data.extra
    train_set = _dataset(tokenizer, texts, hard, config.max_length, data.teacher_logits)
    val_labels = [index[x] for x in data.val.labels]
    return train_set, _dataset(tokenizer, data.val.texts, val_labels, config.max_length)


def _dataset(tokenizer, texts, labels, max_length: int, teacher_logits=None):
    from datasets import Dataset

    encoded = tokenizer(list(texts), truncation=True, max_length=max_length)
    columns = dict(encoded)
    columns["labels"] = labels
    columns["length"] = [len(ids) for ids in encoded["input_ids"]]
    if teacher_logits is not None:
        columns["teacher_logits"] = np.asarray(teacher_logits, dtype=np.float32).tolist()
    return Dataset.from_dict(columns)


def _scores(prediction, labels) -> dict:
    full = classification_metrics(
        prediction.label_ids, prediction.predictions.argmax(axis=-1), labels
    )
    return {k: full[k] for k in EPOCH_METRICS if k in full}


__all__ = ["DistillTrainer", "fit_student"]
