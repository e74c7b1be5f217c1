"""Where a search's Optuna study lives, shared by the sweepers, the jobs that report to it, and other search processes.

``hydra.sweeper.storage``: null is SQLite in the sweep directory (one machine); ``journal`` an Optuna
journal file there, ``journal:<path>`` one elsewhere (several processes, or machines on a filesystem
whose locks work); an SQLAlchemy URL such as ``postgresql://user@host:5432/db`` a database server
(machines that share no filesystem). Imports Optuna only when a storage is opened.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glossary_exp.errors import ConfigError
from glossary_exp.redact import redact
from glossary_exp.sweep.settings import SEARCH_TARGET

if TYPE_CHECKING:
    import optuna

STUDY_FILE, JOURNAL_FILE = "optuna.db", "optuna.journal"
# Marks a trial that does not count: its sweep was stopped or its worker died (its params run again),
# or it was asked after the study already had n_trials.
INTERRUPTED = "interrupted"
# SQLAlchemy dialects we name in messages, and the extra that installs each one's driver.
DRIVERS = {"postgresql": ("psycopg", "postgres"), "mysql": ("a MySQL driver such as PyMySQL", None)}
USE = "use journal, journal:<file>, sqlite:///<file> or postgresql://<user>@<host>:<port>/<db>"


def storage_url(storage: str | None, sweep_dir: str | Path) -> str:
    """The configured storage as a URL any job can open, wherever it runs (paths made absolute)."""
    here = Path(sweep_dir).resolve()
    if not storage:
        return f"sqlite:///{here / STUDY_FILE}"
    if storage == "journal":
        return f"journal:{here / JOURNAL_FILE}"
    if storage.startswith("journal:"):
        path = storage.removeprefix("journal:").removeprefix("//")  # journal:///abs/file or journal:rel/file
        return f"journal:{Path(path).expanduser().resolve()}"
    if storage.startswith("postgresql://"):
        return "postgresql+psycopg://" + storage.removeprefix("postgresql://")  # SQLAlchemy's default is psycopg2
    return storage


def check_storage(url: str) -> None:
    """Raise a one-line ConfigError for a storage that cannot work: an unknown kind or a missing driver."""
    scheme = url.split(":", 1)[0]
    dialect = scheme.split("+", 1)[0]
    if scheme == "journal":
        return
    if dialect not in ("sqlite", *DRIVERS) or "://" not in url:
        raise ConfigError(f"hydra.sweeper.storage={redact(url)}: not a storage this search knows; {USE}")
    if dialect in DRIVERS:
        from sqlalchemy.engine import make_url

        try:
            make_url(url).get_dialect().import_dbapi()
        except ImportError as err:
            driver, extra = DRIVERS[dialect]
            how = f"pip install 'glossary-exp[{extra}]'" if extra else f"install {driver}"
            raise ConfigError(f"hydra.sweeper.storage={redact(url)} needs {driver}, which is not installed "
                              f"({err}): {how}") from None


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """The study's storage; SQLite waits for its lock, since parallel jobs report at the same time."""
    import optuna

    check_storage(url)
    if url.startswith("journal:"):
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        return JournalStorage(JournalFileBackend(url.removeprefix("journal:")))
    from sqlalchemy.exc import DBAPIError

    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else None
    for attempt in range(5):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)
        except DBAPIError:  # two processes creating a new database's tables at once: one wins, the other retries
            if attempt == 4:
                raise
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


def search_settings(hydra_cfg: Any) -> Any | None:
    """The ``hydra.sweeper`` node when this job is a trial of a ``glossary_optuna`` search."""
    sweeper = hydra_cfg.get("sweeper")
    return sweeper if sweeper is not None and sweeper.get("_target_") == SEARCH_TARGET else None
