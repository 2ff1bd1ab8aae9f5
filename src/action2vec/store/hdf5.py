"""The HDF5 feature store: every video's (T, D) feature sequence, its true length and metadata.

Layout (one file, see docs/architecture.md)::

    /features          float32 (total_rows, D), rows of all videos concatenated (chunked)
    /index/{key,offset,rows,length,label,source,digest}
    /failures/{key,reason,source}
    /pca/{mean,components,explained_variance}      (optional)
    attrs: format, version, meta (JSON), features_digest, content_digest

Every video's feature digest (``/index/digest``, :func:`action2vec.store.base.video_digest`) is computed when
the video is added, and the digests of the store's features and content (attributes ``features_digest``,
``content_digest``) when a store is merged, from the rows it copies: reading a store's identity costs nothing (:func:`action2vec.store.store_digest`).

The main file is only ever replaced whole (write a temporary file, then rename), so a crash never
leaves it half-written. Writers append finished videos to small part files beside it
(``STORE.parts/<rank>-<seq>.h5``, each written under a temporary name and renamed when complete);
``merge_parts`` folds them into the main file. Writers and merges hold the store's lock
(:mod:`action2vec.store.lock`), so one process (or one torchrun job) writes a store at a time. Every
video has a non-empty key.
"""

from __future__ import annotations

import json
import logging
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import h5py
import numpy as np

from action2vec.errors import DataError
from action2vec.provenance import Provenance, decide
from action2vec.store.base import content_digest, features_digest, record_digest, video_digest
from action2vec.store.lock import StoreLock

log = logging.getLogger(__name__)

FORMAT = "action2vec-store"
VERSION = 1
_STR = h5py.string_dtype(encoding="utf-8")
_INDEX_FIELDS = ("key", "offset", "rows", "length", "label", "source")

__all__ = ["FeatureStore", "StoreWriter", "merge_parts", "parts_dir", "StoreIndex", "PendingVideo", "Failure"]


def parts_dir(path: str | Path) -> Path:
    """The folder of not-yet-merged part files that belongs to store ``path``."""
    path = Path(path)
    return path.with_name(path.name + ".parts")


@dataclass
class StoreIndex:
    """Per-video index arrays of a store (all of length N)."""

    keys: list[str]
    offsets: np.ndarray  # (N,) int64
    rows: np.ndarray  # (N,) int32
    lengths: np.ndarray  # (N,) int32
    labels: list[str]
    sources: list[str]  # JSON strings
    digests: list[str] | None = None  # each video's feature digest (None: a store written before they were kept)

    @classmethod
    def empty(cls) -> "StoreIndex":
        z = np.zeros(0, dtype=np.int64)
        return cls([], z, z.astype(np.int32), z.astype(np.int32), [], [], [])


def _read_str(ds: h5py.Dataset) -> list[str]:
    return [s.decode("utf-8") if isinstance(s, bytes) else str(s) for s in ds[()]] if ds.shape[0] else []


def _read_index(f: h5py.File) -> StoreIndex:
    if "index" not in f:
        return StoreIndex.empty()
    g = f["index"]
    return StoreIndex(
        keys=_read_str(g["key"]),
        offsets=g["offset"][()].astype(np.int64),
        rows=g["rows"][()].astype(np.int32),
        lengths=g["length"][()].astype(np.int32),
        labels=_read_str(g["label"]),
        sources=_read_str(g["source"]),
        digests=_read_str(g["digest"]) if "digest" in g else None,
    )


def _read_failures(f: h5py.File) -> list[Failure]:
    if "failures" not in f:
        return []
    g = f["failures"]
    return [Failure(k, r, s) for k, r, s in zip(_read_str(g["key"]), _read_str(g["reason"]), _read_str(g["source"]))]


