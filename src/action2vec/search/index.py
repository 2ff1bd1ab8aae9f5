"""A nearest-video index over unit embeddings: exact cosine search, or an approximate FAISS index.

    index = build_index(embeddings, keys, classes, "runs/x/index", model_fingerprint=fp)
    index = VideoIndex.open("runs/x/index", model_fingerprint=fp)   # refuses an index of another model
    hits = index.search(model.encode_text(["play violin"]), k=10)[0]
    hits[0].key, hits[0].class_, hits[0].score                    # score: cosine similarity

The index is a folder; nothing in it is pickled::

    INDEX/index.json      what made it: model fingerprint and folder, store (its video count and content
                          digest), dim, kind and parameters, its provenance record (action2vec.provenance),
                          byte size of every other file (written last)
    INDEX/vectors.npy     (N, E) float32 unit embeddings, row i is video i (read memory-mapped)
    INDEX/videos.json     {"keys": [...], "classes": [... or null]}
    INDEX/faiss.index     the approximate index in FAISS's own binary format (approximate kinds only)

``kind="auto"`` searches exactly up to ``exact_below`` videos and builds an IVF-Flat index above (at
1 M vectors: recall@10 0.985 at 0.96 ms a query, built 11 times faster than HNSW, whose graph only just
reaches 0.95); the benchmark behind these defaults is in docs/search.md.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np

from action2vec import __version__
from action2vec.config import check_ranges, option, to_dict
from action2vec.errors import ConfigError, DataError
from action2vec.extras import require
from action2vec.io import read_json, save_npy, write_json
from action2vec.linalg import l2_normalize

__all__ = [
    "SearchHit",
    "IndexSettings",
    "IndexInfo",
    "VideoIndex",
    "build_index",
    "check_build",
    "choose_kind",
    "KINDS",
    "INDEX_FORMAT",
]

log = logging.getLogger(__name__)

INDEX_FORMAT = "action2vec-index"
INDEX_VERSION = 1
KINDS = ("exact", "ivf_flat", "ivf_pq", "hnsw")  # what ``IndexSettings.kind`` may name besides "auto"
_SCORE_BLOCK = 1 << 24  # exact search: scores computed at most this many (query, video) pairs at a time


@dataclass(frozen=True)
class SearchHit:
    """One result: a video of the index, its class (None when the store has no label) and its cosine."""

    key: str
    class_: str | None
    score: float

    def to_json(self) -> dict[str, Any]:
        """``{"key": ..., "class": ..., "score": ...}``"""
        return {"key": self.key, "class": self.class_, "score": self.score}


@dataclass
class IndexSettings:
    """How an index is built and searched; every field is recorded in the index."""

    kind: Literal["auto", "exact", "ivf_flat", "ivf_pq", "hnsw"] = option(
        "auto", "auto: exact up to exact_below videos, ivf_flat above; or exact, ivf_flat, ivf_pq, hnsw"
    )
    exact_below: int = option(50_000, "kind=auto searches exactly up to this many videos (docs/search.md)", ge=0)
    hnsw_m: int = option(32, "hnsw: graph neighbours per vector (memory: 8*M bytes per vector)", ge=4, le=256)
    ef_construction: int = option(80, "hnsw: candidate list length while building", ge=8)
    ef_search: int = option(192, "hnsw: candidate list length while searching (higher: better recall, slower)", ge=1)
    nlist: int = option(0, "ivf: number of inverted lists (0: sqrt(N), at most N/39)", ge=0)
    nprobe: int = option(16, "ivf: lists visited per query (higher: better recall, slower)", ge=1)
    pq_bytes: int = option(
        0,
        "ivf_pq: bytes per vector code; the dim must divide by it (0: the largest "
        "divisor of the dim that leaves sub-vectors of >= 8 dims, 30 for 300-d)",
        ge=0,
    )
    rerank: int = option(10, "ivf_pq: re-rank k*rerank candidates by their exact cosine", ge=1)
    train_size: int = option(100_000, "ivf: at most this many vectors train the coarse quantiser", ge=1)
    seed: int = option(0, "seed of the training sample")


@dataclass
class IndexInfo:
    """What an index holds and what made it (``INDEX/index.json``)."""

    kind: str  # one of KINDS
    count: int  # N videos
    dim: int  # E
    settings: dict[str, Any]  # IndexSettings as given (kind resolved): what `index` compares to stay up to date
    params: dict[str, Any] = field(default_factory=dict)  # what the build made of them (nlist, pq_bytes, ...)
    model_fingerprint: str = ""  # see search.embed.model_fingerprint
    model_dir: str = ""
    store_path: str = ""
    store_videos: int = 0
    store_digest: str = ""  # the store's content (action2vec.store.store_digest): a rewritten store is not reused
    provenance: dict[str, Any] = field(default_factory=dict)  # what made it (action2vec.provenance), JSON form
    created: str = ""
    action2vec_version: str = __version__
    files: dict[str, int] = field(default_factory=dict)  # file name -> bytes

    def to_json(self) -> dict[str, Any]:
        return {"format": INDEX_FORMAT, "version": INDEX_VERSION, "metric": "cosine", **dataclasses.asdict(self)}


def choose_kind(count: int, settings: IndexSettings) -> str:
    """The kind an index of ``count`` videos gets: ``settings.kind``, or for "auto" exact / ivf_flat by size."""
    if settings.kind != "auto":
        return settings.kind
    return "exact" if count <= settings.exact_below else "ivf_flat"


def _faiss() -> Any:
    return require("faiss", "an approximate index (index.kind other than 'exact')")


def _pq_bytes(dim: int, wanted: int) -> int:
    """Bytes per IVF-PQ code: ``wanted``, or dim/10-ish (sub-vectors of at least 8 dims train fast and well)."""
    if wanted:
        if dim % wanted:
            raise ConfigError(f"config key 'index.pq_bytes': {wanted} does not divide the embedding dim {dim}")
        return wanted
    return next(
        (
            m
            for m in (64, 60, 50, 48, 40, 32, 30, 25, 24, 20, 16, 15, 12, 10, 8, 6, 5, 4, 3, 2)
            if dim % m == 0 and dim // m >= 8
        ),
        1,
    )


def check_build(count: int, dim: int, settings: IndexSettings) -> str:
    """The kind an index of ``count`` ``dim``-d vectors gets, after checking it can be built: ConfigError
    (one line) for settings out of range, FAISS missing for an approximate kind, or ``pq_bytes`` that does
    not divide ``dim``. Call it before long work (embedding) starts."""
    check_ranges(settings, "index")
    kind = choose_kind(count, settings)
    if kind != "exact":
        _faiss()
    if kind == "ivf_pq":
        _pq_bytes(dim, settings.pq_bytes)
    return kind


def _build_faiss(vectors: np.ndarray, kind: str, s: IndexSettings) -> tuple[Any, dict[str, Any]]:
    """A FAISS index of ``kind`` over unit rows (N, E) with inner-product metric, and its resolved params."""
    faiss = _faiss()
    n, dim = vectors.shape
    ip = faiss.METRIC_INNER_PRODUCT
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, s.hnsw_m, ip)
        index.hnsw.efConstruction = s.ef_construction
        index.hnsw.efSearch = s.ef_search
        index.add(vectors)
        return index, {"hnsw_m": s.hnsw_m, "ef_construction": s.ef_construction, "ef_search": s.ef_search}
    nlist = s.nlist or int(math.sqrt(n))
    nlist = max(1, min(nlist, n // 39))  # FAISS wants >= 39 training points per list
    quantizer = faiss.IndexFlatIP(dim)
    params: dict[str, Any] = {"nlist": nlist, "nprobe": s.nprobe, "train_size": s.train_size}
    if kind == "ivf_flat":
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, ip)
    else:
        m = _pq_bytes(dim, s.pq_bytes)
        index = faiss.IndexIVFPQ(quantizer, dim, nlist, m, 8, ip)
        params.update(pq_bytes=m, rerank=s.rerank)
    sample = vectors
    if n > s.train_size:
        sample = vectors[np.sort(np.random.default_rng(s.seed).choice(n, s.train_size, replace=False))]
    index.train(np.ascontiguousarray(sample, dtype=np.float32))
    index.add(vectors)
    index.nprobe = s.nprobe
    return index, params  # FAISS's Python wrapper keeps the quantiser alive with the index


def build_index(
    embeddings: np.ndarray,
    keys: Sequence[str],
    classes: Sequence[str | None],
    out_dir: str | Path,
    *,
    settings: IndexSettings | None = None,
    model_fingerprint: str = "",
    model_dir: str | Path = "",
    store_path: str | Path = "",
    store_videos: int | None = None,
    store_digest: str = "",
    provenance: dict[str, Any] | None = None,
) -> "VideoIndex":
    """Write an index of ``embeddings`` (N, E) for videos ``keys`` (N) of ``classes`` (N; "" or None: unknown).

    Rows are L2-normalised here. ``out_dir`` is created; an index already there is replaced. ``provenance``:
    the JSON form of the record of what made it (``index_store`` writes one). Returns the opened index.
    """
    settings = settings or IndexSettings()
    emb = np.asarray(embeddings)
    if emb.ndim != 2 or emb.shape[0] == 0 or emb.shape[1] == 0:
        raise DataError(f"embeddings must be a non-empty (N, E) array, got shape {emb.shape}")
    keys = [str(k) for k in keys]
    classes = [c if c else None for c in classes]
    if len(keys) != len(emb) or len(classes) != len(emb):
        raise DataError(f"{len(emb)} embeddings but {len(keys)} keys and {len(classes)} classes")
    if len(set(keys)) != len(keys):
        raise DataError("video keys are not unique")
    if not np.isfinite(emb).all():
        raise DataError("embeddings contain NaN or inf")
    kind = check_build(len(emb), emb.shape[1], settings)
    vectors = l2_normalize(emb)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=out))  # the index there stays whole until the end
    try:
        params: dict[str, Any] = {}
        if kind != "exact":
            log.info("building a %s index of %d vectors", kind, len(vectors))
            index, params = _build_faiss(vectors, kind, settings)
            _faiss().write_index(index, str(staging / "faiss.index"))
        save_npy(staging / "vectors.npy", vectors)
        write_json({"keys": keys, "classes": classes}, staging / "videos.json")
        names = ["vectors.npy", "videos.json"] + (["faiss.index"] if kind != "exact" else [])
        info = IndexInfo(
            kind=kind,
            count=len(vectors),
            dim=vectors.shape[1],
            settings={**to_dict(settings), "kind": kind},
            params=params,
            model_fingerprint=model_fingerprint,
            model_dir=str(model_dir),
            store_path=str(store_path),
            store_videos=len(keys) if store_videos is None else int(store_videos),
            store_digest=store_digest,
            provenance=dict(provenance or {}),
            created=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            files={name: (staging / name).stat().st_size for name in names},
        )
        _replace_index(staging, out, names, info)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("wrote %s index of %d videos to %s", kind, len(vectors), out)
    return VideoIndex.open(out, model_fingerprint=model_fingerprint or None)


def _replace_index(staging: Path, out: Path, names: list[str], info: IndexInfo) -> None:
    """Move the finished files of ``staging`` over the index in ``out``; index.json (what makes an index
    complete) goes last, and a ``faiss.index`` the new index does not have is removed."""
    (out / "index.json").unlink(missing_ok=True)
    if "faiss.index" not in names:
        (out / "faiss.index").unlink(missing_ok=True)
    for name in names:
        os.replace(staging / name, out / name)
    write_json(info.to_json(), staging / "index.json")
    os.replace(staging / "index.json", out / "index.json")


class VideoIndex:
    """An opened index: ``search`` query vectors, look up a video's vector, list keys and classes."""

    def __init__(
        self,
        path: Path,
        info: IndexInfo,
        vectors: np.ndarray,
        keys: list[str],
        classes: list[str | None],
        ann: Any = None,
    ) -> None:
        self.path = path
        self.info = info
        self.vectors = vectors  # (N, E) float32, memory-mapped
        self.keys = keys
        self.classes = classes
        self._ann = ann
        self._pos = {k: i for i, k in enumerate(keys)}

    def __len__(self) -> int:
        return self.info.count

    @property
    def dim(self) -> int:
        return self.info.dim

    @property
    def kind(self) -> str:
        return self.info.kind

    @classmethod
    def open(cls, path: str | Path, model_fingerprint: str | None = None) -> "VideoIndex":
        """Open the index folder ``path``; DataError (one line naming the file) when it is incomplete,
        corrupt, or (with ``model_fingerprint``) made by another model."""
        path = Path(path)
        info = _read_info(path)
        if model_fingerprint is not None and info.model_fingerprint != model_fingerprint:
            raise DataError(
                f"{path / 'index.json'}: made by another model (fingerprint "
                f"{info.model_fingerprint[:12] or 'none'}, this model {model_fingerprint[:12]}); "
                f"rebuild it with `action2vec index`"
            )
        vectors = _read_vectors(path / "vectors.npy", info)
        videos = read_json(path / "videos.json", "index video list")
        keys, classes = (videos.get(n) if isinstance(videos, dict) else None for n in ("keys", "classes"))
        if not isinstance(keys, list) or not isinstance(classes, list) or not len(keys) == len(classes) == info.count:
            raise DataError(f"{path / 'videos.json'}: expected {info.count} keys and classes")
        ann = _read_faiss(path / "faiss.index", info) if info.kind != "exact" else None
        return cls(path, info, vectors, [str(k) for k in keys], classes, ann)

    def set_search_params(self, *, nprobe: int | None = None, ef_search: int | None = None) -> None:
        """Trade recall for speed on an approximate index (ivf: ``nprobe``, hnsw: ``ef_search``)."""
        for name, value in (("nprobe", nprobe), ("ef_search", ef_search)):
            if value is not None and value < 1:
                raise ConfigError(f"{name}: {value} is out of range (must be >= 1)")
        if self._ann is None:
            return
        if nprobe is not None and hasattr(self._ann, "nprobe"):
            self._ann.nprobe = nprobe
        if ef_search is not None and hasattr(self._ann, "hnsw"):
            self._ann.hnsw.efSearch = ef_search

    def search(self, queries: np.ndarray, k: int = 10) -> list[list[SearchHit]]:
        """The ``k`` videos of highest cosine for each query row (Q, E), best first; queries are normalised."""
        q = self._queries(queries)
        if k < 1:
            raise ConfigError(f"k: {k} is out of range (must be >= 1)")
        k = min(k, len(self))
        idx, scores = self._exact(q, k) if self._ann is None else self._approximate(q, k)
        return [
            [SearchHit(self.keys[i], self.classes[i], float(s)) for i, s in zip(row, srow) if i >= 0]
            for row, srow in zip(idx, scores)
        ]

    def vector(self, key: str) -> np.ndarray:
        """The stored unit embedding (E,) of video ``key``."""
        if key not in self._pos:
            raise DataError(f"{self.path}: video {key!r} is not in the index")
        return np.array(self.vectors[self._pos[key]])

    def search_key(self, key: str, k: int = 10) -> list[SearchHit]:
        """The ``k`` videos nearest to video ``key`` of the index, the video itself left out."""
        hits = self.search(self.vector(key)[None], k + 1)[0]
        return [h for h in hits if h.key != key][:k]

    def _queries(self, queries: np.ndarray) -> np.ndarray:
        q = np.asarray(queries, dtype=np.float32)
        q = q[None] if q.ndim == 1 else q
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise DataError(f"{self.path}: queries of shape {q.shape} do not match the index's {self.dim}-d vectors")
        if not np.isfinite(q).all():
            raise DataError("query vectors contain NaN or inf")
        return l2_normalize(q)

    def _exact(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k by a full scan: (Q, k) positions and cosines."""
        n = len(self)
        step = max(1, _SCORE_BLOCK // n)
        idx = np.empty((len(q), k), dtype=np.int64)
        out = np.empty((len(q), k), dtype=np.float32)
        for start in range(0, len(q), step):
            scores = q[start : start + step] @ self.vectors.T  # (B, N)
            top = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < n else np.tile(np.arange(n), (len(scores), 1))
            top_scores = np.take_along_axis(scores, top, axis=1)
            order = np.lexsort((top, -top_scores), axis=1)  # best first, ties by position
            idx[start : start + step] = np.take_along_axis(top, order, axis=1)
            out[start : start + step] = np.take_along_axis(top_scores, order, axis=1)
        return idx, out

    def _approximate(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k from the FAISS index; IVF-PQ candidates (k * rerank) are re-ranked by exact cosine."""
        if self.kind != "ivf_pq":
            scores, idx = self._ann.search(q, k)
            return idx, scores
        wide = min(len(self), k * int(self.info.params.get("rerank", 1)))
        _, cand = self._ann.search(q, wide)  # (Q, wide), -1 where fewer were found
        idx = np.full((len(q), k), -1, dtype=np.int64)
        out = np.full((len(q), k), -np.inf, dtype=np.float32)
        for i, row in enumerate(cand):
            row = row[row >= 0]
            exact = self.vectors[np.sort(row)] @ q[i]
            order = np.lexsort((np.sort(row), -exact))[:k]
            idx[i, : len(order)] = np.sort(row)[order]
            out[i, : len(order)] = exact[order]
        return idx, out


def _read_info(path: Path) -> IndexInfo:
    meta_path = path / "index.json"
    if not path.is_dir():
        raise DataError(f"{path}: no search index here (run `action2vec index` first)")
    if not meta_path.is_file():
        raise DataError(f"{path}: not a complete search index (no index.json; rerun `action2vec index`)")
    doc = read_json(meta_path, "search index description")
    if not isinstance(doc, dict) or doc.get("format") != INDEX_FORMAT:
        raise DataError(f"{meta_path}: not an action2vec search index")
    if doc.get("version") != INDEX_VERSION:
        raise DataError(
            f"{meta_path}: index format version {doc.get('version')} (this action2vec reads "
            f"{INDEX_VERSION}); rebuild it with `action2vec index`"
        )
    names = {f.name for f in dataclasses.fields(IndexInfo)}
    try:
        info = IndexInfo(**{k: v for k, v in doc.items() if k in names})
    except TypeError as exc:
        raise DataError(f"{meta_path}: incomplete ({exc})") from None
    if info.kind not in KINDS or info.count < 1 or info.dim < 1:
        raise DataError(f"{meta_path}: bad kind/count/dim ({info.kind!r}, {info.count}, {info.dim})")
    for name, size in info.files.items():
        file = path / name
        if not file.is_file():
            raise DataError(f"{file}: missing (the index is incomplete; rebuild it with `action2vec index`)")
        if file.stat().st_size != size:
            raise DataError(
                f"{file}: {file.stat().st_size} bytes, index.json records {size} (truncated or "
                f"replaced; rebuild it with `action2vec index`)"
            )
    return info


def _read_vectors(file: Path, info: IndexInfo) -> np.ndarray:
    try:
        vectors = np.load(file, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{file}: not a readable vector file ({exc})") from None
    if vectors.dtype != np.float32 or vectors.shape != (info.count, info.dim):
        raise DataError(
            f"{file}: {vectors.dtype} {vectors.shape}, index.json records float32 ({info.count}, {info.dim})"
        )
    return vectors


def _read_faiss(file: Path, info: IndexInfo) -> Any:
    faiss = _faiss()
    try:
        ann = faiss.read_index(str(file))
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
        raise DataError(f"{file}: not a readable FAISS index ({first})") from None
    if ann.ntotal != info.count or ann.d != info.dim:
        raise DataError(f"{file}: holds {ann.ntotal} {ann.d}-d vectors, index.json records {info.count} {info.dim}-d")
    s = info.params
    if "nprobe" in s and hasattr(ann, "nprobe"):
        ann.nprobe = int(s["nprobe"])
    if "ef_search" in s and hasattr(ann, "hnsw"):
        ann.hnsw.efSearch = int(s["ef_search"])
    return ann
