"""Where runs live: run-directory names (OmegaConf resolvers), the files a run leaves, the lock it holds.

Imports only the standard library and OmegaConf, so Hydra can resolve run directories
before torch is imported.
"""

from __future__ import annotations

import errno
import fcntl
import glob
import json
import os
import re
import secrets
import shutil
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from omegaconf import DictConfig, OmegaConf

from glossary_exp.atomic import write_text_atomically
from glossary_exp.names import run_name, safe_name

# A stamp at the start of a directory name: its time and random part.
STAMP_PATTERN = re.compile(r"^(\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2})_([0-9a-f]{6})")


def new_stamp() -> str:
    return time.strftime("%Y-%m-%d_%H-%M-%S") + "_" + secrets.token_hex(3)


# Once per command (the CLI renews it): every directory a command names shares it, and two
# processes starting in the same second still differ in the random suffix.
STAMP = new_stamp()


def renew_stamp() -> None:
    """A new stamp for the next command run in this process, which has created no directory yet."""
    global STAMP
    STAMP = new_stamp()
    _existed_above.clear()

CONFIG_FILE = "config.yaml"  # the composed config with the seed actually used
METRICS_FILE = "metrics.json"
CHECKPOINT_DIR = "checkpoints"
LAST_CHECKPOINT = "last.ckpt"
LOCK_FILE = ".lock"  # held (flock) by the process running or resuming the run; holds its PID

# For each run directory this process named: the nearest directory above it that already existed,
# so a refused command can remove exactly what Hydra created for it.
_existed_above: dict[str, Path] = {}
_locks: dict[str, TextIO] = {}


def run_dir(output_dir: str, name: str, overrides: list[str], resume: str | None,
            reproduce: str | None = None) -> str:
    """``<output_dir>/<name>/<stamp>[_<run name>]`` (:mod:`glossary_exp.names`), or the run being resumed.

    A ``resume`` that names no run gets a new directory like any run (where its error is
    recorded), never the named path: that may be any directory, or not exist at all. A reproduction
    goes beside its run's experiment, named after it: ``<stamp>_reproduce_of_<its id>``.
    """
    resumed = find_run(output_dir, str(resume)) if resume else None
    if resumed is not None:
        return str(resumed)
    leaf = "_".join(part for part in (STAMP, run_name(overrides)) if part)
    source = find_run(output_dir, str(reproduce)) if reproduce else None
    if source is not None:
        saved = OmegaConf.to_container(OmegaConf.load(source / CONFIG_FILE), resolve=False)
        name = saved["name"] if isinstance(saved, dict) and _plain_text(saved.get("name")) else name
        leaf = f"{STAMP}_reproduce_of_{safe_name(identify(source)[0].replace('/', '-'))}"
    path = Path(output_dir) / safe_name(name) / leaf
    _existed_above.setdefault(os.path.abspath(path), _nearest_existing(path))
    return str(path)


def sweep_dir(output_dir: str, name: str) -> str:
    """``<output_dir>/<name>/multirun_<stamp>``: a multirun's directory, its jobs' directories inside."""
    path = Path(output_dir) / safe_name(name) / f"multirun_{STAMP}"
    _existed_above.setdefault(os.path.abspath(path), _nearest_existing(path))
    return str(path)


def _nearest_existing(path: Path) -> Path:
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def named_here() -> list[Path]:
    """The run and sweep directories this command named, in order (the last: the one it was making)."""
    return [Path(path) for path in _existed_above]


def discard_new_run(run: Path) -> bool:
    """Remove a run or sweep directory this process created, and the parents made with it; False if not ours."""
    run = Path(os.path.abspath(run))
    stop = _existed_above.get(str(run))
    if stop is None or not run.is_dir() or run == stop:
        return False
    unlock_run(run)
    shutil.rmtree(run, ignore_errors=True)
    for parent in run.parents:
        if parent == stop or not parent.is_relative_to(stop):
            break
        try:
            parent.rmdir()  # only if empty: another run may have arrived meanwhile
        except OSError:
            break
    return True


def lock_run(run: Path, label: str) -> None:
    """Hold ``run``'s lock until :func:`unlock_run` or this process ends (a dead holder's lock is free again).

    A second process running or resuming the same run is refused, naming the holder's PID.
    """
    from glossary_exp.errors import ConfigError

    key = os.path.abspath(run)
    if key in _locks:
        return
    handle = open(Path(run) / LOCK_FILE, "a+")  # noqa: SIM115 - held for the run's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise ConfigError(f"{label}: the run is in use by process {holder} (it is running or being resumed); "
                          "wait for it to end or stop it") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    _locks[key] = handle


def held(run: Path) -> bool:
    """Whether a live process holds ``run``'s lock (a "running" record whose lock is free is stale: its process died).

    Probes by taking the lock for an instant, so a process starting the run at that very instant is refused.
    """
    try:
        handle = open(Path(run) / LOCK_FILE)  # noqa: SIM115 - closed below
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        return False  # closing releases the probe


def unlock_run(run: Path) -> None:
    handle = _locks.pop(os.path.abspath(run), None)
    if handle is not None:
        handle.close()  # closing releases the flock


