"""One vector per class name, saved as JSON names + safetensors vectors (no pickle)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from action2vec.errors import DataError

NAMES_FILE = "labels.json"
VECTORS_FILE = "label_vectors.safetensors"


@dataclass
class LabelVectors:
    """Class names and their text vectors, row ``i`` for ``names[i]``."""

    names: list[str]
    vectors: np.ndarray  # (N, D) float32
    embedder: str = ""  # spec of the text embedder that made the vectors ("" when given by hand)

    def __post_init__(self) -> None:
        self.names = [str(n) for n in self.names]
        self.vectors = np.asarray(self.vectors, dtype=np.float32)
        if self.vectors.ndim != 2 or self.vectors.shape[0] != len(self.names):
            raise DataError(f"label vectors: {len(self.names)} names but vectors of shape {self.vectors.shape}")
        if len(set(self.names)) != len(self.names):
            raise DataError("label vectors: class names are not unique")

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise DataError(f"label vectors: no vector for class {name!r}") from None

    def lookup(self, names: Iterable[str]) -> np.ndarray:
        """Vectors of ``names`` in that order.  # (len(names), D)"""
        position = {n: i for i, n in enumerate(self.names)}
        rows = []
        for name in names:
            if name not in position:
                raise DataError(f"label vectors: no vector for class {name!r}")
            rows.append(position[name])
        return self.vectors[np.asarray(rows, dtype=np.int64)] if rows else np.zeros((0, self.dim), np.float32)

    def subset(self, names: Iterable[str]) -> "LabelVectors":
        names = list(names)
        return LabelVectors(names, self.lookup(names), embedder=self.embedder)

    def save(self, directory: str | Path) -> Path:
        """Write ``labels.json`` and ``label_vectors.safetensors`` into ``directory``."""
        from safetensors.numpy import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / NAMES_FILE).write_text(json.dumps(self.names, indent=1, ensure_ascii=False) + "\n")
        save_file({"vectors": np.ascontiguousarray(self.vectors)}, str(directory / VECTORS_FILE))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "LabelVectors":
        from safetensors.numpy import load_file

        directory = Path(directory)
        names_path, vectors_path = directory / NAMES_FILE, directory / VECTORS_FILE
        for path in (names_path, vectors_path):
            if not path.is_file():
                raise DataError(f"{path}: label vectors file not found")
        try:
            names = json.loads(names_path.read_text())
        except json.JSONDecodeError as exc:
            raise DataError(f"{names_path}: not valid JSON ({exc.msg})") from None
        if not isinstance(names, list):
            raise DataError(f"{names_path}: expected a JSON list of class names")
        return cls(names, load_file(str(vectors_path))["vectors"])
