"""HMDB51 from the official per-class split files or from mmaction-style lists.

Official: ``<class>_test_split<k>.txt`` per class (from ``testTrainMulti_7030_splits``), each line
``<video>.avi <flag>`` with flag 1 = train, 2 = test, 0 = not used in this split (left out).
mmaction-style: ``*train*split*<k>*.txt`` and ``*val*``/``*test*split*<k>*.txt`` with lines
``<class>/<video>.avi <label0>``; a label map (``*label_map*.txt``), when present, must agree.
Videos live in ``<root>/<class>/<video>.avi``.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from action2vec.datasets.base import Entry, VideoRecord, read_class_list, require_dir, resolve_entries
from action2vec.errors import DataError
from action2vec.io import read_lines

_OFFICIAL = re.compile(r"^(?P<cls>.+)_test_split(?P<k>\d+)\.txt$")
_FLAGS = {"1": "train", "2": "test"}


def _folder(annotations: Path) -> Path:
    annotations = require_dir(annotations, "HMDB51 annotation folder")
    return annotations.parent if annotations.is_file() else annotations


def _official_files(folder: Path, split: int) -> dict[str, Path]:
    files = {}
    for path in sorted(folder.glob("*_test_split*.txt")):
        match = _OFFICIAL.match(path.name)
        if match and int(match["k"]) == split:
            files[match["cls"]] = path
    return files


def _list_files(folder: Path, split: int) -> dict[str, Path]:
    """mmaction-style list files of ``split``: {"train": path, "test": path}."""
    found: dict[str, Path] = {}
    for path in sorted(folder.glob("*.txt")):
        name = path.name.lower()
        if not re.search(rf"split_?{split}(?!\d)", name) or _OFFICIAL.match(path.name):
            continue
        if "train" in name:
            found.setdefault("train", path)
        elif "val" in name or "test" in name:
            found.setdefault("test", path)
    return found


def _label_map(folder: Path) -> list[str] | None:
    """The class list: a label map named for HMDB, else one in the folder, else a 51-line one beside it."""
    own = sorted(folder.glob("*label_map*.txt"))
    beside = sorted(folder.parent.glob("*label_map*.txt"))
    for path in own + beside:
        if "hmdb" in path.name.lower():
            return read_class_list(path)
    if own:
        return read_class_list(own[0])
    for path in beside:
        names = read_class_list(path)
        if len(names) == 51:
            return names
    return None


def _layout_error(folder: Path, split: int) -> DataError:
    return DataError(
        f"{folder}: no HMDB51 split {split} files found (expected <class>_test_split{split}.txt per class, "
        f"or mmaction lists such as hmdb51_train_split_{split}_videos.txt and hmdb51_val_split_{split}_videos.txt)"
    )


def list_classes(annotations: Path) -> list[str]:
    """The 51 class names: the label map when present, else the classes of the split files, sorted."""
    annotations = Path(annotations)
    if annotations.is_file():
        return read_class_list(annotations)
    folder = _folder(annotations)
    classes = _label_map(folder)
    if classes is not None:
        return classes
    official = _official_files(folder, 1)
    if official:
        return sorted(official)
    records = load(folder, None, 1)
    return sorted({r.label for r in records})


def load(annotations: Path, root: Path | None = None, split: int = 1, missing: str = "warn") -> list[VideoRecord]:
    """Train and test videos of split ``split`` (1, 2 or 3)."""
    folder = _folder(annotations)
    if split not in (1, 2, 3):
        raise DataError(f"{folder}: HMDB51 has splits 1, 2 and 3, not {split}")
    entries: list[Entry] = []
    official = _official_files(folder, split)
    if official:
        for cls, path in official.items():
            for number, line in enumerate(read_lines(path, "annotation file"), start=1):
                fields = line.split()
                if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
                    raise DataError(f"{path}:{number}: expected '<video>.avi <0|1|2>', got {line!r}")
                if fields[1] in _FLAGS:
                    rel = PurePosixPath(cls) / fields[0]
                    entries.append(Entry(rel.stem, (str(rel),), cls, _FLAGS[fields[1]]))
        source = folder
    else:
        lists = _list_files(folder, split)
        if not lists:
            raise _layout_error(folder, split)
        classes = _label_map(folder)
        for subset, path in sorted(lists.items(), key=lambda item: item[0] != "train"):
            for number, line in enumerate(read_lines(path, "annotation file"), start=1):
                rel_text, *rest = line.rsplit(maxsplit=1) if " " in line else (line,)
                rel = PurePosixPath(rel_text.replace("\\", "/"))
                if len(rel.parts) < 2:
                    raise DataError(f"{path}:{number}: expected '<class>/<video>.avi <label>', got {line!r}")
                cls = rel.parts[-2]
                if classes is not None and rest and rest[0].isdigit():
                    index = int(rest[0])
                    if index >= len(classes) or classes[index] != cls:
                        raise DataError(f"{path}:{number}: label {index} does not match class folder {cls!r}")
                entries.append(Entry(rel.stem, (str(rel),), cls, subset))
        source = lists["train"] if "train" in lists else next(iter(lists.values()))
    if not entries:
        raise _layout_error(folder, split)
    return resolve_entries(entries, root, source, missing)
