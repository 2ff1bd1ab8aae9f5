"""The model folder: the embedder record, label prompts, the model card, format versions, damaged files.

One small model (tiny HRNN on a PCA-reduced synthetic store, label vectors from a ``vectors:`` mapping
file) is trained once per module; each damage test damages a copy of its folder.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from action2vec.cli.main import main
from action2vec.config import load_config
from action2vec.errors import ConfigError, DataError
from action2vec.inference import Action2Vec
from action2vec.model_folder import ModelInfo, read_model_folder, record_metrics
from action2vec.store import open_store
from action2vec.store.pca import pca_store
from action2vec.testing import make_synthetic_store, synthetic_label_vectors
from action2vec.text import LabelVectors, build_label_vectors, embedder_spec
from action2vec.training import RunConfig, fit

N_CLASSES, DIM = 12, 8
WORDS = ["play", "violin", "ride", "bike", "person"]


def _cfg(*extra):
    return load_config(
        RunConfig,
        None,
        [
            "model.preset=tiny",
            "train.batch_size=32",
            "train.epochs=1",
            "train.progress_bar=false",
            "data.val_fraction=0.25",
            *extra,
        ],
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory, wn):
    root = tmp_path_factory.mktemp("folder")
    lv = synthetic_label_vectors(N_CLASSES, dim=DIM, seed=5)
    raw = make_synthetic_store(root / "raw.h5", lv, videos_per_class=6, steps=12, feature_dim=24, seed=5)
    store_path = pca_store(raw, root / "pca.h5", dim=16, fit_keys=open_store(raw).keys)
    words = np.random.default_rng(7).standard_normal((len(WORDS), DIM)).astype(np.float32)
    mapping = root / "vectors.npz"
    np.savez(mapping, names=np.array(lv.names + WORDS), vectors=np.concatenate([lv.vectors, words]))
    vectors = build_label_vectors(lv.names, f"vectors:{mapping}", wordnet=wn)
    result = fit(_cfg(), root / "run", store=open_store(store_path), label_vectors=vectors)
    return {
        "root": root,
        "model": result.model_dir,
        "store": store_path,
        "raw": raw,
        "mapping": mapping,
        "words": dict(zip(WORDS, words)),
        "lv": lv,
        "result": result,
    }


def _copy(trained, tmp_path) -> Path:
    return Path(shutil.copytree(trained["model"], tmp_path / "model"))


def _unit(v):
    return v / np.linalg.norm(v)


# ------------------------------------------------------------------------------ the embedder record


def test_model_records_the_embedder_of_its_label_vectors_not_the_config_default(trained):
    """fit() got vectors made by a vectors: file while data.text kept its default (minilm)."""
    spec = embedder_spec(f"vectors:{trained['mapping']}")
    assert json.loads((trained["model"] / "labels.json").read_text())["text"] == spec
    run_cfg = yaml.safe_load((trained["root"] / "run" / "config.yaml").read_text())
    assert run_cfg["data"]["text"] == spec and run_cfg["data"]["prompts"] == []
    model = Action2Vec.from_pretrained(trained["model"])
    assert model.text == spec
    # a new label text is embedded by the mapping (mean of its word vectors), not by minilm (384-d)
    new = model.encode_text(["play violin", "ride bike"])
    w = trained["words"]
    np.testing.assert_allclose(new[0], _unit(_unit((w["play"] + w["violin"]) / 2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(new[1], _unit(_unit((w["ride"] + w["bike"]) / 2)), rtol=1e-5, atol=1e-6)
    # known labels come from the stored vectors
    np.testing.assert_allclose(model.encode_text(["class003"])[0], trained["lv"].vectors[3], rtol=1e-5, atol=1e-6)


def test_vectors_given_by_hand_refuse_new_label_texts_with_one_line(trained, tmp_path):
    hand = synthetic_label_vectors(N_CLASSES, dim=DIM, seed=5)  # embedder ""
    result = fit(_cfg(), tmp_path / "run", store=open_store(trained["store"]), label_vectors=hand)
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["data"]["text"] == ""
    model = Action2Vec.load(result.model_dir)
    assert model.text == ""
    assert model.encode_text(["class001"]).shape == (1, DIM)  # known labels still work
    with pytest.raises(DataError, match="given by hand .* cannot embed new label texts such as 'ride bike'"):
        model.encode_text(["class001", "ride bike"])
    feats = open_store(trained["store"]).read_many([0])
    assert model.classify_features(feats, None, ["class001", "class002"], top_k=1)[0].labels[0] in (
        "class001",
        "class002",
    )


def test_relative_vectors_spec_is_recorded_absolute_and_works_from_another_folder(trained, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(trained["mapping"], work / "v.npz")
    monkeypatch.chdir(work)
    assert (
        main(
            [
                "train",
                "--out",
                "run",
                "--data.store",
                str(trained["store"]),
                "--data.text",
                "vectors:v.npz",
                "--model.preset",
                "tiny",
                "--train.epochs",
                "1",
                "--train.progress_bar",
                "false",
            ]
        )
        == 0
    )
    assert yaml.safe_load(Path("run/config.yaml").read_text())["data"]["text"] == f"vectors:{work / 'v.npz'}"
    monkeypatch.chdir(tmp_path)
    model = Action2Vec.load(work / "run" / "model")
    assert model.text == f"vectors:{work / 'v.npz'}"
    assert model.encode_text(["ride bike"]).shape == (1, DIM)


def test_a_model_without_a_video_recipe_refuses_video_files_in_one_line(trained, tmp_path, capsys):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\0" * 64)
    with pytest.raises(DataError, match="does not record how its features were made from video"):
        Action2Vec.load(trained["model"]).encode_video([clip])
    capsys.readouterr()
    assert main(["classify", "--model", str(trained["model"]), "--video", str(clip)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "embed feature arrays instead" in err[0], err


# ------------------------------------------------------------------------------ label prompts


class HashEncoder:
    """A deterministic stand-in for a sentence encoder: a fixed random vector per exact text."""

    name, dim, sentence_encoder = "hash-encoder", 6, True

    def __init__(self):
        self.seen: list[str] = []

    def embed(self, texts):
        self.seen += list(texts)
        seeds = [int(hashlib.sha1(t.encode()).hexdigest()[:8], 16) for t in texts]
        return np.stack([np.random.default_rng(s).standard_normal(self.dim) for s in seeds]).astype(np.float32)


def test_prompts_average_the_unit_templated_embeddings(wn, tmp_path):
    prompts = ["a video of a person {}", "{} in a video"]
    enc = HashEncoder()
    lv = build_label_vectors(["walking", "RideBike"], enc, wordnet=wn, prompts=prompts)
    assert lv.prompts == tuple(prompts) and lv.text == "hash-encoder"
    assert "a video of a person walk" in enc.seen and "ride bike in a video" in enc.seen
    for row, phrase in zip(lv.vectors, ["walk", "ride bike"]):
        parts = [_unit(enc.embed([p.replace("{}", phrase)])[0].astype(np.float64)) for p in prompts]
        np.testing.assert_allclose(row, _unit(np.mean(parts, axis=0)), rtol=1e-5, atol=1e-6)
    plain = build_label_vectors(["walking"], HashEncoder(), wordnet=wn)
    assert plain.prompts == () and not np.allclose(plain.vectors[0], lv.vectors[0])
    kept = LabelVectors.load(lv.subset(["walking"]).save(tmp_path))
    assert kept.prompts == tuple(prompts) and kept.text == "hash-encoder"


def test_word_vector_embedders_refuse_prompts_and_templates_need_a_placeholder(trained, wn):
    with pytest.raises(ConfigError, match="label prompts .* are for sentence encoders; vectors:"):
        build_label_vectors(["class001"], f"vectors:{trained['mapping']}", wordnet=wn, prompts=["a video of {}"])
    with pytest.raises(ConfigError, match="needs exactly one '{}'"):
        build_label_vectors(["walking"], HashEncoder(), wordnet=wn, prompts=["a video of a person"])


@pytest.fixture(scope="module")
def minilm():
    from action2vec.text import create_embedder

    try:
        embedder = create_embedder("minilm", cache=False)
        _ = embedder.dim
    except DataError as exc:
        pytest.skip(str(exc))
    return embedder


@pytest.mark.slow
def test_prompts_from_the_command_line_are_recorded_and_applied_to_new_labels(trained, tmp_path, minilm):
    prompts = ["a video of a person {}", "a person {}"]
    assert (
        main(
            [
                "train",
                "--out",
                str(tmp_path / "run"),
                "--data.store",
                str(trained["store"]),
                "--data.text",
                "minilm",
                "--data.prompts",
                ",".join(prompts),
                "--model.preset",
                "tiny",
                "--train.epochs",
                "1",
                "--train.progress_bar",
                "false",
            ]
        )
        == 0
    )
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["data"]["prompts"] == prompts
    model = Action2Vec.load(tmp_path / "run" / "model")
    assert model.prompts == tuple(prompts) and model.text == "minilm"
    got = model.encode_text(["ride a bike"])[0]
    parts = [_unit(minilm.embed([p.replace("{}", "ride a bike")])[0].astype(np.float64)) for p in prompts]
    np.testing.assert_allclose(got, _unit(np.mean(parts, axis=0)), rtol=1e-4, atol=1e-5)
    plain = _unit(minilm.embed(["ride a bike"])[0])
    assert float(got @ plain) < 0.999


# ------------------------------------------------------------------------------ model card and versions


def test_model_card_describes_data_features_text_config_metrics_and_use(trained, tmp_path):
    card = (trained["model"] / "README.md").read_text()
    result = trained["result"]
    assert str(trained["store"]) in card
    assert (
        f"{len(result.train_keys)} training and {len(result.val_keys)} validation videos of {N_CLASSES} classes" in card
    )
    assert "backbone `synthetic`" in card and "PCA 24 -> 16" in card
    assert f"embedder `{embedder_spec('vectors:' + str(trained['mapping']))}`" in card
    assert "hrnn_attention" in card and "lambda_final" in card  # the config
    info = read_model_folder(trained["model"]).info
    assert info.metrics and all(f"| {k} |" in card for k in info.metrics)
    assert "Action2Vec.from_pretrained" in card and "action2vec classify --model" in card
    folder = _copy(trained, tmp_path)
    record_metrics(folder, {"zsl/top1": 0.4321})
    assert "| zsl/top1 | 0.4321 |" in (folder / "README.md").read_text()
    assert Action2Vec.load(folder).info.metrics["zsl/top1"] == pytest.approx(0.4321)


def test_a_later_format_version_is_refused_with_one_line(trained, tmp_path):
    folder = _copy(trained, tmp_path)
    doc = json.loads((folder / "config.json").read_text())
    doc["version"] = 3
    (folder / "config.json").write_text(json.dumps(doc))
    with pytest.raises(DataError, match="config.json: written by model folder format version 3; .* up to 2"):
        Action2Vec.load(folder)


def test_version_1_folders_still_load(trained, tmp_path):
    """Version 1: the embedder in config.json's "text", labels.json a bare list, variant 'lstm', no card."""
    run = fit(
        _cfg("model.variant=single_lstm"),
        tmp_path / "run",
        store=open_store(trained["store"]),
        label_vectors=build_label_vectors(trained["lv"].names, f"vectors:{trained['mapping']}", cache=False),
    )
    folder = run.model_dir
    new_model = Action2Vec.load(folder)
    doc = json.loads((folder / "config.json").read_text())
    old = {
        "format": doc["format"],
        "version": 1,
        "model": {**doc["model"], "variant": "lstm"},
        "loss": doc["loss"],
        "train": doc["train"],
        "text": f"vectors:{trained['mapping']}",
        "classes": doc["classes"],
        "features": doc["features"],
        "pca": True,
    }
    (folder / "config.json").write_text(json.dumps(old))
    (folder / "labels.json").write_text(json.dumps(json.loads((folder / "labels.json").read_text())["names"]))
    (folder / "README.md").unlink()
    model = Action2Vec.load(folder)
    assert model.info.version == 1 and model.info.model.variant == "single_lstm"
    assert model.text == f"vectors:{trained['mapping']}"
    feats = open_store(trained["store"]).read_many([0, 1])
    np.testing.assert_array_equal(model.encode_features(feats), new_model.encode_features(feats))
    np.testing.assert_allclose(model.encode_text(["ride bike"]), new_model.encode_text(["ride bike"]), atol=1e-6)


