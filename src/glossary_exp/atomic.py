"""Files written whole or not at all: a temp file beside the target, flushed, fsynced, then renamed over it.

``os.replace`` is atomic only within one filesystem, so the temp file lives in the target's own
directory (Lightning's default moves one in from the system temp directory: not atomic across
filesystems, and a kill leaves it behind there, Lightning issue #19970). A temp file that a
SIGKILL left behind carries its writer's PID and host in its name; :func:`remove_stale` clears
those whose writer is gone. The host, because a run directory on shared storage is written from
compute nodes while a login node reads it (``summary``): a PID means nothing on another machine.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from glossary_exp.diskfull import with_target

# ".<target name>.<pid>@<host>.tmp", hidden from globs like "*.ckpt" and from TensorBoard; without "@<host>"
# (the name before hosts were added), from this host.
TEMP_NAME = re.compile(r"^\.(?P<target>.+)\.(?P<pid>\d+)(?:@(?P<host>[^@]+))?\.tmp$")
HOST = socket.gethostname().replace("/", "_") or "localhost"


def temp_path(path: Path) -> Path:
    # Never named like an events file: TensorBoard reads every file whose name holds "tfevents".
    return path.with_name(f".{path.name.replace('tfevents', 'tfev')}.{os.getpid()}@{HOST}.tmp")


def write_atomically(path: str | os.PathLike[str], write: Callable[[BinaryIO], object]) -> None:
    """``write(file)`` into a temp file beside ``path``, renamed over it after; a failure leaves ``path`` as it was."""
    path = Path(path)
    temp = temp_path(path)
    try:
        with open(temp, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException as err:
        temp.unlink(missing_ok=True)
        named = with_target(err, path)  # a full disk says which file it stopped
        if named is not err:
            raise named from err
        raise
    _fsync_directory(path.parent)  # the rename itself survives a power cut


def write_text_atomically(path: str | os.PathLike[str], text: str) -> None:
    write_atomically(path, lambda file: file.write(text.encode()))


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on a directory
    finally:
        os.close(fd)


def remove_stale(directory: Path) -> list[Path]:
    """Delete temp files under ``directory`` whose writer on this host is gone (killed mid-write); returns them."""
    removed = []
    for temp in Path(directory).rglob(".*.tmp"):
        match = TEMP_NAME.match(temp.name)
        if match and match["host"] in (None, HOST) and not _alive(int(match["pid"])):
            temp.unlink(missing_ok=True)
            removed.append(temp)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
