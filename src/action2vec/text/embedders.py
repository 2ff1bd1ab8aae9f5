"""Text embedders: list of texts → (N, D) float32 (stub, filled in next commit)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class TextEmbedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray:  # (N, D) float32
        ...


def create_embedder(spec: str) -> TextEmbedder:
    raise NotImplementedError
