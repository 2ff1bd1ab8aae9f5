"""Stopping a run on SIGTERM so that a scheduler can trust its exit status.

A cluster scheduler (Slurm, Kubernetes, systemd, ``timeout``) asks a job to stop with SIGTERM. Python's
default is to die on the spot: nothing is flushed, and the exit status does not say why. While
:func:`stop_on_signals` is active, SIGTERM instead raises :class:`Stopped` in the main thread, once (a
second SIGTERM does not interrupt the clean-up the first one started), so ``finally`` blocks write what
is finished; the CLI prints one line and exits ``128 + signal`` (143 for SIGTERM)::

    with stop_on_signals():
        run()                    # raises Stopped(SIGTERM) at the point the signal arrived

Code that can stop at a safe point of its own (Lightning's training loop, which finishes the current
batch and raises there) runs inside :func:`deferred`: the signal is only recorded, and the loop is
trusted to stop; :func:`deferred` raises :class:`Stopped` on exit if the loop did not.

Ctrl-C (SIGINT) keeps Python's ``KeyboardInterrupt`` (exit 130 from the CLI).
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

__all__ = ["Stopped", "stop_on_signals", "deferred", "received_signal"]


class Stopped(BaseException):
    """The run was stopped by a signal after keeping what it had finished; rerunning resumes it.

    A ``BaseException`` (like ``KeyboardInterrupt``), so ``except Exception`` blocks do not swallow it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(int(signum))
        self.signum = int(signum)

    @property
    def signal_name(self) -> str:
        try:
            return signal.Signals(self.signum).name
        except ValueError:
            return f"signal {self.signum}"

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process ended by a signal: 128 + its number (143 for SIGTERM)."""
        return 128 + self.signum

    def __str__(self) -> str:
        return f"stopped by {self.signal_name}; rerun the same command to resume"


class _State:
    signum: int | None = None  # the first signal received while stop_on_signals() was active
    deferred: int = 0  # depth of deferred() blocks


_STATE = _State()


def received_signal() -> int | None:
    """The signal that asked this process to stop (inside :func:`stop_on_signals`), or None."""
    return _STATE.signum


def _handler(signum: int, frame: Any) -> None:
    first = _STATE.signum is None
    if first:
        _STATE.signum = signum
    if first and not _STATE.deferred:
        raise Stopped(signum)


@contextmanager
def stop_on_signals(signums: Sequence[int] = (signal.SIGTERM,)) -> Iterator[None]:
    """Within the block, the given signals raise :class:`Stopped` once (see the module docstring).

    Only the main thread can install signal handlers; elsewhere this does nothing. The previous
    handlers come back on exit.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _handler) for s in signums}
    _STATE.signum = None
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        _STATE.signum = None


@contextmanager
def deferred() -> Iterator[None]:
    """Within the block, a signal is only recorded: the code inside stops at a safe point of its own.

    Raises :class:`Stopped` on exit when a signal arrived and the block ended normally anyway.
    """
    _STATE.deferred += 1
    try:
        yield
    finally:
        _STATE.deferred -= 1
    if _STATE.signum is not None and not _STATE.deferred:
        raise Stopped(_STATE.signum)
