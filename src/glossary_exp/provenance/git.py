"""The state of one git checkout: commit, branch, dirty, the uncommitted change as a patch, untracked names.

Every git call shares one deadline, so a huge repository or a hung filesystem never holds a run up;
what could not be found is recorded with the reason. ``GIT_OPTIONAL_LOCKS=0`` keeps ``git status``
from taking the index lock, which a second run in the same checkout (or the user's own git) holds.
"""

from __future__ import annotations

import os
import select
import subprocess
import time
from pathlib import Path
from typing import Any

PATCH_LIMIT = 1_000_000  # bytes of `git diff HEAD` kept; the rest is counted
UNTRACKED_LIMIT = 100  # untracked names kept; the rest are counted


class GitUnavailable(Exception):
    """git could not answer: not installed, not a repository, timed out, or refused."""


def checkout_state(path: Path, deadline: float, exclude: tuple[Path, ...] = (),
                   with_patch: bool = True) -> dict[str, Any]:
    """The checkout ``path`` is in, as a JSON-ready dict; ``{"error": why}`` where git could not say.

    ``exclude``: directories whose untracked files are the runs' own output, not the user's code.
    ``with_patch``: false keeps the uncommitted change out (it holds the changed files' lines verbatim).
    """
    try:
        root = Path(_git(["rev-parse", "--show-toplevel"], path, deadline).strip())
    except GitUnavailable as why:
        return {"path": str(path), "error": str(why)}
    state: dict[str, Any] = {"path": str(root)}
    try:
        state["commit"] = _git(["rev-parse", "--verify", "-q", "HEAD"], root, deadline).strip() or None
        branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], root, deadline).strip() if state["commit"] else None
        state["branch"] = branch
        changed, untracked = _status(root, deadline, exclude)
        state["dirty"] = bool(changed)
        state["untracked"] = untracked[:UNTRACKED_LIMIT]
        if len(untracked) > UNTRACKED_LIMIT:
            state["untracked_more"] = len(untracked) - UNTRACKED_LIMIT
        if changed and state["commit"] and not with_patch:
            state["patch_left_out"] = "GLOSSARY_EXP_PROVENANCE_PATCH=0"
        elif changed and state["commit"]:
            patch = _git(["diff", "HEAD", "--no-color", "--no-ext-diff"], root, deadline, limit=PATCH_LIMIT + 1)
            state["patch"], state["patch_cut"] = patch[:PATCH_LIMIT], len(patch) > PATCH_LIMIT
        elif changed:
            state["error"] = "no commit yet: the whole tree is uncommitted"
    except GitUnavailable as why:
        state["error"] = str(why)
    return state


def _status(root: Path, deadline: float, exclude: tuple[Path, ...]) -> tuple[list[str], list[str]]:
    """(changed tracked paths, untracked paths outside ``exclude``; an untracked directory counts once)."""
    out = _git(["status", "--porcelain=v1", "-z", "--untracked-files=normal"], root, deadline)
    changed, untracked = [], []
    skip = [p.resolve() for p in exclude]
    for entry in filter(None, out.split("\0")):
        code, name = entry[:2], entry[3:]
        if code == "??":
            where = (root / name).resolve()
            if not any(where == d or d in where.parents for d in skip):
                untracked.append(name)
        elif len(entry) > 3 and code[0] in "MADRCU " and code.strip():
            changed.append(name)
    return changed, untracked


def _git(args: list[str], cwd: Path, deadline: float, limit: int | None = None) -> str:
    """``git args`` in ``cwd``: its output (at most ``limit`` bytes, the rest unread), or GitUnavailable."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise GitUnavailable("git took too long; left out")
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}
    try:
        with subprocess.Popen(["git", *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) as proc:
            try:
                out, errors = _read(proc, limit, left)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise GitUnavailable(f"git {args[0]} took over {left:.1f} s; left out") from None
    except FileNotFoundError:
        raise GitUnavailable("git is not installed (not on PATH)") from None
    except OSError as err:
        raise GitUnavailable(f"git could not run: {err}") from None
    if proc.returncode not in (0, None) and limit is None:
        message = errors.decode(errors="replace").strip().splitlines()
        raise GitUnavailable(message[0] if message else f"git {args[0]} failed ({proc.returncode})")
    return out.decode(errors="replace")


def _read(proc: subprocess.Popen[bytes], limit: int | None, timeout: float) -> tuple[bytes, bytes]:
    """All of stdout and stderr; with ``limit``, stdout's first ``limit`` bytes (a huge patch is never held whole)."""
    if limit is None:
        return proc.communicate(timeout=timeout)
    assert proc.stdout is not None
    end, chunks, size = time.monotonic() + timeout, [], 0
    while size < limit:
        if not select.select([proc.stdout], [], [], max(0.0, end - time.monotonic()))[0]:
            raise subprocess.TimeoutExpired(proc.args, timeout)
        chunk = os.read(proc.stdout.fileno(), min(65536, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    proc.kill()  # past the limit: the rest is not wanted
    proc.wait()
    return b"".join(chunks), b""
