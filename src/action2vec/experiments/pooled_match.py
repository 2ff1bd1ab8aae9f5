"""The training-free zero-shot row ``pooled_match``: a video's mean step feature, cosine to the class texts.

It is the reference row of every CLIP-style zero-shot paper: no training, the video and the label texts
embedded by the two towers of one image–text model. That only means something when the store's backbone
and the label-text embedder are the same model, so :func:`check_same_model` compares the digests the store
recorded for its ``hf:`` backbone (config and weights) with those of the text embedder's folder, and refuses
anything else in one line before any work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from action2vec.errors import ConfigError
from action2vec.experiments.features import pooled_features
from action2vec.hf_folder import hf_spec_path, read_hf_folder
from action2vec.store.base import Store

__all__ = ["MATCH_VARIANT", "check_same_model", "match_embed"]

MATCH_VARIANT = "pooled_match"


def check_same_model(meta: Mapping[str, Any], text_spec: str, store_path: str | Path) -> None:
    """ConfigError (one line) unless the store ``meta`` was extracted by the ``hf:`` folder that ``text_spec``
    names (same config and weights digests) and holds its raw features (no PCA)."""
    backbone = str(meta.get("backbone") or "")
    if not meta.get("hf_config_sha256") or not meta.get("weights_sha256"):
        raise ConfigError(
            f"variant {MATCH_VARIANT}: {store_path} was not extracted by an hf: image-text or video model "
            f"(backbone {backbone or 'not recorded'}), so its features and the label texts share no space; "
            "extract with --backbone hf:PATH and use --data.text hf:PATH of the same folder"
        )
    folder_path = hf_spec_path(text_spec or "")
    if folder_path is None:
        given = text_spec or "label vectors that record no embedder"
        raise ConfigError(
            f"variant {MATCH_VARIANT}: the label texts must be embedded by the text tower of the store's "
            f"model (--data.text {backbone}), not {given}"
        )
    folder = read_hf_folder(folder_path)
    if (folder.config_sha256, folder.weights_sha256) != (meta["hf_config_sha256"], meta["weights_sha256"]):
        raise ConfigError(
            f"variant {MATCH_VARIANT}: {folder.path} is not the model {store_path} was extracted with "
            f"(config/weights SHA-256 {folder.config_sha256[:12]}…/{folder.weights_sha256[:12]}…, the "
            f"store's {str(meta['hf_config_sha256'])[:12]}…/{str(meta['weights_sha256'])[:12]}…)"
        )
    if meta.get("pca"):
        raise ConfigError(
            f"variant {MATCH_VARIANT}: {store_path} is PCA-reduced (pca={meta['pca']}); the text match "
            "needs the model's raw features: give the store extract wrote before its PCA"
        )


def match_embed(store: Store, positions: np.ndarray) -> np.ndarray:
    """The videos at ``positions`` as their mean step feature (raw store features, over the true steps). -> (N, D)

    Scoring by cosine against the unseen classes' text embeddings is the protocol's own (``score_split``)."""
    return pooled_features(store, positions)
