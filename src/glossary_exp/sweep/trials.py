"""A study's trials as several search processes share it: who runs each, which count, which died.

Each trial a process runs carries its owner (``host:pid``) and a heartbeat time, both user
attributes that a thread of that process rewrites every ``heartbeat_interval`` seconds. That works
alike in SQLite, the journal file and PostgreSQL (Optuna's own heartbeat is RDB's only, and
``study.optimize``'s). A running trial is stale when its owner is a dead process on this machine,
or when it has sent no heartbeat for ``grace_period`` seconds; any live worker then fails it and
queues its parameters again. Failing a trial is the storage's atomic step (a finished trial cannot
be told again), so of two workers that find the same stale trial only one queues its rerun.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from glossary_exp.sweep.study import INTERRUPTED

log = logging.getLogger(__name__)
OWNER, HEARTBEAT, RERUN_OF = "owner", "heartbeat", "rerun_of"
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def me() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def counts(trial: FrozenTrial) -> bool:
    """Whether the trial counts toward ``n_trials``: running or finished, unless failed without having run out."""
    if trial.state == TrialState.WAITING:
        return False
    return not (trial.state == TrialState.FAIL and trial.user_attrs.get(INTERRUPTED))


def counted(trials: list[FrozenTrial], below: int | None = None) -> int:
    """How many of ``trials`` count (those numbered below ``below`` only, if given)."""
    return sum(counts(t) for t in trials if below is None or t.number < below)


def foreign_running(trials: list[FrozenTrial]) -> bool:
    """Whether another process runs a trial, which may still die and need its parameters run again."""
    return any(t.state == TrialState.RUNNING and t.user_attrs.get(OWNER) != me() for t in trials)


def stale(trial: FrozenTrial, grace_period: float) -> str | None:
    """Why a running trial's worker is gone, or None while it lives (or may)."""
    if trial.state != TrialState.RUNNING:
        return None
    owner = str(trial.user_attrs.get(OWNER, ""))
    host, _, pid = owner.rpartition(":")
    if owner == me():
        return None
    if host == socket.gethostname() and pid.isdigit() and not _alive(int(pid)):
        return f"its process {pid} on this machine is gone"
    start = trial.datetime_start.timestamp() if trial.datetime_start else time.time()
    silent = time.time() - float(trial.user_attrs.get(HEARTBEAT, start))
    return f"no heartbeat from {owner or 'its worker'} for {silent:.0f} s" if silent > grace_period else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claim(trial: optuna.Trial) -> None:
    """Mark a trial this process just asked for as its own, beating from now."""
    trial.set_user_attr(OWNER, me())  # its first heartbeat is its start time


def fail_uncounted(study: optuna.Study, frozen: FrozenTrial, why: str, rerun: bool) -> bool:
    """Fail an unfinished trial so that it does not count; ``rerun``: queue its parameters again.

    False when the trial had finished meanwhile (its worker was alive after all, or another
    worker failed it first): then nothing is queued.
    """
    try:
        trial = optuna.Trial(study, frozen._trial_id)  # a live handle on a stored trial, as Optuna's integrations do
        trial.set_user_attr(INTERRUPTED, why)
        study.tell(trial, state=TrialState.FAIL)
    except (RuntimeError, ValueError):  # UpdateFinishedTrialError is a RuntimeError
        return False
    if rerun:
        study.enqueue_trial(frozen.params, user_attrs={RERUN_OF: frozen.number})
    return True


def fail_stale(study: optuna.Study, grace_period: float) -> int:
    """Fail the trials whose workers are gone and queue their parameters again; how many."""
    failed = 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        why = stale(trial, grace_period)
        if why and fail_uncounted(study, trial, why, rerun=True):
            log.warning("trial %d: %s; its parameters run again", trial.number, why)
            failed += 1
    return failed


class Heartbeat:
    """One thread that rewrites the heartbeat of every trial this process is running."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.trials: dict[int, optuna.Trial] = {}
        self.lock, self.stop = threading.Lock(), threading.Event()
        threading.Thread(target=self._beat, name="trial-heartbeat", daemon=True).start()

    def add(self, trial: optuna.Trial) -> None:
        with self.lock:
            self.trials[trial.number] = trial

    def discard(self, trial: Any) -> None:
        with self.lock:
            self.trials.pop(trial.number, None)

    def running(self) -> list[optuna.Trial]:
        with self.lock:
            return list(self.trials.values())

    def _beat(self) -> None:
        while not self.stop.wait(self.interval):
            for trial in self.running():
                try:
                    trial.set_user_attr(HEARTBEAT, time.time())
                except Exception as err:  # noqa: BLE001 - finished meanwhile, or the storage blinked: beat again later
                    log.debug("heartbeat of trial %d: %s", trial.number, err)
