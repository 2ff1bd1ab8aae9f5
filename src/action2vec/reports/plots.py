"""Pictures (SPEC step 9): t-SNE/UMAP of class means, similarity heatmaps, confusion matrix, analogy
examples and training curves. Each function builds a matplotlib ``Figure`` without pyplot (no display
needed, safe in worker processes) and :func:`save_figure` writes it as PNG and SVG.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Sequence

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from action2vec.errors import DataError
from action2vec.evaluation.results import AnalogyExample
from action2vec.linalg import l2_normalize
from action2vec.run_folder import metric_series

log = logging.getLogger(__name__)

__all__ = [
    "save_figure",
    "embedding_2d",
    "plot_class_map",
    "place_labels",
    "CLASS_NAME_GID",
    "UNPLACED_GID",
    "heatmap_order",
    "plot_similarity_heatmaps",
    "plot_confusion",
    "plot_analogy_examples",
    "analogy_figure_stem",
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
            import umap
        except ImportError:
            raise DataError("UMAP layout asked for but umap-learn is not installed (pip install umap-learn)") from None
        return umap.UMAP(
            n_components=2, metric="cosine", random_state=seed, n_neighbors=min(15, len(x) - 1)
        ).fit_transform(x)
    if method != "tsne":
        raise DataError(f"unknown layout {method!r} (tsne, umap)")
    from sklearn.manifold import TSNE

    perplexity = float(min(30.0, max(2.0, (len(x) - 1) / 3)))
    return TSNE(n_components=2, metric="cosine", init="pca", perplexity=perplexity, random_state=seed).fit_transform(x)


MARKERS = "o^sDvP*Xh<>p"


CLASS_NAME_GID = "class-name"  # the gid of each class name drawn on a class map
UNPLACED_GID = "unplaced-names"  # the gid of the list of names that found no free place


def plot_class_map(
    vectors: np.ndarray,
    names: Sequence[str],
    method: str = "tsne",
    seed: int = 0,
    title: str | None = None,
    groups: Sequence[str] | None = None,
    shapes: Sequence[str] | None = None,
    xy: np.ndarray | None = None,
) -> Figure:
    """Scatter of class means in 2-D with their names (paper Figure 2). ``groups`` colours the points (e.g.
    verbs), ``shapes`` picks their markers (e.g. nouns; when there are at most 11); both get a legend.
    ``xy``: the 2-D layout (C, 2) when already computed (else :func:`embedding_2d` of ``vectors``).

    Names never overlap: each is put at the first free place around its point (:func:`place_labels`); those
    that find none are listed beside the map (the text with gid ``UNPLACED_GID``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    xy = embedding_2d(vectors, method, seed) if xy is None else np.asarray(xy)
    size = min(15.0, 6.5 + len(names) / 9)
    fig = Figure(figsize=(size, size * 0.62), layout="constrained")
    FigureCanvasAgg(fig)
    ax, side = fig.subplots(1, 2, width_ratios=[4, 1])
    side.set_axis_off()
    colour_of = {g: i for i, g in enumerate(dict.fromkeys(sorted(set(groups))))} if groups is not None else {}
    cmap = matplotlib.colormaps["tab20" if len(colour_of) > 10 else "tab10"]
    kinds = sorted(set(shapes)) if shapes is not None and len(set(shapes)) <= len(MARKERS) else []
    marker_of = {k: MARKERS[i] for i, k in enumerate(kinds)}
    for i, (x, y) in enumerate(xy):
        colour = cmap(colour_of[groups[i]] % cmap.N) if groups is not None else "tab:blue"
        marker = marker_of.get(shapes[i], "o") if kinds and shapes is not None else "o"
        ax.scatter([x], [y], color=colour, marker=marker, s=36, edgecolors="black", linewidths=0.3)
    span = np.ptp(xy, axis=0) if len(xy) else np.ones(2)
    lo, hi = xy.min(axis=0) - 0.08 * span, xy.max(axis=0) + 0.08 * span
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    handles = [Line2D([], [], ls="", marker="o", color=cmap(i % cmap.N), label=g) for g, i in colour_of.items()]
    handles += [Line2D([], [], ls="", marker=m, color="grey", label=k) for k, m in marker_of.items()]
    if handles and len(handles) <= 40:
        side.legend(
            handles=handles,
            loc="upper left",
            fontsize=8,
            frameon=False,
            title=" / ".join(t for t, on in (("colour: verb", bool(colour_of)), ("marker: noun", bool(kinds))) if on),
        )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title or f"{method.upper()} of class embeddings ({len(names)} classes)")
    fig.canvas.draw()  # lay the figure out once, then keep that layout while the names are placed
    fig.set_layout_engine("none")
    font = 9 if len(names) <= 40 else 8 if len(names) <= 80 else 6.5 if len(names) <= 160 else 5
    unplaced = place_labels(ax, xy, list(names), font)
    if unplaced:
        shown = ", ".join(unplaced)
        side.text(
            0.0,
            0.0,
            f"Not placed on the map ({len(unplaced)}): {shown}",
            transform=side.transAxes,
            fontsize=7,
            va="bottom",
            ha="left",
            wrap=True,
            gid=UNPLACED_GID,
        )
    return fig