@contextmanager
def _reading(path: Path) -> Iterator[h5py.File]:
    """A store file open for reading; a file HDF5 cannot read, or whose tables or metadata are broken, is a
    DataError naming it (one line), never a traceback."""
    try:
        with h5py.File(path, "r") as f:
            yield f
    except (OSError, ValueError, KeyError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise DataError(f"{path}: damaged store file ({reason}); restore it or remove it and extract again") from None


def _read_meta(f: h5py.File, path: Path) -> dict[str, Any]:
    if f.attrs.get("format") != FORMAT:
        raise DataError(f"{path} is not an action2vec feature store (no format={FORMAT!r} attribute)")
    return json.loads(f.attrs.get("meta", "{}"))


class FeatureStore:
    """Read access to a feature store; the index is held in memory, features stream from disk.

    Reading is safe in DataLoader worker processes: the HDF5 handle is opened lazily per process.
    """

    def __init__(self, path: str | Path, warn_parts: bool = True) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise DataError(f"feature store not found: {self.path}")
        with _reading(self.path) as f:
            self.meta = _read_meta(f, self.path)
            self._index = _read_index(f)
            self._failures = {x.key: x.reason for x in _read_failures(f)}
            self.dim = int(f["features"].shape[1]) if "features" in f else int(self.meta.get("dim", 0))
            self.pca = {k: f["pca"][k][()] for k in f["pca"]} if "pca" in f else None
            self.recorded_digest: str | None = f.attrs.get("content_digest")  # as written (see store_digest)
        self._key_to_pos = {k: i for i, k in enumerate(self._index.keys)}
        self._file: h5py.File | None = None
        self._pid: int | None = None
        pd = parts_dir(self.path)
        if warn_parts and pd.is_dir() and any(pd.glob("*.h5")):
            log.warning("%s has unmerged part files in %s; run `action2vec store merge %s`", self.path, pd, self.path)

    # ------------------------------------------------------------------ index
    def __len__(self) -> int:
        return len(self._index.keys)

    def __contains__(self, key: str) -> bool:
        return key in self._key_to_pos

    @property
    def keys(self) -> list[str]:
        return self._index.keys

    @property
    def labels(self) -> list[str]:
        return self._index.labels

    @property
    def lengths(self) -> np.ndarray:
        return self._index.lengths

    @property
    def rows(self) -> np.ndarray:
        return self._index.rows

    @property
    def classes(self) -> list[str]:
        return sorted({lab for lab in self._index.labels if lab})

    @property
    def failures(self) -> dict[str, str]:
        return dict(self._failures)

    def source(self, i: int) -> dict[str, Any]:
        return json.loads(self._index.sources[i] or "{}")

    def index_of(self, key: str) -> int:
        try:
            return self._key_to_pos[key]
        except KeyError:
            raise DataError(f"video {key!r} is not in store {self.path}") from None

    def indices_of_classes(self, classes: Iterable[str]) -> np.ndarray:
        wanted = set(classes)
        return np.array([i for i, lab in enumerate(self._index.labels) if lab in wanted], dtype=np.int64)

    @property
    def recorded_video_digests(self) -> list[str] | None:
        """Each video's feature digest as recorded when it was written (None for stores written before)."""
        return self._index.digests

    def compute_video_digests(self, block_bytes: int = 1 << 26) -> list[str]:
        """Each video's feature digest computed from the features now in the file (one pass in file order)."""
        if len(self) == 0:
            return []
        order = np.argsort(self._index.offsets, kind="stable")
        out: list[str] = [""] * len(self)
        feats = self._h5()["features"]
        row_bytes = 4 * max(self.dim, 1)
        j = 0
        while j < len(order):
            lo = int(self._index.offsets[order[j]])
            hi, k = lo, j
            while k < len(order) and (k == j or (hi - lo) * row_bytes < block_bytes):
                hi = max(hi, int(self._index.offsets[order[k]]) + int(self._index.rows[order[k]]))
                k += 1
            block = feats[lo:hi]
            for p in order[j:k]:
                a = int(self._index.offsets[p]) - lo
                out[p] = video_digest(block[a : a + int(self._index.rows[p])])
            j = k
        return out

    # ------------------------------------------------------------------ data
    def _h5(self) -> h5py.File:
        if self._file is None or self._pid != os.getpid():
            # No chunk cache: features are stored uncompressed, so HDF5 then reads just the rows asked for.
            # With its default 1 MiB cache it reads each whole ~1 MB chunk to return one 0.1 MB video, which made
            # random per-video reads (streamed training) 4-5x slower (benchmarks/bench_train_memory.py).
            self._file = h5py.File(self.path, "r", rdcc_nbytes=0)
            self._pid = os.getpid()
        return self._file

    def get(self, i: int) -> tuple[np.ndarray, int]:
        """Features (T, D) float32 and true length of the video at position ``i``."""
        off, n = int(self._index.offsets[i]), int(self._index.rows[i])
        return self._h5()["features"][off : off + n].astype(np.float32, copy=False), int(self._index.lengths[i])

    def read_many(self, indices: Sequence[int] | np.ndarray) -> list[np.ndarray]:
        """Feature arrays of several videos, read in file order with one pass over the rows."""
        idx = np.asarray(indices, dtype=np.int64)
        order = np.argsort(self._index.offsets[idx], kind="stable")
        feats = self._h5()["features"]
        out: list[np.ndarray | None] = [None] * len(idx)
        # Coalesce runs of adjacent videos into one slice read.
        j = 0
        while j < len(order):
            start_pos = idx[order[j]]
            lo = int(self._index.offsets[start_pos])
            hi = lo + int(self._index.rows[start_pos])
            run = [order[j]]
            while j + 1 < len(order):
                nxt = idx[order[j + 1]]
                n_off = int(self._index.offsets[nxt])
                if n_off != hi:
                    break
                hi = n_off + int(self._index.rows[nxt])
                run.append(order[j + 1])
                j += 1
            block = feats[lo:hi].astype(np.float32, copy=False)
            for r in run:
                p = idx[r]
                a = int(self._index.offsets[p]) - lo
                out[r] = block[a : a + int(self._index.rows[p])]
            j += 1
        return out  # type: ignore[return-value]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_file"] = None
        state["_pid"] = None
        return state

    def info(self) -> dict[str, Any]:
        lengths = self._index.lengths
        return {
            "path": str(self.path),
            "format": "action2vec",
            "videos": len(self),
            "failed": len(self._failures),
            "empty_keys": [i for i, k in enumerate(self._index.keys) if not k.strip()],
            "dim": self.dim,
            "classes": len(self.classes),
            "backbone": self.meta.get("backbone"),
            "layer": self.meta.get("layer"),
            "pca": self.meta.get("pca"),
            "random_weights": bool(self.meta.get("random_weights", False)),
            "steps_mean": float(lengths.mean()) if len(lengths) else 0.0,
            "steps_max": int(self._index.rows.max()) if len(lengths) else 0,
            "meta": self.meta,
        }


@dataclass
class PendingVideo:
    """A finished video waiting in a writer's buffer for the next part file."""

    key: str
    features: np.ndarray  # (T, D) float32
    length: int  # true steps
    label: str
    source: str  # JSON
    digest: str = ""  # video_digest(features)


@dataclass
class Failure:
    """A video that could not be read, with the reason; resumed runs skip it."""

    key: str
    reason: str
    source: str  # JSON


def _check_key(key: Any, path: Path) -> str:
    if not isinstance(key, str) or not key.strip():
        raise DataError(f"{path}: refusing to store a video under an empty key ({key!r}); every video needs a name")
    return key


class StoreWriter:
    """Append videos to a store, resumably and crash-safely (see module docstring).

    The writer holds the store's lock (:class:`~action2vec.store.lock.StoreLock`) from construction to
    ``close()`` (or the end of its ``with`` block): a second writer of the same store is refused.
    ``flush_every`` finished videos are written as one complete part file. ``close()`` flushes and, when
    ``merge`` is true, merges every part into the main file.
    """

    def __init__(
        self,
        path: str | Path,
        meta: dict[str, Any] | None = None,
        rank: int = 0,
        flush_every: int = 32,
        merge: bool = True,
    ) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise DataError(f"{self.path} is a directory; a feature store is a file (e.g. {self.path.name}.h5)")
        self.rank = rank
        self.flush_every = max(1, int(flush_every))
        self.merge = merge
        self.parts = parts_dir(self.path)
        self._lock = StoreLock(self.path).acquire()  # before reading or writing anything
        try:
            existing = _existing_meta(self.path, self.parts)
            if existing is not None and meta is not None:
                _check_meta_compatible(existing, meta, self.path)
            self._done = _done_keys(self.path, self.parts)
        except BaseException:
            self._lock.release()
            raise
        self.meta = dict(existing if existing is not None else (meta or {}))
        for k, v in (meta or {}).items():
            self.meta.setdefault(k, v)
        self._buf: list[PendingVideo] = []
        self._fail_buf: list[Failure] = []
        self._pca: dict[str, np.ndarray] | None = None
        self._seq = _next_seq(self.parts, rank)

    def done_keys(self) -> set[str]:
        """Keys already stored or recorded as failures (main file, parts and buffer)."""
        return set(self._done)

    def add(
        self,
        key: str,
        features: np.ndarray,
        length: int | None = None,
        label: str = "",
        source: dict[str, Any] | None = None,
    ) -> None:
        """Queue one finished video. ``features``: (T, D); ``length``: true steps (default T)."""
        _check_key(key, self.path)
        feats = np.asarray(features, dtype=np.float32)
        if feats.ndim != 2:
            raise DataError(f"video {key!r}: features must be (T, D), got shape {feats.shape}")
        dim = self.meta.get("dim")
        if dim is not None and int(dim) != feats.shape[1]:
            raise DataError(f"video {key!r}: feature dim {feats.shape[1]} differs from the store's {dim}")
        self.meta["dim"] = int(feats.shape[1])
        if not np.isfinite(feats).all():
            raise DataError(f"video {key!r}: features contain NaN or inf")
        n = int(feats.shape[0]) if length is None else int(length)
        if not 0 <= n <= feats.shape[0]:
            raise DataError(f"video {key!r}: length {n} outside 0..{feats.shape[0]}")
        self._buf.append(
            PendingVideo(key, feats, n, label or "", json.dumps(source or {}, default=str), video_digest(feats))
        )
        self._done.add(key)
        if len(self._buf) + len(self._fail_buf) >= self.flush_every:
            self.flush()

    def add_failure(self, key: str, reason: str, source: dict[str, Any] | None = None) -> None:
        """Record a video that could not be read, with its reason; it will be skipped on resume."""
        _check_key(key, self.path)
        self._fail_buf.append(Failure(key, reason, json.dumps(source or {}, default=str)))
        self._done.add(key)
        if len(self._buf) + len(self._fail_buf) >= self.flush_every:
            self.flush()

    def set_pca(self, mean: np.ndarray, components: np.ndarray, explained_variance: np.ndarray) -> None:
        self._pca = {
            "mean": np.asarray(mean, np.float32),
            "components": np.asarray(components, np.float32),
            "explained_variance": np.asarray(explained_variance, np.float32),
        }

    def flush(self) -> Path | None:
        """Write the buffered videos as one complete part file."""
        if not self._buf and not self._fail_buf and self._pca is None:
            return None
        self.parts.mkdir(parents=True, exist_ok=True)
        name = f"{self.rank:05d}-{self._seq:08d}.h5"
        tmp = self.parts / (name + ".tmp")
        dim = int(self.meta.get("dim", 0))
        with h5py.File(tmp, "w") as f:
            feats = _create_features(f, sum(b.features.shape[0] for b in self._buf), dim)
            cursor = 0
            for b in self._buf:  # video by video: a concatenated copy doubled the memory and took 3x as long
                feats[cursor : cursor + b.features.shape[0]] = b.features
                cursor += b.features.shape[0]
            _write_tables(f, self.meta, _index_from(self._buf), list(self._fail_buf), self._pca)
        os.replace(tmp, self.parts / name)
        self._seq += 1
        self._buf.clear()
        self._fail_buf.clear()
        return self.parts / name

    def close(self) -> None:
        """Flush, merge when asked, and give the store's lock up."""
        try:
            self.flush()
            if self.merge:
                merge_parts(self.path)
        finally:
            _remove_if_empty(self.parts)
            self._lock.release()

    def __enter__(self) -> "StoreWriter":
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None:
            self.close()
            return
        try:
            self.flush()  # keep finished work; the next run resumes
        finally:
            _remove_if_empty(self.parts)
            self._lock.release()


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()  # only succeeds when empty: a failed run leaves no empty folder behind
    except OSError:
        pass


def _index_from(buf: list[PendingVideo]) -> StoreIndex:
    rows = np.array([b.features.shape[0] for b in buf], dtype=np.int32)
    offsets = np.concatenate([[0], np.cumsum(rows)[:-1]]).astype(np.int64) if len(buf) else np.zeros(0, np.int64)
    return StoreIndex(
        keys=[b.key for b in buf],
        offsets=offsets,
        rows=rows,
        lengths=np.array([b.length for b in buf], dtype=np.int32),
        labels=[b.label for b in buf],
        sources=[b.source for b in buf],
        digests=[b.digest for b in buf],
    )


def _create_features(f: h5py.File, rows: int, dim: int) -> h5py.Dataset:
    """The (rows, D) float32 feature dataset, chunked in ~1 MiB blocks of whole rows."""
    chunk_rows = max(1, min(max(rows, 1), (1 << 20) // max(4 * dim, 1)))
    return f.create_dataset(
        "features",
        shape=(rows, dim),
        dtype=np.float32,
        chunks=(chunk_rows, max(dim, 1)) if dim else None,
        maxshape=(None, dim),
    )


def _write_tables(
    f: h5py.File,
    meta: dict[str, Any],
    index: StoreIndex,
    failures: list[Failure],
    pca: dict[str, np.ndarray] | None,
) -> None:
    """Header attributes, the index, the failures and the optional PCA of a store file; with every video's
    digest, the content digest too."""
    f.attrs["format"] = FORMAT
    f.attrs["version"] = VERSION
    f.attrs["meta"] = json.dumps(meta, default=str)
    if index.digests is not None:
        f.attrs["features_digest"] = features_digest(index.digests)
        f.attrs["content_digest"] = content_digest(
            json.loads(f.attrs["meta"]), index.keys, index.labels, index.lengths, f.attrs["features_digest"], pca
        )
    g = f.create_group("index")
    g.create_dataset("key", data=np.array(index.keys, dtype=object), dtype=_STR)
    g.create_dataset("offset", data=index.offsets.astype(np.int64))
    g.create_dataset("rows", data=index.rows.astype(np.int32))
    g.create_dataset("length", data=index.lengths.astype(np.int32))
    g.create_dataset("label", data=np.array(index.labels, dtype=object), dtype=_STR)
    g.create_dataset("source", data=np.array(index.sources, dtype=object), dtype=_STR)
    if index.digests is not None:
        g.create_dataset("digest", data=np.array(index.digests, dtype=object), dtype=_STR)
    fg = f.create_group("failures")
    for name in ("key", "reason", "source"):
        fg.create_dataset(name, data=np.array([getattr(x, name) for x in failures], dtype=object), dtype=_STR)
    if pca is not None:
        pg = f.create_group("pca")
        for k, v in pca.items():
            pg.create_dataset(k, data=v)


def _part_files(parts: Path) -> list[Path]:
    return sorted(p for p in parts.glob("*.h5")) if parts.is_dir() else []


def _next_seq(parts: Path, rank: int) -> int:
    seqs = [int(m.group(1)) for p in _part_files(parts) if (m := re.fullmatch(rf"{rank:05d}-(\d+)\.h5", p.name))]
    return max(seqs, default=-1) + 1


def _existing_meta(path: Path, parts: Path) -> dict[str, Any] | None:
    for p in ([path] if path.is_file() else []) + _part_files(parts):
        with _reading(p) as f:
            return _read_meta(f, p)
    return None


# what decides a video's features (store metadata, not config options): a resume that changes one of them would mix
# two kinds of features in a store
_IDENTITY_KEYS = (
    "backbone",
    "layer",
    "clip_len",
    "stride",
    "fps",
    "duration",
    "pca",
    "random_weights",
    "weights_sha256",
    "preprocess",
    "decoder",
    "frame_size",
    "short_side",
    "amp",
    "pca_fit_keys_sha256",
)


def _features_record(meta: dict[str, Any], keys: Iterable[str]) -> Provenance:
    return Provenance("store", settings={k: meta[k] for k in keys})


def _check_meta_compatible(old: dict[str, Any], new: dict[str, Any], path: Path) -> None:
    """Refuse to add features made otherwise to a store (the keys both record are compared)."""
    shared = [k for k in _IDENTITY_KEYS if k in old and k in new]
    decision = decide(_features_record(old, shared), _features_record(new, shared), finished=False)
    if decision.action == "refuse":
        raise DataError(
            f"{path} holds features made otherwise ({decision.reason}); use another --out or the same settings"
        )


def _done_keys(path: Path, parts: Path) -> set[str]:
    done: set[str] = set()
    for p in ([path] if path.is_file() else []) + _part_files(parts):
        with _reading(p) as f:
            done.update(_read_index(f).keys)
            done.update(x.key for x in _read_failures(f))
    return done


@dataclass
class _MergePlan:
    """What a merge copies: from each file, the index positions of the videos it keeps."""

    sources: list[tuple[Path, StoreIndex, list[int]]]
    meta: dict[str, Any]
    dim: int
    rows: int  # feature rows of the kept videos
    failures: list[Failure]
    pca: dict[str, np.ndarray] | None
    dropped: list[str]  # unusable keys (empty) left out


def _plan_merge(files: list[Path]) -> _MergePlan:
    """Read every file's index: the first copy of each key wins, a later success beats a failure."""
    meta: dict[str, Any] = {}
    seen: set[str] = set()
    plan = _MergePlan([], {}, 0, 0, [], None, [])
    failures: dict[str, Failure] = {}
    for p in files:
        with _reading(p) as f:
            m = _read_meta(f, p)
            meta = {**m, **meta} if meta else m
            idx = _read_index(f)
            if "features" in f and f["features"].shape[0]:
                plan.dim = plan.dim or int(f["features"].shape[1])
            take = []
            for i, k in enumerate(idx.keys):
                if not k.strip():
                    plan.dropped.append(k)
                elif k not in seen:
                    seen.add(k)
                    take.append(i)
                    plan.rows += int(idx.rows[i])
            plan.sources.append((p, idx, take))
            for fail in _read_failures(f):
                if fail.key.strip():
                    failures.setdefault(fail.key, fail)
            if "pca" in f:
                plan.pca = {k: f["pca"][k][()] for k in f["pca"]}
    plan.dim = plan.dim or int(meta.get("dim", 0))
    plan.meta = {**meta, "dim": plan.dim}
    plan.failures = [v for k, v in failures.items() if k not in seen]
    return plan


def _write_merged(out: h5py.File, plan: _MergePlan) -> StoreIndex:
    """Copy the kept videos' rows into ``out`` and write its tables; returns the new index."""
    out_feats = _create_features(out, plan.rows, plan.dim)
    keys: list[str] = []
    labels: list[str] = []
    sources: list[str] = []
    rows: list[int] = []
    lengths: list[int] = []
    offsets: list[int] = []
    digests: list[str] = []
    cursor = 0
    for p, idx, take in plan.sources:
        if not take:
            continue
        with h5py.File(p, "r") as f:  # read (and so checked) by _plan_merge; errors here are the output's
            src = f["features"]
            for i in take:
                o, n = int(idx.offsets[i]), int(idx.rows[i])
                rows_i = src[o : o + n]
                out_feats[cursor : cursor + n] = rows_i
                digests.append(video_digest(rows_i))  # of the rows copied: a part file's record is not trusted
                keys.append(idx.keys[i])
                labels.append(idx.labels[i])
                sources.append(idx.sources[i])
                rows.append(n)
                lengths.append(int(idx.lengths[i]))
                offsets.append(cursor)
                cursor += n
    index = StoreIndex(
        keys,
        np.array(offsets, np.int64),
        np.array(rows, np.int32),
        np.array(lengths, np.int32),
        labels,
        sources,
        digests,
    )
    _write_tables(out, plan.meta, index, plan.failures, plan.pca)
    return index


def _remove_parts(path: Path, files: list[Path]) -> None:
    """Delete the merged part files, stale temporary files of dead writers, and the empty parts folder."""
    parts = parts_dir(path)
    for p in files:
        if p != path:
            p.unlink()
    for stale in parts.glob("*.tmp") if parts.is_dir() else []:
        stale.unlink()  # under the lock no writer is alive to finish it
    _remove_if_empty(parts)


def _has_empty_keys(path: Path) -> bool:
    with _reading(path) as f:
        return any(not k.strip() for k in _read_index(f).keys)


def merge_parts(path: str | Path) -> Path:
    """Fold every part file of store ``path`` into the main file (atomically) and delete the parts.

    A video key present twice keeps its first occurrence (main file first, then parts in name order); a
    key that failed once and succeeded later counts as a success. Entries with an empty key (left by
    concurrent writers before stores were locked) are dropped with a warning. Takes the store's lock.
    """
    path = Path(path)
    with StoreLock(path):
        files = ([path] if path.is_file() else []) + _part_files(parts_dir(path))
        if not files:
            raise DataError(f"nothing to merge: {path} and {parts_dir(path)} hold no videos")
        if files == [path] and not _has_empty_keys(path):
            _remove_parts(path, files)
            return path
        plan = _plan_merge(files)
        tmp = path.with_name(path.name + ".merge.tmp")
        with h5py.File(tmp, "w") as out:
            index = _write_merged(out, plan)
            features = str(out.attrs["features_digest"])
        os.replace(tmp, path)
        record_digest(path, features)  # the file as merged: its readers need not hash it again
        _remove_parts(path, files)
    if plan.dropped:
        log.warning(
            "%s: dropped %d entr%s with an empty key (left by concurrent writers of an older version)",
            path,
            len(plan.dropped),
            "y" if len(plan.dropped) == 1 else "ies",
        )
    log.info(
        "merged %d part file(s) into %s (%d videos, %d failures)",
        len(files) - int(files[0] == path),
        path,
        len(index.keys),
        len(plan.failures),
    )
    return path


def write_store(
    path: str | Path,
    items: Iterable[tuple[str, np.ndarray, int, str]],
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write a complete store from ``(key, features (T, D), length, label)`` items (tests, converters)."""
    path = Path(path)
    with StoreWriter(path, meta=meta, flush_every=1 << 30) as w:
        for key, feats, length, label in items:
            w.add(key, feats, length=length, label=label)
    return path
