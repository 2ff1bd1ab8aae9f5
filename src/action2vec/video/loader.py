"""Decoding many videos in worker processes, handing the frames over without copying them.

:class:`DecodePool` decodes one video per task in a pool of forked worker processes
(:class:`concurrent.futures.ProcessPoolExecutor`). Each task writes its frames straight into one
slot of a ring of buffers in anonymous shared memory, mapped before the workers start, so a decoded
video reaches the main process as a slot number and a shape: no pickling of frames, no per-video
shared-memory file (whose page faults cost about as much as decoding a small video), and nothing left
in ``/dev/shm`` after a crash. A slot is handed out again once the consumer asks for the next video.
Results come in the order they finish, so one slow video does not hold up the others.

Failures come back as a reason (``DecodedVideo.error``) instead of an exception, so one bad file never
stops the others; not even one that crashes its decoding process (the pool is restarted, the videos then
in flight are retried one at a time, and the one that crashes again is recorded as a failure). ``workers=0`` decodes in the calling process (and is the only choice for decoders
that run on the GPU).
"""

from __future__ import annotations

import logging
import math
import mmap
import multiprocessing
import os
import signal
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from action2vec.distributed import process_layout
from action2vec.video.clips import ClipPlan
from action2vec.video.config import ClipConfig
from action2vec.video.decode import Decoded, DecodeError, decode_video

__all__ = ["DecodeSpec", "DecodedVideo", "DecodePool", "decode_spec", "decode_workers"]

log = logging.getLogger(__name__)

# Widest frame (width / height) a slot is sized for when decoding keeps the aspect ratio; wider videos
# still decode, their frames travel pickled instead.
_MAX_ASPECT = 2.4


@dataclass(frozen=True)
class DecodeSpec:
    """Everything :func:`~action2vec.video.decode.decode_video` needs besides the path."""

    fps: float
    max_frames: int | None
    size: tuple[int, int] | None  # (H, W) every frame is resized to, or None
    short_side: int | None  # used when size is None
    threads: int
    decoder: str

    def decode(self, path: str | Path, allocate: Any = None) -> Decoded:
        return decode_video(
            path,
            fps=self.fps,
            max_frames=self.max_frames,
            size=self.size,
            short_side=self.short_side,
            threads=self.threads,
            decoder=self.decoder,
            allocate=allocate,
        )

    def slot_bytes(self) -> int:
        """Bytes of one decoded video at most (0: unbounded, no shared slots)."""
        if self.max_frames is None or self.decoder == "torchcodec-cuda":
            return 0
        if self.size is not None:
            h, w = self.size
        elif self.short_side:
            h, w = self.short_side, math.ceil(self.short_side * _MAX_ASPECT)
        else:
            return 0  # frames keep their source size: unknown
        return int(self.max_frames) * h * w * 3


def decode_spec(
    plan: ClipPlan, frame_size: tuple[int, int] | None, short_side: int | None, cfg: ClipConfig
) -> DecodeSpec:
    """How extraction decodes for a backbone: its ``frame_size``, else its (or the config's) short side."""
    return DecodeSpec(
        fps=plan.fps,
        max_frames=plan.frames,
        size=tuple(frame_size) if frame_size else None,  # type: ignore[arg-type]
        short_side=None if frame_size else (short_side or cfg.short_side),
        threads=int(cfg.decode_threads),
        decoder=cfg.decoder,
    )


@dataclass
class DecodedVideo:
    """One finished decoding task; ``frames`` is valid until the next video is asked for."""

    index: int  # position in the list given to the pool
    frames: np.ndarray | None  # (F, H, W, 3) uint8 RGB (a CUDA tensor for torchcodec-cuda), None on failure
    source: dict[str, Any] = field(default_factory=dict)
    error: str = ""


