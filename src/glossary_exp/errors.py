"""Errors caused by what the user asked for. The CLI prints them as one line, without a traceback."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator


class UsageError(Exception):
    """Base: the message alone tells the user what to change."""


class ConfigError(UsageError, ValueError):
    """A config value that cannot work; the message names the key and what is allowed.

    ``key``: the dotted key at fault, where one is, so the file that set it can be named (origin.py).
    """

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


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


def causes(err: BaseException) -> Iterator[BaseException]:
    """``err``, then what it was raised from or while handling, and so on (each once)."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        yield err
        err = err.__cause__ or err.__context__  # type: ignore[assignment]


def nearest(word: str, choices: Iterable[str], prefix: str = "") -> str:
    """`` (did you mean <prefix>.<choice>?)`` for the choice closest to a misspelled ``word``, else ``""``."""
    match = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {prefix + '.' if prefix else ''}{match[0]}?)" if match else ""


# Set by the CLI to what the user asked for with HYDRA_FULL_ERROR=1 (the CLI itself sets that to
# have Hydra's own errors raised to it), and inherited by jobs in other processes.
TRACEBACK_ENV = "GLOSSARY_EXP_FULL_ERROR"


def full_traceback() -> bool:
    """Whether the user asked for full tracebacks (``HYDRA_FULL_ERROR=1``) instead of one-line errors."""
    import os

    return os.environ.get(TRACEBACK_ENV, os.environ.get("HYDRA_FULL_ERROR", "0")) == "1"


def printable(text: str) -> str:
    """``text`` with every control character shown as ``?``: nothing read from a file or typed moves the terminal."""
    return "".join(ch if ch.isprintable() else "?" for ch in str(text))


def listing(items: Iterable[str], limit: int = 12) -> str:
    """``a, b, c`` for a message; past ``limit`` items, the first ones and how many more."""
    items = [str(item) for item in items]
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")
