"""The report's findings: the numbers (pure functions of evaluation/findings.py) against naive loops, and the
sentences (reports/findings.py), which must flip when the numbers flip."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from action2vec.evaluation.findings import class_grouping, neighbour_agreement, paired_gap
from action2vec.evaluation.results import (
    AnalogyResult,
    AnalogyScore,
    ClassGrouping,
    GroupAgreement,
    WordNetResult,
    ZslSplitResult,
    ZslSummary,
)
from action2vec.reports.findings import analogy_findings, grouping_finding, run_findings, wordnet_finding, zsl_findings
from action2vec.reports.headline import headline_text

# ---------------------------------------------------------------- numbers, against naive loops


def _naive_gap(a, b):
    pairs = [(x, y) for x, y in zip(a, b) if not (math.isnan(x) or math.isnan(y))]
    d = [x - y for x, y in pairs]
    mean = sum(d) / len(d)
    spread = math.sqrt(sum((v - mean) ** 2 for v in d) / (len(d) - 1))
    return mean, spread, sum(v > 0 for v in d), sum(v < 0 for v in d), len(d)


def test_paired_gap_matches_a_loop_and_drops_nan_pairs():
    rng = np.random.default_rng(0)
    a, b = rng.random(9), rng.random(9)
    a[2], b[5] = np.nan, np.nan
    g = paired_gap(a, b)
    mean, spread, wins, losses, n = _naive_gap(a, b)
    assert g.n == n == 7 and (g.wins, g.losses) == (wins, losses)
    assert g.gap == pytest.approx(mean) and g.spread == pytest.approx(spread)
    assert g.gap == pytest.approx(g.mean_a - g.mean_b)
    flipped = paired_gap(b, a)
    assert flipped.gap == pytest.approx(-g.gap) and (flipped.wins, flipped.losses) == (losses, wins)
    assert math.isnan(paired_gap([0.5], [0.25]).spread)
    with pytest.raises(ValueError):
        paired_gap([1.0, 2.0], [1.0])


def _naive_agreement(vectors, groups, metric="cosine"):
    c = len(vectors)
    hits, chance = 0, 0.0
    for i in range(c):
        best, best_j = None, None
        for j in range(c):
            if i == j:
                continue
            if metric == "cosine":
                u, v = vectors[i], vectors[j]
                score = float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)))
            else:
                score = -float(np.sum((vectors[i] - vectors[j]) ** 2))
            if best is None or score > best:
                best, best_j = score, j
        hits += groups[i] != "" and groups[best_j] == groups[i]
        chance += sum(groups[j] == groups[i] and groups[i] != "" for j in range(c) if j != i) / (c - 1)
    return hits / c, chance / c


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_neighbour_agreement_matches_a_loop(metric):
    rng = np.random.default_rng(1)
    groups = ["a", "a", "b", "b", "b", "c", "", "c", "a", "b"]
    vectors = rng.standard_normal((len(groups), 5))
    vectors[1] = vectors[0] + 0.01  # a clear neighbour of the same group
    got = neighbour_agreement(vectors, groups, metric)
    rate, chance = _naive_agreement(vectors, groups, metric)
    assert got.n == len(groups)
    assert got.rate == pytest.approx(rate) and got.chance == pytest.approx(chance)


def _verb_noun_classes(noun_weight: float, verb_weight: float, seed: int = 0):
    """4 verbs x 3 nouns; each class vector = weighted verb and noun directions + a little noise."""
    rng = np.random.default_rng(seed)
    verbs, nouns = ["v0", "v1", "v2", "v3"], ["n0", "n1", "n2"]
    vd = {v: rng.standard_normal(16) for v in verbs}
    nd = {n: rng.standard_normal(16) for n in nouns}
    pairs = list(itertools.product(verbs, nouns))
    x = np.stack([verb_weight * vd[v] + noun_weight * nd[n] + 0.05 * rng.standard_normal(16) for v, n in pairs])
    return x, [v for v, _ in pairs], [n for _, n in pairs]


def test_class_grouping_tells_verb_from_noun():
    x, verbs, nouns = _verb_noun_classes(noun_weight=3.0, verb_weight=1.0)
    g = class_grouping(x, verbs, nouns)
    assert g.noun.rate == 1.0 and g.verb.rate == 0.0 and g.groups_by == "noun"
    x, verbs, nouns = _verb_noun_classes(noun_weight=1.0, verb_weight=3.0)
    assert class_grouping(x, verbs, nouns).groups_by == "verb"
    # chance levels: 2 other classes of one verb, 3 of one noun, among 11
    assert g.verb.chance == pytest.approx(2 / 11) and g.noun.chance == pytest.approx(3 / 11)


def test_groups_by_is_measured_above_chance():
    """The same raw rate means less for the bigger group: compared above chance, not raw."""
    even = ClassGrouping(GroupAgreement(0.5, 0.1, 20), GroupAgreement(0.5, 0.3, 20))
    assert even.groups_by == "verb"
    assert ClassGrouping(GroupAgreement(0.05, 0.1, 20), GroupAgreement(0.2, 0.3, 20)).groups_by == "neither"
    assert ClassGrouping(GroupAgreement(0.2, 0.1, 20), GroupAgreement(0.9, 0.3, 20)).groups_by == "noun"


# ---------------------------------------------------------------- sentences that flip with the numbers


def _split(variant: str, seed: int, top1: float) -> ZslSplitResult:
    return ZslSplitResult(
        dataset="toy",
        split=f"50-50_seed{seed}",
        ratio="50/50",
        seed=seed,
        variant=variant,
        metrics={"top1": top1, "n": 30},
        chance={"top1": 1 / 30},
        seen_classes=["a"],
        unseen_classes=["b"],
        confusion=np.zeros((1, 1)),
    )


def _summary(a2v, krr) -> ZslSummary:
    return ZslSummary.from_splits(
        [_split("hrnn_attention", s, v) for s, v in enumerate(a2v)]
        + [_split("pooled_krr", s, v) for s, v in enumerate(krr)]
    )


def test_zsl_finding_says_what_the_paired_test_says():
    a2v, krr = [0.70, 0.80, 0.60], [0.65, 0.70, 0.66]
    (f,) = zsl_findings(_summary(a2v, krr))
    mean, spread, wins, _, n = _naive_gap(a2v, krr)
    half = stats.t.ppf(0.975, n - 1) * spread / math.sqrt(n)
    p = stats.wilcoxon(a2v, krr, method="exact").pvalue
    assert f.values["difference"] == pytest.approx(mean) and f.values["p"] == pytest.approx(p)
    assert (f.values["low"], f.values["high"]) == pytest.approx((mean - half, mean + half))
    assert f.values["wins"] == wins == 2 and f.values["splits"] == n == 3
    assert f.text.startswith("toy, 50/50: no significant difference at 5 % between Action2Vec")  # ahead on the means
    assert f"95 % interval −{100 * (half - mean):.2f} to +{100 * (mean + half):.2f} points" in f.text
    assert f"exact Wilcoxon signed-rank p = {p:.3f}" in f.text and "smallest p this test can give is 0.250" in f.text

    up, down = [0.9, 0.8, 0.85, 0.7, 0.75, 0.8], [0.2, 0.25, 0.3, 0.2, 0.3, 0.3]
    (g,) = zsl_findings(_summary(up, down))
    assert "is better than Pooled features + KRR (Laplacian)" in g.text and g.values["verdict"] == "better"
    (h,) = zsl_findings(_summary(down, up))  # the numbers flipped: the sentence flips
    assert "is worse than Pooled features + KRR (Laplacian)" in h.text and "ahead on 0 of 6 splits" in h.text


def test_zsl_finding_from_a_summary_without_per_split_scores():
    doc = _summary([0.70, 0.80, 0.60], [0.65, 0.70, 0.66]).to_json()
    for run in doc["splits"]:
        del run["metrics"]  # as zsl.json files written before this record
    (f,) = zsl_findings(ZslSummary.from_json(doc))
    assert "70.00 % against" in f.text and "no paired test" in f.text and f.values["wins"] is None
    assert zsl_findings(ZslSummary.from_splits([_split("pooled_krr", 0, 0.5)])) == []  # nothing to compare


def _wordnet(a2v: float, text: float, rows_a=(0.1, 0.2, 0.3), rows_t=(0.2, 0.1, 0.4)) -> WordNetResult:
    return WordNetResult(
        ["a b", "c d", "e f"],
        {"action2vec": a2v, "text": text, "pooled": 0.05},
        {"action2vec": 0.1, "text": 0.1, "pooled": 0.1},
        {"action2vec": list(rows_a), "text": list(rows_t), "pooled": [0.0, 0.1, None]},
    )


def test_wordnet_finding_says_what_the_bootstrap_says():
    f = wordnet_finding(_wordnet(0.098, 0.171))  # 3 rows that disagree: the interval holds 0
    assert f.text.startswith(
        "Action2Vec's class means correlate with WordNet neither more nor less than the text "
        "vectors (no significant difference at 5 %): Spearman ρ 0.098 against 0.171"
    )
    assert "higher on 1 of 3 rows" in f.text and not f.values["above_text"] and not f.values["significant"]
    rows_t = tuple(0.1 + 0.01 * i for i in range(12))
    down = wordnet_finding(_wordnet(0.05, 0.155, rows_a=tuple(r - 0.1 for r in rows_t), rows_t=rows_t))
    rng = np.random.default_rng(0)  # the documented bootstrap: rows resampled, 2000 draws, seed 0
    d = np.full(12, -0.1)
    means = d[rng.integers(0, 12, size=(2000, 12))].mean(axis=1)
    assert down.values["low"] == pytest.approx(np.percentile(means, 2.5))
    assert "correlate with WordNet less than the text vectors do: Spearman ρ 0.050 against 0.155" in down.text
    up = wordnet_finding(_wordnet(0.255, 0.155, rows_a=tuple(r + 0.1 for r in rows_t), rows_t=rows_t))
    assert "correlate with WordNet more than the text vectors do" in up.text and up.values["significant"]
    assert wordnet_finding(WordNetResult(["a"], {"text": 0.2}, {}, {})) is None


def test_grouping_finding_flips_and_says_when_the_map_disagrees():
    wn = _wordnet(0.1, 0.2)
    wn.grouping = {"action2vec": ClassGrouping(GroupAgreement(0.5333, 0.0678, 60), GroupAgreement(0.4667, 0.1864, 60))}
    f = grouping_finding(wn)
    assert "Action2Vec's class means group by verb rather than by noun" in f.text
    assert (
        "shares the verb for 53.33 % of the 60 classes (chance 6.78 %) and the noun for 46.67 % (chance 18.64 %)"
        in f.text
    )
    assert "t-SNE" not in f.text  # no map drawn
    wn.map_grouping = {"action2vec": ClassGrouping(GroupAgreement(0.0, 0.0678, 60), GroupAgreement(1.0, 0.1864, 60))}
    f = grouping_finding(wn)
    assert "The t-SNE map tells another story" in f.text and "group by noun rather than by verb." in f.text
    assert f.values["groups_by"] == "verb" and f.values["map_groups_by"] == "noun"
    wn.grouping["action2vec"] = ClassGrouping(GroupAgreement(0.1, 0.0678, 60), GroupAgreement(0.9, 0.1864, 60))
    f = grouping_finding(wn)
    assert "group by noun rather than by verb: " in f.text and "The t-SNE map agrees" in f.text


def _analogy(main: float, text: float) -> AnalogyResult:
    scores = [
        AnalogyScore(v, ex, 240, acc, 1 / 59 if ex else 1 / 60)
        for ex in (True, False)
        for v, acc in (("action2vec", main), ("text", text), ("action2vec, model of split s", 0.1))
    ]
    return AnalogyResult(240, 0, main, 1 / 59, {}, [], class_vectors="action2vec", scores=scores)


def test_analogy_findings_flip():
    found = [f for f in analogy_findings(_analogy(0.85, 1.0)) if f.values["vectors"] == "action2vec"]
    assert [f.values["exclude_query"] for f in found] == [True, False]
    assert found[0].text == (
        "Analogy test (query class left out): Action2Vec's class means answer 85.00 % of 240 "
        "tests, 15.00 points fewer than the text vectors alone (100.00 %; chance 1.69 %)."
    )
    assert "every class a candidate, the paper's reading" in found[1].text
    assert "15.00 points more than the text vectors alone (85.00 %" in analogy_findings(_analogy(1.0, 0.85))[0].text


def test_the_split_model_stands_beside_the_all_classes_model():
    result = _analogy(1.0, 1.0)
    result.scores.insert(
        3,
        AnalogyScore(
            "action2vec, model of split s", True, 62, 0.774, float("nan"), subset="between its unseen classes"
        ),
    )
    split = [f for f in analogy_findings(result) if f.values["vectors"] != "action2vec"]
    assert [f.values["exclude_query"] for f in split] == [True, False]
    assert split[0].text == (
        "Analogy test (query class left out): the class means of the model of split s answer "
        "10.00 % of 240 tests, against 100.00 % for Action2Vec's class means; 77.40 % of the 62 "
        "tests between its unseen classes."
    )
    assert "as many as the text vectors alone" in analogy_findings(_analogy(1.0, 1.0))[0].text


def test_every_finding_reaches_the_console_headline():
    zsl, wn, an = _summary([0.7, 0.8], [0.6, 0.7]), _wordnet(0.1, 0.2), _analogy(0.9, 1.0)
    text = headline_text(zsl, wn, an)
    found = run_findings(zsl, wn, an)
    assert [f.topic for f in found] == ["zsl", "wordnet", "analogy", "analogy", "analogy", "analogy"]
    assert all(f.text in text for f in found)


def test_one_split_has_no_spread_in_the_headline():
    """A standard deviation over one split is undefined: the headline says "one split" and shows no ±."""
    from action2vec.evaluation.results import ZslSplitResult
    from action2vec.reports.headline import zsl_headline

    runs = [
        ZslSplitResult(
            dataset="toy",
            split="50-50_seed0",
            ratio="50/50",
            seed=0,
            variant=v,
            metrics={"top1": t, "n": 30},
            chance={"top1": 1 / 30},
            seen_classes=["a"],
            unseen_classes=["b"],
            confusion=np.eye(2, dtype=np.int64),
        )
        for v, t in (("hrnn_attention", 0.3611), ("pooled_krr", 0.2))
    ]
    summary = ZslSummary.from_splits(runs)
    text = headline_text(summary, None, None, findings=False)
    assert "one split:" in text and "±" not in text and "36.11 %" in text
    assert zsl_headline(summary)["hrnn_attention"]["top1_std"] is None
