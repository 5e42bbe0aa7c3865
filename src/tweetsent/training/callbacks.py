"""Trainer callbacks: what Trainer's log lacks for metrics.json, epoch seeds, step checkpoints,
and epoch/batch progress bars."""

from __future__ import annotations

import logging
import sys
import time

from transformers import TrainerCallback

logger = logging.getLogger(__name__)


class TrainingLog(TrainerCallback):
    """Adds to Trainer's own log (``state.log_history``) the little it does not record.

    Each step's entry gets the optimizer's distinct learning rates (``group_lrs``; Trainer logs
    only the first group's), each evaluation's entry the seconds its epoch took, and every entry
    the training seconds so far (``elapsed_seconds``). The log travels in each checkpoint's
    ``trainer_state.json``, so a resumed run's history and clock continue where they stopped;
    :func:`history` turns it into metrics.json's ``history`` and ``train_steps``.
    """

    def __init__(self) -> None:
        # The optimizer's distinct learning rates ({"name", "lr"}: the configured peak), highest
        # first, and for each one the index of a param group that trains at it.
        self.lr_groups: list[dict] = []
        self._group_index: list[int] = []
        self.seconds_before_resume = 0.0  # training time recorded in the resumed checkpoint
        self._session_started = self._epoch_started = time.perf_counter()

    def on_train_begin(self, args, state, control, model=None, optimizer=None, **kwargs):
        self._session_started = time.perf_counter()
        timed = [e["elapsed_seconds"] for e in state.log_history if "elapsed_seconds" in e]
        self.seconds_before_resume = timed[-1] if timed else 0.0
        if model is not None and optimizer is not None:
            self.lr_groups, self._group_index = lr_groups(model, optimizer)

    def on_epoch_begin(self, args, state, control, **kwargs):
        self._epoch_started = time.perf_counter()

    def seconds(self) -> float:
        """Training seconds so far, the sessions before the last resume included."""
        return self.seconds_before_resume + time.perf_counter() - self._session_started

    def on_log(self, args, state, control, optimizer=None, **kwargs):
        entry = state.log_history[-1]  # what Trainer.log appended just before calling this
        entry["elapsed_seconds"] = round(self.seconds(), 3)
        if "loss" in entry and optimizer is not None and self._group_index:
            # Each distinct rate at the same moment as Trainer's learning_rate.
            entry["group_lrs"] = [float(optimizer.param_groups[i]["lr"]) for i in self._group_index]
        if "eval_loss" in entry:
            entry["epoch_seconds"] = round(time.perf_counter() - self._epoch_started, 3)

    def on_evaluate(self, args, state, control, **kwargs):
        epochs, _ = history(state.log_history)
        if not epochs:
            return
        last = epochs[-1]
        # The scores this run has: multi-label runs have no MCC (no "nan" column), and a
        # single-label run's micro F1 is its accuracy.
        single = last.get("mcc") is not None and last["mcc"] == last["mcc"]
        names = ("accuracy", "f1_weighted", "f1_macro", *(() if single else ("f1_micro",)), "mcc")
        scores = "  ".join(
            f"{name} {last[name]:.4f}"
            for name in names
            if last.get(name) is not None and last[name] == last[name]
        )
        logger.info(
            "epoch %d/%d  train_loss %.4f  val_loss %.4f  %s  (%.1fs)",
            last["epoch"],
            int(args.num_train_epochs),
            last["train_loss"] or float("nan"),
            last["val_loss"],
            scores,
            last["seconds"] or float("nan"),
        )


EPOCH_METRICS = ("accuracy", "f1_weighted", "f1_macro", "f1_micro", "mcc")


def history(log_history: list[dict]) -> tuple[list[dict], list[dict]]:
    """metrics.json's per-epoch ``history`` and per-step ``train_steps`` from Trainer's log.

    An epoch's train loss is the mean of the step losses logged since the previous evaluation.
    """
    epochs: list[dict] = []
    steps: list[dict] = []
    losses: list[float] = []
    for entry in log_history:
        if "loss" in entry and "eval_loss" not in entry:
            step = {
                "step": entry["step"],
                "epoch": round(float(entry.get("epoch") or 0), 4),
                "loss": float(entry["loss"]),
                # Trainer's: the first param group's (with layer-wise rates, the lowest one's)
                "learning_rate": float(entry.get("learning_rate", 0.0)),
            }
            if "group_lrs" in entry:
                step["group_lrs"] = entry["group_lrs"]
            steps.append(step)
            losses.append(step["loss"])
        elif "eval_loss" in entry:
            epoch = round(float(entry.get("epoch") or 0))
            if epochs and epochs[-1]["epoch"] == epoch:
                continue  # a second evaluation of the same epoch
            epochs.append(_epoch_entry(entry, epoch, losses, steps))
            losses = []
    return epochs, steps


def _epoch_entry(entry: dict, epoch: int, losses: list[float], steps: list[dict]) -> dict:
    result = {
        "epoch": epoch,
        "train_loss": sum(losses) / len(losses) if losses else None,
        "val_loss": float(entry["eval_loss"]),
    }
    for name in EPOCH_METRICS:
        if f"eval_{name}" in entry:
            result[name] = float(entry[f"eval_{name}"])
    result["learning_rate"] = steps[-1]["learning_rate"] if steps else None
    result["seconds"] = entry.get("epoch_seconds")
    return result