# offsets (points) around a point, nearest first: right, left, above, below, then the diagonals, further out
_DIRECTIONS = [
    (1, 0, "left", "center"),
    (-1, 0, "right", "center"),
    (0, 1, "center", "bottom"),
    (0, -1, "center", "top"),
    (1, 1, "left", "bottom"),
    (-1, 1, "right", "bottom"),
    (1, -1, "left", "top"),
    (-1, -1, "right", "top"),
]


def place_labels(
    ax: Axes, xy: np.ndarray, names: list[str], fontsize: float, radii: Sequence[float] = (4, 9, 16, 26, 38)
) -> list[str]:
    """Annotate each point with its name where the text's box (the renderer's extent) meets no name placed
    before and stays inside the axes, preferring places that cover no other point; names of crowded points go
    first. Returns the names not placed."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.transforms import Bbox

    canvas = ax.figure.canvas
    if not isinstance(canvas, FigureCanvasAgg):
        raise TypeError(
            f"place_labels measures text with an Agg renderer; the figure's canvas is {type(canvas).__name__}"
        )
    renderer = canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    points = ax.transData.transform(xy) if len(xy) else np.zeros((0, 2))
    dots = [Bbox.from_extents(x - 3, y - 3, x + 3, y + 3) for x, y in points]
    crowd = [int((np.hypot(*(points - p).T) < 40).sum()) for p in points]
    taken: list = []
    unplaced = set()

    def free(box: Any, i: int, avoid_dots: bool) -> bool:
        if not (box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y0 >= frame.y0 and box.y1 <= frame.y1):
            return False
        if any(box.overlaps(other) for other in taken):
            return False
        return not avoid_dots or not any(box.overlaps(d) for j, d in enumerate(dots) if j != i)

    for i in sorted(range(len(names)), key=lambda k: -crowd[k]):
        spot = None
        for avoid_dots in (True, False):
            for r in radii:
                for dx, dy, ha, va in _DIRECTIONS:
                    text = ax.annotate(
                        names[i],
                        tuple(xy[i]),
                        xytext=(dx * r, dy * r),
                        textcoords="offset points",
                        fontsize=fontsize,
                        ha=ha,
                        va=va,
                        gid=CLASS_NAME_GID,
                    )
                    box = text.get_window_extent(renderer).padded(1)
                    if free(box, i, avoid_dots):
                        spot = box
                        break
                    text.remove()
                if spot is not None:
                    break
            if spot is not None:
                break
        if spot is None:
            unplaced.add(names[i])
        else:
            taken.append(spot)
    return [n for n in names if n in unplaced]


def heatmap_order(reference: np.ndarray) -> np.ndarray:
    """Rows of a similarity matrix (C, C) ordered by average-linkage clustering, so that blocks show. -> (C,)"""
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    n = len(reference)
    if n <= 2:
        return np.arange(n)
    dist = np.clip(1.0 - np.asarray(reference, np.float64), 0.0, None)
    dist = (dist + dist.T) / 2
    np.fill_diagonal(dist, 0.0)
    return leaves_list(linkage(squareform(dist, checks=False), "average"))


def _label_axes(ax: Axes, labels: list[str]) -> None:
    """Class names on both axes. Up to 40 on the left and bottom; more alternate between left/right and
    bottom/top so that each side holds half; past 120 only every k-th (the title says which)."""
    n = len(labels)
    step = max(1, math.ceil(n / 120))
    font = 7.5 if n <= 40 else 7 if n <= 80 else 5.5
    ticks = list(range(0, n, step))
    if n <= 40:
        ax.set_xticks(ticks, [labels[i] for i in ticks], rotation=90, fontsize=font)
        ax.set_yticks(ticks, [labels[i] for i in ticks], fontsize=font)
        return
    first, second = ticks[0::2], ticks[1::2]
    ax.set_xticks(first, [labels[i] for i in first], rotation=90, fontsize=font)
    ax.set_yticks(first, [labels[i] for i in first], fontsize=font)
    top, right = ax.secondary_xaxis("top"), ax.secondary_yaxis("right")
    top.set_xticks(second, [labels[i] for i in second], rotation=90, fontsize=font)
    right.set_yticks(second, [labels[i] for i in second], fontsize=font)


def plot_similarity_heatmaps(
    reference: np.ndarray,
    matrices: dict[str, np.ndarray],
    names: Sequence[str],
    reference_name: str = "WordNet (Wu-Palmer)",
) -> Figure:
    """The reference similarity matrix beside each embedding's cosine matrix, two panels a row, on one colour
    scale (the range of every panel's off-diagonal values) with one colour bar; the diagonal is left blank.

    Rows/columns are ordered by hierarchical clustering of the reference so structure is visible.
    """
    n = len(names)
    order = heatmap_order(reference)
    panels = {reference_name: reference, **matrices}
    shown = {}
    for name, m in panels.items():
        m = np.array(m, np.float64)[np.ix_(order, order)]
        np.fill_diagonal(m, np.nan)
        shown[name] = m
    values = np.concatenate([m[np.isfinite(m)] for m in shown.values()]) if n > 1 else np.zeros(1)
    vmin, vmax = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    cols = 1 if len(panels) == 1 else 2
    rows = math.ceil(len(panels) / cols)
    side = float(np.clip(3.0 + n * 0.085, 4.5, 8.5))
    fig = Figure(figsize=(side * cols + 1.2, side * rows + 0.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    labels = [str(names[i]) for i in order]
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="white")
    im = None
    for ax, (name, m) in zip(axes, shown.items()):
        im = ax.imshow(m, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_title(name if name == reference_name else f"{name} (cosine)", fontsize=11)
        _label_axes(ax, labels)
    for ax in axes[len(panels) :]:
        ax.axis("off")
    assert im is not None  # panels holds at least the reference
    step = max(1, math.ceil(n / 120))
    if step > 1:
        fig.suptitle(f"every {step}th class labelled ({n} classes)", fontsize=9)
    fig.colorbar(im, ax=axes[: len(panels)].tolist(), shrink=0.6, label="similarity (one scale for every panel)")
    return fig


def plot_confusion(confusion: np.ndarray, names: Sequence[str], normalize: bool = True, title: str = "") -> Figure:
    """Confusion matrix (rows = true class, columns = predicted), row-normalised by default."""
    m = np.asarray(confusion, np.float64)
    if normalize:
        m = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    n = len(names)
    size = float(np.clip(3.0 + n * 0.12, 5.0, 13.0))
    fig = Figure(figsize=(size + 1.0, size), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(m, cmap="Blues", vmin=0, vmax=1 if normalize else None, interpolation="nearest")
    if n <= 80:
        font = 9 if n <= 40 else 7
        ax.set_xticks(range(n), names, rotation=90, fontsize=font)
        ax.set_yticks(range(n), names, fontsize=font)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or "zero-shot confusion matrix", fontsize=11)
    fig.colorbar(im, ax=ax, shrink=0.7, label="fraction of the true class" if normalize else "videos")
    return fig


def analogy_figure_stem(vectors: str) -> str:
    """The examples figure of a set of class vectors other than the main one: ``analogy_examples_<slug>``."""
    import re

    return "analogy_examples_" + re.sub(r"[^a-z0-9]+", "_", vectors.lower()).strip("_")


def plot_analogy_examples(examples: Sequence[AnalogyExample], title: str = "Vector-arithmetic analogies") -> Figure:
    """One line per example: ``query − minus + plus → nearest`` (green when it is the expected class)."""
    rows = max(1, len(examples))
    width = min(
        11.0,
        max(
            5.0,
            0.095 * max((len(f"{e.query}{e.minus}{e.plus}{e.nearest}{e.expected}") for e in examples), default=40)
            + 2.5,
        ),
    )
    fig = Figure(figsize=(width, 0.42 * rows + 0.8))
    ax = fig.subplots()
    ax.axis("off")
    ax.set_title(title)
    for i, ex in enumerate(examples):
        ok = ex.correct
        text = f"{ex.query}  −  {ex.minus}  +  {ex.plus}   →   {ex.nearest}"
        if not ok:
            text += f"   (expected {ex.expected})"
        ax.text(
            0.0,
            1.0 - (i + 0.5) / rows,
            ("✓ " if ok else "✗ ") + text,
            fontsize=11,
            color="tab:green" if ok else "tab:red",
            transform=ax.transAxes,
            va="center",
        )
    return fig


def plot_training_curves(rows: list[dict[str, float]], source: str) -> Figure:
    """Training curves from a run's log rows (:func:`action2vec.run_folder.read_training_log`): one panel per
    metric family (loss, accuracy, ...). ``source`` names the log in errors."""
    series = metric_series(rows)
    if not series:
        raise DataError(f"{source}: no numeric metrics to plot")
    families: dict[str, list[str]] = {}
    for key in sorted(series):
        base = key.split("/", 1)[-1].replace("_epoch", "").replace("_step", "")
        for prefix in ("train_", "val_", "test_"):
            base = base.removeprefix(prefix)
        families.setdefault(base, []).append(key)
    cols = min(3, len(families))
    nrows = math.ceil(len(families) / cols)
    fig = Figure(figsize=(4.5 * cols, 3.2 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, cols, squeeze=False)).ravel()
    for ax, (family, keys) in zip(axes, families.items()):
        for key in keys:
            xs, ys = series[key]
            ax.plot(xs, ys, marker="o" if len(xs) < 30 else None, markersize=3, label=key)
        ax.set_title(family)
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
    for ax in axes[len(families) :]:
        ax.axis("off")
    return fig
