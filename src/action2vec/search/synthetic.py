"""Clustered unit vectors shaped like video embeddings, for the search tests and benchmark.

A trained Action2Vec space puts a class's videos around its label vector, classes of one verb near each
other, and confuses sibling classes (zero-shot top-1 is far from 100 %). :func:`clustered_embeddings`
draws such a set: ``n_classes`` class centres in groups of ``classes_per_group`` (a shared "verb"
direction plus the class's own, so sibling centres have cosine about ``group_weight**2``); each vector
is its centre, plus a spread of std ``spread`` along ``intrinsic_dim`` directions shared by the classes of
its group (siblings vary in the same ways: speed, viewpoint, object), plus isotropic noise of std
``noise`` per dimension, scaled to unit length. The spread is wide enough that sibling classes overlap
and narrow enough that neighbours mean something: with the defaults at 1 M vectors a query's nearest
neighbour is at distance 0.69 and its 10th at 0.81, against 1.41 for a random vector, and 88 % of its
10 nearest share one class (docs/search.md). A mixture of well separated classes would be too easy for
an inverted-file index, whose lists then coincide with the classes; isotropic spread in 300 dimensions
would make every vector about equally far from every other, so that no neighbour means anything.
"""

from __future__ import annotations

import numpy as np

__all__ = ["clustered_embeddings"]


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def clustered_embeddings(
    n: int,
    dim: int = 300,
    n_classes: int = 700,
    classes_per_group: int = 10,
    group_weight: float = 0.6,
    intrinsic_dim: int = 12,
    spread: float = 0.5,
    noise: float = 0.04,
    seed: int = 0,
    n_queries: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``n`` unit vectors (n, dim) float32 and their class ids (n,) int32, then ``n_queries`` held-out ones.

    Returns ``(vectors, classes, queries, query_classes)``; the queries (n_queries, dim) come from the same
    mixture but are not in the set, as a new video is not. Classes get a power-law share of the vectors
    (the largest about 10-15x the smallest), as real collections do.
    """
    rng = np.random.default_rng(seed)
    n_groups = max(1, -(-n_classes // classes_per_group))
    groups = _unit(rng.standard_normal((n_groups, dim)))
    own = _unit(rng.standard_normal((n_classes, dim)))
    group_of = np.arange(n_classes) // classes_per_group
    centres = _unit(group_weight * groups[group_of] + np.sqrt(1 - group_weight**2) * own).astype(np.float32)
    share = 1.0 / np.arange(1, n_classes + 1) ** 0.35
    share = rng.permutation(share / share.sum())
    total = n + n_queries
    labels = rng.choice(n_classes, size=total, p=share).astype(np.int32)
    out = np.empty((total, dim), dtype=np.float32)
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n_classes + 1))
    bases = [np.linalg.qr(rng.standard_normal((dim, intrinsic_dim)))[0].astype(np.float32) for _ in range(n_groups)]
    for c in range(n_classes):
        rows = order[bounds[c] : bounds[c + 1]]
        basis = bases[group_of[c]]  # (dim, r): sibling classes vary in the same ways
        z = rng.standard_normal((len(rows), intrinsic_dim), dtype=np.float32) * spread
        x = centres[c] + z @ basis.T + noise * rng.standard_normal((len(rows), dim), dtype=np.float32)
        out[rows] = _unit(x)
    return out[:n], labels[:n], out[n:], labels[n:]
