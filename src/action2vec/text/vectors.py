"""One vector per class name, saved as JSON names + safetensors vectors (no pickle)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from action2vec.errors import DataError
from action2vec.text.embedders import OOV_POLICIES

NAMES_FILE = "labels.json"
VECTORS_FILE = "label_vectors.safetensors"


@dataclass
class LabelVectors:
    """Class names and their text vectors, row ``i`` for ``names[i]``, with what made them.

    ``embedder`` is the spec of the text embedder that made the vectors ("" when they were given by
    hand: such vectors cannot be extended to new label texts), ``prompts`` the label prompt templates
    it averaged over (empty: the label phrase alone) and ``oov`` its word-vector policy for unknown words.
    They travel with the vectors through ``subset``, ``save`` and ``load``, so a model records the one
    embedder that made its label space and new label texts are embedded the same way.
    """

    names: list[str]
    vectors: np.ndarray  # (N, D) float32
    text: str = ""  # spec of the text embedder that made the vectors ("" when given by hand), as data.text
    prompts: tuple[str, ...] = ()  # label prompt templates averaged over ("{}" is the label phrase)
    oov: str = "error"  # the embedder's policy for words it lacks: "error", "skip" or "subword"

    def __post_init__(self) -> None:
        self.names = [str(n) for n in self.names]
        self.vectors = np.asarray(self.vectors, dtype=np.float32)
        self.text = str(self.text or "")
        self.prompts = tuple(str(p) for p in self.prompts)
        self.oov = str(self.oov or "error")
        if self.vectors.ndim != 2 or self.vectors.shape[0] != len(self.names):
            raise DataError(f"label vectors: {len(self.names)} names but vectors of shape {self.vectors.shape}")
        if len(set(self.names)) != len(self.names):
            raise DataError("label vectors: class names are not unique")

    @property
    def embedder(self) -> str:
        """The older name of :attr:`text` (read by code written against it)."""
        return self.text

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
        return LabelVectors(names, self.lookup(names), text=self.text, prompts=self.prompts, oov=self.oov)

    def save(self, directory: str | Path) -> Path:
        """Write ``labels.json`` (names, text embedder spec as ``"text"``, prompts, oov) and
        ``label_vectors.safetensors`` into ``directory``."""
        from safetensors.numpy import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        save_file({"vectors": np.ascontiguousarray(self.vectors)}, str(directory / VECTORS_FILE))
        doc = {"names": self.names, "text": self.text, "prompts": list(self.prompts), "oov": self.oov}
        (directory / NAMES_FILE).write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "LabelVectors":
        """Read what :meth:`save` wrote (or an older ``labels.json`` holding a bare list of names).

        Every damaged or mismatched file raises DataError naming the file and the problem.
        """
        directory = Path(directory)
        names_path, vectors_path = directory / NAMES_FILE, directory / VECTORS_FILE
        for path in (names_path, vectors_path):
            if not path.is_file():
                raise DataError(f"{path}: label vectors file not found")
        names, embedder, prompts, oov = _read_names_file(names_path)
        vectors = read_tensor_file(vectors_path, "label vectors")
        if set(vectors) != {"vectors"}:
            raise DataError(f"{vectors_path}: expected one tensor 'vectors', found {sorted(vectors)}")
        array = vectors["vectors"]
        if array.ndim != 2 or array.shape[0] != len(names):
            raise DataError(
                f"{vectors_path}: holds vectors of shape {tuple(array.shape)} but {names_path.name} "
                f"names {len(names)} labels"
            )
        if not np.isfinite(array).all():
            raise DataError(f"{vectors_path}: label vectors contain NaN or inf")
        try:
            return cls(names, array, text=embedder, prompts=prompts, oov=oov)
        except DataError as exc:
            raise DataError(f"{names_path}: {exc}") from None


def read_tensor_file(path: str | Path, what: str, *, as_torch: bool = False) -> dict[str, Any]:
    """The tensors of a safetensors file (NumPy arrays, or torch tensors with ``as_torch``), or DataError
    naming the file when it is damaged or truncated."""
    load_file: Callable[[str], dict[str, Any]]
    if as_torch:
        from safetensors.torch import load_file as load_torch

        load_file = load_torch
    else:
        from safetensors.numpy import load_file as load_numpy

        load_file = load_numpy

    try:
        return load_file(str(path))
    except Exception as exc:  # SafetensorError (truncated, bad header), OSError
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{path}: damaged {what} file ({reason})") from None


def names_file_text(doc: Any) -> Any:
    """The text embedder spec a ``labels.json`` document records: ``"text"``, or ``"embedder"`` in files written
    before the spec had one name everywhere ("" when neither is there)."""
    if not isinstance(doc, dict):
        return ""
    return doc["text"] if "text" in doc else doc.get("embedder", "")


def _read_names_file(path: Path) -> tuple[list[str], str, tuple[str, ...], str]:
    """(names, text embedder spec, prompts, oov) of ``labels.json``; a bare list of names is the older form, an
    ``"embedder"`` key the older name of ``"text"``, and a file without ``oov`` (written before it was recorded)
    reads as "error"."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
    if isinstance(doc, list):
        doc = {"names": doc}
    if not isinstance(doc, dict) or not isinstance(doc.get("names"), list):
        raise DataError(f'{path}: expected {{"names": [...], "text": ..., "prompts": [...]}} or a list of names')
    names, text, prompts = doc["names"], names_file_text(doc), doc.get("prompts", [])
    if not all(isinstance(n, str) for n in names):
        raise DataError(f"{path}: every label name must be a string")
    if not isinstance(text, str) or not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
        raise DataError(f"{path}: 'text' must be a string and 'prompts' a list of strings")
    oov = doc.get("oov", "error")
    if oov not in OOV_POLICIES:
        raise DataError(f"{path}: 'oov' must be one of {', '.join(OOV_POLICIES)}, not {oov!r}")
    return names, text, tuple(prompts), oov
