"""Sizes before allocation: the memory a training configuration needs, checked before anything is written.

A setting such as ``model.window=100000`` or ``model.lstm1_hidden=100000000`` is in its range but needs
terabytes; allocated, it ends in the kernel's OOM killer (exit 137, no message, other processes killed) or a
traceback after the run folder was written. :func:`estimate_training_memory` adds up, without allocating:

* parameters: the network built on PyTorch's ``meta`` device (shapes only), times four for the weights,
  their gradients and Adam's two moments;
* activations: what autograd keeps for the backward pass of one batch of the store's longest training video
  (``steps``), counted tensor by tensor from the network's forward (:mod:`action2vec.models.networks`); the
  soft attention of every step over the whole window (``window`` x ``window`` per window) dominates it;
* features: the training features when they are read into memory (``data.in_memory``).

:func:`check_training_memory` compares the sum with what the device can give (``MemAvailable`` of
``/proc/meminfo`` for the CPU, or less where ``ulimit -v`` allows less; the free memory of a CUDA device) and
raises one :class:`ConfigError` with the estimate and what fits. The estimate is of float32 training (a
mixed-precision run needs less) and is meant to an order of magnitude: ``tests/test_memory_estimate.py`` checks it
is never below, and within 4x of, what a step keeps allocated.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import asdict, dataclass
from typing import Any

import torch

from action2vec.errors import ConfigError
from action2vec.models import ModelConfig, build_model, resolve_config
from action2vec.models.factory import resolved

__all__ = ["MemoryEstimate", "estimate_training_memory", "available_memory", "check_training_memory"]

log = logging.getLogger(__name__)

_FLOAT = 4  # bytes of a float32
_STATE_COPIES = 4  # weights, gradients, Adam's exp_avg and exp_avg_sq


@dataclass
class MemoryEstimate:
    """Bytes a training run needs on one device."""

    parameters: int  # weights + gradients + optimiser state
    activations: int  # kept by autograd for one batch's backward pass
    features: int  # training features held in memory (0 when streamed)
    batch_size: int  # videos per batch on this device
    steps: int  # steps of the longest training video

    @property
    def total(self) -> int:
        return self.parameters + self.activations + self.features

    def batch_that_fits(self, available: int) -> int:
        """The largest batch (videos per device) whose estimate fits in ``available`` bytes (0: none)."""
        per_video = self.activations / max(1, self.batch_size)
        room = available - self.parameters - self.features
        return max(0, int(room // per_video)) if per_video > 0 else self.batch_size

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "total": self.total}


def _gb(n: float) -> str:
    return f"{n / 2**30:,.1f} GB" if n < 2**40 * 10 else f"{n / 2**40:,.0f} TB"


def _attentive_lstm(n: int, length: int, d_in: int, hidden: int, attn: int, attention: bool, use_x: bool) -> int:
    """Floats kept for the backward pass by ``AttentiveLSTM`` over (n, length, d_in)."""
    kept = n * length * d_in  # the masked copy of the input
    if use_x:
        kept += n * length * 4 * hidden  # x_to_gates over all steps
    per_step = n * (4 * hidden + attn) + n * 4 * hidden + 12 * n * hidden  # h_proj, the gate sum, the cell
    if attention:
        kept += n * length * attn  # keys
        # tanh(keys + query) over the whole sequence (kept, and its gradient in the backward pass), the scores,
        # softmax and mask; the context and its gates
        per_step += n * length * (2 * attn + 4) + n * d_in + n * 4 * hidden
    return kept + length * per_step


def _activations(cfg: ModelConfig, batch: int, steps: int, num_classes: int) -> int:
    """Floats kept for the backward pass of one batch of ``batch`` videos of ``steps`` steps (``cfg`` resolved)."""
    d, h1 = resolved(cfg.input_dim, "input_dim"), resolved(cfg.lstm1_hidden, "lstm1_hidden")
    head = batch * (resolved(cfg.embed_dim, "embed_dim") * 2 + num_classes)
    if cfg.variant in ("hrnn_attention", "hrnn"):
        h2 = resolved(cfg.lstm2_hidden, "lstm2_hidden")
        attention = cfg.variant == "hrnn_attention"
        use_x = not attention or cfg.attention_input == "concat"
        attn = resolved(cfg.attention_dim, "attention_dim") if attention else 0
        windows = max(1, math.ceil((steps - cfg.window) / cfg.window_stride) + 1)
        padded = (windows - 1) * cfg.window_stride + cfg.window
        inputs = batch * padded * d + batch * windows * cfg.window * d  # padded batch, its windows
        lstm1 = _attentive_lstm(batch * windows, cfg.window, d, h1, attn, attention, use_x)
        lstm2 = _attentive_lstm(batch, windows, h1, h2, attn, attention, use_x)
        return inputs + lstm1 + 2 * batch * windows * h1 + lstm2 + head
    layers = 2 if cfg.variant == "stacked_lstm" else 1
    per_layer = batch * steps * (d + 24 * h1)  # inputs, gates and states of every step (PyTorch's LSTM)
    return layers * per_layer + head


def _parameters(cfg: ModelConfig, num_classes: int) -> int:
    with torch.device("meta"):  # shapes only: nothing is allocated, whatever the sizes
        net = build_model(cfg, num_classes=num_classes)
    return sum(p.numel() for p in net.parameters())


def estimate_training_memory(
    cfg: ModelConfig, num_classes: int, batch_size: int, steps: int, feature_bytes: int = 0
) -> MemoryEstimate:
    """The memory one device needs to train network ``cfg`` (``input_dim``/``embed_dim`` set) with batches of
    ``batch_size`` videos of up to ``steps`` steps, plus ``feature_bytes`` of features held in memory. Sizes
    left unset are taken from the preset, as :func:`~action2vec.models.build_model` does."""
    cfg = resolve_config(cfg)
    params = _parameters(cfg, num_classes if cfg.classifier else 0)
    acts = _activations(cfg, batch_size, max(1, steps), num_classes if cfg.classifier else 0)
    return MemoryEstimate(
        parameters=params * _FLOAT * _STATE_COPIES,
        activations=acts * _FLOAT,
        features=int(feature_bytes),
        batch_size=batch_size,
        steps=steps,
    )


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _address_space_left() -> int | None:
    """What ``ulimit -v`` (RLIMIT_AS) still lets this process map: the limit less what it has mapped; None
    without a limit."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft < 0 or soft == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/status", encoding="ascii") as f:
            mapped = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    except (ImportError, OSError, ValueError, IndexError, StopIteration):
        return None
    return max(0, soft - mapped)


