"""PCA of clip features (4096 -> 500 in the paper), fitted on training videos only.

The fit streams over the store once, accumulating the (D, D) scatter matrix of the real steps (padding
rows are left out), then takes its top eigenvectors: exact PCA in O(D^2) memory, whatever the number
of videos (134 MB at D = 4096). The result is kept in the store's ``/pca`` group and applied to every
video, so training and inference see the same projection; padding rows stay zero. The store's metadata
records what the PCA was fitted on (``pca_fit_videos``, ``pca_fit_classes``), so the zero-shot protocol
can refuse a store whose PCA saw a split's unseen classes.

:class:`ProjectedStore` is the same projection applied on read to a raw store (the zero-shot protocol
fits one PCA per class split, on that split's seen-class training videos, and reads through it).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import torch

from action2vec.errors import ConfigError, DataError
from action2vec.store.base import Store

__all__ = ["PCA", "ScatterAccumulator", "ProjectedStore", "fit_pca", "pca_store", "fit_keys_of_subset"]

log = logging.getLogger(__name__)


@dataclass
class PCA:
    """A fitted projection: ``(x - mean) @ components.T``."""

    mean: np.ndarray  # (D_in,)
    components: np.ndarray  # (D, D_in), rows are unit principal axes, by decreasing variance
    explained_variance: np.ndarray  # (D,)

    @property
    def dim(self) -> int:
        return int(self.components.shape[0])

    @property
    def dim_in(self) -> int:
        return int(self.components.shape[1])

    def transform(self, x: np.ndarray) -> np.ndarray:
        """(..., D_in) -> (..., D) float32."""
        x = np.asarray(x, dtype=np.float32)
        if x.shape[-1] != self.dim_in:
            raise DataError(f"PCA expects {self.dim_in}-d features, got {x.shape[-1]}-d")
        return ((x - self.mean.astype(np.float32)) @ self.components.T.astype(np.float32)).astype(np.float32)

    def transform_sequence(self, feats: np.ndarray, length: int) -> np.ndarray:
        """A stored (T, D_in) sequence -> (T, D): the first ``length`` rows projected, padding rows zero."""
        out = np.zeros((feats.shape[0], self.dim), dtype=np.float32)
        out[:length] = self.transform(feats[:length])
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        """``{"mean", "components", "explained_variance"}``: the form a store (and a model folder) keeps."""
        return {"mean": self.mean, "components": self.components, "explained_variance": self.explained_variance}

    @classmethod
    def from_store(cls, store: Store) -> "PCA | None":
        """The PCA kept in a feature store (None when it has none)."""
        pca = getattr(store, "pca", None)
        if not pca:
            return None
        return cls(np.asarray(pca["mean"]), np.asarray(pca["components"]), np.asarray(pca["explained_variance"]))


class ScatterAccumulator:
    """Streaming mean and covariance of rows, shifted by the first batch's mean for accuracy."""

    def __init__(self, dim: int, chunk_rows: int = 8192) -> None:
        self.dim = dim
        self.chunk_rows = chunk_rows
        self.n = 0
        self.shift: np.ndarray | None = None  # (D,)
        self.sum = np.zeros(dim, dtype=np.float64)  # sum of (x - shift)
        self.scatter = np.zeros((dim, dim), dtype=np.float64)  # sum of (x - shift)(x - shift)^T

    def update(self, x: np.ndarray) -> None:
        """Add rows ``x`` (N, D)."""
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise DataError(f"PCA fit: expected (N, {self.dim}) rows, got {x.shape}")
        if not len(x):
            return
        if self.shift is None:
            self.shift = x.mean(0)
        for a in range(0, len(x), self.chunk_rows):
            c = torch.from_numpy(x[a : a + self.chunk_rows] - self.shift)  # (n, D) float32
            self.sum += c.sum(0, dtype=torch.float64).numpy()
            self.scatter += (c.T @ c).double().numpy()
        self.n += len(x)

    def finish(self, dim: int) -> PCA:
        """The top ``dim`` principal axes of everything added."""
        if self.n < 2 or self.shift is None:
            raise DataError(f"PCA fit: need at least 2 feature rows, got {self.n}")
        if not 0 < dim <= self.dim:
            raise ConfigError(f"pca.dim: must be in 1..{self.dim}, got {dim}")
        mu = self.sum / self.n
        cov = (self.scatter - self.n * np.outer(mu, mu)) / (self.n - 1)
        cov = (cov + cov.T) / 2
        values, vectors = np.linalg.eigh(cov)  # ascending
        order = np.argsort(values)[::-1][:dim]
        comps = vectors[:, order].T  # (dim, D)
        # Deterministic signs: the largest-magnitude entry of every axis is positive.
        signs = np.sign(comps[np.arange(dim), np.abs(comps).argmax(1)])
        comps *= np.where(signs == 0, 1, signs)[:, None]
        if dim > self.n - 1:
            log.warning("PCA to %d dims fitted on only %d rows: the last axes carry no variance", dim, self.n)
        return PCA(
            mean=(mu + self.shift).astype(np.float32),
            components=comps.astype(np.float32),
            explained_variance=np.clip(values[order], 0, None).astype(np.float32),
        )


