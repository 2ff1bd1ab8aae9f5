"""Pictures (SPEC step 9): t-SNE/UMAP of class means, similarity heatmaps, confusion matrix, analogy
examples and training curves. Each function builds a matplotlib ``Figure`` without pyplot (no display
needed, safe in worker processes) and :func:`save_figure` writes it as PNG and SVG.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from action2vec.errors import DataError
from action2vec.evaluation.results import AnalogyExample
from action2vec.linalg import l2_normalize
from action2vec.training.logs import metric_series, read_metrics_csv

log = logging.getLogger(__name__)

__all__ = [
    "save_figure",
    "embedding_2d",
    "plot_class_map",
    "plot_similarity_heatmaps",
    "plot_confusion",
    "plot_analogy_examples",
    "plot_training_curves",
]


def save_figure(fig: Figure, stem: str | Path, formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Write ``stem.png`` and ``stem.svg``; returns the paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = stem.with_suffix(f".{fmt}")
        fig.savefig(path, format=fmt, dpi=120, bbox_inches="tight")
        paths.append(path)
    return paths


def embedding_2d(vectors: np.ndarray, method: str = "tsne", seed: int = 0) -> np.ndarray:
    """2-D layout of class vectors (C, E) -> (C, 2) by t-SNE (cosine) or UMAP (if installed)."""
    x = l2_normalize(vectors, dtype=np.float64)
    if len(x) < 3:
        return np.pad(x[:, :2], ((0, 0), (0, max(0, 2 - x.shape[1]))))
    if method == "umap":
        try:
            import umap  # type: ignore[import-not-found]
        except ImportError:
            raise DataError("UMAP layout asked for but umap-learn is not installed (pip install umap-learn)") from None
        return umap.UMAP(n_components=2, metric="cosine", random_state=seed,
                         n_neighbors=min(15, len(x) - 1)).fit_transform(x)
    if method != "tsne":
        raise DataError(f"unknown layout {method!r} (tsne, umap)")
    from sklearn.manifold import TSNE

    perplexity = float(min(30.0, max(2.0, (len(x) - 1) / 3)))
    return TSNE(n_components=2, metric="cosine", init="pca", perplexity=perplexity, random_state=seed).fit_transform(x)


def plot_class_map(
    vectors: np.ndarray, names: Sequence[str], method: str = "tsne", seed: int = 0, title: str | None = None,
    groups: Sequence[str] | None = None,
) -> Figure:
    """Scatter of class means in 2-D with their names (paper Figure 2); ``groups`` colours (e.g. verbs)."""
    xy = embedding_2d(vectors, method, seed)
    size = min(16.0, 6.0 + len(names) / 12)
    fig = Figure(figsize=(size, size * 0.8))
    ax = fig.subplots()
    if groups is not None:
        uniq = sorted(set(groups))
        colour = {g: i for i, g in enumerate(uniq)}
        ax.scatter(xy[:, 0], xy[:, 1], c=[colour[g] for g in groups], cmap="tab20", s=18)
    else:
        ax.scatter(xy[:, 0], xy[:, 1], s=18)
    font = 8 if len(names) <= 120 else 5
    for (x, y), name in zip(xy, names):
        ax.annotate(name, (x, y), fontsize=font, xytext=(2, 2), textcoords="offset points")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title or f"{method.upper()} of class embeddings ({len(names)} classes)")
    return fig


def plot_similarity_heatmaps(reference: np.ndarray, matrices: dict[str, np.ndarray], names: Sequence[str],
                             reference_name: str = "WordNet (Wu-Palmer)") -> Figure:
    """Side-by-side heatmaps: the reference similarity matrix, then each embedding's cosine matrix.

    Rows/columns are ordered by hierarchical clustering of the reference so structure is visible.
    """
    from scipy.cluster.hierarchy import leaves_list, linkage

    n = len(names)
    order = leaves_list(linkage(reference, "average")) if n > 2 else np.arange(n)
    panels = {reference_name: reference, **matrices}
    fig = Figure(figsize=(5.0 * len(panels), 5.0), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (title, m) in zip(axes, panels.items()):
        im = ax.imshow(np.asarray(m)[np.ix_(order, order)], cmap="viridis")
        ax.set_title(title, fontsize=10)
        if n <= 40:
            labels = [names[i] for i in order]
            ax.set_xticks(range(n), labels, rotation=90, fontsize=6)
            ax.set_yticks(range(n), labels, fontsize=6)
        else:
            ax.set_xticks([])
            ax.set_yticks([])
        fig.colorbar(im, ax=ax, fraction=0.046)
    return fig


def plot_confusion(confusion: np.ndarray, names: Sequence[str], normalize: bool = True, title: str = "") -> Figure:
    """Confusion matrix (rows = true class, columns = predicted), row-normalised by default."""
    m = np.asarray(confusion, np.float64)
    if normalize:
        m = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    n = len(names)
    size = min(18.0, 4.0 + n * 0.18)
    fig = Figure(figsize=(size, size))
    ax = fig.subplots()
    im = ax.imshow(m, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    if n <= 60:
        ax.set_xticks(range(n), names, rotation=90, fontsize=6)
        ax.set_yticks(range(n), names, fontsize=6)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or "zero-shot confusion matrix")
    fig.colorbar(im, ax=ax, fraction=0.046)
    return fig


def plot_analogy_examples(examples: Sequence[AnalogyExample], title: str = "Vector-arithmetic analogies") -> Figure:
    """One line per example: ``query − minus + plus → nearest`` (green when it is the expected class)."""
    rows = max(1, len(examples))
    fig = Figure(figsize=(9.0, 0.45 * rows + 0.8))
    ax = fig.subplots()
    ax.axis("off")
    ax.set_title(title)
    for i, ex in enumerate(examples):
        ok = ex.correct
        text = f"{ex.query}  −  {ex.minus}  +  {ex.plus}   →   {ex.nearest}"
        if not ok:
            text += f"   (expected {ex.expected})"
        ax.text(0.0, 1.0 - (i + 0.5) / rows, ("✓ " if ok else "✗ ") + text, fontsize=10,
                color="tab:green" if ok else "tab:red", transform=ax.transAxes, va="center")
    return fig


def plot_training_curves(metrics_csv: str | Path) -> Figure:
    """Training curves from a Lightning ``metrics.csv``: one panel per metric family (loss, accuracy, ...)."""
    series = metric_series(read_metrics_csv(metrics_csv))
    if not series:
        raise DataError(f"{metrics_csv}: no numeric metrics to plot")
    families: dict[str, list[str]] = {}
    for key in sorted(series):
        base = key.split("/", 1)[-1].replace("_epoch", "").replace("_step", "")
        for prefix in ("train_", "val_", "test_"):
            base = base.removeprefix(prefix)
        families.setdefault(base, []).append(key)
    cols = min(3, len(families))
    rows = math.ceil(len(families) / cols)
    fig = Figure(figsize=(4.5 * cols, 3.2 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, (family, keys) in zip(axes, families.items()):
        for key in keys:
            xs, ys = series[key]
            ax.plot(xs, ys, marker="o" if len(xs) < 30 else None, markersize=3, label=key)
        ax.set_title(family)
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
    for ax in axes[len(families):]:
        ax.axis("off")
    return fig
