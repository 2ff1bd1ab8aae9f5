"""One writer per store: the OS lock, its holder record, takeover after kill -9, torchrun ranks, empty keys."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from action2vec.cli.main import main
from action2vec.errors import DataError
from action2vec.store import FeatureStore, StoreLock, StoreLockedError, StoreWriter, merge_parts, open_store, parts_dir
from action2vec.store.lock import lock_path

HOLDER = """
import os, sys, time
from action2vec.store import StoreLock
lock = StoreLock(sys.argv[1]).acquire()
if len(sys.argv) > 2:  # a forked child, as a DataLoader worker would be
    child = os.fork()
    if child == 0:
        time.sleep(60)
        os._exit(0)
    print("child", child, flush=True)
print("locked", flush=True)
sys.stdin.readline()
lock.release()
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TORCHELASTIC_RUN_ID", "MASTER_ADDR", "MASTER_PORT")}
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


# The same holder, but its forked child is slow to run after the fork (as a child not yet scheduled on a
# loaded machine is): a hook registered before action2vec's runs first in the child and sleeps.
SLOW_CHILD_HOLDER = "import os, time\nos.register_at_fork(after_in_child=lambda: time.sleep(3))\n" + HOLDER


def _holder(store: Path, *args: str, script: str = HOLDER, **env: str) -> tuple[subprocess.Popen, int | None]:
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(store), *args],
        env=_env(**env),
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    child = None
    for line in proc.stdout:
        if line.startswith("child"):
            child = int(line.split()[1])
        if line.startswith("locked"):
            return proc, child
    raise AssertionError("the holder process did not take the lock")


def _store(path: Path, keys=("a", "b", "c")) -> Path:
    with StoreWriter(path, meta={"backbone": "t"}) as w:
        for i, k in enumerate(keys):
            w.add(k, np.full((3, 4), i, np.float32), label=f"c{i % 2}")
    return path


