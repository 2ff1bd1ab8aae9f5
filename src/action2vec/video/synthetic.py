"""Write small real video files (tests, benchmarks, bug reports): any codec, variable frame rates, rotation.

frames = level_frames(50, 64, 80)                  # frame i is filled with a level that encodes i
write_video("a.mp4", frames, fps=30)               # H.264 MP4
write_video("b.avi", frames, fps=25, codec="mpeg4")
write_video("c.mp4", frames, times=[...])          # variable frame rate: one time (s) per frame
write_video("d.mp4", frames, rotation=90)          # display matrix asks players to rotate 90° clockwise
write_video("e.mp4", frames, faststart=True)       # index first: a cut-off copy still opens
"""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import numpy as np

from action2vec.extras import require

__all__ = ["level_frames", "frame_levels", "write_video"]

_LEVEL_STEP = 12  # grey levels between consecutive frame indices (codec error stays below half)


def level_frames(n: int, height: int = 64, width: int = 80, step: int = _LEVEL_STEP) -> np.ndarray:
    """(n, H, W, 3) uint8 frames; frame ``i`` is flat grey ``16 + (i * step) % 216`` with a bright corner mark."""
    levels = 16 + (np.arange(n) * step) % 216
    frames = np.broadcast_to(levels[:, None, None, None], (n, height, width, 3)).astype(np.uint8).copy()
    frames[:, : height // 4, : width // 4, 0] = 255  # top-left red mark: shows orientation
    return frames


def frame_levels(frames: np.ndarray, step: int = _LEVEL_STEP) -> np.ndarray:
    """Source frame index (mod 216 // step) read back from decoded ``level_frames`` (away from the mark)."""
    h, w = frames.shape[1:3]
    grey = frames[:, h // 2 :, w // 2 :, :].astype(np.float64).mean(axis=(1, 2, 3))
    return np.round((grey - 16) / step).astype(int) % (216 // step)


def write_video(
    path: str | Path,
    frames: np.ndarray,
    fps: float = 30.0,
    codec: str = "libx264",
    times: Sequence[float] | None = None,
    rotation: int = 0,
    quality: int = 4,
    faststart: bool = False,
) -> Path:
    """Encode (N, H, W, 3) uint8 RGB ``frames`` to ``path`` (container from the suffix).

    ``times``: presentation time of every frame in seconds (variable frame rate; MP4/MKV/MOV).
    ``rotation``: 90, 180 or 270 degrees clockwise for display (MP4/MOV). ``quality``: lower is better
    (x264 CRF or MPEG-4 qscale). ``faststart``: MP4/MOV index before the data (as web videos have).
    """
    av = require("av", "writing videos")
    from av.video.stream import VideoStream

    path = Path(path)
    frames = np.asarray(frames, dtype=np.uint8)
    n, h, w, _ = frames.shape
    rate = Fraction(fps).limit_denominator(1001)
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream(codec, rate=rate)
        if not isinstance(stream, VideoStream):
            raise ValueError(f"{codec!r} is not a video codec")
        stream.width, stream.height = w, h
        stream.pix_fmt = "yuv420p"
        if codec in ("libx264", "h264"):
            stream.options = {"crf": str(quality), "preset": "ultrafast"}
        elif codec == "mpeg4":
            stream.options = {"qscale": str(quality)}
        if times is not None:
            if len(times) != n:
                raise ValueError(f"times has {len(times)} entries for {n} frames")
            stream.codec_context.time_base = Fraction(1, 90000)
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(frames[i], format="rgb24")
            if times is not None:
                frame.pts = int(round(times[i] * 90000))
                frame.time_base = Fraction(1, 90000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    if rotation:
        _set_mp4_rotation(path, rotation)
    return path


def _set_mp4_rotation(path: Path, clockwise: int) -> None:
    """Rewrite the video track header's display matrix of an MP4/MOV for a clockwise rotation."""
    cos_sin = {90: (0, 1), 180: (-1, 0), 270: (0, -1)}
    if clockwise % 360 not in cos_sin:
        raise ValueError(f"rotation must be 90, 180 or 270, got {clockwise}")
    c, s = cos_sin[clockwise % 360]
    data = bytearray(path.read_bytes())
    at = data.find(b"tkhd")
    if at < 0:
        raise ValueError(f"{path}: no track header (rotation needs an MP4 or MOV file)")
    version = data[at + 4]
    # after 'tkhd': version/flags (4), times + track id + reserved + duration, reserved (8), layer,
    # alternate group, volume, reserved (2 each), then the 3x3 matrix in 16.16 / 2.30 fixed point
    offset = at + 4 + 4 + (20 if version == 0 else 32) + 8 + 8
    one = 1 << 16
    matrix = [c * one, s * one, 0, -s * one, c * one, 0, 0, 0, 1 << 30]
    data[offset : offset + 36] = struct.pack(">9i", *matrix)
    path.write_bytes(bytes(data))
