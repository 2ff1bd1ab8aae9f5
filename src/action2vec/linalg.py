"""Row-vector maths shared by every layer (NumPy; torch code uses ``torch.nn.functional.normalize``)."""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

__all__ = ["l2_normalize", "mean_pool"]


def l2_normalize(x: np.ndarray, eps: float = 1e-12, dtype: DTypeLike | None = np.float32) -> np.ndarray:
    """Rows scaled to unit L2 length along the last axis; zero rows stay zero. (..., D) -> (..., D).

    ``dtype``: the result's dtype (default float32); None keeps the input's floating dtype.
    """
    x = np.asarray(x) if dtype is None else np.asarray(x, dtype=dtype)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), eps)


def mean_pool(features: list[np.ndarray] | np.ndarray, lengths: np.ndarray | list[int]) -> np.ndarray:
    """Mean over the first ``length`` steps of each video. features: N × (T, D) -> (N, D) float32."""
    out = np.empty((len(features), features[0].shape[-1]), dtype=np.float32)
    for i, (f, n) in enumerate(zip(features, lengths)):
        n = max(int(n), 1)
        out[i] = np.asarray(f[:n], dtype=np.float64).mean(axis=0)
    return out
