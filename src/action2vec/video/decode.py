"""Streaming video decoding at a fixed frame rate.

Frames are resampled to the target rate by their presentation timestamps, so variable-frame-rate
videos come out evenly spaced: output frame ``k`` is the last source frame shown at or before
``k / fps`` seconds (counted from the first frame). Decoding stops as soon as ``max_frames`` frames
are out, so a long video is never held in memory beyond the target duration. Frames are resized early
(in FFmpeg's scaler, before conversion to RGB) and turned upright according to the rotation metadata.

Still images (PNG, JPEG, ...) are refused, though FFmpeg reads them as one-frame videos.

The true number of frames of a short video is ``ceil(duration_s * fps)``; e.g. 164 frames at 25 fps
(6.56 s) give 197 frames at 30 fps.

Every reason a file cannot be used (missing, empty, not a video, corrupt, zero frames) raises
:class:`DecodeError` with a one-line reason; extraction records it in the store and goes on.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from action2vec.errors import ConfigError, DataError

__all__ = ["DecodeError", "Decoded", "decode_video", "probe_video", "output_size", "DECODERS"]

log = logging.getLogger(__name__)

DECODERS = ("pyav", "torchcodec")


class DecodeError(DataError):
    """A video could not be decoded; the message is the reason recorded in the store."""


@dataclass
class Decoded:
    """Frames of one video at the target rate and what is known about its source."""

    frames: np.ndarray  # (F, H, W, 3) uint8 RGB, F <= max_frames
    source: dict[str, Any] = field(default_factory=dict)  # path, codec, native fps, size, rotation, ...

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])


def output_size(
    width: int, height: int, rotation: int, size: tuple[int, int] | None, short_side: int | None
) -> tuple[int, int]:
    """(H, W) of the upright output frame: ``size`` when given, else the short side scaled to ``short_side``."""
    if rotation % 180:
        width, height = height, width
    if size is not None:
        return int(size[0]), int(size[1])
    if short_side:
        scale = short_side / min(width, height)
        return max(1, round(height * scale)), max(1, round(width * scale))
    return height, width


def _rotate(frame: np.ndarray, rotation: int) -> np.ndarray:
    """Turn a (H, W, 3) frame upright; ``rotation`` is the display matrix angle (counter-clockwise degrees)."""
    k = (round(rotation / 90)) % 4
    return np.ascontiguousarray(np.rot90(frame, k=k)) if k else frame


def _as_fraction(fps: float) -> Fraction:
    if not fps or fps <= 0 or not math.isfinite(fps):
        raise ConfigError(f"video.fps: must be a positive number, got {fps!r}")
    return Fraction(fps).limit_denominator(1001)


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise DecodeError(f"file not found: {path}")
    if path.stat().st_size == 0:
        raise DecodeError("empty file (0 bytes)")


def probe_video(path: str | Path) -> dict[str, Any]:
    """Container facts without decoding: codec, native fps, frame count (if the container says), size."""
    import av

    path = Path(path)
    _check_file(path)
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.video:
                raise DecodeError("not a video: the file has no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            duration = (
                float(stream.duration * stream.time_base)
                if stream.duration is not None
                else (container.duration / 1e6 if container.duration else None)
            )
            return {
                "path": str(path),
                "codec": stream.codec_context.name,
                "native_fps": float(rate) if rate else None,
                "container_frames": int(stream.frames or 0),
                "width": stream.codec_context.width,
                "height": stream.codec_context.height,
                "duration_s": duration,
            }
    except av.error.FFmpegError as exc:
        raise DecodeError(f"cannot open: {_ffmpeg_reason(exc)}") from None


def _is_still_image(format_name: str) -> bool:
    """FFmpeg's single-image demuxers (``png_pipe``, ``jpeg_pipe``, ``image2``, ...)."""
    return format_name.endswith("_pipe") or format_name in ("image2", "image2pipe")


def _ffmpeg_reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).split(": '")[0].strip() or type(exc).__name__


def decode_video(
    path: str | Path,
    fps: float = 30.0,
    max_frames: int | None = None,
    size: tuple[int, int] | None = None,
    short_side: int | None = None,
    threads: int = 0,
    decoder: str = "pyav",
) -> Decoded:
    """Decode ``path`` at ``fps``, stopping after ``max_frames`` frames (None: the whole video).

    ``size`` (H, W) resizes every upright frame to exactly that; otherwise ``short_side`` scales it
    keeping the aspect ratio; with neither, frames keep the source size. ``threads``: FFmpeg decoding
    threads (0: FFmpeg's choice). Raises :class:`DecodeError` when the file cannot be used.
    """
    path = Path(path)
    if decoder == "pyav":
        return _decode_pyav(path, _as_fraction(fps), max_frames, size, short_side, threads)
    if decoder == "torchcodec":
        return _decode_torchcodec(path, _as_fraction(fps), max_frames, size, short_side, threads)
    raise ConfigError(f"video.decoder: unknown decoder {decoder!r}; choose one of {list(DECODERS)}")


