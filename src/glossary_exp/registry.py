"""Name -> class registry for plugins (models and datamodules).

Built-ins register with ``@register("model", "name")``. Third-party packages declare an
entry point in the ``glossary_exp.plugins`` group pointing at a module; importing that
module runs its ``@register`` decorators. Each entry point is loaded on its own: one that
fails (an ImportError, a name a built-in already has) is recorded as broken, registers
nothing, and breaks only the runs that ask for what it would have provided. Nothing here
imports torch.
"""

from __future__ import annotations

import importlib
import sysconfig
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TypeVar

from glossary_exp.errors import UnknownPluginError, listing, nearest

KINDS = ("model", "data")
ENTRY_POINT_GROUP = "glossary_exp.plugins"
CONFIG_ENTRY_POINT_GROUP = "glossary_exp.configs"  # read by hydra_plugins/glossary_exp_searchpath too
# Modules whose import registers the built-in plugins.
BUILTIN_MODULES = ("glossary_exp.examples", "glossary_exp.vision")

_registry: dict[str, dict[str, type]] = {kind: {} for kind in KINDS}
_loaded = False

T = TypeVar("T", bound=type)


@dataclass(frozen=True)
class BrokenPlugin:
    distribution: str
    entry_point: str  # "name = module"
    error: str  # one line

    def __str__(self) -> str:
        return f"{self.entry_point} ({self.distribution}): {self.error}"


_broken: list[BrokenPlugin] = []


def register(kind: str, name: str) -> Callable[[T], T]:
    """Class decorator: make ``cls`` available as ``kind`` plugin ``name``; a name already taken raises."""
    if kind not in KINDS:
        raise ValueError(f"unknown plugin kind {kind!r}; choose one of: {', '.join(KINDS)}")

    def add(cls: T) -> T:
        existing = _registry[kind].get(name)
        if existing is not None and existing is not cls:
            raise ValueError(f"{cls.__module__}.{cls.__qualname__} registers {kind} {name!r}, which "
                             f"{existing.__module__}.{existing.__qualname__} already has (the first one keeps it)")
        _registry[kind][name] = cls
        return cls

    return add


def load_plugins() -> None:
    """Import the built-in plugin modules, then each installed entry-point plugin on its own, once."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        before = {kind: dict(names) for kind, names in _registry.items()}
        try:
            ep.load()
        except Exception as err:  # noqa: BLE001 - a plugin's failure is its own, recorded and reported
            for kind, names in before.items():  # what it registered before failing is withdrawn
                _registry[kind].clear()
                _registry[kind].update(names)
            message = str(err).strip().splitlines()[0] if str(err).strip() else ""
            _broken.append(BrokenPlugin(_distribution(ep), f"{ep.name} = {ep.value}",
                                        f"{type(err).__name__}: {message}"[:300] + _where(err)))


def _where(err: BaseException) -> str:
    """`` (at <file>:<line>)``: the plugin's own line the error came from (a NameError in a class body...).

    The last frame outside the standard library (importlib's loading) and glossary_exp itself (a
    name clash is raised by :func:`register`, called from the plugin's decorator line).
    """
    if isinstance(err, SyntaxError) and err.filename:
        return f" (at {err.filename}:{err.lineno})"
    skipped = (sysconfig.get_paths()["stdlib"], str(Path(__file__).parent))
    frames = [f for f in traceback.extract_tb(err.__traceback__)
              if not f.filename.startswith("<") and not f.filename.startswith(skipped)]
    return f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""


def broken_plugins() -> list[BrokenPlugin]:
    """The installed plugins that failed to load, with why."""
    load_plugins()
    return list(_broken)


def get(kind: str, name: str) -> type:
    """The class registered as ``kind`` plugin ``name``."""
    load_plugins()
    try:
        return _registry[kind][name]
    except KeyError:
        known = names(kind)
        message = (f"{kind}.name={name!r} is not a registered {kind}{nearest(name, known)}; "
                   f"choose one of: {listing(known)}")
        provider = next((b for b in _broken if provides(b, kind, name)), None)
        if provider is not None:
            message = (f"{kind} {name!r} comes from plugin {provider.entry_point} ({provider.distribution}), which "
                       f"failed to load: {provider.error}")
        elif _broken:
            message += f"; broken plugins: {'; '.join(map(str, _broken))}"
        raise UnknownPluginError(message) from None


def provides(plugin: BrokenPlugin, kind: str, name: str) -> bool:
    """Whether ``plugin``'s distribution ships a config for ``kind`` ``name`` (what the user asked for by it)."""
    from importlib.resources import files

    for ep in config_entry_points():
        if _distribution(ep) == plugin.distribution:
            try:
                if files(ep.value).joinpath(kind).joinpath(f"{name}.yaml").is_file():
                    return True
            except (ImportError, TypeError, OSError):
                continue
    return False


def names(kind: str) -> list[str]:
    """Sorted names registered for ``kind``."""
    load_plugins()
    return sorted(_registry[kind])


def installed_plugins() -> list[str]:
    """Entry points of installed third-party plugins (``name = module (distribution)``), without importing them."""
    return sorted(f"{ep.name} = {ep.value} ({_distribution(ep)})" for ep in entry_points(group=ENTRY_POINT_GROUP))


def config_entry_points() -> list[EntryPoint]:
    return list(entry_points(group=CONFIG_ENTRY_POINT_GROUP))


def _distribution(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return f"{dist.name} {dist.version}" if dist is not None else "an unknown distribution"
