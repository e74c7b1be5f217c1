"""A run's ``provenance.json``: collected while torch is imported, written once, never failing the run.

Code: the git checkout of the working directory (where the user's code usually is), and that of
glossary_exp and of every plugin distribution installed editable from one; each uncommitted change
is also a patch file (``provenance/<checkout>.patch``, for ``git apply``). Environment: Python, OS,
host, devices, versions, every installed distribution. Invocation: the command, the directory, the
variables that change what runs. The run's ``metrics.json`` keeps the short form (:func:`summary`)
so that ``runs`` reads one small file a run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from glossary_exp.atomic import write_text_atomically
from glossary_exp.provenance.environment import (
    devices,
    editable_checkout,
    installed,
    invocation,
    machine,
    plugin_distributions,
)
from glossary_exp.provenance.git import checkout_state

log = logging.getLogger(__name__)

PROVENANCE_FILE = "provenance.json"
PATCH_DIR = "provenance"
GIT_SECONDS = 5.0  # all git calls of one run together
WORKING_DIRECTORY = "cwd"  # the code entry of the working directory's checkout
# =0: no patch is recorded (an uncommitted change holds the changed files' lines as they are, secrets too).
PATCH_SWITCH = "GLOSSARY_EXP_PROVENANCE_PATCH"


def collect(exclude: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Code, machine and invocation (not the devices, which need torch: :func:`write` adds them)."""
    started = time.monotonic()
    record: dict[str, Any] = {"written": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "invocation": invocation()}
    deadline = started + GIT_SECONDS
    dists = installed()
    patch = os.environ.get(PATCH_SWITCH, "1") != "0"
    code = {WORKING_DIRECTORY: checkout_state(Path.cwd(), deadline, exclude, patch)}
    for name in ["glossary-exp", *plugin_distributions(dists)]:
        checkout = editable_checkout(dists[name]) if name in dists else None
        if checkout is None:
            continue
        same = next((label for label, state in code.items() if state.get("path") == str(checkout)), None)
        code[name] = {"same_as": same} if same else checkout_state(checkout, deadline, exclude, patch)
    record["code"] = code
    record["machine"] = machine(dists)
    record["collect_s"] = round(time.monotonic() - started, 3)
    return record


class Collector:
    """:func:`collect` in a thread started now, so git and the distributions' metadata overlap torch's import."""

    def __init__(self, exclude: tuple[Path, ...] = ()) -> None:
        self._record: dict[str, Any] = {}
        self._thread = threading.Thread(target=self._run, args=(exclude,), name="provenance", daemon=True)
        self._thread.start()

    def _run(self, exclude: tuple[Path, ...]) -> None:
        try:
            self._record = collect(exclude)
        except Exception as err:  # noqa: BLE001 - provenance never fails a run; the record says why
            self._record = {"error": f"{type(err).__name__}: {err}"}

    def result(self) -> dict[str, Any]:
        """What was collected, with the devices (torch is imported by now)."""
        self._thread.join(GIT_SECONDS + 5.0)
        record = self._record or {"error": "collecting took too long; left out"}
        try:
            record["devices"] = devices()
        except Exception as err:  # noqa: BLE001 - as above
            record["devices"] = {"error": f"{type(err).__name__}: {err}"}
        return record


def write(directory: Path, record: dict[str, Any]) -> dict[str, Any]:
    """Write ``record`` and its patches into ``directory``; returns :func:`summary` of it.

    Never raises: a provenance that cannot be written is logged, and the run goes on.
    """
    try:
        for label, state in record.get("code", {}).items():
            if state.get("patch"):
                patch = directory / PATCH_DIR / f"{label}.patch"
                patch.parent.mkdir(parents=True, exist_ok=True)
                write_text_atomically(patch, state["patch"])
                state["patch_sha256"] = hashlib.sha256(state["patch"].encode()).hexdigest()
                state["patch"] = str(patch.relative_to(directory))
        write_text_atomically(directory / PROVENANCE_FILE, json.dumps(record, indent=1, default=str) + "\n")
    except OSError as err:
        log.warning("the run's provenance could not be written to %s: %s", directory, err)
    return summary(record)


def write_sweep(sweep_dir: Path, exclude: tuple[Path, ...] = ()) -> None:
    """A sweep directory's provenance, written as the sweep launches (after every refusal, which leaves nothing).

    A sweep continued in its directory keeps the first command's record and adds its own in
    ``.hydra/continued_<stamp>/``. No devices: the sweeping process need not import torch; each job
    records its own.
    """
    from glossary_exp.rundir import STAMP

    first = not (sweep_dir / PROVENANCE_FILE).exists()
    directory = sweep_dir if first else sweep_dir / ".hydra" / f"continued_{STAMP}"
    directory.mkdir(parents=True, exist_ok=True)
    write(directory, collect(exclude))


def main_checkout(record: dict[str, Any]) -> dict[str, Any]:
    """The code entry that names the run's code: the working directory's checkout, else glossary_exp's."""
    code = record.get("code", {})
    for label in (WORKING_DIRECTORY, "glossary-exp"):
        state = code.get(label, {})
        if state.get("commit"):
            return state
    return {}


def summary(record: dict[str, Any]) -> dict[str, Any]:
    """What ``metrics.json`` keeps of the provenance: the commit, dirty, the patch's hash, the host."""
    state = main_checkout(record)
    return {"commit": state.get("commit"), "dirty": state.get("dirty"), "patch_sha256": state.get("patch_sha256"),
            "host": record.get("machine", {}).get("host")}


def code_label(record: dict[str, Any]) -> str:
    """``1a2b3c4d`` for a clean commit, ``1a2b3c4d+9f8e7d`` with an uncommitted change (its patch's hash)."""
    commit = record.get("commit")
    if not commit:
        return ""
    if record.get("dirty"):
        return f"{commit[:8]}+{(record.get('patch_sha256') or 'dirty')[:6]}"
    return commit[:8]


def markdown(record: dict[str, Any]) -> str:
    """The TensorBoard text panel: the code, the host and the main versions."""
    lines = ["| what | value |", "| --- | --- |"]
    for label, state in record.get("code", {}).items():
        if "same_as" in state:
            continue
        value = state.get("error") or f"{state.get('commit') or 'no commit'} on {state.get('branch')}"
        if state.get("dirty"):
            value += " (uncommitted changes: " + str(state.get("patch", "")) + ")"
        lines.append(f"| code: {label} ({state.get('path')}) | {value} |")
    machine_ = record.get("machine", {})
    lines.append(f"| host | {machine_.get('host')}, Python {machine_.get('python')}, {machine_.get('os')} |")
    for name, version in machine_.get("versions", {}).items():
        lines.append(f"| {name} | {version} |")
    lines.append(f"| command | `{record.get('invocation', {}).get('command', '')}` |")
    return "\n".join(lines)
