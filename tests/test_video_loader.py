"""The decoding pool: frames through shared slots equal direct decoding, failures come back as reasons."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from action2vec.video.decode import DecodeError, decode_video
from action2vec.video.loader import DecodePool, DecodeSpec
from action2vec.video.synthetic import level_frames, write_video


def _videos(folder: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for i, (n, fps) in enumerate([(40, 30), (12, 25), (70, 30), (3, 30), (25, 24)]):
        frames = level_frames(n, 48, 64)
        frames[..., 2] = rng.integers(0, 255, frames.shape[:3], dtype=np.uint8)
        paths.append(write_video(folder / f"v{i}.mp4", frames, fps=fps))
    (folder / "bad.mp4").write_bytes(b"\x00" * 3000)
    paths.insert(2, folder / "bad.mp4")
    paths.append(folder / "missing.mp4")
    return paths


@pytest.mark.parametrize("workers, size, short_side", [(2, (36, 48), None), (0, (36, 48), None), (2, None, 24)])
def test_pool_delivers_what_direct_decoding_gives(tmp_path: Path, workers: int, size, short_side) -> None:
    paths = _videos(tmp_path)
    spec = DecodeSpec(fps=30.0, max_frames=60, size=size, short_side=short_side, threads=1, decoder="pyav")
    seen: dict[int, tuple[np.ndarray | None, str]] = {}
    with DecodePool(paths, spec, workers) as pool:
        assert pool.workers == workers and (pool.view is not None) == (workers > 0)
        for video in pool:  # frames live in a shared slot until the next video is asked for: copy them
            seen[video.index] = (None if video.frames is None else np.array(video.frames), video.error)
    assert sorted(seen) == list(range(len(paths)))
    for i, path in enumerate(paths):
        frames, error = seen[i]
        try:
            want = decode_video(path, fps=30, max_frames=60, size=size, short_side=short_side).frames
        except DecodeError as exc:
            assert frames is None and error == str(exc)
            continue
        assert error == "" and frames is not None and np.array_equal(frames, want)


def test_frames_wider_than_a_slot_travel_pickled(tmp_path: Path) -> None:
    """A slot holds frames up to 2.4:1 at the short side; a 4:1 video still arrives intact."""
    wide = write_video(tmp_path / "wide.mp4", level_frames(10, 16, 64), fps=30)
    spec = DecodeSpec(fps=30.0, max_frames=20, size=None, short_side=16, threads=1, decoder="pyav")
    with DecodePool([wide, wide], spec, 1) as pool:
        got = [np.array(v.frames) for v in pool]
    assert pool.slot_bytes == 20 * 16 * 39 * 3
    want = decode_video(wide, fps=30, max_frames=20, short_side=16).frames
    assert all(g.shape == (10, 16, 64, 3) and np.array_equal(g, want) for g in got)


def test_slots_are_reused(tmp_path: Path) -> None:
    """Five videos through two slots (one worker): every slot is handed out more than once."""
    paths = [write_video(tmp_path / f"{i}.mp4", level_frames(8 + i, 32, 32), fps=30) for i in range(5)]
    spec = DecodeSpec(fps=30.0, max_frames=16, size=(32, 32), short_side=None, threads=1, decoder="pyav")
    addresses = set()
    with DecodePool(paths, spec, 1) as pool:
        assert pool.slots == 2
        for video in pool:
            assert video.frames is not None and video.frames.shape[0] == 8 + video.index
            addresses.add(video.frames.__array_interface__["data"][0])
    assert len(addresses) == 2


def test_a_file_that_crashes_its_decoding_process_is_a_failure_not_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker decoding 'crash.mp4' dies (as if FFmpeg segfaulted): the pool restarts, the videos then in
    flight are retried alone, and only the culprit comes back as a failure."""
    real_decode = DecodeSpec.decode

    def dying_decode(self: DecodeSpec, path: str, allocate: object = None):  # type: ignore[no-untyped-def]
        if str(path).endswith("crash.mp4"):
            os._exit(11)
        return real_decode(self, path, allocate)

    monkeypatch.setattr(DecodeSpec, "decode", dying_decode)  # the forked workers inherit the patched class
    paths = [write_video(tmp_path / f"v{i}.mp4", level_frames(6 + i, 32, 32), fps=30) for i in range(5)]
    paths.insert(2, write_video(tmp_path / "crash.mp4", level_frames(5, 32, 32), fps=30))
    spec = DecodeSpec(fps=30.0, max_frames=16, size=(32, 32), short_side=None, threads=1, decoder="pyav")
    with DecodePool(paths, spec, 2) as pool:
        got = {v.index: (None if v.frames is None else v.frames.shape[0], v.error) for v in pool}
    assert got[2] == (None, "the decoding process crashed on this file")
    assert {i: got[i] for i in got if i != 2} == {0: (6, ""), 1: (7, ""), 3: (8, ""), 4: (9, ""), 5: (10, "")}
