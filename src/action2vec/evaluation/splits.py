"""Zero-shot class splits: random seen/unseen splits by ratio and seed, JSON files, ER-ZSAR files,
and overlap filtering between training and test classes.

A split never puts a class on both sides; :func:`check_split` enforces it for files read from disk.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from action2vec.errors import DataError
from action2vec.linalg import l2_normalize

log = logging.getLogger(__name__)

__all__ = [
    "ClassSplit",
    "parse_ratio",
    "random_splits",
    "save_splits",
    "load_splits",
    "load_er_zsar_splits",
    "check_split",
    "overlap_filter",
    "name_overlap",
]

SPLITS_FORMAT = "action2vec-splits"


@dataclass
class ClassSplit:
    """One zero-shot split: train on ``seen``, test on ``unseen`` (``val``: optional held-out classes)."""

    name: str
    seen: list[str]
    unseen: list[str]
    ratio: str = ""
    seed: int | None = None
    val: list[str] = field(default_factory=list)


def parse_ratio(ratio: str) -> tuple[int, int]:
    """``"80/20"`` -> (80, 20): percent of classes seen and unseen."""
    try:
        a, b = (int(x) for x in str(ratio).replace(":", "/").split("/"))
    except ValueError:
        raise DataError(f"split ratio {ratio!r} must look like 50/50, 80/20 or 90/10") from None
    if a <= 0 or b <= 0 or a + b != 100:
        raise DataError(f"split ratio {ratio!r}: both parts must be positive and add to 100")
    return a, b


def random_splits(
    classes: Sequence[str], ratios: Iterable[str] = ("50/50", "80/20", "90/10"), seeds: Iterable[int] = range(10)
) -> list[ClassSplit]:
    """Random class splits, one per (ratio, seed); the same inputs always give the same splits.

    The class list is sorted first, so the result does not depend on the order classes were found in.
    """
    names = sorted(set(classes))
    if len(names) < 2:
        raise DataError(f"need at least 2 classes to split, got {len(names)}")
    out = []
    for ratio in ratios:
        _, unseen_pct = parse_ratio(ratio)
        n_unseen = min(max(1, int(round(len(names) * unseen_pct / 100))), len(names) - 1)
        for seed in seeds:
            perm = np.random.default_rng(seed).permutation(len(names))
            unseen = sorted(names[i] for i in perm[:n_unseen])
            seen = sorted(names[i] for i in perm[n_unseen:])
            tag = str(ratio).replace("/", "-")
            out.append(ClassSplit(name=f"{tag}_seed{seed}", seen=seen, unseen=unseen, ratio=str(ratio), seed=int(seed)))
    return out


def check_split(split: ClassSplit, source: str | Path = "split") -> ClassSplit:
    """Raise DataError when a class is on both sides or a side is empty."""
    both = (set(split.seen) & set(split.unseen)) | (set(split.val) & (set(split.seen) | set(split.unseen)))
    if both:
        raise DataError(f"{source}: split {split.name!r} has classes on both sides: {sorted(both)[:5]}")
    if not split.seen or not split.unseen:
        raise DataError(f"{source}: split {split.name!r} needs both seen and unseen classes")
    return split


def save_splits(splits: Sequence[ClassSplit], path: str | Path) -> Path:
    """Write splits as JSON: ``{"format", "version", "splits": [{name, ratio, seed, seen, unseen, val}]}``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"format": SPLITS_FORMAT, "version": 1, "splits": [asdict(s) for s in splits]}
    path.write_text(json.dumps(doc, indent=1) + "\n")
    return path


