"""Errors caused by what the user asked for. The CLI prints them as one line, without a traceback."""

from __future__ import annotations


class UsageError(Exception):
    """Base: the message alone tells the user what to change."""


class ConfigError(UsageError, ValueError):
    """A config value that cannot work; the message names the key and what is allowed."""


class UnknownPluginError(UsageError, KeyError):
    """A model or data name that no built-in or installed plugin registered."""

    def __str__(self) -> str:
        return str(self.args[0])


class DataError(UsageError):
    """Data that is missing, unreadable or corrupt; the message says what is expected where."""


class CheckpointError(UsageError):
    """A checkpoint that is missing, unreadable or does not fit the model."""


class NonFiniteLossError(UsageError, RuntimeError):
    """The training loss became NaN or infinite."""
