"""Ctrl-C and SIGTERM end a command as shells expect: exit status 128 + the signal (130, 143).

The command's process turns either signal into :class:`Interrupted`, a ``KeyboardInterrupt``, so
Lightning shuts a fit down as it does for Ctrl-C (it then raises ``SystemExit(1)``, and its own
SIGTERM handling would exit 0 at the next batch); the run records "interrupted" and the CLI exits
with :func:`exit_status`. Jobs in other processes (launcher workers) keep their own handlers.

While a Trainer loop runs (:func:`defer`), the first signal is only noted and raised at the
loop's next batch boundary (:func:`act_on_pending`), as Lightning does with SIGTERM: an exception
raised from a handler lands between any two bytecodes, and one that lands inside ``queue.Queue.put``
(TensorBoard's event writer) leaves the writer's thread unwoken, so the interrupted run's last flush
hung for up to two minutes. A second signal raises at once, for a loop stuck inside one batch.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

HANDLED = (signal.SIGINT, signal.SIGTERM)
REASONS = {signal.SIGINT: "Ctrl-C (SIGINT)",
           signal.SIGUSR2: "SIGUSR2 (in a SLURM job: a preemption or the time limit near; requeued)"}
_received: list[int] = []
_deferring = False  # after defer(): the first signal waits for act_on_pending()
_pending: list[int] = []


class Interrupted(KeyboardInterrupt):
    """The command was asked to stop by ``signum``."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _interrupt(signum: int, frame: FrameType | None) -> None:
    _received.append(signum)
    if _deferring and not _pending:
        _pending.append(signum)
        return
    raise Interrupted(signum)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise :class:`Interrupted`; the previous handlers come back after."""
    previous = {signum: signal.getsignal(signum) for signum in HANDLED}
    _received.clear()  # a command run again in this process starts with none
    for signum in HANDLED:
        signal.signal(signum, _interrupt)
    try:
        yield
    finally:
        stop_deferring(drop=True)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def defer() -> None:
    """From now on the first SIGINT or SIGTERM waits for :func:`act_on_pending`: a Trainer loop has started."""
    global _deferring
    _deferring = True


def act_on_pending() -> None:
    """Raise the signal that arrived since the last boundary, if any: a place where stopping is safe."""
    if _pending:
        raise Interrupted(_pending.pop())


def stop_deferring(drop: bool = False) -> None:
    """Signals raise where they land again; one still pending is raised now, or dropped (the loop is failing)."""
    global _deferring
    _deferring = False
    if drop:
        _pending.clear()
    act_on_pending()


def record(*signums: int) -> None:
    """Note each of ``signums`` when it arrives, then call the handler it had (a SLURM job's: submitit's, Lightning's).

    So the record of a run that such a signal stopped says which one did.
    """
    for signum in signums:
        previous = signal.getsignal(signum)

        def noted(number: int, frame: FrameType | None, previous: object = previous) -> None:
            _received.append(number)
            if callable(previous):
                previous(number, frame)

        signal.signal(signum, noted)


def exit_status() -> int:
    """128 + the signal that stopped the command (SIGINT when it was a plain KeyboardInterrupt)."""
    return 128 + (_received[-1] if _received else signal.SIGINT)


def describe() -> str:
    """How the command was stopped, for its record."""
    # In a SLURM job, USR2 stops the run at once and submitit's requeue then sends SIGTERM: USR2 is the cause.
    signum = signal.SIGUSR2 if signal.SIGUSR2 in _received else _received[-1] if _received else signal.SIGINT
    return f"interrupted by {REASONS.get(signal.Signals(signum), signal.Signals(signum).name)}"
