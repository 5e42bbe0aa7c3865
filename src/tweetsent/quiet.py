"""Keep other libraries' chatter out of tweetsent's output unless asked for (``-v``).

transformers draws a bar for every weight load and save and prints a LOAD REPORT for the
classification head it is told to create; onnxruntime's quantizer logs advice through the root
logger (which makes Python print ``WARNING:root:...``). Around tweetsent's own calls none of it
is actionable, so it is switched off there, and restored afterwards: a program that imports
tweetsent keeps its own settings for its own calls.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from contextlib import contextmanager


def verbose() -> bool:
    """Whether the user asked for details: tweetsent's logger at DEBUG (``tweetsent -v``)."""
    return logging.getLogger("tweetsent").isEnabledFor(logging.DEBUG)


@contextmanager
def third_party_quiet():
    """transformers at error level, no bars, no third-party warnings or root-logger lines."""
    if verbose():
        yield
        return
    hf = sys.modules.get("transformers.utils.logging")
    saved_level = hf.get_verbosity() if hf else None
    saved_bars = hf.is_progress_bar_enabled() if hf else None
    root = logging.getLogger()
    saved_root = root.level
    if hf is not None:
        hf.set_verbosity_error()
        hf.disable_progress_bar()
    root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(saved_root)
        if hf is not None:
            hf.set_verbosity(saved_level)
            if saved_bars:
                hf.enable_progress_bar()


@contextmanager
def our_details_quiet(*names: str):
    """tweetsent's own loggers ``names`` (e.g. ``tweetsent.data``) at warning level: their
    info lines describe a step the user did not ask for (export reading the run's training
    data to calibrate on), so they show only with ``-v``."""
    if verbose():
        yield
        return
    loggers = [logging.getLogger(name) for name in names]
    saved = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for log, level in zip(loggers, saved, strict=True):
            log.setLevel(level)


def quiet_command_line(verbose: bool) -> None:
    """For the ``tweetsent`` process: the same silence for the whole run, set before imports.

    Environment variables, because transformers and huggingface_hub read them when imported,
    and they are not imported yet (start-up stays fast).
    """
    if verbose:
        return
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    warnings.simplefilter("ignore")
    root = logging.getLogger()
    # A handler on the root logger keeps logging.warning() from installing a stderr one.
    root.addHandler(logging.NullHandler())
    root.setLevel(logging.ERROR)
    hf = sys.modules.get("transformers.utils.logging")
    if hf is not None:  # imported already (in-process use, tests)
        hf.set_verbosity_error()
        hf.disable_progress_bar()
