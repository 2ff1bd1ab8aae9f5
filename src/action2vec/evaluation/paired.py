"""How sure a comparison is: paired tests over splits, bootstrap intervals over classes. Pure functions.

    paired_comparison(a, b)          two methods scored on the same splits: mean paired difference a − b, its
                                     95 % Student-t interval over the splits, the exact two-sided Wilcoxon
                                     signed-rank p-value, n (-> PairedComparison)
    zsl_comparisons(summary, pairs)  the same for each method against ``pooled_krr``, each trained method
                                     against ``pooled_match`` (when it ran) and the pairs named, per data
                                     set, ratio and metric, over the splits both ran on
    bootstrap_mean(values)           percentile bootstrap interval of a mean (-> BootstrapInterval)
    bootstrap_difference(a, b)       the same for the mean of paired differences (rows resampled together)

Choices (docs/evaluation.md "How sure"):

* Interval of a zero-shot difference: Student t over splits, ``mean(d) ± t_{0.975, n−1} · sd(d) / √n`` (d the
  per-split differences; NaN for n < 2).
* Test: the exact Wilcoxon signed-rank test, two-sided. Splits with d = 0 are dropped (Wilcoxon's convention,
  scipy's ``zero_method="wilcox"``); tied |d| get mid-ranks and the null distribution is enumerated over all
  2^m sign patterns of those ranks, so ties stay exact. Above ``EXACT_MAX`` non-zero differences the normal
  approximation (tie-corrected) is used and the result says so. With no non-zero difference p = 1; with fewer
  than two splits p is NaN. The smallest p an exact test can reach is 2 / 2^m: with 5 splits 0.0625, so 5 splits
  can never show a difference at 5 % (``p_min`` says so).
* Bootstrap (WordNet rows): resample the rows (classes) with replacement ``resamples`` times with a fixed seed,
  take the mean each time, and report the 2.5th and 97.5th percentiles. The per-row correlations are kept as
  computed on all classes (the rows are resampled, not the columns).
"""

from __future__ import annotations

import itertools
import math
from typing import Iterable, Sequence

import numpy as np
from scipy import stats

from action2vec.evaluation.results import BootstrapInterval, PairedComparison, ZslSummary

__all__ = [
    "finite_pairs",
    "EXACT_MAX",
    "BASELINE",
    "TRAINING_FREE",
    "RESAMPLES",
    "paired_comparison",
    "signed_rank_p",
    "zsl_comparisons",
    "bootstrap_mean",
    "bootstrap_difference",
]

EXACT_MAX = 20  # the exact signed-rank distribution is enumerated up to this many non-zero differences
BASELINE = "pooled_krr"
TRAINING_FREE = "pooled_match"  # the model's own text match: what training on the seen classes must beat
RESAMPLES = 2000  # bootstrap resamples
METRICS = ("top1", "top5", "mean_class_acc")


def signed_rank_p(d: Sequence[float]) -> tuple[float, str, int]:
    """Two-sided p of the Wilcoxon signed-rank test of paired differences ``d`` (zeros dropped).

    Returns (p, how it was computed, m = non-zero differences). Exact for m <= EXACT_MAX (enumeration of the
    2^m sign patterns of the mid-ranks), else the tie-corrected normal approximation; p = 1 when m = 0."""
    x = np.asarray(d, np.float64)
    x = x[x != 0]
    m = len(x)
    if m == 0:
        return 1.0, "exact Wilcoxon signed-rank (no non-zero difference)", 0
    ranks = stats.rankdata(np.abs(x))  # mid-ranks for ties
    t_plus = float(ranks[x > 0].sum())
    if m <= EXACT_MAX:
        signs = np.array(list(itertools.product((0.0, 1.0), repeat=m)))  # (2^m, m)
        null = signs @ ranks  # every sum of positive ranks under H0
        eps = 1e-9
        lower = float((null <= t_plus + eps).mean())
        upper = float((null >= t_plus - eps).mean())
        return min(1.0, 2 * min(lower, upper)), "exact Wilcoxon signed-rank", m
    mean = m * (m + 1) / 4
    _, counts = np.unique(ranks, return_counts=True)
    var = m * (m + 1) * (2 * m + 1) / 24 - float((counts**3 - counts).sum()) / 48
    z = (t_plus - mean) / math.sqrt(var)
    return float(2 * stats.norm.sf(abs(z))), "Wilcoxon signed-rank, normal approximation", m


