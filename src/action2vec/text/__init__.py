"""Label texts: class-name normalisation, text embedders, label vectors and WordNet.

    labels = [normalize_label(n) for n in class_names]       # phrase, verb, nouns
    vectors = build_label_vectors(class_names, "word2vec:GoogleNews-vectors-negative300.bin")
    vectors = build_label_vectors(class_names, "minilm", prompts=["a video of a person {}"])
    vectors.text, vectors.prompts                              # what made them (recorded by a model)
    vectors.save(run_dir / "model"); LabelVectors.load(run_dir / "model")
    wn = load_wordnet()                                        # nltk WordNetCorpusReader

See docs/labels.md.
"""

from action2vec.text.embedders import OOVError, TextEmbedder, create_embedder, embedder_spec, load_mapping
from action2vec.text.labels import build_label_vectors, label_texts, read_definitions
from action2vec.text.normalize import (
    NormalizedLabel,
    group_by_verb,
    load_overrides,
    normalize_label,
    normalize_labels,
)
from action2vec.text.vectors import LabelVectors
from action2vec.text.wordnet import load_wordnet

__all__ = [
    "TextEmbedder",
    "OOVError",
    "create_embedder",
    "embedder_spec",
    "load_mapping",
    "label_texts",
    "read_definitions",
    "normalize_labels",
    "load_overrides",
    "LabelVectors",
    "build_label_vectors",
    "NormalizedLabel",
    "normalize_label",
    "group_by_verb",
    "load_wordnet",
]
