"""Read ActivityNet-style C3D feature files through the feature-store read API.

The public ActivityNet C3D features are one HDF5 file with one top-level group per video
(``v_<youtube_id>``) holding a ``c3d_features`` dataset of shape (T, 500) (PCA already applied).
Labels come from a separate annotation file:

* the ActivityNet JSON (``{"database": {"<id>": {"subset": ..., "annotations": [{"label": ...}]}}}``),
  where a video's label is its first annotation's label, or
* a CSV/TSV/space-separated text file of ``key label`` rows (keys with or without the ``v_`` prefix).

Videos without a label get ``""``; they can still be encoded but not used for training.
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any, Sequence

import h5py
import numpy as np

from action2vec.errors import DataError
from action2vec.store.base import video_digest
from action2vec.store.hdf5 import FeatureStore, StoreIndex

log = logging.getLogger(__name__)

__all__ = ["ActivityNetStore", "read_activitynet_labels"]


def _strip(key: str) -> str:
    return key[2:] if key.startswith("v_") else key


def read_activitynet_labels(path: str | Path) -> tuple[dict[str, str], dict[str, str]]:
    """Labels and subsets by video id (without ``v_``) from an ActivityNet JSON or a text table."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"annotation file not found: {path}")
    labels: dict[str, str] = {}
    subsets: dict[str, str] = {}
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: not valid JSON ({exc})") from None
        db = data.get("database", data) if isinstance(data, dict) else None
        if not isinstance(db, dict):
            raise DataError(f"{path}: expected an ActivityNet JSON with a 'database' mapping")
        for vid, entry in db.items():
            anns = entry.get("annotations") or []
            if anns:
                labels[_strip(vid)] = str(anns[0].get("label", ""))
            subsets[_strip(vid)] = str(entry.get("subset", ""))
        return labels, subsets
    text = path.read_text()
    dialect = "excel-tab" if "\t" in text else "excel"
    for row in csv.reader(text.splitlines(), dialect=dialect):
        if len(row) == 1:
            row = row[0].split(None, 1)
        if len(row) < 2 or not row[0].strip() or row[0].strip().lower() in ("key", "video", "id"):
            continue
        labels[_strip(row[0].strip())] = row[1].strip()
    return labels, subsets


class ActivityNetStore(FeatureStore):
    """An ActivityNet C3D HDF5 file seen as a read-only feature store."""

    def __init__(self, path: str | Path, annotations: str | Path | None = None, dataset: str = "c3d_features") -> None:
        self.path = Path(path)
        self.dataset = dataset
        labels, subsets = read_activitynet_labels(annotations) if annotations else ({}, {})
        keys: list[str] = []
        rows: list[int] = []
        try:
            with h5py.File(self.path, "r") as f:
                for name in f.keys():
                    node = f[name]
                    if isinstance(node, h5py.Group) and dataset in node:
                        keys.append(name)
                        rows.append(int(node[dataset].shape[0]))
                        dim = int(node[dataset].shape[1])
        except OSError as exc:
            raise DataError(f"cannot read {self.path}: {exc}") from None
        if not keys:
            raise DataError(f"{self.path}: no top-level group with a '{dataset}' dataset (not an ActivityNet C3D file)")
        if annotations and not any(_strip(k) in labels for k in keys):
            raise DataError(f"{annotations}: none of its video ids match the groups of {self.path}")
        n = len(keys)
        self._index = StoreIndex(
            keys=keys,
            offsets=np.zeros(n, np.int64),
            rows=np.asarray(rows, np.int32),
            lengths=np.asarray(rows, np.int32),
            labels=[labels.get(_strip(k), "") for k in keys],
            sources=[json.dumps({"subset": subsets.get(_strip(k), "")}) for k in keys],
        )
        self._key_to_pos = {k: i for i, k in enumerate(keys)}
        self._failures: dict[str, str] = {}
        self.dim = dim
        self.pca = None
        self.meta: dict[str, Any] = {
            "backbone": "c3d",
            "layer": "fc7",
            "pca": dim,
            "source_format": "activitynet",
            "clip_len": 16,
            "stride": 8,
            "dim": dim,
        }
        self._file = None
        self._pid = None
        self.recorded_digest = None

    def get(self, i: int) -> tuple[np.ndarray, int]:
        feats = self._h5()[self._index.keys[i]][self.dataset][()].astype(np.float32, copy=False)
        return feats, int(self._index.lengths[i])

    def read_many(self, indices: Sequence[int] | np.ndarray) -> list[np.ndarray]:
        return [self.get(int(i))[0] for i in indices]

    def compute_video_digests(self, block_bytes: int = 0) -> list[str]:
        """Each video's feature digest (this file records none: :func:`~action2vec.store.store_digest` computes
        them once per file state and records the content digest beside the file)."""
        return [video_digest(self.get(i)[0]) for i in range(len(self))]

    def info(self) -> dict[str, Any]:
        out = super().info()
        out["format"] = "activitynet"
        return out
