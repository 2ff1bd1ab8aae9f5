"""A user's own data set: a folder per class, or a CSV/TSV of path and label.

Folder layout: ``<annotations>/<class>/<video>``, every video file below a class folder counts (the
key is the path relative to the root without its suffix). Table layout: a ``.csv``/``.tsv``/``.txt``
file with columns ``path,label[,subset]``, with or without that header; paths are relative to ``root``
(default: the table's folder). Without a subset column every video is in subset "all".
"""

from __future__ import annotations

import csv
from pathlib import Path, PurePosixPath

from action2vec.datasets.base import VIDEO_SUFFIXES, Entry, VideoRecord, require_dir, resolve_entries
from action2vec.errors import DataError
from action2vec.io import read_lines


def _folder_entries(folder: Path) -> list[Entry]:
    entries = []
    for class_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for video in sorted(class_dir.rglob("*")):
            if video.is_file() and video.suffix.lower() in VIDEO_SUFFIXES:
                rel = PurePosixPath(video.relative_to(folder).as_posix())
                entries.append(Entry(str(rel.with_suffix("")), (str(rel),), class_dir.name, "all"))
    return entries


def _table_entries(path: Path) -> list[Entry]:
    """Entries of a ``path,label[,subset]`` table (comma, or tab for .tsv and tab-separated lines)."""
    lines = read_lines(path, "annotation file")
    tabbed = path.suffix.lower() == ".tsv" or bool(lines and "\t" in lines[0])
    rows = [row for row in csv.reader(lines, delimiter="\t" if tabbed else ",") if any(c.strip() for c in row)]
    if not rows:
        raise DataError(f"{path}: the video table is empty")
    header = [c.strip().lower() for c in rows[0]]
    if "path" in header and "label" in header:
        columns = {name: header.index(name) for name in header}
        rows = rows[1:]
    else:
        columns = {"path": 0, "label": 1, "subset": 2}
    subset_col = columns.get("subset", columns.get("split"))
    entries = []
    for number, row in enumerate(rows, start=2 if "path" in header else 1):
        cells = [c.strip() for c in row]
        if len(cells) <= max(columns["path"], columns["label"]) or not cells[columns["path"]]:
            raise DataError(f"{path}:{number}: expected a path and a label, got {row!r}")
        rel = PurePosixPath(cells[columns["path"]].replace("\\", "/"))
        subset = "all"
        if subset_col is not None and subset_col < len(cells) and cells[subset_col]:
            subset = cells[subset_col]
        entries.append(Entry(str(rel.with_suffix("")), (str(rel),), cells[columns["label"]], subset))
    return entries


def load(annotations: Path, root: Path | None = None, split: int = 1, missing: str = "warn") -> list[VideoRecord]:
    """Videos of a class-folder tree or a path/label table; ``split`` is not used."""
    annotations = require_dir(annotations, "custom data set folder or table")
    if annotations.is_dir():
        entries = _folder_entries(annotations)
        if not entries:
            raise DataError(f"{annotations}: no class folders with video files ({', '.join(VIDEO_SUFFIXES[:3])}, ...)")
        return resolve_entries(entries, annotations, annotations, missing)
    if annotations.suffix.lower() not in (".csv", ".tsv", ".txt"):
        raise DataError(f"{annotations}: a custom data set is a folder per class or a .csv/.tsv table of path,label")
    entries = _table_entries(annotations)
    return resolve_entries(entries, Path(root) if root is not None else annotations.parent, annotations, missing)


def list_classes(annotations: Path) -> list[str]:
    """The sorted class names (folder names, or the table's labels)."""
    annotations = require_dir(annotations, "custom data set folder or table")
    entries = _folder_entries(annotations) if annotations.is_dir() else _table_entries(annotations)
    if not entries:
        raise DataError(f"{annotations}: no videos, so no classes")
    return sorted({e.label for e in entries})
