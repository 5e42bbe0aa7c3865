"""The training recipe's moving parts around ``transformers.Trainer``.

The class-weighted loss (:mod:`.losses`), the OneCycle schedule, SGD, freezing the encoder or
its lower layers, an MLP head and early stopping: each is a small function of the
:class:`TrainConfig`, so ``fit`` stays a straight line from data to run directory.
"""

from __future__ import annotations

import logging

from transformers import Trainer

from tweetsent.config import TrainConfig
from tweetsent.errors import ConfigError
from tweetsent.modeling.heads import attach_mlp_head
from tweetsent.training import distributed
from tweetsent.training.losses import soft_cross_entropy

logger = logging.getLogger(__name__)


def trainer_arguments(config: TrainConfig) -> dict:
    """The ``TrainingArguments`` fields that the recipe options decide."""
    # The fused AdamW kernel (also Trainer's own default on torch >= 2.8): on this 2-core CPU
    # the foreach implementation spent a third of every training step in the optimizer.
    args = {"lr_scheduler_type": "linear", "optim": "adamw_torch_fused"}
    if config.optimizer == "sgd":
        # Plain SGD without momentum barely moves a pretrained encoder in a few epochs.
        args.update(optim="sgd", optim_args="momentum=0.9")
    return args


def prepare_model(model, config: TrainConfig):
    """Swap in the MLP head and freeze what the config asks; returns the model."""
    if config.head == "mlp":
        attach_mlp_head(model)
    base = model.base_model
    if config.freeze_encoder:
        for param in base.parameters():
            param.requires_grad = False
    elif config.freeze_layers:
        layers = _encoder_layers(base)
        if config.freeze_layers > len(layers):
            raise ConfigError(
                f"freeze_layers is {config.freeze_layers} but the model has {len(layers)} layers"
            )
        for module in [base.embeddings, *layers[: config.freeze_layers]]:
            for param in module.parameters():
                param.requires_grad = False
    if config.freeze_word_embeddings and not config.freeze_encoder:
        try:
            words = base.get_input_embeddings()
        except NotImplementedError:
            words = None
        if words is None:
            raise ConfigError(f"freeze_word_embeddings: {type(base).__name__} has no embeddings")
        words.weight.requires_grad = False
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    logger.debug("%d trainable parameters", trainable)
    return model


def lr_multipliers(model, config: TrainConfig) -> dict[str, float]:
    """Trainable parameter name -> multiple of ``config.lr``, from ``head_lr`` and
    ``layer_lr_decay``; empty when every parameter trains at ``lr``."""
    if config.head_lr is None and config.layer_lr_decay == 1:
        return {}
    import re

    prefix = f"{model.base_model_prefix}."
    decay = config.layer_lr_decay
    depth = 0
    if decay != 1:
        try:
            depth = len(_encoder_layers(model.base_model))
        except ConfigError as exc:
            # The decay is a default; a model laid out otherwise still trains, at one lr.
            logger.warning("%s: layer_lr_decay %s not applied", exc, decay)
            decay = 1.0
    scales = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        scale = 1.0
        if not name.startswith(prefix) or ".pooler." in f".{name}":
            if config.head_lr is not None:
                scale = config.head_lr / config.lr
        elif decay != 1:
            layer = re.search(r"\.layers?\.(\d+)\.", name)
            if layer:
                scale = decay ** (depth - int(layer.group(1)))
            elif ".embeddings." in f".{name}":
                scale = decay ** (depth + 1)
        scales[name] = scale
    return scales


def regroup_optimizer(optimizer, model, multipliers: dict[str, float]):
    """The same optimizer with each parameter group split by lr multiplier.

    Trainer builds two groups (with and without weight decay) at one lr; this keeps its
    choices (kernel, betas, decay) and only gives each multiple of the lr its own group.
    """
    from collections import defaultdict

    names = {id(p): n for n, p in model.named_parameters()}
    groups = []
    for group in optimizer.param_groups:
        by_scale = defaultdict(list)
        for param in group["params"]:
            by_scale[multipliers.get(names.get(id(param)), 1.0)].append(param)
        settings = {k: v for k, v in group.items() if k != "params"}
        for scale, params in sorted(by_scale.items()):
            groups.append({**settings, "params": params, "lr": group["lr"] * scale})
    import inspect

    accepted = inspect.signature(type(optimizer)).parameters
    defaults = {k: v for k, v in optimizer.defaults.items() if k in accepted}
    return type(optimizer)(groups, **defaults)


def _encoder_layers(base) -> list:
    encoder = getattr(base, "encoder", None) or getattr(base, "transformer", None)
    layers = getattr(encoder, "layer", None)
    if layers is None:
        raise ConfigError(f"cannot find the transformer layers of {type(base).__name__}")
    return list(layers)


