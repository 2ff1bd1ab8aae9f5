"""A procedural action data set: real video files of a shape (the noun) performing an action (the verb).

The demo needs real videos with real English class names and no download, so this module draws them.
Each class is "verb noun" ("spin star", "fall box", ...); classes share verbs across nouns and nouns
across verbs, which is what zero-shot transfer and the analogy test need. Every video draws its own
position, speed, size, colours (two-tone shapes, so spinning is visible), background gradient, noise,
start time and duration (some shorter than the pipeline's target duration), so no single frame names
the class: the noun is visible in any frame, the verb only across frames, and several verbs are time
reversals of each other (grow/shrink, fall/rise, appear/vanish). "appear" and "vanish" differ only in
the order of their clips (a clip-level descriptor sees the same things in both), so a model that
averages clip features over time cannot tell them apart.

    cfg = ToyConfig(videos_per_class=6)
    toy = generate_toy_dataset(Path("toy"), cfg)   # writes toy/videos/**.mp4 and toy/videos.txt
    toy.list_path, toy.classes, toy.videos          # videos: [(path, label), ...]
    toy.overrides_path                              # toy/overrides.yaml: each class's verb and noun

The list file has one ``<path>\\t<label>`` line per video, paths relative to the list file's folder.
Several toy words are both nouns and verbs ("box", "ring", "slide"), so the generator also writes the
label overrides that say which word is the verb, for the analogy and WordNet tests.
Generation is deterministic by ``seed`` and resumable: each video's random state depends only on
(seed, class, index), and existing files are kept.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import yaml

from action2vec.config import check_ranges, option, to_dict
from action2vec.errors import ConfigError
from action2vec.extras import require

__all__ = [
    "VERBS",
    "NOUNS",
    "ToyConfig",
    "ToyDataset",
    "toy_classes",
    "toy_overrides",
    "render_video",
    "write_video",
    "generate_toy_dataset",
]

log = logging.getLogger(__name__)

VERBS = (
    "slide",
    "spin",
    "bounce",
    "grow",
    "shrink",
    "fall",
    "rise",
    "shake",
    "orbit",
    "blink",
    "appear",
    "vanish",
)
NOUNS = ("ball", "box", "star", "ring", "arrow", "triangle")

LIST_NAME = "videos.txt"
MANIFEST_NAME = "toy.json"
OVERRIDES_NAME = "overrides.yaml"


@dataclass
class ToyConfig:
    """What the toy generator draws."""

    verbs: list[str] = option(list(VERBS), f"verbs (actions), from {', '.join(VERBS)}", nonempty=True)
    nouns: list[str] = option(list(NOUNS[:5]), f"nouns (shapes), from {', '.join(NOUNS)}", nonempty=True)
    classes: list[str] = option([], "only these 'verb noun' classes (empty: every verb with every noun)")
    videos_per_class: int = option(8, "videos drawn per class", ge=1)
    size: int = option(64, "frame width and height in pixels (even)", ge=16)
    fps: int = option(12, "frame rate of the written files", ge=1)
    min_seconds: float = option(2.5, "shortest video", gt=0)
    max_seconds: float = option(5.0, "longest video", gt=0)
    codec: str = option(
        "mpeg4",
        "video codec: mpeg4 (MPEG-4 Part 2, default: the same bytes on every run) or libx264 (H.264: "
        "PyAV's x264 encodes of the same frames differ slightly with what the process encoded before)",
    )
    seed: int = option(0, "random seed; the same seed writes the same videos", ge=0)

    def __post_init__(self) -> None:
        check_ranges(self, "toy")  # also when built in Python, not only from YAML or the command line
        for key in ("verbs", "nouns", "classes"):  # a repeated entry would write one video list entry twice
            values = getattr(self, key)
            twice = sorted({v for v in values if values.count(v) > 1})
            if twice:
                raise ConfigError(f"config key 'toy.{key}': {twice[0]!r} is listed twice")
        unknown = [v for v in self.verbs if v not in _MOTIONS]
        if unknown:
            raise ConfigError(f"toy.verbs: unknown verb(s) {unknown}; choose from {list(VERBS)}")
        unknown = [n for n in self.nouns if n not in _SHAPES]
        if unknown:
            raise ConfigError(f"toy.nouns: unknown noun(s) {unknown}; choose from {list(NOUNS)}")
        if self.size % 2:
            raise ConfigError(f"config key 'toy.size': {self.size} is odd (the encoder needs an even frame size)")
        if self.min_seconds > self.max_seconds:
            raise ConfigError(
                f"config key 'toy.min_seconds': {self.min_seconds} is above toy.max_seconds ({self.max_seconds})"
            )
        if self.codec not in ("libx264", "mpeg4"):
            raise ConfigError(f"toy.codec: {self.codec!r} is not libx264 or mpeg4")


@dataclass(frozen=True)
class ToyDataset:
    """A generated toy data set: the list file and its (path, label) pairs."""

    root: Path
    list_path: Path
    overrides_path: Path
    videos: list[tuple[Path, str]]
    classes: list[str]


def toy_classes(cfg: ToyConfig) -> list[str]:
    """The "verb noun" class names ``cfg`` draws, verb-major order."""
    if cfg.classes:
        out = []
        for name in cfg.classes:
            parts = name.split()
            if len(parts) != 2 or parts[0] not in _MOTIONS or parts[1] not in _SHAPES:
                raise ConfigError(f"toy.classes: {name!r} is not '<verb> <noun>' from the known verbs and nouns")
            out.append(name)
        return out
    return [f"{v} {n}" for v in cfg.verbs for n in cfg.nouns]


def toy_overrides(classes: list[str]) -> dict[str, dict[str, object]]:
    """Label overrides naming each class's verb and noun: ``{"slide box": {phrase, verb, nouns}}``."""
    return {name: {"phrase": name, "verb": name.split()[0], "nouns": [name.split()[1]]} for name in classes}


