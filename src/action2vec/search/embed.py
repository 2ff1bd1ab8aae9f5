"""Embed every video of a store with a model, resumably, and index the result.

    result = index_store("runs/x/model", "features.h5", "runs/x/index")   # -> VideoIndex

Embeddings are written in chunks of ``chunk_videos`` videos to ``INDEX/chunks/`` (each chunk a
``.npy`` file written under a temporary name and renamed when complete, beside a ``plan.json`` naming
the model fingerprint, the store with its content digest (``action2vec.store.store_digest``), and the chunk size). An interrupted run keeps its finished chunks and
the next run with the same model and store embeds only the rest; chunks of another model or store are
discarded. The folder is removed once the index is written.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from action2vec.config import check_ranges, option
from action2vec.errors import DataError
from action2vec.io import hash_file, read_json, save_npy, write_json
from action2vec.model_folder import CONFIG_FILE, PCA_FILE, WEIGHTS_FILE
from action2vec.provenance import Input, Provenance, decide, split_settings
from action2vec.search.index import IndexSettings, VideoIndex, build_index, check_build, choose_kind
from action2vec.store import Store, StoreLock, store_digest

if TYPE_CHECKING:
    from action2vec.inference import Action2Vec

__all__ = [
    "EmbedSettings",
    "model_fingerprint",
    "embed_store",
    "index_store",
    "index_provenance",
    "check_store_unchanged",
    "stale_reason",
    "MODEL_FILES",
]

log = logging.getLogger(__name__)


@dataclass
class EmbedSettings:
    """How the videos of a store are embedded for an index."""

    batch_size: int = option(256, "videos per forward pass", ge=1, execution=True)
    chunk_videos: int = option(
        4096, "videos per chunk kept on disk (an interrupted run resumes by chunk)", ge=1, execution=True
    )
    device: str = option("cpu", "torch device of the model", nonempty=True, execution=True)
    progress: bool = option(True, "show a progress bar", execution=True)


MODEL_FILES = (CONFIG_FILE, WEIGHTS_FILE, PCA_FILE)  # what decides a video's embedding


def model_fingerprint(model_dir: str | Path) -> str:
    """SHA-256 (hex) over the files of a model folder that decide its video embeddings (``MODEL_FILES``)."""
    model_dir = Path(model_dir)
    if not (model_dir / WEIGHTS_FILE).is_file():
        raise DataError(f"{model_dir}: not a model folder (no {WEIGHTS_FILE})")
    digest = hashlib.sha256()
    for name in MODEL_FILES:
        file = model_dir / name
        if file.is_file():
            digest.update(name.encode() + b"\0")
            hash_file(file, digest)
    return digest.hexdigest()


def _chunk_plan(chunk_dir: Path, plan: Provenance) -> None:
    """Keep ``chunk_dir``'s chunks when they were made under ``plan``; otherwise start it empty."""
    plan_file = chunk_dir / "plan.json"
    if plan_file.is_file():
        try:
            old = Provenance.from_json(read_json(plan_file, "embedding plan"), str(plan_file))
        except DataError:
            old = None  # damaged, or a plan from before provenance records
        decision = decide(old, plan, finished=False, on_change="rebuild", unrecorded="rebuild")
        if decision.same:
            return
        log.warning("%s holds chunks made otherwise (%s); discarding them", chunk_dir, decision.reason)
        shutil.rmtree(chunk_dir)
    chunk_dir.mkdir(parents=True, exist_ok=True)
    write_json(plan.to_json(), plan_file)


