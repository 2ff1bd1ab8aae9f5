"""Sizes before allocation: the training memory estimate against a measured step, its parts against naive
counts, and the refusal of a configuration that cannot fit, before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from action2vec.cli.main import main
from action2vec.errors import ConfigError
from action2vec.models import ModelConfig, build_model, resolve_config
from action2vec.testing import make_synthetic_store, synthetic_label_vectors, write_vectors_file
from action2vec.training.memory import available_memory, check_training_memory, estimate_training_memory


def _cfg(**kw) -> ModelConfig:
    base = {"preset": "cpu", "input_dim": 64, "embed_dim": 32}
    return resolve_config(ModelConfig(**{**base, **kw}))


@pytest.mark.parametrize("variant", ["hrnn_attention", "hrnn", "stacked_lstm", "single_lstm"])
def test_parameters_are_counted_without_allocating_them(variant):
    cfg = _cfg(variant=variant)
    net = build_model(cfg, num_classes=7)
    naive = sum(p.numel() for p in net.parameters()) * 4 * 4  # float32 weights, gradients, Adam's two moments
    assert estimate_training_memory(cfg, 7, 8, 16).parameters == naive
    huge = _cfg(variant=variant, lstm1_hidden=100_000_000)
    assert estimate_training_memory(huge, 7, 8, 16).parameters > 10**15  # counted, never allocated


def test_a_configuration_with_sizes_left_to_its_preset_is_estimated_as_build_model_builds_it():
    """Like build_model, the estimate fills the sizes left unset from the preset (it raised a TypeError on None)."""
    unresolved = ModelConfig(preset="cpu", input_dim=64, embed_dim=32)
    assert estimate_training_memory(unresolved, 5, 8, 16) == estimate_training_memory(_cfg(), 5, 8, 16)


def test_activations_grow_with_the_batch_and_with_the_window_squared_under_attention():
    cfg = _cfg(window=64, window_stride=8)
    one, two = (estimate_training_memory(cfg, 5, b, 64).activations for b in (8, 16))
    assert two == pytest.approx(2 * one, rel=0.01)
    small, big = (estimate_training_memory(_cfg(window=w, window_stride=w), 5, 1, w).activations for w in (1000, 2000))
    assert 3.5 < big / small < 4.5  # every step of a window attends to the whole window


def _kept_by_autograd(cfg: ModelConfig, batch: int, steps: int) -> int:
    """Measured: bytes of the weights with gradients and Adam's moments (as allocated: 4 copies) plus every
    storage autograd keeps for the backward pass of one batch (each storage once, however many views)."""
    net = build_model(cfg, num_classes=10)
    x, lengths = torch.randn(batch, steps, cfg.input_dim), torch.full((batch,), steps)
    storages: dict[int, int] = {}

    def keep(t: torch.Tensor) -> torch.Tensor:
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(keep, lambda t: t):
        net(x, lengths)
    return sum(p.numel() * p.element_size() * 4 for p in net.parameters()) + sum(storages.values())


@pytest.mark.parametrize(
    "kw, batch, steps",
    [
        ({"variant": "hrnn_attention", "window": 64, "window_stride": 8}, 16, 64),
        ({"variant": "hrnn_attention", "window": 8, "window_stride": 8}, 32, 64),
        ({"variant": "hrnn", "window": 8, "window_stride": 8, "lstm1_hidden": 512}, 64, 128),
        ({"variant": "single_lstm"}, 32, 128),
        ({"variant": "stacked_lstm"}, 16, 64),
    ],
)
def test_the_estimate_is_what_autograd_keeps_to_an_order_of_magnitude(kw, batch, steps):
    """Never below what a step keeps allocated, and within 4x of it (the estimate adds the backward pass's
    transient tensors; it was 0.5 to 1.2 times the peak resident memory of a whole step on these configs)."""
    cfg = _cfg(**kw)
    measured = _kept_by_autograd(cfg, batch, steps)
    estimate = estimate_training_memory(cfg, 10, batch, steps).total
    assert measured > 10 * 2**20  # the batch, not noise, dominates
    assert 1 <= estimate / measured < 4, (estimate, measured)


def test_a_configuration_that_does_not_fit_names_the_estimate_and_the_batch_that_fits():
    cfg = _cfg()
    estimate = estimate_training_memory(cfg, 5, 64, 32)
    per_video = estimate.activations / 64
    available = estimate.parameters + int(10.5 * per_video)  # room for ten videos' activations
    with pytest.raises(ConfigError, match=r"needs about .* available on cpu; train.batch_size 10 per device would fit"):
        check_training_memory(estimate, cfg, "cpu", available=available)
    check_training_memory(estimate, cfg, "cpu", available=estimate.total)  # exactly enough: fine


def test_available_memory_is_the_kernels_figure():
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    total = int(meminfo["MemTotal"].split()[0]) * 1024
    assert 0 < available_memory("cpu") <= total


def test_available_memory_heeds_the_address_space_limit(monkeypatch):
    """Under ``ulimit -v`` (RLIMIT_AS) a configuration the machine could hold passed the check and then ended in
    a traceback ("DefaultCPUAllocator: can't allocate memory", exit 1): what the process may still map counts."""
    import resource

    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    mapped = int(status["VmSize"].split()[0]) * 1024
    limit = mapped + (256 << 20)
    monkeypatch.setattr(
        resource, "getrlimit", lambda which: (limit, limit) if which == resource.RLIMIT_AS else (-1, -1)
    )
    assert available_memory("cpu") <= 300 << 20


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sizes")
    labels = synthetic_label_vectors(3, dim=8, seed=11)
    return {
        "store": make_synthetic_store(root / "s.h5", labels, videos_per_class=6, steps=6, feature_dim=12, seed=11),
        "vectors": write_vectors_file(labels, root / "v.npz"),
    }


@pytest.mark.parametrize("setting", [["--model.window", "100000"], ["--model.lstm1_hidden", "100000000"]])
def test_a_run_that_cannot_fit_is_refused_before_any_file_and_the_corrected_command_runs(
    data, tmp_path, capsys, setting
):
    run = tmp_path / "run"
    argv = [
        "train",
        "--out",
        str(run),
        "--data.store",
        str(data["store"]),
        "--data.text",
        f"vectors:{data['vectors']}",
        "--model.preset",
        "tiny",
        "--train.epochs",
        "1",
        "--train.progress_bar",
        "false",
    ]
    assert main(argv + setting) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("action2vec ")]
    assert "Traceback" not in err and len(lines) == 1, err
    assert "needs about" in lines[0] and "available on cpu" in lines[0] and setting[0][2:] in lines[0], lines[0]
    assert not run.exists()
    assert main(argv) == 0
    assert (run / "model" / "model.safetensors").is_file()
