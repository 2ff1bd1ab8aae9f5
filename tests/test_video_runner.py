"""Clip inference: the device path (frames placed once, clip views, tensor preprocessing, fixed-size
batches) gives the numbers of a naive computation, and a clip's features ignore its batch-mates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from action2vec.store import open_store
from action2vec.video.backbones import create_backbone
from action2vec.video.clips import ClipPlan, clip_view
from action2vec.video.config import ComputeConfig, ExtractConfig
from action2vec.video.decode import decode_video
from action2vec.video.extract import VideoItem, extract_videos, video_features
from action2vec.video.runner import ClipRunner
from action2vec.video.synthetic import level_frames, write_video

PLAN = ClipPlan(30.0, 2.0, 16, 8)  # 60 frames, 7 steps


def _naive_clips(frames: np.ndarray, length: int, plan: ClipPlan = PLAN) -> np.ndarray:
    """(length, L, H, W, 3): clip k is frames [k*stride, k*stride + L), zeros past the end, by a loop."""
    clips = np.zeros((length, plan.clip_len) + frames.shape[1:], np.uint8)
    for k in range(length):
        part = frames[k * plan.stride : k * plan.stride + plan.clip_len]
        clips[k, : len(part)] = part
    return clips


def _naive_features(model, clips: np.ndarray, batch: int | None) -> np.ndarray:
    """The backbone on NumPy clips; ``batch``: zero-pad every forward pass to that many clips (None: not)."""
    out = []
    step = batch or len(clips)
    with torch.inference_mode():
        for a in range(0, len(clips), step):
            x = model.preprocess(np.ascontiguousarray(clips[a : a + step]))
            n = x.shape[0]
            if batch and n < batch:
                x = torch.cat([x, x.new_zeros((batch - n,) + tuple(x.shape[1:]))])
            out.append(model(x.contiguous())[:n].numpy())
    return np.concatenate(out)


def _noise_video(path: Path, n: int, seed: int, fps: int = 30) -> Path:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (64, 86 + n, 3), dtype=np.uint8)
    frames = np.stack([base[:, i : i + 86] for i in range(n)]) // 2 + level_frames(n, 64, 86) // 2
    return write_video(path, frames, fps=fps)


@pytest.mark.parametrize("name", ["c3d-tiny", "motion"])
def test_runner_equals_the_naive_computation_bitwise(tmp_path: Path, name: str) -> None:
    model = create_backbone(name, random_weights=name != "motion")
    runner = ClipRunner(model, ComputeConfig(batch_size=5), torch.device("cpu"))
    plan = ClipPlan(30.0, 2.0, model.clip_len, 8)
    for n, seed in ((60, 1), (23, 2), (4, 3)):
        frames = decode_video(_noise_video(tmp_path / f"{n}.mp4", n, seed), 30, plan.frames, model.frame_size).frames
        length = plan.length(len(frames))
        clips = clip_view(runner.place(frames, plan.needed_frames(length)), plan, length)
        got = np.concatenate([runner([clips[a : a + 5]]) for a in range(0, length, 5)])
        want = _naive_features(model, _naive_clips(frames, length, plan), batch=5)
        assert got.shape == (length, model.dim) and np.array_equal(got, want)
        # against the unpadded computation: batch size changes the kernels' summation order only
        loose = _naive_features(model, _naive_clips(frames, length, plan), batch=None)
        np.testing.assert_allclose(got, loose, rtol=1e-5, atol=1e-6 * np.abs(loose).max())


def test_features_do_not_depend_on_batch_mates() -> None:
    model = create_backbone("c3d-tiny", random_weights=True)
    runner = ClipRunner(model, ComputeConfig(batch_size=6), torch.device("cpu"))
    rng = np.random.default_rng(0)
    clips = torch.from_numpy(rng.integers(0, 255, (9, 16, 64, 86, 3), dtype=np.uint8))
    alone = runner([clips[:4]])
    mixed = runner([clips[6:8], clips[:4]])  # other clips before them, in one batch
    split = np.concatenate([runner([clips[:1]]), runner([clips[1:4], clips[4:7]])[:3]])
    assert np.array_equal(mixed[2:], alone) and np.array_equal(split, alone)


def test_store_equals_naive_computation_and_video_features(tmp_path: Path, shared_data: Path) -> None:
    """A real clip and generated ones through extract_videos (clips of several videos share batches)."""
    model = create_backbone("c3d-tiny", random_weights=True)
    cfg = ExtractConfig()
    cfg.video.duration, cfg.compute.batch_size, cfg.compute.workers, cfg.compute.progress = 2.0, 8, 1, False
    paths = [
        shared_data / "videos" / "mmaction2_test.avi",
        _noise_video(tmp_path / "a.mp4", 45, 4),
        _noise_video(tmp_path / "b.mp4", 9, 5, fps=25),
    ]
    extract_videos([VideoItem(p.name, p) for p in paths], tmp_path / "s.h5", model, cfg)
    store = open_store(tmp_path / "s.h5")
    for path in paths:
        frames = decode_video(path, 30, PLAN.frames, model.frame_size).frames
        length = PLAN.length(len(frames))
        want = _naive_features(model, _naive_clips(frames, length), batch=8)
        stored, stored_length = store.get(store.index_of(path.name))
        assert stored_length == length and np.array_equal(stored[:length], want) and not stored[length:].any()
        feats, n = video_features(path, model, cfg)
        assert n == length and np.array_equal(feats, stored)
