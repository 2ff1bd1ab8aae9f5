"""Use a trained model: embed video files, feature sequences and label texts into one space; classify.

    model = Action2Vec.from_pretrained("runs/ucf/model", backbone_weights="c3d.pickle")  # alias of load
    model = Action2Vec.from_pretrained("runs/ucf")             # a train run folder: its model/ is used
    emb = model.encode_video(["a.mp4", "b.avi"])               # (N, E) unit vectors
    text = model.encode_text(["play violin", "ride bike"])      # (M, E) unit vectors
    model.classify(["a.mp4"], ["play violin", "ride bike"], top_k=1)
    model.encode_features(features, lengths)                   # stored (N, T, D) sequences -> (N, E)
    model.classify_features(features, lengths, ["play violin", "ride bike"])

A video file goes through the recipe its training store was made with (:class:`VideoRecipe`: decoding and
clip settings, the backbone and layer, then the recorded PCA), so ``encode_video`` gives what extracting
the file into a store and ``encode_store`` would. New label texts go through the text embedder and
prompts that made the model's label vectors (recorded in the model folder).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from action2vec.errors import Action2VecError, ConfigError, DataError
from action2vec.linalg import l2_normalize
from action2vec.model_folder import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    ModelFolder,
    ModelInfo,
    backbone_needs_weights,
    read_model_folder,
)
from action2vec.models import build_model
from action2vec.store import Store
from action2vec.store.pca import PCA
from action2vec.video.config import ClipConfig, ExtractConfig

log = logging.getLogger(__name__)

CLIP_KEYS = ("fps", "duration", "clip_len", "stride")


@dataclass
class Prediction:
    labels: list[str]  # top-k label texts, best first
    scores: list[float]  # their cosine similarities


@dataclass
class VideoRecipe:
    """How a video file becomes a model's input, as its training store was made: decoding and clip
    settings, the backbone (name, layer, random or given weights), then the PCA the store went through."""

    backbone: str
    layer: str | None
    random_weights: bool  # the store was extracted with the backbone's seeded random weights
    clip: ClipConfig  # fps, duration, clip_len, stride, short_side, decoder
    pca: PCA | None = None
    weights_sha256: str | None = None  # of the weights file the store was extracted with (None: not recorded)

    @classmethod
    def from_features(cls, meta: Mapping[str, Any], pca: PCA | None = None) -> "VideoRecipe | None":
        """The recipe recorded in a store's (or model's) feature metadata; None when it names no backbone or
        clip settings (features given as arrays, ActivityNet files)."""
        if not meta.get("backbone") or any(meta.get(k) is None for k in CLIP_KEYS):
            return None
        clip = ClipConfig(
            fps=float(meta["fps"]),
            duration=float(meta["duration"]),
            clip_len=int(meta["clip_len"]),
            stride=int(meta["stride"]),
            decoder=str(meta.get("decoder") or "pyav"),
            short_side=int(meta.get("short_side") or ClipConfig().short_side),
        )
        return cls(
            str(meta["backbone"]),
            meta.get("layer") or None,
            bool(meta.get("random_weights")),
            clip,
            pca,
            meta.get("weights_sha256") or None,
        )

    def needs_weights(self) -> bool:
        """Whether :meth:`create_backbone` must be given the backbone's pretrained weights (not for weight-free
        backbones, a store made with random weights, or a backbone that finds its weights in a cache)."""
        return backbone_needs_weights(self.backbone, self.random_weights)

    def check_weights(self, weights: str | Path | None) -> None:
        """ConfigError (one line) unless ``weights`` are what the recipe takes: none for a store extracted with
        random weights (pretrained ones would make other features), given when :meth:`needs_weights`."""
        if weights is not None and self.random_weights:
            raise ConfigError(
                f"the training store was extracted with backbone '{self.backbone}''s seeded random "
                "weights, so the same random weights embed new videos: leave out backbone_weights "
                "(command line: --weights)"
            )
        if weights is None and self.needs_weights():
            raise ConfigError(
                f"backbone '{self.backbone}' needs the pretrained weights the training store was "
                "extracted with: give backbone_weights=PATH (command line: --weights PATH)"
            )

    def create_backbone(self, weights: str | Path | None = None) -> Any:
        """The backbone in eval mode (its seeded random weights when the store was made with them)."""
        from action2vec.hf_folder import hf_spec_path
        from action2vec.video.backbones import create_backbone

        self.check_weights(weights)
        folder = hf_spec_path(self.backbone)  # hf:PATH: the folder the training store recorded holds the weights
        try:
            backbone = create_backbone(
                self.backbone, weights=weights, random_weights=self.random_weights, layer=self.layer
            )
        except DataError as exc:
            if folder is None:
                raise
            raise DataError(f"backbone hf:{folder} (the training store's record): {exc}") from None
        given = getattr(backbone, "weights_sha256", None)
        if self.weights_sha256 and given and given != self.weights_sha256:
            raise DataError(
                f"{weights if folder is None else f'hf:{folder}'}: not the weights the training store "
                f"was extracted with (SHA-256 {given[:12]}…, the store's {self.weights_sha256[:12]}…); "
                "its features would differ"
            )
        return backbone

    def features(self, path: str | Path, backbone: Any, device: str | torch.device = "cpu") -> tuple[np.ndarray, int]:
        """One video file -> its model input (T, D) float32 (after the PCA) and its true length."""
        from action2vec.video.decode import DecodeError
        from action2vec.video.extract import video_features

        try:
            feats, length = video_features(path, backbone, ExtractConfig(video=self.clip), device=device)
        except DecodeError as exc:
            raise DataError(f"{path}: {exc}") from None
        if self.pca is not None:
            feats = self.pca.transform_sequence(feats, length)
        return feats, length


# What encode_features takes: (N, T, D) (or one (T, D)) as an array or tensor, or a list of (T_i, D) arrays; and
# the true lengths (N,)
Features = np.ndarray | torch.Tensor | Sequence[np.ndarray]
Lengths = np.ndarray | torch.Tensor | Sequence[int]


def _as_batch(features: Features, lengths: Lengths | None) -> tuple[list[np.ndarray], np.ndarray]:
    """Accept (N, T, D) arrays or a list of (T_i, D) arrays -> list of arrays and lengths (N,)."""
    if isinstance(features, torch.Tensor):
        features = features.detach().cpu().numpy()
    if isinstance(features, np.ndarray) and features.ndim == 2:
        features = features[None]
    seqs = [np.asarray(f, dtype=np.float32) for f in features]
    if any(s.ndim != 2 for s in seqs):
        raise DataError("features must be (N, T, D) or a list of (T, D) sequences")
    if lengths is None:
        lens = np.array([s.shape[0] for s in seqs], dtype=np.int64)
    else:
        lens = np.asarray(lengths.cpu() if isinstance(lengths, torch.Tensor) else lengths, dtype=np.int64).reshape(-1)
    if len(lens) != len(seqs):
        raise DataError(f"{len(seqs)} feature sequences but {len(lens)} lengths")
    return seqs, lens


def _video_paths(videos: str | Path | Sequence[str | Path]) -> list[Path]:
    """Video files as paths, every one checked to exist (before any decoding starts)."""
    paths = [Path(videos)] if isinstance(videos, (str, Path)) else [Path(v) for v in videos]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise DataError(
            f"{missing[0]}: video file not found" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
        )
    return paths


def _model_folder(path: str | Path) -> Path:
    """``path`` itself when it holds a model's config, else the ``model/`` of a train run folder."""
    path = Path(path)
    if not (path / CONFIG_FILE).is_file() and (path / "model" / CONFIG_FILE).is_file():
        return path / "model"
    return path


