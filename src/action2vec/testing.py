"""Structured synthetic data for tests and benchmarks (no videos needed).

``make_synthetic_store`` writes a store whose features are driven by the class label vectors through a
temporal pattern: step ``t`` of a video of class ``c`` is ``s(t) * P t_c + noise``, with ``P`` a fixed
random projection and ``s`` a zero-mean pattern (+1 over the first half of the true length, -1 over the
second). Mean pooling cancels the signal; a sequence model can demodulate it, and because features are a
fixed function of the label vector, the mapping transfers to unseen classes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from action2vec.store import write_store
from action2vec.text import LabelVectors


def synthetic_label_vectors(n_classes: int, dim: int = 16, seed: int = 0, prefix: str = "class") -> LabelVectors:
    """Random unit label vectors for classes named ``{prefix}{i:03d}``."""
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((n_classes, dim)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return LabelVectors([f"{prefix}{i:03d}" for i in range(n_classes)], v)


def make_synthetic_store(
    path: str | Path,
    label_vectors: LabelVectors,
    videos_per_class: int = 20,
    steps: int = 24,
    feature_dim: int = 32,
    noise: float = 0.3,
    min_length: int | None = None,
    temporal: bool = True,
    seed: int = 0,
) -> Path:
    """Write the store described in the module docstring; lengths vary in [min_length, steps]."""
    rng = np.random.default_rng(seed + 1)
    proj = rng.standard_normal((feature_dim, label_vectors.dim)).astype(np.float32) / np.sqrt(label_vectors.dim)
    min_length = min_length or max(2, steps // 2)
    items = []
    for name, vec in zip(label_vectors.names, label_vectors.vectors):
        base = proj @ vec  # (D,)
        for j in range(videos_per_class):
            length = int(rng.integers(min_length, steps + 1))
            t = np.arange(steps)
            pattern = np.where(t < length / 2, 1.0, -1.0) if temporal else np.ones(steps)
            feats = pattern[:, None] * base[None, :] * rng.uniform(0.7, 1.3)
            feats = feats + noise * rng.standard_normal((steps, feature_dim))
            feats[length:] = 0.0  # zero padding after the true length, as extraction writes it
            items.append((f"{name}_v{j:03d}", feats.astype(np.float32), length, name))
    order = rng.permutation(len(items))
    return write_store(path, [items[i] for i in order], meta={"backbone": "synthetic", "layer": "none"})
