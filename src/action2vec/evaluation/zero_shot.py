"""Zero-shot classification: nearest class vector by cosine, in chunks so 100k × 1000 stays fast."""

from __future__ import annotations

import numpy as np

from action2vec.evaluation.metrics import classification_metrics, confusion_matrix

__all__ = ["l2_normalize", "cosine_topk", "zero_shot_evaluate"]


def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero). (N, D) -> (N, D) float32."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norm, eps)


def cosine_topk(
    queries: np.ndarray, keys: np.ndarray, k: int = 5, chunk: int = 16384
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` keys most cosine-similar to each query, best first.

    queries: (N, D), keys: (C, D). Returns (indices (N, k) int64, scores (N, k) float32).
    Works chunk by chunk so memory stays at ``chunk × C`` floats.
    """
    q = l2_normalize(queries)
    c = l2_normalize(keys)
    k = min(k, c.shape[0])
    n = q.shape[0]
    idx = np.empty((n, k), dtype=np.int64)
    val = np.empty((n, k), dtype=np.float32)
    rows = np.arange(min(chunk, max(n, 1)))[:, None]
    for start in range(0, n, chunk):
        s = q[start : start + chunk] @ c.T  # (n_chunk, C)
        r = rows[: s.shape[0]]
        if k < s.shape[1]:
            part = np.argpartition(-s, k - 1, axis=1)[:, :k]
        else:
            part = np.broadcast_to(np.arange(s.shape[1]), s.shape).copy()
        part_scores = s[r, part]
        order = np.argsort(-part_scores, axis=1, kind="stable")
        idx[start : start + chunk] = part[r, order]
        val[start : start + chunk] = part_scores[r, order]
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
