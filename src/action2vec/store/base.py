"""The read API every feature store offers (the HDF5 store, ActivityNet C3D files): what training,
evaluation, search and inference may rely on when they take a ``store`` argument."""

from __future__ import annotations

import hashlib
import json
import weakref
from pathlib import Path
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np

from action2vec.io import json_safe

__all__ = ["Store", "store_digest"]


@runtime_checkable
class Store(Protocol):
    """A read-only collection of videos' (T, D) feature sequences with their true lengths and labels."""

    path: Path
    meta: dict[str, Any]  # how the features were made: backbone, layer, clip settings, pca, ...
    dim: int  # D
    pca: dict[str, np.ndarray] | None  # mean (D_in,), components (D, D_in), explained_variance (D,)

    def __len__(self) -> int: ...

    @property
    def keys(self) -> list[str]: ...

    @property
    def labels(self) -> list[str]: ...  # "" when unlabelled

    @property
    def lengths(self) -> np.ndarray: ...  # (N,) true steps before padding

    @property
    def rows(self) -> np.ndarray: ...  # (N,) stored steps

    @property
    def classes(self) -> list[str]: ...  # sorted non-empty labels

    @property
    def failures(self) -> dict[str, str]: ...  # key -> reason

    def index_of(self, key: str) -> int: ...

    def indices_of_classes(self, classes: Sequence[str]) -> np.ndarray: ...

    def get(self, i: int) -> tuple[np.ndarray, int]: ...

    def read_many(self, indices: Sequence[int]) -> list[np.ndarray]: ...

    def source(self, i: int) -> dict[str, Any]: ...

    def info(self) -> dict[str, Any]: ...


_DIGESTS: "weakref.WeakKeyDictionary[Any, str]" = weakref.WeakKeyDictionary()  # an open store's digest, once


def store_digest(store: Store) -> str:
    """The identity of a store's content, wherever it lies: its metadata, its videos (keys, labels, lengths) and
    the features of 8 evenly spaced videos (a store rewritten with other features differs). Computed once per
    open store object (an opened store's index does not change)."""
    try:
        digest = _DIGESTS.get(store)
    except TypeError:  # a store object that cannot be weakly referenced
        return _digest(store)
    if digest is None:
        digest = _DIGESTS[store] = _digest(store)
    return digest


def _digest(store: Store, samples: int = 8) -> str:
    h = hashlib.sha256(json.dumps(json_safe(store.meta), sort_keys=True, default=str).encode())
    h.update("\n".join(store.keys).encode() + b"\0" + "\n".join(store.labels).encode())
    h.update(np.asarray(store.lengths, dtype=np.int64).tobytes())
    for i in sorted({int(i) for i in np.linspace(0, len(store) - 1, min(len(store), samples))}):
        feats, length = store.get(i)
        h.update(np.ascontiguousarray(feats[:length], dtype=np.float32).tobytes())
    return h.hexdigest()[:16]
