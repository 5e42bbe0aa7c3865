"""Exceptions the library raises for problems a user can fix.

Library code raises these; only the CLI turns them into a one-line message and an exit code.
"""


class TweetsentError(Exception):
    """Base class: the message is a complete, one-line explanation for the user."""


class DataError(TweetsentError):
    """A data file is missing, unreadable, or does not hold what was asked for."""


class ConfigError(TweetsentError, ValueError):
    """An option or configuration value is out of range or inconsistent."""


class ModelError(TweetsentError):
    """A model or run directory is missing, empty or corrupt."""
