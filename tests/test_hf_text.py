"""``--text hf:PATH``: label texts through the text tower of a tiny random CLIP / SigLIP folder built here,
compared with the tokenizer and ``get_text_features`` called directly; cached; recorded as its spec."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("transformers")

from hf_models import save_clip, save_siglip, save_videomae  # noqa: E402

from action2vec.errors import DataError  # noqa: E402
from action2vec.text import build_label_vectors, create_embedder, embedder_spec  # noqa: E402
from action2vec.text.embedders import CachedEmbedder  # noqa: E402

TEXTS = ["spin ball", "a video of a person grow box", "slide", "play violin ride bike"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hf_text")
    return {
        "clip": save_clip(root / "clip"),
        "siglip": save_siglip(root / "siglip"),
        "videomae": save_videomae(root / "videomae"),
    }


@pytest.mark.parametrize("kind,padding", [("clip", True), ("siglip", "max_length")])
def test_text_tower_equals_get_text_features(folders, kind, padding) -> None:
    from transformers import AutoModel, AutoTokenizer

    ours = create_embedder(f"hf:{folders[kind]}", cache=False).embed(TEXTS)
    tokenizer = AutoTokenizer.from_pretrained(folders[kind], local_files_only=True)
    model = AutoModel.from_pretrained(folders[kind], local_files_only=True).eval()
    rows = []
    for text in TEXTS:  # one text at a time: no padding can leak into another text's vector
        tokens = tokenizer([text], padding=padding, max_length=16, truncation=True, return_tensors="pt")
        with torch.no_grad():
            out = model.get_text_features(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"])
        rows.append((out if isinstance(out, torch.Tensor) else out.pooler_output)[0].numpy())
    assert ours.shape == (len(TEXTS), model.config.projection_dim if kind == "clip" else 32)
    np.testing.assert_allclose(ours, np.stack(rows), rtol=0, atol=1e-5)


def test_vectors_are_cached_and_the_model_not_loaded_again(folders, tmp_path) -> None:
    first = CachedEmbedder(create_embedder(f"hf:{folders['clip']}", cache=False), directory=tmp_path)
    vectors = first.embed(TEXTS)
    again = CachedEmbedder(create_embedder(f"hf:{folders['clip']}", cache=False), directory=tmp_path)
    np.testing.assert_array_equal(again.embed(TEXTS), vectors)
    assert again.inner._model is None  # every text came from the cache file


def test_label_vectors_record_the_folder_spec(folders, monkeypatch) -> None:
    monkeypatch.chdir(folders["clip"].parent)
    assert embedder_spec("hf:clip") == f"hf:{folders['clip']}"
    lv = build_label_vectors(["spin ball", "grow box"], "hf:clip", prompts=["a video of a person {}"], cache=False)
    assert lv.text == f"hf:{folders['clip']}" and lv.prompts == ("a video of a person {}",)
    direct = create_embedder(f"hf:{folders['clip']}", cache=False).embed(["a video of a person spin ball"])[0]
    assert lv.vectors.shape == (2, 16)
    cos = float(lv.vectors[0] @ direct / np.linalg.norm(lv.vectors[0]) / np.linalg.norm(direct))
    assert cos > 0.999  # the prompt filled with the label phrase, through the text tower


def test_folders_without_a_text_tower_or_missing_are_refused(folders, tmp_path) -> None:
    with pytest.raises(DataError, match="has no text tower"):
        create_embedder(f"hf:{folders['videomae']}")
    with pytest.raises(DataError, match="not a folder"):
        create_embedder(f"hf:{tmp_path / 'absent'}")


def test_folder_without_tokenizer_files_is_refused_not_embedded_as_unknown_tokens(folders, tmp_path) -> None:
    """transformers builds an empty-vocabulary tokenizer for a CLIP folder without tokenizer files: every text
    would become the same unknown tokens and every label the same vector. It must be one line instead."""
    import shutil

    folder = tmp_path / "clip_without_tokenizer"
    shutil.copytree(folders["clip"], folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        (folder / name).unlink(missing_ok=True)
    with pytest.raises(DataError, match="tokenizer") as err:
        create_embedder(f"hf:{folder}", cache=False).embed(["spin ball", "grow box"])
    assert str(folder) in str(err.value) and "\n" not in str(err.value)


def test_labels_help_names_the_hf_text_spec(capsys) -> None:
    from action2vec.cli.main import main

    with pytest.raises(SystemExit):
        main(["labels", "--help"])
    assert "hf:PATH" in " ".join(capsys.readouterr().out.split())


def test_the_text_cache_is_keyed_by_the_tokenizer_too(folders, tmp_path) -> None:
    """The same weights under another tokenizer embed texts differently: cached vectors must not be reused."""
    import json
    import shutil

    copy = tmp_path / "clip_retokenized"
    shutil.copytree(folders["clip"], copy)
    (tmp_path / "cache").mkdir()
    first = CachedEmbedder(create_embedder(f"hf:{copy}", cache=False), directory=tmp_path / "cache")
    before = first.embed(TEXTS)
    assert first.path.is_file()  # the vectors are cached
    tok = json.loads((copy / "tokenizer.json").read_text())
    vocab = tok["model"]["vocab"]
    words = sorted(vocab, key=vocab.get)
    ids = sorted(vocab.values())
    shuffled = dict(zip(words, ids[::-1] if len(ids) > 1 else ids))  # every token gets another id
    tok["model"]["vocab"] = shuffled
    (copy / "tokenizer.json").write_text(json.dumps(tok))
    again = CachedEmbedder(create_embedder(f"hf:{copy}", cache=False), directory=tmp_path / "cache")
    after = again.embed(TEXTS)
    assert again.inner._model is not None  # embedded anew, not read from the cache
    assert not np.allclose(after, before)
