"""The read API every feature store offers (the HDF5 store, ActivityNet C3D files): what training,
evaluation, search and inference may rely on when they take a ``store`` argument."""

from __future__ import annotations

import hashlib
import json
import logging
import weakref
from pathlib import Path
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np

from action2vec.io import json_safe
from action2vec.provenance import file_state, remember, remembered

log = logging.getLogger(__name__)

__all__ = ["Store", "store_digest", "video_digest", "content_digest", "features_digest", "record_digest"]


@runtime_checkable
class Store(Protocol):
    """A read-only collection of videos' (T, D) feature sequences with their true lengths and labels."""

    # read-only members (properties: an implementation may narrow them, e.g. a projected store always has a pca)
    @property
    def path(self) -> Path: ...

    @property
    def meta(self) -> dict[str, Any]: ...  # how the features were made: backbone, layer, clip settings, pca, ...

    @property
    def dim(self) -> int: ...  # D

    @property
    def pca(self) -> dict[str, np.ndarray] | None: ...  # mean (D_in,), components (D, D_in), explained_variance (D,)

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

    def read_many(self, indices: Sequence[int] | np.ndarray) -> list[np.ndarray]: ...

    def source(self, i: int) -> dict[str, Any]: ...

    def info(self) -> dict[str, Any]: ...


_FEATURES = "store features"  # what a store's features digest is remembered as (action2vec.provenance.remember)

_DIGESTS: "weakref.WeakKeyDictionary[Any, tuple[Any, str]]" = weakref.WeakKeyDictionary()  # per open store


def video_digest(features: np.ndarray) -> str:
    """The digest of one video's stored feature rows (T, D), as the store records it (``/index/digest``)."""
    return hashlib.sha256(np.ascontiguousarray(features, dtype=np.float32).tobytes()).hexdigest()[:32]


def features_digest(video_digests: Sequence[str]) -> str:
    """The digest of every video's features: of their :func:`video_digest` values, in store order."""
    return hashlib.sha256("\n".join(video_digests).encode()).hexdigest()[:32]


def content_digest(
    meta: dict[str, Any],
    keys: Sequence[str],
    labels: Sequence[str],
    lengths: Any,
    features: str,
    pca: dict[str, np.ndarray] | None,
) -> str:
    """A store's content digest from its parts: metadata, videos (keys, labels, lengths), the digest of every
    video's features (:func:`features_digest`) and the PCA arrays. Writers compute it when they write a store
    (attribute ``content_digest``); :func:`store_digest` from what it reads and the verified features digest."""
    h = hashlib.sha256(json.dumps(json_safe(meta), sort_keys=True, default=str).encode())
    h.update("\n".join(keys).encode() + b"\0" + "\n".join(labels).encode() + b"\0")
    h.update(np.asarray(lengths, dtype=np.int64).tobytes())
    h.update(features.encode() + b"\0")
    for name in sorted(pca or {}):
        h.update(name.encode() + np.ascontiguousarray((pca or {})[name], dtype=np.float32).tobytes())
    return h.hexdigest()[:16]


def record_digest(path: str | Path, features: str) -> None:
    """Record that the features of the store file ``path`` as it is now have digest ``features``
    (:func:`features_digest`): what a writer calls once it has written the file (its modification time is set
    back by a second, so that a later write changes the file's state however soon it comes)."""
    remember(path, _FEATURES, features, settle=True)


def store_digest(store: Store) -> str:
    """The identity of a store's content, wherever it lies: its metadata, its videos (keys, labels, lengths), every
    video's features and its PCA. Any change of any video's features changes it, also one made in place.

    Writers record the digest of every video's features when they write a store (nothing to hash when it is
    read). What catches an edit that bypassed them (h5py writing ``/features``): that digest counts only for the
    file state (size, modification time, inode) it was recorded or verified at
    (:func:`action2vec.provenance.remembered`, kept in ``$ACTION2VEC_CACHE/digests``); a store in another state
    (edited, copied, or written before digests were kept, like ActivityNet files) has every video's features
    hashed once more, compared with the digests recorded at write time (a changed video is named in a warning),
    and the result remembered for that state. A store that wraps another (``base``, e.g. a store read through a
    per-split PCA) is the base's digest with its own metadata and PCA."""
    base = getattr(store, "base", None)
    if base is not None:
        return content_digest(store.meta, [], [], [], store_digest(base), store.pca)
    path = Path(store.path)
    state = file_state(path)
    try:
        cached = _DIGESTS.get(store)
    except TypeError:  # a store object that cannot be weakly referenced
        cached = None
    if cached is not None and cached[0] == state:
        return cached[1]
    features = remembered(path, _FEATURES, lambda: _verified_features(store, path))
    digest = content_digest(store.meta, store.keys, store.labels, store.lengths, features, store.pca)
    try:
        _DIGESTS[store] = (state, digest)
    except TypeError:
        pass
    return digest


def _verified_features(store: Store, path: Path) -> str:
    """Hash every video's features; warn about videos that differ from the digests recorded when the store was
    written."""
    compute = getattr(store, "compute_video_digests", None)
    digests = compute() if compute is not None else [video_digest(store.get(i)[0]) for i in range(len(store))]
    recorded = getattr(store, "recorded_video_digests", None)
    if recorded:
        changed = [k for k, a, b in zip(store.keys, recorded, digests) if a != b]
        if changed:
            log.warning(
                "%s: the features of %d video(s) differ from those recorded when it was written (first: %r): "
                "the store was edited in place; what was made from it before is not reused",
                path,
                len(changed),
                changed[0],
            )
    return features_digest(digests)
