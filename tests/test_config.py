from dataclasses import dataclass, field

import pytest

from action2vec.config import ConfigError, load_config, option, save_config, to_dict
from action2vec.training import RunConfig


@dataclass
class Inner:
    lr: float = option(1e-3, "learning rate")
    names: list[str] = option([], "names")


@dataclass
class Outer:
    inner: Inner = field(default_factory=Inner)
    epochs: int = option(3, "epochs")


def test_yaml_then_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("inner:\n  lr: 0.5\nepochs: 7\n")
    cfg = load_config(Outer, path, ["inner.lr=0.25", "inner.names=a,b"])
    assert cfg.inner.lr == 0.25 and cfg.epochs == 7 and cfg.inner.names == ["a", "b"]


def test_unknown_key_is_named(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("inner:\n  lrr: 0.5\n")
    with pytest.raises(ConfigError, match=r"unknown config key 'inner\.lrr'"):
        load_config(Outer, path)


def test_wrong_type_is_named():
    with pytest.raises(ConfigError, match=r"'epochs'"):
        load_config(Outer, None, ["epochs=three"])
    with pytest.raises(ConfigError, match=r"model\.variant"):
        load_config(RunConfig, None, ["model.variant=transformer"])


def test_roundtrip(tmp_path):
    cfg = load_config(RunConfig, None, ["train.lr=0.01", "model.preset=tiny", "data.classes=[x, y]"])
    save_config(cfg, tmp_path / "config.yaml")
    again = load_config(RunConfig, tmp_path / "config.yaml")
    assert to_dict(again) == to_dict(cfg)
    assert again.data.classes == ["x", "y"]
