"""Seed ensembles (``tweetsent train --ensemble K``): K members, their probabilities averaged.

Saved layout: member 1 is ``RUN_DIR/model`` itself, a plain model directory (a plain
``transformers.pipeline`` loads it, and then sees member 1 alone); members 2..K are complete
model directories under ``RUN_DIR/model/ensemble/member-N``, listed in ``model/config.json``
(``tweetsent_ensemble``). Each member keeps its own temperature (``tweetsent_temperature``).

:class:`Ensemble` runs the members and returns, in the place of logits, log(mean of the members'
temperature-scaled softmax probabilities) (multi-label: the log-odds of the mean sigmoid
probability). A softmax (sigmoid) of them, at temperature 1, is the averaged probability, so the
PyTorch engine, the ONNX export and evaluation treat an ensemble as one more classifier.
"""

from __future__ import annotations

import functools
import math
import re
from pathlib import Path

from tweetsent.errors import ModelError
from tweetsent.modeling.loading import load_classifier
from tweetsent.rundir import read_model_config

ENSEMBLE_DIR = "ensemble"
ENSEMBLE_KEY = "tweetsent_ensemble"  # in model/config.json: the other members' folders
_MEMBER_PATH = re.compile(rf"^{ENSEMBLE_DIR}/member-\d+$")  # nothing outside the model dir


def member_path(index: int) -> str:
    """Member ``index``'s folder (2..K), relative to the model directory."""
    return f"{ENSEMBLE_DIR}/member-{index}"


def _saved_config(model_dir: Path) -> dict:
    return read_model_config(model_dir)


def is_ensemble(model_dir: str | Path) -> bool:
    return bool(_saved_config(Path(model_dir)).get(ENSEMBLE_KEY))


def member_dirs(model_dir: str | Path) -> list[Path]:
    """The members' model directories, ``model_dir`` (member 1) first; ``[model_dir]`` for a
    single model. A missing or malformed member is one line naming it."""
    model_dir = Path(model_dir)
    listed = _saved_config(model_dir).get(ENSEMBLE_KEY) or []
    if not isinstance(listed, list) or not all(
        isinstance(p, str) and _MEMBER_PATH.match(p) for p in listed
    ):
        raise ModelError(
            f"{model_dir}/config.json: {ENSEMBLE_KEY} must list member folders such as "
            f"{member_path(2)!r}, got {listed!r}"
        )
    members = [model_dir, *(model_dir / p for p in listed)]
    for member in members[1:]:
        if not member.is_dir():
            raise ModelError(f"{member}: ensemble member not found (listed in {model_dir})")
    return members


def combine(logits: list, temperatures: list[float], multi_label: bool):
    """The members' logits (each ``batch x labels``) -> log of the mean probability.

    In log space (logsumexp), so no probability underflows to log(0).
    """
    import torch
    import torch.nn.functional as F  # noqa: N812 - torch's own convention

    stacked = torch.stack([x.float() for x in logits])
    if multi_label:  # logit(mean p) = log(mean p) - log(mean (1 - p)); the 1/K cancels
        positive, negative = F.logsigmoid(stacked), F.logsigmoid(-stacked)
        return torch.logsumexp(positive, 0) - torch.logsumexp(negative, 0)
    scaled = torch.stack(
        [F.log_softmax(x / t, dim=-1) for x, t in zip(stacked, temperatures, strict=True)]
    )
    return torch.logsumexp(scaled, 0) - math.log(len(logits))


@functools.cache  # one class: torch is imported only when an ensemble is loaded
def _ensemble_class():
    import torch
    from transformers.modeling_outputs import SequenceClassifierOutput

    class Ensemble(torch.nn.Module):
        """K sequence classifiers called on the same inputs; see :func:`combine`."""

        def __init__(self, members: list, temperatures: list[float | None], multi_label: bool):
            super().__init__()
            self.members = torch.nn.ModuleList(members)
            # Python floats, not a buffer: a bf16 cast of the model must not round them.
            self.temperatures = [float(t or 1.0) for t in temperatures]
            self.multi_label = multi_label
            self.config = members[0].config  # labels, vocabulary: the members share them

        def forward(self, **inputs):
            logits = [member(**inputs)[0] for member in self.members]
            return SequenceClassifierOutput(
                logits=combine(logits, self.temperatures, self.multi_label)
            )

    return Ensemble


def load_ensemble(members: list[Path], *, allow_pickle: bool = False):
    """An ``Ensemble`` of these member directories (each with its own temperature)."""

    models = [load_classifier(path, allow_pickle=allow_pickle) for path in members]
    labels = [dict(m.config.id2label) for m in models]
    for path, found in zip(members[1:], labels[1:], strict=True):
        if found != labels[0]:
            raise ModelError(f"{path}: ensemble member with other labels than {members[0]}")
    temperatures = [getattr(m.config, "tweetsent_temperature", None) for m in models]
    multi_label = models[0].config.problem_type == "multi_label_classification"
    return _ensemble_class()(models, temperatures, multi_label)


def load_run_model(model_dir: str | Path, *, allow_pickle: bool = False):
    """A run's model: the fine-tuned classifier, or the ``Ensemble`` of an ensemble run."""

    members = member_dirs(model_dir)
    if len(members) == 1:
        return load_classifier(model_dir, allow_pickle=allow_pickle)
    return load_ensemble(members, allow_pickle=allow_pickle)


def members_of(model) -> list:
    """The classifiers inside ``model``: its members, or the model itself."""
    return list(getattr(model, "members", None) or [model])


__all__ = [
    "ENSEMBLE_DIR",
    "ENSEMBLE_KEY",
    "combine",
    "is_ensemble",
    "load_ensemble",
    "load_run_model",
    "member_dirs",
    "member_path",
    "members_of",
]