class StepCheckpoints(TrainerCallback):
    """A checkpoint every ``every`` optimizer steps, between the per-epoch ones.

    Trainer cannot combine ``save_strategy="steps"`` with per-epoch evaluation and
    ``load_best_model_at_end``, so saving stays per epoch and this asks for the extra saves.
    Rotation (``save_total_limit``) still keeps the best epoch's checkpoint.
    """

    def __init__(self, every: int) -> None:
        self.every = every

    def on_step_end(self, args, state, control, **kwargs):
        per_epoch = max(state.max_steps // max(int(args.num_train_epochs), 1), 1)
        # The last step of an epoch gets the evaluated epoch checkpoint right after; saving it
        # here too would let a kill between the two resume past an unevaluated epoch.
        if state.global_step % self.every == 0 and state.global_step % per_epoch != 0:
            control.should_save = True
        return control


class EpochSeed(TrainerCallback):
    """Make each epoch's shuffle a function of (seed, epoch) only.

    With ``group_by_length`` Trainer's sampler shuffles with the global torch RNG at the start
    of each epoch. After a mid-epoch resume that RNG is in a different state (model loading
    used it; Trainer restores the checkpoint's RNG only after the first batch), so the rest of
    the epoch would see other batches than the uninterrupted run. Reseeding at each epoch's
    start, and after each epoch's evaluation (just before its checkpoint records the RNG
    state, which a resume at that epoch boundary restores), gives both runs the same order
    and the same dropout masks.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def _reseed(self, epoch: int) -> None:
        import numpy as np
        import torch

        torch.manual_seed(int(np.random.SeedSequence([self.seed, epoch]).generate_state(1)[0]))

    def on_epoch_begin(self, args, state, control, **kwargs):
        self._reseed(int(state.epoch or 0))

    def on_evaluate(self, args, state, control, **kwargs):
        self._reseed(round(state.epoch or 0))


def lr_groups(model, optimizer) -> tuple[list[dict], list[int]]:
    """The optimizer's distinct configured rates, named by the parameters that train at them.

    Layer-wise rates make one group per encoder layer (and Trainer splits each by weight
    decay); a plot of Trainer's single logged rate shows only the first, the embeddings'.
    """
    import re

    names = {id(p): n for n, p in model.named_parameters()}
    prefix = f"{getattr(model, 'base_model_prefix', '')}."
    by_rate: dict[float, tuple[set, int]] = {}
    for index, group in enumerate(optimizer.param_groups):
        rate = float(group.get("initial_lr", group.get("max_lr", group["lr"])))
        parts, _ = by_rate.setdefault(rate, (set(), index))
        for param in group["params"]:
            name = names.get(id(param), "")
            layer = re.search(r"\.layers?\.(\d+)\.", name)
            if not name.startswith(prefix) or ".pooler." in f".{name}":
                parts.add("head")
            elif layer:
                parts.add(f"layer {int(layer.group(1)) + 1}")
            elif ".embeddings." in f".{name}":
                parts.add("embeddings")
            else:
                parts.add("other")
    order = sorted(by_rate, reverse=True)
    groups = [{"name": _describe(by_rate[r][0]), "lr": r} for r in order]
    return groups, [by_rate[r][1] for r in order]


def _describe(parts: set) -> str:
    """``{"head", "layer 5", "layer 6"}`` -> ``"head + layers 5-6"``."""
    layers = sorted(int(p.split()[1]) for p in parts if p.startswith("layer "))
    words = [p for p in ("head", "embeddings", "other") if p in parts]
    if layers:
        if len(layers) == 1:
            words.insert(1 if "head" in words else 0, f"layer {layers[0]}")
        else:
            words.insert(1 if "head" in words else 0, f"layers {layers[0]}-{layers[-1]}")
    if {"head", "embeddings"} <= set(words) and layers:
        return "all parameters"
    return " + ".join(words)


class TqdmProgress(TrainerCallback):
    """An epoch bar with a batch bar beneath it (Trainer's own shows only one bar of steps)."""

    def __init__(self, enabled: bool = True) -> None:
        # Bars only on a terminal: in a log file or a pipe they are thousands of \r lines.
        self.enabled = enabled and sys.stderr.isatty()
        self.epoch_bar = None
        self.batch_bar = None
        self._redirect = None

    def on_train_begin(self, args, state, control, **kwargs):
        if self.enabled:
            from tqdm.auto import tqdm
            from tqdm.contrib.logging import logging_redirect_tqdm

            # Log lines (the epoch summaries) go above the bars instead of onto them.
            self._redirect = logging_redirect_tqdm([logging.getLogger("tweetsent")])
            self._redirect.__enter__()

            self.epoch_bar = tqdm(
                total=int(args.num_train_epochs),
                desc="epochs",
                unit="epoch",
                initial=int(state.epoch or 0),
            )

    def on_epoch_begin(self, args, state, control, **kwargs):
        if self.enabled:
            from tqdm.auto import tqdm

            per_epoch = max(state.max_steps // max(int(args.num_train_epochs), 1), 1)
            done = float(state.epoch or 0) % 1  # above 0 when resuming in mid-epoch
            self.batch_bar = tqdm(
                total=per_epoch,
                initial=round(done * per_epoch),
                desc=f"epoch {int(state.epoch or 0) + 1}",
                unit="batch",
                leave=False,
            )

    def on_step_end(self, args, state, control, **kwargs):
        if self.batch_bar is not None:
            self.batch_bar.update(1)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.batch_bar is not None and logs and "loss" in logs:
            self.batch_bar.set_postfix(loss=f"{float(logs['loss']):.4f}", refresh=False)

    def on_epoch_end(self, args, state, control, **kwargs):
        if self.batch_bar is not None:
            self.batch_bar.close()
            self.batch_bar = None
        if self.epoch_bar is not None:
            self.epoch_bar.update(1)

    def on_train_end(self, args, state, control, **kwargs):
        for bar in (self.batch_bar, self.epoch_bar):
            if bar is not None:
                bar.close()
        self.batch_bar = self.epoch_bar = None
        if self._redirect is not None:
            self._redirect.__exit__(None, None, None)
            self._redirect = None
