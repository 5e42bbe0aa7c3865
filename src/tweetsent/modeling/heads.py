"""Heads other than the encoder's own linear layer: built for training, rebuilt on load."""

from __future__ import annotations

from pathlib import Path

from tweetsent.errors import ConfigError


def attach_mlp_head(model) -> None:
    """Replace the linear ``classifier`` by Linear-GELU-Dropout-Linear; marked in the config."""
    from torch import nn

    head = getattr(model, "classifier", None)
    if not isinstance(head, nn.Linear):
        raise ConfigError(
            f"--head mlp needs a model whose classifier is one linear layer "
            f"({type(model).__name__} has {type(head).__name__})"
        )
    hidden, labels = head.in_features, head.out_features
    model.classifier = nn.Sequential(
        nn.Linear(hidden, hidden), nn.GELU(), nn.Dropout(0.1), nn.Linear(hidden, labels)
    )
    model.config.tweetsent_head = "mlp"  # tells restore_mlp_head how to rebuild it


def restore_mlp_head(model, path: Path) -> None:
    """Rebuild the MLP head ``--head mlp`` trained and load its weights from the checkpoint."""
    from safetensors.torch import load_file

    attach_mlp_head(model)
    state = load_file(str(path / "model.safetensors"))
    head = {
        k.removeprefix("classifier."): v for k, v in state.items() if k.startswith("classifier.")
    }
    model.classifier.load_state_dict(head)


__all__ = ["attach_mlp_head", "restore_mlp_head"]
