"""Torchvision's Kinetics-400 video models as backbones (registered only when torchvision is installed).

Each outputs its penultimate features (the classification head is removed): R3D-18, MC3-18 and
R(2+1)D-18 512-d, S3D 1024-d, MViT 768-d. Weights come from ``--weights PATH`` (a state dict file) or,
without it, from torchvision's own cache (``torch.hub.get_dir()/checkpoints``); nothing is downloaded.
Preprocessing is that of the weights' ``transforms``: resize, centre crop, scale to 0..1, normalise.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from action2vec.errors import ConfigError, DataError
from action2vec.video.backbones import register_backbone
from action2vec.video.backbones.base import Backbone

__all__ = ["TorchvisionVideo", "TV_MODELS"]

log = logging.getLogger(__name__)

_KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
_KINETICS_STD = (0.22803, 0.22145, 0.216989)


@dataclass(frozen=True)
class _Spec:
    builder: str  # function in torchvision.models.video
    weights: str  # weights enum
    resize: tuple[int, ...]  # (H, W), or (short_side,)
    crop: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    head: str  # attribute holding the classifier


TV_MODELS: dict[str, _Spec] = {
    "r3d_18": _Spec("r3d_18", "R3D_18_Weights", (128, 171), 112, _KINETICS_MEAN, _KINETICS_STD, "fc"),
    "mc3_18": _Spec("mc3_18", "MC3_18_Weights", (128, 171), 112, _KINETICS_MEAN, _KINETICS_STD, "fc"),
    "r2plus1d_18": _Spec("r2plus1d_18", "R2Plus1D_18_Weights", (128, 171), 112, _KINETICS_MEAN, _KINETICS_STD, "fc"),
    "s3d": _Spec("s3d", "S3D_Weights", (256, 256), 224, _KINETICS_MEAN, _KINETICS_STD, "classifier"),
    "mvit_v1_b": _Spec("mvit_v1_b", "MViT_V1_B_Weights", (256,), 224, (0.45,) * 3, (0.225,) * 3, "head"),
    "mvit_v2_s": _Spec("mvit_v2_s", "MViT_V2_S_Weights", (256,), 224, (0.45,) * 3, (0.225,) * 3, "head"),
}


def _head_dim(model: nn.Module, head: str) -> int:
    layer = getattr(model, head)
    if isinstance(layer, nn.Linear):
        return layer.in_features
    for sub in layer.modules():
        if isinstance(sub, nn.Linear):
            return sub.in_features
        if isinstance(sub, nn.Conv3d):
            return sub.in_channels
    raise TypeError(f"cannot find the classifier input size of {type(model).__name__}.{head}")


def _cached_weights(spec: _Spec) -> Path:
    """The file torchvision's own download would have left in its cache for these weights."""
    from torchvision.models import get_weight

    weights = get_weight(f"{spec.weights}.DEFAULT")
    path = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    if not path.is_file():
        raise ConfigError(
            f"backbone '{spec.builder}': no --weights given and {path} is not in torchvision's cache; "
            "pass --weights PATH (a state dict) or --random-weights"
        )
    return path


class TorchvisionVideo(Backbone):
    """A torchvision video classifier without its head; preprocessing as for its Kinetics weights."""

    clip_len = 16
    cached_weights = True  # may load from torchvision's cache when no --weights is given
    device_preprocess = True
    mean: torch.Tensor  # buffers (registered in __init__)
    std: torch.Tensor

    def __init__(self, name: str, weights: Path | None = None, random_weights: bool = False) -> None:
        super().__init__()
        import torchvision.models.video as tvv

        from action2vec.video.backbones.c3d import load_state_dict_file

        spec = TV_MODELS[name]
        self.name = name
        self.layer = "penultimate"
        self.spec = spec
        model = getattr(tvv, spec.builder)(weights=None)
        if not random_weights:
            path = weights if weights is not None else _cached_weights(spec)
            state = load_state_dict_file(path)
            try:
                model.load_state_dict(state)
            except RuntimeError as exc:
                raise DataError(f"{path}: not {name} weights ({str(exc).splitlines()[0]})") from None
            self.weights_file = str(path)
        self.pretrained = not random_weights
        self.dim = _head_dim(model, spec.head)
        setattr(model, spec.head, nn.Identity())
        self.model = model
        if len(spec.resize) == 2:
            self.frame_size = (int(spec.resize[0]), int(spec.resize[1]))
        else:
            self.short_side = int(spec.resize[0])
        self.register_buffer("mean", torch.tensor(spec.mean).view(1, 3, 1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(spec.std).view(1, 3, 1, 1, 1), persistent=False)

    def preprocess(self, clips: np.ndarray | torch.Tensor) -> torch.Tensor:
        """uint8 RGB (N, L, H, W, 3) -> uint8 (N, 3, L, crop, crop) in channels-last memory.

        Takes a NumPy array or a tensor on any device (the result stays there). Frames not already at the
        weights' resize size are resized here; ``forward`` scales to 0..1 and normalises on the model's device.
        """
        n, length, h, w, _ = clips.shape
        if len(self.spec.resize) == 2:
            size = (int(self.spec.resize[0]), int(self.spec.resize[1]))
        else:
            s = self.spec.resize[0] / min(h, w)
            size = (round(h * s), round(w * s))
        x = torch.from_numpy(clips) if isinstance(clips, np.ndarray) else clips  # (N, L, H, W, 3), a strided view
        if (h, w) != size:
            x = x.reshape(n * length, h, w, 3).permute(0, 3, 1, 2).float()
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
            x = x.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).reshape(n, length, *size, 3)
        c = self.spec.crop
        top, left = (size[0] - c) // 2, (size[1] - c) // 2
        return (
            x[:, :, top : top + c, left : left + c]
            .permute(0, 4, 1, 2, 3)
            .contiguous(memory_format=torch.channels_last_3d)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, L, crop, crop) uint8 (or float 0..255) -> (N, dim)."""
        x = (x.float() / 255.0 - self.mean) / self.std
        return self.model(x).flatten(1)

    def meta(self) -> dict[str, Any]:
        s = self.spec
        prep = f"resize {s.resize}, crop {s.crop}, RGB 0..1, mean {s.mean}, std {s.std}"
        return {**super().meta(), "preprocess": prep}


def _factory(name: str) -> Callable[[Path | None, bool, str | None], TorchvisionVideo]:
    def make(weights: Path | None, random_weights: bool, layer: str | None) -> TorchvisionVideo:
        if layer not in (None, "penultimate"):
            raise ConfigError(f"backbone.layer: {name} outputs its penultimate features only, not {layer!r}")
        return TorchvisionVideo(name, weights, random_weights)

    return make


if importlib.util.find_spec("torchvision") is not None:
    for _name in TV_MODELS:
        register_backbone(_name, cls=TorchvisionVideo)(_factory(_name))
