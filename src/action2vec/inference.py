"""Use a trained model: encode feature sequences and label texts into one space, classify videos.

    model = Action2Vec.load("runs/ucf/model")
    emb = model.encode_features(features, lengths)        # (N, E) unit vectors
    text = model.encode_text(["play violin", "ride bike"])  # (M, E) unit vectors
    model.classify(features, lengths, ["play violin", "ride bike"], top_k=1)
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from action2vec.config import from_dict
from action2vec.errors import DataError
from action2vec.linalg import l2_normalize
from action2vec.models import ModelConfig, build_model

log = logging.getLogger(__name__)


@dataclass
class Prediction:
    labels: list[str]  # top-k label texts, best first
    scores: list[float]  # their cosine similarities


def _as_batch(features, lengths) -> tuple[list[np.ndarray], np.ndarray]:
    """Accept (N, T, D) arrays or a list of (T_i, D) arrays -> list of arrays and lengths (N,)."""
    if isinstance(features, torch.Tensor):
        features = features.detach().cpu().numpy()
    if isinstance(features, np.ndarray) and features.ndim == 2:
        features = features[None]
    seqs = [np.asarray(f, dtype=np.float32) for f in features]
    if lengths is None:
        lens = np.array([s.shape[0] for s in seqs], dtype=np.int64)
    else:
        lens = np.asarray(lengths.cpu() if isinstance(lengths, torch.Tensor) else lengths, dtype=np.int64).reshape(-1)
    if len(lens) != len(seqs):
        raise DataError(f"{len(seqs)} feature sequences but {len(lens)} lengths")
    return seqs, lens


class Action2Vec:
    """A trained Action2Vec model loaded from its folder (config JSON + safetensors, never pickle)."""

    def __init__(self, model_dir: Path, info: dict, net: torch.nn.Module, label_vectors, pca, device) -> None:
        self.model_dir = model_dir
        self.info = info
        self.net = net.eval()
        self.label_vectors = label_vectors
        self.pca = pca
        self.device = torch.device(device)
        self._embedder = None

    @classmethod
    def load(cls, model_dir: str | Path, device: str | torch.device = "cpu") -> "Action2Vec":
        from safetensors.numpy import load_file as load_np
        from safetensors.torch import load_file

        from action2vec.text import LabelVectors

        model_dir = Path(model_dir)
        cfg_path = model_dir / "config.json"
        if not cfg_path.is_file():
            raise DataError(f"{model_dir}: not a model folder (no config.json)")
        info = json.loads(cfg_path.read_text())
        if info.get("format") != "action2vec-model":
            raise DataError(f"{cfg_path}: not an action2vec model config")
        model_cfg = from_dict(ModelConfig, info["model"], prefix="model")
        label_vectors = LabelVectors.load(model_dir)
        net = build_model(model_cfg, num_classes=len(info["classes"]) if model_cfg.classifier else 0)
        state = load_file(str(model_dir / "model.safetensors"))
        missing, unexpected = net.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise DataError(f"{model_dir}/model.safetensors does not match its config (missing {missing[:3]}, "
                            f"unexpected {unexpected[:3]})")
        pca = load_np(str(model_dir / "pca.safetensors")) if (model_dir / "pca.safetensors").is_file() else None
        return cls(model_dir, info, net.to(device), label_vectors, pca, device)

    @property
    def classes(self) -> list[str]:
        """The training classes (rows of the classification head)."""
        return list(self.info["classes"])

    @property
    def input_dim(self) -> int:
        return int(self.info["model"]["input_dim"])

    @property
    def embed_dim(self) -> int:
        return int(self.info["model"]["embed_dim"])

    def _project(self, seq: np.ndarray) -> np.ndarray:
        """Apply the training store's PCA to raw backbone features when their dim asks for it."""
        if seq.shape[1] == self.input_dim:
            return seq
        if self.pca is not None and seq.shape[1] == self.pca["mean"].shape[0]:
            return (seq - self.pca["mean"]) @ self.pca["components"].T
        raise DataError(f"features are {seq.shape[1]}-d but the model takes {self.input_dim}-d"
                        + (f" (or {self.pca['mean'].shape[0]}-d before its PCA)" if self.pca is not None else ""))

    @torch.no_grad()
    def encode_features(self, features, lengths=None, batch_size: int = 256) -> np.ndarray:
        """Feature sequences (N, T, D) or [(T_i, D)] with true lengths (N,) -> (N, E) unit vectors."""
        seqs, lens = _as_batch(features, lengths)
        out = np.zeros((len(seqs), self.embed_dim), dtype=np.float32)
        for start in range(0, len(seqs), batch_size):
            chunk = [self._project(s) for s in seqs[start : start + batch_size]]
            steps = max(max(c.shape[0] for c in chunk), 1)
            x = np.zeros((len(chunk), steps, self.input_dim), dtype=np.float32)
            for j, c in enumerate(chunk):
                x[j, : c.shape[0]] = c
            if not np.isfinite(x).all():
                raise DataError("features contain NaN or inf")
            ln = torch.as_tensor(np.minimum(lens[start : start + batch_size], steps), device=self.device)
            emb = self.net(torch.from_numpy(x).to(self.device), ln)["embedding"]
            out[start : start + len(chunk)] = F.normalize(emb.float(), dim=-1).cpu().numpy()
        return out

    def encode_store(self, store, indices: Sequence[int] | None = None, batch_size: int = 256) -> np.ndarray:
        """Embed videos of a feature store (all, or the given positions) -> (N, E) unit vectors."""
        idx = np.arange(len(store)) if indices is None else np.asarray(indices, dtype=np.int64)
        out = np.zeros((len(idx), self.embed_dim), dtype=np.float32)
        for start in range(0, len(idx), batch_size):
            part = idx[start : start + batch_size]
            out[start : start + len(part)] = self.encode_features(store.read_many(part), store.lengths[part], batch_size)
        return out

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """Label texts -> (N, E) unit vectors: the stored vocabulary first, else the run's text embedder."""
        texts = list(texts)
        known = {n: i for i, n in enumerate(self.label_vectors.names)}
        out = np.zeros((len(texts), self.embed_dim), dtype=np.float32)
        new = [t for t in texts if t not in known]
        fresh = {}
        if new:
            from action2vec.text import build_label_vectors

            lv = build_label_vectors(sorted(set(new)), self.info["text"])
            if lv.dim != self.embed_dim:
                raise DataError(f"text embedder {self.info['text']!r} gives {lv.dim}-d vectors, the model {self.embed_dim}-d")
            fresh = dict(zip(lv.names, lv.vectors))
        for i, t in enumerate(texts):
            out[i] = self.label_vectors.vectors[known[t]] if t in known else fresh[t]
        return l2_normalize(out)

    def classify(self, features, lengths=None, label_texts: Sequence[str] | None = None, top_k: int = 5) -> list[Prediction]:
        """Nearest label texts (default: the training classes) by cosine, top-k with scores."""
        labels = list(label_texts) if label_texts is not None else self.classes
        video = self.encode_features(features, lengths)
        sims = video @ self.encode_text(labels).T  # (N, M)
        k = min(top_k, len(labels))
        order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        return [Prediction([labels[j] for j in row], [float(sims[i, j]) for j in row]) for i, row in enumerate(order)]
