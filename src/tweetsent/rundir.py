"""The run directory: the one object that knows what a run holds and where.

A run is what ``tweetsent train`` (or ``distill``, ``--cv``, ``--search``) writes::

    RUN_DIR/
      .tweetsent-run        marker: this folder was written by tweetsent (its files listed)
      model/                the fine-tuned model and tokenizer (save_pretrained), model card
      config.json           the TrainConfig the run was trained with
      inputs.json           SHA-256 of the data files it started from
      metrics.json          validation metrics, history, calibration, baseline
      report.md, *.png      the report and its plots
      onnx/, openvino/      exports (tweetsent export)

While it trains it lives in ``RUN_DIR.partial`` (with ``checkpoints/`` and, for an ensemble,
``members/``) beside a lock ``.RUN_DIR.lock``. No other module spells these names: they ask a
``RunDir``. Every guard that keeps a user's files safe from a command that writes a run (is this
folder ours, may it be replaced, may it be deleted) lives here, so every command gets it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tweetsent import fileio
from tweetsent.config import TrainConfig
from tweetsent.errors import ConfigError, ModelError

MODEL = "model"
CONFIG = "config.json"  # also the name of a saved model's own (Hugging Face) config
METRICS = "metrics.json"
INPUTS = "inputs.json"
REPORT = "report.md"
MODEL_CARD = "README.md"  # inside model/, where the Hub looks for it
ONNX = "onnx"
OPENVINO = "openvino"
CHECKPOINTS = "checkpoints"
MEMBERS = "members"
PLOTS = (
    "train_loss.png",
    "validation.png",
    "learning_rate.png",
    "confusion_matrix.png",
    "reliability.png",
)
# tweetsent adapt: an adapted backbone is a model folder (save_pretrained) holding these too;
# inside a run being trained with --adapt it is RUN_DIR.partial/adapted until fine-tuning ends.
ADAPTED = "adapted"
ADAPT_REPORT = "adapt.json"
ADAPT_CONFIG = "adapt_config.json"
ADAPT_PLOT = "adapt_loss.png"
MARKER = ".tweetsent-run"
STAGING_SUFFIX = ".partial"
STAGING_MARKER = fileio.STAGED_MARKER  # in RUN_DIR.partial: tweetsent created this folder
REPLACES = ".replaces-run"  # in RUN_DIR.partial: the run was started with --overwrite

# Everything a finished run may hold at its top level; --overwrite refuses a run holding more,
# because those are files a person put there.
_LAYOUT = {
    MARKER,
    MODEL,
    CONFIG,
    INPUTS,
    METRICS,
    REPORT,
    ONNX,
    OPENVINO,
    "tensorboard",
    "mlruns",
    *PLOTS,
}


class RunDir:
    """A run directory at ``path`` (which need not exist yet).

    Args:
        path: the run's folder; ``.`` becomes the current folder's absolute path.

    Raises:
        ConfigError: ``path`` has no usable name (``/``).
    """

    def __init__(self, path: str | Path) -> None:
        out = Path(path)
        if out.name in ("", ".", ".."):
            out = Path(os.path.abspath(path))
        if not out.name:
            raise ConfigError(f"{path}: needs a directory name (e.g. runs/NAME)")
        self.path = out

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __fspath__(self) -> str:
        return str(self.path)

    # -- where things are --------------------------------------------------------------------
    @property
    def model(self) -> Path:
        return self.path / MODEL

    @property
    def config_file(self) -> Path:
        return self.path / CONFIG

    @property
    def metrics_file(self) -> Path:
        return self.path / METRICS

    @property
    def inputs_file(self) -> Path:
        return self.path / INPUTS

    @property
    def report(self) -> Path:
        return self.path / REPORT

    @property
    def model_card(self) -> Path:
        return self.model / MODEL_CARD

    @property
    def checkpoints(self) -> Path:
        return self.path / CHECKPOINTS

    @property
    def members(self) -> Path:
        return self.path / MEMBERS

    @property
    def adapted(self) -> Path:
        """The backbone a ``--adapt`` run adapted, while the run is staged."""
        return self.path / ADAPTED

    @property
    def adapt_report(self) -> Path:
        """An adapted backbone's report (this folder being one: ``tweetsent adapt --out``)."""
        return self.path / ADAPT_REPORT

    @property
    def adapt_card(self) -> Path:
        """An adapted backbone's model card (the folder is the model)."""
        return self.path / MODEL_CARD

    @property
    def adapt_config_file(self) -> Path:
        return self.path / ADAPT_CONFIG

    @property
    def adapt_plot(self) -> Path:
        return self.path / ADAPT_PLOT

    def plot(self, name: str) -> Path:
        if name not in PLOTS:
            raise ValueError(f"unknown plot {name!r}")
        return self.path / name

    @property
    def staging(self) -> RunDir:
        """Where this run is built (``RUN_DIR.partial``); every rank derives the same path."""
        return RunDir(self.path.with_name(self.path.name + STAGING_SUFFIX))

    @property
    def lock_file(self) -> Path:
        return self.path.with_name(f".{self.path.name}.lock")

    # -- what it is --------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.path.exists()

    def is_run(self) -> bool:
        """A finished run: a model folder and its metrics (written by any tweetsent version)."""
        return self.model.is_dir() and self.metrics_file.is_file()

    def is_ours(self) -> bool:
        """Written by this tweetsent (its marker is there), not only shaped like a run."""
        return (self.path / MARKER).is_file()

    def has_config(self) -> bool:
        return self.model.is_dir() and self.config_file.is_file()

    def foreign_entries(self) -> list[str]:
        """Top-level names a run never writes: files a person put into the folder."""
        if not self.path.is_dir():
            return []
        return sorted(p.name for p in self.path.iterdir() if p.name not in _LAYOUT)

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """The finished run at ``path`` (``RUN_DIR`` or ``RUN_DIR/model``).

        Raises:
            ModelError: ``path`` is missing or is not a run directory.
        """
        run = cls(path)
        if run.path.name == MODEL and cls(run.path.parent).is_run():
            return cls(run.path.parent)
        if not run.path.exists():
            raise ModelError(f"{path}: not a tweetsent run directory (not found)")
        if not run.is_run():
            raise ModelError(
                f"{path}: not a tweetsent run directory (no {MODEL}/ and {METRICS}); "
                "train one with 'tweetsent train'"
            )
        return run

    @classmethod
    def of_model(cls, path: str | Path) -> RunDir | None:
        """The run a model path belongs to (``RUN_DIR`` or ``RUN_DIR/model``), or None for a
        bare saved model directory."""
        path = Path(path)
        if (path / MODEL).is_dir():
            return cls(path)
        if path.name == MODEL and (path.parent / METRICS).is_file():
            return cls(path.parent)
        return None

    # -- reading -----------------------------------------------------------------------------
    def read_config(self) -> TrainConfig | None:
        """The run's TrainConfig, or None when it has none (a bare model directory)."""
        return TrainConfig.load(self.config_file) if self.config_file.is_file() else None

    def read_metrics(self) -> dict:
        return _read_json(self.metrics_file)

    def read_inputs(self) -> dict:
        """SHA-256 per data file the run started from ({} for a run that recorded none)."""
        try:
            return _read_json(self.inputs_file)
        except (OSError, ValueError):
            return {}

    # -- writing -----------------------------------------------------------------------------
    def write_config(self, config: TrainConfig) -> None:
        config.save(self.config_file)

    def write_metrics(self, metrics: dict) -> None:
        fileio.write_json(self.metrics_file, metrics)

    def write_inputs(self, digests: dict) -> None:
        fileio.write_json(self.inputs_file, digests)

    def mark(self) -> None:
        """Mark the folder as a run tweetsent wrote (what --overwrite later checks for)."""
        names = sorted(p.name for p in self.path.iterdir() if p.name != MARKER)
        fileio.write_json(self.path / MARKER, {"files": names})

    def start_staging(self) -> None:
        """Create this (staging) folder fresh, marked as tweetsent's own."""
        self.path.mkdir(parents=True)
        (self.path / STAGING_MARKER).touch()

    def is_our_staging(self) -> bool:
        return (self.path / STAGING_MARKER).is_file()

    # -- guards ------------------------------------------------------------------------------
    def check_new_or_replaceable(self, *, overwrite: bool, what: str = "run directory") -> None:
        """``path`` may be created, or replaced with ``overwrite`` when it is one of our runs.

        Raises:
            ConfigError: it exists and ``overwrite`` is not given, or it is not a run tweetsent
                wrote, or it holds files a run never holds (they would be deleted).
        """
        fileio.check_output_dir(self.path, overwrite=overwrite, markers=(MODEL, METRICS), what=what)
        if not (overwrite and self.is_run()):
            return
        if not self.is_ours():
            raise ConfigError(
                f"{self.path}: looks like a run but has no {MARKER} marker, so it was not written "
                "by tweetsent (or by a version before 0.2); remove it yourself or choose "
                "another --out"
            )
        foreign = self.foreign_entries()
        if foreign:
            raise ConfigError(
                f"{self.path}: holds files a run does not ({', '.join(foreign[:3])}"
                f"{', ...' if len(foreign) > 3 else ''}); --overwrite would delete them: "
                "move them out or choose another --out"
            )

    def check_staging_is_ours(self) -> None:
        """Refuse to delete an existing ``RUN_DIR.partial`` that tweetsent did not create.

        Raises:
            ConfigError: the folder exists without tweetsent's marker.
        """
        if self.path.exists() and not self.is_our_staging():
            raise ConfigError(
                f"{self.path}: exists and was not created by tweetsent, which builds a run there "
                "before renaming it; move or rename that folder, or choose another --out"
            )

    def check_holds_none_of(self, paths) -> None:
        """Refuse a run directory (or its staging folder) that holds one of ``paths``:
        replacing it would delete that file. Compared after resolving symbolic links.

        Raises:
            ConfigError: one of ``paths`` lies inside the run directory or its staging folder.
        """
        homes = {self.path.resolve(), self.staging.path.resolve()}
        for path in paths:
            if path and homes & set(Path(path).resolve().parents):
                raise ConfigError(f"{self.path}: holds the data file {path}; choose another --out")

    def check_apart_from(self, source: RunDir) -> None:
        """Refuse writing this run where it would replace the run ``source`` it is made from
        (the same folder, one inside the other).

        Raises:
            ConfigError: the two folders overlap.
        """
        mine, theirs = self.path.resolve(), source.path.resolve()
        if mine == theirs or theirs in mine.parents or mine in theirs.parents:
            raise ConfigError(
                f"{self.path}: is (or overlaps) the run {source.path} it is made from, which "
                "writing it would replace; choose another --out"
            )

    def check_inputs_unchanged(self, config: TrainConfig) -> None:
        """Refuse repeating this run (``--config RUN/config.json``) on data files whose bytes
        differ from what it trained on: the same name would silently mean other data.

        Raises:
            ConfigError: a data file the config names changed since the run.
        """
        digests = self.read_inputs()
        for path in (config.data_path, config.val_file):
            if not path or str(path) not in digests or not Path(path).exists():
                continue
            if fileio.content_digest(path) != digests[str(path)]:
                raise ConfigError(
                    f"{path}: differs from the file {self.path} was trained on (its SHA-256 in "
                    f"{INPUTS}); name the data file to train on it as it is now"
                )

    def lock(self, busy: str | None = None) -> fileio.Lock:
        """The run's lock (``.RUN_DIR.lock``), held by one process that writes the run.

        Args:
            busy: the error message when another process holds it.
        """
        message = busy or (
            f"{self.path}: another tweetsent process is writing it; wait for it to finish or "
            "stop it first"
        )
        return fileio.Lock(self.lock_file, ConfigError(message))


def model_folder(path: str | Path) -> Path:
    """The saved model of ``path``: ``RUN_DIR/model`` for a run, else ``path`` itself (a bare
    saved model directory, an export folder)."""
    path = Path(path)
    return path / MODEL if (path / MODEL).is_dir() else path


def model_config_file(model_dir: str | Path) -> Path:
    """A saved model's own (Hugging Face) ``config.json``."""
    return Path(model_dir) / CONFIG


def read_model_config(model_dir: str | Path) -> dict:
    """A saved model's ``config.json`` as a dict; {} when it is missing or unreadable."""
    try:
        saved = _read_json(model_config_file(model_dir))
    except (OSError, ValueError):
        return {}
    return saved if isinstance(saved, dict) else {}


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


__all__ = [
    "RunDir",
    "model_config_file",
    "model_folder",
    "read_model_config",
]
