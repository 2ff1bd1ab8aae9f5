"""The numbers behind the report's findings, as pure functions over arrays.

    paired_gap(a, b)                     two methods scored on the same splits (or rows): mean gap, its spread,
                                         wins and losses
    neighbour_agreement(vectors, groups) how often a class's nearest other class is of its group, against chance
    class_grouping(vectors, verbs, nouns) the same by verb and by noun: do the class vectors group by verb or noun?

The report turns them into sentences (:mod:`action2vec.reports.findings`); here they are numbers only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np

from action2vec.evaluation.paired import finite_pairs
from action2vec.evaluation.results import ClassGrouping, GroupAgreement
from action2vec.linalg import l2_normalize

__all__ = ["PairedGap", "paired_gap", "neighbour_agreement", "class_grouping"]


@dataclass
class PairedGap:
    """``a`` against ``b`` over the same ``n`` items (splits, rows): the items with a NaN on either side are left out."""

    mean_a: float
    mean_b: float
    gap: float  # mean of a - b (= mean_a - mean_b)
    spread: float  # standard deviation (ddof = 1) of a - b; NaN with fewer than two items
    wins: int  # items where a > b
    losses: int  # items where a < b
    n: int


def paired_gap(a: Sequence[float], b: Sequence[float]) -> PairedGap:
    """Compare two scores item by item. (N,), (N,) -> PairedGap (NaN means for N = 0 after dropping NaNs)."""
    x, y = finite_pairs(a, b)
    d = x - y
    nan = float("nan")
    return PairedGap(
        mean_a=float(x.mean()) if len(x) else nan,
        mean_b=float(y.mean()) if len(y) else nan,
        gap=float(d.mean()) if len(d) else nan,
        spread=float(d.std(ddof=1)) if len(d) > 1 else nan,
        wins=int((d > 0).sum()),
        losses=int((d < 0).sum()),
        n=int(len(d)),
    )


def neighbour_agreement(
    vectors: np.ndarray, groups: Sequence[str], metric: Literal["cosine", "euclidean"] = "cosine"
) -> GroupAgreement:
    """How often the nearest other class of a class is of the same group. (C, E), (C,) groups.

    ``rate``: the fraction of classes whose nearest neighbour (by ``metric``: cosine for class vectors,
    euclidean for a 2-D map) shares their group; ``chance``: its expected value when the neighbour is any
    other class at random (the mean over classes of same-group others / (C-1)). A class with an empty group
    ("") never agrees. Ties go to the first class in order.
    """
    x = np.asarray(vectors, np.float64)
    c = len(x)
    if c != len(groups):
        raise ValueError(f"{c} class vectors but {len(groups)} groups")
    if c < 2:
        return GroupAgreement(float("nan"), float("nan"), c)
    if metric == "cosine":
        v = l2_normalize(x, dtype=np.float64)
        sim = v @ v.T
    else:
        sim = -((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=-1)
    np.fill_diagonal(sim, -np.inf)
    nearest = sim.argmax(axis=1)
    g = np.asarray(groups, dtype=object)
    named = g != ""
    same = (g[:, None] == g[None, :]) & named[:, None]
    np.fill_diagonal(same, False)
    rate = float(same[np.arange(c), nearest].mean())
    chance = float((same.sum(axis=1) / (c - 1)).mean())
    return GroupAgreement(rate, chance, c)


def class_grouping(
    vectors: np.ndarray, verbs: Sequence[str], nouns: Sequence[str], metric: Literal["cosine", "euclidean"] = "cosine"
) -> ClassGrouping:
    """Nearest-neighbour agreement of class vectors (C, E) by verb and by noun (each class's first noun)."""
    return ClassGrouping(
        verb=neighbour_agreement(vectors, verbs, metric), noun=neighbour_agreement(vectors, nouns, metric)
    )
