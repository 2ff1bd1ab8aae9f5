"""Scale and robustness: a 2-process torchrun extraction and a kill -9 + rerun both equal a plain run, bit for bit.

Every forward pass has ``compute.batch_size`` clips (padded), so a clip's features do not depend on which
other videos share its batch: a resumed run and the ranks of a torchrun job compute the same numbers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from action2vec.cli.main import main
from action2vec.store import open_store, parts_dir
from action2vec.video.synthetic import level_frames, write_video

ARGS = [
    "--backbone",
    "c3d-tiny",
    "--random-weights",
    "--compute.progress",
    "false",
    "--compute.batch_size",
    "8",
    "--video.duration",
    "2",
]


def _write_set(folder: Path, n: int) -> Path:
    """``n`` short videos of varied length and content, one unreadable file, and their list."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    lines = []
    for i in range(n):
        frames = level_frames(20 + 7 * i, 64, 86)
        frames[:, :, :, 1] = rng.integers(0, 255, frames.shape[:3], dtype=np.uint8)
        write_video(folder / f"v{i:02d}.mp4", frames, fps=30 if i % 2 else 25)
        lines.append(f"v{i:02d}.mp4 class{i % 3}")
    (folder / "bad.mp4").write_bytes(b"\x00" * 4000)
    lines.append("bad.mp4 class0")
    (folder / "list.txt").write_text("\n".join(lines) + "\n")
    return folder / "list.txt"


def _assert_same_store(a: Path, b: Path) -> None:
    sa, sb = open_store(a), open_store(b)
    assert sorted(sa.keys) == sorted(sb.keys)  # no video lost or doubled
    assert len(set(sb.keys)) == len(sb.keys)
    assert sa.failures.keys() == sb.failures.keys()
    for key in sa.keys:
        i, j = sa.index_of(key), sb.index_of(key)
        fa, la = sa.get(i)
        fb, lb = sb.get(j)
        assert la == lb and sa.labels[i] == sb.labels[j]
        np.testing.assert_array_equal(fa, fb)  # bitwise: batch composition does not matter


def _env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.mark.slow
def test_torchrun_two_processes_equal_one(tmp_path: Path) -> None:
    pytest.importorskip("torch.distributed.run")
    listing = _write_set(tmp_path / "videos", 7)
    single = tmp_path / "single.h5"
    assert main(["extract", "--list", str(listing), "--out", str(single), "--compute.workers", "0", *ARGS]) == 0
    dist = tmp_path / "dist.h5"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        "-m",
        "action2vec.cli.main",
        "extract",
        "--list",
        str(listing),
        "--out",
        str(dist),
        "--compute.workers",
        "1",
        *ARGS,
    ]
    run = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert "[rank 1]" in run.stdout and "[rank 0]" in run.stdout
    assert not parts_dir(dist).exists()  # rank 0 merged every rank's parts
    _assert_same_store(single, dist)
    assert len(open_store(dist)) == 7 and len(open_store(dist).failures) == 1


@pytest.mark.slow
def test_kill_9_then_rerun_equals_uninterrupted_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slow_backbone: Path
) -> None:
    plugin = slow_backbone
    monkeypatch.syspath_prepend(str(plugin))
    args = [a if a != "c3d-tiny" else "slow_backbone:slow-tiny" for a in ARGS]
    listing = _write_set(tmp_path / "videos", 12)
    reference = tmp_path / "ref.h5"
    assert main(["extract", "--list", str(listing), "--out", str(reference), "--compute.workers", "0", *args]) == 0

    out = tmp_path / "killed.h5"
    cmd = [
        sys.executable,
        "-m",
        "action2vec.cli.main",
        "extract",
        "--list",
        str(listing),
        "--out",
        str(out),
        "--compute.workers",
        "1",
        "--compute.flush_every",
        "1",
        *args,
    ]
    env = _env()
    env["PYTHONPATH"] = str(plugin) + os.pathsep + env["PYTHONPATH"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = parts_dir(out)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if parts.is_dir() and len(list(parts.glob("*.h5"))) >= 2:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the extraction ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = len(list(parts.glob("*.h5")))
    assert 2 <= finished < 13 and not out.exists()  # killed mid-run, with only complete part files

    assert main(["extract", "--list", str(listing), "--out", str(out), "--compute.workers", "0", *args]) == 0
    _assert_same_store(reference, out)