def finite_pairs(a: Sequence[float], b: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Two score vectors of one length with the items that are NaN on either side left out. (N,), (N,) -> (M,), (M,)."""
    x = np.asarray(a, np.float64)
    y = np.asarray(b, np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"paired scores need two vectors of one length, got {x.shape} and {y.shape}")
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


def paired_comparison(
    scores_a: Sequence[float],
    scores_b: Sequence[float],
    /,
    *,
    a: str = "a",
    b: str = "b",
    dataset: str = "",
    ratio: str = "",
    metric: str = "",
    confidence: float = 0.95,
) -> PairedComparison:
    """Compare two scores measured on the same items (splits). (N,), (N,) -> PairedComparison.

    Items with a NaN on either side are left out; ``a``, ``b``, ``dataset``, ``ratio``, ``metric`` name them."""
    x, y = finite_pairs(scores_a, scores_b)
    d = x - y
    n = len(d)
    nan = float("nan")
    mean = float(d.mean()) if n else nan
    low = high = nan
    if n > 1:
        half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * d.std(ddof=1) / math.sqrt(n))
        low, high = mean - half, mean + half
    if n >= 2:
        p, test, m = signed_rank_p(d)
    else:
        p, test, m = nan, "exact Wilcoxon signed-rank (fewer than 2 splits: no test)", int((d != 0).sum())
    return PairedComparison(
        a=a,
        b=b,
        dataset=dataset,
        ratio=ratio,
        metric=metric,
        n=n,
        mean_a=float(x.mean()) if n else nan,
        mean_b=float(y.mean()) if n else nan,
        difference=mean,
        low=low,
        high=high,
        confidence=confidence,
        p=p,
        p_min=(min(1.0, 2.0 / 2**m) if m else 1.0) if n >= 2 else nan,
        nonzero=m,
        wins=int((d > 0).sum()),
        losses=int((d < 0).sum()),
        test=test,
        interval="Student t over splits",
    )


def _split_scores(summary: ZslSummary, dataset: str, ratio: str, variant: str, metric: str) -> dict[str, float]:
    return {
        r.split: r.metrics[metric]
        for r in summary.runs
        if r.dataset == dataset and r.ratio_key == ratio and r.variant == variant and metric in r.metrics
    }


def zsl_comparisons(
    summary: ZslSummary, pairs: Iterable[tuple[str, str]] = (), metrics: Sequence[str] = METRICS
) -> list[PairedComparison]:
    """Paired comparisons of a zero-shot summary over the splits both methods ran on: every method other than
    the baseline against ``pooled_krr`` (when it ran), every trained method against ``pooled_match`` (when it
    ran), then each pair named; per data set, ratio and metric. Cells where the two methods share no split
    are left out."""
    wanted = [(v, BASELINE) for v in summary.variants if v != BASELINE and BASELINE in summary.variants]
    wanted += [
        (v, TRAINING_FREE)
        for v in summary.variants
        if v not in (BASELINE, TRAINING_FREE) and TRAINING_FREE in summary.variants
    ]
    wanted += [(a, b) for a, b in pairs if (a, b) not in wanted]
    out = []
    for a, b in wanted:
        for dataset in summary.datasets:
            for ratio in summary.ratios():
                for metric in metrics:
                    sa = _split_scores(summary, dataset, ratio, a, metric)
                    sb = _split_scores(summary, dataset, ratio, b, metric)
                    common = [s for s in sa if s in sb]
                    if common:
                        out.append(
                            paired_comparison(
                                [sa[s] for s in common],
                                [sb[s] for s in common],
                                a=a,
                                b=b,
                                dataset=dataset,
                                ratio=ratio,
                                metric=metric,
                            )
                        )
    return out


def bootstrap_mean(
    values: Sequence[float | None], *, resamples: int = RESAMPLES, seed: int = 0, confidence: float = 0.95
) -> BootstrapInterval:
    """Percentile bootstrap interval of the mean of ``values`` (None / NaN left out). (N,) -> BootstrapInterval."""
    x = np.array([np.nan if v is None else v for v in values], np.float64)
    x = x[np.isfinite(x)]
    nan = float("nan")
    if len(x) == 0:
        return BootstrapInterval(nan, nan, nan, 0, resamples, seed, confidence)
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(resamples, len(x)))].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return BootstrapInterval(float(x.mean()), float(low), float(high), int(len(x)), resamples, seed, confidence)


def bootstrap_difference(
    a: Sequence[float | None],
    b: Sequence[float | None],
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
    confidence: float = 0.95,
) -> BootstrapInterval:
    """Bootstrap interval of the mean of a − b over the rows both define (rows resampled together)."""
    if len(a) != len(b):
        raise ValueError(f"bootstrap_difference needs rows of one length, got {len(a)} and {len(b)}")
    x = np.array([np.nan if v is None else v for v in a], np.float64)
    y = np.array([np.nan if v is None else v for v in b], np.float64)
    return bootstrap_mean(list(x - y), resamples=resamples, seed=seed, confidence=confidence)
