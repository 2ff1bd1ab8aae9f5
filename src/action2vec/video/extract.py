"""The extraction driver: videos -> clip features -> feature store, resumable and distributed.

Decoding runs in DataLoader worker processes (one video per task); the main process cuts each video
into clips, batches clips of several videos into one backbone forward pass and hands every finished
video to a :class:`~action2vec.store.StoreWriter`. Videos already in the store (or recorded as
failures) are skipped, so rerunning after a crash or ``kill -9`` resumes.

Under ``torchrun`` (``WORLD_SIZE`` > 1) every rank takes ``items[rank::world]`` of the key-sorted list,
writes its own part files, and rank 0 merges them after a barrier (gloo, so CPU-only runs work too).
"""

from __future__ import annotations

import datetime
import logging
import os
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np
import torch

from action2vec.distributed import process_layout
from action2vec.errors import ConfigError, DataError
from action2vec.video.backbones.base import Backbone
from action2vec.video.clips import ClipPlan, clip_view, plan_clips
from action2vec.video.config import ClipConfig, ComputeConfig, ExtractConfig
from action2vec.video.decode import DecodeError, decode_video

__all__ = [
    "ComputeConfig",
    "ExtractConfig",
    "ExtractSummary",
    "VideoItem",
    "read_video_list",
    "extract_videos",
    "video_features",
    "store_meta",
]

log = logging.getLogger(__name__)


class VideoLike(Protocol):
    key: str
    path: Path
    label: str
    subset: str


@dataclass(frozen=True)
class VideoItem:
    """One video to extract (the same fields as a data set's ``VideoRecord``)."""

    key: str
    path: Path
    label: str = ""
    subset: str = ""


@dataclass
class ExtractSummary:
    """What one call of :func:`extract_videos` did (on this rank)."""

    store: Path
    total: int  # videos assigned to this rank
    skipped: int  # already in the store
    extracted: int
    failed: int
    clips: int
    seconds: float
    failures: dict[str, str] = field(default_factory=dict)  # key -> reason, this run
    timings: dict[str, float] = field(default_factory=dict)  # seconds: wait_decode, preprocess, forward, write

    @property
    def videos_per_s(self) -> float:
        return (self.extracted + self.failed) / self.seconds if self.seconds > 0 else 0.0

    @property
    def clips_per_s(self) -> float:
        return self.clips / self.seconds if self.seconds > 0 else 0.0


def read_video_list(path: str | Path, root: str | Path | None = None) -> list[VideoItem]:
    """Read a list file: one ``path [label]`` per line (blank lines and ``#`` comments skipped).

    The label is the rest of the line after the first run of whitespace (or after a tab, so paths with
    spaces work when a tab separates the label). Relative paths are under ``root`` (default: the list
    file's folder); the key is the path as written.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: video list not found")
    base = Path(root) if root is not None else path.parent
    items: list[VideoItem] = []
    seen: dict[str, int] = {}
    for lineno, raw in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "\t" in line:
            name, _, label = line.partition("\t")
        else:
            name, _, label = line.partition(" ")
        name, label = name.strip(), label.strip()
        if name in seen:
            raise DataError(f"{path}:{lineno}: {name} is listed twice (first on line {seen[name]})")
        seen[name] = lineno
        file = Path(name).expanduser()
        items.append(VideoItem(key=name, path=file if file.is_absolute() else base / file, label=label))
    if not items:
        raise DataError(f"{path}: the video list is empty")
    return items


def store_meta(backbone: Backbone, plan: ClipPlan, cfg: ExtractConfig) -> dict[str, Any]:
    """Store metadata of an extraction: the backbone's own meta plus the clip arithmetic."""
    return {
        **backbone.meta(),
        **plan.meta(),
        "dim": int(backbone.dim),
        "decoder": cfg.video.decoder,
        "frame_size": list(backbone.frame_size) if backbone.frame_size else None,
        "short_side": None if backbone.frame_size else (backbone.short_side or cfg.video.short_side),
        "pca": None,
        "padding": "rows length..steps-1 are zeros",
    }


# ---------------------------------------------------------------------------------------- decoding