def test_a_second_writer_is_refused_with_the_holder_named(tmp_path, capsys):
    store = _store(tmp_path / "s.h5")
    proc, _ = _holder(store)
    try:
        with pytest.raises(StoreLockedError) as info:
            StoreWriter(store, meta={"backbone": "t"})
        message = str(info.value)
        assert f"pid {proc.pid}" in message and "being written by another process" in message
        assert "\n" not in message
        # every other writer of the store respects it, from the CLI with one line and exit 2
        assert main(["store", "merge", str(store)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"pid {proc.pid}" in err[0]
        raw = _store(tmp_path / "raw.h5")
        assert (
            main(["pca", str(store), "--out", str(tmp_path / "p.h5"), "--dim", "2", "--fit-keys", str(_keys(tmp_path))])
            == 0
        )  # reading a locked store is fine
        capsys.readouterr()
        assert main(["pca", str(raw), "--out", str(store), "--dim", "1", "--fit-keys", str(_keys(tmp_path))]) == 2
        assert f"pid {proc.pid}" in capsys.readouterr().err
        with pytest.raises(StoreLockedError):
            merge_parts(store)
        # extract is refused before its log file, backbone or video list are touched
        assert (
            main(
                [
                    "extract",
                    "--list",
                    str(tmp_path / "no-list.txt"),
                    "--out",
                    str(store),
                    "--backbone",
                    "c3d-tiny",
                    "--random-weights",
                ]
            )
            == 2
        )
        assert f"pid {proc.pid}" in capsys.readouterr().err
        assert not store.with_name(store.name + ".log").exists() and not parts_dir(store).exists()
    finally:
        proc.communicate("\n", timeout=60)
    assert not lock_path(store).exists()  # a clean release removes the lock file
    StoreWriter(store, meta={"backbone": "t"}).close()  # and the store is free again


def _keys(tmp_path: Path) -> Path:
    path = tmp_path / "keys.txt"
    path.write_text("a\nb\nc\n")
    return path


@pytest.mark.parametrize("script", [HOLDER, SLOW_CHILD_HOLDER], ids=["child-ran", "child-not-yet-run"])
def test_the_lock_of_a_killed_writer_is_taken_over_even_with_orphaned_workers(tmp_path, caplog, script):
    """child-not-yet-run is the race behind a flaky failure under load: the writer forks a worker and is killed
    before the worker has run at all, so the worker's copy of the lock descriptor is still open; the next writer
    waits for it to close (the record names a dead process of this host) rather than report a live writer."""
    store = tmp_path / "s.h5"
    proc, child = _holder(store, "fork", script=script)
    try:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert lock_path(store).exists()  # the dead holder's record is still there
        os.kill(child, 0)  # its forked child still lives, and must not keep the lock
        with caplog.at_level(logging.INFO, logger="action2vec.store.lock"):
            with StoreLock(store) as lock:
                assert lock.held
        assert f"pid {proc.pid}" in caplog.text and "no longer running" in caplog.text
    finally:
        os.kill(child, signal.SIGKILL)
    assert not lock_path(store).exists()


def test_ranks_of_one_torchrun_job_share_the_lock_and_another_job_is_refused(tmp_path, monkeypatch):
    store = tmp_path / "s.h5"
    job = {"TORCHELASTIC_RUN_ID": "abc", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29511"}
    proc, _ = _holder(store, **job)
    try:
        for k, v in job.items():
            monkeypatch.setenv(k, v)
        with StoreLock(store) as lock:  # rank 1 of the same job joins
            assert lock.held
        assert lock_path(store).exists()  # a joined rank's release leaves the holder's lock alone
        monkeypatch.setenv("MASTER_PORT", "29512")  # a second job
        with pytest.raises(StoreLockedError, match="torchrun job abc"):
            StoreLock(store).acquire()
        monkeypatch.setenv("MASTER_PORT", "29511")  # the same variables on another host (a shared file system):
        monkeypatch.setattr("socket.gethostname", lambda: "another-host")  # a single-node job of its own there
        with pytest.raises(StoreLockedError):
            StoreLock(store).acquire()
        monkeypatch.undo()
        monkeypatch.delenv("TORCHELASTIC_RUN_ID", raising=False)  # a plain process
        with pytest.raises(StoreLockedError):
            StoreLock(store).acquire()
    finally:
        proc.communicate("\n", timeout=60)


def test_nested_acquisitions_in_one_process_release_once(tmp_path):
    store = tmp_path / "s.h5"
    with StoreLock(store) as outer:
        with StoreLock(store) as inner:  # extract locks, then its writer and merge lock again
            assert inner.held
        assert outer.held and lock_path(store).exists()
        w = StoreWriter(store, meta={"backbone": "t"}, merge=True)
        w.add("k", np.zeros((2, 3), np.float32))
        w.close()
        assert outer.held
    assert not outer.held and not lock_path(store).exists()


def test_empty_keys_are_refused_and_old_stores_holding_one_are_named(tmp_path, capsys):
    with StoreWriter(tmp_path / "x.h5", meta={"backbone": "t"}) as w:
        for bad in ("", "  "):
            with pytest.raises(DataError, match="empty key"):
                w.add(bad, np.zeros((2, 3), np.float32))
            with pytest.raises(DataError, match="empty key"):
                w.add_failure(bad, "unreadable")
        w.add("ok", np.zeros((2, 3), np.float32))
    # an old store written before keys were checked: rename one entry's key to ""
    store = _store(tmp_path / "old.h5")
    with h5py.File(store, "a") as f:
        keys = f["index/key"][()]
        keys[1] = b""
        f["index/key"][...] = keys
    assert FeatureStore(store).info()["empty_keys"] == [1]
    assert main(["store", "info", str(store)]) == 0
    out = capsys.readouterr().out
    assert "1 entry with an empty key (index position 1)" in out and "store merge" in out
    assert main(["store", "merge", str(store)]) == 0
    fixed = open_store(store)
    assert sorted(fixed.keys) == ["a", "c"] and fixed.info()["empty_keys"] == []


def test_a_writer_on_a_directory_or_a_failed_writer_leaves_nothing_behind(tmp_path):
    (tmp_path / "d.h5").mkdir()
    with pytest.raises(DataError, match="is a directory"):
        StoreWriter(tmp_path / "d.h5")
    with pytest.raises(RuntimeError):
        with StoreWriter(tmp_path / "x.h5", meta={"backbone": "t"}):
            raise RuntimeError("the caller fails before any video")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.h5"]  # no parts folder, no lock file


def test_merge_removes_stale_temporary_parts(tmp_path):
    store = _store(tmp_path / "s.h5")
    w = StoreWriter(store, meta={"backbone": "t"}, merge=False)
    w.add("d", np.ones((3, 4), np.float32))
    w.flush()
    w.close()
    (parts_dir(store) / "00003-00000000.h5.tmp").write_bytes(b"half")  # a writer killed mid-part
    merge_parts(store)
    assert not parts_dir(store).exists() and sorted(open_store(store).keys) == ["a", "b", "c", "d"]


def test_a_stale_unreadable_record_does_not_block_a_free_lock(tmp_path):
    store = tmp_path / "s.h5"
    lock_path(store).write_text("{not json")  # a holder killed while writing its record
    with StoreLock(store) as lock:
        assert lock.held
    assert not lock_path(store).exists()
