"""The analogy test: pair generation, the arithmetic against a naive loop, the query left out."""

from types import SimpleNamespace

import numpy as np
import pytest

from action2vec.evaluation.analogy import analogy_pairs, analogy_test


def L(name, verb, *nouns):
    return SimpleNamespace(name=name, phrase=name, verb=verb, nouns=tuple(nouns))


LABELS = [
    L("play violin", "play", "violin"),
    L("play piano", "play", "piano"),
    L("play cello", "play", "cello"),
    L("throw ball", "throw", "ball"),
    L("throw axe", "throw", "axe"),
    L("run", "run"),
    L("ride horse", "ride", "horse"),
    L("ride horse fast", "ride", "horse"),  # same nouns: no pair
]


def test_pairs_every_ordered_pair_with_different_nouns():
    pairs = analogy_pairs(LABELS)
    assert len(pairs) == 3 * 2 + 2 * 1
    assert {(p.a, p.b) for p in pairs if p.verb == "throw"} == {(3, 4), (4, 3)}
    assert all(p.noun_a != p.noun_b for p in pairs)


def test_compositional_vectors_pass_all_and_match_naive():
    rng = np.random.default_rng(0)
    words = {
        w: rng.standard_normal(16)
        for w in ["play", "throw", "run", "ride", "violin", "piano", "cello", "ball", "axe", "horse"]
    }
    classes = np.stack([words[lab.verb] + sum((words[n] for n in lab.nouns), np.zeros(16)) for lab in LABELS])
    pairs = analogy_pairs(LABELS)
    names = [lab.name for lab in LABELS]
    out = analogy_test(classes, words, pairs, names, normalize=False)
    assert out.count == 8 and out.accuracy == 1.0
    assert out.per_verb["play"] == {"count": 6, "accuracy": 1.0}

    noisy = classes + 1.5 * rng.standard_normal(classes.shape)
    for metric in ("euclidean", "cosine"):
        res = analogy_test(noisy, words, pairs, names, metric=metric, normalize=False)
        correct = 0
        for p in pairs:
            q = noisy[p.a] - words[p.noun_a] + words[p.noun_b]
            best, best_d = None, np.inf
            for j in range(len(noisy)):
                if j == p.a:
                    continue  # the query class is left out
                if metric == "euclidean":
                    d = np.linalg.norm(q - noisy[j])
                else:
                    d = 1 - q @ noisy[j] / np.linalg.norm(q) / np.linalg.norm(noisy[j])
                if d < best_d:
                    best, best_d = j, d
            correct += best == p.b
        assert res.correct == correct


def test_query_class_is_left_out():
    # the query vector stays closest to the query class itself when the noun vectors are tiny
    classes = np.eye(4)
    labels = [L("a x", "a", "x"), L("a y", "a", "y"), L("b z", "b", "z"), L("c w", "c", "w")]
    nouns = {"x": np.zeros(4), "y": np.zeros(4)}
    out = analogy_test(classes, nouns, analogy_pairs(labels), [lab.name for lab in labels], normalize=False)
    assert all(ex.nearest != ex.query for ex in out.examples)
    assert out.count == 2 and out.chance == pytest.approx(1 / 3)


def test_both_candidate_readings_match_a_naive_loop():
    """exclude_query=False searches every class, the query's own included (the paper's reading)."""
    rng = np.random.default_rng(1)
    words = {
        w: rng.standard_normal(8)
        for w in ["play", "throw", "run", "ride", "violin", "piano", "cello", "ball", "axe", "horse"]
    }
    classes = np.stack([words[lab.verb] + sum((words[n] for n in lab.nouns), np.zeros(8)) for lab in LABELS])
    classes = classes + 2.0 * rng.standard_normal(classes.shape)
    pairs = analogy_pairs(LABELS)
    names = [lab.name for lab in LABELS]
    for exclude in (True, False):
        for normalize in (True, False):
            res = analogy_test(classes, words, pairs, names, normalize=normalize, exclude_query=exclude)
            unit = (lambda v: v / np.linalg.norm(v)) if normalize else (lambda v: v)
            correct = 0
            for p in pairs:
                q = unit(classes[p.a]) - unit(words[p.noun_a]) + unit(words[p.noun_b])
                candidates = [j for j in range(len(classes)) if not (exclude and j == p.a)]
                correct += min(candidates, key=lambda j: np.linalg.norm(q - unit(classes[j]))) == p.b
            assert res.correct == correct
            assert res.exclude_query is exclude and res.normalize is normalize
            assert res.chance == pytest.approx(1 / (len(classes) - 1 if exclude else len(classes)))
    # tiny noun vectors: the query class itself is nearest when it is a candidate
    eye = np.eye(4)
    labels = [L("a x", "a", "x"), L("a y", "a", "y"), L("b z", "b", "z"), L("c w", "c", "w")]
    nouns = {"x": np.zeros(4), "y": np.zeros(4)}
    out = analogy_test(
        eye, nouns, analogy_pairs(labels), [lab.name for lab in labels], normalize=False, exclude_query=False
    )
    assert all(ex.nearest == ex.query for ex in out.examples) and out.accuracy == 0.0
