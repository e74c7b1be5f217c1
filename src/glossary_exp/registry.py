"""Name -> class registry for plugins (models and datamodules).

Built-ins register with ``@register("model", "name")``. Third-party packages declare an
entry point in the ``glossary_exp.plugins`` group pointing at a module; importing that
module runs its ``@register`` decorators. Nothing here imports torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import TypeVar

from glossary_exp.errors import UnknownPluginError, listing, nearest

KINDS = ("model", "data")
ENTRY_POINT_GROUP = "glossary_exp.plugins"
# Modules whose import registers the built-in plugins.
BUILTIN_MODULES = ("glossary_exp.examples", "glossary_exp.vision")

_registry: dict[str, dict[str, type]] = {kind: {} for kind in KINDS}
_loaded = False

T = TypeVar("T", bound=type)


def register(kind: str, name: str) -> Callable[[T], T]:
    """Class decorator: make ``cls`` available as ``kind`` plugin ``name``; duplicates raise."""
    if kind not in KINDS:
        raise ValueError(f"unknown plugin kind {kind!r}; choose one of: {', '.join(KINDS)}")

    def add(cls: T) -> T:
        existing = _registry[kind].get(name)
        if existing is not None and existing is not cls:
            raise ValueError(
                f"{kind} {name!r} is already registered by {existing.__module__}.{existing.__qualname__}"
            )
        _registry[kind][name] = cls
        return cls

    return add


def load_plugins() -> None:
    """Import the built-in plugin modules and every installed entry-point plugin, once."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        ep.load()


def get(kind: str, name: str) -> type:
    """The class registered as ``kind`` plugin ``name``."""
    load_plugins()
    try:
        return _registry[kind][name]
    except KeyError:
        known = names(kind)
        raise UnknownPluginError(f"{kind}.name={name!r} is not a registered {kind}{nearest(name, known)}; "
                                 f"choose one of: {listing(known)}") from None


def names(kind: str) -> list[str]:
    """Sorted names registered for ``kind``."""
    load_plugins()
    return sorted(_registry[kind])


def installed_plugins() -> list[str]:
    """Entry points of installed third-party plugins (``name = module``), without importing them."""
    return sorted(f"{ep.name} = {ep.value}" for ep in entry_points(group=ENTRY_POINT_GROUP))
