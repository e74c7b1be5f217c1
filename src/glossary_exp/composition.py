"""Hydra's errors while it composes the config, as the one line a user needs: the key, what is allowed, the nearest.

Hydra reports these in ten to ninety lines (a misspelled key, an unknown option, a YAML syntax
error, a launcher whose package is not installed). :func:`explain` turns each into one line, or
returns None for anything that is not a usage error (a bug keeps its traceback). Imports no torch.
"""

from __future__ import annotations

import re

from hydra.errors import (
    ConfigCompositionException,
    InstantiationException,
    MissingConfigException,
    OverrideParseException,
)
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException, ValidationError

from glossary_exp.errors import UsageError, causes, listing, nearest

# Groups whose keys are checked against what they build, where +key=value adds a key the YAML lacks.
OPEN_GROUPS = ("model", "data", "optimizer", "scheduler", "trainer")
# Optional extras: what a missing one looks like to Hydra, and the extra that provides it.
EXTRAS = {"joblib": "parallel", "ray": "ray", "submitit": "slurm", "optuna": "optuna"}


def explain(err: BaseException) -> str | None:
    """One line for a usage error raised while Hydra composed or launched; None for anything else."""
    chain = list(causes(err))
    for cause in chain:
        if isinstance(cause, UsageError):  # ours, raised while Hydra built a plugin (a sweeper's settings)
            return str(cause)
    for cause in chain:
        text = _yaml_error(cause) or _missing_extra(cause)
        if text:
            return text
    if isinstance(err, OverrideParseException):
        return f"cannot parse {err.override!r}: {str(err.message).splitlines()[0]} (Hydra's override syntax)"
    if isinstance(err, MissingConfigException):
        return _missing_option(err)
    for cause in chain:
        if isinstance(cause, ValidationError) and cause.full_key:
            return _wrong_type(cause)
        if isinstance(cause, (ConfigKeyError, AttributeError)) and getattr(cause, "full_key", None):
            return _unknown_key(cause) + _in_file(err)  # type: ignore[arg-type]
    if isinstance(err, OSError) and err.filename:
        return f"cannot write {err.filename}: {err.strerror} (check paths.output_dir / hydra.sweep.dir)"
    if isinstance(err, (ConfigCompositionException, OmegaConfBaseException)):
        first = str(err).strip().splitlines()[0]
        already = re.fullmatch(r"Could not append to config\. An item is already at '(.+)'\.", first)
        if already:  # +key=value for a key the config has: Hydra's + only adds
            return f"{already[1]} is already set; give it without + ({already[1]}=...), or with ++ to add or override"
        return first
    return None


def _unknown_key(cause: OmegaConfBaseException) -> str:
    full_key = str(cause.full_key)
    parent, _, leaf = full_key.rpartition(".")
    node = getattr(cause, "parent_node", None)
    allowed = [str(k) for k in node] if node is not None and hasattr(node, "keys") else []
    text = f"{full_key} is not a setting{nearest(leaf, allowed, parent)}"
    if allowed:
        text += f"; allowed: {listing(allowed)}"
    if parent.split(".")[0] in OPEN_GROUPS:
        text += f" (+{full_key}=... adds one the YAML lacks)"
    return text


def _in_file(err: BaseException) -> str:
    """`` (in experiment/x.yaml)`` when Hydra says which config file it was merging: a typo in a preset's YAML."""
    found = re.match(r"In '([^']+)':", str(err))
    return f" (in {found[1]}.yaml)" if found else ""


def _wrong_type(cause: ValidationError) -> str:
    from glossary_exp.arguments import describe
    from glossary_exp.schema import field_type

    expected = field_type(str(cause.full_key))
    wanted = describe(expected) if expected is not None else "of another type"
    return f"{cause.full_key} must be {wanted}, got {cause.value!r}"


def _missing_option(err: MissingConfigException) -> str:
    missing = str(err.missing_cfg_file or "")
    group, _, option = missing.rpartition("/")
    options = list(err.options or [])
    if not group:
        return str(err).strip().splitlines()[0]
    extra = next((EXTRAS[name] for name in EXTRAS if group == "hydra/launcher" and name in option), None)
    if extra:
        return f"{group}={option} needs an optional extra: pip install 'glossary-exp[{extra}]'"
    text = f"{group}={option} is not an option{nearest(option, options)}"
    return text + (f"; choose one of: {listing(options)}" if options else f"; the group {group} has none")


def _missing_extra(cause: BaseException) -> str | None:
    """A launcher or sampler whose package is not installed."""
    if isinstance(cause, ModuleNotFoundError) and cause.name:
        root = cause.name.split(".")[0]
        if root in EXTRAS:
            return f"this needs {root}, which is not installed: pip install 'glossary-exp[{EXTRAS[root]}]'"
    if isinstance(cause, InstantiationException):
        for name, extra in EXTRAS.items():
            if f"'{name}." in str(cause) or f"_{name}_" in str(cause):
                return f"this needs {name}, which is not installed: pip install 'glossary-exp[{extra}]'"
    return None


def _yaml_error(cause: BaseException) -> str | None:
    """A YAML syntax error: ``file:line:column: problem``."""
    import yaml

    if not isinstance(cause, yaml.MarkedYAMLError):
        return None
    mark, context = cause.problem_mark or cause.context_mark, cause.context_mark
    where = f"{mark.name}:{mark.line + 1}:{mark.column + 1}" if mark is not None else "a config file"
    text = f"YAML syntax error in {where}: {cause.problem or cause.context}"
    if cause.problem and cause.context and context is not None and context is not mark:
        text += f" ({cause.context} at line {context.line + 1}, column {context.column + 1})"
    return text
