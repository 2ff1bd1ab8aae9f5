"""The weight-free ``motion`` backbone: registered, measures what it claims, and separates the toy classes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from action2vec.errors import ConfigError
from action2vec.video.backbones import create_backbone, list_backbones
from action2vec.video.backbones.motion import FEATURE_NAMES, MotionDescriptors

COL = {name: i for i, name in enumerate(FEATURE_NAMES)}


def _square_clip(
    xs: list[float],
    ys: list[float],
    half: list[float] | None = None,
    angles: list[float] | None = None,
    visible: list[bool] | None = None,
    size: int = 64,
) -> np.ndarray:
    """A two-tone square (light right half, dark left half) on grey, one frame per centre. (L, S, S, 3)."""
    n = len(xs)
    half = half or [7.0] * n
    angles = angles or [0.0] * n
    visible = visible or [True] * n
    gy, gx = np.mgrid[:size, :size] + 0.5
    frames = np.full((n, size, size, 3), 90, dtype=np.uint8)
    for t in range(n):
        if not visible[t]:
            continue
        c, s = np.cos(angles[t]), np.sin(angles[t])
        u = c * (gx - xs[t]) + s * (gy - ys[t])
        v = -s * (gx - xs[t]) + c * (gy - ys[t])
        inside = (np.abs(u) <= half[t]) & (np.abs(v) <= half[t])
        frames[t][inside & (u >= 0)] = (240, 200, 40)
        frames[t][inside & (u < 0)] = (150, 120, 20)
    return frames


def _features(*clips: np.ndarray) -> np.ndarray:
    model = MotionDescriptors()
    with torch.no_grad():
        return model(model.preprocess(np.stack(clips))).numpy()


def test_registered_weight_free_and_self_describing() -> None:
    assert "motion" in list_backbones()
    model = create_backbone("motion")
    assert isinstance(model, MotionDescriptors) and not model.training
    meta = model.meta()
    assert meta["backbone"] == "motion" and meta["random_weights"] is False and meta["dim"] == len(FEATURE_NAMES)
    assert meta["features"] == list(FEATURE_NAMES) and model.frame_size == (64, 64)
    with pytest.raises(ConfigError, match="no weights"):
        create_backbone("motion", random_weights=True)
    with pytest.raises(ConfigError, match="one layer"):
        create_backbone("motion", layer="fc7")


def test_position_and_velocity_match_a_naive_centroid() -> None:
    xs = [10 + 3 * t for t in range(8)]
    ys = [40 - 1.5 * t for t in range(8)]
    clip = _square_clip(xs, ys)
    mask = np.abs(clip.astype(int) - 90).sum(-1) > 30
    gy, gx = (np.mgrid[:64, :64] + 0.5) / 64
    cx = (mask * gx).sum((1, 2)) / mask.sum((1, 2))
    cy = (mask * gy).sum((1, 2)) / mask.sum((1, 2))
    f = _features(clip)[0]
    assert f[COL["position_x"]] == pytest.approx(2 * cx.mean() - 1, abs=0.01)
    assert f[COL["position_y"]] == pytest.approx(2 * cy.mean() - 1, abs=0.01)
    vx = np.log1p(np.diff(cx).mean() / 0.004)  # the signed-log velocity, in frame widths per frame
    assert f[COL["velocity_x"]] == pytest.approx(vx, abs=0.05)
    assert f[COL["velocity_y"]] < -0.5 and f[COL["straightness"]] > 0.95
    assert f[COL["visible"]] == pytest.approx(1.0)


def test_temporal_order_flips_signed_motion_but_not_appearance() -> None:
    slide = _square_clip([10 + 4 * t for t in range(8)], [32] * 8)
    grow = _square_clip([32] * 8, [32] * 8, half=[3 + 1.5 * t for t in range(8)])
    fwd, back, g_fwd, g_back = _features(slide, slide[::-1], grow, grow[::-1])
    vx, area = COL["velocity_x"], COL["area_change"]
    assert fwd[vx] > 1 and back[vx] == pytest.approx(-fwd[vx], abs=1e-3)
    assert g_fwd[area] > 1 and g_back[area] == pytest.approx(-g_fwd[area], abs=1e-3)
    appearance = [COL[f"shape_moment_{k}"] for k in (2, 3, 4, 5, 6)] + [COL["compactness"]]
    np.testing.assert_allclose(fwd[appearance], back[appearance], atol=0.05)


def test_rotation_blinking_and_stillness() -> None:
    still = _square_clip([32] * 8, [32] * 8, angles=[0.4] * 8)
    spin = _square_clip([32] * 8, [32] * 8, angles=[0.4 + 0.5 * t for t in range(8)])
    blink = _square_clip([32] * 8, [32] * 8, visible=[t % 4 < 2 for t in range(8)])
    f_still, f_spin, f_blink = _features(still, spin, blink)
    assert f_still[COL["rotation_abs"]] < 0.02 and f_spin[COL["rotation_abs"]] == pytest.approx(0.5, abs=0.08)
    assert abs(f_spin[COL["velocity_x"]]) < 0.3 and abs(f_still[COL["speed_x"]]) < 0.05
    assert f_blink[COL["visible"]] == pytest.approx(0.5, abs=0.02) and f_blink[COL["blinking"]] > 0.5
    assert f_still[COL["blinking"]] == pytest.approx(0.0, abs=1e-6)
    # The square's 4-fold moment dominates its 3-fold one, whatever its angle.
    assert f_spin[COL["shape_moment_4"]] > 5 * f_spin[COL["shape_moment_3"]]


def test_zero_padding_frames_are_ignored() -> None:
    xs = [10 + 3 * t for t in range(8)]
    full = _square_clip(xs, [32] * 8)
    padded = full.copy()
    padded[5:] = 0  # past the end of the video
    f_full, f_pad, f_zero = _features(full, padded, np.zeros_like(full))
    assert f_pad[COL["visible"]] == pytest.approx(1.0, abs=1e-3)
    assert f_pad[COL["velocity_x"]] == pytest.approx(f_full[COL["velocity_x"]], abs=0.02)
    assert f_pad[COL["compactness"]] == pytest.approx(f_full[COL["compactness"]], abs=0.05)
    assert np.isfinite(f_zero).all() and f_zero[COL["visible"]] == 0


def test_toy_verbs_and_nouns_are_linearly_separable() -> None:
    """Per-video mean descriptors of rendered toy videos: verbs and nouns from a linear classifier."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from action2vec.datasets.toy import VERBS, render_video

    model = MotionDescriptors()
    nouns = ("ball", "box", "star")
    rows, verbs, shapes = [], [], []
    for v in VERBS:
        for n in nouns:
            for i in range(2):
                frames = render_video(v, n, np.random.default_rng([i, len(v), len(n)]), 64, 12, 2.5)
                clips = np.stack([frames[a : a + 8] for a in range(0, len(frames) - 7, 4)])
                with torch.no_grad():
                    rows.append(model(model.preprocess(clips)).mean(0).numpy())
                verbs.append(v)
                shapes.append(n)
    x = np.stack(rows)
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    assert cross_val_score(clf, x, verbs, cv=3).mean() > 0.85  # chance 0.1
    assert cross_val_score(clf, x, shapes, cv=3).mean() > 0.8  # chance 0.33


def test_real_video_through_the_extractor(shared_data) -> None:  # type: ignore[no-untyped-def]
    """A real (non-square, 25 fps) clip: finite descriptors for the real steps, zeros for the padding."""
    from action2vec.video.extract import video_features

    path = shared_data / "videos" / "mmaction2_test.avi"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    feats, length = video_features(path, create_backbone("motion"))
    assert feats.shape == (52, len(FEATURE_NAMES)) and length == 25  # 6.56 s at 30 fps, stride 8
    assert np.isfinite(feats).all() and not feats[length:].any()
    assert np.abs(feats[:length]).max() < 20 and feats[:length].std(axis=0).max() > 0.05
