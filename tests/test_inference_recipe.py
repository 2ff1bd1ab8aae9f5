"""The video recipe a model records is enforced: a store made with random weights is never embedded with
pretrained ones, a backbone that loads its weights from a cache needs none given, and the model card's usage
asks for weights exactly when the recipe needs them."""

from __future__ import annotations

import numpy as np
import pytest

from action2vec.errors import ConfigError
from action2vec.inference import VideoRecipe
from action2vec.model_folder import ModelInfo, model_card
from action2vec.models import ModelConfig
from action2vec.text import LabelVectors
from action2vec.video.backbones import register_backbone
from action2vec.video.backbones.c3d import TinyC3D
from action2vec.video.config import ClipConfig


class CachedTiny(TinyC3D):
    """A backbone that needs weights but finds them in a cache when none are given (as torchvision's do)."""

    name = "cached-tiny-test"
    cached_weights = True


@register_backbone("cached-tiny-test", cls=CachedTiny)
def _make_cached(weights, random_weights, layer):
    model = CachedTiny()
    model.pretrained = True  # "loaded from the cache"
    return model


def test_a_random_weights_recipe_refuses_weights(tmp_path):
    weights = tmp_path / "c3d.pickle"
    weights.write_bytes(b"weights")
    recipe = VideoRecipe("c3d-tiny", "fc7", True, ClipConfig())
    assert not recipe.needs_weights()
    with pytest.raises(ConfigError, match="random weights"):
        recipe.create_backbone(weights)
    assert not recipe.create_backbone().pretrained  # its seeded random weights, as the store's


def test_a_cached_backbone_needs_no_weights_given():
    recipe = VideoRecipe("cached-tiny-test", "fc7", False, ClipConfig())
    assert not recipe.needs_weights()
    assert recipe.create_backbone().pretrained
    assert VideoRecipe("c3d", "fc7", False, ClipConfig()).needs_weights()


@pytest.mark.parametrize(
    "backbone, random_weights, asks",
    [
        ("c3d", False, True),
        ("c3d", True, False),
        ("c3d-tiny", True, False),
        ("motion", False, False),
        ("cached-tiny-test", False, False),
    ],
)
def test_the_cards_usage_asks_for_weights_when_the_recipe_needs_them(tmp_path, backbone, random_weights, asks):
    info = ModelInfo(
        model=ModelConfig(input_dim=4, embed_dim=2),
        classes=["a", "b"],
        features={"backbone": backbone, "random_weights": random_weights},
    )
    card = model_card(info, LabelVectors(["a", "b"], np.eye(2), text="minilm"), tmp_path)
    assert ('backbone_weights="WEIGHTS"' in card) == asks
    assert ("--weights WEIGHTS" in card) == asks


def test_the_card_records_the_training_store_resolved(tmp_path, monkeypatch):
    """A store named relative to the working folder means nothing from another one: the folder records it absolute."""
    from action2vec.config import load_config
    from action2vec.model_folder import read_model_info
    from action2vec.store import open_store
    from action2vec.testing import make_synthetic_store, synthetic_label_vectors
    from action2vec.training import RunConfig, fit

    monkeypatch.chdir(tmp_path)
    lv = synthetic_label_vectors(3, dim=4, seed=1)
    make_synthetic_store("s.h5", lv, videos_per_class=3, steps=6, feature_dim=6, seed=1)
    cfg = load_config(
        RunConfig,
        None,
        ["model.preset=tiny", "train.epochs=1", "train.progress_bar=false", "data.val_fraction=0", "data.store=s.h5"],
    )
    model_dir = fit(cfg, "run", store=open_store("s.h5"), label_vectors=lv).model_dir
    assert read_model_info(model_dir).data.store == str(tmp_path.resolve() / "s.h5")
    assert f"feature store: `{tmp_path.resolve() / 's.h5'}`" in (model_dir / "README.md").read_text()


def test_weights_other_than_the_stores_are_refused_by_their_digest(tmp_path):
    """The store records the SHA-256 of the weights it was extracted with; other weights would make other
    features, so new videos are not embedded with them."""
    import hashlib

    import torch

    from action2vec.errors import DataError

    same, other = tmp_path / "same.pt", tmp_path / "other.pt"
    torch.save(TinyC3D().state_dict(), same)
    torch.manual_seed(1)
    torch.save(TinyC3D().state_dict(), other)
    digest = hashlib.sha256(same.read_bytes()).hexdigest()
    recipe = VideoRecipe.from_features(
        {
            "backbone": "c3d-tiny",
            "layer": "fc7",
            "fps": 10,
            "duration": 2,
            "clip_len": 16,
            "stride": 8,
            "random_weights": False,
            "weights_sha256": digest,
        }
    )
    assert recipe.create_backbone(same).weights_sha256 == digest
    with pytest.raises(DataError, match="not the weights the training store was extracted with"):
        recipe.create_backbone(other)
