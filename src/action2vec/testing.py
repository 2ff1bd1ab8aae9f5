"""Structured synthetic data for tests and benchmarks (no videos needed).

``make_synthetic_store`` writes a store whose features are driven by the class label vectors through a
temporal pattern: step ``t`` of a video of class ``c`` is ``s(t) * P t_c + noise``, with ``P`` a fixed
random projection and ``s`` a zero-mean pattern (+1 over the first half of the true length, -1 over the
second). Mean pooling cancels the signal; a sequence model can demodulate it, and because features are a
fixed function of the label vector, the mapping transfers to unseen classes.

``make_toy_run`` makes a small `train` run on real generated video files (the web explorer's tests use it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from action2vec.store import write_store
from action2vec.text import LabelVectors


def synthetic_label_vectors(n_classes: int, dim: int = 16, seed: int = 0, prefix: str = "class") -> LabelVectors:
    """Random unit label vectors for classes named ``{prefix}{i:03d}``."""
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((n_classes, dim)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return LabelVectors([f"{prefix}{i:03d}" for i in range(n_classes)], v)


def write_vectors_file(label_vectors: LabelVectors, path: str | Path) -> Path:
    """Save ``label_vectors`` as the ``.npz`` (``names``, ``vectors``) that a ``vectors:PATH`` text spec reads."""
    path = Path(path)
    np.savez(path, names=np.array(label_vectors.names), vectors=label_vectors.vectors)
    return path


def make_synthetic_store(
    path: str | Path,
    label_vectors: LabelVectors,
    videos_per_class: int = 20,
    steps: int = 24,
    feature_dim: int = 32,
    noise: float = 0.3,
    min_length: int | None = None,
    temporal: bool = True,
    seed: int = 0,
) -> Path:
    """Write the store described in the module docstring; lengths vary in [min_length, steps]."""
    rng = np.random.default_rng(seed + 1)
    proj = rng.standard_normal((feature_dim, label_vectors.dim)).astype(np.float32) / np.sqrt(label_vectors.dim)
    min_length = min_length or max(2, steps // 2)
    items = []
    for name, vec in zip(label_vectors.names, label_vectors.vectors):
        base = proj @ vec  # (D,)
        for j in range(videos_per_class):
            length = int(rng.integers(min_length, steps + 1))
            t = np.arange(steps)
            pattern = np.where(t < length / 2, 1.0, -1.0) if temporal else np.ones(steps)
            feats = pattern[:, None] * base[None, :] * rng.uniform(0.7, 1.3)
            feats = feats + noise * rng.standard_normal((steps, feature_dim))
            feats[length:] = 0.0  # zero padding after the true length, as extraction writes it
            items.append((f"{name}_v{j:03d}", feats.astype(np.float32), length, name))
    order = rng.permutation(len(items))
    return write_store(path, [items[i] for i in order], meta={"backbone": "synthetic", "layer": "none"})


def make_toy_run(
    folder: str | Path,
    verbs: Sequence[str] = ("spin", "grow", "slide"),
    nouns: Sequence[str] = ("ball", "box"),
    videos_per_class: int = 3,
    epochs: int = 30,
    text: str = "minilm",
) -> Path:
    """A `train` run folder on real toy videos, made in seconds: ``folder/toy/`` (generated "verb noun" MP4
    files), ``folder/features.h5`` (the weight-free ``motion`` backbone, so a model can embed new video files
    without weights) and ``folder/run/`` (``model/`` and ``config.yaml`` naming the store) of a small
    Action2Vec trained on every class with ``text`` label vectors (MiniLM: any new label text embeds).
    Returns ``folder/run``; a finished run in ``folder`` is reused."""
    from action2vec.config import load_config
    from action2vec.datasets.toy import ToyConfig, generate_toy_dataset
    from action2vec.model_folder import WEIGHTS_FILE
    from action2vec.run_folder import RESULT_FILE
    from action2vec.text import build_label_vectors
    from action2vec.training import RunConfig, fit
    from action2vec.video.backbones import create_backbone
    from action2vec.video.config import ClipConfig, ComputeConfig, ExtractConfig
    from action2vec.video.extract import extract_videos, read_video_list

    folder = Path(folder)
    run_dir = folder / "run"
    if (run_dir / "model" / WEIGHTS_FILE).is_file() and (run_dir / RESULT_FILE).is_file():
        return run_dir
    toy = generate_toy_dataset(
        folder / "toy",
        ToyConfig(
            verbs=list(verbs), nouns=list(nouns), videos_per_class=videos_per_class, min_seconds=2.0, max_seconds=3.0
        ),
    )
    store = folder / "features.h5"
    extract_videos(
        read_video_list(toy.list_path),
        store,
        create_backbone("motion"),
        ExtractConfig(
            video=ClipConfig(fps=12.0, duration=3.0, stride=4), compute=ComputeConfig(workers=0, progress=False)
        ),
    )
    vectors = build_label_vectors(toy.classes, text, overrides=toy.overrides_path)
    cfg = load_config(
        RunConfig,
        None,
        [
            "model.preset=cpu",
            "model.lstm1_hidden=32",
            "model.lstm2_hidden=32",
            "model.attention_dim=8",
            "model.window=4",
            "model.window_stride=4",
            "loss.margin=0.5",
            "loss.lambda_initial=0.1",
            f"train.epochs={epochs}",
            "train.batch_size=8",
            "train.lr=3e-3",
            "train.progress_bar=false",
            "train.log_every_n_steps=1",
            "data.val_fraction=0",
            f"data.store={store}",
            f"data.text={text}",
        ],
    )
    fit(cfg, run_dir, label_vectors=vectors)
    return run_dir
