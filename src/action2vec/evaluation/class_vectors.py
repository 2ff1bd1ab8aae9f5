"""Class vectors from a feature store: the mean Action2Vec embedding of each class's videos (paper §4.2)
or the mean pooled backbone feature (the "pooled C3D" rows of Table 3)."""

from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np

from action2vec.errors import DataError
from action2vec.evaluation.krr import mean_pool
from action2vec.linalg import l2_normalize

log = logging.getLogger(__name__)

__all__ = ["class_means", "videos_of_classes", "store_class_means"]


def class_means(embeddings: np.ndarray, labels: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    """Mean of the (unit-normalised) rows of each class. embeddings: (N, E), labels: (N,) -> (C, E)."""
    emb = l2_normalize(embeddings)
    labels = np.asarray(labels)
    out = np.zeros((len(classes), emb.shape[1]), np.float32)
    for i, c in enumerate(classes):
        mask = labels == c
        if not mask.any():
            raise DataError(f"no videos of class {c!r} to average")
        out[i] = emb[mask].mean(axis=0)
    return out


def videos_of_classes(store: Any, classes: Sequence[str], max_per_class: int = 0, seed: int = 0) -> np.ndarray:
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
    store: Any, classes: Sequence[str], model: Any | None = None, max_per_class: int = 0, seed: int = 0,
    batch: int = 1024,
) -> np.ndarray:
    """(C, E) class means of the store's videos: Action2Vec embeddings when ``model`` is given
    (an :class:`action2vec.inference.Action2Vec`), else mean-pooled backbone features."""
    pos = videos_of_classes(store, classes, max_per_class, seed)
    parts = []
    for s in range(0, len(pos), batch):
        part = pos[s : s + batch]
        if model is not None:
            parts.append(model.encode_store(store, part))
        else:
            parts.append(mean_pool(store.read_many(part), store.lengths[part]))
    emb = np.concatenate(parts)
    log.info("class means of %d classes from %d videos (%s)", len(classes), len(pos), "model" if model else "pooled")
    return class_means(emb, [store.labels[i] for i in pos], classes)
