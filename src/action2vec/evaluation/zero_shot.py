"""Zero-shot classification: nearest class vector by cosine, in chunks so 100k × 1000 stays fast."""

from __future__ import annotations

import numpy as np

from action2vec.evaluation.metrics import classification_metrics, confusion_matrix
from action2vec.linalg import l2_normalize

__all__ = ["cosine_topk", "zero_shot_evaluate"]


def cosine_topk(queries: np.ndarray, keys: np.ndarray, k: int = 5, chunk: int = 16384) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` keys most cosine-similar to each query, best first.

    queries: (N, D), keys: (C, D). Returns (indices (N, k) int64, scores (N, k) float32).
    Works chunk by chunk so memory stays at ``chunk × C`` floats; the matmul and the top-k selection
    run in torch (multi-threaded, several times faster than numpy's argpartition here).
    """
    import torch

    q = torch.from_numpy(l2_normalize(queries))
    c = torch.from_numpy(l2_normalize(keys))
    k = min(k, c.shape[0])
    n = q.shape[0]
    idx = np.empty((n, k), dtype=np.int64)
    val = np.empty((n, k), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, n, chunk):
            scores = q[start : start + chunk] @ c.T  # (n_chunk, C)
            top = torch.topk(scores, k, dim=1, largest=True, sorted=True)
            idx[start : start + chunk] = top.indices.numpy()
            val[start : start + chunk] = top.values.numpy()
    return idx, val


def zero_shot_evaluate(
    embeddings: np.ndarray,
    labels: np.ndarray,
    class_vectors: np.ndarray,
    ks: tuple[int, ...] = (1, 5),
    with_confusion: bool = False,
) -> dict:
    """Classify video embeddings (N, E) against class vectors (C, E) by cosine and score them.

    labels: (N,) indices into the rows of ``class_vectors``. Returns ``{"top1", "top5",
    "mean_class_acc", "n", "n_classes", "predicted"}`` (+ ``"confusion"`` (C, C) if asked).
    """
    labels = np.asarray(labels, dtype=np.int64)
    ranked, _ = cosine_topk(embeddings, class_vectors, k=max(ks))
    out: dict = classification_metrics(ranked, labels, ks)
    out["n_classes"] = int(len(class_vectors))
    out["predicted"] = ranked[:, 0]
    if with_confusion:
        out["confusion"] = confusion_matrix(ranked[:, 0], labels, len(class_vectors))
    return out
