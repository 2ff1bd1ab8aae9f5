"""Shared pieces of the dataset adapters: the record type, file reading and video path resolution."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from action2vec.errors import DataError
from action2vec.io import read_lines

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".mpg", ".mpeg", ".m4v", ".flv", ".wmv", ".3gp")


@dataclass(frozen=True)
class VideoRecord:
    """One labelled video of a data set.

    ``key`` is unique within the data set (the feature store's key); ``path`` is the resolved file
    (under ``root`` when one was given, else the path as written in the annotations); ``label`` is the
    class name as the data set spells it; ``subset`` is "train", "test", "val" or "all".
    """

    key: str
    path: Path
    label: str
    subset: str


def read_class_list(path: Path) -> list[str]:
    """Class names from a label map: one name per line, optionally ``<index> <name>`` (classInd style)."""
    names = []
    for line in read_lines(path, "class list"):
        head, _, rest = line.partition(" ")
        names.append(rest.strip() if head.isdigit() and rest.strip() else line)
    if not names:
        raise DataError(f"{path}: the class list is empty")
    return names


def require_dir(path: Path, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: {what} not found")
    return path


class PathResolver:
    """Finds video files under a root folder, tolerating the usual differences in layout.

    Tries each candidate relative path as written, then with case-insensitive matching of every path
    component (UCF101's ``HandstandPushups`` folder vs ``v_HandStandPushups_*`` files, or a folder
    renamed by the user), then the bare file name directly under the root, then other video suffixes.
    Directory listings are cached, so resolving thousands of paths costs one listing per folder.
    """

    def __init__(self, root: Path | None) -> None:
        self.root = Path(root) if root is not None else None
        self._listings: dict[Path, dict[str, str] | None] = {}

    def _listing(self, folder: Path) -> dict[str, str] | None:
        if folder not in self._listings:
            try:
                self._listings[folder] = {name.lower(): name for name in os.listdir(folder)}
            except OSError:
                self._listings[folder] = None
        return self._listings[folder]

    def _find(self, rel: Path) -> Path | None:
        assert self.root is not None
        current = self.root
        for part in rel.parts:
            listing = self._listing(current)
            if listing is None:
                return None
            if part in listing.values():
                current = current / part
            elif part.lower() in listing:
                current = current / listing[part.lower()]
            else:
                return None
        return current if current.is_file() else None

    def resolve(self, candidates: Iterable[str | Path]) -> tuple[Path, bool]:
        """The first existing file among ``candidates`` (relative paths), and whether one exists.

        Without a root, the first candidate is returned as written and reported as existing.
        """
        paths = [Path(c) for c in candidates]
        if self.root is None:
            return paths[0], True
        tries: list[Path] = []
        for rel in paths:
            tries.append(rel)
            tries.append(Path(rel.name))
        for rel in list(tries):
            for suffix in VIDEO_SUFFIXES:
                if rel.suffix.lower() != suffix:
                    tries.append(rel.with_suffix(suffix))
        for rel in tries:
            exact = self.root / rel
            if exact.is_file():
                return exact, True
            found = self._find(rel)
            if found is not None:
                return found, True
        return self.root / paths[0], False


def report_missing(
    records: list[VideoRecord], missing: list[VideoRecord], root: Path | None, policy: str, source: Path
) -> list[VideoRecord]:
    """Apply the missing-video policy ("warn", "drop" or "error") and log what was not found."""
    if policy not in ("warn", "drop", "error"):
        raise DataError(f"missing-video policy must be warn, drop or error, not {policy!r}")
    if not missing:
        return records
    examples = ", ".join(str(r.path) for r in missing[:3])
    message = f"{len(missing)} of {len(records)} videos listed in {source} are not under {root} (e.g. {examples})"
    if policy == "error":
        raise DataError(message)
    log.warning("%s%s", message, "; dropping them" if policy == "drop" else "")
    if policy == "drop":
        gone = {r.key for r in missing}
        return [r for r in records if r.key not in gone]
    return records


def check_unique_keys(records: list[VideoRecord], source: Path) -> None:
    seen: dict[str, VideoRecord] = {}
    for r in records:
        if r.key in seen and seen[r.key].path != r.path:
            raise DataError(f"{source}: video key {r.key!r} names two files ({seen[r.key].path}, {r.path})")
        seen[r.key] = r


@dataclass(frozen=True)
class Entry:
    """An annotation line before its file is looked up: candidate relative paths, most likely first."""

    key: str
    candidates: tuple[str, ...]
    label: str
    subset: str


def resolve_entries(entries: list[Entry], root: Path | None, source: Path, missing: str = "warn") -> list[VideoRecord]:
    """Turn annotation entries into records with files resolved under ``root``; report missing ones."""
    resolver = PathResolver(root)
    records, absent = [], []
    for e in entries:
        path, exists = resolver.resolve(e.candidates)
        record = VideoRecord(key=e.key, path=path, label=e.label, subset=e.subset)
        records.append(record)
        if not exists:
            absent.append(record)
    check_unique_keys(records, source)
    return report_missing(records, absent, root, missing, source)
