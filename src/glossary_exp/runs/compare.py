"""What differs between two runs' provenance and metrics, as lines for ``diff`` and ``reproduce``."""

from __future__ import annotations

import difflib
import hashlib
from pathlib import Path
from typing import Any

from glossary_exp.provenance.record import PROVENANCE_FILE
from glossary_exp.rundir import read_record

PATCH_LINES = 60  # lines of the difference between two patches shown; the files hold all of it


def read_provenance(run: Path) -> dict[str, Any]:
    """A run's provenance.json, or ``{}`` (a run from before provenance was recorded, or a damaged file)."""
    record, _ = read_record(Path(run) / PROVENANCE_FILE)
    return record if record is not None and well_formed(record) else {}


# The fields of a code entry compared here, with the types provenance.record writes.
CODE_FIELDS: dict[str, type | tuple[type, ...]] = {"commit": str, "patch": str, "error": str, "untracked": list,
                                                   "same_as": str, "path": str}


def _optional(value: Any, kind: type | tuple[type, ...]) -> bool:
    return value is None or isinstance(value, kind)


def well_formed(record: dict[str, Any]) -> bool:
    """Whether ``record`` has the shape :mod:`glossary_exp.provenance` writes, in every field compared here."""
    code, machine, devices = record.get("code", {}), record.get("machine", {}), record.get("devices", {})
    invocation = record.get("invocation", {})
    if not all(isinstance(part, dict) for part in (code, machine, devices, invocation)):
        return False
    variables, packages = invocation.get("variables", {}), machine.get("packages", [])
    return (isinstance(variables, dict) and all(isinstance(v, str) for v in variables.values())
            and isinstance(packages, list) and all(isinstance(p, str) for p in packages)
            and all(_optional(machine.get(k), (str, int)) for k in ("python", "os", "host", "cpus"))
            and all(isinstance(v, (str, int, float, bool, list, type(None))) for v in devices.values())
            and all(isinstance(state, dict) and all(_optional(state.get(k), t) for k, t in CODE_FIELDS.items())
                    for state in code.values()))


def patch_text(run: Path, state: dict[str, Any]) -> str | None:
    """The uncommitted change a code entry recorded: "" when clean, None when its file cannot be read."""
    if not state.get("dirty") or not state.get("patch"):
        return ""
    run = Path(run).resolve()
    path = (run / state["patch"]).resolve()
    if not path.is_relative_to(run) or not path.is_file():  # a crafted record naming a file elsewhere: not read
        return None
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def code_changes(a: dict[str, Any], b: dict[str, Any], run_a: Path | None, run_b: Path | None,
                 patch_b: dict[str, str] | None = None) -> list[str]:
    """Each checkout whose commit or uncommitted change differs; the patches' difference below it.

    ``patch_b``: the second side's patches by label when they are not files yet (the code as it is now).
    """
    lines = []
    code_a, code_b = a.get("code", {}), b.get("code", {})
    for label in sorted(set(code_a) | set(code_b)):
        state_a, state_b = code_a.get(label, {}), code_b.get(label, {})
        if "same_as" in state_a or "same_as" in state_b:
            continue
        if state_a.get("commit") != state_b.get("commit"):
            lines.append(f"code {label}: commit {_commit(state_a)} -> {_commit(state_b)}")
        new_files = sorted(set(state_b.get("untracked") or []) - set(state_a.get("untracked") or []))
        if new_files:
            lines.append(f"code {label}: untracked now (in no patch): {', '.join(new_files[:10])}"
                         + (f" and {len(new_files) - 10} more" if len(new_files) > 10 else ""))
        text_a = patch_text(run_a, state_a) if run_a else ""
        text_b = (patch_b or {}).get(label, "") if patch_b is not None else patch_text(run_b, state_b) if run_b else ""
        unread = [side for side, text in (("A", text_a), ("B", text_b)) if text is None]
        if unread:
            lines.append(f"code {label}: the patch of {' and '.join(unread)} was not read (missing or outside its run)")
            continue
        if text_a == text_b:
            continue
        assert text_a is not None and text_b is not None
        lines.append(f"code {label}: uncommitted change {_patch_name(text_a)} -> {_patch_name(text_b)}")
        if state_a.get("commit") == state_b.get("commit"):  # on one commit, the patches' difference is the change
            delta = list(difflib.unified_diff(text_a.splitlines(), text_b.splitlines(), "then", "now", lineterm="",
                                              n=1))
            lines += [f"    {line}" for line in delta[:PATCH_LINES]]
            if len(delta) > PATCH_LINES:
                lines.append(f"    ... {len(delta) - PATCH_LINES} more lines")
    return lines


def _patch_name(text: str) -> str:
    return f"{hashlib.sha256(text.encode()).hexdigest()[:6]} ({len(text.splitlines())} lines)" if text else "none"


def _commit(state: dict[str, Any]) -> str:
    """A code entry's commit, short, or what the record says instead (not a repository, git missing)."""
    commit = state.get("commit")
    return commit[:10] if commit else f"none ({state['error']})" if state.get("error") else "none"


def environment_changes(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Python, OS, host, devices, the recorded environment variables and every distribution's version that differ."""
    lines = []
    machine_a, machine_b = a.get("machine", {}), b.get("machine", {})
    for key in ("python", "os", "host", "cpus"):
        if machine_a.get(key) != machine_b.get(key):
            lines.append(f"{key}: {machine_a.get(key)} -> {machine_b.get(key)}")
    devices_a, devices_b = a.get("devices", {}), b.get("devices", {})
    for key in sorted(set(devices_a) | set(devices_b)):
        if devices_a.get(key) != devices_b.get(key) and key != "error":
            lines.append(f"device {key}: {devices_a.get(key)} -> {devices_b.get(key)}")
    variables_a = a.get("invocation", {}).get("variables", {})
    variables_b = b.get("invocation", {}).get("variables", {})
    for name in sorted(set(variables_a) | set(variables_b)):
        if variables_a.get(name) != variables_b.get(name):
            lines.append(f"variable {name}: {variables_a.get(name, '(unset)')} -> {variables_b.get(name, '(unset)')}")
    packages_a = dict(p.split("==", 1) for p in machine_a.get("packages", []) if "==" in p)
    packages_b = dict(p.split("==", 1) for p in machine_b.get("packages", []) if "==" in p)
    for name in sorted(set(packages_a) | set(packages_b), key=str.lower):
        if packages_a.get(name) != packages_b.get(name):
            lines.append(f"package {name}: {packages_a.get(name, 'not installed')} -> "
                         f"{packages_b.get(name, 'not installed')}")
    return lines


def metric_table(a: dict[str, Any], b: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(a header and every numeric final metric side by side, the names of those that differ)."""
    numbers_a = {k: v for k, v in (a or {}).items() if isinstance(v, (int, float))}
    numbers_b = {k: v for k, v in (b or {}).items() if isinstance(v, (int, float))}
    names = sorted(set(numbers_a) | set(numbers_b))
    width = max((len(n) for n in names), default=6)
    lines, differ = [f"  {'metric'.ljust(width)}  {'A':>24}  {'B':>24}"], []
    for name in names:
        va, vb = numbers_a.get(name), numbers_b.get(name)
        same = va == vb
        if not same:
            differ.append(name)
        lines.append(f"  {name.ljust(width)}  {_number(va):>24}  {_number(vb):>24}{'' if same else '  differs'}")
    return lines, differ


def _number(value: float | None) -> str:
    return "-" if value is None else repr(float(value))
