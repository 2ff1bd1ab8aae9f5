"""Hugging Face models from a local ``save_pretrained`` folder as backbones: ``--backbone hf:PATH``.

- image–text models (CLIP ``CLIPModel``, SigLIP ``SiglipModel``): every frame of a clip is embedded by the
  image tower, projection included (what the model's own ``get_image_features`` returns); **one step is the
  mean of its clip's frame embeddings**. The clip length defaults to 8 frames, so with the default stride of 8
  every frame is embedded once.
- video models (VideoMAE ``VideoMAEModel``, X-CLIP ``XCLIPModel``): **one step is one clip's embedding**, the
  clip being as many frames as the model takes (config ``num_frames``). VideoMAE: the mean of the last hidden
  state over all tokens (the pooling its classification head applies with ``use_mean_pooling``, without the
  head's ``fc_norm``); X-CLIP: its ``get_video_features`` (image tower per frame, projection, then its
  multi-frame integration transformer, mean over frames).

Preprocessing is the folder's own processor (``preprocessor_config.json`` read with ``AutoImageProcessor``):
its resize, crop, rescale, mean/std and channel order, applied to the decoded RGB frames; nothing of it is a
constant here. Decoding already scales frames to the processor's resize size (its short side, or its
height × width), so the processor's own resize has little left to do. The folder's model class, config digest
and weights digest go into the store metadata (:class:`action2vec.hf_folder.HFFolder`), so a resume or a model
embedding new videos with another folder is refused.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from action2vec.errors import ConfigError
from action2vec.hf_folder import IMAGE_TEXT, HFFolder, load_hf_model, load_hf_processor, read_hf_folder
from action2vec.video.backbones import register_backbone
from action2vec.video.backbones.base import Backbone

__all__ = ["HFBackbone", "IMAGE_CLIP_LEN"]

log = logging.getLogger(__name__)

IMAGE_CLIP_LEN = 8  # frames per step of an image-text model (the default stride: each frame embedded once)

_STEPS = {
    "clip": "mean of clip frames' image embeddings (get_image_features)",
    "siglip": "mean of clip frames' image embeddings (get_image_features)",
    "videomae": "one clip's embedding: mean of the last hidden state over all tokens",
    "xclip": "one clip's embedding (get_video_features)",
}
_LAYERS = {"clip": "image_embeds", "siglip": "image_embeds", "videomae": "last_hidden_mean", "xclip": "video_embeds"}


def _pooled(out: Any) -> torch.Tensor:
    """The embedding a ``get_*_features`` call returns: a tensor, or (transformers >= 5) its ``pooler_output``."""
    return out if isinstance(out, torch.Tensor) else out.pooler_output


def _plain(value: Any) -> Any:
    """A processor setting as plain data: a size mapping without its unset entries, tuples as lists."""
    if hasattr(value, "items") or hasattr(value, "__dataclass_fields__"):
        items = value.items() if hasattr(value, "items") else vars(value).items()
        return {k: v for k, v in items if v is not None}
    return list(value) if isinstance(value, tuple) else value


def _vision_config(config: Any) -> Any:
    return getattr(config, "vision_config", config)


class HFBackbone(Backbone):
    """A model of a local Hugging Face folder; preprocessing by the folder's image processor (NumPy frames in)."""

    cached_weights = True  # the folder of the name holds the weights: --weights is never asked for
    device_preprocess = False

    def __init__(self, folder: HFFolder) -> None:
        super().__init__()
        self.folder = folder
        self.name = folder.spec
        self.model = load_hf_model(folder)
        self.processor = load_hf_processor(folder, "image")
        self.image_text = folder.model_type in IMAGE_TEXT
        self.layer = _LAYERS[folder.model_type]
        self.pretrained = True
        self.weights_sha256 = folder.weights_sha256
        vision = _vision_config(self.model.config)
        self.clip_len = IMAGE_CLIP_LEN if self.image_text else int(vision.num_frames)
        self.fixed_clip_len = not self.image_text  # its position embeddings fit num_frames frames only
        self.dim = self._output_dim()
        size = getattr(self.processor, "size", None) or {}
        if "shortest_edge" in size:
            self.short_side = int(size["shortest_edge"])
        elif "height" in size and "width" in size:
            self.frame_size = (int(size["height"]), int(size["width"]))
        log.info(
            "hf backbone %s: %s, %d-d, %d frames per clip, one step = %s",
            folder.path,
            folder.architecture,
            self.dim,
            self.clip_len,
            _STEPS[folder.model_type],
        )

    def _output_dim(self) -> int:
        config = self.model.config
        if self.folder.model_type == "videomae":
            return int(config.hidden_size)
        return int(getattr(config, "projection_dim", None) or _vision_config(config).hidden_size)

    def preprocess(self, clips: np.ndarray | torch.Tensor) -> torch.Tensor:
        """uint8 RGB clips (N, L, H, W, 3) -> the processor's pixel values (N, L, 3, h, w) float32 (CPU)."""
        x = clips.cpu().numpy() if isinstance(clips, torch.Tensor) else np.asarray(clips)
        n, length = x.shape[:2]
        if self.image_text:
            frames = list(x.reshape((n * length,) + x.shape[2:]))
            pixels = self.processor(images=frames, return_tensors="pt", input_data_format="channels_last")[
                "pixel_values"
            ]
            return pixels.reshape((n, length) + tuple(pixels.shape[1:]))
        videos = [list(clip) for clip in x]
        return self.processor(videos, return_tensors="pt", input_data_format="channels_last")["pixel_values"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pixel values (N, L, 3, h, w) -> (N, dim): one step per clip."""
        n, length = x.shape[:2]
        x = x.float()
        if self.image_text:
            frames = _pooled(self.model.get_image_features(pixel_values=x.reshape((n * length,) + tuple(x.shape[2:]))))
            return frames.float().reshape(n, length, -1).mean(dim=1)  # (N, D): the clip's mean frame embedding
        if self.folder.model_type == "xclip":
            return _pooled(self.model.get_video_features(pixel_values=x)).float()
        return self.model(pixel_values=x).last_hidden_state.float().mean(dim=1)  # VideoMAE: (N, tokens, D) -> (N, D)

    def meta(self) -> dict[str, Any]:
        proc = self.processor
        parts = [type(proc).__name__]
        for key in ("size", "crop_size", "rescale_factor", "image_mean", "image_std"):
            value = getattr(proc, key, None)
            if value is not None:
                parts.append(f"{key} {_plain(value)}")
        return {
            **super().meta(),
            **self.folder.identity(),
            "step": _STEPS[self.folder.model_type],
            "preprocess": "processor of the folder: " + ", ".join(parts),
        }


@register_backbone("hf", cls=HFBackbone)
def _hf(weights: Path | None, random_weights: bool, layer: str | None) -> HFBackbone:
    """``weights`` is the folder of ``hf:PATH`` (the registry passes it)."""
    if weights is None:
        raise ConfigError("backbone 'hf' needs a folder: --backbone hf:PATH (a local save_pretrained folder)")
    folder = read_hf_folder(weights)
    if layer not in (None, _LAYERS[folder.model_type]):
        raise ConfigError(f"backbone.layer: hf:{folder.path} outputs {_LAYERS[folder.model_type]} only, not {layer!r}")
    return HFBackbone(folder)
