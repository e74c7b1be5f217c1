"""A full disk or an exceeded quota, wherever a write meets it: recognised in one place, said in one line.

Writers report it in many shapes: ``torch.save`` as a RuntimeError from its zip writer whose
cause is the ``OSError`` (ENOSPC), TensorBoard's writer thread as a bare ``OSError`` at the next
flush, SQLite as its own error, Lightning wrapped in its own teardown. :func:`out_of_space` walks
the chain of causes for errno ENOSPC or EDQUOT; :func:`explain` says what was being written, where,
and how much space is left (a run adds its last checkpoint and how to continue). Imports only the
standard library.
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
import threading
from pathlib import Path

from glossary_exp.errors import causes

SQLITE_FULL = 13  # the primary result code of SQLite's "database or disk is full"
REASONS = {errno.ENOSPC: "the disk is full (no space left on device)", errno.EDQUOT: "the disk quota is exceeded"}


class DiskFull(BaseException):
    """A sweep's job met a full disk; the sweep stops launching jobs onto it.

    Not an ``Exception``: Hydra's launcher records those as a failed job and launches the next one,
    which would fail the same way (as Ctrl-C, it ends the sweep; the job's record says failed).
    """


def out_of_space(err: BaseException) -> OSError | None:
    """The ENOSPC or EDQUOT ``OSError`` in ``err``'s chain of causes, if any.

    SQLite (a search's study) says SQLITE_FULL instead, "database or disk is full": an ENOSPC here.
    """
    for cause in causes(err):
        if isinstance(cause, OSError) and cause.errno in REASONS:
            return cause
        if isinstance(cause, sqlite3.Error) and (getattr(cause, "sqlite_errorcode", 0) or 0) & 0xFF == SQLITE_FULL:
            return OSError(errno.ENOSPC, str(cause))
    return None


def quiet_in_threads() -> None:
    """A writer thread (TensorBoard's) that meets a full disk dies without printing its traceback.

    Its writer raises the same error in the main thread at the next write or flush, where the run
    says it in one line; other threads' errors print as before.
    """
    previous = threading.excepthook
    if getattr(previous, "quiet_on_full_disk", False):
        return

    def hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None or out_of_space(args.exc_value) is None:
            previous(args)

    hook.quiet_on_full_disk = True  # type: ignore[attr-defined]
    threading.excepthook = hook


def with_target(err: BaseException, path: Path) -> BaseException:
    """``err`` as an ``OSError`` naming ``path`` when it is a full disk that names another file or none.

    torch's writer names none; ``open`` names the hidden temp file, not the file the user knows.
    """
    full = out_of_space(err)
    if full is None or full.filename == str(path):
        return err
    return OSError(full.errno, full.strerror, str(path))


def explain(full: OSError, where: Path) -> str:
    """What happened writing what (``where`` when the error names no file), and the space left there."""
    target = Path(full.filename) if full.filename else None
    what = f"writing {target}" if target else f"writing in {where}"
    reason = REASONS.get(full.errno or errno.ENOSPC, REASONS[errno.ENOSPC])
    return f"{reason} {what}: {free_space(target or where)}"


def free_space(path: Path) -> str:
    """``2.1 MB free of 12.0 MB there`` for the filesystem holding ``path`` (its nearest existing parent)."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return "free space unknown"
    return f"{_size(usage.free)} free of {_size(usage.total)} there"


def _size(count: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if count < 1000:
            return f"{count:.0f} B" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} TB"
