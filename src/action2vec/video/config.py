"""Settings of extraction (kept free of heavy imports so the CLI can build its options quickly)."""

from __future__ import annotations

from dataclasses import dataclass, field

from action2vec.config import option

__all__ = ["ClipConfig", "ComputeConfig", "ExtractConfig"]


@dataclass
class ClipConfig:
    """How a video becomes a sequence of clips."""

    fps: float = option(30.0, "frame rate every video is resampled to (by timestamps; handles VFR)", gt=0)
    duration: float = option(14.0, "seconds per video: longer videos are cut, shorter ones zero-padded", gt=0)
    clip_len: int = option(0, "frames per clip; 0 = what the backbone expects (C3D: 16)", ge=0)
    stride: int = option(8, "frames between the starts of consecutive clips (8 gives 52 steps at 14 s)", ge=1)
    decoder: str = option("pyav", "video decoder: pyav, or torchcodec where installed", nonempty=True)
    short_side: int = option(128, "decode-time resize of the short side when the backbone names no frame size", ge=1)
    decode_threads: int = option(1, "FFmpeg threads per decoding worker (0 = FFmpeg's choice)", ge=0)


@dataclass
class ComputeConfig:
    """Where and how fast extraction runs."""

    batch_size: int = option(32, "clips per backbone forward pass (clips of several videos share a batch)", ge=1)
    workers: int = option(
        -1,
        "decoding worker processes (0 = decode in the main process; -1 = the CPU cores but one, "
        "shared among the torchrun ranks of a node)",
        ge=-1,
    )
    device: str = option("auto", "auto (CUDA when available, else CPU), cpu, cuda, cuda:1, ...", nonempty=True)
    amp: bool = option(True, "bfloat16 autocast on GPU")
    channels_last: bool = option(True, "channels-last (3D) memory format on GPU")
    compile: bool = option(False, "torch.compile the backbone (batches are padded to a fixed size)")
    flush_every: int = option(32, "finished videos per part file", ge=1)
    flush_seconds: float = option(30.0, "also write a part file when this many seconds passed since the last", gt=0)
    progress: bool = option(True, "show a progress bar (videos/s, ETA)")
    barrier_timeout: float = option(86400.0, "seconds a torchrun rank waits for the others before merging", gt=0)
    cudnn_benchmark: bool = option(True, "cuDNN autotuning of the convolutions on GPU (batches have a fixed shape)")


@dataclass
class ExtractConfig:
    """Settings of ``action2vec extract`` (backbone and inputs are given separately)."""

    video: ClipConfig = field(default_factory=ClipConfig, metadata={"help": "decoding and clip sampling"})
    compute: ComputeConfig = field(default_factory=ComputeConfig, metadata={"help": "batching, workers, device"})
