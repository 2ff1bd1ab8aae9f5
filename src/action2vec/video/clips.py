"""Clip sampling: fixed-length clips every ``stride`` frames of a video cut or zero-padded to a duration.

The arithmetic (paper defaults in brackets):

- target frames ``F = round(duration * fps)``  [14 s x 30 fps = 420]
- steps ``T = max(1, F // stride)``  [420 // 8 = 52]; clip ``k`` covers frames ``[k*stride, k*stride + clip_len)``
- a video with ``n`` real frames has ``length = clamp(ceil(n / stride), 1, T)`` true steps: the clips
  that start on a real frame. Frames past the end of the video are zeros (black). Rows ``length..T-1``
  of the stored feature sequence are zero vectors (padding, masked by the model using ``length``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from action2vec.errors import ConfigError
from action2vec.video.config import ClipConfig

__all__ = ["ClipPlan", "plan_clips", "clip_view"]


@dataclass(frozen=True)
class ClipPlan:
    """Frame and step counts for one setting of fps, duration, clip length and stride."""

    fps: float
    duration: float
    clip_len: int
    stride: int

    @property
    def frames(self) -> int:
        """Target frames F per video."""
        return int(round(self.duration * self.fps))

    @property
    def steps(self) -> int:
        """Steps T per video (rows of the stored sequence)."""
        return max(1, self.frames // self.stride)

    def length(self, real_frames: int) -> int:
        """True steps of a video with ``real_frames`` decoded frames (at the target fps)."""
        return min(self.steps, max(1, math.ceil(min(real_frames, self.frames) / self.stride)))

    def needed_frames(self, length: int) -> int:
        """Frames (real plus zero padding) the first ``length`` clips cover."""
        return (length - 1) * self.stride + self.clip_len

    def meta(self) -> dict[str, float | int]:
        return {
            "fps": self.fps,
            "duration": self.duration,
            "clip_len": self.clip_len,
            "stride": self.stride,
            "frames": self.frames,
            "steps": self.steps,
        }


def plan_clips(cfg: ClipConfig, backbone_clip_len: int, fixed: bool = False) -> ClipPlan:
    """The clip plan of ``cfg``, taking the clip length from the backbone when ``cfg.clip_len`` is 0 (``fixed``:
    the backbone takes no other length)."""
    clip_len = int(cfg.clip_len or backbone_clip_len)
    if fixed and clip_len != backbone_clip_len:
        raise ConfigError(
            f"video.clip_len: the backbone takes exactly {backbone_clip_len} frames per clip, not "
            f"{clip_len}; leave video.clip_len out or set it to {backbone_clip_len}"
        )
    if clip_len <= 0:
        raise ConfigError(f"video.clip_len: must be positive, got {clip_len}")
    if cfg.stride <= 0:
        raise ConfigError(f"video.stride: must be positive, got {cfg.stride}")
    if cfg.duration <= 0 or cfg.fps <= 0:
        raise ConfigError("video.duration and video.fps must be positive")
    if round(cfg.duration * cfg.fps) < 1:
        raise ConfigError(f"video.duration: {cfg.duration} s at {cfg.fps} fps is less than one frame")
    return ClipPlan(float(cfg.fps), float(cfg.duration), clip_len, int(cfg.stride))


def clip_view(frames: np.ndarray | torch.Tensor, plan: ClipPlan, length: int) -> np.ndarray | torch.Tensor:
    """The first ``length`` clips of ``frames`` (n, H, W, 3) -> (length, L, H, W, 3), zero-padded.

    Works on NumPy arrays and on torch tensors (on any device). Returns a strided view of one padded
    frame buffer (``frames`` itself when it already holds every frame the clips cover): clips that
    overlap share memory (do not write).
    """
    need = plan.needed_frames(length)
    n = min(frames.shape[0], need)
    if isinstance(frames, torch.Tensor):
        tbuf = (
            frames[:need]
            if n == need
            else torch.cat([frames[:n], frames.new_zeros((need - n,) + tuple(frames.shape[1:]))])
        )
        return tbuf.unfold(0, plan.clip_len, plan.stride)[:length].movedim(-1, 1)  # (length, L, H, W, 3)
    if n == need and frames.flags.c_contiguous:
        buf = frames[:need]
    else:
        buf = np.zeros((need,) + frames.shape[1:], dtype=frames.dtype)
        buf[:n] = frames[:n]
    # writeable so that torch.from_numpy accepts it without a copy; overlapping clips share memory, so
    # backbones must not modify their input (none does: preprocessing makes new tensors)
    windows = np.lib.stride_tricks.sliding_window_view(buf, plan.clip_len, axis=0, writeable=True)
    windows = windows[:: plan.stride][:length]
    return np.moveaxis(windows, -1, 1)  # (length, L, H, W, 3)
