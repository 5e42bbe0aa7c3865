"""Multi-process data-parallel training (PyTorch DDP) as launched by ``torchrun``.

``transformers.Trainer`` (through accelerate) does the distributed work: DDP wrapping, sharded
data loading, gathering predictions for evaluation. This module only decides who writes the run
directory (global rank 0) and keeps the other ranks in step with it, so that no two processes
race on ``RUN_DIR.partial`` and a failure on rank 0 stops every rank with the same message
instead of leaving them waiting at a barrier.

Single-process runs (no ``WORLD_SIZE`` in the environment) take none of these paths.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TypeVar

from tweetsent.errors import TweetsentError

logger = logging.getLogger(__name__)

T = TypeVar("T")


class PeerFailed(TweetsentError):
    """Raised on ranks other than 0 when rank 0 failed; rank 0 has already reported the error."""

    quiet = True  # the CLI prints nothing more for it: one message per failure, from rank 0


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """The global rank (0 on a single process); torchrun sets ``RANK``."""
    return int(os.environ.get("RANK", "0"))


def is_distributed() -> bool:
    return world_size() > 1


def is_main() -> bool:
    return rank() == 0


def backend(cpu: bool) -> str | None:
    """gloo for CPU processes, NCCL for GPUs; None on a single process."""
    if not is_distributed():
        return None
    return "gloo" if cpu else "nccl"


def init(cpu: bool) -> None:
    """Join the process group before any rank touches the file system.

    accelerate's ``PartialState`` sets each GPU rank's device and initialises the group;
    ``TrainingArguments`` later finds the group already up and reuses it.
    """
    if not is_distributed():
        return
    from accelerate import PartialState

    PartialState(cpu=cpu, backend=backend(cpu))
    logger.debug("rank %d of %d joined the process group", rank(), world_size())


def _group_ready() -> bool:
    if not is_distributed():
        return False
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def on_main(work: Callable[[], T]) -> T:
    """Run ``work`` on rank 0 only and hand its (picklable) result to every rank.

    The other ranks wait meanwhile, so nothing they do can race with rank 0's files. Rank 0's
    failure is broadcast too: the other ranks raise :class:`PeerFailed` with the same message
    instead of hanging at the next collective call.
    """
    if not _group_ready():
        return work()
    import torch.distributed as dist

    if is_main():
        try:
            result = work()
        except BaseException as exc:
            dist.broadcast_object_list([_describe(exc), None], src=0)
            raise
        dist.broadcast_object_list([None, result], src=0)
        return result
    message: list = [None, None]
    dist.broadcast_object_list(message, src=0)
    if message[0] is not None:
        raise PeerFailed(message[0])
    return message[1]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TweetsentError):
        return str(exc)
    return f"rank 0 failed: {type(exc).__name__}: {exc}".strip()


def mark_mean_loss(model) -> None:
    """Tell Trainer the model's loss is already a batch mean.

    Sequence classifiers (BERT and kin) return a mean cross-entropy and ignore Trainer's
    ``num_items_in_batch``, yet their ``forward(**kwargs)`` makes Trainer assume otherwise and
    multiply the loss by the number of processes: under DDP on 2 ranks the logged training and
    validation losses, and the gradients, came out twice as large. With the flag off Trainer
    treats the loss as the mean it is (no change on a single process).
    """
    model.accepts_loss_kwargs = False


def shutdown(*, finished: bool) -> None:
    """Leave the process group before the interpreter exits.

    A finished run first frees what still holds the group (the DDP-wrapped model lives on in
    Trainer's reference cycles) and waits for every rank: a gloo group torn down by interpreter
    finalization while a peer still talks to it aborted rank 0 ("terminate called without an
    active exception") in about 1 of 12 loaded torchrun runs. After a failure there is no
    barrier: a peer may be stuck in a collective, and torchrun stops it once this rank exits.
    """
    if not _group_ready():
        return
    import gc

    import torch.distributed as dist

    if finished:
        gc.collect()
        dist.barrier()
    dist.destroy_process_group()


def quiet_other_ranks() -> None:
    """Only rank 0 logs progress; other ranks keep errors only."""
    if not is_main():
        logging.getLogger("tweetsent").setLevel(logging.ERROR)


__all__ = [
    "PeerFailed",
    "backend",
    "init",
    "is_distributed",
    "is_main",
    "mark_mean_loss",
    "on_main",
    "quiet_other_ranks",
    "rank",
    "shutdown",
    "world_size",
]
