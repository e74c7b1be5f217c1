"""SLURM for ``hydra/launcher=slurm``: requests checked against the partition, job states from squeue, cancel on stop.

What the cluster offers is read with ``sinfo`` before anything is submitted, so a job that no node
can hold (SLURM would leave it pending forever: PartitionConfig) is refused with one line. Job states
come from ``squeue``: submitit asks ``sacct``, which a cluster without accounting answers with an error
at every poll, leaving a job that ended without a result (cancelled, killed) waiting forever. The
sweep's unfinished SLURM jobs are cancelled when the sweep process stops (Ctrl-C, SIGTERM, a crash).
Imports no torch; submitit only where a sweep runs.
"""

from __future__ import annotations

import atexit
import logging
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from glossary_exp.errors import ConfigError, listing, nearest

log = logging.getLogger(__name__)
SINFO_FORMAT = "%P|%a|%l|%D|%c|%m|%G"  # partition (default*)|state|time limit|nodes|CPUs|memory MB|GRES
CANCEL_WAIT_S = 60  # for cancelled jobs to leave the queue (SLURM's KillWait is 30 s by default)


@dataclass
class Partition:
    name: str
    default: bool
    up: bool
    max_minutes: int | None  # None: no limit
    nodes: int
    cpus: int  # of its largest node, as for memory and GPUs
    memory_mb: int
    gpus: int

    def offers(self) -> str:
        limit = "no time limit" if self.max_minutes is None else f"a time limit of {self.max_minutes} min"
        gpus = f"{self.gpus} GPU(s)" if self.gpus else "no GPUs"
        return (f"partition {self.name} offers {self.nodes} node(s), at most {self.cpus} CPUs, {self.memory_mb} MB "
                f"and {gpus} per node, {limit}")