def test_model_info_json_round_trip(trained):
    info = read_model_folder(trained["model"]).info
    assert ModelInfo.from_json(info.to_json()) == info
    assert (
        info.input_dim == 16 and info.embed_dim == DIM and info.data.train_videos == len(trained["result"].train_keys)
    )


# ------------------------------------------------------------------------------ damaged files


def _truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _edit_config(folder: Path, edit) -> None:
    doc = json.loads((folder / "config.json").read_text())
    edit(doc)
    (folder / "config.json").write_text(json.dumps(doc))


DAMAGE = {
    "truncated weights": (lambda f: _truncate(f / "model.safetensors"), r"model.safetensors: damaged weights file"),
    "truncated label vectors": (
        lambda f: _truncate(f / "label_vectors.safetensors"),
        r"label_vectors.safetensors: damaged label vectors file",
    ),
    "labels.json one name short": (
        lambda f: (f / "labels.json").write_text(
            json.dumps(
                {
                    **json.loads((f / "labels.json").read_text()),
                    "names": [f"class{i:03d}" for i in range(N_CLASSES - 1)],
                }
            )
        ),
        r"label_vectors.safetensors: holds vectors of shape \(12, 8\) but labels.json names 11 labels",
    ),
    "labels.json not JSON": (lambda f: _truncate(f / "labels.json", 0.3), r"labels.json: not valid JSON"),
    "truncated PCA": (lambda f: _truncate(f / "pca.safetensors"), r"pca.safetensors: damaged PCA file"),
    "config without model": (
        lambda f: _edit_config(f, lambda d: d.pop("model")),
        r"config.json: missing key\(s\) \['model'\]",
    ),
    "config not JSON": (lambda f: _truncate(f / "config.json"), r"config.json: model config is not valid JSON"),
    "config input_dim wrong": (
        lambda f: _edit_config(f, lambda d: d["model"].update(input_dim=17)),
        r"config.json: model.input_dim=17 but its features are 16-d",
    ),
    "config embed_dim wrong": (
        lambda f: _edit_config(f, lambda d: d["model"].update(embed_dim=9)),
        r"label_vectors.safetensors: 8-d label vectors, but config.json says model.embed_dim=9",
    ),
    "config lstm size wrong": (
        lambda f: _edit_config(f, lambda d: d["model"].update(lstm1_hidden=25)),
        r"model.safetensors: does not fit config.json \(.*size mismatch",
    ),
    "config dims missing": (
        lambda f: _edit_config(f, lambda d: d["model"].pop("embed_dim")),
        r"config.json: model.embed_dim must be a positive integer",
    ),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_damaged_model_files_are_named_in_one_line(trained, tmp_path, capsys, case):
    damage, message = DAMAGE[case]
    folder = _copy(trained, tmp_path)
    damage(folder)
    with pytest.raises(DataError, match=message):
        Action2Vec.load(folder)
    capsys.readouterr()
    assert main(["classify", "--model", str(folder), "--store", str(trained["store"]), "--top-k", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("action2vec classify: error: ") and str(folder) in err[0], err


def _with_embedder(trained, tmp_path, spec: str) -> Path:
    folder = _copy(trained, tmp_path)
    doc = json.loads((folder / "labels.json").read_text())
    (folder / "labels.json").write_text(json.dumps({**doc, "text": spec}))
    return folder


def _pickled_npy(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([np.zeros(DIM), "not a vector"], dtype=object), allow_pickle=True)
    (tmp_path / "obj.json").write_text(json.dumps(["ride", "bike"]))
    return f"vectors:{tmp_path / 'obj.npy'},{tmp_path / 'obj.json'}", "obj.npy: holds pickled Python objects"


def _pickled_npz(tmp_path):
    np.savez(tmp_path / "obj.npz", names=np.array(["ride", {"x": 1}], dtype=object), vectors=np.zeros((2, DIM)))
    return f"vectors:{tmp_path / 'obj.npz'}", "obj.npz: holds pickled Python objects"


def _truncated_npz(tmp_path):
    np.savez(tmp_path / "cut.npz", names=np.array(["ride", "bike"]), vectors=np.ones((2, DIM), np.float32))
    _truncate(tmp_path / "cut.npz", 0.6)
    return f"vectors:{tmp_path / 'cut.npz'}", "cut.npz: not a readable NumPy file"


def _truncated_word2vec(tmp_path, suffix=".bin"):
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=DIM)
    kv.add_vectors(["ride", "bike", "play"], np.ones((3, DIM), np.float32))
    kv.save_word2vec_format(str(tmp_path / f"w{suffix}"), binary=suffix == ".bin")
    _truncate(tmp_path / f"w{suffix}", 0.7 if suffix == ".bin" else 0.8)
    return f"word2vec:{tmp_path / f'w{suffix}'}", f"w{suffix}: cannot read as word2vec vectors"


def _truncated_word2vec_text(tmp_path):
    return _truncated_word2vec(tmp_path, ".txt")


@pytest.mark.parametrize(
    "make", [_pickled_npy, _pickled_npz, _truncated_npz, _truncated_word2vec, _truncated_word2vec_text]
)
def test_damaged_text_vector_files_are_named_in_one_line(trained, tmp_path, capsys, make):
    spec, message = make(tmp_path)
    folder = _with_embedder(trained, tmp_path, spec)
    model = Action2Vec.load(folder)
    with pytest.raises(DataError, match=message):
        model.encode_text(["ride bike"])
    capsys.readouterr()
    assert (
        main(["classify", "--model", str(folder), "--store", str(trained["store"]), "--labels", "ride bike,play"]) == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
