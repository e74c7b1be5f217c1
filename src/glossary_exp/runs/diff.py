"""``python -m glossary_exp diff RUN_A RUN_B``: what differs between two runs (ids or directories).

The same run twice compares its start with its last resume (code, versions, device may have changed).

Config keys (flattened, old -> new), overrides, seed, code (commit, the uncommitted change),
versions and device, then the final metrics side by side. Reads only; writes nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from glossary_exp.errors import UsageError, printable
from glossary_exp.rundir import CONFIG_FILE
from glossary_exp.runs.command import DEFAULT_ROOT, OneLineParser
from glossary_exp.runs.compare import code_changes, environment_changes, metric_table, read_provenance
from glossary_exp.runs.index import Run, resolve_run


def flat_config(run: Path) -> dict[str, Any]:
    """The run's composed config as ``{"optimizer.lr": 0.01, ...}`` ({} if it has none)."""
    try:
        container = OmegaConf.to_container(OmegaConf.load(run / CONFIG_FILE), resolve=False)
    except (OSError, ValueError, Exception):  # noqa: BLE001 - a damaged config is reported as missing
        return {}
    flat: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, dict) and node:
            for key, value in node.items():
                walk(value, f"{prefix}{key}.")
        else:
            flat[prefix.rstrip(".")] = node

    walk(container, "")
    return flat


def config_changes(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    return [f"{key}: {a.get(key, '(absent)')} -> {b.get(key, '(absent)')}"
            for key in sorted(set(a) | set(b)) if a.get(key, "(absent)") != b.get(key, "(absent)")]


def report(run_a: Run, run_b: Run) -> list[str]:
    """The lines ``diff`` prints."""
    lines = [f"A: {run_a.id}  {run_a.path}  ({run_a.status})", f"B: {run_b.id}  {run_b.path}  ({run_b.status})"]
    overrides_a, overrides_b = run_a.record.get("overrides") or [], run_b.record.get("overrides") or []
    sections = {
        "config": [c for c in config_changes(flat_config(run_a.path), flat_config(run_b.path))
                   if not c.startswith("seed:")],  # the seed has its own line
        "overrides": [f"only in A: {o}" for o in overrides_a if o not in overrides_b]
        + [f"only in B: {o}" for o in overrides_b if o not in overrides_a],
    }
    prov_a, prov_b = read_provenance(run_a.path), read_provenance(run_b.path)
    if run_a.path.resolve() == run_b.path.resolve():  # one run: its start against its last resume
        resumes = sorted((run_a.path / ".hydra").glob("resumed_*/provenance.json"))
        lines[1] = f"B: its last resume, {resumes[-1].parent.name}" if resumes else "B: the same run, never resumed"
        prov_b = read_provenance(resumes[-1].parent) if resumes else prov_a
    missing = [name for name, prov in (("A", prov_a), ("B", prov_b)) if not prov]
    if missing:  # nothing to compare against: one line, not every package as "not installed"
        unknown = [f"unknown: no readable provenance.json for {' and '.join(missing)} "
                   "(a run from before it was recorded, or a damaged file)"]
        sections["code"], sections["versions and device"] = unknown, unknown
    else:
        sections["code"] = code_changes(prov_a, prov_b, run_a.path, run_b.path)
        sections["versions and device"] = environment_changes(prov_a, prov_b)
    seed_a, seed_b = run_a.record.get("seed"), run_b.record.get("seed")
    lines.append(f"seed: {seed_a} -> {seed_b}" if seed_a != seed_b else f"seed: {seed_a} (both)")
    for title, changes in sections.items():
        lines += ["", f"{title}:", *([f"  {c}" for c in changes] or ["  the same"])]
    table, differ = metric_table(run_a.record.get("metrics") or {}, run_b.record.get("metrics") or {})
    lines += ["", f"metrics ({len(differ)} differ):" if len(table) > 1 else "metrics: none recorded"]
    return lines + (table if len(table) > 1 else [])


def main(argv: list[str]) -> int:
    p = OneLineParser(prog="python -m glossary_exp diff",
                                description="What differs between two runs: config, overrides, seed, code, "
                                            "versions, device, metrics.")
    p.add_argument("run_a", metavar="RUN_A", help="a run id (as `runs` lists it) or a run directory")
    p.add_argument("run_b", metavar="RUN_B")
    p.add_argument("--dir", type=Path, action="append", help=f"where to look for ids (default {DEFAULT_ROOT}/)")
    args = p.parse_args(argv)
    roots = args.dir or [DEFAULT_ROOT]
    try:
        run_a, run_b = (resolve_run(ref, roots) for ref in (args.run_a, args.run_b))
    except UsageError as err:
        print(f"error: {printable(str(err))}", file=sys.stderr)
        return 2
    print("\n".join(map(printable, report(run_a, run_b))))
    return 0