def fit_pca(store: Store, indices: Sequence[int] | np.ndarray, dim: int = 500, batch_videos: int = 256) -> PCA:
    """Fit PCA on the real steps (first ``length`` rows) of the videos at ``indices`` of ``store``."""
    if not len(indices):
        raise DataError("PCA fit: no videos to fit on")
    acc = ScatterAccumulator(int(store.dim))
    idx = sorted(int(i) for i in indices)
    for a in range(0, len(idx), batch_videos):
        chunk = idx[a : a + batch_videos]
        seqs = store.read_many(chunk)
        rows = [s[: int(store.lengths[i])] for s, i in zip(seqs, chunk)]
        acc.update(np.concatenate(rows))
    pca = acc.finish(dim)
    total = float(np.trace(acc.scatter) / max(acc.n - 1, 1) - (acc.sum @ acc.sum) / acc.n / max(acc.n - 1, 1))
    log.info(
        "PCA %d -> %d fitted on %d videos (%d steps); it keeps %.1f%% of the variance",
        store.dim,
        dim,
        len(idx),
        acc.n,
        100 * float(pca.explained_variance.sum()) / max(total, 1e-12),
    )
    return pca


def fit_keys_of_subset(store: Store, subset: str = "train") -> list[str]:
    """Keys of the videos whose recorded source ``subset`` is ``subset`` (e.g. the training videos)."""
    keys = [k for i, k in enumerate(store.keys) if store.source(i).get("subset") == subset]
    if not keys:
        raise ConfigError(
            f"pca: no video of {store.path} is marked subset={subset!r} (a --list extraction records none); "
            "give the training keys in a file (pca --fit-keys FILE, extract --pca-fit-keys FILE)"
        )
    return keys


