"""One writer per store: an operating-system lock on ``STORE.lock``, held while the store is written.

Two processes appending to one store would overwrite each other's part files and merge half-written
work. Every writer (``StoreWriter``, ``merge_parts``, ``extract``, ``pca``, ``store merge``) takes an
exclusive ``flock`` on ``STORE.lock`` first; a second writer is refused at once with one line naming the
holder (pid, host, command, since when), which the lock file records.

* The kernel drops the lock when its holder dies, even by ``kill -9``: the next writer simply gets it
  (and logs whose stale record it replaced). Nothing has to be cleaned up by hand.
* Forked children (decoding workers) do not inherit the hold, so a killed writer's orphaned workers do
  not keep its store locked. A child drops its copy of the lock when it first runs after the fork; a writer
  killed right after forking (on a loaded machine, before the child ran) leaves the lock held for that
  moment, so a lock whose record names a process of this host that no longer runs is waited for (up to
  ``_ORPHAN_WAIT_S``) rather than reported as a live writer.
* A process may lock a store it already holds (``extract`` locks, then its writer and merge lock
  again): the inner acquisitions are no-ops and the outermost release unlocks.
* The ranks of one ``torchrun`` job share the lock: the first rank takes it, the others find their own
  job (rendezvous id, master address and port; with a loopback master also the host) in the record and go on;
  another job is refused.
* A clean release removes the lock file. Removal happens while the lock is held, and a process that
  locked a file that was removed meanwhile (checked by inode) tries again, so two holders never coexist.

``flock`` works on local file systems and, on Linux, on NFS (emulated with POSIX byte-range locks).
"""

from __future__ import annotations

import datetime
import fcntl
import json
import logging
import os
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from action2vec.distributed import process_layout
from action2vec.errors import DataError

__all__ = ["StoreLock", "StoreLockedError", "lock_path"]

log = logging.getLogger(__name__)

_RECORD_WAIT_S = 5.0  # how long to wait for a just-started holder to write its record
_ORPHAN_WAIT_S = 30.0  # how long a dead holder's just-forked children may take to drop their copy of the lock


class StoreLockedError(DataError):
    """Another process is writing the store (the message names it)."""


def lock_path(store: str | Path) -> Path:
    """The lock file of store ``store``: ``STORE.lock`` beside it."""
    store = Path(store)
    return store.with_name(store.name + ".lock")


@dataclass
class _Held:
    fd: int | None  # None: joined a lock another rank of this torchrun job holds


_HELD: dict[Path, _Held] = {}  # lock file -> this process's hold


def _forget_in_child() -> None:
    """A forked child (a DataLoader worker) must not keep its parent's lock alive after the parent dies."""
    for held in _HELD.values():
        if held.fd is not None:
            os.close(held.fd)  # the parent's descriptor still holds the lock
    _HELD.clear()


os.register_at_fork(after_in_child=_forget_in_child)


def _record() -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": " ".join(sys.argv)[:300],
        "since": datetime.datetime.now().isoformat(timespec="seconds"),
        "job": process_layout().job,
    }


def _read_record(fd: int) -> dict[str, Any] | None:
    try:
        data = json.loads(os.pread(fd, 1 << 16, 0).decode("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _describe(record: dict[str, Any] | None) -> str:
    if not record:
        return "a process that has not said who it is"
    job = f", torchrun job {record['job']}" if record.get("job") else ""
    return f"pid {record.get('pid')} on {record.get('host')} since {record.get('since')}{job}: {record.get('command')}"


def _dead_here(record: dict[str, Any] | None) -> bool:
    """Whether ``record`` names a process of this host that no longer runs."""
    if not record or record.get("host") != socket.gethostname() or not isinstance(record.get("pid"), int):
        return False
    try:
        os.kill(record["pid"], 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, owned by another user
        return False
    return False


def _same_file(fd: int, path: Path) -> bool:
    try:
        a, b = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


class StoreLock:
    """The writer's lock on one store; ``with StoreLock(path):`` or ``acquire()`` / ``release()``."""

    def __init__(self, store: str | Path) -> None:
        self.store = Path(store)
        self.path = lock_path(self.store)
        self._key = self.path.resolve()
        self._owner = False  # this object made the hold (not a nested acquisition)

    def acquire(self) -> "StoreLock":
        """Take the lock, or raise :class:`StoreLockedError` naming the process that holds it."""
        if self._key in _HELD:
            return self  # this process holds it already: nested, released by the outermost owner
        self.path.parent.mkdir(parents=True, exist_ok=True)
        start = time.monotonic()
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                record = _read_record(fd)
                os.close(fd)
                waited = time.monotonic() - start
                if record is None and waited < _RECORD_WAIT_S:
                    time.sleep(0.05)  # the holder has just locked and not yet written its record
                    continue
                if _dead_here(record):
                    if waited < _ORPHAN_WAIT_S:
                        time.sleep(0.05)  # a child forked just before the holder died has not dropped its copy yet
                        continue
                    raise StoreLockedError(
                        f"{self.store}: its lock {self.path} is still held by processes forked by {_describe(record)}, "
                        "which no longer runs; stop them (fuser -k on the lock file) and rerun"
                    ) from None
                job = process_layout().job
                if record is not None and job is not None and record.get("job") == job:
                    _HELD[self._key] = _Held(None)
                    self._owner = True
                    return self
                raise StoreLockedError(
                    f"{self.store} is being written by another process ({_describe(record)}); "
                    "wait for it to end, or stop it and rerun"
                ) from None
            if not _same_file(fd, self.path):
                os.close(fd)  # its holder removed it on release just before we locked: try the new one
                continue
            break
        stale = _read_record(fd)
        if stale:
            log.info("%s: taking over the lock left by %s (no longer running)", self.store, _describe(stale))
        data = json.dumps(_record()).encode("utf-8")
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)
        _HELD[self._key] = _Held(fd)
        self._owner = True
        return self

    def release(self) -> None:
        """Give the lock up (a no-op for nested acquisitions and for a lock not held)."""
        if not self._owner:
            return
        self._owner = False
        held = _HELD.pop(self._key, None)
        if held is None or held.fd is None:
            return
        try:
            if _same_file(held.fd, self.path):
                os.unlink(self.path)
        finally:
            os.close(held.fd)

    @property
    def held(self) -> bool:
        """Whether this process holds (or, as a torchrun rank, shares) the lock."""
        return self._key in _HELD

    def __enter__(self) -> "StoreLock":
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()
