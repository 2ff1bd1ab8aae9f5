"""The pooled-feature baseline: temporal mean pooling + kernel ridge regression with Laplacian
regularisation onto the label vectors (the paper's "Pooled C3D fc7" row; TZS-style KRR).

Formula. Training videos X (n, D) (pooled, L2-normalised) with targets Y (n, E) (their classes' unit
label vectors); kernel matrix K (n, n); graph Laplacian L (n, n) of the symmetric k-nearest-neighbour
graph of the training videos. The dual coefficients A (n, E) minimise

    ||Y − K A||²_F + γ_A · tr(Aᵀ K A) + γ_I · tr(Aᵀ K L K A)

(squared error + RKHS norm + manifold smoothness: nearby videos get nearby outputs). Setting the
gradient to zero gives

    A = (K + γ_A I + γ_I L K)⁻¹ Y,

and a new video x is mapped to f(x) = k(x, X) A (E,), then classified by cosine to the label vectors.
With γ_I = 0 this is plain kernel ridge regression (sklearn's KernelRidge with alpha = γ_A).
The Laplacian is the normalised one, L = I − D^-1/2 W D^-1/2, so γ_I does not scale with k.

Transductive (semi-supervised, Laplacian RLS of Belkin et al. 2006): unlabelled videos U (m, D), e.g. the
test videos, join the graph and the kernel but not the squared error. With X' = [X; U] (n + m points),
J = diag(1 × n, 0 × m) and Y' = [Y; 0], minimising ||J (Y' − K A)||² + γ_A tr(Aᵀ K A) + γ_I tr(Aᵀ K L K A)
over A (n + m, E) gives

    A = (J K + γ_A I + γ_I L K)⁻¹ Y',

which is the formula above when m = 0. Only U's features enter, never labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.spatial.distance import cdist

from action2vec.config import option

__all__ = ["KRRConfig", "LaplacianKRR", "knn_laplacian", "kernel_matrix", "stratified_subsample"]


@dataclass
class KRRConfig:
    """Settings of the pooled-feature kernel ridge regression baseline."""

    kernel: Literal["rbf", "linear"] = option(
        "rbf", "kernel: rbf (width = median pairwise distance × sigma_scale) or linear"
    )
    sigma_scale: float = option(1.0, "RBF width as a multiple of the median pairwise distance", gt=0)
    gamma_a: float = option(0.1, "ridge (RKHS norm) weight γ_A", gt=0)
    gamma_i: float = option(0.1, "Laplacian (manifold) weight γ_I; 0 = plain kernel ridge regression", ge=0)
    neighbors: int = option(10, "k of the k-nearest-neighbour graph behind the Laplacian", ge=1)
    max_train: int = option(
        4000,
        "at most this many training videos (stratified subsample; the kernel is n×n); "
        "transductive runs add at most as many unlabelled test videos (random subsample)",
        ge=2,
    )
    seed: int = option(0, "seed of the subsamples", ge=0)


def kernel_matrix(a: np.ndarray, b: np.ndarray, kernel: str, sigma: float) -> np.ndarray:
    """k(a_i, b_j): (Na, D), (Nb, D) -> (Na, Nb) float64."""
    if kernel == "linear":
        return np.asarray(a, np.float64) @ np.asarray(b, np.float64).T
    if kernel == "rbf":
        d2 = cdist(a, b, "sqeuclidean")
        return np.exp(-d2 / (2.0 * sigma**2))
    raise ValueError(f"unknown kernel {kernel!r} (rbf, linear)")


def knn_laplacian(x: np.ndarray, k: int) -> np.ndarray:
    """Normalised Laplacian I − D^-1/2 W D^-1/2 of the symmetric k-NN graph (0/1 weights). (n, D) -> (n, n)."""
    n = len(x)
    k = min(k, n - 1)
    w = np.zeros((n, n))
    if k > 0:
        d = cdist(x, x, "sqeuclidean")
        np.fill_diagonal(d, np.inf)
        nn = np.argpartition(d, k - 1, axis=1)[:, :k]
        w[np.repeat(np.arange(n), k), nn.ravel()] = 1.0
        w = np.maximum(w, w.T)
    deg = w.sum(axis=1)
    inv = np.where(deg > 0, 1.0 / np.sqrt(np.maximum(deg, 1e-12)), 0.0)
    return np.eye(n) - inv[:, None] * w * inv[None, :]


class LaplacianKRR:
    """Kernel ridge regression with Laplacian regularisation (see the module docstring for the formula)."""

    def __init__(self, cfg: KRRConfig | None = None) -> None:
        self.cfg = cfg or KRRConfig()
        self.x: np.ndarray | None = None
        self.coef: np.ndarray | None = None
        self.sigma = 1.0

    def fit(self, x: np.ndarray, y: np.ndarray, unlabeled: np.ndarray | None = None) -> "LaplacianKRR":
        """x: (n, D) pooled features; y: (n, E) target label vectors; unlabeled: (m, D) features of videos
        without labels (transductive: they join the kernel and the graph Laplacian, not the error term)."""
        cfg = self.cfg
        x = np.asarray(x, np.float64)
        y = np.asarray(y, np.float64)
        if cfg.kernel == "rbf":  # the width comes from the labelled videos alone
            sub = x[:: max(1, len(x) // 1000)]
            dist = cdist(sub, sub)
            med = np.median(dist[np.triu_indices(len(sub), 1)]) if len(sub) > 1 else 1.0
            self.sigma = float(med * cfg.sigma_scale) or 1.0
        n = len(x)
        if unlabeled is not None and len(unlabeled):
            x = np.concatenate([x, np.asarray(unlabeled, np.float64)])  # X' = [X; U]
            y = np.concatenate([y, np.zeros((len(x) - n, y.shape[1]))])  # Y' = [Y; 0]
        k = kernel_matrix(x, x, cfg.kernel, self.sigma)
        jk = k.copy()
        jk[n:] = 0.0  # J K: the unlabelled rows leave the squared error
        system = jk + cfg.gamma_a * np.eye(len(x))
        if cfg.gamma_i > 0:
            system = system + cfg.gamma_i * knn_laplacian(x, cfg.neighbors) @ k
        self.coef = np.linalg.solve(system, y)  # (n + m, E)
        self.x = x
        return self

    def predict(self, x: np.ndarray, chunk: int = 8192) -> np.ndarray:
        """(N, D) pooled features -> (N, E) predicted label-space vectors."""
        if self.coef is None or self.x is None:
            raise RuntimeError("LaplacianKRR.predict called before fit")
        out = [
            kernel_matrix(x[s : s + chunk], self.x, self.cfg.kernel, self.sigma) @ self.coef
            for s in range(0, len(x), chunk)
        ]
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, self.coef.shape[1]), np.float32)


def stratified_subsample(labels: np.ndarray, max_n: int, seed: int) -> np.ndarray:
    """Indices of at most ``max_n`` samples, keeping every class (round-robin over shuffled classes)."""
    labels = np.asarray(labels)
    if len(labels) <= max_n:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    pools = [rng.permutation(np.flatnonzero(labels == c)).tolist() for c in np.unique(labels)]
    picked: list[int] = []
    while len(picked) < max_n:
        for pool in pools:
            if pool and len(picked) < max_n:
                picked.append(pool.pop())
    return np.sort(np.array(picked))