class _DecodeDataset(torch.utils.data.Dataset):
    """Decodes one video per item; failures come back as a reason instead of an exception."""

    def __init__(self, items: Sequence[VideoLike], plan: ClipPlan, backbone: Backbone, cfg: ClipConfig):
        self.items = list(items)
        self.plan = plan
        self.size = backbone.frame_size
        self.short_side = backbone.short_side or cfg.short_side
        self.cfg = cfg

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, Any]:
        item = self.items[i]
        try:
            d = decode_video(
                item.path,
                fps=self.plan.fps,
                max_frames=self.plan.frames,
                size=self.size,
                short_side=None if self.size else self.short_side,
                threads=self.cfg.decode_threads,
                decoder=self.cfg.decoder,
            )
            return {"i": i, "frames": torch.from_numpy(d.frames), "source": d.source, "error": ""}
        except DecodeError as exc:
            return {"i": i, "frames": None, "source": {"path": str(item.path)}, "error": str(exc)}
        except Exception as exc:  # an unexpected decoder error must not stop the other videos
            log.debug("unexpected error decoding %s", item.path, exc_info=True)
            return {"i": i, "frames": None, "source": {"path": str(item.path)}, "error": f"{type(exc).__name__}: {exc}"}


def _keep(sample: dict[str, Any]) -> dict[str, Any]:
    return sample


def decode_workers(setting: int) -> int:
    """Worker processes for ``compute.workers``: -1 gives every CPU core but one to the node's ranks."""
    if setting >= 0:
        return int(setting)
    per_node = max(1, process_layout().local_world_size)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 2)
    return max(1, (cores - 1) // per_node)


def _loader(dataset: _DecodeDataset, workers: int) -> torch.utils.data.DataLoader:
    workers = max(0, min(decode_workers(int(workers)), len(dataset)))
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=None,
        shuffle=False,
        num_workers=workers,
        collate_fn=_keep,
        prefetch_factor=2 if workers else None,  # decoded videos wait in shared memory (/dev/shm)
        persistent_workers=False,
    )


# ---------------------------------------------------------------------------------------- compute


def _resolve_device(name: str, local_rank: int) -> torch.device:
    if name == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("compute.device: CUDA was asked for but is not available")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank)
    return device


@dataclass
class _Job:
    """A decoded video waiting for (part of) its clips to go through the backbone."""

    item: VideoLike
    clips: np.ndarray  # (length, L, H, W, 3) uint8 view
    feats: np.ndarray  # (T, D) float32, rows >= length stay zero
    length: int
    source: dict[str, Any]
    next: int = 0  # first clip not yet batched
    done: int = 0  # clips with features


class _Runner:
    """Batched, device-placed backbone inference over clips from a queue of videos."""

    def __init__(self, backbone: Backbone, cfg: ComputeConfig, device: torch.device) -> None:
        self.backbone = backbone.to(device).eval()
        self.device = device
        self.batch_size = max(1, int(cfg.batch_size))
        self.cuda = device.type == "cuda"
        self.amp = bool(cfg.amp and self.cuda)
        self.channels_last = bool(cfg.channels_last and self.cuda)
        if self.channels_last:
            try:
                self.backbone = self.backbone.to(memory_format=torch.channels_last_3d)
            except RuntimeError:
                self.channels_last = False
        self.fixed_batch = bool(cfg.compile)
        self.model = torch.compile(self.backbone) if cfg.compile else self.backbone
        if self.cuda:
            torch.backends.cudnn.benchmark = True
        self.timings = {"preprocess": 0.0, "forward": 0.0}

    def __call__(self, pieces: Sequence[np.ndarray]) -> np.ndarray:
        """Clips of several videos [(b_i, L, H_i, W_i, 3) uint8] -> (sum b_i, D) float32 features.

        Frame sizes may differ between videos (short-side resizing keeps each aspect ratio): pieces whose
        preprocessed shapes agree share one forward pass.
        """
        t0 = time.perf_counter()
        xs = [self.backbone.preprocess(p) for p in pieces]
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, x in enumerate(xs):
            groups.setdefault(tuple(x.shape[1:]), []).append(i)
        self.timings["preprocess"] += time.perf_counter() - t0
        outs: list[np.ndarray] = [np.empty(0)] * len(xs)
        for members in groups.values():
            y = self._forward(torch.cat([xs[i] for i in members]) if len(members) > 1 else xs[members[0]])
            o = 0
            for i in members:
                outs[i] = y[o : o + xs[i].shape[0]]
                o += xs[i].shape[0]
        return np.concatenate(outs)

    def _forward(self, x: torch.Tensor) -> np.ndarray:
        """Preprocessed (B, ...) -> (B, D) float32 on the CPU."""
        t0 = time.perf_counter()
        n = x.shape[0]
        if self.fixed_batch and n < self.batch_size:
            pad = torch.zeros((self.batch_size - n,) + tuple(x.shape[1:]), dtype=x.dtype)
            x = torch.cat([x, pad])
        if self.channels_last and x.dim() == 5:
            x = x.contiguous(memory_format=torch.channels_last_3d)
        else:
            x = x.contiguous()
        if self.cuda:
            x = x.pin_memory().to(self.device, non_blocking=True)
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            y = self.model(x)
        out = y[:n].float().cpu().numpy()
        self.timings["forward"] += time.perf_counter() - t0
        return out


