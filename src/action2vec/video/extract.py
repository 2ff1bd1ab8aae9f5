"""The extraction driver: videos -> clip features -> feature store, resumable and distributed.

Decoding runs in worker processes (:class:`~action2vec.video.loader.DecodePool`, one video per task,
frames handed over in shared memory); the main process copies each video's uint8 frames to the device
once, batches clips of several videos into fixed-size forward passes
(:class:`~action2vec.video.runner.ClipRunner`, one batch in flight while the next is assembled) and
hands every finished video, in list order, to a :class:`~action2vec.store.StoreWriter`. Videos already
in the store (or recorded as failures) are skipped, so rerunning after a crash or ``kill -9`` resumes,
and the resumed store is bitwise the uninterrupted one (on the same machine).

Under ``torchrun`` (``WORLD_SIZE`` > 1) every rank takes ``items[rank::world]`` of the key-sorted list,
writes its own part files, and rank 0 merges them after a barrier (gloo, so CPU-only runs work too).
"""

from __future__ import annotations

import datetime
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Protocol, Sequence

import numpy as np
import torch

from action2vec.distributed import process_layout
from action2vec.errors import DataError
from action2vec.io import read_text
from action2vec.video.backbones.base import Backbone
from action2vec.video.clips import ClipPlan, clip_view, plan_clips
from action2vec.video.config import ComputeConfig, ExtractConfig
from action2vec.video.decode import check_decoder
from action2vec.video.loader import DecodedVideo, DecodePool, DecodeSpec, decode_spec, decode_workers
from action2vec.video.runner import ClipRunner, resolve_device

if TYPE_CHECKING:
    from action2vec.store import StoreWriter

__all__ = [
    "ComputeConfig",
    "ExtractConfig",
    "ExtractSummary",
    "VideoItem",
    "read_video_list",
    "extract_videos",
    "video_features",
    "store_meta",
    "backbone_decode_spec",
    "decode_workers",
]

log = logging.getLogger(__name__)


class VideoLike(Protocol):
    """What extraction reads of a video (read-only: frozen ``VideoItem`` and ``VideoRecord`` both qualify)."""

    @property
    def key(self) -> str: ...

    @property
    def path(self) -> Path: ...

    @property
    def label(self) -> str: ...

    @property
    def subset(self) -> str: ...


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
    text = read_text(path, "video list")
    base = Path(root) if root is not None else path.parent
    items: list[VideoItem] = []
    seen: dict[str, int] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
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


def store_meta(
    backbone: Backbone, plan: ClipPlan, cfg: ExtractConfig, device: torch.device | None = None
) -> dict[str, Any]:
    """Store metadata of an extraction: the backbone's own meta (weights digest included), the clip arithmetic,
    the decoder and frame size, and whether the forward ran in bfloat16 (``compute.amp`` on a GPU)."""
    return {
        **backbone.meta(),
        **plan.meta(),
        "dim": int(backbone.dim),
        "decoder": cfg.video.decoder,
        "frame_size": list(backbone.frame_size) if backbone.frame_size else None,
        "short_side": None if backbone.frame_size else (backbone.short_side or cfg.video.short_side),
        "amp": bool(cfg.compute.amp and device is not None and device.type == "cuda"),
        "pca": None,
        "padding": "rows length..steps-1 are zeros",
    }


def backbone_decode_spec(backbone: Backbone, plan: ClipPlan, cfg: ExtractConfig) -> DecodeSpec:
    """How videos are decoded for ``backbone``: its frame size (or short side), the plan's fps and frames."""
    return decode_spec(plan, backbone.frame_size, backbone.short_side, cfg.video)


