"""The explorer map's spread: no video hides under another dot (the demo's 480 videos lay within 5 px of their
class means), checked with a naive pairwise loop."""

from __future__ import annotations

import math

import numpy as np

from action2vec.serve.explorer import MAP_GAP_CLASS, MAP_GAP_VIDEOS, spread_points


def test_spread_keeps_every_dot_apart_and_near_its_place():
    rng = np.random.default_rng(0)
    centres = rng.uniform(0, 1, (20, 2))
    videos = np.repeat(centres, 8, axis=0) + rng.normal(0, 0.001, (160, 2))
    videos[:3] = videos[0]  # three videos on one spot
    xy = np.concatenate([centres, videos])
    xy = (xy - xy.min(axis=0)) / (xy - xy.min(axis=0)).max()
    out = spread_points(xy, 20)
    assert out.shape == xy.shape and out.min() >= 0 and out.max() <= 1 + 1e-12
    for i in range(len(out)):
        for j in range(i + 1, len(out)):
            need = MAP_GAP_CLASS if i < 20 or j < 20 else MAP_GAP_VIDEOS
            assert math.dist(out[i], out[j]) >= need - 1e-9, (i, j)
    # each video stays nearer its own class mean than most others' (the layout is only loosened)
    own = [np.argmin(np.hypot(*(out[:20] - out[20 + k]).T)) == k // 8 for k in range(160)]
    assert np.mean(own) > 0.8
    assert np.array_equal(spread_points(xy, 20), out)  # seeded: the same map every time
