"""The toy actions generator: real decodable files, deterministic, and each verb does what it says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from action2vec.datasets.toy import NOUNS, VERBS, ToyConfig, generate_toy_dataset, render_video, toy_classes
from action2vec.errors import ConfigError


def _object_mask(frames: np.ndarray) -> np.ndarray:
    """Naive segmentation: pixels far from the median colour of the frame border. (T, H, W) bool."""
    border = np.concatenate(
        [frames[:, :2].reshape(len(frames), -1, 3), frames[:, -2:].reshape(len(frames), -1, 3)], axis=1
    )
    bg = np.median(border, axis=1)  # (T, 3)
    dist = np.linalg.norm(frames.astype(np.float64) - bg[:, None, None], axis=-1)
    return dist > 60


def _track(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Area (pixels), centroid x and y per frame of the drawn object."""
    mask = _object_mask(frames)
    area = mask.sum(axis=(1, 2)).astype(np.float64)
    ys, xs = np.mgrid[: frames.shape[1], : frames.shape[2]]
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = (mask * xs).sum(axis=(1, 2)) / area
        cy = (mask * ys).sum(axis=(1, 2)) / area
    return area, cx, cy


def _render(verb: str, noun: str = "box", seed: int = 0, seconds: float = 4.0) -> np.ndarray:
    return render_video(verb, noun, np.random.default_rng(seed), size=64, fps=12, seconds=seconds)


def test_classes_cover_every_verb_with_every_noun() -> None:
    cfg = ToyConfig()
    classes = toy_classes(cfg)
    assert len(cfg.verbs) >= 8 and len(cfg.nouns) >= 5 and set(cfg.verbs) <= set(VERBS) and set(cfg.nouns) <= set(NOUNS)
    assert len(classes) == len(cfg.verbs) * len(cfg.nouns) == len(set(classes))
    assert sum(c.startswith("spin ") for c in classes) == len(cfg.nouns)
    assert sum(c.endswith(" star") for c in classes) == len(cfg.verbs)
    assert toy_classes(ToyConfig(classes=["fall box", "spin star"])) == ["fall box", "spin star"]
    with pytest.raises(ConfigError, match="toy.classes"):
        toy_classes(ToyConfig(classes=["dance box"]))
    with pytest.raises(ConfigError, match="toy.verbs"):
        ToyConfig(verbs=["fly"])


