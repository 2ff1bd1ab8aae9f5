"""Data set adapters: read the annotation files users have and resolve video paths under a root.

    records = load_dataset("ucf101", Path("ucfTrainTestlist"), root=Path("UCF-101"), split=1)
    classes = list_classes("hmdb51", Path("splits"))

Supported names: ``ucf101``, ``hmdb51``, ``kinetics400``, ``kinetics600``, ``kinetics700``, ``custom``.
Videos listed but not found under ``root`` are reported when loading (policy ``missing``: "warn" keeps
them and logs how many and which, "drop" leaves them out, "error" raises :class:`DataError`).
"""

from __future__ import annotations

from pathlib import Path

from action2vec.datasets import custom, hmdb51, kinetics, ucf101
from action2vec.datasets.base import VideoRecord
from action2vec.errors import DataError

__all__ = ["VideoRecord", "DATASETS", "load_dataset", "list_classes", "subset"]

DATASETS = ("ucf101", "hmdb51", "kinetics400", "kinetics600", "kinetics700", "custom")


def _check_name(name: str) -> str:
    key = name.lower().replace("-", "")
    if key == "kinetics":
        key = "kinetics400"
    if key not in DATASETS:
        raise DataError(f"unknown data set {name!r} (known: {', '.join(DATASETS)})")
    return key


def load_dataset(
    name: str, annotations: Path, root: Path | None = None, split: int = 1, *, missing: str = "warn"
) -> list[VideoRecord]:
    """All videos of data set ``name`` (train and test subsets of official split ``split``)."""
    key = _check_name(name)
    annotations = Path(annotations)
    if key == "ucf101":
        return ucf101.load(annotations, root, split, missing)
    if key == "hmdb51":
        return hmdb51.load(annotations, root, split, missing)
    if key.startswith("kinetics"):
        return kinetics.load(annotations, root, split, name=key, missing=missing)
    return custom.load(annotations, root, split, missing)


def list_classes(name: str, annotations: Path) -> list[str]:
    """The class names of data set ``name``, in the data set's own order (label-map order)."""
    key = _check_name(name)
    annotations = Path(annotations)
    if key == "ucf101":
        return ucf101.list_classes(annotations)
    if key == "hmdb51":
        return hmdb51.list_classes(annotations)
    if key.startswith("kinetics"):
        return kinetics.list_classes(annotations, key)
    return custom.list_classes(annotations)


def subset(records: list[VideoRecord], name: str) -> list[VideoRecord]:
    """The records of one subset ("train", "test", "val", "all")."""
    return [r for r in records if r.subset == name]
