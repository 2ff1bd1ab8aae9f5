"""Backbone inference over clips on one device, in batches of a fixed size.

The uint8 frames of a decoded video go to the device once (on CUDA: through pinned memory, on a copy
stream, so the copy overlaps the running forward pass); clips are strided views of them there, and
the backbone's preprocessing (resize if needed, crop, channel order, mean, layout) runs on the device.
On CUDA a batch is launched with :meth:`ClipRunner.submit` and its features fetched later with
:meth:`ClipRunner.collect`, so the main process can take in the next video while the GPU works.

Every batch is padded to ``compute.batch_size`` clips. A clip's features then never depend on which
other clips share its batch (checked on CPU: batch position and neighbours change nothing, batch size
does), so a resumed extraction is bitwise equal to an uninterrupted one on the same machine.

Forward options, each a ``compute.*`` setting so ``benchmarks/gpu_check.sh`` can time each: ``amp``
(bfloat16 autocast), ``channels_last`` (3-D channels-last weights and inputs), ``cudnn_benchmark``
and ``compile`` (``torch.compile``); all are GPU-only and change nothing on the CPU.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from action2vec.errors import ConfigError
from action2vec.video.backbones.base import Backbone
from action2vec.video.config import ComputeConfig

__all__ = ["ClipRunner", "resolve_device"]


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``compute.device`` as a torch device: ``auto`` is this rank's GPU when CUDA is available, else the CPU."""
    if name == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"compute.device: {name!r} is not a device (auto, cpu, cuda, cuda:1, ...)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("compute.device: CUDA was asked for but is not available")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank)
    return device


@dataclass
class _InFlight:
    """A launched batch: its features (on the host once ``ready`` has passed), per piece."""

    outputs: list[torch.Tensor]  # one (n_i, D) tensor per piece, in piece order
    ready: Any = None  # a CUDA event, None on the CPU


