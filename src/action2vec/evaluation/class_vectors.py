"""Class vectors: the mean of the unit-normalised embeddings of each class's videos (paper §4.2), the
class vectors of the WordNet and analogy tests."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from action2vec.errors import DataError
from action2vec.linalg import l2_normalize

__all__ = ["class_means"]


def class_means(embeddings: np.ndarray, labels: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    """Mean of the (unit-normalised) rows of each class. embeddings: (N, E), labels: (N,) -> (C, E)."""
    emb = l2_normalize(embeddings)
    label_array = np.asarray(labels)
    out = np.zeros((len(classes), emb.shape[1]), np.float32)
    for i, c in enumerate(classes):
        mask = label_array == c
        if not mask.any():
            raise DataError(f"no videos of class {c!r} to average")
        out[i] = emb[mask].mean(axis=0)
    return out
