"""Class names → LabelVectors (stub, filled in next commit)."""

from __future__ import annotations

from action2vec.text.vectors import LabelVectors


def label_vectors(class_names, spec="minilm", *, normalize=True, overrides=None, oov="error") -> LabelVectors:
    raise NotImplementedError