def load_splits(path: str | Path) -> list[ClassSplit]:
    """Read splits written by :func:`save_splits` (or a folder of ER-ZSAR index files)."""
    path = Path(path)
    if path.is_dir():
        return load_er_zsar_splits(path)
    if not path.is_file():
        raise DataError(f"split file not found: {path}")
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"split file {path} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != SPLITS_FORMAT:
        raise DataError(f"split file {path} is not an action2vec split file (format={SPLITS_FORMAT!r})")
    out = []
    for i, item in enumerate(doc.get("splits", [])):
        try:
            split = ClassSplit(
                name=str(item["name"]),
                seen=list(item["seen"]),
                unseen=list(item["unseen"]),
                ratio=str(item.get("ratio", "")),
                seed=item.get("seed"),
                val=list(item.get("val", [])),
            )
        except (KeyError, TypeError) as exc:
            raise DataError(f"split file {path}: split {i} lacks {exc}") from None
        out.append(check_split(split, path))
    if not out:
        raise DataError(f"split file {path} holds no splits")
    return out


def load_er_zsar_splits(folder: str | Path, names: Sequence[str] | None = None) -> list[ClassSplit]:
    """The Kinetics zero-shot splits of ER-ZSAR: ``trn/val/tst_class_idxs.json`` index lists.

    Class names come from ``classes620_label_defn.json`` in the same folder (field ``word``) unless
    ``names`` is given. Seen = trn (the Kinetics-400 classes), unseen = tst, val = val.
    """
    folder = Path(folder)
    files = {part: folder / f"{part}_class_idxs.json" for part in ("trn", "val", "tst")}
    for part, file in files.items():
        if not file.is_file():
            raise DataError(f"ER-ZSAR split file not found: {file}")
    if names is None:
        defn = folder / "classes620_label_defn.json"
        if not defn.is_file():
            raise DataError(f"ER-ZSAR class list not found: {defn} (or pass the class names)")
        names = [item["word"] for item in json.loads(defn.read_text())]
    idx = {part: json.loads(file.read_text()) for part, file in files.items()}
    n = len(idx["trn"])
    if not (len(idx["val"]) == len(idx["tst"]) == n):
        raise DataError(f"{folder}: trn/val/tst files hold different numbers of splits")
    out = []
    for s in range(n):
        try:
            parts = {p: [names[i] for i in idx[p][s]] for p in idx}
        except IndexError:
            raise DataError(f"{folder}: split {s} has a class index beyond the {len(names)} class names") from None
        split = ClassSplit(
            name=f"er_zsar_{s + 1}", seen=parts["trn"], unseen=parts["tst"], ratio="er-zsar", val=parts["val"]
        )
        out.append(check_split(split, folder))
    return out


def overlap_filter(
    seen: Sequence[str], unseen: Sequence[str], vectors: dict[str, np.ndarray], threshold: float
) -> tuple[list[str], dict[str, tuple[str, float]]]:
    """Drop seen classes whose label vector has cosine >= ``threshold`` with any unseen class.

    As in E2E (Brattoli et al. 2020) and TruZe. Returns (kept seen classes, {dropped: (closest unseen, cosine)}).
    """
    if not unseen or not seen:
        return list(seen), {}
    s = l2_normalize(np.stack([vectors[c] for c in seen]), dtype=np.float64)
    u = l2_normalize(np.stack([vectors[c] for c in unseen]), dtype=np.float64)
    sim = s @ u.T  # (S, U)
    best = sim.argmax(axis=1)
    kept, dropped = [], {}
    for i, name in enumerate(seen):
        cos = float(sim[i, best[i]])
        if cos >= threshold:
            dropped[name] = (unseen[best[i]], cos)
        else:
            kept.append(name)
    return kept, dropped


def name_overlap(test_classes: Iterable[str], other_classes: Iterable[str]) -> list[str]:
    """Test classes whose name (case, ``_`` and spaces ignored) is also in ``other_classes``.

    Used to warn when a backbone's pretraining classes overlap the zero-shot test classes.
    """

    def key(name: str) -> str:
        return "".join(ch for ch in name.lower() if ch.isalnum())

    other = {key(c) for c in other_classes}
    return sorted(c for c in test_classes if key(c) in other)
