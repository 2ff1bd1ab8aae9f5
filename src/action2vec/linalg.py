"""Row-vector maths shared by every layer (NumPy; torch code uses ``torch.nn.functional.normalize``)."""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

__all__ = ["l2_normalize"]


def l2_normalize(x: np.ndarray, eps: float = 1e-12, dtype: DTypeLike | None = np.float32) -> np.ndarray:
    """Rows scaled to unit L2 length along the last axis; zero rows stay zero. (..., D) -> (..., D).

    ``dtype``: the result's dtype (default float32); None keeps the input's floating dtype.
    """
    x = np.asarray(x) if dtype is None else np.asarray(x, dtype=dtype)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), eps)
