"""Where a search's Optuna study lives, shared by the sweeper and the jobs that report to it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from glossary_exp.sweep.settings import SEARCH_TARGET

if TYPE_CHECKING:
    import optuna

STUDY_FILE = "optuna.db"
# Marks a trial that a Ctrl-C or crash of the sweep left unfinished; a resumed search runs it again.
INTERRUPTED = "interrupted"


def storage_url(storage: str | None, sweep_dir: str | Path) -> str:
    """The configured storage, or SQLite in the sweep directory."""
    return storage or f"sqlite:///{Path(sweep_dir).resolve() / STUDY_FILE}"


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """RDB storage; SQLite waits for its lock, since parallel jobs report at the same time."""
    import optuna

    engine_kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else None
    return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)


def search_settings(hydra_cfg: Any) -> Any | None:
    """The ``hydra.sweeper`` node when this job is a trial of a ``glossary_optuna`` search."""
    sweeper = hydra_cfg.get("sweeper")
    return sweeper if sweeper is not None and sweeper.get("_target_") == SEARCH_TARGET else None
