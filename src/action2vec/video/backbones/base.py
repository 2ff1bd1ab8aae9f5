"""The interface every clip backbone implements.

A backbone carries its own preprocessing (resize, crop, normalisation), so a store records everything
needed to reproduce its features: ``meta()`` goes into the store metadata.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

__all__ = ["Backbone"]


class Backbone(torch.nn.Module):
    """A clip model: ``preprocess`` uint8 frames, then ``forward`` to one feature vector per clip.

    Subclasses set ``name``, ``layer``, ``dim``, ``clip_len`` and ``pretrained``; weight-free
    backbones set the class attribute ``needs_weights = False``. ``frame_size`` lets decoding resize
    frames early (in FFmpeg's scaler), which is much cheaper than resizing full-size frames later.
    """

    name: str = ""
    layer: str = ""
    dim: int = 0
    clip_len: int = 16
    fixed_clip_len: bool = False  # the model takes exactly ``clip_len`` frames: no other video.clip_len
    pretrained: bool = False
    # (H, W) that decoding should resize frames to before ``preprocess`` (None: decoder's default size)
    frame_size: tuple[int, int] | None = None
    # short side that decoding should scale frames to when ``frame_size`` is None (None: config default)
    short_side: int | None = None
    needs_weights: ClassVar[bool] = True
    # True when the factory can find weights on its own (e.g. torchvision's cache) if none are given
    cached_weights: ClassVar[bool] = False
    # True when ``preprocess`` also takes a uint8 tensor on any device and keeps it there (extraction then
    # moves uint8 frames to the GPU and preprocesses there); False: NumPy clips in, CPU tensor out
    device_preprocess: ClassVar[bool] = False
    # SHA-256 of the weights file it was built from (set by ``create_backbone``; None: built-in or cached weights)
    weights_sha256: str | None = None

    def preprocess(self, clips: np.ndarray | torch.Tensor) -> torch.Tensor:
        """uint8 RGB clips (N, L, H, W, 3) -> model input tensor (on the clips' device; NumPy: the CPU)."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Model input (output of ``preprocess``) -> clip features (N, dim)."""
        raise NotImplementedError

    def meta(self) -> dict[str, Any]:
        """What the store records about this backbone."""
        return {
            "backbone": self.name,
            "layer": self.layer,
            "dim": int(self.dim),
            "clip_len": int(self.clip_len),
            "pretrained": bool(self.pretrained),
            "random_weights": not self.pretrained and type(self).needs_weights,
            "weights_sha256": self.weights_sha256,
        }
