"""New label texts are embedded the way the model's label vectors were: the same embedder, prompts and
out-of-vocabulary policy (recorded in labels.json; older files without it read as "error")."""

from __future__ import annotations

import json

import numpy as np
import pytest

from action2vec.cli.main import main
from action2vec.config import load_config
from action2vec.errors import DataError
from action2vec.inference import Action2Vec
from action2vec.store import open_store
from action2vec.testing import make_synthetic_store, synthetic_label_vectors
from action2vec.text import LabelVectors, build_label_vectors
from action2vec.training import RunConfig, fit


@pytest.fixture(scope="module")
def skip_model(tmp_path_factory):
    """A tiny model whose label vectors came from a word mapping with oov='skip'."""
    root = tmp_path_factory.mktemp("oov")
    lv = synthetic_label_vectors(4, dim=8, seed=2)
    store = make_synthetic_store(root / "s.h5", lv, videos_per_class=4, steps=8, feature_dim=12, seed=2)
    violin = np.random.default_rng(3).standard_normal(8).astype(np.float32)
    mapping = root / "map.npz"
    np.savez(mapping, names=np.array(lv.names + ["violin"]), vectors=np.concatenate([lv.vectors, violin[None]]))
    vectors = build_label_vectors(lv.names, f"vectors:{mapping}", oov="skip")
    assert vectors.oov == "skip"
    cfg = load_config(
        RunConfig,
        None,
        [
            "model.preset=tiny",
            "train.batch_size=8",
            "train.epochs=1",
            "train.progress_bar=false",
            "data.val_fraction=0",
        ],
    )
    result = fit(cfg, root / "run", store=open_store(store), label_vectors=vectors)
    return result.model_dir, violin


def test_a_skip_trained_model_embeds_a_new_label_with_an_unknown_word(skip_model):
    model_dir, violin = skip_model
    assert json.loads((model_dir / "labels.json").read_text())["oov"] == "skip"
    model = Action2Vec.load(model_dir)
    emb = model.encode_text(["violin daf"])  # "daf" is not in the mapping: left out, as training would have
    np.testing.assert_allclose(emb[0], violin / np.linalg.norm(violin), rtol=1e-5, atol=1e-6)


def test_label_files_without_a_policy_read_as_error(skip_model, tmp_path):
    lv = LabelVectors.load(skip_model[0])
    lv.save(tmp_path)
    doc = json.loads((tmp_path / "labels.json").read_text())
    del doc["oov"]
    (tmp_path / "labels.json").write_text(json.dumps(doc))
    assert LabelVectors.load(tmp_path).oov == "error"
    doc["oov"] = "sometimes"
    (tmp_path / "labels.json").write_text(json.dumps(doc))
    with pytest.raises(DataError, match="labels.json: 'oov'"):
        LabelVectors.load(tmp_path)


def test_duplicate_labels_are_ranked_once_in_their_first_order(skip_model, capsys):
    model_dir, _ = skip_model
    model = Action2Vec.load(model_dir)
    feats = np.random.default_rng(0).standard_normal((2, 8, 12)).astype(np.float32)
    preds = model.classify_features(feats, None, ["class001", "class000", "class001"], top_k=3)
    assert all(sorted(p.labels) == ["class000", "class001"] for p in preds)
    capsys.readouterr()
    np.save(model_dir.parent / "f.npy", feats[0])
    assert (
        main(
            [
                "classify",
                "--model",
                str(model_dir),
                "--features",
                str(model_dir.parent / "f.npy"),
                "--labels",
                "class002,class002,class003",
                "--top-k",
                "2",
            ]
        )
        == 0
    )
    row = capsys.readouterr().out.strip().split("\t")
    assert sorted(label.split(" (")[0] for label in row[1:]) == ["class002", "class003"]


def test_a_features_file_that_is_not_an_array_is_one_line(skip_model, tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("these are my notes\n")
    assert main(["classify", "--model", str(skip_model[0]), "--features", str(notes)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{notes}: not a .npy array" in err[0] and "pickled" not in err[0], err
