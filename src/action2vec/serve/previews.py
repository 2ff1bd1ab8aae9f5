"""Short animated previews of video files, made with the project's PyAV decoder and kept in memory.

    previews = Previews(size=128, frames=12)
    preview: Preview = previews.get(path)     # decoded once, then served from the cache
    preview.data, preview.media_type          # animated WebP bytes, "image/webp"

A preview shows ``frames`` frames spread evenly over the first ``span`` seconds of the video (the whole of
a short clip), the short side scaled down to ``size`` pixels (never up), played at the speed they were
taken at (each frame shown for span / frames seconds, within 60..500 ms). It is an animated WebP (a tenth
of a GIF's bytes on noisy video; every current browser shows it), or a GIF where Pillow lacks WebP.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from action2vec.errors import DataError
from action2vec.extras import require

__all__ = ["Preview", "Previews", "video_preview"]


@dataclass(frozen=True)
class Preview:
    """An encoded animated image."""

    data: bytes
    media_type: str  # "image/webp" or "image/gif"


def video_preview(path: str | Path, size: int = 128, frames: int = 12, span: float = 10.0) -> Preview:
    """An animated image of ``frames`` frames over the first ``span`` seconds of ``path``; DataError (a
    DecodeError) when it cannot be decoded."""
    require("PIL", "video previews", extra="serve")
    from PIL import Image, features

    from action2vec.video.decode import decode_video, probe_video

    probe = probe_video(path)
    shown = min(float(probe.get("duration_s") or span), span)
    fps = max(frames / max(shown, 1e-3), 0.05)
    short = min(int(probe.get("width") or size), int(probe.get("height") or size), size)
    decoded = decode_video(path, fps=fps, max_frames=frames, short_side=short, threads=1)
    images = [Image.fromarray(f) for f in decoded.frames]
    step_ms = int(min(500, max(60, 1000 * shown / max(len(images), 1))))
    webp = features.check("webp")
    out = io.BytesIO()
    images[0].save(
        out,
        format="WEBP" if webp else "GIF",
        save_all=True,
        append_images=images[1:],
        duration=step_ms,
        loop=0,
        **({"quality": 70} if webp else {}),
    )
    return Preview(out.getvalue(), "image/webp" if webp else "image/gif")


class Previews:
    """:func:`video_preview` with the last ``cache`` previews kept in memory (thread-safe); a file that
    cannot be decoded is remembered too, so it is not decoded again."""

    def __init__(self, size: int = 128, frames: int = 12, cache: int = 512) -> None:
        self.size, self.frames, self.cache = size, frames, cache
        self._done: OrderedDict[Path, Preview | DataError] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: Path) -> Preview:
        """The preview of ``path`` (an allowed, existing file); DataError when it cannot be decoded."""
        with self._lock:
            hit = self._done.get(path)
            if hit is not None:
                self._done.move_to_end(path)
        if hit is None:
            try:
                hit = video_preview(path, self.size, self.frames)
            except DataError as exc:
                hit = exc
            with self._lock:
                self._done[path] = hit
                while len(self._done) > self.cache:
                    self._done.popitem(last=False)
        if isinstance(hit, DataError):
            raise hit
        return hit
