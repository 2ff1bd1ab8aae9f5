"""Class names → :class:`LabelVectors`: normalise each name, embed its phrase, optionally L2-normalise."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from action2vec.errors import ConfigError, DataError
from action2vec.text.embedders import OOVError, create_embedder, embedder_spec
from action2vec.text.normalize import NormalizedLabel, normalize_labels, override_key
from action2vec.text.vectors import LabelVectors

log = logging.getLogger(__name__)


def read_definitions(path: str | Path) -> dict[str, str]:
    """Class definitions: a JSON/YAML mapping ``{name: text}`` or a JSON list of ``{word, defn}`` dicts.

    The list form is the one of the ER-ZSAR ``classes_label_defn.json`` files.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: definitions file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))  # JSON is YAML
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: not valid JSON/YAML ({str(exc).splitlines()[0]})") from None
    if isinstance(data, dict) and all(isinstance(v, str) for v in data.values()):
        return {str(k): v for k, v in data.items()}
    if isinstance(data, list) and all(isinstance(d, dict) and "word" in d and "defn" in d for d in data):
        return {str(d["word"]): str(d["defn"]) for d in data}
    raise DataError(f"{path}: expected {{name: definition}} or a list of {{word, defn}} entries")


def label_texts(
    labels: list[NormalizedLabel], definitions: Mapping[str, str] | None = None, *, strict: bool = False
) -> list[str]:
    """The text embedded for each label: its phrase, or "phrase: definition" when one is given."""
    if not definitions:
        return [label.phrase for label in labels]
    by_key = {override_key(k): v for k, v in definitions.items()}
    texts = []
    for label in labels:
        text = definitions.get(label.name) or by_key.get(override_key(label.name))
        if text is None and strict:
            raise DataError(f"no definition for class {label.name!r}")
        texts.append(f"{label.phrase}: {text}" if text else label.phrase)
    return texts


def build_label_vectors(
    class_names: list[str],
    spec: str | Any = "minilm",
    *,
    normalize: bool = True,
    overrides: str | Path | Mapping[str, Any] | None = None,
    oov: str = "error",
    definitions: str | Path | Mapping[str, str] | None = None,
    cache: bool = True,
    wordnet: Any | None = None,
    prompts: Sequence[str] = (),
) -> LabelVectors:
    """One vector per class name.  vectors: (N, D) float32, unit length when ``normalize``.

    Each name becomes its phrase (:func:`normalize_label`), which the embedder named by ``spec`` (or an
    embedder object) embeds; a name that is itself a key of a ``vectors:`` mapping file uses that
    vector. ``oov`` ("error", "skip", "subword") is the word-vector policy; with "error" the DataError
    names the class and the missing word. ``definitions`` (a file or mapping) appends each class's
    definition to its phrase, for sentence encoders. ``wordnet``: a reader from :func:`load_wordnet`.
    ``prompts``: templates such as ``"a video of a person {}"`` for sentence encoders; each label's
    vector is then the mean of its unit-length templated embeddings (CLIP's prompt ensembling). Word-vector
    embedders refuse prompts (their words would be added to every label alike). The result records the
    embedder's spec, the prompts and the ``oov`` policy (the embedder's own when an object is given).
    """
    prompts = check_prompts(prompts)
    names = [str(n) for n in class_names]
    if not names:
        raise DataError("cannot embed an empty class list")
    if len(set(names)) != len(names):
        duplicate = next(n for n in names if names.count(n) > 1)
        raise DataError(f"class {duplicate!r} appears twice in the class list")
    embedder = create_embedder(spec, oov=oov, cache=cache) if isinstance(spec, str) else spec
    if prompts and not getattr(embedder, "sentence_encoder", True):
        raise ConfigError(
            f"label prompts (data.prompts) are for sentence encoders; {embedder.name} averages word "
            "vectors, so a prompt's words would be added to every label alike: give no prompts"
        )
    key_for = getattr(embedder, "key_for", None)  # mapping files: a class name that is a key is used as is
    keys = [key_for(name) for name in names] if key_for is not None else [None] * len(names)
    labels: list[NormalizedLabel] = []
    if all(keys):  # every class is a key of the mapping: no phrase to make, so no WordNet needed
        texts = [str(key) for key in keys]
    else:
        labels = normalize_labels(names, overrides, wordnet=wordnet)
        if isinstance(definitions, (str, Path)):
            definitions = read_definitions(definitions)
        texts = [key or text for key, text in zip(keys, label_texts(labels, definitions))]
    try:
        vectors = embed_with_prompts(embedder, texts, prompts)
    except OOVError as exc:
        label = next((lab for lab, t in zip(labels, texts) if t == exc.text or (prompts and t in exc.text)), None)
        if label is None:
            raise DataError(str(exc)) from None
        raise DataError(
            f"class {label.name!r} (phrase {label.phrase!r}): the word {exc.word!r} is not in {exc.embedder}; "
            "add an override for the class, or use oov='skip' (or 'subword' with fastText)"
        ) from None
    if normalize:
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        if np.any(norms == 0):
            raise DataError(f"class {names[int(np.argmin(norms[:, 0]))]!r} has a zero text vector")
        vectors = vectors / norms
    log.info("embedded %d class names with %s (%d-d)", len(names), embedder.name, vectors.shape[1])
    record = embedder_spec(spec) if isinstance(spec, str) else str(getattr(spec, "name", ""))
    return LabelVectors(names, vectors, text=record, prompts=prompts, oov=str(getattr(embedder, "oov", oov)))


def check_prompts(prompts: Sequence[str]) -> tuple[str, ...]:
    """Label prompt templates as a tuple; each must hold one ``{}`` where the label text goes."""
    if isinstance(prompts, str):
        prompts = [prompts]
    out = tuple(str(p) for p in prompts)
    for prompt in out:
        if prompt.count("{}") != 1:
            raise ConfigError(
                f"label prompt {prompt!r} (data.prompts) needs exactly one '{{}}' where the label goes, "
                "e.g. 'a video of a person {}'"
            )
    return out


def embed_with_prompts(embedder: Any, texts: list[str], prompts: Sequence[str] = ()) -> np.ndarray:
    """(N, D) float32 vectors of ``texts``; with prompts, the mean of each text's unit-length templated
    embeddings (every template filled with the text)."""
    if not prompts:
        return np.asarray(embedder.embed(texts), dtype=np.float32)
    filled = [prompt.replace("{}", text) for text in texts for prompt in prompts]
    flat = np.asarray(embedder.embed(filled), dtype=np.float64).reshape(len(texts), len(prompts), -1)
    norms = np.linalg.norm(flat, axis=2, keepdims=True)
    if np.any(norms == 0):
        raise DataError(f"{embedder.name}: a templated label text has a zero vector")
    return (flat / norms).mean(axis=1).astype(np.float32)
