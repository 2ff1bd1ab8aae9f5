"""Configs of a training run: data, model, loss and optimisation, each its own dataclass."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from action2vec.config import MAX_SEED, option
from action2vec.losses import LossConfig
from action2vec.models import ModelConfig


@dataclass
class DataConfig:
    store: str = option("", "feature store (HDF5) to train on")
    annotations: str = option("", "label file for ActivityNet-style stores (JSON or 'key label' rows)")
    text: str = option(
        "minilm",
        "label-text embedder spec: minilm, sentence-transformers:X, word2vec:P, glove:P, fasttext:P, vectors:P, "
        "hf:P (the text tower of a local CLIP/SigLIP/X-CLIP folder)",
    )
    prompts: list[str] = option(
        [],
        "label prompt templates for sentence encoders, each with one '{}' for the label (e.g. 'a video of a "
        "person {}'); several are averaged. Default: the label phrase alone. Word-vector embedders refuse them",
    )
    classes: list[str] | None = option(
        None, "train on these classes only (default: every labelled class in the store)", nonempty=True
    )
    classes_file: str = option("", "file with one training class per line (alternative to classes)")
    val_fraction: float = option(0.1, "held-out fraction of each seen class's videos for validation", ge=0, lt=1)
    in_memory: Literal["auto", "yes", "no"] = option(
        "auto",
        "load the selected features into RAM (auto: when they fit in data.memory_budget_gb); otherwise "
        "they stream from the store, a batch at a time",
        execution=True,
    )
    memory_budget_gb: float = option(
        0.0,
        "RAM the training features may take, in GB, for data.in_memory=auto (0: a quarter of the machine's)",
        ge=0,
        execution=True,
    )
    device_cache: Literal["auto", "yes", "no"] = option(
        "auto",
        "keep the training features in accelerator memory and gather batches there (auto: on a GPU when they fit in half its free memory)",
        execution=True,
    )


@dataclass
class TrainConfig:
    epochs: int = option(30, "training epochs", ge=1)
    batch_size: int = option(64, "global batch size (split across processes)", ge=1)
    lr: float = option(1e-3, "Adam learning rate", gt=0)
    weight_decay: float = option(0.0, "Adam weight decay", ge=0)
    grad_clip: float = option(5.0, "gradient-norm clipping (0: off)", ge=0)
    seed: int = option(0, "random seed (splits, initialisation, shuffling, dropout)", ge=0, le=MAX_SEED)
    num_workers: int = option(
        0, "DataLoader worker processes (they read streamed batches ahead of the step)", ge=0, execution=True
    )
    accelerator: Literal["auto", "cpu", "gpu", "cuda", "mps"] = option("auto", "Lightning accelerator", execution=True)
    devices: str = option("auto", "devices per node ('auto', a count, or a list)", nonempty=True, execution=True)
    num_nodes: int = option(1, "nodes (under torchrun)", ge=1, execution=True)
    strategy: Literal["auto", "ddp", "ddp_find_unused_parameters_true", "ddp_spawn", "fsdp", "single_device"] = option(
        "auto", "Lightning strategy (auto: DDP when there are several processes)", execution=True
    )
    compile: Literal["eager", "default", "reduce-overhead", "max-autotune-no-cudagraphs"] = option(
        "eager",
        "torch.compile the network's training forward with this mode (static batch shapes; "
        "reduce-overhead adds CUDA graphs); eager: not compiled",
        execution=True,
    )
    precision: Literal["auto", "32-true", "bf16-mixed", "16-mixed", "bf16-true", "16-true", "64-true"] = option(
        "auto", "auto (bf16-mixed on a GPU that supports it, else 32-true) or a Lightning precision"
    )
    checkpoint_every_n_steps: int = option(
        0, "also checkpoint every N optimiser steps (0: each epoch only)", ge=0, execution=True
    )
    resume: bool = option(
        True,
        "resume from RUN_DIR/checkpoints/last.ckpt when present (a damaged one: from the newest intact "
        "checkpoint); false starts over",
        execution=True,
    )
    log_every_n_steps: int = option(10, "logging interval in steps", ge=1, execution=True)
    progress_bar: bool = option(True, "show a progress bar", execution=True)


@dataclass
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested config dict as ``{"section.key": value}``."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out
