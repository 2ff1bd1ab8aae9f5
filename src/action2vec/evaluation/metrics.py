"""Classification metrics over arrays: top-k, mean per-class accuracy, confusion, GZSL.

Everything takes integer class indices (``labels`` (N,)) and either predicted indices (N,) or ranked
predictions (N, K) with the best first, and returns plain floats or dicts of floats.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "topk_accuracy",
    "per_class_accuracy",
    "mean_per_class_accuracy",
    "confusion_matrix",
    "harmonic_mean",
    "classification_metrics",
    "gzsl_metrics",
    "chance_levels",
]


def _as_ranked(predictions: np.ndarray) -> np.ndarray:
    pred = np.asarray(predictions)
    return pred[:, None] if pred.ndim == 1 else pred  # (N, K)


def topk_accuracy(ranked: np.ndarray, labels: np.ndarray, k: int = 1) -> float:
    """Fraction of rows whose true label is among the first ``k`` predictions.

    ranked: (N, K) class indices, best first (or (N,) top-1 predictions); labels: (N,).
    """
    ranked = _as_ranked(ranked)
    labels = np.asarray(labels)
    if len(labels) == 0:
        return float("nan")
    hit = (ranked[:, :k] == labels[:, None]).any(axis=1)
    return float(hit.mean())


def per_class_accuracy(predicted: np.ndarray, labels: np.ndarray, classes: np.ndarray | None = None) -> np.ndarray:
    """Top-1 accuracy of each class in ``classes`` (default: the classes present in ``labels``).

    Returns (C,) floats; a class without any sample gets NaN.
    """
    predicted = _as_ranked(predicted)[:, 0]
    labels = np.asarray(labels)
    classes = np.unique(labels) if classes is None else np.asarray(classes)
    # position of each sample's label among ``classes`` (-1: not listed), then per-class counts
    order = np.argsort(classes, kind="stable")
    where = np.searchsorted(classes[order], labels)
    where = np.clip(where, 0, len(classes) - 1)
    slot = np.where(classes[order][where] == labels, order[where], -1)
    listed = slot >= 0
    totals = np.bincount(slot[listed], minlength=len(classes))
    hits = np.bincount(slot[listed], weights=(predicted == labels)[listed], minlength=len(classes))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, hits / np.maximum(totals, 1), np.nan)


def mean_per_class_accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 accuracy averaged over the classes present in ``labels`` (balanced accuracy)."""
    if len(labels) == 0:
        return float("nan")
    return float(np.nanmean(per_class_accuracy(predicted, labels)))


def confusion_matrix(predicted: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """(C, C) counts: row = true class, column = predicted class."""
    predicted = _as_ranked(predicted)[:, 0]
    flat = np.asarray(labels, dtype=np.int64) * n_classes + predicted.astype(np.int64)
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def harmonic_mean(a: float, b: float) -> float:
    """2ab / (a + b); 0 when both are 0."""
    return 0.0 if a + b == 0 else float(2 * a * b / (a + b))


def classification_metrics(ranked: np.ndarray, labels: np.ndarray, ks: tuple[int, ...] = (1, 5)) -> dict[str, float]:
    """``{"top1", "top5", ..., "mean_class_acc", "n"}`` for ranked predictions (N, K) and labels (N,)."""
    ranked = _as_ranked(ranked)
    out = {f"top{k}": topk_accuracy(ranked, labels, k) for k in ks if k <= ranked.shape[1]}
    out["mean_class_acc"] = mean_per_class_accuracy(ranked[:, 0], labels)
    out["n"] = int(len(labels))
    return out


def gzsl_metrics(
    predicted: np.ndarray, labels: np.ndarray, seen_classes: np.ndarray, unseen_classes: np.ndarray
) -> dict[str, float]:
    """Generalised zero-shot: predictions over seen ∪ unseen classes.

    ``seen`` / ``unseen`` are the mean per-class accuracies on the test samples of seen / unseen
    classes (the usual GZSL convention), ``harmonic`` their harmonic mean.
    """
    predicted = _as_ranked(predicted)[:, 0]
    labels = np.asarray(labels)
    seen_mask = np.isin(labels, seen_classes)
    unseen_mask = np.isin(labels, unseen_classes)
    seen = mean_per_class_accuracy(predicted[seen_mask], labels[seen_mask])
    unseen = mean_per_class_accuracy(predicted[unseen_mask], labels[unseen_mask])
    return {
        "seen": seen,
        "unseen": unseen,
        "harmonic": harmonic_mean(seen, unseen) if np.isfinite(seen) and np.isfinite(unseen) else float("nan"),
        "n_seen": int(seen_mask.sum()),
        "n_unseen": int(unseen_mask.sum()),
    }


def chance_levels(n_classes: int, ks: tuple[int, ...] = (1, 5), n_all_classes: int | None = None) -> dict[str, float]:
    """What a uniformly random ranking of ``n_classes`` classes scores, per metric.

    ``top{k}``: k/n (at most 1: the true class is among k of n equally likely places); ``mean_class_acc``:
    1/n; with ``n_all_classes`` (seen + unseen, for GZSL) ``gzsl_seen``, ``gzsl_unseen`` and
    ``gzsl_harmonic``: 1/n_all each.
    """
    if n_classes < 1:
        raise ValueError(f"chance levels need at least one class, got {n_classes}")
    out = {f"top{k}": min(1.0, k / n_classes) for k in ks}
    out["mean_class_acc"] = 1.0 / n_classes
    if n_all_classes:
        for key in ("gzsl_seen", "gzsl_unseen", "gzsl_harmonic"):
            out[key] = 1.0 / n_all_classes
    return out