def _rank(video: np.ndarray, labels: list[str], text: np.ndarray, top_k: int) -> list[Prediction]:
    """Top-k labels per video by cosine: video (N, E), text (M, E), both unit vectors."""
    sims = video @ text.T  # (N, M)
    order = np.argsort(-sims, axis=1, kind="stable")[:, : min(top_k, len(labels))]
    return [Prediction([labels[j] for j in row], [float(sims[i, j]) for j in row]) for i, row in enumerate(order)]


class Action2Vec:
    """A trained Action2Vec model loaded from its folder (config JSON + safetensors, never pickle)."""

    def __init__(
        self,
        folder: ModelFolder,
        net: torch.nn.Module,
        device: str | torch.device = "cpu",
        backbone_weights: str | Path | None = None,
    ) -> None:
        self.model_dir = folder.path
        self.info: ModelInfo = folder.info
        self.label_vectors = folder.label_vectors
        self.pca = folder.pca
        self.net = net.eval()
        self.device = torch.device(device)
        self.backbone_weights = Path(backbone_weights) if backbone_weights is not None else None
        self.video_recipe = VideoRecipe.from_features(folder.info.features, folder.pca)
        self._backbone: Any = None
        self._text_embedder: Any = None

    @classmethod
    def load(
        cls, model_dir: str | Path, device: str | torch.device = "cpu", *, backbone_weights: str | Path | None = None
    ) -> "Action2Vec":
        """Read a model folder, or a train run folder (its ``model/``); every file is checked first (DataError
        naming a damaged one).

        ``backbone_weights``: the backbone's pretrained weights, which ``encode_video`` needs when the
        training store was extracted with them (C3D); weight-free backbones (``motion``) need none.
        """
        folder = read_model_folder(_model_folder(model_dir))
        info = folder.info
        try:
            net = build_model(info.model, num_classes=len(info.classes) if info.model.classifier else 0)
        except Action2VecError as exc:
            raise DataError(f"{folder.path / CONFIG_FILE}: {exc}") from None
        try:
            net.load_state_dict(folder.weights, strict=True)
        except RuntimeError as exc:
            reason = "; ".join(line.strip() for line in str(exc).splitlines()[1:3])[:300]
            raise DataError(f"{folder.path / WEIGHTS_FILE}: does not fit {CONFIG_FILE} ({reason})") from None
        if backbone_weights is not None and not Path(backbone_weights).exists():
            raise DataError(f"{backbone_weights}: backbone weights not found")
        recipe = VideoRecipe.from_features(info.features)
        if backbone_weights is not None and recipe is not None:
            recipe.check_weights(backbone_weights)  # weights a random-weights store never had: refused now
        return cls(folder, net.to(device), device, backbone_weights)

    from_pretrained = load  # the name open_clip and sentence-transformers users reach for

    @property
    def classes(self) -> list[str]:
        """The training classes (rows of the classification head)."""
        return list(self.info.classes)

    @property
    def input_dim(self) -> int:
        return self.info.input_dim

    @property
    def embed_dim(self) -> int:
        return self.info.embed_dim

    @property
    def feature_dims(self) -> tuple[int, ...]:
        """Feature sizes the model embeds: its input, and before its PCA the backbone's (when it has one)."""
        return (self.input_dim,) if self.pca is None else (self.input_dim, self.pca.dim_in)

    @property
    def text(self) -> str:
        """Spec of the text embedder that made the label vectors ("" when they were given by hand), as the
        training config's ``data.text`` and the model folder's ``labels.json`` name it."""
        return self.label_vectors.text

    @property
    def text_embedder(self) -> str:
        """The older name of :attr:`text`."""
        return self.text

    @property
    def prompts(self) -> tuple[str, ...]:
        """Label prompt templates the label vectors were averaged over (empty: the phrase alone)."""
        return self.label_vectors.prompts

    def _project(self, seq: np.ndarray, length: int) -> np.ndarray:
        """Apply the training features' PCA to raw backbone features when their size asks for it."""
        if seq.shape[1] == self.input_dim:
            return seq
        if self.pca is not None and seq.shape[1] == self.pca.dim_in:
            return self.pca.transform_sequence(seq, length)
        raise DataError(
            f"features are {seq.shape[1]}-d but the model takes {self.input_dim}-d"
            + (f" (or {self.pca.dim_in}-d before its PCA)" if self.pca is not None else "")
        )

    @torch.no_grad()
    def encode_features(self, features: Features, lengths: Lengths | None = None, batch_size: int = 256) -> np.ndarray:
        """Feature sequences (N, T, D) or [(T_i, D)] with true lengths (N,) -> (N, E) unit vectors."""
        seqs, lens = _as_batch(features, lengths)
        out = np.zeros((len(seqs), self.embed_dim), dtype=np.float32)
        for start in range(0, len(seqs), batch_size):
            part = lens[start : start + batch_size]
            chunk = [self._project(s, int(n)) for s, n in zip(seqs[start : start + batch_size], part)]
            steps = max(max(c.shape[0] for c in chunk), 1)
            x = np.zeros((len(chunk), steps, self.input_dim), dtype=np.float32)
            for j, c in enumerate(chunk):
                x[j, : c.shape[0]] = c
            if not np.isfinite(x).all():
                raise DataError("features contain NaN or inf")
            ln = torch.as_tensor(np.minimum(part, steps), device=self.device)
            emb = self.net(torch.from_numpy(x).to(self.device), ln)["embedding"]
            out[start : start + len(chunk)] = F.normalize(emb.float(), dim=-1).cpu().numpy()
        return out

    def encode_store(
        self, store: Store, indices: Sequence[int] | np.ndarray | None = None, batch_size: int = 256
    ) -> np.ndarray:
        """Embed videos of a feature store (all, or the given positions) -> (N, E) unit vectors."""
        idx = np.arange(len(store)) if indices is None else np.asarray(indices, dtype=np.int64)
        out = np.zeros((len(idx), self.embed_dim), dtype=np.float32)
        for start in range(0, len(idx), batch_size):
            part = idx[start : start + batch_size]
            out[start : start + len(part)] = self.encode_features(
                store.read_many(part), store.lengths[part], batch_size
            )
        return out

    def video_backbone(self) -> Any:
        """The backbone of the video recipe (built once); refuses a model that records no recipe."""
        if self.video_recipe is None:
            raise DataError(
                f"{self.model_dir}: the model does not record how its features were made from video "
                "(no backbone or clip settings in its config.json); embed feature arrays instead"
            )
        if self._backbone is None:
            self._backbone = self.video_recipe.create_backbone(self.backbone_weights).to(self.device)
        return self._backbone

    def encode_video(self, videos: str | Path | Sequence[str | Path], batch_size: int = 16) -> np.ndarray:
        """Video files -> (N, E) unit vectors, through the recorded :class:`VideoRecipe` (decode, clips,
        backbone, PCA) and the network, ``batch_size`` videos per network pass."""
        paths = _video_paths(videos)
        backbone = self.video_backbone()  # weights and recipe checked before any decoding
        recipe = self.video_recipe
        assert recipe is not None  # video_backbone refuses a model without one
        out = np.zeros((len(paths), self.embed_dim), dtype=np.float32)
        for start in range(0, len(paths), batch_size):
            chunk = [recipe.features(p, backbone, self.device) for p in paths[start : start + batch_size]]
            out[start : start + len(chunk)] = self.encode_features(
                [f for f, _ in chunk], [n for _, n in chunk], batch_size
            )
            log.debug("embedded %d of %d videos", start + len(chunk), len(paths))
        return out

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """Label texts -> (N, E) unit vectors: the model's known labels from its stored vectors, new texts with
        the text embedder and prompts that made them."""
        texts = [texts] if isinstance(texts, str) else [str(t) for t in texts]
        known = {n: i for i, n in enumerate(self.label_vectors.names)}
        new = sorted({t for t in texts if t not in known})
        fresh = self._embed_new_labels(new) if new else {}
        out = np.zeros((len(texts), self.embed_dim), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i] = self.label_vectors.vectors[known[t]] if t in known else fresh[t]
        return l2_normalize(out)

    def _embed_new_labels(self, new: list[str]) -> dict[str, np.ndarray]:
        from action2vec.text import build_label_vectors, create_embedder

        spec = self.label_vectors.text
        if not spec:
            raise DataError(
                f"{self.model_dir}: its label vectors were given by hand (no text embedder recorded), so "
                f"it cannot embed new label texts such as {new[0]!r}; use its {len(self.label_vectors)} "
                f"known labels (e.g. {', '.join(self.label_vectors.names[:3])})"
            )
        oov = self.label_vectors.oov  # new labels are embedded as the model's were: a word it lacks is skipped, ...
        if self._text_embedder is None:
            self._text_embedder = create_embedder(spec, oov=oov)
        lv = build_label_vectors(new, self._text_embedder, prompts=self.label_vectors.prompts, oov=oov)
        if lv.dim != self.embed_dim:
            raise DataError(f"text embedder {spec!r} gives {lv.dim}-d vectors, the model {self.embed_dim}-d")
        return dict(zip(lv.names, lv.vectors))

    def _labels(self, labels: Sequence[str] | None, top_k: int) -> list[str]:
        """The label texts to rank (default: the training classes), each once, in the order first given."""
        if top_k < 1:
            raise ConfigError(f"top_k must be >= 1, got {top_k}")
        out = self.classes if labels is None else ([labels] if isinstance(labels, str) else list(labels))
        if not out:
            raise DataError("no label texts given")
        return list(dict.fromkeys(str(label) for label in out))

    def classify(
        self, videos: str | Path | Sequence[str | Path], labels: Sequence[str] | None = None, top_k: int = 5
    ) -> list[Prediction]:
        """Video files -> the top-k of ``labels`` (default: the training classes) by cosine, with scores.

        The label texts are embedded first, so a bad label or embedder file fails before any decoding."""
        labels = self._labels(labels, top_k)
        text = self.encode_text(labels)
        return _rank(self.encode_video(videos), labels, text, top_k)

    def classify_features(
        self, features: Features, lengths: Lengths | None = None, labels: Sequence[str] | None = None, top_k: int = 5
    ) -> list[Prediction]:
        """Feature sequences (as :meth:`encode_features` takes them) -> top-k of ``labels`` by cosine."""
        labels = self._labels(labels, top_k)
        text = self.encode_text(labels)
        return _rank(self.encode_features(features, lengths), labels, text, top_k)
