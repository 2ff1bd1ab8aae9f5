"""Paired comparisons and bootstrap intervals, checked against scipy and naive loops written here."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from action2vec.evaluation.paired import (
    bootstrap_difference,
    bootstrap_mean,
    paired_comparison,
    signed_rank_p,
    zsl_comparisons,
)
from action2vec.evaluation.results import PairedComparison, ZslRun, ZslSummary

A = [0.754, 0.81, 0.70, 0.77, 0.74, 0.69, 0.83]
B = [0.738, 0.79, 0.71, 0.73, 0.70, 0.64, 0.80]


def test_interval_and_p_match_scipy():
    c = paired_comparison(A, B)
    d = np.subtract(A, B)
    assert c.n == 7 and c.difference == pytest.approx(d.mean())
    half = stats.t.ppf(0.975, 6) * d.std(ddof=1) / math.sqrt(7)
    assert (c.low, c.high) == pytest.approx((d.mean() - half, d.mean() + half))
    ci = stats.ttest_rel(A, B).confidence_interval(0.95)
    assert (c.low, c.high) == pytest.approx((ci.low, ci.high))
    assert c.p == pytest.approx(stats.wilcoxon(A, B, method="exact").pvalue)
    assert c.wins == 6 and c.losses == 1 and c.nonzero == 7


def test_sign_of_the_difference_and_verdict():
    better = [0.5 + 0.01 * i for i in range(8)]
    worse = [b - 0.02 - 0.001 * i for i, b in enumerate(better)]
    c = paired_comparison(better, worse)
    assert c.p == pytest.approx(stats.wilcoxon(better, worse, method="exact").pvalue) and c.p < 0.05
    assert c.verdict == "better"
    assert paired_comparison(worse, better).verdict == "worse"


def test_five_splits_cannot_reach_five_percent():
    a = [0.80, 0.81, 0.82, 0.83, 0.84]
    b = [0.70, 0.71, 0.72, 0.73, 0.74]
    c = paired_comparison(a, b)
    assert c.p == pytest.approx(2 / 32) and c.p_min == pytest.approx(2 / 32)
    assert c.verdict == "no significant difference at 5 %"  # every split ahead, yet an exact test cannot say more


def test_ties_and_zeros_by_enumeration():
    d = [0.0, 0.02, 0.02, -0.01, 0.03, 0.0, 0.02, -0.02]
    nz = np.array([x for x in d if x != 0])
    ranks = stats.rankdata(np.abs(nz))
    t = ranks[nz > 0].sum()
    null = [sum(r for r, s in zip(ranks, signs) if s) for signs in itertools.product((0, 1), repeat=len(nz))]
    naive = min(1.0, 2 * min(np.mean([x <= t + 1e-9 for x in null]), np.mean([x >= t - 1e-9 for x in null])))
    p, how, m = signed_rank_p(d)
    assert m == 6 and p == pytest.approx(naive) and "exact" in how
    c = paired_comparison(np.array(d) + 0.5, np.full(8, 0.5))
    assert c.nonzero == 6 and c.n == 8 and c.p == pytest.approx(naive)


def test_degenerate_inputs_say_so():
    one = paired_comparison([0.7], [0.6])
    assert one.n == 1 and math.isnan(one.p) and math.isnan(one.low) and one.verdict.startswith("no significant")
    same = paired_comparison([0.7, 0.6, 0.5], [0.7, 0.6, 0.5])
    assert same.p == 1.0 and same.nonzero == 0 and same.verdict.startswith("no significant")
    nan = paired_comparison([0.7, float("nan"), 0.5], [0.6, 0.6, 0.4])
    assert nan.n == 2
    big = np.linspace(0.01, 0.3, 25)
    p, how, m = signed_rank_p(big * np.where(np.arange(25) % 3 == 0, -1, 1))
    assert "normal" in how and p == pytest.approx(
        stats.wilcoxon(big * np.where(np.arange(25) % 3 == 0, -1, 1), method="approx").pvalue
    )


def test_json_round_trip():
    c = paired_comparison(A, B, a="hrnn_attention", b="pooled_krr", dataset="toy", ratio="50/50", metric="top1")
    again = PairedComparison.from_json(c.to_json())
    assert again == c and c.to_json()["verdict"] == c.verdict


def _summary() -> ZslSummary:
    runs = []
    for i, (x, y) in enumerate(zip(A, B)):
        runs.append(ZslRun("toy", f"s{i}", "50/50", i, "hrnn_attention", metrics={"top1": x}))
        if i != 3:  # the baseline missed one split: the pair uses the six both ran
            runs.append(ZslRun("toy", f"s{i}", "50/50", i, "pooled_krr", metrics={"top1": y}))
    return ZslSummary({}, ["hrnn_attention", "pooled_krr"], 7, runs=runs)


def test_zsl_comparisons_use_the_splits_both_ran():
    s = _summary()
    from action2vec.evaluation.results import ZslDataset

    s.datasets = {"toy": ZslDataset({"hrnn_attention": {"50/50": {}}, "pooled_krr": {"50/50": {}}}, {})}
    (c,) = zsl_comparisons(s)
    keep = [i for i in range(7) if i != 3]
    assert (c.a, c.b, c.n, c.metric) == ("hrnn_attention", "pooled_krr", 6, "top1")
    assert c.p == pytest.approx(stats.wilcoxon([A[i] for i in keep], [B[i] for i in keep], method="exact").pvalue)
    named = zsl_comparisons(s, [("pooled_krr", "hrnn_attention")])
    assert [(x.a, x.b) for x in named] == [("hrnn_attention", "pooled_krr"), ("pooled_krr", "hrnn_attention")]
    assert named[1].difference == pytest.approx(-c.difference)
    round_trip = ZslSummary.from_json({**s.to_json(), "comparisons": [x.to_json() for x in named]})
    assert round_trip.comparison("pooled_krr", "hrnn_attention", "toy", "50/50") == named[1]
    old = s.to_json()
    del old["comparisons"]
    assert ZslSummary.from_json(old).comparisons == []


def test_bootstrap_against_a_loop():
    rows = [0.1, 0.3, None, 0.2, 0.25, float("nan"), 0.05, 0.4]
    got = bootstrap_mean(rows, resamples=500, seed=3)
    x = np.array([0.1, 0.3, 0.2, 0.25, 0.05, 0.4])
    rng = np.random.default_rng(3)
    draws = rng.integers(0, len(x), size=(500, len(x)))
    means = [np.mean([x[j] for j in row]) for row in draws]
    assert got.n == 6 and got.mean == pytest.approx(x.mean())
    assert (got.low, got.high) == pytest.approx(tuple(np.percentile(means, [2.5, 97.5])))
    diff = bootstrap_difference([0.3, 0.4, 0.5, None], [0.1, 0.1, 0.2, 0.3], resamples=300, seed=1)
    assert diff.n == 3 and diff.mean == pytest.approx(np.mean([0.2, 0.3, 0.3])) and diff.excludes_zero