class ClipRunner:
    """Batched backbone inference on ``device``: uint8 clips (n, L, H, W, 3) in, (n, D) float32 features out."""

    def __init__(self, backbone: Backbone, cfg: ComputeConfig, device: torch.device) -> None:
        self.device = device
        self.cuda = device.type == "cuda"
        self.batch_size = max(1, int(cfg.batch_size))
        self.amp = bool(cfg.amp and self.cuda)
        self.on_device = bool(getattr(backbone, "device_preprocess", False))
        self.backbone = backbone.to(device).eval()
        self.channels_last = bool(cfg.channels_last and self.cuda)
        if self.channels_last:
            try:
                # Module.to takes memory_format (torch's overloads leave it out)
                self.backbone = self.backbone.to(memory_format=torch.channels_last_3d)  # type: ignore[call-overload]
            except RuntimeError:
                self.channels_last = False
        if self.cuda:
            # this rank's GPU becomes the current device, so events, pinned copies and "cuda" decoders go to it
            # (not to GPU 0, which would let ``collect`` pass before this GPU's copy has filled the host buffer)
            torch.cuda.set_device(device)
            torch.backends.cudnn.benchmark = bool(cfg.cudnn_benchmark)
            self.copy_stream = torch.cuda.Stream(device)
        self.model = torch.compile(self.backbone) if cfg.compile else self.backbone
        self.timings = {"transfer": 0.0, "preprocess": 0.0, "forward": 0.0}

    # ------------------------------------------------------------------------------- frames

    def place(self, frames: np.ndarray | torch.Tensor, need: int) -> torch.Tensor:
        """A video's uint8 frames (n, H, W, 3) on the device, cut or zero-padded to ``need`` frames.

        Always a copy (the input may be a shared buffer that is reused). On CUDA the copy goes through
        pinned memory on a separate stream; later work on the current stream waits for it.
        """
        t0 = time.perf_counter()
        src = torch.from_numpy(frames) if isinstance(frames, np.ndarray) else frames
        n = min(int(src.shape[0]), need)
        shape = (need,) + tuple(src.shape[1:])
        if src.device == self.device or not self.cuda:
            out = torch.empty(shape, dtype=torch.uint8, device=src.device)
            out[:n].copy_(src[:n])
            out[n:].zero_()
            out = out.to(self.device)
        else:
            host = torch.empty(shape, dtype=torch.uint8, pin_memory=True)
            host[:n].copy_(src[:n])
            host[n:].zero_()
            with torch.cuda.stream(self.copy_stream):
                out = host.to(self.device, non_blocking=True)
            current = torch.cuda.current_stream(self.device)
            current.wait_stream(self.copy_stream)
            out.record_stream(current)
        self.timings["transfer"] += time.perf_counter() - t0
        return out

    # ------------------------------------------------------------------------------- batches

    def _preprocess(self, clips: np.ndarray | torch.Tensor) -> torch.Tensor:
        if self.on_device:
            return self.backbone.preprocess(clips)
        host = clips.cpu().numpy() if isinstance(clips, torch.Tensor) else clips
        return self.backbone.preprocess(host).to(self.device)

    def submit(self, pieces: Sequence[np.ndarray | torch.Tensor]) -> _InFlight:
        """Launch the forward pass of clips of several videos [(n_i, L, H_i, W_i, 3) uint8].

        Pieces whose preprocessed shapes agree (frame sizes may differ between videos) share a forward
        pass; each pass is padded to ``batch_size`` clips.
        """
        t0 = time.perf_counter()
        xs = [self._preprocess(p) for p in pieces]
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, x in enumerate(xs):
            groups.setdefault(tuple(x.shape[1:]), []).append(i)
        self.timings["preprocess"] += time.perf_counter() - t0
        outputs: list[torch.Tensor] = [torch.empty(0)] * len(xs)
        for members in groups.values():
            y = self._forward(torch.cat([xs[i] for i in members]) if len(members) > 1 else xs[members[0]])
            o = 0
            for i in members:
                outputs[i] = y[o : o + xs[i].shape[0]]
                o += xs[i].shape[0]
        ready = None
        if self.cuda:
            ready = torch.cuda.Event()
            ready.record(torch.cuda.current_stream(self.device))
        return _InFlight(outputs, ready)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """Preprocessed (n, ...) on the device -> (n, D) float32 (on the host once the batch is ready)."""
        t0 = time.perf_counter()
        n = x.shape[0]
        chunks = []
        for start in range(0, n, self.batch_size):
            part = x[start : start + self.batch_size]
            m = part.shape[0]
            if m < self.batch_size:  # a fixed shape: features never depend on the batch's size
                part = torch.cat([part, part.new_zeros((self.batch_size - m,) + tuple(part.shape[1:]))])
            if self.channels_last and part.dim() == 5:
                part = part.contiguous(memory_format=torch.channels_last_3d)
            else:
                part = part.contiguous()
            with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
                chunks.append(self.model(part)[:m].float())
        y = torch.cat(chunks) if len(chunks) > 1 else chunks[0]
        if self.cuda:  # to pinned host memory without waiting; ``collect`` waits
            y = torch.empty(tuple(y.shape), dtype=torch.float32, pin_memory=True).copy_(y, non_blocking=True)
        self.timings["forward"] += time.perf_counter() - t0
        return y

    def collect(self, flight: _InFlight) -> np.ndarray:
        """The features of a submitted batch, (sum n_i, D) float32, waiting for the device if needed."""
        t0 = time.perf_counter()
        if flight.ready is not None:
            flight.ready.synchronize()
        out = np.concatenate([o.numpy() for o in flight.outputs])
        self.timings["forward"] += time.perf_counter() - t0
        return out

    def __call__(self, pieces: Sequence[np.ndarray | torch.Tensor]) -> np.ndarray:
        """Features of clips of several videos, synchronously: (sum n_i, D) float32."""
        return self.collect(self.submit(pieces))
