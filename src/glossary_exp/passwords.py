"""A password in a URL is refused before Hydra writes anything: Hydra keeps every setting as given.

Hydra writes the command's overrides as typed into ``multirun.yaml`` and each job's
``.hydra/hydra.yaml`` and ``overrides.yaml``, and the composed config (YAML files' values too) into
``.hydra/config.yaml``; masking them afterwards would leave the secret in earlier copies and break
what reads them back (a resume, a sweep's rerun). So ``postgresql://me:pw@host/db`` is refused
with one line, and the credential goes where the driver looks for it itself (``PGPASSWORD`` or
``~/.pgpass`` for PostgreSQL), which jobs on other machines inherit from the environment too.
What counts as a password is :mod:`glossary_exp.redact`'s to say.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from glossary_exp.errors import ConfigError
from glossary_exp.redact import has_password, redact

# Where each database's driver finds a password of its own accord, by URL scheme.
DRIVER_WAYS = {"postgresql": "PGPASSWORD or ~/.pgpass (PostgreSQL's own ways)",
               "mysql": "MYSQL_PWD or ~/.my.cnf (MySQL's own ways)"}
GENERAL_WAY = "the environment or the tool's own credentials file"


def refusal(key: str, value: str) -> ConfigError:
    """The one line for ``key=value`` whose URL holds a password, naming where the credential goes instead."""
    scheme = value.split("://", 1)[0].rsplit("=", 1)[-1].split("+", 1)[0].lower()
    way = DRIVER_WAYS.get(scheme, GENERAL_WAY)
    return ConfigError(f"{key}={redact(value)} holds a password, which would be written into the run's files; "
                       f"remove it from the URL and give it through {way}")


def check_overrides(args: Iterable[str]) -> None:
    """Refuse a command-line override (or any argument) whose value holds a URL with a password."""
    for arg in args:
        if has_password(arg):
            key, _, value = arg.partition("=")
            raise refusal(key.lstrip("+~") if value else "an argument", value or arg)


def check_config(cfg: DictConfig, resolve: bool = False) -> None:
    """Refuse a config with a password in any value: as written (a YAML file's, an override's), or as resolved.

    Resolved, because a run's ``config.yaml`` is written resolved: ``${oc.env:DB_URL}`` would put
    the variable's password there.
    """
    try:
        container = OmegaConf.to_container(cfg, resolve=resolve)
    except OmegaConfBaseException:  # a value that does not resolve: the checks that follow say which
        container = OmegaConf.to_container(cfg, resolve=False)
    for key, value in _strings(container, ""):
        if has_password(value):
            raise refusal(key, value)


def _strings(node: Any, prefix: str) -> Iterator[tuple[str, str]]:
    """``(dotted key, value)`` of every string value in a plain container."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings(value, f"{prefix}[{i}]")
    elif isinstance(node, str):
        yield prefix, node


class RefusePasswords(Callback):
    """Hydra callback (``conf/hydra/callbacks/sweep.yaml``): checks the composed config before anything is written.

    Hydra turns a callback's exception into a warning and goes on, so the refusal exits here, as the CLI would.
    """

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            check_config(config)
        except ConfigError as err:
            print(f"error: {err}", file=sys.stderr, flush=True)
            raise SystemExit(2) from None

    on_multirun_start = on_run_start
