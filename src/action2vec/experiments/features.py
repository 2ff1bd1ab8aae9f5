"""Features of a store's videos for the experiments: mean-pooled backbone features, a model's embeddings,
class means of either, and a line that says which features a method read."""

from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np

from action2vec.errors import DataError
from action2vec.evaluation.class_vectors import class_means
from action2vec.inference import Action2Vec
from action2vec.linalg import mean_pool
from action2vec.store.base import Store

log = logging.getLogger(__name__)

__all__ = ["pooled_features", "videos_of_classes", "store_class_means", "describe_features"]


def pooled_features(store: Store, positions: np.ndarray, batch: int = 4096) -> np.ndarray:
    """Each video's features averaged over its true steps, read ``batch`` videos at a time. (N,) -> (N, D)"""
    parts = [
        mean_pool(store.read_many(positions[s : s + batch]), store.lengths[positions[s : s + batch]])
        for s in range(0, len(positions), batch)
    ]
    return np.concatenate(parts) if parts else np.zeros((0, store.dim), np.float32)


def videos_of_classes(store: Store, classes: Sequence[str], max_per_class: int = 0, seed: int = 0) -> np.ndarray:
    """Store positions of the videos of ``classes`` (at most ``max_per_class`` each, chosen by seed)."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(store.labels)
    picked = []
    for c in classes:
        pos = np.flatnonzero(labels == c)
        if len(pos) == 0:
            raise DataError(f"{store.path}: no videos of class {c!r}")
        if max_per_class and len(pos) > max_per_class:
            pos = np.sort(rng.choice(pos, max_per_class, replace=False))
        picked.append(pos)
    return np.concatenate(picked)


def store_class_means(
    store: Store,
    classes: Sequence[str],
    model: Action2Vec | None = None,
    max_per_class: int = 0,
    seed: int = 0,
    batch: int = 1024,
) -> np.ndarray:
    """(C, E) class means of the store's videos: the model's embeddings when ``model`` is given, else
    mean-pooled backbone features."""
    pos = videos_of_classes(store, classes, max_per_class, seed)
    if model is not None:
        emb = np.concatenate([model.encode_store(store, pos[s : s + batch]) for s in range(0, len(pos), batch)])
    else:
        emb = pooled_features(store, pos, batch)
    log.info("class means of %d classes from %d videos (%s)", len(classes), len(pos), "model" if model else "pooled")
    return class_means(emb, [store.labels[i] for i in pos], classes)


def describe_features(meta: dict[str, Any], dim: int, pooled: bool) -> str:
    """What a method read, for tables: ``"pooled c3d fc7 (4096-d)"``, ``"c3d fc7 PCA-500 features"``."""
    name = " ".join(str(meta[k]) for k in ("backbone", "layer") if meta.get(k)) or "stored"
    text = f"{name} PCA-{meta['pca']} features" if meta.get("pca") else f"{name} ({dim}-d)"
    return f"pooled {text}" if pooled else text
