"""Text embedders on small word-vector files the tests write; mapping files; cache; label vectors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from action2vec.errors import DataError
from action2vec.text import LabelVectors, build_label_vectors, create_embedder
from action2vec.text.embedders import CachedEmbedder, MappingEmbedder, WordVectorEmbedder

WORDS = ["play", "violin", "guitar", "brush", "hair", "walk", "apply", "eye", "makeup", "American", "football"]


@pytest.fixture(scope="module")
def table() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {w: rng.standard_normal(8).astype(np.float32) for w in WORDS}


def write_word2vec(path: Path, table: dict[str, np.ndarray], binary: bool, header: bool = True) -> Path:
    from gensim.models import KeyedVectors

    if not header:  # GloVe: "word v1 v2 ..." lines, no header
        path.write_text("".join(f"{w} {' '.join(repr(float(x)) for x in v)}\n" for w, v in table.items()))
        return path
    kv = KeyedVectors(vector_size=8)
    kv.add_vectors(list(table), np.stack(list(table.values())))
    kv.save_word2vec_format(str(path), binary=binary)
    return path


def naive_mean(table: dict[str, np.ndarray], words: list[str]) -> np.ndarray:
    return np.mean([table[w] for w in words], axis=0)


@pytest.mark.parametrize(
    "kind, suffix, binary, header",
    [("word2vec", ".bin", True, True), ("word2vec", ".txt", False, True), ("glove", ".txt", False, False)],
)
def test_word_vector_files_average_phrase_words(tmp_path, table, kind, suffix, binary, header) -> None:
    path = write_word2vec(tmp_path / f"vectors{suffix}", table, binary, header)
    embedder = create_embedder(f"{kind}:{path}", cache=False)
    assert embedder.dim == 8
    out = embedder.embed(["play violin", "walk", "apply the eye makeup", "Walk"])
    assert out.shape == (4, 8) and out.dtype == np.float32
    np.testing.assert_allclose(out[0], naive_mean(table, ["play", "violin"]), rtol=1e-5)
    np.testing.assert_allclose(out[1], table["walk"], rtol=1e-5)
    np.testing.assert_allclose(out[2], naive_mean(table, ["apply", "eye", "makeup"]), rtol=1e-5)  # "the" skipped
    np.testing.assert_allclose(out[3], table["walk"], rtol=1e-5)  # lower-case fallback
    assert embedder.missing_words("play cello") == ["cello"]


def test_label_vectors_oov_error_names_class_and_word(tmp_path, table, wn) -> None:
    path = write_word2vec(tmp_path / "v.bin", table, binary=True)
    with pytest.raises(DataError, match=r"class 'PlayingCello' \(phrase 'play cello'\): the word 'cello' is not in"):
        build_label_vectors(["PlayingViolin", "PlayingCello"], f"word2vec:{path}", cache=False, wordnet=wn)
    lv = build_label_vectors(["PlayingViolin", "PlayingCello"], f"word2vec:{path}", oov="skip", cache=False, wordnet=wn)
    expected = table["play"] / np.linalg.norm(table["play"])
    np.testing.assert_allclose(lv.lookup(["PlayingCello"])[0], expected, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(lv.vectors, axis=1), 1.0, rtol=1e-5)
    raw = build_label_vectors(["brush_hair"], f"word2vec:{path}", normalize=False, cache=False, wordnet=wn)
    np.testing.assert_allclose(raw.vectors[0], naive_mean(table, ["brush", "hair"]), rtol=1e-5)
    with pytest.raises(DataError, match="oov='subword' needs a fastText"):
        create_embedder(f"word2vec:{path}", oov="subword")


def test_fasttext_bin_with_subwords(tmp_path) -> None:
    from gensim.models import FastText
    from gensim.models.fasttext import save_facebook_model

    sentences = [["play", "violin", "walk", "run", "playing"]] * 20
    model = FastText(vector_size=8, window=2, min_count=1, epochs=2, seed=1, workers=1, bucket=1000)
    model.build_vocab(sentences)
    model.train(sentences, total_examples=len(sentences), epochs=2)
    path = tmp_path / "tiny.bin"
    save_facebook_model(model, str(path))
    strict = create_embedder(f"fasttext:{path}", cache=False)
    np.testing.assert_allclose(
        strict.embed(["play violin"])[0], (model.wv["play"] + model.wv["violin"]) / 2, rtol=1e-4, atol=1e-6
    )
    with pytest.raises(DataError, match="'violins'"):
        strict.embed(["violins"])
    subword = create_embedder(f"fasttext:{path}", oov="subword", cache=False)
    np.testing.assert_allclose(subword.embed(["violins"])[0], model.wv["violins"], rtol=1e-4, atol=1e-6)


def test_mapping_files_npz_json_npy(tmp_path, table, wn) -> None:
    names = ["play violin", "walk", "apply eye makeup"]
    vectors = np.stack([table["violin"], table["walk"], table["eye"]])
    np.savez(tmp_path / "m.npz", names=np.array(names), vectors=vectors)
    (tmp_path / "m.json").write_text(json.dumps({n: v.tolist() for n, v in zip(names, vectors)}))
    np.save(tmp_path / "m.npy", vectors.astype(np.float64))
    (tmp_path / "names.json").write_text(json.dumps([{"word": n, "defn": "..."} for n in names]))
    for spec in ("vectors:m.npz", "vectors:m.json", "vectors:m.npy,names.json"):
        path, _, rest = spec.partition(":")[2].partition(",")
        embedder = create_embedder(f"vectors:{tmp_path / path}" + (f",{rest}" if rest else ""))
        np.testing.assert_allclose(embedder.embed(["walk", "play violin"]), vectors[[1, 0]], rtol=1e-6)
        # a class name that is a key (ignoring case and separators) is used directly
        lv = build_label_vectors(["ApplyEyeMakeup", "walk"], embedder, normalize=False, wordnet=wn)
        np.testing.assert_allclose(lv.vectors, vectors[[2, 1]], rtol=1e-6)
    with pytest.raises(DataError, match="needs a names file"):
        create_embedder(f"vectors:{tmp_path / 'm.npy'}")
    (tmp_path / "short.json").write_text(json.dumps(names[:2]))
    with pytest.raises(DataError, match="2 names for 3 vectors"):
        create_embedder(f"vectors:{tmp_path / 'm.npy'},short.json")


def test_er_zsar_glove_vectors_load_through_mapping(shared_data, wn) -> None:
    folder = shared_data / "kinetics" / "er_zsar"
    raw = np.load(folder / "labels_glove42b.npy")
    embedder = create_embedder(f"vectors:{folder / 'labels_glove42b.npy'},classes620_label_defn.json")
    assert isinstance(embedder, MappingEmbedder) and embedder.dim == 300 and len(embedder.index) == 620
    names = [json.loads((folder / "classes620_label_defn.json").read_text())[i]["word"] for i in (0, 401, 619)]
    lv = build_label_vectors(names, embedder, wordnet=wn)
    expected = raw[[0, 401, 619]] / np.linalg.norm(raw[[0, 401, 619]], axis=1, keepdims=True)
    np.testing.assert_allclose(lv.vectors, expected, rtol=1e-5, atol=1e-6)


def test_cache_does_not_reencode_or_reload(tmp_path, table) -> None:
    path = write_word2vec(tmp_path / "v.txt", table, binary=False)
    calls = []

    class Counting(WordVectorEmbedder):
        def embed(self, texts):
            calls.append(list(texts))
            return super().embed(texts)

    first = CachedEmbedder(Counting("word2vec", path), directory=tmp_path)
    a = first.embed(["play violin", "walk"])
    b = first.embed(["walk", "play guitar"])
    assert calls == [["play violin", "walk"], ["play guitar"]]
    again = CachedEmbedder(Counting("word2vec", path), directory=tmp_path)  # a new process, same file
    c = again.embed(["play guitar", "play violin"])
    assert calls == [["play violin", "walk"], ["play guitar"]] and again.inner._kv is None  # never loaded
    assert again.dim == 8 and again.inner._kv is None
    np.testing.assert_array_equal(c, np.stack([b[1], a[0]]))


def test_label_vectors_save_load_roundtrip(tmp_path) -> None:
    lv = LabelVectors(["b", "a"], np.arange(6, dtype=np.float64).reshape(2, 3))
    assert lv.vectors.dtype == np.float32
    back = LabelVectors.load(lv.save(tmp_path / "model"))
    assert back.names == ["b", "a"]
    np.testing.assert_array_equal(back.lookup(["a", "b"]), [[3, 4, 5], [0, 1, 2]])
    assert json.loads((tmp_path / "model" / "labels.json").read_text()) == {
        "names": ["b", "a"],
        "text": "",
        "prompts": [],
        "oov": "error",
    }
    # files written before the spec had one name record it as "embedder": still read
    lv.text = "minilm"
    doc = json.loads((lv.save(tmp_path / "new") / "labels.json").read_text())
    assert doc["text"] == "minilm" and "embedder" not in doc
    doc["embedder"] = doc.pop("text")
    (tmp_path / "new" / "labels.json").write_text(json.dumps(doc))
    assert LabelVectors.load(tmp_path / "new").text == "minilm"
    with pytest.raises(DataError, match="no vector for class 'c'"):
        lv.lookup(["c"])
    with pytest.raises(DataError, match="label_vectors.safetensors: label vectors file not found"):
        (tmp_path / "model" / "label_vectors.safetensors").unlink()
        LabelVectors.load(tmp_path / "model")


def test_bad_specs_and_inputs(tmp_path) -> None:
    with pytest.raises(DataError, match="unknown text embedder 'bert'"):
        create_embedder("bert")
    with pytest.raises(DataError, match="word2vec vectors file not found"):
        create_embedder(f"word2vec:{tmp_path / 'none.bin'}")
    with pytest.raises(DataError, match="empty class list"):
        build_label_vectors([], "minilm")
    (tmp_path / "bad.bin").write_bytes(b"not a header\n\x00\x01")
    with pytest.raises(DataError, match="cannot read as word2vec"):
        create_embedder(f"word2vec:{tmp_path / 'bad.bin'}", cache=False).dim


@pytest.fixture(scope="module")
def minilm():
    try:
        embedder = create_embedder("minilm", cache=False)
        _ = embedder.dim  # loads the model (about 5 s)
    except DataError as exc:
        pytest.skip(str(exc))
    return embedder


def test_minilm_sentence_encoder(minilm, tmp_path, wn) -> None:
    out = minilm.embed(["apply eye makeup", "apply lipstick", "walk", "run"])
    assert out.shape == (4, 384) and out.dtype == np.float32
    cos = out @ out.T
    assert cos[0, 1] == pytest.approx(0.600, abs=0.02) and cos[2, 3] == pytest.approx(0.457, abs=0.02)
    lv = build_label_vectors(
        ["ApplyEyeMakeup", "walking"], minilm, wordnet=wn, definitions={"walking": "use the legs to move"}
    )
    np.testing.assert_allclose(lv.vectors[0], out[0] / np.linalg.norm(out[0]), rtol=1e-4, atol=1e-5)
    with_defn = minilm.embed(["walk: use the legs to move"])[0]
    np.testing.assert_allclose(lv.vectors[1], with_defn / np.linalg.norm(with_defn), rtol=1e-4, atol=1e-5)


def test_sentence_encoder_not_available_offline_is_a_clear_error(tmp_path) -> None:
    pytest.importorskip("sentence_transformers")
    embedder = create_embedder("sentence-transformers:no-such-org/no-such-model", cache=False)
    with pytest.raises(DataError, match="not available offline .*local model folder"):
        embedder.dim
    with pytest.raises(DataError, match="not available offline"):
        create_embedder(f"sentence-transformers:{tmp_path}", cache=False).embed(["walk"])


def test_the_older_attribute_names_of_the_text_spec_still_read():
    """One name, `text`, as data.text and labels.json say; `embedder` / `text_embedder` read for older code."""
    lv = LabelVectors(["a"], np.ones((1, 2)), text="minilm")
    assert lv.text == lv.embedder == "minilm"
