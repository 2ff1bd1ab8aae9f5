"""Clip arithmetic and the zero-padded strided clip view, against a naive loop."""

from __future__ import annotations

import numpy as np
import pytest

from action2vec.errors import ConfigError
from action2vec.video.clips import ClipPlan, clip_view, plan_clips
from action2vec.video.config import ClipConfig


def test_paper_defaults_give_52_steps() -> None:
    plan = plan_clips(ClipConfig(), backbone_clip_len=16)
    assert (plan.frames, plan.steps, plan.clip_len, plan.stride) == (420, 52, 16, 8)
    assert plan_clips(ClipConfig(stride=16), 16).steps == 26
    assert plan_clips(ClipConfig(clip_len=8, duration=10, fps=25), 16).frames == 250


@pytest.mark.parametrize("real, length", [(420, 52), (1000, 52), (300, 38), (197, 25), (3, 1), (8, 1), (9, 2)])
def test_true_length(real: int, length: int) -> None:
    plan = ClipPlan(30.0, 14.0, 16, 8)
    assert plan.length(real) == length
    # the true steps are exactly the clips that start on a real frame
    assert length == min(52, max(1, sum(1 for k in range(52) if k * 8 < min(real, 420))))


def naive_clips(frames: np.ndarray, plan: ClipPlan, length: int) -> np.ndarray:
    out = np.zeros((length, plan.clip_len) + frames.shape[1:], dtype=frames.dtype)
    for k in range(length):
        for j in range(plan.clip_len):
            f = k * plan.stride + j
            if f < frames.shape[0]:
                out[k, j] = frames[f]
    return out


@pytest.mark.parametrize("n, clip_len, stride", [(50, 16, 8), (420, 16, 8), (5, 16, 8), (40, 4, 16), (33, 16, 16)])
def test_clip_view_matches_naive_loop(n: int, clip_len: int, stride: int) -> None:
    plan = ClipPlan(30.0, 14.0, clip_len, stride)
    frames = np.random.default_rng(n).integers(0, 255, (n, 4, 5, 3), dtype=np.uint8)
    length = plan.length(n)
    got = clip_view(frames, plan, length)
    assert got.shape == (length, clip_len, 4, 5, 3)
    np.testing.assert_array_equal(got, naive_clips(frames, plan, length))


def test_bad_settings_name_the_key() -> None:
    with pytest.raises(ConfigError, match="video.stride"):
        plan_clips(ClipConfig(stride=0), 16)
    with pytest.raises(ConfigError, match="video.clip_len"):
        plan_clips(ClipConfig(clip_len=-1), 16)
