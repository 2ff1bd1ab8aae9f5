"""UCF101 from its official split files: ``classInd.txt``, ``trainlist0k.txt``, ``testlist0k.txt``.

The files have CRLF endings; train lines read ``Class/v_Class_gXX_cYY.avi <index>``, test lines have no
index. One class is spelt two ways: ``classInd`` and the folder say ``HandstandPushups``, the file names
say ``v_HandStandPushups_*``; paths are matched case-insensitively so both layouts on disk resolve.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from action2vec.datasets.base import Entry, VideoRecord, read_class_list, require_dir, resolve_entries
from action2vec.errors import DataError
from action2vec.io import read_lines


def _split_dir(annotations: Path) -> Path:
    annotations = require_dir(annotations, "UCF101 annotation folder")
    if annotations.is_file():
        annotations = annotations.parent
    for folder in (annotations, annotations / "ucfTrainTestlist"):
        if (folder / "classInd.txt").is_file():
            return folder
    raise DataError(
        f"{annotations}: not a UCF101 annotation folder (expected classInd.txt, trainlist0k.txt, testlist0k.txt)"
    )


def list_classes(annotations: Path) -> list[str]:
    """The 101 class names in ``classInd.txt`` order (a plain label-map file is accepted too)."""
    annotations = Path(annotations)
    if annotations.is_file() and annotations.name != "classInd.txt":
        return read_class_list(annotations)
    return read_class_list(_split_dir(annotations) / "classInd.txt")


def load(annotations: Path, root: Path | None = None, split: int = 1, missing: str = "warn") -> list[VideoRecord]:
    """Train and test videos of official split ``split`` (1, 2 or 3)."""
    folder = _split_dir(annotations)
    if split not in (1, 2, 3):
        raise DataError(f"{folder}: UCF101 has splits 1, 2 and 3, not {split}")
    classes = read_class_list(folder / "classInd.txt")
    by_lower = {c.lower(): c for c in classes}
    entries = []
    for subset, name in (("train", f"trainlist0{split}.txt"), ("test", f"testlist0{split}.txt")):
        path = folder / name
        for number, line in enumerate(read_lines(path, "annotation file"), start=1):
            rel, *rest = line.split()
            parts = PurePosixPath(rel.replace("\\", "/"))
            folder_name = parts.parts[0] if len(parts.parts) > 1 else ""
            if rest:
                index = int(rest[0]) if rest[0].isdigit() else 0
                if not 1 <= index <= len(classes):
                    raise DataError(f"{path}:{number}: class index {rest[0]} is not in classInd.txt")
                label = classes[index - 1]
            elif folder_name.lower() in by_lower:
                label = by_lower[folder_name.lower()]
            else:
                raise DataError(f"{path}:{number}: class folder {folder_name!r} is not in classInd.txt")
            entries.append(Entry(key=parts.stem, candidates=(str(parts),), label=label, subset=subset))
    if not entries:
        raise DataError(f"{folder}: split {split} lists no videos")
    return resolve_entries(entries, root, folder, missing)
