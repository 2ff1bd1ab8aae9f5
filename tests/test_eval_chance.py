"""Chance levels: top-k chance is k/n (not 1/n), checked against every ranking of a small class set."""

import itertools

import numpy as np
import pytest

from action2vec.evaluation.metrics import chance_levels, mean_per_class_accuracy, topk_accuracy


def test_chance_levels_equal_the_mean_over_every_ranking():
    n = 5
    rankings = np.array(list(itertools.permutations(range(n))))  # (120, 5): every ranking, equally likely
    # every (ranking, true class) pair once: the expectation of a uniformly random ranker, exactly
    ranked = np.repeat(rankings, n, axis=0)  # (600, 5)
    labels = np.tile(np.arange(n), len(rankings))  # (600,)
    chance = chance_levels(n, ks=(1, 2, 5, 7))
    for k in (1, 2, 5, 7):
        assert chance[f"top{k}"] == pytest.approx(topk_accuracy(ranked, labels, k))
    assert chance["mean_class_acc"] == pytest.approx(mean_per_class_accuracy(ranked[:, 0], labels))
    assert chance["top2"] == pytest.approx(2 / 5) and chance["top7"] == 1.0
    assert "gzsl_harmonic" not in chance
    assert chance_levels(30, ks=(1, 5))["top5"] == pytest.approx(5 / 30)  # 16.67 %, not the 3.33 % of top-1
    assert chance_levels(10, n_all_classes=40)["gzsl_unseen"] == pytest.approx(1 / 40)
