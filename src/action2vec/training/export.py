"""The shareable model folder: everything needed to use a trained model, and nothing pickled.

    MODEL_DIR/config.json                 model config (dims filled in), loss/train config, store metadata,
                                          text-embedder spec, training classes
    MODEL_DIR/model.safetensors           network weights
    MODEL_DIR/labels.json                 the label vocabulary (training classes and any others given)
    MODEL_DIR/label_vectors.safetensors   its vectors
    MODEL_DIR/pca.safetensors             the store's PCA (mean, components), when it had one
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors.torch import save_file
from torch import nn

from action2vec.config import to_dict

FORMAT = "action2vec-model"


def export_model(net: nn.Module, cfg, label_vectors, model_dir: str | Path, store=None, classes=None) -> Path:
    """Write ``net`` with its config, label vocabulary (every vector it was given) and PCA into ``model_dir``.

    ``classes`` are the training classes, in the order of the classification head.
    """
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    save_file(state, str(model_dir / "model.safetensors"), metadata={"format": FORMAT})
    label_vectors.save(model_dir)
    info = {
        "format": FORMAT,
        "version": 1,
        "model": to_dict(cfg.model),
        "loss": to_dict(cfg.loss),
        "train": to_dict(cfg.train),
        "text": cfg.data.text,
        "classes": list(classes if classes is not None else label_vectors.names),
        "features": dict(store.meta) if store is not None else {},
    }
    if store is not None and getattr(store, "pca", None):
        from safetensors.numpy import save_file as save_np

        save_np({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in store.pca.items()},
                str(model_dir / "pca.safetensors"))
        info["pca"] = True
    (model_dir / "config.json").write_text(json.dumps(info, indent=2, default=str) + "\n")
    return model_dir
