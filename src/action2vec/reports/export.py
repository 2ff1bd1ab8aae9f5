"""Sharing embeddings in word2vec text format, which gensim loads as ``KeyedVectors``.

    from gensim.models import KeyedVectors
    kv = KeyedVectors.load_word2vec_format("classes.txt", binary=False)
    kv.most_similar("play_violin")

Whitespace inside a name would break the format, so it becomes ``_`` ("play violin" -> "play_violin").
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from action2vec.errors import DataError

__all__ = ["word2vec_key", "write_word2vec", "read_word2vec"]


def word2vec_key(name: str) -> str:
    """A name as one whitespace-free token."""
    return "_".join(str(name).split())


def write_word2vec(path: str | Path, names: Sequence[str], vectors: np.ndarray) -> Path:
    """Write ``names`` with their rows of ``vectors`` (N, D) as a word2vec text file."""
    vectors = np.asarray(vectors, np.float32)
    if vectors.ndim != 2 or len(names) != len(vectors):
        raise DataError(f"{path}: need one vector per name, got {len(names)} names and shape {vectors.shape}")
    keys = [word2vec_key(n) for n in names]
    if any(not k for k in keys):
        raise DataError(f"{path}: an empty name cannot be a word2vec key")
    seen: dict[str, str] = {}
    for key, name in zip(keys, names):
        if key in seen:
            raise DataError(f"{path}: names {seen[key]!r} and {name!r} give the same key {key!r}")
        seen[key] = name
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(f"{len(keys)} {vectors.shape[1]}\n")
        for key, row in zip(keys, vectors):
            fh.write(key + " " + " ".join(f"{v:.6g}" for v in row) + "\n")
    tmp.replace(path)
    return path


def read_word2vec(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Read a word2vec text file back: (keys, vectors (N, D) float32)."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    try:
        n, d = (int(x) for x in lines[0].split())
    except (IndexError, ValueError):
        raise DataError(f"{path}: first line must be '<count> <dim>'") from None
    keys, rows = [], []
    for line in lines[1 : n + 1]:
        parts = line.split()
        keys.append(parts[0])
        rows.append([float(x) for x in parts[1 : d + 1]])
    return keys, np.asarray(rows, np.float32).reshape(len(keys), d)