def video_features(
    path: str | Path,
    backbone: Backbone,
    cfg: ExtractConfig | None = None,
    device: str | torch.device = "cpu",
) -> tuple[np.ndarray, int]:
    """One video's feature sequence, exactly as extraction stores it: (T, D) float32 and its true length.

    Raises :class:`~action2vec.video.decode.DecodeError` when the file cannot be used. Apply a store's
    PCA with ``PCA.from_store(store).transform_sequence(feats, length)``.
    """
    cfg = cfg or ExtractConfig()
    plan = plan_clips(cfg.video, backbone.clip_len, getattr(backbone, "fixed_clip_len", False))
    decoded = backbone_decode_spec(backbone, plan, cfg).decode(path)
    length = plan.length(decoded.num_frames)
    runner = ClipRunner(backbone, cfg.compute, torch.device(device))
    clips = clip_view(runner.place(decoded.frames, plan.needed_frames(length)), plan, length)
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
    plan = plan_clips(cfg.video, backbone.clip_len, getattr(backbone, "fixed_clip_len", False))
    check_decoder(cfg.video.decoder)
    lock = StoreLock(out).acquire()  # one writer per store (the ranks of this torchrun job share it)
    dist = _dist_setup(cfg.compute.barrier_timeout)
    try:
        mine = sorted(items, key=lambda it: it.key)[dist.rank :: dist.world]
        device = resolve_device(cfg.compute.device, dist.local_rank)
        meta = store_meta(backbone, plan, cfg, device)
        writer = StoreWriter(out, meta=meta, rank=dist.rank, flush_every=cfg.compute.flush_every, merge=False)
        done = writer.done_keys()
        todo = [it for it in mine if it.key not in done]
        if dist.rank == 0:
            log.info(
                "extracting %d videos (%d already done) with %s/%s on %s: %d steps of %d frames every %d at %g fps",
                len(todo),
                len(mine) - len(todo),
                backbone.name,
                backbone.layer,
                device,
                plan.steps,
                plan.clip_len,
                plan.stride,
                plan.fps,
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


@dataclass
class _Job:
    """A decoded video whose clips are (partly) waiting for the backbone."""

    order: int  # position in this run's list: videos are written in this order
    item: VideoLike
    clips: Any  # (length, L, H, W, 3) uint8 view of the video's frames on the device
    feats: np.ndarray  # (T, D) float32, rows >= length stay zero
    length: int
    source: dict[str, Any]
    next: int = 0  # first clip not yet submitted
    done: int = 0  # clips with features


class _Shard:
    """Extraction of one rank's videos: decoded videos in, clip batches through the runner, store out.

    Clips of consecutive videos share batches of ``compute.batch_size``; one batch is in flight while
    the next is assembled. Finished videos (and failures) are written in list order, whatever order
    decoding finishes them in, so the store's rows do not depend on the workers' timing.
    """

    def __init__(
        self,
        todo: list[VideoLike],
        writer: StoreWriter,
        runner: ClipRunner,
        plan: ClipPlan,
        dim: int,
        cfg: ComputeConfig,
        show: bool,
    ) -> None:
        from tqdm import tqdm

        self.todo, self.writer, self.runner, self.plan, self.dim, self.cfg = todo, writer, runner, plan, dim, cfg
        self.summary = ExtractSummary(
            store=writer.path, total=len(todo), skipped=0, extracted=0, failed=0, clips=0, seconds=0.0
        )
        self.timings = {"wait_decode": 0.0, "write": 0.0}
        self.queue: deque[_Job] = deque()  # videos with clips not yet submitted or not yet back
        self.queued = 0  # clips not yet submitted
        self.inflight: tuple[list[tuple[_Job, int, int]], Any] | None = None
        # order -> (item, source, job or None, failure reason) of videos awaiting their turn to be written
        self.finished: dict[int, tuple[VideoLike, dict[str, Any], _Job | None, str]] = {}
        self.next_write = 0
        self.last_flush = time.monotonic()
        self.start = time.perf_counter()
        self.bar = tqdm(total=len(todo), unit="video", disable=not (cfg.progress and show), smoothing=0.1)

    def run(self, videos: Iterable[DecodedVideo]) -> ExtractSummary:
        self.start = time.perf_counter()
        try:
            for video in self._timed(videos):
                self._take(video)
                while self.queued >= self.runner.batch_size:
                    self._submit_batch()
            while self.queued > 0:
                self._submit_batch()
            self._land()
        finally:
            self.bar.close()
            self.writer.flush()  # finished videos survive an interruption; the next run resumes after them
        self.summary.seconds = time.perf_counter() - self.start
        self.summary.timings = {**self.timings, **self.runner.timings}
        return self.summary

    def _timed(self, videos: Iterable[DecodedVideo]) -> Iterable[DecodedVideo]:
        it = iter(videos)
        while True:
            t = time.perf_counter()
            video = next(it, None)
            self.timings["wait_decode"] += time.perf_counter() - t
            if video is None:
                return
            yield video

    def _take(self, video: DecodedVideo) -> None:
        """Queue a decoded video's clips (its frames are copied to the device), or record its failure."""
        item = self.todo[video.index]
        if video.error:
            self._ready(video.index, item, video.source, None, video.error)
            return
        assert video.frames is not None
        length = self.plan.length(int(video.frames.shape[0]))
        frames = self.runner.place(video.frames, self.plan.needed_frames(length))
        job = _Job(
            order=video.index,
            item=item,
            clips=clip_view(frames, self.plan, length),
            feats=np.zeros((self.plan.steps, self.dim), dtype=np.float32),
            length=length,
            source={**video.source, "subset": item.subset, "length": length},
        )
        self.queue.append(job)
        self.queued += length

    def _submit_batch(self) -> None:
        """Launch the next ``batch_size`` clips of the queued videos, then land the batch before it."""
        pieces: list[tuple[_Job, int, int]] = []
        room = self.runner.batch_size
        for job in self.queue:
            if room == 0:
                break
            n = min(room, job.length - job.next)
            if n > 0:
                pieces.append((job, job.next, job.next + n))
                job.next += n
                room -= n
        self.queued -= self.runner.batch_size - room
        flight = self.runner.submit([job.clips[a:b] for job, a, b in pieces])
        self._land()
        self.inflight = (pieces, flight)

    def _land(self) -> None:
        """Collect the batch in flight into its videos' features; write the videos that are complete."""
        if self.inflight is None:
            return
        pieces, flight = self.inflight
        self.inflight = None
        feats = self.runner.collect(flight)  # (B, D)
        o = 0
        for job, a, b in pieces:
            job.feats[a:b] = feats[o : o + b - a]
            job.done += b - a
            o += b - a
        self.summary.clips += feats.shape[0]
        while self.queue and self.queue[0].done == self.queue[0].length:  # clips go in queue order
            job = self.queue.popleft()
            self._ready(job.order, job.item, job.source, job)

    def _ready(self, order: int, item: VideoLike, source: dict[str, Any], job: _Job | None, reason: str = "") -> None:
        """A video is finished (``job``) or failed (``reason``): write every video whose turn has come."""
        # the path as an absolute one, so the store's videos are found from any working folder (the explorer)
        self.finished[order] = (item, {**source, "path": str(Path(item.path).absolute())}, job, reason)
        while self.next_write in self.finished:
            item, source, job, reason = self.finished.pop(self.next_write)
            self.next_write += 1
            t = time.perf_counter()
            if job is None:
                log.warning("cannot extract %s (%s): %s", item.key, item.path, reason)
                self.writer.add_failure(item.key, reason=reason, source={**source, "subset": item.subset})
                self.summary.failed += 1
                self.summary.failures[item.key] = reason
            else:
                self.writer.add(item.key, job.feats, length=job.length, label=item.label, source=source)
                self.summary.extracted += 1
            if time.monotonic() - self.last_flush > self.cfg.flush_seconds:
                self.writer.flush()
                self.last_flush = time.monotonic()
            self.timings["write"] += time.perf_counter() - t
            self.bar.update(1)
        rate = self.summary.clips / max(time.perf_counter() - self.start, 1e-9)
        self.bar.set_postfix(clips_s=f"{rate:.1f}", failed=self.summary.failed)


def _extract_shard(
    todo: list[VideoLike],
    writer: StoreWriter,
    backbone: Backbone,
    plan: ClipPlan,
    cfg: ExtractConfig,
    device: torch.device,
    show: bool,
) -> ExtractSummary:
    """Decode ``todo`` in worker processes and extract it into ``writer`` on ``device``."""
    pool = DecodePool([it.path for it in todo], backbone_decode_spec(backbone, plan, cfg), cfg.compute.workers)
    with pool:
        pool.start()  # fork the workers before this process sets CUDA up
        runner = ClipRunner(backbone, cfg.compute, device)
        summary = _Shard(todo, writer, runner, plan, backbone.dim, cfg.compute, show).run(pool)
    if summary.failed:
        log.warning("%d of %d videos could not be read; their reasons are in the store", summary.failed, len(todo))
    return summary
