"""Backbone registry, C3D weight loading (pickle and safetensors, real shapes) and preprocessing."""

from __future__ import annotations

import logging
import pickle
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from action2vec.errors import ConfigError, DataError
from action2vec.video.backbones import Backbone, create_backbone, list_backbones, register_backbone
from action2vec.video.backbones.c3d import C3D_SHAPES, SPORTS1M_MEAN_BGR


def test_registry_lists_c3d_and_demands_weights() -> None:
    assert {"c3d", "c3d-tiny"} <= set(list_backbones())
    with pytest.raises(ConfigError, match="--weights"):
        create_backbone("c3d")
    with pytest.raises(ConfigError, match="not both"):
        create_backbone("c3d-tiny", weights="x.safetensors", random_weights=True)
    with pytest.raises(ConfigError, match="unknown name"):
        create_backbone("nope")
    with pytest.raises(ConfigError, match="does not exist"):
        create_backbone("c3d", weights="/no/such/c3d.pickle")
    with pytest.raises(ConfigError, match="fc6 or|one of"):
        create_backbone("c3d-tiny", random_weights=True, layer="conv1")


def test_random_weights_warn_are_recorded_and_repeat(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        a = create_backbone("c3d-tiny", random_weights=True)
    assert "RANDOM weights" in caplog.text
    assert a.meta()["random_weights"] is True and a.meta()["pretrained"] is False
    b = create_backbone("c3d-tiny", random_weights=True)
    for pa, pb in zip(a.parameters(), b.parameters()):  # every process draws the same weights
        assert torch.equal(pa, pb)
    assert not a.training


class _Flat(Backbone):
    """A weight-free backbone registered with a plain function, like the motion backbone."""

    name, layer, dim, clip_len, pretrained = "flat-test", "mean", 3, 4, False
    needs_weights = False

    def preprocess(self, clips: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(clips).float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(1, 2, 3))


@register_backbone("flat-test")
def _flat(weights, random_weights, layer):  # type: ignore[no-untyped-def]
    return _Flat()


def test_weight_free_backbone_needs_no_weights_option() -> None:
    model = create_backbone("flat-test")
    x = np.full((2, 4, 5, 6, 3), 7, np.uint8)
    assert torch.allclose(model(model.preprocess(x)), torch.full((2, 3), 7.0))
    assert model.meta()["random_weights"] is False


def test_plugin_backbone_by_module_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_backbones.py").write_text(
        textwrap.dedent("""
        from action2vec.video.backbones import register_backbone
        from action2vec.video.backbones.c3d import TinyC3D

        @register_backbone("plugin-tiny", cls=TinyC3D)
        def make(weights, random_weights, layer):
            return TinyC3D(layer=layer or "fc6")
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    model = create_backbone("my_backbones:plugin-tiny", random_weights=True)
    assert model.layer == "fc6" and "plugin-tiny" in list_backbones()


def test_c3d_preprocess_crops_centre_and_swaps_to_bgr() -> None:
    model = create_backbone("c3d-tiny", random_weights=True)
    clips = np.zeros((1, 16, 64, 86, 3), np.uint8)
    clips[..., 0], clips[..., 1], clips[..., 2] = 200, 100, 50  # RGB
    clips[:, :, 4:60, 15:71, 1] = 10  # the 56x56 centre crop region has another green
    x = model.preprocess(clips)
    assert x.shape == (1, 3, 16, 56, 56) and x.dtype == torch.uint8  # converted to float in forward
    assert x[0, 0].unique().tolist() == [50] and x[0, 2].unique().tolist() == [200]
    assert x[0, 1].unique().tolist() == [10]
    other = model.preprocess(np.full((2, 16, 120, 160, 3), 77, np.uint8))  # resized in preprocess
    assert other.shape == (2, 3, 16, 56, 56) and other.unique().tolist() == [77]


def _reference_c3d(state: dict[str, torch.Tensor], clips: np.ndarray, layer: str) -> torch.Tensor:
    """C3D written out from the Tran et al. architecture table, reading the state dict directly.

    ``clips``: uint8 RGB (N, 16, 128, 171, 3); centre crop 112, BGR, minus the Sports-1M mean.
    """
    crop = clips[:, :, 8:120, 29:141, ::-1].astype(np.float32)  # (N, 16, 112, 112, 3) BGR
    x = torch.from_numpy(crop.transpose(0, 4, 1, 2, 3).copy()) - torch.tensor(SPORTS1M_MEAN_BGR).view(1, 3, 1, 1, 1)
    pools = {"conv1": (1, 2, 2), "conv2": (2, 2, 2), "conv3b": (2, 2, 2), "conv4b": (2, 2, 2)}
    for name in ("conv1", "conv2", "conv3a", "conv3b", "conv4a", "conv4b", "conv5a", "conv5b"):
        x = F.relu(F.conv3d(x, state[f"{name}.weight"].float(), state[f"{name}.bias"].float(), padding=1))
        if name in pools:
            x = F.max_pool3d(x, pools[name], pools[name])
    x = F.max_pool3d(x, (2, 2, 2), (2, 2, 2), padding=(0, 1, 1))
    x = F.relu(F.linear(x.reshape(x.shape[0], -1), state["fc6.weight"].float(), state["fc6.bias"].float()))
    if layer == "fc7":
        x = F.relu(F.linear(x, state["fc7.weight"].float(), state["fc7.bias"].float()))
    return x


@pytest.fixture(scope="module")
def c3d_state() -> dict[str, torch.Tensor]:
    """A state dict with the Sports-1M port's keys and shapes (fc8: 487 classes), float16 to stay small."""
    g = torch.Generator().manual_seed(0)
    state = {}
    for key, shape in C3D_SHAPES.items():
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        state[key] = (torch.randn(shape, generator=g) * (2.0 / fan_in) ** 0.5).half()
    return state


@pytest.mark.parametrize("fmt", ["pickle", "safetensors"])
def test_c3d_loads_the_pytorch_port_state_dict(tmp_path: Path, c3d_state: dict[str, torch.Tensor], fmt: str) -> None:
    if fmt == "pickle":
        path = tmp_path / "c3d.pickle"
        torch.save(c3d_state, path)
    else:
        from safetensors.torch import save_file

        path = tmp_path / "c3d.safetensors"
        save_file(c3d_state, str(path))
    layer = "fc7" if fmt == "pickle" else "fc6"
    model = create_backbone("c3d", weights=path, layer=layer)
    path.unlink()
    assert model.pretrained and model.meta()["random_weights"] is False and model.dim == 4096
    assert torch.equal(model.conv3a.weight, c3d_state["conv3a.weight"].float())
    clips = np.random.default_rng(1).integers(0, 255, (1, 16, 128, 171, 3), dtype=np.uint8)
    with torch.inference_mode():
        got = model(model.preprocess(clips))
    want = _reference_c3d(c3d_state, clips, layer)
    assert got.shape == (1, 4096) and got.abs().sum() > 0
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_c3d_loader_rejects_wrong_shapes_missing_keys_and_objects(
    tmp_path: Path, c3d_state: dict[str, torch.Tensor]
) -> None:
    bad = dict(c3d_state)
    bad["fc6.weight"] = torch.zeros(10, 10)
    torch.save(bad, tmp_path / "shape.pt")
    with pytest.raises(DataError, match="fc6.weight has shape"):
        create_backbone("c3d", weights=tmp_path / "shape.pt")
    torch.save({k: v for k, v in c3d_state.items() if not k.startswith("conv1")}, tmp_path / "missing.pt")
    with pytest.raises(DataError, match="missing conv1"):
        create_backbone("c3d", weights=tmp_path / "missing.pt")
    for p in tmp_path.glob("*.pt"):
        p.unlink()

    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (print, ("unpickled!",))

    (tmp_path / "evil.pickle").write_bytes(pickle.dumps({"conv1.weight": Evil()}))
    with pytest.raises(DataError, match="not a plain tensor state dict"):
        create_backbone("c3d", weights=tmp_path / "evil.pickle")


def test_torchvision_backbones_when_installed() -> None:
    tv = pytest.importorskip("torchvision")
    assert tv is not None
    for name in ("r3d_18", "r2plus1d_18", "s3d", "mvit_v2_s"):
        assert name in list_backbones()
    model = create_backbone("r3d_18", random_weights=True)
    x = model.preprocess(np.zeros((2, 16, 128, 171, 3), np.uint8))
    with torch.inference_mode():
        assert model(x).shape == (2, 512)


def test_torchvision_wrapper_with_a_stand_in_torchvision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The torchvision backbone logic (cache lookup, head removal, preprocessing) without torchvision."""
    import sys
    import types

    from torch import nn

    from action2vec.video.backbones.torchvision_models import TorchvisionVideo

    class FakeR3D(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv3d(3, 8, 3, padding=1)
            self.fc = nn.Linear(8, 400)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(F.relu(self.stem(x)).mean(dim=(2, 3, 4)))

    video = types.ModuleType("torchvision.models.video")
    video.r3d_18 = lambda weights=None: FakeR3D()  # type: ignore[attr-defined]
    models = types.ModuleType("torchvision.models")
    models.video = video  # type: ignore[attr-defined]
    models.get_weight = lambda name: types.SimpleNamespace(url="https://x/models/r3d_18-b3b3357e.pth")  # type: ignore
    tv = types.ModuleType("torchvision")
    tv.models = models  # type: ignore[attr-defined]
    for name, mod in (("torchvision", tv), ("torchvision.models", models), ("torchvision.models.video", video)):
        monkeypatch.setitem(sys.modules, name, mod)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))

    with pytest.raises(ConfigError, match="torchvision's cache"):
        TorchvisionVideo("r3d_18")
    reference = FakeR3D()
    (tmp_path / "checkpoints").mkdir()
    torch.save(reference.state_dict(), tmp_path / "checkpoints" / "r3d_18-b3b3357e.pth")
    model = TorchvisionVideo("r3d_18").eval()
    assert model.dim == 8 and model.pretrained and model.frame_size == (128, 171)

    clips = np.random.default_rng(0).integers(0, 255, (2, 16, 128, 171, 3), dtype=np.uint8)
    x = model.preprocess(clips)
    assert x.shape == (2, 3, 16, 112, 112)
    crop = torch.from_numpy(clips[:, :, 8:120, 29:141].astype(np.float32) / 255).permute(0, 4, 1, 2, 3)
    mean = torch.tensor((0.43216, 0.394666, 0.37645)).view(1, 3, 1, 1, 1)
    std = torch.tensor((0.22803, 0.22145, 0.216989)).view(1, 3, 1, 1, 1)
    with torch.inference_mode():
        want = F.relu(reference.stem((crop - mean) / std)).mean(dim=(2, 3, 4))
        torch.testing.assert_close(model(x), want, rtol=1e-4, atol=1e-5)
