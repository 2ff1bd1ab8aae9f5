"""Local Hugging Face model folders (``save_pretrained`` output) shared by the ``hf:`` backbone and text embedder.

A folder is read offline (``local_files_only``); what identifies it is its model class, the SHA-256 of its
``config.json`` and the digest of its weight files (the SHA-256 of the file when there is one, as
``sha256sum`` prints it; for sharded weights the SHA-256 of the lines ``name sha256`` of every shard). A store
records these for its backbone, so a resume, a model embedding new videos and the ``pooled_match`` row can
check that the same weights are meant.

    folder = read_hf_folder("clip-vit-b16")        # DataError (one line) when it is no usable model folder
    folder.model_type, folder.architecture, folder.config_sha256, folder.weights_sha256
    model = load_hf_model(folder)                  # the transformers model, eval mode, on the CPU
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from action2vec.errors import DataError
from action2vec.extras import require
from action2vec.io import hash_file

__all__ = [
    "HFFolder",
    "MODEL_CLASSES",
    "IMAGE_TEXT",
    "VIDEO",
    "read_hf_folder",
    "load_hf_model",
    "load_hf_processor",
    "hf_spec_path",
]

# model_type of config.json -> the transformers class that loads it, by what a step of a store is
IMAGE_TEXT = {"clip": "CLIPModel", "siglip": "SiglipModel"}
VIDEO = {"videomae": "VideoMAEModel", "xclip": "XCLIPModel"}
MODEL_CLASSES = {**IMAGE_TEXT, **VIDEO}
# the towers a text embedder can use: models with get_text_features
TEXT_TOWERS = {"clip", "siglip", "xclip"}
_WEIGHT_SUFFIXES = (".safetensors", ".bin")


@dataclass(frozen=True)
class HFFolder:
    """A checked model folder and what identifies its model."""

    path: Path  # absolute
    model_type: str  # config.json "model_type" (clip, siglip, videomae, xclip)
    architecture: str  # the transformers class action2vec loads it with (CLIPModel, ...)
    config_sha256: str
    weights_sha256: str
    weight_files: tuple[str, ...]

    @property
    def spec(self) -> str:
        """``hf:PATH``: how the CLI and stores name this folder."""
        return f"hf:{self.path}"

    def identity(self) -> dict[str, str]:
        """What a store or a model records about the folder."""
        return {
            "hf_model_class": self.architecture,
            "hf_model_type": self.model_type,
            "hf_config_sha256": self.config_sha256,
            "weights_sha256": self.weights_sha256,
        }


TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.json",
    "vocab.txt",
    "merges.txt",
    "spiece.model",
    "added_tokens.json",
)


def tokenizer_sha256(path: str | Path) -> str:
    """SHA-256 over the tokenizer files a folder holds (name and content of each of :data:`TOKENIZER_FILES`):
    the same weights under another tokenizer embed label texts differently."""
    return _listing_sha256(Path(path), [name for name in TOKENIZER_FILES if (Path(path) / name).is_file()])


def _listing_sha256(folder: Path, names: list[str]) -> str:
    """SHA-256 of the lines ``name sha256`` of the files ``names`` in ``folder`` (how sharded weights and
    tokenizer files are identified)."""
    lines = "".join(f"{name} {hash_file(folder / name).hexdigest()}\n" for name in names)
    return hashlib.sha256(lines.encode()).hexdigest()


def hf_spec_path(spec: str) -> Path | None:
    """The folder of an ``hf:PATH`` spec (None for any other spec)."""
    kind, sep, rest = spec.strip().partition(":")
    return Path(rest).expanduser().absolute() if sep and kind.lower() == "hf" and rest else None


def read_hf_folder(path: str | Path) -> HFFolder:
    """Check a ``save_pretrained`` folder (config.json of a supported model type, weight files) and digest it."""
    path = Path(path).expanduser().absolute()
    stat = _stats(path)
    return _read(path, stat)


def _stats(path: Path) -> tuple[tuple[str, int, int], ...]:
    if not path.is_dir():
        raise DataError(f"{path}: not a folder (hf:PATH names a local save_pretrained folder)")
    if not (path / "config.json").is_file():
        raise DataError(f"{path}: no config.json, so not a save_pretrained model folder")
    files = sorted(p for p in path.iterdir() if p.is_file())
    return tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files)


@functools.lru_cache(maxsize=16)
def _read(path: Path, stat: tuple[tuple[str, int, int], ...]) -> HFFolder:
    """Digests of a folder, computed once per process for the same files (``stat`` is the cache key)."""
    config_path = path / "config.json"
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{config_path}: not readable JSON ({exc})") from None
    model_type = config.get("model_type") if isinstance(config, dict) else None
    if model_type not in MODEL_CLASSES:
        raise DataError(
            f"{config_path}: model_type {model_type!r} is not supported by hf: "
            f"(supported: {', '.join(sorted(MODEL_CLASSES))})"
        )
    weights = sorted(name for name, _, _ in stat if name.endswith(_WEIGHT_SUFFIXES))
    if any(w.endswith(".safetensors") for w in weights):
        weights = [w for w in weights if w.endswith(".safetensors")]  # what transformers loads when both exist
    if not weights:
        raise DataError(f"{path}: no weight files (*.safetensors or *.bin) beside config.json")
    if len(weights) == 1:
        digest = hash_file(path / weights[0]).hexdigest()
    else:
        digest = _listing_sha256(path, weights)
    return HFFolder(
        path, str(model_type), MODEL_CLASSES[model_type], hash_file(config_path).hexdigest(), digest, tuple(weights)
    )


def _transformers() -> Any:
    return require("transformers", "hf: model folders")


@contextlib.contextmanager
def _quiet(transformers: Any) -> Iterator[None]:
    """transformers' loading notes and progress bars off while a folder loads, as they were afterwards
    (our own checks say what matters: missing weights, a missing processor)."""
    logging_ = transformers.logging
    verbosity, bars = logging_.get_verbosity(), logging_.is_progress_bar_enabled()
    logging_.set_verbosity_error()
    logging_.disable_progress_bar()
    try:
        yield
    finally:
        logging_.set_verbosity(verbosity)
        if bars:
            logging_.enable_progress_bar()


def load_hf_model(folder: HFFolder) -> Any:
    """The folder's model (its ``architecture`` class), read offline, in eval mode on the CPU."""
    transformers = _transformers()
    cls = getattr(transformers, folder.architecture)
    try:
        with _quiet(transformers):
            model, info = cls.from_pretrained(str(folder.path), local_files_only=True, output_loading_info=True)
    except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{folder.path}: cannot load as {folder.architecture} ({reason})") from None
    missing = sorted(info.get("missing_keys") or [])
    if missing:  # transformers would fill them with random values: features that mean nothing
        raise DataError(
            f"{folder.path}: its weights lack {len(missing)} tensor(s) of {folder.architecture} "
            f"(e.g. {', '.join(missing[:3])})"
        )
    return model.eval()


def load_hf_processor(folder: HFFolder, kind: str) -> Any:
    """The folder's ``kind`` ("image": AutoImageProcessor, "tokenizer": AutoTokenizer), read offline."""
    transformers = _transformers()
    loader, wanted = {
        "image": (transformers.AutoImageProcessor, "preprocessor_config.json"),
        "tokenizer": (transformers.AutoTokenizer, "tokenizer_config.json or tokenizer.json"),
    }[kind]
    try:
        with _quiet(transformers):
            processor = loader.from_pretrained(str(folder.path), local_files_only=True)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{folder.path}: no usable {kind} processor ({wanted}): {reason}") from None
    # without its vocabulary files transformers still builds a tokenizer, of the special tokens alone: every
    # text would become the same unknown tokens and every label the same vector
    if kind == "tokenizer" and len(processor) <= len(set(processor.all_special_ids)):
        raise DataError(
            f"{folder.path}: its tokenizer has no vocabulary beyond the special tokens "
            f"({wanted} and the vocabulary files save_pretrained writes are missing)"
        )
    return processor