def find_run(output_dir: str | Path, ref: str) -> Path | None:
    """The run directory ``ref`` names: a path, or the start of a run directory's name (its id).

    ``resume=2026-11-23_12-31-29_dfe05f`` finds the run under ``output_dir`` by its id alone, and
    ``reproduce=2026-11-23_12-31-29_dfe05f/3`` job 3 of that sweep.
    """
    ref = str(ref)
    if (Path(ref) / CONFIG_FILE).is_file():
        return Path(ref)
    sweep, _, job = ref.partition("/")
    if job.isdigit():  # a sweep job, as `runs` names it: <sweep stamp>/<job number>
        pattern = f"*/multirun_{glob.escape(sweep)}*/{job}_*"
        jobs = [p for p in Path(output_dir).glob(pattern) if (p / CONFIG_FILE).is_file()]
        return jobs[0] if len(jobs) == 1 else None
    matches = [p.parent for p in Path(output_dir).rglob(CONFIG_FILE) if p.parent.name.startswith(ref)]
    return matches[0] if len(matches) == 1 else None


def identify(path: Path) -> tuple[str, str]:
    """(the run's id, the experiment it is under): ``<stamp>``, or ``<sweep stamp>/<job>`` for a sweep job."""
    parent, job = path.parent, path.name.split("_", 1)[0]
    if parent.name.startswith("multirun_") and job.isdigit():
        return f"{parent.name[len('multirun_'):]}/{job}", parent.parent.name
    stamp = STAMP_PATTERN.match(path.name)
    return (stamp.group(0) if stamp else path.name), parent.name


def run_id(run: Path) -> str:
    """The short name :func:`find_run` accepts for ``run``."""
    return run.name[: len(STAMP)] if run.name.startswith(STAMP[:4]) else str(run)


def hydra_subdir(resume: str | None) -> str:
    """Hydra's own files for this invocation; a resume keeps the original run's ``.hydra``."""
    return f".hydra/resumed_{STAMP}" if resume else ".hydra"


def preset_or(model_name: str, _root_: Any) -> str:
    """The chosen experiment preset's name, else ``model_name``: runs of a preset that sets no ``name:`` go under it.

    The choice is read from the config's own ``hydra`` node where it has one (a sweep's job config,
    composed in the sweeping process), else from the running job's.
    """
    from hydra.core.hydra_config import HydraConfig

    if "hydra" in _root_:
        experiment = OmegaConf.select(_root_, "hydra.runtime.choices.experiment")
    else:
        experiment = HydraConfig.get().runtime.choices.get("experiment") if HydraConfig.initialized() else None
    return str(experiment) if experiment else model_name


def register_resolvers() -> None:
    """Make the resolvers the configs name directories with available (``${run_dir:...}``, ``${sweep_dir:...}``...)."""
    resolvers: dict[str, Callable[..., Any]] = {
        "run_dir": run_dir, "sweep_dir": sweep_dir, "run_name": run_name, "hydra_subdir": hydra_subdir,
        "stamp": lambda: STAMP, "safe_name": safe_name}
    for name, fn in resolvers.items():
        if not OmegaConf.has_resolver(name):
            # Cached: Hydra copies a sweep's resolved values into each job's config (copy_cache), so
            # a launcher's worker process, with a stamp of its own, still names the sweep's directories.
            OmegaConf.register_new_resolver(name, fn, use_cache=True)
    if not OmegaConf.has_resolver("preset_or"):
        OmegaConf.register_new_resolver("preset_or", preset_or)  # per config: each job of a sweep has its own

def _plain_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and "${" not in value


def read_config(run: Path, label: str) -> DictConfig:
    """A run's saved ``config.yaml``, refused if it holds an interpolation (``${oc.env:...}``).

    Saved configs are written resolved, so an interpolation means the file was made by hand: resolving
    it could copy an environment variable (a secret) into the new run's files.
    """
    from glossary_exp.errors import ConfigError

    try:
        saved = OmegaConf.load(Path(run) / CONFIG_FILE)
    except Exception as err:  # noqa: BLE001 - yaml's and OmegaConf's errors alike
        raise ConfigError(f"{label}: {Path(run) / CONFIG_FILE} cannot be read ({type(err).__name__})") from None
    if not isinstance(saved, DictConfig) or "${" in OmegaConf.to_yaml(saved):
        raise ConfigError(f"{label}: {Path(run) / CONFIG_FILE} is not a config glossary_exp saved "
                          "(it holds interpolations or is not a mapping); it is not read")
    return saved


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically: a crash mid-write never leaves a truncated file behind."""
    write_text_atomically(path, json.dumps(data, indent=2, default=str) + "\n")


RECORD_LIMIT = 16 * 1024 * 1024  # bytes: a record or provenance glossary_exp writes is a few kB to a few MB


def read_record(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """A JSON object glossary_exp wrote (a record, a provenance), or (None, why it cannot be read).

    Written by atomic rename, such a file is a regular file of bounded size: a link (to a file
    elsewhere, to /dev/zero), a FIFO, a huge or deeply nested file is reported, never followed,
    waited on, read whole or allowed to crash the reader. (None, None): there is no such file.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None, None
    except OSError as err:
        link = err.errno == errno.ELOOP
        return None, "is a link, not a file glossary_exp wrote" if link else f"cannot be read ({err.strerror})"
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            return None, "is not a regular file"
        if info.st_size > RECORD_LIMIT:
            return None, f"is {info.st_size} bytes, more than any record glossary_exp writes"
        data = file.read(RECORD_LIMIT + 1)
    try:
        record = json.loads(data)
    except (ValueError, RecursionError):
        return None, "is not valid JSON (half-written or damaged)"
    return (record, None) if isinstance(record, dict) else (None, "is not a JSON object")


def read_metrics(run: Path) -> dict[str, Any] | None:
    """The ``metrics.json`` a run wrote, or None if it has none (yet) or it cannot be read."""
    return read_record(Path(run) / METRICS_FILE)[0]