# --------------------------------------------------------------------------------------------
# Shapes: inside tests in body coordinates (u, v), the shape fitting in the unit disc.


def _ball(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u * u + v * v <= 1.0


def _box(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.maximum(np.abs(u), np.abs(v)) <= 0.78


def _ring(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    r2 = u * u + v * v
    return (r2 <= 1.0) & (r2 >= 0.55**2)


def _star(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    r = np.sqrt(u * u + v * v)
    spikes = np.abs(np.cos(2.5 * np.arctan2(v, u))) ** 2  # five points
    return r <= 0.38 + 0.62 * spikes


def _arrow(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    shaft = (np.abs(v) <= 0.2) & (u >= -1.0) & (u <= 0.15)
    head = (u >= 0.15) & (u <= 1.0) & (np.abs(v) <= 0.7 * (1.0 - u) / 0.85)
    return shaft | head


def _triangle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    inside = np.ones(u.shape, dtype=bool)
    for k in range(3):
        a = np.pi + 2.0 * np.pi * k / 3.0
        inside &= u * np.cos(a) + v * np.sin(a) <= 0.5
    return inside


_SHAPES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "ball": _ball,
    "box": _box,
    "star": _star,
    "ring": _ring,
    "arrow": _arrow,
    "triangle": _triangle,
}


# --------------------------------------------------------------------------------------------
# Motions: per-frame centre (x, y in [0, 1]), radius (fraction of the frame), angle and visibility.
# Each takes the random state, the time since the action started per frame u (T,) in seconds, the
# time the action has (span) and the shape's radius r.


@dataclass
class _Track:
    x: np.ndarray  # (T,)
    y: np.ndarray  # (T,)
    radius: np.ndarray  # (T,)
    angle: np.ndarray  # (T,)
    visible: np.ndarray  # (T,) bool


def _still(rng: np.random.Generator, n: int, radius: float, margin: float = 0.0) -> _Track:
    lo, hi = radius + 0.03 + margin, 1.0 - radius - 0.03 - margin
    x = np.full(n, rng.uniform(lo, max(lo, hi)))
    y = np.full(n, rng.uniform(lo, max(lo, hi)))
    return _Track(x, y, np.full(n, radius), np.full(n, rng.uniform(0, 2 * np.pi)), np.ones(n, dtype=bool))


def _slide(rng: np.random.Generator, u: np.ndarray, span: float, r: float) -> _Track:
    tr = _still(rng, len(u), r)
    lo, hi = r + 0.03, 1.0 - r - 0.03
    speed = min(rng.uniform(0.12, 0.26), (hi - lo) / max(span, 1e-3))
    direction = rng.choice([-1.0, 1.0])
    start = rng.uniform(lo, max(lo, hi - speed * span))
    tr.x = start + speed * u if direction > 0 else (lo + hi - start) - speed * u
    return tr


def _spin(rng: np.random.Generator, u: np.ndarray, span: float, r: float) -> _Track:
    tr = _still(rng, len(u), r)
    tr.angle = tr.angle + rng.choice([-1.0, 1.0]) * rng.uniform(1.5, 3.0) * np.pi * u
    return tr


def _bounce(rng: np.random.Generator, u: np.ndarray, span: float, r: float) -> _Track:
    tr = _still(rng, len(u), r)
    floor = 1.0 - r - 0.03 - rng.uniform(0.0, 0.08)
    height = min(rng.uniform(0.2, 0.4), floor - r - 0.03)
    period = rng.uniform(0.5, 0.9)
    tr.y = floor - height * np.abs(np.sin(np.pi * u / period))
    return tr


def _scale(rng: np.random.Generator, u: np.ndarray, span: float, small: bool) -> _Track:
    r_small, r_big = rng.uniform(0.05, 0.08), rng.uniform(0.17, 0.22)
    tr = _still(rng, len(u), r_big)
    done = np.clip(u / (rng.uniform(0.7, 1.0) * span), 0.0, 1.0)
    a, b = (r_big, r_small) if small else (r_small, r_big)
    tr.radius = a * (b / a) ** done
    return tr


def _grow(rng: np.random.Generator, u: np.ndarray, span: float, r: float) -> _Track:
    return _scale(rng, u, span, small=False)


def _shrink(rng: np.random.Generator, u: np.ndarray, span: float, r: float) -> _Track:
    return _scale(rng, u, span, small=True)


def _fall(rng: np.random.Generator, u: np.ndarray, span: float, r: float) -> _Track:
    tr = _still(rng, len(u), r)
    top, bottom = rng.uniform(r + 0.03, 0.4), 1.0 - r - 0.03
    land = rng.uniform(0.6, 1.0) * span
    tr.y = top + (bottom - top) * np.clip(u / land, 0.0, 1.0) ** 2
    return tr


def _rise(rng: np.random.Generator, u: np.ndarray, span: float, r: float) -> _Track:
    tr = _still(rng, len(u), r)
    top, bottom = r + 0.03, rng.uniform(0.6, 1.0 - r - 0.03)
    speed = min(rng.uniform(0.12, 0.25), (bottom - top) / max(span, 1e-3))
    tr.y = bottom - speed * u
    return tr


def _shake(rng: np.random.Generator, u: np.ndarray, span: float, r: float) -> _Track:
    tr = _still(rng, len(u), r, margin=0.07)
    amp, freq = rng.uniform(0.03, 0.07), rng.uniform(2.5, 4.0)
    heading = rng.uniform(-np.pi / 6, np.pi / 6)
    wobble = amp * np.sin(2 * np.pi * freq * u)
    tr.x = tr.x + wobble * np.cos(heading)
    tr.y = tr.y + wobble * np.sin(heading)
    return tr


def _orbit(rng: np.random.Generator, u: np.ndarray, span: float, r: float) -> _Track:
    tr = _still(rng, len(u), r)
    radius = rng.uniform(0.14, 0.24)
    margin = r + 0.03 + radius
    cx, cy = rng.uniform(margin, 1 - margin), rng.uniform(margin, 1 - margin)
    omega = rng.choice([-1.0, 1.0]) * 2 * np.pi / rng.uniform(1.2, 2.2)
    phase = rng.uniform(0, 2 * np.pi)
    tr.x = cx + radius * np.cos(phase + omega * u)
    tr.y = cy + radius * np.sin(phase + omega * u)
    return tr


def _blink(rng: np.random.Generator, u: np.ndarray, span: float, r: float) -> _Track:
    tr = _still(rng, len(u), r)
    half = rng.uniform(0.2, 0.45)
    tr.visible = (np.floor(u / half) % 2) == 0
    return tr


def _switch(rng: np.random.Generator, u: np.ndarray, span: float, r: float, appear: bool) -> _Track:
    tr = _still(rng, len(u), r)
    at = rng.uniform(0.3, 0.7) * span
    tr.visible = (u >= at) if appear else (u < at)
    return tr


def _appear(rng: np.random.Generator, u: np.ndarray, span: float, r: float) -> _Track:
    return _switch(rng, u, span, r, appear=True)


def _vanish(rng: np.random.Generator, u: np.ndarray, span: float, r: float) -> _Track:
    return _switch(rng, u, span, r, appear=False)


_MOTIONS = {
    "slide": _slide,
    "spin": _spin,
    "bounce": _bounce,
    "grow": _grow,
    "shrink": _shrink,
    "fall": _fall,
    "rise": _rise,
    "shake": _shake,
    "orbit": _orbit,
    "blink": _blink,
    "appear": _appear,
    "vanish": _vanish,
}


def _colour_pair(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Background, bright and dark shape tones, each far enough from the background to see."""
    while True:
        bg = rng.uniform(0, 255, 3)
        light = rng.uniform(0, 255, 3)
        dark = light * rng.uniform(0.45, 0.65)
        if min(np.linalg.norm(light - bg), np.linalg.norm(dark - bg)) > 110 and np.linalg.norm(light - dark) > 45:
            return bg, light, dark


def render_video(verb: str, noun: str, rng: np.random.Generator, size: int, fps: float, seconds: float) -> np.ndarray:
    """Frames of ``noun`` doing ``verb``: uint8 RGB (T, size, size, 3) with T = round(seconds * fps)."""
    n = max(2, int(round(seconds * fps)))
    t = np.arange(n) / fps
    start = rng.uniform(0.0, 0.2) * seconds  # the shape rests before the action starts
    u = np.clip(t - start, 0.0, None)
    span = max(seconds - start, 1.0 / fps)
    track = _MOTIONS[verb](rng, u, span, rng.uniform(0.11, 0.16))

    sup = 2  # 2x2 supersampling for anti-aliased edges
    grid = ((np.arange(size * sup) + 0.5) / (size * sup)).astype(np.float32)
    gy, gx = np.meshgrid(grid, grid, indexing="ij")  # (S, S)
    dx = gx[None] - track.x[:, None, None].astype(np.float32)  # (T, S, S)
    dy = gy[None] - track.y[:, None, None].astype(np.float32)
    cos = np.cos(track.angle)[:, None, None].astype(np.float32)
    sin = np.sin(track.angle)[:, None, None].astype(np.float32)
    inv_scale = (1.0 / track.radius)[:, None, None].astype(np.float32)
    bu = (cos * dx + sin * dy) * inv_scale
    bv = (cos * dy - sin * dx) * inv_scale
    inside = _SHAPES[noun](bu, bv) & track.visible[:, None, None]  # (T, S, S)
    bright = inside & (bu >= 0)  # two-tone shapes, so that rotation shows

    def coverage(mask: np.ndarray) -> np.ndarray:  # (T, S, S) bool -> (T, size, size, 1) in [0, 1]
        m = mask.astype(np.float32)
        return (0.25 * (m[:, 0::2, 0::2] + m[:, 1::2, 0::2] + m[:, 0::2, 1::2] + m[:, 1::2, 1::2]))[..., None]

    cover_all, cover_bright = coverage(inside), coverage(bright)
    bg, light, dark = (c.astype(np.float32) for c in _colour_pair(rng))
    slope = rng.uniform(-25, 25, 2).astype(np.float32)
    pixel = ((np.arange(size) + 0.5) / size).astype(np.float32) - 0.5
    ramp = slope[0] * pixel[None, :] + slope[1] * pixel[:, None]  # (size, size)
    background = bg + ramp[..., None]  # (size, size, 3)
    frames = background * (1.0 - cover_all) + dark * (cover_all - cover_bright) + light * cover_bright
    noise = rng.standard_normal(frames.shape, dtype=np.float32) * np.float32(rng.uniform(2.0, 8.0))
    return np.clip(frames + noise, 0, 255).astype(np.uint8)


def write_video(path: Path, frames: np.ndarray, fps: int, codec: str = "mpeg4") -> None:
    """Encode uint8 RGB frames (T, H, W, 3) to ``path`` (MP4), atomically (temporary name, then rename)."""
    av = require("av", "writing videos")
    from av.video.stream import VideoStream

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    with av.open(str(tmp), mode="w") as container:
        stream = container.add_stream(codec, rate=int(fps))
        if not isinstance(stream, VideoStream):
            raise ValueError(f"{codec!r} is not a video codec")
        stream.width, stream.height = int(frames.shape[2]), int(frames.shape[1])
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": "18", "preset": "veryfast"}
        else:
            stream.bit_rate = 1_500_000
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    os.replace(tmp, path)


def _video_rng(seed: int, verb: str, noun: str, index: int) -> np.random.Generator:
    verb_id, noun_id = VERBS.index(verb), NOUNS.index(noun)
    return np.random.default_rng([seed, verb_id, noun_id, index])


def generate_toy_dataset(out_dir: Path, cfg: ToyConfig | None = None) -> ToyDataset:
    """Write the toy videos under ``out_dir/videos/`` and the list file ``out_dir/videos.txt``.

    Existing video files of the same configuration are kept (resume); a folder generated with a
    different configuration is refused rather than silently mixed.
    """
    cfg = cfg or ToyConfig()
    require("av", "writing videos")  # before the folder is made
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = out_dir / MANIFEST_NAME
    settings = to_dict(cfg)
    if manifest.is_file():
        previous = json.loads(manifest.read_text())
        if previous != settings:
            raise ConfigError(f"{out_dir}: holds toy videos of another configuration; use a new folder")
    else:
        manifest.write_text(json.dumps(settings, indent=2) + "\n")

    classes = toy_classes(cfg)
    videos: list[tuple[Path, str]] = []
    written = 0
    for name in classes:
        verb, noun = name.split()
        for index in range(cfg.videos_per_class):
            path = out_dir / "videos" / f"{verb}_{noun}" / f"{verb}_{noun}_{index:03d}.mp4"
            videos.append((path, name))
            if path.is_file():
                continue
            rng = _video_rng(cfg.seed, verb, noun, index)
            seconds = rng.uniform(cfg.min_seconds, cfg.max_seconds)
            frames = render_video(verb, noun, rng, cfg.size, cfg.fps, seconds)
            write_video(path, frames, cfg.fps, cfg.codec)
            written += 1
    log.info("toy data: %d classes, %d videos (%d written now) in %s", len(classes), len(videos), written, out_dir)

    list_path = out_dir / LIST_NAME
    _write_text(list_path, "".join(f"{path.relative_to(out_dir).as_posix()}\t{label}\n" for path, label in videos))
    overrides_path = out_dir / OVERRIDES_NAME
    _write_text(overrides_path, yaml.safe_dump(toy_overrides(classes), sort_keys=False))
    return ToyDataset(out_dir, list_path, overrides_path, videos, classes)


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