def _decode_pyav(
    path: Path,
    fps: Fraction,
    max_frames: int | None,
    size: tuple[int, int] | None,
    short_side: int | None,
    threads: int,
) -> Decoded:
    import av

    _check_file(path)
    limit = math.inf if max_frames is None else int(max_frames)
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise DecodeError(f"cannot open: {_ffmpeg_reason(exc)}") from None
    except (OSError, ValueError) as exc:  # e.g. a folder, or a name FFmpeg cannot handle
        raise DecodeError(f"cannot open: {exc}") from None
    with container:
        if not container.streams.video:
            raise DecodeError("not a video: the file has no video stream")
        if _is_still_image(container.format.name):
            raise DecodeError(f"not a video: a still image ({container.format.name})")
        stream = container.streams.video[0]
        if threads != 1:
            stream.thread_type = "AUTO"
        if threads > 0:
            stream.thread_count = threads
        native = stream.average_rate or stream.guessed_rate or Fraction(25)
        default_duration = 1 / Fraction(native)
        out: list[np.ndarray] = []
        decoded = 0
        rotation = 0
        hw: tuple[int, int] | None = None
        start: Fraction | None = None
        prev = None  # the last decoded frame not yet superseded
        prev_t = Fraction(0)
        prev_dur = default_duration
        prev_arr: np.ndarray | None = None

        def emit() -> None:
            nonlocal prev_arr
            if prev_arr is None:
                prev_arr = _to_rgb(prev, hw, rotation)
            out.append(prev_arr)

        try:
            for frame in container.decode(stream):
                if decoded == 0:
                    rotation = int(getattr(frame, "rotation", 0) or 0)  # PyAV >= 13 reads the display matrix
                    hw = output_size(frame.width, frame.height, rotation, size, short_side)
                t = (
                    Fraction(frame.pts) * frame.time_base
                    if frame.pts is not None and frame.time_base is not None
                    else decoded * default_duration
                )
                decoded += 1
                if start is None:
                    start = t
                t -= start
                if prev is not None and t <= prev_t:
                    continue  # a frame out of presentation order (broken timestamps): keep the earlier one
                while prev is not None and len(out) * (1 / fps) < t and len(out) < limit:
                    emit()
                if len(out) >= limit:
                    break
                prev, prev_t, prev_arr = frame, t, None
                if frame.duration and frame.time_base is not None:
                    prev_dur = Fraction(frame.duration) * frame.time_base
                else:
                    prev_dur = default_duration
        except av.error.FFmpegError as exc:
            raise DecodeError(f"decoding failed after {decoded} frames: {_ffmpeg_reason(exc)}") from None
        if prev is None:
            raise DecodeError("no video frames could be decoded")
        end = prev_t + prev_dur
        while len(out) < limit and len(out) * (1 / fps) < end:
            emit()
        source = {
            "path": str(path),
            "codec": stream.codec_context.name,
            "native_fps": float(native),
            "width": int(stream.codec_context.width),
            "height": int(stream.codec_context.height),
            "rotation": rotation,
            "frames_decoded": decoded,
            "fps": float(fps),
            "frames": len(out),
            "truncated_at_max": bool(len(out) >= limit and max_frames is not None),
        }
    return Decoded(np.stack(out), source)


def _to_rgb(frame: Any, hw: tuple[int, int] | None, rotation: int) -> np.ndarray:
    """(H, W, 3) uint8 upright RGB of a PyAV frame, resized by FFmpeg's scaler before rotation."""
    assert hw is not None
    h, w = hw
    if rotation % 180:
        h, w = w, h  # scale in the stored orientation, then rotate
    if (h, w) == (frame.height, frame.width):
        arr = frame.to_ndarray(format="rgb24")
    else:
        arr = frame.to_ndarray(format="rgb24", width=w, height=h, interpolation="BILINEAR")
    return _rotate(arr, rotation)


def _decode_torchcodec(
    path: Path,
    fps: Fraction,
    max_frames: int | None,
    size: tuple[int, int] | None,
    short_side: int | None,
    threads: int,
) -> Decoded:
    """The same sampling with torchcodec (when installed): frames shown at ``k / fps`` seconds."""
    try:
        from torchcodec.decoders import VideoDecoder
    except ImportError:
        raise ConfigError("video.decoder: torchcodec is not installed; use 'pyav'") from None
    import torch
    import torch.nn.functional as F

    _check_file(path)
    try:
        dec = VideoDecoder(str(path), dimension_order="NHWC", num_ffmpeg_threads=threads)
        md = dec.metadata
        begin = float(md.begin_stream_seconds or 0.0)
        end = float(md.end_stream_seconds or begin + float(md.duration_seconds))
        n = math.ceil((end - begin) * fps - 1e-9)
        if max_frames is not None:
            n = min(n, int(max_frames))
        if n <= 0:
            raise DecodeError("no video frames could be decoded")
        times = [begin + float(k / fps) for k in range(n)]
        frames = dec.get_frames_played_at(seconds=times).data  # (F, H, W, 3) uint8
    except DecodeError:
        raise
    except Exception as exc:  # torchcodec raises RuntimeError/ValueError for unreadable files
        raise DecodeError(f"cannot decode: {exc}") from None
    h, w = output_size(frames.shape[2], frames.shape[1], 0, size, short_side)
    if (h, w) != tuple(frames.shape[1:3]):
        x = frames.permute(0, 3, 1, 2).float()
        x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
        frames = x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    source = {
        "path": str(path),
        "codec": getattr(md, "codec", None),
        "native_fps": float(md.average_fps or 0.0),
        "width": int(md.width or 0),
        "height": int(md.height or 0),
        "rotation": 0,
        "fps": float(fps),
        "frames": int(frames.shape[0]),
        "decoder": "torchcodec",
    }
    return Decoded(frames.contiguous().numpy(), source)