def video_features(
    path: str | Path,
    backbone: Backbone,
    cfg: ExtractConfig | None = None,
    device: str | torch.device = "cpu",
) -> tuple[np.ndarray, int]:
    """One video's feature sequence, as extraction would store it: (T, D) float32 and its true length.

    Raises :class:`~action2vec.video.decode.DecodeError` when the file cannot be used. Apply a store's
    PCA with ``PCA.from_store(store).transform_sequence(feats, length)``.
    """
    cfg = cfg or ExtractConfig()
    plan = plan_clips(cfg.video, backbone.clip_len)
    decoded = decode_video(
        path, fps=plan.fps, max_frames=plan.frames, size=backbone.frame_size,
        short_side=None if backbone.frame_size else (backbone.short_side or cfg.video.short_side),
        threads=cfg.video.decode_threads, decoder=cfg.video.decoder,
    )
    length = plan.length(decoded.num_frames)
    clips = clip_view(decoded.frames, plan, length)
    runner = _Runner(backbone, cfg.compute, torch.device(device))
    feats = np.zeros((plan.steps, backbone.dim), dtype=np.float32)
    for a in range(0, length, runner.batch_size):
        feats[a : min(a + runner.batch_size, length)] = runner([clips[a : a + runner.batch_size]])
    return feats, length


# ---------------------------------------------------------------------------------------- distribution


@dataclass
class _Dist:
    rank: int
    world: int
    local_rank: int
    owns_group: bool

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()

    def close(self) -> None:
        if self.owns_group:
            torch.distributed.destroy_process_group()


def _dist_setup(timeout_s: float) -> _Dist:
    layout = process_layout()
    world, rank, local_rank = layout.world_size, layout.rank, layout.local_rank
    owns = False
    if world > 1:
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=timeout_s))
            owns = True
        rank, world = dist.get_rank(), dist.get_world_size()
    return _Dist(rank, world, local_rank, owns)


# ---------------------------------------------------------------------------------------- driver


def extract_videos(
    items: Sequence[VideoLike],
    out: str | Path,
    backbone: Backbone,
    cfg: ExtractConfig | None = None,
) -> ExtractSummary:
    """Extract clip features of ``items`` into the store ``out`` (created or resumed).

    Returns this rank's summary; under torchrun rank 0 merges every rank's parts before returning.
    Unreadable videos are recorded in the store with their reason and logged; they do not stop the run.
    """
    from action2vec.store import StoreLock, StoreWriter, merge_parts

    cfg = cfg or ExtractConfig()
    out = Path(out)
    keys = [it.key for it in items]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise DataError(f"video key {dup!r} appears more than once in the input")
    plan = plan_clips(cfg.video, backbone.clip_len)
    lock = StoreLock(out).acquire()  # one writer per store (the ranks of this torchrun job share it)
    dist = _dist_setup(cfg.compute.barrier_timeout)
    try:
        mine = sorted(items, key=lambda it: it.key)[dist.rank :: dist.world]
        device = _resolve_device(cfg.compute.device, dist.local_rank)
        meta = store_meta(backbone, plan, cfg)
        writer = StoreWriter(out, meta=meta, rank=dist.rank, flush_every=cfg.compute.flush_every, merge=False)
        done = writer.done_keys()
        todo = [it for it in mine if it.key not in done]
        if dist.rank == 0:
            log.info(
                "extracting %d videos (%d already done) with %s/%s on %s: %d steps of %d frames every %d at %g fps",
                len(todo), len(mine) - len(todo), backbone.name, backbone.layer, device,
                plan.steps, plan.clip_len, plan.stride, plan.fps,
            )
        summary = _extract_shard(todo, writer, backbone, plan, cfg, device, show=dist.rank == 0)
        summary.store = out
        summary.total = len(mine)
        summary.skipped = len(mine) - len(todo)
        if dist.world > 1:
            dist.barrier()
            if dist.rank == 0 and _has_parts(out):
                merge_parts(out)
            dist.barrier()
        elif _has_parts(out):
            merge_parts(out)
        return summary
    finally:
        dist.close()
        lock.release()


