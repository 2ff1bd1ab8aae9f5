"""Streaming video decoding at a fixed frame rate.

Frames are resampled to the target rate by their presentation timestamps, so variable-frame-rate
videos come out evenly spaced: output frame ``k`` is the last source frame shown at or before
``k / fps`` seconds (counted from the first frame). Decoding stops as soon as ``max_frames`` frames
are out, so a long video is never held in memory beyond the target duration. Frames are resized and
converted to RGB in one pass of FFmpeg's scaler (one scaler per video, reused for every frame) and
turned upright according to the rotation metadata. Each shown frame is converted once and written
straight into one preallocated ``(F, H, W, 3)`` buffer, which the caller may place in shared memory.

Only videos are videos: a file whose demuxer is not a video container is refused as ``not a video (format
X)``, though FFmpeg reads many such files as video streams: text (the ``tty`` demuxer renders ``*.txt`` and
``*.nfo`` files as frames, and the ANSI-art ones), still images (PNG, JPEG, ...: ``*_pipe``, ``image2``), and
files with no video stream but cover art (audio with an attached picture), subtitles, audio or data. This
check (:func:`check_container`) is the one place every path from a file to frames goes through: extraction,
``classify --video``, ``search --video``, ``encode_video`` and the explorer's uploads.

The true number of frames of a short video is ``ceil(duration_s * fps)``; e.g. 164 frames at 25 fps
(6.56 s) give 197 frames at 30 fps.

Every reason a file cannot be used (missing, empty, not a video, corrupt, zero frames, truncated:
fewer frames decodable than the container declares) raises :class:`DecodeError` with a one-line
reason; extraction records it in the store and goes on.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from action2vec.distributed import process_layout
from action2vec.errors import ConfigError, DataError
from action2vec.extras import require

__all__ = [
    "DecodeError",
    "Decoded",
    "decode_video",
    "probe_video",
    "output_size",
    "check_decoder",
    "check_container",
    "DECODERS",
    "TRUNCATION_TOLERANCE",
]

log = logging.getLogger(__name__)

DECODERS = ("pyav", "torchcodec", "torchcodec-cuda")

# A video is truncated when fewer than this fraction of the frames its container declares decode
# (and more than two frames are missing): legitimate files lose at most a frame or two to edit lists.
TRUNCATION_TOLERANCE = 0.95

# Allocates the (F, H, W, 3) uint8 output buffer; extraction passes one that allocates shared memory.
Allocator = Callable[[tuple[int, ...]], np.ndarray]


class DecodeError(DataError):
    """A video could not be decoded; the message is the reason recorded in the store."""


@dataclass
class Decoded:
    """Frames of one video at the target rate and what is known about its source."""

    frames: Any  # (F, H, W, 3) uint8 RGB, F <= max_frames: np.ndarray (a CUDA tensor for torchcodec-cuda)
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


def check_decoder(name: str) -> None:
    """Raise :class:`ConfigError` (one line, naming ``video.decoder``) unless ``name`` can decode here."""
    if name not in DECODERS:
        raise ConfigError(f"video.decoder: unknown decoder {name!r}; choose one of {list(DECODERS)}")
    if name == "pyav":
        require("av", "decoding videos")
        return
    require("torchcodec", f"video.decoder {name}")
    try:
        import torchcodec.decoders  # noqa: F401  (loads FFmpeg's libraries)
    except Exception as exc:  # torchcodec raises RuntimeError/OSError when it finds no usable FFmpeg
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"video.decoder: torchcodec is installed but cannot load ({reason}); use 'pyav'") from None
    if name == "torchcodec-cuda":
        import torch

        if not torch.cuda.is_available():
            raise ConfigError("video.decoder: torchcodec-cuda needs a CUDA GPU, and none is available; use 'pyav'")


def _rotate(frame: np.ndarray, rotation: int) -> np.ndarray:
    """Turn a (H, W, 3) frame upright; ``rotation`` is the display matrix angle (counter-clockwise degrees)."""
    k = (round(rotation / 90)) % 4
    return np.rot90(frame, k=k) if k else frame


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
    av = require("av", "decoding videos")

    path = Path(path)
    _check_file(path)
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            stream = check_container(container)
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


# FFmpeg demuxers that show something other than a video as a video stream: text and ANSI art rendered as
# frames, and single images (besides every ``*_pipe`` image demuxer).
_TEXT_DEMUXERS = frozenset({"tty", "bin", "xbin", "adf", "idf"})
_IMAGE_DEMUXERS = frozenset({"image2", "image2pipe", "alias_pix", "brender_pix", "fits"})


def _not_a_video(format_name: str) -> str | None:
    """Why a file of demuxer ``format_name`` is not a video, or None when it may be one."""
    if format_name in _TEXT_DEMUXERS:
        return "text, which FFmpeg would render as frames"
    if format_name.endswith("_pipe") or format_name in _IMAGE_DEMUXERS:
        return "a still image"
    return None


def check_container(container: Any) -> Any:
    """The first real video stream of an opened PyAV ``container``, or :class:`DecodeError` ``not a video
    (format X: why)`` when its demuxer is not a video container or it holds no video stream (cover art,
    an attached picture, does not count)."""
    av = require("av", "decoding videos")

    name = container.format.name
    why = _not_a_video(name)
    if why is None:
        attached = av.stream.Disposition.attached_pic
        streams = [s for s in container.streams.video if not (s.disposition & attached)]
        if streams:
            return streams[0]
        kinds = sorted({s.type for s in container.streams}) or ["no streams"]
        why = f"no video stream, only {', '.join(kinds)}" if container.streams else "no streams at all"
    raise DecodeError(f"not a video (format {name}: {why})")


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
    allocate: Allocator | None = None,
) -> Decoded:
    """Decode ``path`` at ``fps``, stopping after ``max_frames`` frames (None: the whole video).

    ``size`` (H, W) resizes every upright frame to exactly that; otherwise ``short_side`` scales it
    keeping the aspect ratio; with neither, frames keep the source size. ``threads``: FFmpeg threads
    of the decoder and the scaler (0: FFmpeg's choice). ``allocate(shape)`` returns the uint8 buffer
    the frames are written into (default ``np.empty``); ``frames`` is then a leading slice of it.
    Raises :class:`DecodeError` when the file cannot be used.
    """
    path = Path(path)
    if decoder == "pyav":
        return _decode_pyav(path, _as_fraction(fps), max_frames, size, short_side, threads, allocate)
    if decoder in ("torchcodec", "torchcodec-cuda"):
        # torchcodec-cuda decodes on this process's GPU (its torchrun local rank), not on GPU 0 for every rank
        device = f"cuda:{process_layout().local_rank}" if decoder == "torchcodec-cuda" else "cpu"
        return _decode_torchcodec(path, _as_fraction(fps), max_frames, size, short_side, threads, device)
    raise ConfigError(f"video.decoder: unknown decoder {decoder!r}; choose one of {list(DECODERS)}")


# ------------------------------------------------------------------------------------------- PyAV


def _open_video(path: Path, threads: int) -> tuple[Any, Any]:
    """(container, its first video stream) with ``threads`` decoding threads; DecodeError if unusable."""
    av = require("av", "decoding videos")

    _check_file(path)
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise DecodeError(f"cannot open: {_ffmpeg_reason(exc)}") from None
    except (OSError, ValueError) as exc:  # e.g. a folder, or a name FFmpeg cannot handle
        raise DecodeError(f"cannot open: {exc}") from None
    try:
        stream = check_container(container)
    except DecodeError:
        container.close()
        raise
    if threads == 1:
        stream.codec_context.thread_count = 1  # no decoder threads: the worker processes are the parallelism
    else:
        stream.thread_type = "AUTO"
        stream.thread_count = max(0, threads)
    return container, stream


@dataclass
class _Progress:
    """How far decoding got: frames decoded, and the end of the last kept frame in ticks from the first."""

    decoded: int = 0
    end: int = 0


def _timed_frames(frames: Iterable[Any], default_ticks: int, progress: _Progress) -> Iterator[tuple[Any, int, int]]:
    """(frame, start, duration) in stream time-base ticks from the first frame, skipping frames whose
    timestamp does not increase (broken timestamps keep the earlier frame). Frames without a timestamp
    are placed ``default_ticks`` apart."""
    first: int | None = None
    last = -1
    for frame in frames:
        pts = frame.pts
        t = int(pts) if pts is not None else progress.decoded * default_ticks
        progress.decoded += 1
        if first is None:
            first = t
        t -= first
        if t <= last:
            continue
        last = t
        duration = int(frame.duration or 0) or default_ticks
        progress.end = t + duration
        yield frame, t, duration


def _shown_frames(
    timed: Iterable[tuple[Any, int, int]], ticks_per_output: Fraction, limit: float
) -> Iterator[tuple[Any, int, int]]:
    """(frame, first, count): the source frame shown at output times ``k / fps`` for ``first <= k < first+count``.

    Output frame ``k`` is the last source frame starting at or before ``k / fps`` (``k * ticks_per_output``
    ticks); the last source frame lasts its duration. At most ``limit`` output frames; frames never shown
    are skipped unconverted. Integer arithmetic: exact, and cheap next to decoding.
    """
    num, den = ticks_per_output.numerator, ticks_per_output.denominator
    emitted = 0
    prev = None
    end = 0
    for frame, t, duration in timed:
        if prev is not None:
            upto = min(-((-t * den) // num), limit)  # output times k / fps < t show ``prev``
            if upto > emitted:
                yield prev, emitted, int(upto - emitted)
                emitted = int(upto)
            if emitted >= limit:
                return
        prev, end = frame, t + duration
    if prev is not None:
        upto = min(-((-end * den) // num), limit)
        if upto > emitted:
            yield prev, emitted, int(upto - emitted)


class _FrameWriter:
    """Converts shown frames (one scaler pass: resize + RGB) into one preallocated (F, H, W, 3) buffer."""

    def __init__(
        self,
        size: tuple[int, int] | None,
        short_side: int | None,
        capacity: int,
        threads: int,
        allocate: Allocator | None,
    ) -> None:
        reformatter = require("av.video.reformatter", "decoding videos")
        Interpolation, VideoReformatter = reformatter.Interpolation, reformatter.VideoReformatter

        self.size, self.short_side, self.capacity, self.threads = size, short_side, capacity, threads
        self.allocate = allocate or (lambda shape: np.empty(shape, dtype=np.uint8))
        self.scaler = VideoReformatter()  # reused: FFmpeg sets the scaler up once per video, not per frame
        self.bilinear = Interpolation.BILINEAR
        self.buffer: np.ndarray | None = None
        self.rotation = 0
        self.count = 0

    def _start(self, frame: Any) -> None:
        self.rotation = int(getattr(frame, "rotation", 0) or 0)  # PyAV >= 13 reads the display matrix
        h, w = output_size(frame.width, frame.height, self.rotation, self.size, self.short_side)
        self.scaled = (w, h) if self.rotation % 180 else (h, w)  # scale in the stored orientation, then rotate
        self.buffer = self.allocate((self.capacity, h, w, 3))

    def _grow(self, need: int) -> None:
        assert self.buffer is not None
        bigger = self.allocate((max(need, 2 * self.buffer.shape[0]),) + self.buffer.shape[1:])
        bigger[: self.count] = self.buffer[: self.count]
        self.buffer = bigger

    def write(self, frame: Any, first: int, count: int) -> None:
        """Convert ``frame`` once and place it at output positions ``first .. first+count-1``."""
        if self.buffer is None:
            self._start(frame)
        assert self.buffer is not None
        if first + count > self.buffer.shape[0]:
            self._grow(first + count)
        h, w = self.scaled
        rgb = self.scaler.reformat(
            frame, width=w, height=h, format="rgb24", interpolation=self.bilinear, threads=self.threads
        ).to_ndarray()  # (h, w, 3), a view of FFmpeg's frame
        self.buffer[first : first + count] = _rotate(rgb, self.rotation)
        self.count = first + count

    def frames(self) -> np.ndarray:
        assert self.buffer is not None
        return self.buffer[: self.count]


def _declared_frames(stream: Any) -> int:
    """Frames the container says the stream holds (0 when it does not say)."""
    return int(stream.frames or 0)


def _check_complete(stream: Any, progress: _Progress, why: str = "") -> None:
    """DecodeError when a file decoded to its end holds far less than its container declares (a cut-off
    download): fewer than 95 % of the declared frames (and more than two missing), and, where the stream
    declares its duration, fewer than 95 % of that duration covered. Files that merely skip frames
    (AVI drop frames, edit lists) still cover their duration and pass."""
    declared = _declared_frames(stream)
    if not declared or progress.decoded >= TRUNCATION_TOLERANCE * declared or declared - progress.decoded <= 2:
        return
    tick = Fraction(stream.time_base) if stream.time_base else None
    if stream.duration and tick is not None:
        covered, total = float(progress.end * tick), float(stream.duration * tick)
        if covered >= TRUNCATION_TOLERANCE * total:
            return
        span = f" ({covered:.2f} of {total:.2f} s)"
    else:
        span = ""
    raise DecodeError(
        f"truncated: the container declares {declared} frames, only {progress.decoded} could be decoded{span}{why}"
    )


def _decode_pyav(
    path: Path,
    fps: Fraction,
    max_frames: int | None,
    size: tuple[int, int] | None,
    short_side: int | None,
    threads: int,
    allocate: Allocator | None,
) -> Decoded:
    av = require("av", "decoding videos")

    limit = math.inf if max_frames is None else int(max_frames)
    container, stream = _open_video(path, threads)
    with container:
        native = stream.average_rate or stream.guessed_rate or Fraction(25)
        if max_frames is not None:
            capacity = int(max_frames)
        else:  # whole video: a guess from the container, grown when it is short
            capacity = (
                max(16, math.ceil(float(stream.duration * stream.time_base) * fps) + 1) if stream.duration else 256
            )
        writer = _FrameWriter(size, short_side, max(1, capacity), threads, allocate)
        tick = Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000)
        progress = _Progress()
        timed = _timed_frames(container.decode(stream), max(1, round(1 / (Fraction(native) * tick))), progress)
        try:
            for frame, first, count in _shown_frames(timed, 1 / (fps * tick), limit):
                writer.write(frame, first, count)
        except av.error.FFmpegError as exc:
            _check_complete(stream, progress, f"; decoding stopped: {_ffmpeg_reason(exc)}")
            raise DecodeError(f"decoding failed after {progress.decoded} frames: {_ffmpeg_reason(exc)}") from None
        if writer.buffer is None:
            raise DecodeError("no video frames could be decoded")
        cut = writer.count >= limit
        if not cut:
            _check_complete(stream, progress)
        source = {
            "path": str(path),
            "codec": stream.codec_context.name,
            "native_fps": float(native),
            "width": int(stream.codec_context.width),
            "height": int(stream.codec_context.height),
            "rotation": writer.rotation,
            "frames_decoded": progress.decoded,
            "container_frames": _declared_frames(stream),
            "fps": float(fps),
            "frames": writer.count,
            "truncated_at_max": bool(cut and max_frames is not None),
        }
    return Decoded(writer.frames(), source)


# ------------------------------------------------------------------------------------------- torchcodec


def _decode_torchcodec(
    path: Path,
    fps: Fraction,
    max_frames: int | None,
    size: tuple[int, int] | None,
    short_side: int | None,
    threads: int,
    device: str,
) -> Decoded:
    """The same sampling with torchcodec (when installed): frames shown at ``k / fps`` seconds.

    ``device="cuda"`` decodes on the GPU (NVDEC) and returns a CUDA tensor, resized there.
    """
    try:
        from torchcodec.decoders import VideoDecoder
    except ImportError:
        raise ConfigError("video.decoder: torchcodec is not installed; use 'pyav'") from None
    import torch
    import torch.nn.functional as F

    container, _ = _open_video(path, threads)  # the same checks as PyAV's path: only videos are videos
    container.close()
    try:
        kwargs: dict[str, Any] = {"dimension_order": "NHWC", "num_ffmpeg_threads": threads}
        if device != "cpu":
            kwargs["device"] = device
        dec = VideoDecoder(str(path), **kwargs)
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
        "decoder": "torchcodec" if device == "cpu" else "torchcodec-cuda",
    }
    frames = frames.contiguous()
    return Decoded(frames if device != "cpu" else frames.numpy(), source)