def callbacks(config: TrainConfig) -> list:
    from transformers import EarlyStoppingCallback

    if config.early_stopping_patience:
        return [EarlyStoppingCallback(early_stopping_patience=config.early_stopping_patience)]
    return []


def reporting_callbacks(config: TrainConfig, staging) -> list:
    """``--report-to``: Trainer's own TensorBoard or MLflow callback, on rank 0.

    Built here rather than by ``report_to=[name]`` so that TensorBoard writes inside the run
    (``RUN_DIR/tensorboard``, renamed into place with it), not into the checkpoints folder that
    is deleted at the end. MLflow follows its environment (``MLFLOW_TRACKING_URI``, ...).
    """

    if config.report_to == "none" or not distributed.is_main():
        return []
    if config.report_to == "tensorboard":
        from transformers.integrations import TensorBoardCallback

        callback = TensorBoardCallback()  # torch's SummaryWriter, else tensorboardX's
        callback.logging_dir = str(staging / "tensorboard")  # as TENSORBOARD_LOGGING_DIR sets it
        return [callback]
    from transformers.integrations import MLflowCallback

    return [MLflowCallback()]


class TweetTrainer(Trainer):
    """``Trainer`` with a class-weighted loss and the OneCycle schedule as options."""

    def __init__(
        self,
        *args,
        loss_weights=None,
        multi_label: bool = False,
        scheduler: str = "linear",
        lr_multipliers: dict[str, float] | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.lr_multipliers = lr_multipliers or {}
        self.loss_weights = loss_weights
        self.multi_label = multi_label
        self.scheduler_name = scheduler

    def _get_eval_sampler(self, eval_dataset):
        # Trainer length-groups evaluation batches too when training does, in a seeded random
        # order; predict() would then return rows shuffled against the dataset, and any score
        # computed from them against the rows' own labels would be wrong. Keep dataset order.
        if eval_dataset is not None and self.args.world_size <= 1:
            from torch.utils.data import SequentialSampler

            return SequentialSampler(eval_dataset)
        return super()._get_eval_sampler(eval_dataset)

    def create_optimizer(self, model=None):
        fresh = self.optimizer is None
        optimizer = super().create_optimizer(model)
        if fresh and self.lr_multipliers:
            self.optimizer = regroup_optimizer(
                optimizer, self.model if model is None else model, self.lr_multipliers
            )
        return self.optimizer

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        labels = inputs.get("labels")
        # Float targets in a single-label run are the soft rows' probabilities.
        soft = not self.multi_label and labels is not None and labels.is_floating_point()
        if self.loss_weights is None and not soft:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        import torch
        from torch.nn import functional

        labels = inputs.pop("labels")
        outputs = model(**inputs)
        logits = outputs.logits.float()
        weight = None
        if self.loss_weights is not None:
            weight = torch.tensor(self.loss_weights, dtype=torch.float32, device=logits.device)
        if self.multi_label:  # per-label weight of the positive term of binary cross-entropy
            loss = functional.binary_cross_entropy_with_logits(
                logits, labels.float(), pos_weight=weight
            )
        elif soft:
            loss = soft_cross_entropy(logits, labels, weight, self.args.label_smoothing_factor)
        else:
            loss = functional.cross_entropy(
                logits, labels, weight=weight, label_smoothing=self.args.label_smoothing_factor
            )
        return (loss, outputs) if return_outputs else loss

    def create_scheduler(self, num_training_steps: int, optimizer=None):
        if self.scheduler_name != "onecycle" or self.lr_scheduler is not None:
            return super().create_scheduler(num_training_steps, optimizer)
        from torch.optim.lr_scheduler import OneCycleLR

        optimizer = optimizer or self.optimizer
        warmup = self.args.get_warmup_steps(num_training_steps)
        # OneCycle as the fast.ai tutorials use it: cosine up to the peak lr over the warm-up
        # share, then cosine down to lr / 1e4; momentum cycles inversely where there is one.
        has_momentum = any(
            "betas" in group or group.get("momentum", 0) > 0 for group in optimizer.param_groups
        )
        # OneCycleLR divides by the length of each phase: each must span at least 2 steps.
        total = max(num_training_steps, 4)
        pct = min(max(warmup / total, 2 / total), 1 - 2 / total)
        self.lr_scheduler = OneCycleLR(
            optimizer,
            max_lr=[group["lr"] for group in optimizer.param_groups],
            total_steps=total,
            pct_start=pct,
            cycle_momentum=has_momentum,
        )
        self._created_lr_scheduler = True
        return self.lr_scheduler


__all__ = [
    "TweetTrainer",
    "callbacks",
    "lr_multipliers",
    "prepare_model",
    "regroup_optimizer",
    "reporting_callbacks",
    "trainer_arguments",
]