def _has_parts(path: Path) -> bool:
    from action2vec.store import parts_dir

    pd = parts_dir(path)
    return pd.is_dir() and any(pd.glob("*.h5"))


def _extract_shard(
    todo: list[VideoLike],
    writer: Any,
    backbone: Backbone,
    plan: ClipPlan,
    cfg: ExtractConfig,
    device: torch.device,
    show: bool,
) -> ExtractSummary:
    from tqdm import tqdm

    runner = _Runner(backbone, cfg.compute, device)
    dataset = _DecodeDataset(todo, plan, backbone, cfg.video)
    summary = ExtractSummary(store=writer.path, total=len(todo), skipped=0, extracted=0, failed=0, clips=0, seconds=0.0)
    timings = {"wait_decode": 0.0, "write": 0.0}
    queue: deque[_Job] = deque()
    queued_clips = 0
    last_flush = time.monotonic()
    bar = tqdm(total=len(todo), unit="video", disable=not (cfg.compute.progress and show), smoothing=0.1)
    start = time.perf_counter()

    def finish(job: _Job) -> None:
        nonlocal last_flush
        t = time.perf_counter()
        writer.add(job.item.key, job.feats, length=job.length, label=job.item.label, source=job.source)
        summary.extracted += 1
        if time.monotonic() - last_flush > cfg.compute.flush_seconds:
            writer.flush()
            last_flush = time.monotonic()
        timings["write"] += time.perf_counter() - t
        bar.update(1)

    def run_batch() -> None:
        nonlocal queued_clips
        pieces: list[tuple[_Job, int, int]] = []
        room = runner.batch_size
        for job in queue:
            if room == 0:
                break
            n = min(room, job.length - job.next)
            if n > 0:
                pieces.append((job, job.next, job.next + n))
                job.next += n
                room -= n
        feats = runner([job.clips[a:b] for job, a, b in pieces])  # (B, D)
        o = 0
        for job, a, b in pieces:
            job.feats[a:b] = feats[o : o + b - a]
            job.done += b - a
            o += b - a
        queued_clips -= feats.shape[0]
        summary.clips += feats.shape[0]
        while queue and queue[0].done == queue[0].length:
            finish(queue.popleft())
        bar.set_postfix(clips_s=f"{summary.clips / max(time.perf_counter() - start, 1e-9):.1f}", failed=summary.failed)

    try:
        it = iter(_loader(dataset, cfg.compute.workers))
        while True:
            t = time.perf_counter()
            sample = next(it, None)
            timings["wait_decode"] += time.perf_counter() - t
            if sample is None:
                break
            item = todo[sample["i"]]
            source = {**sample["source"], "subset": item.subset}
            if sample["error"]:
                log.warning("cannot extract %s (%s): %s", item.key, item.path, sample["error"])
                writer.add_failure(item.key, reason=sample["error"], source=source)
                summary.failed += 1
                summary.failures[item.key] = sample["error"]
                bar.update(1)
                continue
            frames = sample["frames"].numpy()  # (F, H, W, 3)
            length = plan.length(frames.shape[0])
            source["length"] = length
            job = _Job(
                item=item,
                clips=clip_view(frames, plan, length),
                feats=np.zeros((plan.steps, backbone.dim), dtype=np.float32),
                length=length,
                source=source,
            )
            queue.append(job)
            queued_clips += length
            while queued_clips >= runner.batch_size:
                run_batch()
        while queued_clips > 0:
            run_batch()
    finally:
        bar.close()
        writer.flush()  # finished videos survive an interruption; the next run resumes after them
    summary.seconds = time.perf_counter() - start
    summary.timings = {**timings, **runner.timings}
    if summary.failed:
        log.warning("%d of %d videos could not be read; their reasons are in the store", summary.failed, len(todo))
    return summary