def available_memory(device: torch.device | str = "cpu") -> int:
    """Bytes this process can still allocate on ``device``: a CUDA device's free memory; for the CPU the
    kernel's ``MemAvailable`` (else the free physical pages, else 8 GiB), or less where ``ulimit -v`` allows
    less."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    found = _meminfo_available()
    if found is None:
        try:
            found = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
        except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
            found = 8 << 30
    limit = _address_space_left()
    return found if limit is None else min(found, limit)


def check_training_memory(
    estimate: MemoryEstimate, cfg: ModelConfig, device: torch.device | str = "cpu", available: int | None = None
) -> None:
    """ConfigError, in one line with the estimate and what fits, when ``estimate`` exceeds the memory
    ``available`` on ``device`` (default: :func:`available_memory`)."""
    device = torch.device(device)
    available = available_memory(device) if available is None else available
    log.debug("memory estimate %s; available on %s: %d bytes", estimate.to_json(), device, available)
    if estimate.total <= available:
        return
    fits = estimate.batch_that_fits(available)
    if fits >= 1:
        advice = f"train.batch_size {fits} per device would fit"
    elif estimate.parameters + estimate.features > available:
        advice = (
            f"the network alone does not fit: lower model.lstm1_hidden ({cfg.lstm1_hidden}), "
            f"model.lstm2_hidden ({cfg.lstm2_hidden}) or model.attention_dim ({cfg.attention_dim})"
        )
    else:
        advice = (
            f"not even one video per batch fits: lower model.window ({cfg.window}), model.attention_dim "
            f"({cfg.attention_dim}) or the hidden sizes"
        )
    raise ConfigError(
        f"this configuration needs about {_gb(estimate.total)} of memory (parameters with gradients and optimiser "
        f"state {_gb(estimate.parameters)}, activations of a batch of {estimate.batch_size} videos of "
        f"{estimate.steps} steps {_gb(estimate.activations)}, features in memory {_gb(estimate.features)}), "
        f"but {_gb(available)} are available on {device.type}; {advice}"
    )