def test_render_is_deterministic_and_seed_dependent() -> None:
    a, b = _render("orbit", "star", seed=3), _render("orbit", "star", seed=3)
    c = _render("orbit", "star", seed=4)
    assert a.shape == (48, 64, 64, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert np.abs(a.astype(int) - c.astype(int)).mean() > 5


@pytest.mark.parametrize("seed", [0, 1])
def test_each_verb_moves_the_shape_as_named(seed: int) -> None:
    def ends(x: np.ndarray) -> tuple[float, float]:
        k = max(2, len(x) // 6)
        return float(np.nanmean(x[:k])), float(np.nanmean(x[-k:]))

    area, cx, cy = _track(_render("fall", seed=seed))
    top, bottom = ends(cy)
    assert bottom - top > 10  # image y grows downwards
    area, cx, cy = _track(_render("rise", seed=seed))
    top, bottom = ends(cy)
    assert top - bottom > 5
    area, _, _ = _track(_render("grow", seed=seed))
    first, last = ends(area)
    assert last > 3 * first
    area, _, _ = _track(_render("shrink", seed=seed))
    first, last = ends(area)
    assert first > 3 * last
    area, cx, _ = _track(_render("slide", seed=seed))
    assert abs(cx[-1] - cx[0]) > 6 and np.all(np.diff(cx) * np.sign(cx[-1] - cx[0]) > -0.6)
    area, _, _ = _track(_render("blink", seed=seed))
    assert (area < 5).mean() > 0.2 and (area > 20).mean() > 0.3
    area, cx, cy = _track(_render("spin", seed=seed))
    frames = _render("spin", seed=seed).astype(int)
    assert np.ptp(cx) < 1.5 and np.ptp(cy) < 1.5  # stays in place ...
    assert np.abs(frames[-1] - frames[-4]).max() > 60  # ... but its two-tone pattern turns
    area, cx, cy = _track(_render("orbit", seed=seed))
    assert np.ptp(cx) > 12 and np.ptp(cy) > 12
    area, cx, cy = _track(_render("shake", seed=seed))
    steps = np.diff(cx)
    assert (steps[1:] * steps[:-1] < 0).sum() >= 4  # direction keeps reversing
    area, _, _ = _track(_render("appear", seed=seed))
    assert area[0] < 5 and area[-1] > 20 and np.all(np.diff((area > 12).astype(int)) >= 0)  # off, then on
    area, _, _ = _track(_render("vanish", seed=seed))
    assert area[0] > 20 and area[-1] < 5 and np.all(np.diff((area > 12).astype(int)) <= 0)  # on, then off
    area, cx, cy = _track(_render("bounce", seed=seed))
    vy = np.diff(cy)
    assert (vy[1:] * vy[:-1] < 0).sum() >= 2 and np.ptp(cy) > 8


def test_same_noun_looks_alike_across_verbs_and_differs_across_nouns() -> None:
    """The shape (noun) is what a still frame shows: its fill ratio does not depend on the verb."""

    def fill(noun: str, verb: str, seed: int) -> float:
        frames = _render(verb, noun, seed=seed, seconds=1.0)[:1]
        mask = _object_mask(frames)[0]
        ys, xs = np.nonzero(mask)
        r2 = (xs - xs.mean()) ** 2 + (ys - ys.mean()) ** 2
        return float(len(xs) / (np.pi * r2.max()))  # area / area of the enclosing circle

    ball = [fill("ball", v, s) for v in ("spin", "slide") for s in range(3)]
    star = [fill("star", v, s) for v in ("spin", "slide") for s in range(3)]
    assert min(ball) > 0.85 and max(star) < 0.7


def test_generate_writes_decodable_files_and_a_list(tmp_path: Path) -> None:
    import av

    from action2vec.video.extract import read_video_list

    cfg = ToyConfig(
        classes=["spin ball", "fall star", "spin star"], videos_per_class=3, min_seconds=1.0, max_seconds=3.0, seed=5
    )
    toy = generate_toy_dataset(tmp_path / "toy", cfg)
    assert toy.classes == ["spin ball", "fall star", "spin star"] and len(toy.videos) == 9
    items = read_video_list(toy.list_path)
    assert [it.label for it in items] == [label for _, label in toy.videos]
    assert all(it.path.is_file() for it in items)
    assert [it.path.resolve() for it in items] == [p.resolve() for p, _ in toy.videos]

    durations = []
    for path, _ in toy.videos:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
            assert stream.codec_context.name == "mpeg4" and float(stream.average_rate) == 12
        assert frames[0].shape == (64, 64, 3)
        durations.append(len(frames) / 12)
    assert 1.0 <= min(durations) and max(durations) <= 3.0 + 1 / 12 and np.ptp(durations) > 0.3

    # Each class's verb and noun are spelled out for the label normaliser ("box", "ring" are verbs too).
    from action2vec.text.normalize import read_overrides

    overrides = read_overrides(toy.overrides_path)
    assert {k: (v.phrase, v.verb, v.nouns) for k, v in overrides.items()} == {
        "spin ball": ("spin ball", "spin", ("ball",)),
        "fall star": ("fall star", "fall", ("star",)),
        "spin star": ("spin star", "spin", ("star",)),
    }

    # Rerunning keeps the files (resume) and writes the same list; another configuration is refused.
    stamp = toy.videos[0][0].stat().st_mtime_ns
    again = generate_toy_dataset(tmp_path / "toy", cfg)
    assert again.videos == toy.videos and toy.videos[0][0].stat().st_mtime_ns == stamp
    with pytest.raises(ConfigError, match="another configuration"):
        generate_toy_dataset(tmp_path / "toy", ToyConfig(classes=["spin ball"], videos_per_class=1))


def test_decoded_video_matches_rendered_frames(tmp_path: Path) -> None:
    """What the files hold is the rendered scene (lossy codec: small mean error), for both codecs."""
    import av

    from action2vec.datasets.toy import write_video

    frames = _render("slide", "arrow", seed=7, seconds=2.0)
    for codec in ("libx264", "mpeg4"):
        path = tmp_path / f"{codec}.mp4"
        write_video(path, frames, fps=12, codec=codec)
        with av.open(str(path)) as container:
            decoded = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
        assert decoded.shape == frames.shape
        assert np.abs(decoded.astype(int) - frames.astype(int)).mean() < 6


def test_generation_writes_the_same_bytes_every_time(tmp_path) -> None:
    """The default codec gives identical files however many videos the process encoded before."""
    import hashlib

    from action2vec.datasets.toy import ToyConfig, generate_toy_dataset

    cfg = ToyConfig(
        verbs=["spin", "slide"], nouns=["arrow", "ball"], videos_per_class=2, min_seconds=1.0, max_seconds=2.0
    )
    digests = []
    for name in ("a", "b"):
        toy = generate_toy_dataset(tmp_path / name, cfg)
        digests.append([hashlib.sha256(p.read_bytes()).hexdigest() for p, _ in toy.videos])
    assert digests[0] == digests[1] and len(set(digests[0])) == 8


@pytest.mark.parametrize(
    "key, values",
    [("verbs", ["spin", "spin"]), ("nouns", ["ball", "box", "ball"]), ("classes", ["slide box", "slide box"])],
)
def test_a_repeated_verb_noun_or_class_is_refused_before_anything_is_written(key: str, values: list[str]) -> None:
    with pytest.raises(ConfigError, match=f"toy.{key}.*listed twice"):
        ToyConfig(**{key: values})
