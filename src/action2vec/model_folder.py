"""The shareable model folder: everything needed to use a trained model, and nothing pickled.

    MODEL_DIR/config.json                 format and version, model config (dims filled in), loss and
                                          training settings, what it was trained on (store, video counts),
                                          the store's feature metadata (backbone, clip settings), the
                                          training classes, metrics
    MODEL_DIR/model.safetensors           network weights
    MODEL_DIR/labels.json                 the label vocabulary (training classes and any others given), with
                                          the text embedder and prompts that made its vectors
    MODEL_DIR/label_vectors.safetensors   its vectors
    MODEL_DIR/pca.safetensors             the PCA (mean, components) the features went through, when any
    MODEL_DIR/README.md                   the model card: data, features, text, config, metrics, how to use it

``config.json`` is read into a typed :class:`ModelInfo`. Format version 2 is written; version-1 folders
(embedder spec in config.json's ``"text"``, variant ``lstm``, no model card) still load; a folder of a
later version is refused with one line. :func:`write_model_folder` writes a folder (training fills it from a
run: :func:`action2vec.training.export.export_model`); :func:`read_model_folder` checks every file before any work.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
import yaml

from action2vec.config import from_dict, to_dict
from action2vec.errors import Action2VecError, DataError
from action2vec.io import read_json, write_json
from action2vec.models import ModelConfig
from action2vec.store.pca import PCA
from action2vec.text import LabelVectors
from action2vec.text.vectors import read_tensor_file

FORMAT = "action2vec-model"
FORMAT_VERSION = 2
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
PCA_FILE = "pca.safetensors"
CARD_FILE = "README.md"
RENAMED_VARIANTS = {"lstm": "single_lstm"}  # version-1 identifiers


@dataclass
class TrainingData:
    """What a model was trained on (the store's path and how many of its videos)."""

    store: str = ""
    train_videos: int = 0
    val_videos: int = 0


@dataclass
class ModelInfo:
    """A model folder's ``config.json``, typed; one JSON form (:meth:`to_json` / :meth:`from_json`)."""

    model: ModelConfig  # input_dim and embed_dim filled in
    classes: list[str]  # training classes, in the order of the classification head
    features: dict[str, Any] = field(default_factory=dict)  # the store's metadata: backbone, clips, pca, dim
    loss: dict[str, Any] = field(default_factory=dict)  # loss settings, for the record
    train: dict[str, Any] = field(default_factory=dict)  # optimisation settings, for the record
    data: TrainingData = field(default_factory=TrainingData)
    pca: bool = False  # pca.safetensors holds the projection the features went through
    metrics: dict[str, float] = field(default_factory=dict)  # training metrics, and any a caller added
    transductive: bool = False  # unlabelled test videos' features (never labels) entered training (manifold term)
    version: int = FORMAT_VERSION

    @property
    def input_dim(self) -> int:
        return int(self.model.input_dim or 0)

    @property
    def embed_dim(self) -> int:
        return int(self.model.embed_dim or 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "model": to_dict(self.model),
            "loss": self.loss,
            "train": self.train,
            "data": to_dict(self.data),
            "classes": list(self.classes),
            "features": self.features,
            "pca": self.pca,
            "metrics": self.metrics,
            "transductive": self.transductive,
        }

    @classmethod
    def from_json(cls, doc: Any, path: str | Path = CONFIG_FILE) -> "ModelInfo":
        """Parse (and translate from version 1) a config.json document; DataError names ``path``."""
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise DataError(f'{path}: not an action2vec model config (no "format": "{FORMAT}")')
        version = doc.get("version")
        if not isinstance(version, int) or version < 1:
            raise DataError(f"{path}: no valid format version ({version!r})")
        if version > FORMAT_VERSION:
            raise DataError(
                f"{path}: written by model folder format version {version}; this action2vec reads "
                f"versions up to {FORMAT_VERSION}: upgrade action2vec"
            )
        missing = [k for k in ("model", "classes") if k not in doc]
        if missing:
            raise DataError(f"{path}: missing key(s) {missing}")
        try:
            return _parse_info(doc, version)
        except Action2VecError as exc:
            raise DataError(f"{path}: {exc}") from None


def _parse_info(doc: dict[str, Any], version: int) -> ModelInfo:
    model = dict(doc["model"]) if isinstance(doc["model"], dict) else doc["model"]
    if version == 1 and isinstance(model, dict):
        variant = model.get("variant")
        model["variant"] = RENAMED_VARIANTS.get(variant, variant) if isinstance(variant, str) else variant
    cfg = from_dict(ModelConfig, model, prefix="model")
    for key in ("input_dim", "embed_dim"):
        if not isinstance(getattr(cfg, key), int) or getattr(cfg, key) < 1:
            raise DataError(f"model.{key} must be a positive integer, got {getattr(cfg, key)!r}")
    classes = doc["classes"]
    if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
        raise DataError("'classes' must be a non-empty list of class names")
    sections = {k: doc.get(k) or {} for k in ("features", "loss", "train", "metrics")}
    bad = [k for k, v in sections.items() if not isinstance(v, dict)]
    if bad:
        raise DataError(f"{bad} must be mappings")
    return ModelInfo(
        model=cfg,
        classes=classes,
        features=sections["features"],
        loss=sections["loss"],
        train=sections["train"],
        data=from_dict(TrainingData, doc.get("data") or {}, prefix="data"),
        pca=bool(doc.get("pca")),
        metrics=sections["metrics"],
        transductive=bool(doc.get("transductive", False)),
        version=version,
    )


def write_model_folder(
    model_dir: str | Path,
    info: ModelInfo,
    weights: Mapping[str, torch.Tensor],
    label_vectors: LabelVectors,
    pca: PCA | None = None,
) -> Path:
    """Write a model folder: ``weights`` (a network's state dict), ``label_vectors``, ``pca`` (``info.pca`` is set
    from it), the model card, and config.json last. Weights holding NaN or inf write nothing (DataError)."""
    from safetensors.numpy import save_file as save_np
    from safetensors.torch import save_file

    model_dir = Path(model_dir)
    state = {k: v.detach().cpu().contiguous() for k, v in weights.items()}
    check_finite(state, f"{model_dir / WEIGHTS_FILE} (not written)")  # a diverged network is never exported
    model_dir.mkdir(parents=True, exist_ok=True)
    if pca is not None:
        save_np(
            {
                "mean": np.ascontiguousarray(pca.mean, np.float32),
                "components": np.ascontiguousarray(pca.components, np.float32),
                "explained_variance": np.ascontiguousarray(pca.explained_variance, np.float32),
            },
            str(model_dir / PCA_FILE),
        )
    save_file(state, str(model_dir / WEIGHTS_FILE), metadata={"format": FORMAT})
    label_vectors.save(model_dir)
    info = replace(info, pca=pca is not None)
    (model_dir / CARD_FILE).write_text(model_card(info, label_vectors, model_dir), encoding="utf-8")
    write_json(info.to_json(), model_dir / CONFIG_FILE)
    return model_dir


def record_metrics(model_dir: str | Path, metrics: Mapping[str, float]) -> ModelInfo:
    """Add ``metrics`` (e.g. zero-shot results) to a model folder's config.json and rewrite its card.

    A version-1 folder is rewritten in the current format (its label vectors then record their embedder).
    """
    folder = read_model_folder(model_dir)
    info = folder.info
    info.metrics.update({str(k): float(v) for k, v in metrics.items()})
    if info.version < FORMAT_VERSION:
        folder.label_vectors.save(folder.path)
        info.version = FORMAT_VERSION
    (folder.path / CARD_FILE).write_text(model_card(info, folder.label_vectors, folder.path), encoding="utf-8")
    write_json(info.to_json(), folder.path / CONFIG_FILE)
    return info


def _read_config(model_dir: Path) -> tuple[dict[str, Any], ModelInfo]:
    path = model_dir / CONFIG_FILE
    if not path.is_file():
        raise DataError(f"{model_dir}: not a model folder (no {CONFIG_FILE})")
    doc = read_json(path, "model config")
    return doc, ModelInfo.from_json(doc, path)


def read_model_info(model_dir: str | Path) -> ModelInfo:
    """The typed config.json of a model folder (DataError naming the file when absent or damaged)."""
    return _read_config(Path(model_dir))[1]


@dataclass
class ModelFolder:
    """Everything a model folder holds, read and checked (see :func:`read_model_folder`)."""

    path: Path
    info: ModelInfo
    label_vectors: LabelVectors
    pca: PCA | None
    weights: dict[str, Any]  # name -> torch.Tensor


def read_model_folder(model_dir: str | Path) -> ModelFolder:
    """Read and cross-check every file of a model folder; each damaged or mismatched file, or one holding
    non-finite numbers, raises one DataError naming it. A version-1 folder's embedder (config.json ``"text"``) moves to its label vectors."""
    model_dir = Path(model_dir)
    doc, info = _read_config(model_dir)
    dim = info.features.get("dim")
    if isinstance(dim, int) and dim != info.input_dim:
        raise DataError(f"{model_dir / CONFIG_FILE}: model.input_dim={info.input_dim} but its features are {dim}-d")
    label_vectors = LabelVectors.load(model_dir)
    if info.version == 1 and not label_vectors.text and isinstance(doc.get("text"), str):
        label_vectors.text = doc["text"]
    check_label_vectors(model_dir, info, label_vectors)
    pca = read_pca(model_dir, info)
    weights_path = model_dir / WEIGHTS_FILE
    if not weights_path.is_file():
        raise DataError(f"{weights_path}: network weights file not found")
    weights = read_tensor_file(weights_path, "weights", as_torch=True)
    check_finite(weights, str(weights_path))
    check_finite({"vectors": label_vectors.vectors}, str(model_dir / "label_vectors.safetensors"))
    if pca is not None:
        check_finite({"mean": pca.mean, "components": pca.components}, str(model_dir / PCA_FILE))
    return ModelFolder(model_dir, info, label_vectors, pca, weights)


def check_finite(tensors: Mapping[str, Any], where: str) -> None:
    """DataError naming ``where`` and the first tensor (NumPy or torch) holding NaN or inf: the weights of a
    diverged training run, which would score every video NaN."""
    for name, value in tensors.items():
        finite = torch.isfinite(value) if isinstance(value, torch.Tensor) else torch.from_numpy(np.isfinite(value))
        if not bool(finite.all()):
            raise DataError(
                f"{where}: {name} holds {int((~finite).sum())} non-finite value(s) (NaN or inf) of "
                f"{finite.numel()}; the training that made them diverged, and the model cannot be used"
            )


def check_label_vectors(model_dir: Path, info: ModelInfo, label_vectors: LabelVectors) -> None:
    """The label vectors must have the model's embedding size and cover its training classes."""
    if label_vectors.dim != info.embed_dim:
        raise DataError(
            f"{model_dir / 'label_vectors.safetensors'}: {label_vectors.dim}-d label vectors, but "
            f"{CONFIG_FILE} says model.embed_dim={info.embed_dim}"
        )
    absent = [c for c in info.classes if c not in set(label_vectors.names)]
    if absent:
        raise DataError(f"{model_dir / 'labels.json'}: no vector for training class(es) {absent[:5]}")


def read_pca(model_dir: Path, info: ModelInfo) -> PCA | None:
    """The folder's PCA, checked against the model's input size (None when it has none)."""
    path = model_dir / PCA_FILE
    if not info.pca:
        return None
    if not path.is_file():
        raise DataError(f"{path}: not found, but {CONFIG_FILE} says the features went through a PCA")
    arrays = read_tensor_file(path, "PCA")
    mean, comps = arrays.get("mean"), arrays.get("components")
    if mean is None or comps is None or comps.ndim != 2 or mean.shape != (comps.shape[1],):
        raise DataError(f"{path}: expected 'mean' (D_in,) and 'components' (D, D_in) arrays")
    if comps.shape[0] != info.input_dim:
        raise DataError(
            f"{path}: projects to {comps.shape[0]} dims, but {CONFIG_FILE} says model.input_dim={info.input_dim}"
        )
    variance = arrays.get("explained_variance", np.zeros(comps.shape[0], np.float32))
    return PCA(mean, comps, variance)


# ------------------------------------------------------------------------------------------ model card


def model_card(info: ModelInfo, label_vectors: LabelVectors, model_dir: str | Path) -> str:
    """The README.md of a model folder (markdown): data, features, text, config, metrics, usage."""
    m = info.model
    head = [
        f"# Action2Vec model: `{m.variant}` ({m.preset} preset)",
        "",
        f"A video-to-text embedding: feature sequences ({info.input_dim}-d) -> {info.embed_dim}-d unit vectors in "
        f"the space of label-text vectors; trained with action2vec (model folder format {FORMAT_VERSION}).",
        "",
        "## Trained on",
        "",
        f"- feature store: `{info.data.store or '(not recorded)'}`: {info.data.train_videos} training and "
        f"{info.data.val_videos} validation videos of {len(info.classes)} classes",
        f"- features: {_features_line(info)}",
        f"- label texts: {_text_line(label_vectors)}; {len(label_vectors)} label vectors (the "
        f"{len(info.classes)} training classes and {len(label_vectors) - len(info.classes)} others)",
        f"- classes: {', '.join(info.classes[:20])}"
        + (f", ... ({len(info.classes)} in all)" if len(info.classes) > 20 else ""),
        *(
            [
                "- transductive: the features (never the labels) of unlabelled test videos entered training (manifold term)"
            ]
            if info.transductive
            else []
        ),
        "",
    ]
    config = {"model": to_dict(m), "loss": info.loss, "train": info.train}
    body = ["## Config", "", "```yaml", yaml.safe_dump(config, sort_keys=False).rstrip(), "```", "", "## Metrics", ""]
    if info.metrics:
        body += ["| metric | value |", "|---|---|"] + [
            f"| {k} | {_number(v)} |" for k, v in sorted(info.metrics.items())
        ]
    else:
        body.append("(none recorded)")
    return "\n".join(head + body + [""] + _usage(info, label_vectors, Path(model_dir))) + "\n"


def _number(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) else "-"


def _features_line(info: ModelInfo) -> str:
    f = info.features
    if not f.get("backbone"):
        return "not recorded (features given as arrays)"
    weights = "random weights" if f.get("random_weights") else ("pretrained" if f.get("pretrained") else "weight-free")
    line = f"backbone `{f['backbone']}` (layer {f.get('layer') or '-'}, {weights})"
    if "clip_len" in f:
        line += (
            f", clips of {f['clip_len']} frames every {f.get('stride')} at {f.get('fps')} fps over "
            f"{f.get('duration')} s ({f.get('steps')} steps)"
        )
    if info.pca:
        line += f", PCA {f.get('pca_from')} -> {f.get('pca')} (`{PCA_FILE}`)"
    return line


def _text_line(label_vectors: LabelVectors) -> str:
    if not label_vectors.text:
        return "vectors given by hand (no text embedder recorded: only the known labels can be classified)"
    prompts = ", ".join(f"`{p}`" for p in label_vectors.prompts) or "none (the label phrase alone)"
    return f"embedder `{label_vectors.text}`, prompts {prompts}"


def backbone_needs_weights(backbone: str, random_weights: bool) -> bool:
    """Whether embedding video files as a store made by ``backbone`` was needs its pretrained weights given:
    not for weight-free backbones, a store extracted with random weights, or weights found in a cache."""
    from action2vec.video.backbones import backbone_class, needs_weights

    cached = bool(getattr(backbone_class(backbone), "cached_weights", False))
    return needs_weights(backbone) and not random_weights and not cached


def _asks_weights(features: Mapping[str, Any]) -> bool:
    if not features.get("backbone"):
        return False
    try:
        return backbone_needs_weights(str(features["backbone"]), bool(features.get("random_weights")))
    except Action2VecError:  # a plug-in backbone not importable here: say what it will most likely need
        return True


def _usage(info: ModelInfo, label_vectors: LabelVectors, model_dir: Path) -> list[str]:
    weights = ', backbone_weights="WEIGHTS"' if _asks_weights(info.features) else ""
    cli_weights = " --weights WEIGHTS" if weights else ""
    labels = ", ".join(f'"{n}"' for n in info.classes[:2])
    return [
        "## Use it",
        "",
        "```python",
        "from action2vec.inference import Action2Vec",
        "",
        f'model = Action2Vec.from_pretrained("{model_dir}"{weights})',
        'emb = model.encode_video(["clip.mp4"])            # (1, E) unit vectors',
        f"text = model.encode_text([{labels}])",
        f'model.classify(["clip.mp4"], [{labels}], top_k=1)',
        "```",
        "",
        "```bash",
        f'action2vec classify --model {model_dir} --video clip.mp4{cli_weights} --labels "{",".join(info.classes[:2])}"',
        "```",
        "",
        "New label texts are embedded with the recorded text embedder and prompts"
        + ("." if label_vectors.text else "; this model has none, so only its known labels work."),
    ]
