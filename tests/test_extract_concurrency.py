"""Real concurrent and interrupted ``extract`` processes: one writer per store, honest exit codes.

Two processes on one store end with every video stored exactly once and no empty key; the one refused
exits 2 with one line naming the holder. SIGTERM keeps the finished videos, exits 143, and a rerun
completes the store as an uninterrupted run would.
"""

from __future__ import annotations

import json
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
from action2vec.store.lock import lock_path
from action2vec.video.synthetic import level_frames, write_video

N_VIDEOS = 10
ARGS = [
    "--random-weights",
    "--compute.progress",
    "false",
    "--compute.batch_size",
    "8",
    "--video.duration",
    "2",
    "--compute.flush_every",
    "1",
]


@pytest.fixture(scope="module")
def videos(tmp_path_factory, slow_backbone) -> dict[str, Path]:
    """Ten short videos and one unreadable file; the whole list and its two halves; a slow backbone."""
    root = tmp_path_factory.mktemp("conc")
    rng = np.random.default_rng(0)
    lines = []
    for i in range(N_VIDEOS):
        frames = level_frames(20 + 5 * i, 48, 64)
        frames[:, :, :, 1] = rng.integers(0, 255, frames.shape[:3], dtype=np.uint8)
        write_video(root / f"v{i:02d}.mp4", frames, fps=30)
        lines.append(f"v{i:02d}.mp4 class{i % 3}")
    (root / "bad.mp4").write_bytes(b"\x00" * 3000)
    lines.append("bad.mp4 class0")
    (root / "all.txt").write_text("\n".join(lines) + "\n")
    (root / "half1.txt").write_text("\n".join(lines[::2]) + "\n")
    (root / "half2.txt").write_text("\n".join(lines[1::2]) + "\n")
    return {"root": root, "plugin": slow_backbone}


def _cmd(videos: dict[str, Path], listing: str, out: Path, backbone: str = "slow_backbone:slow-tiny") -> list[str]:
    return [
        sys.executable,
        "-m",
        "action2vec.cli.main",
        "extract",
        "--list",
        str(videos["root"] / listing),
        "--out",
        str(out),
        "--backbone",
        backbone,
        "--compute.workers",
        "1",
        *ARGS,
    ]


def _env(videos: dict[str, Path]) -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = os.pathsep.join([src, str(videos["plugin"]), env.get("PYTHONPATH", "")])
    return env