def embed_store(
    model: Action2Vec,
    store: Store,
    chunk_dir: str | Path,
    *,
    fingerprint: str,
    settings: EmbedSettings | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Unit embeddings (N, E) of every video of ``store`` with ``model`` (an ``Action2Vec``), resumably.

    Finished chunks are kept in ``chunk_dir`` (see the module docstring); ``on_chunk(start)`` is called
    after each newly written chunk (tests use it to simulate a crash).
    """
    from tqdm import tqdm

    settings = settings or EmbedSettings()
    check_ranges(settings)
    chunk_videos = settings.chunk_videos
    chunk_dir = Path(chunk_dir)
    n = len(store)
    plan = Provenance(
        "embedding chunks",
        {"model": Input(fingerprint), "store": Input(store_digest(store), str(Path(store.path).resolve()))},
        {"videos": n, "chunk_videos": chunk_videos, "dim": model.embed_dim},
    )
    _chunk_plan(chunk_dir, plan)
    starts = list(range(0, n, chunk_videos))
    done = {s for s in starts if _chunk_ok(chunk_dir, s, min(chunk_videos, n - s), model.embed_dim)}
    if done:
        log.info("resuming: %d of %d chunks embedded before", len(done), len(starts))
    bar = tqdm(
        total=n,
        initial=sum(min(chunk_videos, n - s) for s in done),
        unit="video",
        disable=not settings.progress,
        desc="embedding",
    )
    for start in starts:
        if start in done:
            continue
        idx = np.arange(start, min(start + chunk_videos, n))
        emb = model.encode_store(store, idx, batch_size=settings.batch_size)
        file = _chunk_file(chunk_dir, start)
        tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
        save_npy(tmp, emb.astype(np.float32, copy=False))
        os.replace(tmp, file)
        bar.update(len(idx))
        if on_chunk is not None:
            on_chunk(start)
    bar.close()
    out = np.empty((n, model.embed_dim), dtype=np.float32)
    for start in starts:
        out[start : start + chunk_videos] = np.load(_chunk_file(chunk_dir, start), allow_pickle=False)
    return out


def _chunk_file(chunk_dir: Path, start: int) -> Path:
    return chunk_dir / f"chunk-{start:010d}.npy"


def _chunk_ok(chunk_dir: Path, start: int, rows: int, dim: int) -> bool:
    file = _chunk_file(chunk_dir, start)
    if not file.is_file():
        return False
    try:
        arr = np.load(file, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        return False
    return arr.shape == (rows, dim) and arr.dtype == np.float32


def index_store(
    model_dir: str | Path,
    store_path: str | Path,
    out_dir: str | Path,
    *,
    settings: IndexSettings | None = None,
    embed: EmbedSettings | None = None,
    force: bool = False,
    on_chunk: Callable[[int], None] | None = None,
) -> VideoIndex:
    """Embed every video of the store at ``store_path`` with the model in ``model_dir`` and index them.

    An index in ``out_dir`` made by the same model from the same store with the same settings is kept
    as it is (unless ``force``); an interrupted run resumes from its finished chunks.
    """
    from action2vec.inference import Action2Vec
    from action2vec.store import open_store

    settings = settings or IndexSettings()
    embed = embed or EmbedSettings()
    check_ranges(settings, "index")
    check_ranges(embed, "embed")
    out_dir = Path(out_dir)
    fingerprint = model_fingerprint(model_dir)
    store = open_store(store_path)
    if len(store) == 0:
        raise DataError(f"{store_path}: the store holds no videos")
    model = Action2Vec.load(model_dir, device=embed.device)
    if store.dim not in model.feature_dims:
        raise DataError(
            f"{store_path}: {store.dim}-d features, but the model in {model_dir} takes "
            f"{' or '.join(f'{d}-d' for d in model.feature_dims)}"
        )
    check_build(len(store), model.embed_dim, settings)  # FAISS and pq_bytes checked before any video is embedded
    record = index_provenance(model_dir, fingerprint, store, settings, embed)
    if not force:
        why = _rebuild_reason(out_dir, fingerprint, record)
        if not why:
            log.info("%s is up to date (same model, store and settings); --force rebuilds it", out_dir)
            return VideoIndex.open(out_dir, model_fingerprint=fingerprint)
        if (out_dir / "index.json").is_file():
            log.info("rebuilding %s: %s", out_dir, why)
    with StoreLock(out_dir):  # one writer per index (INDEX.lock beside it), refused at once like a store's
        for stale in out_dir.glob(".building-*"):  # left by a build that was killed: no writer is alive now
            shutil.rmtree(stale, ignore_errors=True)
        chunk_dir = out_dir / "chunks"
        emb = embed_store(model, store, chunk_dir, fingerprint=fingerprint, settings=embed, on_chunk=on_chunk)
        index = build_index(
            emb,
            store.keys,
            store.labels,
            out_dir,
            settings=settings,
            model_fingerprint=fingerprint,
            model_dir=Path(model_dir).resolve(),
            store_path=Path(store.path).resolve(),
            store_videos=len(store),
            store_digest=store_digest(store),
            provenance=record.to_json(),
        )
        shutil.rmtree(chunk_dir, ignore_errors=True)
    return index


def index_provenance(
    model_dir: str | Path, fingerprint: str, store: Store, settings: IndexSettings, embed: EmbedSettings
) -> Provenance:
    """What an index is made from: the model's files, the store's content (and where it lies: the explorer finds
    it there), the index settings (kind resolved for the store's size); how it embeds is kept apart."""
    index_settings, _ = split_settings(settings)
    _, execution = split_settings(embed)
    return Provenance(
        "index",
        {
            "model": Input(fingerprint, str(Path(model_dir).resolve())),
            "store": Input(store_digest(store), str(Path(store.path).resolve())),
        },
        {
            **{f"index.{k}": v for k, v in index_settings.items()},
            "index.kind": choose_kind(len(store), settings),
            "store path": str(Path(store.path).resolve()),
        },
        execution,
    )


def _rebuild_reason(out_dir: Path, fingerprint: str, record: Provenance) -> str:
    """ "" when the index in ``out_dir`` was made from ``record``'s inputs, else why it is rebuilt (an index from
    before provenance records, or one that cannot be opened, is rebuilt)."""
    try:
        index = VideoIndex.open(out_dir, model_fingerprint=fingerprint)
    except DataError as exc:
        return str(exc)
    try:
        recorded = Provenance.from_json(index.info.provenance) if index.info.provenance else None
    except DataError:
        recorded = None
    return decide(recorded, record, on_change="rebuild", unrecorded="rebuild").reason


OLDER_INDEX = "it was built by an older action2vec, whose store identity cannot be checked against today's"


def stale_reason(info: Any, store: Store) -> str:
    """ "" when an index (its :class:`IndexInfo`) was built from ``store`` as it is now, else why not in one line
    (:data:`OLDER_INDEX` for an index from before provenance records). The store's digest is remembered per file
    state, so an unchanged store costs a stat; a changed one is hashed once."""
    now = store_digest(store)
    if now == info.store_digest:
        return ""
    if not (info.store_digest and info.provenance):
        return OLDER_INDEX
    return (
        f"{info.store_path or store.path} changed since it was indexed (content {info.store_digest[:12]} then, "
        f"{now[:12]} now)"
    )


def check_store_unchanged(index_dir: str | Path, info: Any) -> None:
    """Refuse to answer from an index whose store has changed since it was built (one video's features edited in
    place included): DataError naming the store and the command that rebuilds. An index from before provenance
    records, or whose store is not where it was, is used with a warning (nothing to compare)."""
    from action2vec.store import open_store

    if not info.store_path or not Path(info.store_path).is_file():
        log.warning(
            "%s: its store %s is not there; the answers come from the index as built",
            index_dir,
            info.store_path or "(not recorded)",
        )
        return
    store = open_store(info.store_path)
    try:
        reason = stale_reason(info, store)
    finally:
        store.close()
    if reason == OLDER_INDEX:
        log.warning("%s: %s; rerun `action2vec index` to be sure", index_dir, reason)
    elif reason:
        raise DataError(f"{index_dir}: its store {reason}; rerun `action2vec index` to update it")
