"""Kinetics-400/600/700 from the official CSVs, label maps and mmaction-style lists.

Official CSV columns: ``label,youtube_id,time_start,time_end,split`` (the test CSV of some releases has
no label). Clips are looked up as ``<label>/<youtube_id>_<start:06d>_<end:06d>.mp4`` (label with spaces
or underscores, under ``<root>`` or ``<root>/<split>``) and as ``<youtube_id>.mp4``. mmaction lists read
``<class_folder>/<youtube_id>.mp4 <label0>`` with the class taken from the label map when one is found.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path, PurePosixPath

from action2vec.datasets.base import Entry, VideoRecord, read_class_list, require_dir, resolve_entries
from action2vec.errors import DataError
from action2vec.io import read_lines

_SUBSETS = {
    "train": "train",
    "training": "train",
    "val": "val",
    "validate": "val",
    "validation": "val",
    "test": "test",
    "testing": "test",
}
_CSV_COLUMNS = ("label", "youtube_id", "time_start", "time_end", "split")


def _version(name: str) -> str:
    return re.sub(r"\D", "", name) or "400"


def _files(annotations: Path) -> list[Path]:
    annotations = require_dir(annotations, "Kinetics annotation folder or file")
    return [annotations] if annotations.is_file() else sorted(p for p in annotations.iterdir() if p.is_file())


def _label_map(annotations: Path, name: str) -> Path | None:
    """The label map among the annotation files, preferring one that names the version (k400, 600...)."""
    maps = [p for p in _files(annotations) if p.suffix == ".txt" and ("label_map" in p.name or "classes" in p.name)]
    if not maps and Path(annotations).is_file():
        return None
    version = _version(name)
    for path in maps:
        if re.search(rf"(?<!\d){version}(?!\d)", path.name):
            return path
    return maps[0] if len(maps) == 1 else None


def _is_csv(path: Path) -> bool:
    if path.suffix.lower() != ".csv":
        return False
    with open(path, newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle), [])
    return "youtube_id" in header


def _layout_error(annotations: Path, name: str) -> DataError:
    return DataError(
        f"{annotations}: no {name} annotations found (expected the official CSVs with columns "
        f"{','.join(_CSV_COLUMNS)}, a label map such as label_map_k{_version(name)}.txt, "
        "or mmaction lists '<class>/<youtube_id>.mp4 <label>')"
    )


def list_classes(annotations: Path, name: str = "kinetics400") -> list[str]:
    """Class names: the label map when present, else the sorted labels of the CSVs."""
    annotations = Path(annotations)
    label_map = _label_map(annotations, name)
    if label_map is not None:
        return read_class_list(label_map)
    if annotations.is_file() and annotations.suffix == ".txt" and not _looks_like_list(annotations):
        return read_class_list(annotations)
    labels = {r.label for r in load(annotations, None, name=name) if r.label}
    if not labels:
        raise _layout_error(annotations, name)
    return sorted(labels)


def _looks_like_list(path: Path) -> bool:
    lines = read_lines(path, "annotation file")
    return bool(lines) and "/" in lines[0] and lines[0].rsplit(maxsplit=1)[-1].isdigit()


def _csv_entries(path: Path) -> list[Entry]:
    entries = []
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        for number, row in enumerate(reader, start=2):
            try:
                youtube_id = row["youtube_id"].strip()
                start, end = int(float(row["time_start"])), int(float(row["time_end"]))
            except (KeyError, TypeError, ValueError):
                raise DataError(f"{path}:{number}: expected columns {','.join(_CSV_COLUMNS)}") from None
            label = (row.get("label") or "").strip()
            split = (row.get("split") or "").strip().lower()
            subset = _SUBSETS.get(split, _subset_from_name(path))
            clip = f"{youtube_id}_{start:06d}_{end:06d}"
            folders = [label, label.replace(" ", "_")] if label else [""]
            candidates = []
            for folder in dict.fromkeys(folders):
                for top in ("", split, subset):
                    base = PurePosixPath(top) / folder if top else PurePosixPath(folder)
                    candidates += [str(base / f"{clip}.mp4"), str(base / f"{youtube_id}.mp4")]
            entries.append(Entry(clip, tuple(dict.fromkeys(candidates)), label, subset))
    return entries


def _subset_from_name(path: Path) -> str:
    name = path.name.lower()
    for word, subset in _SUBSETS.items():
        if word in name:
            return subset
    return "all"


def _list_entries(path: Path, classes: list[str] | None) -> list[Entry]:
    entries = []
    subset = _subset_from_name(path)
    for number, line in enumerate(read_lines(path, "annotation file"), start=1):
        rel_text, _, label_text = line.rpartition(" ")
        if not rel_text or not label_text.isdigit():
            raise DataError(f"{path}:{number}: expected '<class>/<video>.mp4 <label>', got {line!r}")
        rel = PurePosixPath(rel_text.replace("\\", "/"))
        if classes is not None:
            index = int(label_text)
            if index >= len(classes):
                raise DataError(f"{path}:{number}: label {index} is beyond the {len(classes)} classes of the label map")
            label = classes[index]
        elif len(rel.parts) > 1:
            label = rel.parts[-2].replace("_", " ")
        else:
            raise DataError(f"{path}:{number}: no class folder in {rel_text!r} and no label map to read {label_text}")
        entries.append(Entry(rel.stem, (str(rel),), label, subset))
    return entries


def load(
    annotations: Path, root: Path | None = None, split: int = 1, name: str = "kinetics400", missing: str = "warn"
) -> list[VideoRecord]:
    """Every clip of the CSVs (or mmaction lists) found in ``annotations``; ``split`` is not used."""
    annotations = Path(annotations)
    label_map = _label_map(annotations, name)
    classes = read_class_list(label_map) if label_map is not None else None
    entries: list[Entry] = []
    sources = []
    version = _version(name)
    for path in _files(annotations):
        named = re.search(r"(?<!\d)(400|600|700)(?!\d)", path.name)
        if named and named.group(1) != version and not Path(annotations).is_file():
            continue  # another Kinetics version's file in the same folder
        if _is_csv(path):
            entries += _csv_entries(path)
        elif path.suffix == ".txt" and path != label_map and _looks_like_list(path):
            entries += _list_entries(path, classes)
        else:
            continue
        sources.append(path)
    if not entries:
        raise _layout_error(annotations, name)
    if classes is not None:
        known = set(classes)
        for e in entries:
            if e.label and e.label not in known:
                raise DataError(f"{sources[0]}: class {e.label!r} is not in the label map {label_map}")
    return resolve_entries(entries, root, sources[0] if len(sources) == 1 else annotations, missing)