def _start(videos, listing: str, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        _cmd(videos, listing, out), env=_env(videos), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _wait_until_holding(proc: subprocess.Popen, out: Path) -> None:
    """Until ``proc`` holds the store's lock (its record names its pid)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            if json.loads(lock_path(out).read_text()).get("pid") == proc.pid:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    raise AssertionError("the first extraction never took the store's lock")


def _refused_line(stderr: str, holder: int) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr  # one line, no traceback
    assert lines[0].startswith("action2vec extract: error:") and f"pid {holder}" in lines[0], lines[0]
    return lines[0]


def _assert_each_video_once(out: Path) -> None:
    store = open_store(out)
    assert sorted(store.keys) == [f"v{i:02d}.mp4" for i in range(N_VIDEOS)]  # none lost, none doubled
    assert "" not in store.keys and store.info()["empty_keys"] == []
    assert list(store.failures) == ["bad.mp4"]
    assert not parts_dir(out).exists() and not lock_path(out).exists()


def _second_while_first_runs(videos, first_list: str, second_list: str, out: Path):
    """Start an extraction of ``first_list``, and one of ``second_list`` into the same store meanwhile."""
    first = _start(videos, first_list, out)
    _wait_until_holding(first, out)
    os.kill(first.pid, signal.SIGSTOP)  # hold it mid-run while the second one starts, on any machine
    try:
        second = subprocess.run(
            _cmd(videos, second_list, out), env=_env(videos), text=True, capture_output=True, timeout=300
        )
    finally:
        os.kill(first.pid, signal.SIGCONT)
    assert second.returncode == 2
    _refused_line(second.stderr, first.pid)
    return first


def test_a_second_extract_of_the_same_store_is_refused_and_the_first_completes(videos, tmp_path):
    out = tmp_path / "feats.h5"
    first = _second_while_first_runs(videos, "all.txt", "all.txt", out)
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err[-3000:]
    _assert_each_video_once(out)


def test_two_halves_of_a_list_at_once_end_with_every_video_once(videos, tmp_path):
    out = tmp_path / "feats.h5"
    first = _second_while_first_runs(videos, "half1.txt", "half2.txt", out)
    assert first.wait(timeout=300) == 0
    # the refused half, rerun once the first is done
    rerun = subprocess.run(
        _cmd(videos, "half2.txt", out), env=_env(videos), text=True, capture_output=True, timeout=300
    )
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    _assert_each_video_once(out)


@pytest.mark.slow
def test_two_extracts_started_together_never_lose_or_double_a_video(videos, tmp_path):
    out = tmp_path / "feats.h5"
    procs = [_start(videos, "all.txt", out) for _ in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes in ([0, 0], [0, 2]), [r[1][-2000:] for r in results]  # the later one refused, or it found all done
    for p, (_, err) in zip(procs, results):
        if p.returncode == 2:
            _refused_line(err, next(q.pid for q in procs if q is not p))
    _assert_each_video_once(out)


def test_sigterm_keeps_finished_videos_exits_143_and_the_rerun_completes(videos, tmp_path):
    reference = tmp_path / "ref.h5"
    sys.path.insert(0, str(videos["plugin"]))
    try:
        assert (
            main(
                [
                    "extract",
                    "--list",
                    str(videos["root"] / "all.txt"),
                    "--out",
                    str(reference),
                    "--backbone",
                    "slow_backbone:slow-tiny",
                    "--compute.workers",
                    "0",
                    *ARGS,
                ]
            )
            == 0
        )
        out = tmp_path / "stopped.h5"
        proc = _start(videos, "all.txt", out)
        deadline = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline:
            if len(list(parts_dir(out).glob("*.h5"))) >= 2:
                break
            time.sleep(0.01)
        assert proc.poll() is None, "the extraction ended before it could be stopped"
        os.kill(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 143, err[-3000:]
        assert (
            err.strip().splitlines()[-1] == "action2vec extract: stopped by SIGTERM; rerun the same command to resume"
        )
        kept = len(list(parts_dir(out).glob("*.h5")))
        assert kept >= 2 and not out.exists() and not lock_path(out).exists()  # parts kept, lock released
        assert (
            main(
                [
                    "extract",
                    "--list",
                    str(videos["root"] / "all.txt"),
                    "--out",
                    str(out),
                    "--backbone",
                    "slow_backbone:slow-tiny",
                    "--compute.workers",
                    "0",
                    *ARGS,
                ]
            )
            == 0
        )
    finally:
        sys.path.remove(str(videos["plugin"]))
    a, b = open_store(reference), open_store(out)
    assert sorted(a.keys) == sorted(b.keys) and a.failures.keys() == b.failures.keys()
    for key in a.keys:
        fa, la = a.get(a.index_of(key))
        fb, lb = b.get(b.index_of(key))
        assert la == lb
        np.testing.assert_allclose(fa, fb, rtol=1e-4, atol=1e-5)


def test_out_naming_a_directory_is_refused_before_extraction(videos, tmp_path, capsys):
    out = tmp_path / "existing"
    out.mkdir()
    code = main(
        [
            "extract",
            "--list",
            str(videos["root"] / "all.txt"),
            "--out",
            str(out),
            "--backbone",
            "c3d-tiny",
            "--compute.workers",
            "0",
            *ARGS,
        ]
    )
    assert code == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and str(out) in err[0] and "is a directory" in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing"]  # no log file, parts folder or lock
    assert list(out.iterdir()) == []


def _screen(raw: bytes) -> list[str]:
    """The lines a terminal shows for ``raw`` output: a carriage return goes back to the line's start."""
    lines = []
    for row in raw.decode("utf-8", errors="replace").replace("\r\n", "\n").split("\n"):
        shown = ""
        for part in row.split("\r"):
            shown = part + shown[len(part) :]
        lines.append(shown.rstrip())
    return lines


def test_warnings_print_above_the_progress_bar_not_into_it(videos, tmp_path):
    import fcntl
    import pty
    import struct
    import termios

    main_fd, child_fd = pty.openpty()  # a terminal, so that the progress bar draws itself
    fcntl.ioctl(child_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 140, 0, 0))
    cmd = [*_cmd(videos, "all.txt", tmp_path / "feats.h5"), "--compute.progress", "true"]
    proc = subprocess.Popen(cmd, env=_env(videos), stdin=child_fd, stdout=child_fd, stderr=child_fd)
    os.close(child_fd)
    chunks = []
    while True:
        try:
            data = os.read(main_fd, 1 << 16)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(main_fd)
    assert proc.wait(timeout=300) == 0
    screen = _screen(b"".join(chunks))
    assert any("%|" in line for line in screen), screen  # the bar was drawn
    warnings = [line for line in screen if "cannot extract bad.mp4" in line]
    assert len(warnings) == 1 and "WARNING action2vec.video.extract" in warnings[0], screen
    assert not any("%|" in line and "WARNING" in line for line in screen), screen  # never inside the bar's line
