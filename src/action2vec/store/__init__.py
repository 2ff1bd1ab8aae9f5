"""Feature stores: the HDF5 store written by extraction and read by training and evaluation; ``pca`` (imported
on its own: it needs torch) fits a PCA over a store and writes the projected store."""

from __future__ import annotations

from pathlib import Path

from action2vec.store.base import Store, store_digest
from action2vec.store.hdf5 import FeatureStore, StoreWriter, merge_parts, parts_dir, write_store
from action2vec.store.importer import ImportResult, import_features
from action2vec.store.lock import StoreLock, StoreLockedError

__all__ = [
    "Store",
    "FeatureStore",
    "StoreWriter",
    "StoreLock",
    "StoreLockedError",
    "merge_parts",
    "parts_dir",
    "write_store",
    "open_store",
    "store_digest",
    "import_features",
    "ImportResult",
]


def open_store(path: str | Path, annotations: str | Path | None = None) -> FeatureStore:
    """Open a feature store: an action2vec store, or an ActivityNet-style C3D HDF5 file.

    ActivityNet files (one group per video with a ``c3d_features`` dataset) take their labels from
    ``annotations`` (see :mod:`action2vec.store.activitynet`).
    """
    import h5py

    from action2vec.errors import DataError
    from action2vec.store.hdf5 import FORMAT

    path = Path(path)
    if not path.is_file():
        if parts_dir(path).is_dir() and any(parts_dir(path).glob("*.h5")):
            raise DataError(
                f"{path}: not written yet; an interrupted run left its part files in {parts_dir(path)}: "
                f"rerun it to finish, or `action2vec store merge {path}` to use what it wrote"
            )
        raise DataError(f"feature store not found: {path}")
    try:
        with h5py.File(path, "r") as f:
            is_ours = f.attrs.get("format") == FORMAT
    except OSError as exc:
        raise DataError(f"{path} is not a readable HDF5 feature store: {exc}") from None
    if is_ours:
        return FeatureStore(path)
    from action2vec.store.activitynet import ActivityNetStore

    return ActivityNetStore(path, annotations)
