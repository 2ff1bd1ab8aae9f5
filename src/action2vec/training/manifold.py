"""The transductive manifold term of Action2Vec training (``zsl --zsl.transductive true``; off by default).

The paper addresses domain shift "through regularization using the unlabeled testing set" without saying
how. We use the smoothness assumption of the KRR baseline's graph Laplacian, on the unlabelled test videos:
test videos that are neighbours in pooled-feature space should get nearby embeddings. With A the directed
k-nearest-neighbour graph of the unlabelled videos (A_ij = 1 when j is one of i's k nearest, by cosine of their
mean-pooled, L2-normalised features) and f(·) the unit-normalised video embedding, the term is

    R = mean over sampled pairs (i, j), i uniform, j uniform among i's own k nearest, of ||f(u_i) − f(u_j)||²
        (= 2 − 2 cos),

an unbiased estimate (up to scale) of tr(Fᵀ L F), L the (unnormalised) Laplacian of the symmetrised graph
G = (A + Aᵀ)/2 (not of the "mutual" or "either" 0/1 k-NN graph), and training minimises
L_PR + λ·L_CE + ``weight``·R. Each step draws ``batch_size`` unlabelled videos and one random neighbour of
each (from the step-seeded random stream, so resumed runs repeat it). Only the videos' features and
lengths are read, never their labels. The term pulls the unseen classes' videos into tighter groups in
the embedding space, which is what a nearest-label-vector classifier needs; it cannot tell which label
vector a group belongs to.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from action2vec.config import option
from action2vec.errors import DataError
from action2vec.linalg import mean_pool
from action2vec.store.base import Store

log = logging.getLogger(__name__)

__all__ = ["ManifoldConfig", "unlabeled_bank", "knn_indices", "manifold_loss"]


@dataclass
class ManifoldConfig:
    """Settings of the transductive manifold term (used only when unlabelled videos are given)."""

    weight: float = option(0.1, "weight of the manifold term next to the ranking and CE losses", ge=0)
    neighbors: int = option(5, "k of the k-nearest-neighbour graph of the unlabelled videos", ge=1)
    batch_size: int = option(32, "unlabelled videos (each with one neighbour) per training step", ge=1)
    max_videos: int = option(4000, "at most this many unlabelled videos (a seeded random subsample)", ge=2)


def knn_indices(x: torch.Tensor, k: int) -> torch.Tensor:
    """The ``k`` nearest other rows of each row by cosine. (M, D) -> (M, k) int64 (k capped at M − 1)."""
    x = F.normalize(x.float(), dim=-1)
    k = max(1, min(k, len(x) - 1))
    out = []
    for start in range(0, len(x), 4096):
        sims = x[start : start + 4096] @ x.T  # (chunk, M)
        rows = torch.arange(start, min(start + 4096, len(x)))
        sims[rows - start, rows] = -float("inf")  # not its own neighbour
        out.append(sims.topk(k, dim=1).indices)
    return torch.cat(out)


def unlabeled_bank(
    store: Store, positions: Sequence[int] | np.ndarray, cfg: ManifoldConfig, seed: int
) -> dict[str, torch.Tensor]:
    """The unlabelled videos padded into one tensor with their neighbour graph.

    Returns ``{"x": (M, T, D), "lengths": (M,), "neighbors": (M, k)}``; reads features and lengths only.
    """
    pos = np.sort(np.asarray(positions, dtype=np.int64))
    if len(pos) > cfg.max_videos:
        pos = np.sort(np.random.default_rng(seed).choice(pos, cfg.max_videos, replace=False))
    if len(pos) < 2:
        raise DataError(f"{store.path}: the transductive term needs at least 2 unlabelled videos, got {len(pos)}")
    seqs = store.read_many(pos)
    lengths = np.maximum(np.minimum(store.lengths[pos], [len(s) for s in seqs]), 1).astype(np.int64)
    x = torch.zeros(len(pos), max(len(s) for s in seqs), store.dim)
    for j, s in enumerate(seqs):
        x[j, : len(s)] = torch.from_numpy(np.asarray(s, np.float32))
    pooled = torch.from_numpy(mean_pool(seqs, lengths))  # (M, D) mean over the true steps
    log.info("transductive term: %d unlabelled videos, %d neighbours each", len(pos), min(cfg.neighbors, len(pos) - 1))
    return {"x": x, "lengths": torch.from_numpy(lengths), "neighbors": knn_indices(pooled, cfg.neighbors)}


def manifold_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean squared distance between the unit-normalised rows of ``a`` and ``b``: (B, E), (B, E) -> ()."""
    return (F.normalize(a.float(), dim=-1) - F.normalize(b.float(), dim=-1)).pow(2).sum(-1).mean()
