"""Which video files the explorer may read: a store's recorded videos, and only those under given folders.

The browser never names a path: it names a video by its key, the key is looked up in the store, and the
path the store recorded for it (``source["path"]``) is resolved (symbolic links followed) and read only
when the real file lies under one of the allowed folders. A key that is a path (``../x``, ``/etc/x``) is
just an unknown key; a recorded path that leads out of the folders (``..``, an absolute path elsewhere, a
symbolic link pointing out) is refused.

    files = VideoFiles(store, [run_dir, video_root(store)])
    files.path("videos/spin_star/spin_star_000.mp4")   # Path, or NotFound naming why not
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

from action2vec.errors import DataError
from action2vec.store import Store

__all__ = ["NotFound", "VideoFiles", "video_root"]

log = logging.getLogger(__name__)


class NotFound(DataError):
    """A class, video, upload or preview the request names does not exist (HTTP 404)."""


def _recorded(store: Store, i: int) -> Path | None:
    """The video path the store recorded for video ``i``, or None. A relative path (stores written before
    extraction recorded absolute ones) is under the store's folder, or else under the working folder, where
    extraction ran (``demo --out demo_run`` recorded ``demo_run/toy/videos/...``)."""
    raw = store.source(i).get("path")
    if not raw:
        return None
    path = Path(str(raw)).expanduser()
    if path.is_absolute():
        return path
    beside_store = Path(store.path).parent.absolute() / path
    return beside_store if beside_store.exists() or not path.exists() else path.absolute()


def video_root(store: Store) -> Path | None:
    """The deepest folder holding every video the store recorded a path for; None when there is none or it
    is the file-system root (a root that wide would let the explorer read anything)."""
    folders = {str(p.parent) for p in (_recorded(store, i) for i in range(len(store))) if p is not None}
    if not folders:
        return None
    root = Path(os.path.commonpath(sorted(folders)))
    if root == Path(root.anchor):
        log.warning("the store's videos share no folder but %s: give --videos DIR to show their previews", root)
        return None
    return root


class VideoFiles:
    """The store's videos that may be read: recorded paths that resolve to files under ``roots``."""

    def __init__(self, store: Store | None, roots: Sequence[str | Path | None]) -> None:
        self.store = store
        self.roots = sorted({Path(r).resolve() for r in roots if r is not None and Path(r).is_dir()})

    def path(self, key: str) -> Path:
        """The real path of video ``key``; NotFound (naming the reason) when it is unknown, not on disk, or
        outside the allowed folders."""
        if self.store is None:
            raise NotFound("no feature store was given, so no video file is known")
        try:
            i = self.store.index_of(key)
        except (KeyError, ValueError, DataError):
            raise NotFound(f"unknown video {key!r}") from None
        recorded = _recorded(self.store, i)
        if recorded is None:
            raise NotFound(f"video {key!r}: the store records no file for it")
        real = Path(os.path.realpath(recorded))
        if not any(real.is_relative_to(root) for root in self.roots):
            raise NotFound(f"video {key!r}: its file is outside the folders this server may read")
        if not real.is_file():
            raise NotFound(f"video {key!r}: its file is not on disk")
        return real

    def exists(self, key: str) -> bool:
        """Whether :meth:`path` would give a file."""
        try:
            self.path(key)
        except NotFound:
            return False
        return True