def read_partitions() -> dict[str, Partition] | None:
    """The cluster's partitions from ``sinfo``; None where there is no sinfo to ask (nothing can be checked)."""
    if shutil.which("sinfo") is None:
        return None
    try:
        out = subprocess.run(["sinfo", "--noheader", "--exact", f"--format={SINFO_FORMAT}"], capture_output=True,
                             text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as err:
        log.warning("could not ask sinfo for the cluster's partitions (%s); the request is not checked", err)
        return None
    partitions: dict[str, Partition] = {}
    for line in out.splitlines():
        fields = line.strip().split("|")
        if len(fields) != 7:
            continue
        name, state, limit, nodes, cpus, memory, gres = fields
        part = Partition(name.rstrip("*"), name.endswith("*"), state == "up", minutes(limit), _int(nodes), _int(cpus),
                         _int(memory), gpus_in(gres))
        known = partitions.get(part.name)
        if known is not None:  # nodes of several kinds: one line each
            part = Partition(part.name, part.default, part.up or known.up, part.max_minutes, known.nodes + part.nodes,
                             max(known.cpus, part.cpus), max(known.memory_mb, part.memory_mb),
                             max(known.gpus, part.gpus))
        partitions[part.name] = part
    return partitions


def _int(text: str) -> int:
    match = re.match(r"\d+", text)
    return int(match.group()) if match else 0


def minutes(limit: str) -> int | None:
    """SLURM's time format (``1-00:00:00``, ``2:00:00``, ``30:00``, ``30``) in minutes; None for no limit."""
    if limit.lower() in ("infinite", "unlimited", "n/a", ""):
        return None
    days, _, clock = limit.rpartition("-")
    parts = [int(p) for p in clock.split(":")]
    hours, mins, secs = ([0] * (3 - len(parts)) + parts) if len(parts) > 1 else (0, parts[0], 0)
    return int(days or 0) * 1440 + hours * 60 + mins + (1 if secs else 0)


def gpus_in(gres: str) -> int:
    """GPUs per node in sinfo's GRES column (``gpu:4``, ``gpu:a100:2(S:0-1)``, ``(null)``)."""
    total = 0
    for item in gres.split(","):
        parts = re.sub(r"\(.*?\)", "", item).split(":")
        if parts[0] == "gpu" and parts[-1].isdigit():
            total += int(parts[-1])
    return total


def check_request(settings: Mapping[str, Any], partitions: dict[str, Partition] | None = None) -> None:
    """Refuse, naming the setting and what the partition offers, a request that no node could ever run."""
    partitions = read_partitions() if partitions is None else partitions
    if not partitions:
        return
    asked = settings.get("partition")
    if asked is None:
        default = next((p for p in partitions.values() if p.default), None)
        if default is None:
            raise ConfigError(f"hydra.launcher.partition is not set and the cluster has no default partition; "
                              f"choose one of: {listing(partitions)}")
        part = default
    elif asked not in partitions:
        raise ConfigError(f"hydra.launcher.partition={asked} is not a partition of this cluster"
                          f"{nearest(asked, partitions)}; choose one of: {listing(partitions)}")
    else:
        part = partitions[asked]
    tasks = int(settings.get("tasks_per_node") or 1)
    cpus = int(settings.get("cpus_per_task") or 1) * tasks
    mem_gb, gpus = settings.get("mem_gb"), int(settings.get("gpus_per_node") or 0)
    timeout, nodes = int(settings.get("timeout_min") or 0), int(settings.get("nodes") or 1)
    too_much = [
        (cpus > part.cpus, f"hydra.launcher.cpus_per_task={settings.get('cpus_per_task')}"
                           + (f" x tasks_per_node={tasks}" if tasks > 1 else ""), f"ask for at most {part.cpus} CPUs"),
        (mem_gb is not None and float(mem_gb) * 1024 > part.memory_mb, f"hydra.launcher.mem_gb={mem_gb}",
         f"ask for at most {part.memory_mb // 1024} GB"),
        (gpus > part.gpus, f"hydra.launcher.gpus_per_node={gpus}",
         f"ask for at most {part.gpus}" if part.gpus else "ask for none"),
        (nodes > part.nodes, f"hydra.launcher.nodes={nodes}", f"ask for at most {part.nodes}"),
        (part.max_minutes is not None and timeout > part.max_minutes, f"hydra.launcher.timeout_min={timeout}",
         f"ask for at most {part.max_minutes}"),
    ]
    for exceeded, setting, fix in too_much:
        if exceeded:
            raise ConfigError(f"{setting} can never run: {part.offers()} (sinfo); {fix}, or choose another "
                              f"hydra.launcher.partition ({listing(partitions)})")
    if not part.up:
        log.warning("partition %s is not up: the jobs wait until it is", part.name)


def sbatch_parameters(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Our launcher settings as submitit's SlurmExecutor parameters."""
    mem_gb = settings.get("mem_gb")
    given = {
        "partition": settings.get("partition"), "time": settings.get("timeout_min"), "nodes": settings.get("nodes"),
        "ntasks_per_node": settings.get("tasks_per_node"), "cpus_per_task": settings.get("cpus_per_task"),
        "gpus_per_node": settings.get("gpus_per_node") or None,
        "mem": f"{int(float(mem_gb) * 1024)}M" if mem_gb is not None else None,
        "array_parallelism": settings.get("array_parallelism"), "signal_delay_s": settings.get("signal_delay_s"),
        "job_name": settings.get("name"), "qos": settings.get("qos"), "account": settings.get("account"),
        "constraint": settings.get("constraint"), "exclude": settings.get("exclude"),
        "comment": settings.get("comment"), "setup": settings.get("setup"),
        "additional_parameters": dict(settings.get("additional_parameters") or {}) or None,
        "stderr_to_stdout": settings.get("stderr_to_stdout"),
    }
    return {key: value for key, value in given.items() if value is not None}


def install_squeue_watcher() -> None:
    """Have submitit read SLURM job states from squeue, which works without accounting, instead of sacct.

    submitit keeps one watcher for every SlurmJob (a class attribute; job arrays are built by name
    inside submitit, so a subclass could not reach them): replacing it is the one way in.
    """
    from submitit.slurm import slurm

    with _lock:  # a search's worker threads launch at the same time: one watcher for all their jobs
        watcher = _squeue_watcher_class()
        if not isinstance(slurm.SlurmJob.watcher, watcher):
            slurm.SlurmJob.watcher = watcher(delay_s=30)


def _squeue_watcher_class() -> type:
    """The watcher's class, defined on first use: it subclasses submitit's, imported only where a sweep runs."""
    from submitit.slurm.slurm import SlurmInfoWatcher

    global _watcher_class
    if _watcher_class is None:
        class SqueueInfoWatcher(SlurmInfoWatcher):
            """States from ``squeue --me --states=all``; a job no longer listed (purged after it ended) is done."""

            GONE = "NOT_IN_QUEUE"  # not among the states submitit counts as unfinished

            def _make_command(self) -> list[str] | None:
                if not self._registered - self._finished:
                    return None
                # --me, not --jobs: squeue fails when every job asked for has left the queue.
                return ["squeue", "--me", "--noheader", "--states=all", "--format=%i|%T|%N"]

            def read_info(self, string: bytes | str) -> dict[str, dict[str, str]]:
                text = string.decode() if isinstance(string, bytes) else string
                info = super().read_info("JobID|State|NodeList\n" + text)  # sacct's header, which squeue lacks
                for job_id in self._registered - self._finished:
                    info.setdefault(job_id, {"JobID": job_id, "State": self.GONE})
                return info

        _watcher_class = SqueueInfoWatcher
    return _watcher_class


_watcher_class: type | None = None
_live: dict[str, Any] = {}  # job id -> submitit job, submitted by this process and not yet collected
_lock = threading.Lock()  # for both: a search launches from several threads


def track(jobs: list[Any]) -> None:
    """Cancel ``jobs`` if this process ends before they do (Ctrl-C, SIGTERM, a crash of the sweep)."""
    with _lock:
        if not _live:
            atexit.register(cancel_unfinished)
        _live.update({job.job_id: job for job in jobs})


def collected(job: Any) -> None:
    with _lock:
        _live.pop(job.job_id, None)


def cancel_unfinished() -> None:
    """``scancel`` the tracked jobs still queued or running, and wait (bounded) until they have left the queue."""
    with _lock:
        ids = sorted(_live)
        _live.clear()
    arrays = {i.split("_")[0] for i in ids}
    atexit.unregister(cancel_unfinished)
    if not ids:
        return
    print(f"Cancelling {len(ids)} SLURM job(s) of the sweep: scancel {' '.join(ids)}", flush=True)
    subprocess.run(["scancel", *ids], capture_output=True, timeout=60, check=False)
    deadline = time.time() + CANCEL_WAIT_S
    while time.time() < deadline:
        out = subprocess.run(["squeue", "--me", "--noheader", "--format=%i"], capture_output=True, text=True,
                             timeout=30, check=False).stdout.split()
        if not arrays & {item.split("_")[0] for item in out}:  # pending tasks show as <array>_[2-5]
            return
        time.sleep(1)
    log.warning("SLURM jobs %s were still in the queue %d s after scancel", " ".join(ids), CANCEL_WAIT_S)
