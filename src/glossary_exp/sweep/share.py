"""Each job's share of the machine when a local launcher runs several at once: torch threads and one GPU.

A worker process takes a free slot (a lock file in the sweep directory) on its first job and keeps
it for life, so the GPU it picked before CUDA started stays its GPU for every later job.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import Any, TextIO

log = logging.getLogger(__name__)
_slot: tuple[int, TextIO] | None = None  # (slot, open lock file) of this process


def local_jobs(launcher: Any) -> int | None:
    """Jobs the launcher runs at once on this machine (joblib's ``n_jobs``); None for other launchers."""
    n_jobs = launcher.get("n_jobs") if launcher is not None else None
    if not isinstance(n_jobs, int) or n_jobs == 0:
        return None
    return min(usable_cores(), jobs_at_once(n_jobs))


def jobs_at_once(n_jobs: int) -> int:
    """``n_jobs`` counted like joblib's: above 0 as given, -1 one per core, -2 all cores but one..."""
    return n_jobs if n_jobs > 0 else max(1, usable_cores() + 1 + n_jobs)


def usable_cores() -> int:
    """Cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def visible_gpus() -> list[str]:
    """GPU ids, read without starting CUDA (CUDA_VISIBLE_DEVICES, else the driver's list)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [g for g in visible.split(",") if g.strip()]
    driver = Path("/proc/driver/nvidia/gpus")
    return [str(i) for i in range(len(list(driver.iterdir())))] if driver.is_dir() else []


def take_slot(slots: int, lock_dir: Path) -> int:
    """This process's slot in ``0..slots-1``: the first whose lock no other live process holds."""
    global _slot
    if _slot is None:
        lock_dir.mkdir(parents=True, exist_ok=True)
        for slot in range(slots):
            handle = open(lock_dir / f"slot{slot}.lock", "w")  # noqa: SIM115 - held until the process ends
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            _slot = (slot, handle)
            break
        else:  # more workers than slots (a replaced worker whose predecessor is still exiting)
            return os.getpid() % slots
    return _slot[0]


def share_machine(hydra_cfg: Any) -> str | None:
    """Limit torch threads (and pick a GPU) for this job; a description, or None when nothing is shared."""
    launcher = hydra_cfg.get("launcher")
    jobs = local_jobs(launcher)
    if jobs is not None:
        slot = take_slot(jobs, Path(hydra_cfg.sweep.dir) / ".slots")
        threads = max(1, usable_cores() // jobs)
    elif launcher is not None and isinstance(launcher.get("cpus_per_task"), int):  # submitit / SLURM
        slot, threads = 0, launcher.cpus_per_task
    else:
        return None
    gpu = ""
    gpus = visible_gpus()
    if jobs is not None and len(gpus) > 1:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpus[slot % len(gpus)]  # before CUDA starts in this process
        gpu = f", GPU {gpus[slot % len(gpus)]}"
    import torch

    torch.set_num_threads(threads)
    return f"slot {slot} of {jobs or 1}: {threads} torch thread(s){gpu}"
