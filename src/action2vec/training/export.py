"""Exporting a trained network into a model folder (the format: :mod:`action2vec.model_folder`): what the run
trained on, its config and metrics, and the label vectors the run recorded."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Mapping, Sequence

from torch import nn

from action2vec.config import to_dict
from action2vec.model_folder import (
    ModelInfo,
    TrainingData,
    read_model_folder,
    read_model_info,
    record_metrics,
    write_model_folder,
)
from action2vec.store import Store
from action2vec.store.pca import PCA
from action2vec.text import LabelVectors, embedder_spec
from action2vec.training.config import DataConfig, RunConfig

# The model folder's readers were importable from here before the format had its own module; they still are.
__all__ = ["export_model", "recorded_text", "ModelInfo", "read_model_folder", "read_model_info", "record_metrics"]

log = logging.getLogger(__name__)


def recorded_text(data: DataConfig, label_vectors: LabelVectors) -> DataConfig:
    """``data`` with ``text`` and ``prompts`` set to what made ``label_vectors``: the vectors are the fact a run
    records ("" for vectors given by hand). A ``data.text`` naming another embedder is logged, not kept."""
    stated = embedder_spec(data.text) if data.text else ""
    if (stated, tuple(data.prompts)) != (label_vectors.text, label_vectors.prompts):
        log.info(
            "the label vectors were made by %r with prompts %s; the run records that, not data.text=%r, "
            "data.prompts=%s",
            label_vectors.text or "(given by hand)",
            list(label_vectors.prompts),
            data.text,
            list(data.prompts),
        )
    return replace(data, text=label_vectors.text, prompts=list(label_vectors.prompts))


def export_model(
    net: nn.Module,
    cfg: RunConfig,
    label_vectors: LabelVectors,
    model_dir: str | Path,
    store: Store | None = None,
    classes: Sequence[str] | None = None,
    *,
    pca: PCA | None = None,
    metrics: Mapping[str, float] | None = None,
    train_videos: int = 0,
    val_videos: int = 0,
    transductive: bool = False,
) -> Path:
    """Write ``net`` with its config, label vocabulary (every vector it was given), PCA and model card.

    ``classes`` are the training classes, in the order of the classification head. ``pca``: the projection
    the training features went through (default: the store's own); ``metrics`` go into config.json and
    the card (:func:`~action2vec.model_folder.record_metrics` adds more later). A network holding NaN or inf
    writes nothing.
    """
    pca = pca if pca is not None else (PCA.from_store(store) if store is not None else None)
    features = dict(store.meta) if store is not None else {}
    if pca is not None:
        features.update(pca=pca.dim, dim=pca.dim, pca_from=pca.dim_in)
    info = ModelInfo(
        model=cfg.model,
        classes=list(classes if classes is not None else label_vectors.names),
        features=features,
        loss=to_dict(cfg.loss),
        train=to_dict(cfg.train),
        pca=pca is not None,
        data=TrainingData(_resolved(store.path if store is not None else cfg.data.store), train_videos, val_videos),
        metrics={str(k): float(v) for k, v in (metrics or {}).items()},
        transductive=transductive,
    )
    return write_model_folder(model_dir, info, net.state_dict(), label_vectors, pca)


def _resolved(path: str | Path) -> str:
    """A path as an absolute one ("" stays ""): what a model records must mean the same from any folder."""
    return str(Path(path).resolve()) if str(path) else ""
