"""Trainer callbacks: per-epoch history for metrics.json, and epoch/batch progress bars."""

from __future__ import annotations

import logging
import time

from transformers import TrainerCallback
from transformers.trainer_callback import ExportableState

logger = logging.getLogger(__name__)


class EpochHistory(TrainerCallback, ExportableState):
    """Collects step losses and one history entry per evaluated epoch.

    An ``ExportableState``: Trainer stores ``state()`` in each checkpoint and, on resume, puts
    a restored copy in place of this callback, so a resumed run's history is whole. Find the
    live instance with :func:`current_history` after training.
    """

    def __init__(self) -> None:
        self.steps: list[dict] = []
        self.epochs: list[dict] = []
        self._epoch_losses: list[float] = []
        self._epoch_started = time.perf_counter()
        self.seconds_before_resume = 0.0  # training time spent before the last resume
        self._session_started = time.perf_counter()

    def state(self) -> dict:
        return {
            "args": {},
            "attributes": {
                "steps": self.steps,
                "epochs": self.epochs,
                "_epoch_losses": self._epoch_losses,
                "seconds_before_resume": self.seconds_before_resume
                + time.perf_counter()
                - self._session_started,
            },
        }

    def on_train_begin(self, args, state, control, **kwargs):
        self._session_started = time.perf_counter()

    def on_epoch_begin(self, args, state, control, **kwargs):
        if float(state.epoch or 0).is_integer():  # not when resuming in the middle of an epoch
            self._epoch_losses = []
        self._epoch_started = time.perf_counter()

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        if "loss" in logs and "eval_loss" not in logs:
            self._epoch_losses.append(float(logs["loss"]))
            self.steps.append(
                {
                    "step": state.global_step,
                    "epoch": round(float(state.epoch or 0), 4),
                    "loss": float(logs["loss"]),
                    "learning_rate": float(logs.get("learning_rate", 0.0)),
                }
            )

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        metrics = metrics or {}
        epoch = round(float(state.epoch or 0))
        if self.epochs and self.epochs[-1]["epoch"] == epoch:
            return  # a second evaluation of the same epoch (e.g. the final predict)
        entry = {
            "epoch": epoch,
            "train_loss": (
                sum(self._epoch_losses) / len(self._epoch_losses) if self._epoch_losses else None
            ),
            "val_loss": float(metrics.get("eval_loss", float("nan"))),
        }
        for key, value in metrics.items():
            name = key.removeprefix("eval_")
            if name in {"accuracy", "f1_weighted", "f1_macro", "f1_micro", "mcc"}:
                entry[name] = float(value)
        entry["learning_rate"] = self.steps[-1]["learning_rate"] if self.steps else None
        entry["seconds"] = round(time.perf_counter() - self._epoch_started, 3)
        self.epochs.append(entry)
        logger.info(
            "epoch %d/%d  train_loss %.4f  val_loss %.4f  accuracy %.4f  f1_weighted %.4f  "
            "f1_macro %.4f  mcc %.4f  (%.1fs)",
            epoch,
            int(args.num_train_epochs),
            entry["train_loss"] or float("nan"),
            entry["val_loss"],
            entry.get("accuracy", float("nan")),
            entry.get("f1_weighted", float("nan")),
            entry.get("f1_macro", float("nan")),
            entry.get("mcc", float("nan")),
            entry["seconds"],
        )


def current_history(trainer) -> EpochHistory:
    """The trainer's EpochHistory (a new object if Trainer restored it from a checkpoint)."""
    return next(cb for cb in trainer.callback_handler.callbacks if isinstance(cb, EpochHistory))


class TqdmProgress(TrainerCallback):
    """An epoch bar with a batch bar beneath it (Trainer's own shows only one bar of steps)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.epoch_bar = None
        self.batch_bar = None

    def on_train_begin(self, args, state, control, **kwargs):
        if self.enabled:
            from tqdm.auto import tqdm

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
