"""C3D (Tran et al. 2015), the paper's backbone, able to load the Sports-1M weights users have.

The layer names follow the widely used PyTorch port, so its state dict (``c3d.pickle``: ``conv1.weight``
... ``fc8.bias``) and a safetensors copy load as they are. Pickles are read with
``torch.load(weights_only=True)``: plain tensors only, never arbitrary objects.

Preprocessing is the one the Caffe model was trained with: frames resized to 128x171, centre crop
112x112, BGR channel order, the Sports-1M per-channel mean subtracted, values in 0..255.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from action2vec.errors import ConfigError, DataError
from action2vec.video.backbones import register_backbone
from action2vec.video.backbones.base import Backbone

__all__ = ["C3D", "load_state_dict_file", "C3D_SHAPES"]

# Per-channel Sports-1M training mean in BGR order (the original release's mean cube, averaged per channel).
SPORTS1M_MEAN_BGR = (90.25, 97.66, 101.41)

_CONVS = [
    ("conv1", 3, 64),
    ("conv2", 64, 128),
    ("conv3a", 128, 256),
    ("conv3b", 256, 256),
    ("conv4a", 256, 512),
    ("conv4b", 512, 512),
    ("conv5a", 512, 512),
    ("conv5b", 512, 512),
]
_FCS = [("fc6", 8192, 4096), ("fc7", 4096, 4096), ("fc8", 4096, 487)]

# Expected shape of every tensor in the Sports-1M state dict.
C3D_SHAPES: dict[str, tuple[int, ...]] = {}
for _name, _cin, _cout in _CONVS:
    C3D_SHAPES[f"{_name}.weight"] = (_cout, _cin, 3, 3, 3)
    C3D_SHAPES[f"{_name}.bias"] = (_cout,)
for _name, _cin, _cout in _FCS:
    C3D_SHAPES[f"{_name}.weight"] = (_cout, _cin)
    C3D_SHAPES[f"{_name}.bias"] = (_cout,)

LAYERS = ("fc6", "fc7")


def load_state_dict_file(path: Path) -> dict[str, torch.Tensor]:
    """Read a state dict from ``.safetensors`` or a torch pickle (tensors only, ``weights_only``)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: weights file not found")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as exc:  # safetensors raises its own error types
            raise DataError(f"{path}: not a readable safetensors file ({exc})") from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError for disallowed objects, RuntimeError for bad archives
        raise DataError(f"{path}: not a plain tensor state dict ({type(exc).__name__}: {exc})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise DataError(f"{path}: expected a mapping of parameter names to tensors")
    return state


def _clean_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Strip the ``module.`` prefix that DataParallel checkpoints carry."""
    return {k[7:] if k.startswith("module.") else k: v for k, v in state.items()}


class C3D(Backbone):
    """C3D with eight 3x3x3 convolutions and fc6/fc7; returns fc6 or fc7 after ReLU (4096-d)."""

    name = "c3d"
    clip_len = 16
    crop = 112
    resize = (128, 171)  # (H, W)
    frame_size = (128, 171)
    device_preprocess = True
    # set in __init__: the convolutions of _CONVS (by setattr) and the mean buffer
    conv1: nn.Conv3d
    conv2: nn.Conv3d
    conv3a: nn.Conv3d
    conv3b: nn.Conv3d
    conv4a: nn.Conv3d
    conv4b: nn.Conv3d
    conv5a: nn.Conv3d
    conv5b: nn.Conv3d
    mean: torch.Tensor

    def __init__(self, layer: str = "fc7", pretrained: bool = False, width: int = 1) -> None:
        """``width`` > 1 divides every layer's size by it (``c3d-tiny``: a fast stand-in for tests).

        ``crop`` (class attribute) sets the input size: pool5 gives 4x4 cells at 112, 2x2 at 56.
        """
        super().__init__()
        if layer not in LAYERS:
            raise ConfigError(f"backbone.layer: C3D outputs one of {list(LAYERS)}, not {layer!r}")
        self.layer = layer
        self.width = width
        self.dim = 4096 // width
        self.pretrained = pretrained
        for name, cin, cout in _CONVS:
            setattr(self, name, nn.Conv3d(cin if cin == 3 else cin // width, cout // width, 3, padding=1))
        cells = ((self.crop // 16) // 2 + 1) ** 2  # pool5 of (crop // 16) with padding 1: 4x4 at 112
        self.fc6 = nn.Linear(512 // width * cells, self.dim)
        self.fc7 = nn.Linear(self.dim, self.dim)
        self.register_buffer("mean", torch.tensor(SPORTS1M_MEAN_BGR).view(1, 3, 1, 1, 1), persistent=False)

    def load_weights(self, path: Path) -> None:
        """Load the Sports-1M state dict (pickle or safetensors); fc8 is ignored; shapes are checked."""
        if self.width != 1:
            raise ConfigError("backbone: pretrained C3D weights need the full-size 'c3d', not a reduced width")
        state = _clean_keys(load_state_dict_file(path))
        unused = ("fc8.", "fc7.") if self.layer == "fc6" else ("fc8.",)
        needed = [k for k in C3D_SHAPES if not k.startswith(unused)]
        missing = [k for k in needed if k not in state]
        if missing:
            raise DataError(f"{path}: not a C3D state dict, missing {', '.join(missing[:4])}")
        for key in needed:
            if tuple(state[key].shape) != C3D_SHAPES[key]:
                raise DataError(f"{path}: {key} has shape {tuple(state[key].shape)}, C3D expects {C3D_SHAPES[key]}")
        own = {k: v.to(torch.float32) for k, v in state.items() if k in self.state_dict()}
        self.load_state_dict(own, strict=False)
        self.pretrained = True

    def preprocess(self, clips: np.ndarray | torch.Tensor) -> torch.Tensor:
        """uint8 RGB (N, L, H, W, 3) -> uint8 BGR (N, 3, L, crop, crop), in channels-last memory.

        Takes a NumPy array or a tensor on any device (the result stays there). Only the crop is copied,
        and it stays uint8 (4x less to move than float); ``forward`` converts it on the model's device.
        Frames not already at 128x171 are resized here first.
        """
        x = torch.from_numpy(clips) if isinstance(clips, np.ndarray) else clips  # strided: no copy of overlaps
        n, length, h, w, _ = x.shape
        if (h, w) != self.resize:
            x = x.reshape(n * length, h, w, 3).permute(0, 3, 1, 2).float()  # (N*L, 3, H, W)
            x = F.interpolate(x, size=self.resize, mode="bilinear", align_corners=False, antialias=True)
            x = x.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).reshape(n, length, *self.resize, 3)
        top = (self.resize[0] - self.crop) // 2
        left = (self.resize[1] - self.crop) // 2
        x = x[:, :, top : top + self.crop, left : left + self.crop, [2, 1, 0]]  # (N, L, crop, crop, 3) BGR
        return x.permute(0, 4, 1, 2, 3)  # (N, 3, L, crop, crop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, 16, crop, crop) BGR 0..255 (uint8 or float) -> (N, dim) fc6 or fc7 after ReLU."""
        x = x.float() - self.mean  # (N, 3, L, H, W); under autocast the convolutions run in bfloat16
        x = F.max_pool3d(F.relu(self.conv1(x)), (1, 2, 2))
        x = F.max_pool3d(F.relu(self.conv2(x)), 2)
        x = F.max_pool3d(F.relu(self.conv3b(F.relu(self.conv3a(x)))), 2)
        x = F.max_pool3d(F.relu(self.conv4b(F.relu(self.conv4a(x)))), 2)
        x = F.relu(self.conv5b(F.relu(self.conv5a(x))))
        x = F.max_pool3d(x, 2, padding=(0, 1, 1))  # (N, 512, 1, 4, 4)
        x = F.relu(self.fc6(x.flatten(1)))
        if self.layer == "fc6":
            return x
        return F.relu(self.fc7(x))

    def meta(self) -> dict[str, Any]:
        h, w = self.resize
        return {**super().meta(), "preprocess": f"resize {h}x{w}, crop {self.crop}, BGR, minus Sports-1M mean"}


@register_backbone("c3d", cls=C3D)
def _c3d(weights: Path | None, random_weights: bool, layer: str | None) -> C3D:
    model = C3D(layer=layer or "fc7")
    if weights is not None:
        model.load_weights(weights)
    return model


class TinyC3D(C3D):
    """C3D 16x narrower on 56x56 crops (256-d features): a fast stand-in for tests and smoke runs."""

    name = "c3d-tiny"
    crop = 56
    resize = (64, 86)
    frame_size = (64, 86)

    def __init__(self, layer: str = "fc7", pretrained: bool = False) -> None:
        super().__init__(layer=layer, pretrained=pretrained, width=16)


@register_backbone("c3d-tiny", cls=TinyC3D)
def _c3d_tiny(weights: Path | None, random_weights: bool, layer: str | None) -> TinyC3D:
    model = TinyC3D(layer=layer or "fc7")
    if weights is not None:
        state = _clean_keys(load_state_dict_file(weights))
        try:
            model.load_state_dict({k: v.float() for k, v in state.items() if not k.startswith("fc8.")})
        except RuntimeError as exc:
            raise DataError(f"{weights}: does not fit c3d-tiny ({str(exc).splitlines()[0]})") from None
        model.pretrained = True
    return model
