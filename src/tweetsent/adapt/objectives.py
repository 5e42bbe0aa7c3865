"""The adaptation's training loop: ``transformers.Trainer`` with the objective's loss.

Trainer gives the rest (AdamW, warm-up, clipping, bf16 autocast, checkpoints, resuming); the
two losses are ours because neither is a Trainer model's own output in the form we need:

- ``mlm``: the MLM head runs on the masked positions only. BertForMaskedLM scores every token
  against the whole vocabulary; for MiniLM-L6 (384 wide, 30,522 words) that decoder costs as
  much as the encoder, so scoring the 15 % masked tokens alone nearly halves a step.
- ``simcse``: unsupervised SimCSE (Gao et al., 2021): each tweet is encoded twice, dropout
  makes the two views differ, and each view must pick its twin out of the batch (InfoNCE on
  cosine similarities). Mean pooling, the pooling the embedded MiniLM was trained with.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import torch
import torch.nn.functional as F  # noqa: N812 - torch's own convention
from transformers import (
    AutoModel,
    AutoModelForMaskedLM,
    DataCollatorForLanguageModeling,
    DataCollatorWithPadding,
    ProgressCallback,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    set_seed,
)
from transformers.trainer_callback import PrinterCallback

from tweetsent.adapt.config import AdaptConfig
from tweetsent.errors import ModelError
from tweetsent.modeling.loading import load_tokenizer
from tweetsent.quiet import third_party_quiet
from tweetsent.rundir import RunDir

logger = logging.getLogger(__name__)

PROBE_SIZE = 256  # tweets whose loss is measured before and after, with fixed masks / dropout


def load_backbone(name: str, config: AdaptConfig):
    """The model the objective trains: a masked LM (its head fresh where the checkpoint has
    none, the decoder tied to the word embeddings) or the bare encoder."""
    cls = AutoModelForMaskedLM if config.objective == "mlm" else AutoModel
    try:
        with third_party_quiet():  # the LOAD REPORT of a fresh MLM head: expected here
            return cls.from_pretrained(
                name,
                use_safetensors=None if config.allow_pickle else True,
                trust_remote_code=False,
            )
    except Exception as exc:
        text = str(exc).strip().splitlines()
        raise ModelError(
            f"{name}: cannot load the model ({text[0][:300] if text else exc})"
        ) from None


class AdaptTrainer(Trainer):
    """Trainer with the adaptation objective's loss (see the module's docstring).

    ``head_warmup``: for that share of the steps only the MLM head learns. The encoder's
    weights (the word embeddings too, which the head's decoder shares) take no gradient, so
    AdamW skips them; a fresh head's random early gradients would otherwise pull the encoder off
    the representation it was trained for.
    """

    def __init__(
        self, *args, objective: str, temperature: float, head_warmup: float = 0.0, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.objective = objective
        self.temperature = temperature
        self.head_warmup = head_warmup if objective == "mlm" else 0.0
        self._encoder_frozen = False

    @property
    def head_warmup_steps(self) -> int:
        """The warm-up's steps, from the step count Trainer resolved."""
        if not self.head_warmup:
            return 0
        return max(1, round(self.head_warmup * self.state.max_steps))

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.head_warmup:
            frozen = self.state.global_step < self.head_warmup_steps
            if frozen != self._encoder_frozen:
                for param in self.accelerator.unwrap_model(model).base_model.parameters():
                    param.requires_grad_(not frozen)
                self._encoder_frozen = frozen
        loss = objective_loss(model, inputs, self.objective, self.temperature)
        return (loss, None) if return_outputs else loss


def objective_loss(model, inputs: dict, objective: str, temperature: float):
    if objective == "simcse":
        return _simcse_loss(model, inputs, temperature)
    return _masked_lm_loss(model, inputs)


def _mlm_head(model):
    """The module mapping hidden states to vocabulary scores, where the architecture has one
    (BERT's ``cls``, RoBERTa's ``lm_head``); None: use the model's own loss."""
    for name in ("cls", "lm_head"):
        head = getattr(model, name, None)
        if isinstance(head, torch.nn.Module):
            return head
    return None


def _masked_lm_loss(model, inputs: dict):
    inputs = dict(inputs)
    labels = inputs.pop("labels")
    head = _mlm_head(model)
    if head is None:
        return model(**inputs, labels=labels).loss
    hidden = model.base_model(**inputs).last_hidden_state
    masked = labels != -100
    scores = head(hidden[masked])
    return F.cross_entropy(scores.float(), labels[masked])


def _simcse_loss(model, inputs: dict, temperature: float):
    twice = {k: torch.cat([v, v]) for k, v in inputs.items() if k != "labels"}
    hidden = model(**twice).last_hidden_state
    mask = twice["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
    first, second = pooled.float().chunk(2)
    similarity = F.cosine_similarity(first.unsqueeze(1), second.unsqueeze(0), dim=-1)
    targets = torch.arange(len(first), device=similarity.device)
    return F.cross_entropy(similarity / temperature, targets)


def tokenized(tokenizer, texts: list[str], max_length: int):
    from datasets import Dataset

    encoded = tokenizer(texts, truncation=True, max_length=max_length)
    columns = dict(encoded)
    columns["length"] = [len(ids) for ids in encoded["input_ids"]]
    return Dataset.from_dict(columns)


def collator(tokenizer, config: AdaptConfig):
    if config.objective == "mlm":
        if tokenizer.mask_token is None:
            raise ModelError(f"{config.model}: its tokenizer has no mask token, so no mlm")
        return DataCollatorForLanguageModeling(
            tokenizer, mlm_probability=config.mask_prob, pad_to_multiple_of=8
        )
    return DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8)


def probe_loss(model, batches: list[dict], config: AdaptConfig) -> float:
    """The objective's mean loss on fixed batches (masks drawn once; dropout seeded), so the
    figure before and after adaptation compares like with like."""
    device = next(model.parameters()).device
    was_training = model.training
    model.train(config.objective == "simcse")  # its loss needs the two dropout views
    losses = []
    with torch.no_grad():
        for i, batch in enumerate(batches):
            torch.manual_seed(config.seed + i)
            batch = {k: v.to(device) for k, v in batch.items() if k != "length"}
            losses.append(float(objective_loss(model, batch, config.objective, config.temperature)))
    model.train(was_training)
    return sum(losses) / max(len(losses), 1)


def probe_batches(tokenizer, texts: list[str], config: AdaptConfig) -> list[dict]:
    """Up to ``PROBE_SIZE`` tweets (a seeded sample), collated once."""
    import random

    sample = random.Random(config.seed).sample(texts, min(PROBE_SIZE, len(texts)))
    rows = tokenized(tokenizer, sample, config.max_length).remove_columns("length")
    collate = collator(tokenizer, config)
    torch.manual_seed(config.seed)  # the masks
    step = config.batch_size
    return [
        collate([rows[j] for j in range(i, min(i + step, len(rows)))])
        for i in range(0, len(rows), step)
    ]


class _Progress(ProgressCallback):
    """Trainer's tqdm bar, with the running loss beside it instead of a log dict per line."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.training_bar is not None and logs and "loss" in logs:
            self.training_bar.set_postfix(loss=f"{logs['loss']:.3f}")


class _LossLog(TrainerCallback):
    def __init__(self):
        self.curve: list[list[float]] = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.curve.append([state.global_step, round(float(logs["loss"]), 5)])


def fit_backbone(
    name: str,
    texts: list[str],
    config: AdaptConfig,
    staging: Path,
    *,
    epochs: int,
    precision: str,
    resume_from: Path | None,
    progress: bool,
) -> tuple[object, object, dict]:
    """Train ``name`` on ``texts`` with the objective; checkpoints go to ``staging/checkpoints``.

    Returns:
        The adapted model, its tokenizer, and the figures of the report (steps, loss curve,
        probe loss before and after, seconds).
    """
    set_seed(config.seed)
    model = load_backbone(name, config)
    tokenizer = load_tokenizer(name, vocab_size=model.config.vocab_size)
    probe = probe_batches(tokenizer, texts, config)
    before = probe_loss(model, probe, config)
    log = _LossLog()
    cpu = config.device == "cpu" or (config.device == "auto" and not torch.cuda.is_available())
    args = _arguments(config, staging, epochs=epochs, precision=precision, cpu=cpu)
    data = tokenized(tokenizer, texts, config.max_length)
    trainer = AdaptTrainer(
        model=model,
        args=args,
        train_dataset=data,
        data_collator=_without_length(collator(tokenizer, config)),
        processing_class=tokenizer,
        callbacks=[log, *([_Progress()] if progress else [])],
        objective=config.objective,
        temperature=config.temperature,
        head_warmup=config.head_warmup,
    )
    trainer.remove_callback(PrinterCallback)
    started = time.perf_counter()
    with third_party_quiet():
        trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    seconds = time.perf_counter() - started
    after = probe_loss(trainer.model, probe, config)
    figures = {
        "steps": trainer.state.global_step,
        "head_warmup_steps": trainer.head_warmup_steps,
        "epochs": epochs if not config.max_steps else None,
        "loss_curve": log.curve,
        "probe_tweets": min(PROBE_SIZE, len(texts)),
        "probe_loss_before": round(before, 5),
        "probe_loss_after": round(after, 5),
        "seconds": round(seconds, 2),
        "resumed_from_step": _step_of(resume_from),
        "precision": precision,
        "device": "cpu" if cpu else "cuda",
    }
    return trainer.model, tokenizer, figures


def _arguments(config: AdaptConfig, staging: Path, *, epochs: int, precision: str, cpu: bool):
    return TrainingArguments(
        output_dir=str(RunDir(staging).checkpoints),
        num_train_epochs=epochs,
        max_steps=config.max_steps or -1,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.lr,
        warmup_steps=config.warmup_ratio,  # a float below 1 is a ratio of all steps
        weight_decay=config.weight_decay,
        max_grad_norm=1.0,
        lr_scheduler_type="linear",
        optim="adamw_torch_fused",
        logging_strategy="steps",
        logging_steps=10,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=1,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        use_cpu=cpu,
        seed=config.seed,
        data_seed=config.seed,
        # Similar lengths in a batch: short tweets are not padded to the longest of the set.
        train_sampling_strategy="group_by_length",
        length_column_name="length",
        remove_unused_columns=False,
        report_to=[],
        disable_tqdm=True,  # our own bar (_Progress) when progress is on
        dataloader_num_workers=0,
    )


def _without_length(collate):
    """The collator, fed rows without the ``length`` column (kept in the dataset for
    group_by_length's sampler, but no model input)."""

    def collate_rows(rows):
        return collate([{k: v for k, v in row.items() if k != "length"} for row in rows])

    return collate_rows


def _step_of(checkpoint: Path | None) -> int:
    return int(checkpoint.name.rsplit("-", 1)[-1]) if checkpoint else 0


__all__ = ["PROBE_SIZE", "fit_backbone", "objective_loss"]
