"""Settings checked against the signature of what they configure: a plugin, the Trainer, an optimizer.

As torchtune validates its configs (``inspect.signature(cls).bind(**kwargs)``): every key must be
a parameter and every value must fit its type hint, so a new plugin needs no schema of its own.
Config values are plain YAML values (after ``OmegaConf.to_container``), so a hint that only an
object can satisfy (a Tensor, a Logger) never accepts one.
"""

from __future__ import annotations

import enum
import inspect
import math
import os
import sys
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from glossary_exp.errors import ConfigError, listing, nearest

_SEQUENCES = (list, tuple, Sequence, Iterable, typing.Sequence, typing.Iterable)
_MAPPINGS = (dict, Mapping, typing.Mapping)


def parameters(fn: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    """The keyword parameters of ``fn`` (a class: of its constructor)."""
    return {n: p for n, p in inspect.signature(fn).parameters.items()
            if n != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """The parameters' type hints; where one hint cannot be resolved (a name imported only for type
    checkers, as Optuna's are), the others still are and that one accepts any value."""
    # A class's hints are its __init__'s (getattr: mypy reads fn.__init__ as an instance's).
    function = getattr(fn, "__init__") if isinstance(fn, type) else fn  # noqa: B009
    try:
        return typing.get_type_hints(function)
    except Exception:  # noqa: BLE001 - one unresolvable forward reference fails them all
        namespace = vars(sys.modules.get(function.__module__, typing))
        return {n: _resolve(p.annotation, namespace) for n, p in parameters(fn).items()}


def _resolve(annotation: Any, namespace: dict[str, Any]) -> Any:
    if not isinstance(annotation, str):
        return annotation
    try:
        return eval(annotation, dict(namespace))
    except Exception:  # noqa: BLE001
        return inspect.Parameter.empty


def accepts(annotation: Any, value: Any) -> bool:
    """Whether a YAML value fits ``annotation``; a hint only an object could satisfy accepts nothing."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return True
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(accepts(member, value) for member in args)
    if origin is typing.Literal:
        return any(value == choice and type(value) is type(choice) for choice in args)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(accepts(args[0], v) for v in value)
        return len(value) == len(args) and all(accepts(a, v) for a, v in zip(args, value, strict=True))
    if origin in _SEQUENCES:
        return isinstance(value, (list, tuple)) and all(accepts(args[0], v) for v in value)
    if origin in _MAPPINGS or annotation in _MAPPINGS:
        return isinstance(value, dict)
    if annotation in _SEQUENCES:
        return isinstance(value, (list, tuple))
    if annotation is type(None):
        return value is None
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if annotation is str:
        return isinstance(value, str)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return value in annotation.__members__ or value in {m.value for m in annotation}
    if isinstance(annotation, type) and issubclass(annotation, os.PathLike):
        return isinstance(value, str)
    return isinstance(annotation, type) and isinstance(value, annotation)


def describe(annotation: Any) -> str:
    """A type hint in words: ``Optional[int]`` -> ``a whole number or null``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [m for m in args if _from_yaml(m)] or list(args)  # "a number", not "a number or a Tensor"
        choices = [c for m in members if typing.get_origin(m) is typing.Literal for c in typing.get_args(m)]
        words = [describe(m) for m in members if typing.get_origin(m) is not typing.Literal]
        if choices:
            words.insert(0, "one of " + ", ".join(dict.fromkeys(map(str, choices))))
        return " or ".join(dict.fromkeys(words))
    if origin is typing.Literal:
        return "one of " + ", ".join(map(str, args))
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_plural(describe(args[0]))}"
        return f"a list of {len(args)} {_plural(describe(args[0]))}" if len(set(args)) == 1 else \
            "a list of " + ", ".join(describe(a) for a in args)
    if origin in _SEQUENCES or annotation in _SEQUENCES:
        return f"a list of {_plural(describe(args[0]))}" if args else "a list"
    if origin in _MAPPINGS or annotation in _MAPPINGS:
        return "a mapping"
    plain_words = {type(None): "null", bool: "true or false", int: "a whole number", float: "a finite number",
                   str: "a string"}
    if annotation in plain_words:
        return plain_words[annotation]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "one of " + ", ".join(annotation.__members__)
    return f"a {getattr(annotation, '__name__', str(annotation))}"


def _from_yaml(annotation: Any) -> bool:
    """Whether some YAML value can fit ``annotation`` (a Tensor or a Logger cannot)."""
    if not isinstance(annotation, type) or annotation in (bool, int, float, str, type(None), list, tuple, dict):
        return True
    return issubclass(annotation, (enum.Enum, os.PathLike)) or annotation in _SEQUENCES + _MAPPINGS


def _plural(text: str) -> str:
    return {"a finite number": "numbers", "a whole number": "whole numbers", "a string": "strings",
            "true or false": "booleans"}.get(text, text)


def check_arguments(key: str, fn: Callable[..., Any], kwargs: Mapping[str, Any], what: str | None = None) -> None:
    """Every key of ``kwargs`` is a parameter of ``fn`` and its value fits the parameter's type hint."""
    params = parameters(fn)
    takes_any = any(p.kind is p.VAR_KEYWORD for p in inspect.signature(fn).parameters.values())
    hints = type_hints(fn)
    for name, value in kwargs.items():
        if name not in params:
            if takes_any:
                continue
            raise ConfigError(f"{key}.{name} is not a setting of {what or key}{nearest(name, params, key)}; "
                              f"allowed: {listing(params)}", key=f"{key}.{name}")
        annotation = hints.get(name, params[name].annotation)
        if not accepts(annotation, value):
            raise ConfigError(f"{key}.{name} must be {describe(annotation)}, got {value!r}", key=f"{key}.{name}")


def changed_settings(fn: Callable[..., Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The ``kwargs`` that differ from ``fn``'s defaults: the settings to blame when it refuses them."""
    params = parameters(fn)
    return {k: v for k, v in kwargs.items() if k not in params or params[k].default != v}