def decode_workers(setting: int) -> int:
    """Worker processes for ``compute.workers``: -1 gives every CPU core but one to the node's ranks."""
    if setting >= 0:
        return int(setting)
    per_node = max(1, process_layout().local_world_size)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 2)
    return max(1, (cores - 1) // per_node)


# ------------------------------------------------------------------------------------ worker side

_RING: np.ndarray | None = None  # (slots, slot_bytes) view of the shared ring, in worker processes


def _worker_start(ring: mmap.mmap | None, slots: int, slot_bytes: int) -> None:
    """Worker set-up: map the ring; leave Ctrl-C and SIGTERM to the main process; die with it."""
    global _RING
    _RING = np.frombuffer(ring, dtype=np.uint8).reshape(slots, slot_bytes) if ring is not None else None
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process stops the pool
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not a handler inherited from the main process
    try:  # Linux: a worker never outlives a main process killed with -9
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class _SlotAllocator:
    """Hands out the task's ring slot as the frame buffer when the frames fit, else private memory."""

    def __init__(self, slot: int) -> None:
        self.slot = slot

    def __call__(self, shape: tuple[int, ...]) -> np.ndarray:
        nbytes = int(np.prod(shape))
        if _RING is not None and self.slot >= 0 and nbytes <= _RING.shape[1]:
            return _RING[self.slot, :nbytes].reshape(shape)
        return np.empty(shape, dtype=np.uint8)

    def holds(self, frames: np.ndarray) -> bool:
        return _RING is not None and self.slot >= 0 and np.shares_memory(frames, _RING[self.slot])


def _decode_task(spec: DecodeSpec, path: str, slot: int) -> tuple[Any, dict[str, Any], str]:
    """(frames shape when in the slot / the frames themselves / None, source, error) of one video."""
    allocate = _SlotAllocator(slot)
    try:
        decoded = spec.decode(path, allocate=allocate)
    except DecodeError as exc:
        return None, {"path": path}, str(exc)
    except Exception as exc:  # an unexpected decoder error must not stop the other videos
        log.debug("unexpected error decoding %s", path, exc_info=True)
        return None, {"path": path}, f"{type(exc).__name__}: {exc}"
    frames = decoded.frames
    if isinstance(frames, np.ndarray) and allocate.holds(frames):
        return tuple(frames.shape), decoded.source, ""
    return frames, decoded.source, ""


# ------------------------------------------------------------------------------------ main side


class DecodePool:
    """Decode ``paths`` with ``spec`` in ``workers`` processes; iterate to get :class:`DecodedVideo`.

    Videos come in the order they finish. Each ``DecodedVideo.frames`` may live in a shared slot that
    is reused once the next video is asked for: copy what must outlive that.
    """

    def __init__(self, paths: Sequence[str | Path], spec: DecodeSpec, workers: int) -> None:
        self.paths = [str(p) for p in paths]
        self.spec = spec
        self.workers = 0 if spec.decoder == "torchcodec-cuda" else max(0, min(decode_workers(workers), len(self.paths)))
        self.slots = 2 * self.workers
        fork = "fork" in multiprocessing.get_all_start_methods()
        self.slot_bytes = spec.slot_bytes() if fork else 0
        self.ring = mmap.mmap(-1, self.slots * self.slot_bytes) if self.workers and self.slot_bytes else None
        self.view = (
            np.frombuffer(self.ring, np.uint8).reshape(self.slots, self.slot_bytes) if self.ring is not None else None
        )
        self.context = multiprocessing.get_context("fork" if fork else "spawn")
        self.executor: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start the worker processes now (before CUDA is set up in this process, say)."""
        if self.workers and self.executor is None:
            self.executor = ProcessPoolExecutor(
                self.workers,
                mp_context=self.context,
                initializer=_worker_start,
                initargs=(self.ring, self.slots, self.slot_bytes),
            )
            for f in [self.executor.submit(os.getpid) for _ in range(self.workers)]:
                f.result()  # every worker is up

    def __iter__(self) -> Iterator[DecodedVideo]:
        if not self.workers:
            yield from self._decode_here()
            return
        self.start()
        todo: deque[int] = deque(range(len(self.paths)))  # not submitted yet
        suspects: deque[int] = deque()  # in flight when a worker died: retried one at a time
        free: deque[int] = deque(range(self.slots))
        pending: dict[Future, tuple[int, int]] = {}
        alone: set[int] = set()  # suspects that ran with nothing else in flight
        try:
            while todo or suspects or pending:
                self._fill(todo, suspects, free, pending, alone)
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    i, slot = pending.pop(future)
                    try:
                        video = self._result(future, i, slot)
                    except BrokenProcessPool:
                        yield from self._recover(i, slot, suspects, free, pending, alone)
                        break
                    yield video
                    free.append(slot)  # the consumer moved on: the slot is free again
        finally:
            self.close()

    def _fill(
        self,
        todo: deque[int],
        suspects: deque[int],
        free: deque[int],
        pending: dict[Future, tuple[int, int]],
        alone: set[int],
    ) -> None:
        """Give free slots work: a suspect on its own (once nothing else is in flight), else the next videos."""
        if suspects:
            if not pending:
                i = suspects.popleft()
                alone.add(i)
                slot = free.popleft()
                pending[self._submit(i, slot)] = (i, slot)
            return
        while free and todo:
            i, slot = todo.popleft(), free.popleft()
            pending[self._submit(i, slot)] = (i, slot)

    def _recover(
        self,
        i: int,
        slot: int,
        suspects: deque[int],
        free: deque[int],
        pending: dict[Future, tuple[int, int]],
        alone: set[int],
    ) -> Iterator[DecodedVideo]:
        """A worker process died (FFmpeg crashed, say) and took the pool with it: start a fresh pool. A video
        that was decoding on its own is the culprit and comes back as a failure; otherwise every video that
        was in flight is retried on its own."""
        crashed = [(i, slot), *pending.values()]
        pending.clear()
        free.extend(s for _, s in crashed)
        self.close()
        self.start()
        if len(crashed) == 1 and i in alone:
            log.warning("the decoding process crashed on %s", self.paths[i])
            yield DecodedVideo(i, None, {"path": self.paths[i]}, "the decoding process crashed on this file")
        else:
            suspects.extend(sorted(j for j, _ in crashed))

    def _submit(self, i: int, slot: int) -> Future:
        assert self.executor is not None
        return self.executor.submit(_decode_task, self.spec, self.paths[i], slot if self.view is not None else -1)

    def _result(self, future: Future, i: int, slot: int) -> DecodedVideo:
        frames, source, error = future.result()  # BrokenProcessPool when a worker died
        if isinstance(frames, tuple):
            assert self.view is not None
            frames = self.view[slot, : int(np.prod(frames))].reshape(frames)
        return DecodedVideo(i, frames, source, error)

    def _decode_here(self) -> Iterator[DecodedVideo]:
        for i, path in enumerate(self.paths):
            frames, source, error = _decode_task(self.spec, path, -1)
            yield DecodedVideo(i, frames, source, error)

    def close(self) -> None:
        """Stop the workers (tasks not started are cancelled); the pool cannot be iterated again."""
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None

    def __enter__(self) -> "DecodePool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