def pca_store(
    src: str | Path,
    dst: str | Path,
    dim: int = 500,
    fit_keys: Iterable[str] | None = None,
    fit_subset: str | None = "train",
    flush_every: int = 256,
) -> Path:
    """Write ``dst``: the store ``src`` projected by a PCA fitted on ``fit_keys`` (or on ``fit_subset``).

    The new store keeps every video, label, length, source and failure; its metadata says ``pca=dim``,
    ``pca_from`` the input dimension, ``pca_fit_videos`` the number of fitting videos and
    ``pca_fit_classes`` their classes (sorted; what the zero-shot protocol checks against its unseen classes).
    """
    from action2vec.store import StoreWriter, open_store

    src, dst = Path(src), Path(dst)
    if src.resolve() == dst.resolve():
        raise ConfigError("pca: the output store must differ from the input store")
    store = open_store(src)
    if store.meta.get("pca"):
        raise DataError(f"{src}: the features are already PCA-reduced (pca={store.meta['pca']})")
    if fit_keys is not None:
        keys = list(dict.fromkeys(fit_keys))
    elif fit_subset:
        keys = fit_keys_of_subset(store, fit_subset)
    else:
        raise ConfigError("pca: say which videos to fit on (fit_keys or fit_subset)")
    indices = [store.index_of(k) for k in keys]
    fit_classes = sorted({store.labels[i] for i in indices} - {""})
    fit_digest = hashlib.sha256("\n".join(sorted(keys)).encode("utf-8")).hexdigest()
    meta = {
        **store.meta,
        "pca": int(dim),
        "dim": int(dim),
        "pca_from": int(store.dim),
        "pca_fit_videos": len(indices),
        "pca_fit_classes": fit_classes,
        "pca_fit_keys_sha256": fit_digest,
    }
    # the writer refuses an output holding features of another fit (its identity includes the fit keys' digest)
    with StoreWriter(dst, meta=meta, flush_every=flush_every) as writer:
        pca = fit_pca(store, indices, dim)
        done = writer.done_keys()
        for a in range(0, len(store), flush_every):
            chunk = [i for i in range(a, min(a + flush_every, len(store))) if store.keys[i] not in done]
            for i, feats in zip(chunk, store.read_many(chunk) if chunk else []):
                length = int(store.lengths[i])
                writer.add(
                    store.keys[i],
                    pca.transform_sequence(feats, length),
                    length=length,
                    label=store.labels[i],
                    source=store.source(i),
                )
        for key, reason in store.failures.items():
            if key not in done:
                writer.add_failure(key, reason=reason)
        writer.set_pca(pca.mean, pca.components, pca.explained_variance)
    log.info("wrote %s: %d videos, %d -> %d dims", dst, len(store), store.dim, dim)
    return dst


class ProjectedStore:
    """A raw store read through a PCA: the same videos, labels and lengths, every feature sequence projected
    on read (the first ``length`` rows; padding rows stay zero, as in a store written by :func:`pca_store`).

    ``pca`` (the arrays) travels with it, so a model trained on it exports the projection and accepts the
    raw features at inference. ``fitted_on`` is written into ``meta["pca_fit"]``.
    """

    def __init__(self, store: Store, pca: PCA, fitted_on: str = "") -> None:
        if store.meta.get("pca"):
            raise DataError(f"{store.path}: the features are already PCA-reduced (pca={store.meta['pca']})")
        if pca.dim_in != store.dim:
            raise DataError(f"{store.path}: a PCA of {pca.dim_in}-d features cannot read {store.dim}-d features")
        self.base = store
        self.projection = pca
        self.path = store.path
        self.dim = pca.dim
        self.pca = pca.arrays()
        self.meta = {**store.meta, "pca": pca.dim, "dim": pca.dim, "pca_from": int(store.dim), "pca_fit": fitted_on}

    def __len__(self) -> int:
        return len(self.base)

    @property
    def keys(self) -> list[str]:
        return self.base.keys

    @property
    def labels(self) -> list[str]:
        return self.base.labels

    @property
    def lengths(self) -> np.ndarray:
        return self.base.lengths

    @property
    def rows(self) -> np.ndarray:
        return self.base.rows

    @property
    def classes(self) -> list[str]:
        return self.base.classes

    @property
    def failures(self) -> dict[str, str]:
        return self.base.failures

    def index_of(self, key: str) -> int:
        return self.base.index_of(key)

    def indices_of_classes(self, classes: Sequence[str]) -> np.ndarray:
        return self.base.indices_of_classes(classes)

    def source(self, i: int) -> dict[str, Any]:
        return self.base.source(i)

    def get(self, i: int) -> tuple[np.ndarray, int]:
        """(T, D_pca) projected features and the true length of video ``i``."""
        feats, length = self.base.get(i)
        return self.projection.transform_sequence(feats, int(length)), length

    def read_many(self, indices: Sequence[int] | np.ndarray) -> list[np.ndarray]:
        """Projected (T_i, D_pca) sequences of the videos at ``indices``."""
        lengths = self.base.lengths
        return [
            self.projection.transform_sequence(f, int(lengths[i]))
            for f, i in zip(self.base.read_many(indices), indices)
        ]

    def info(self) -> dict[str, Any]:
        return {**self.base.info(), "dim": self.dim, "pca": self.dim, "pca_fit": self.meta["pca_fit"]}
