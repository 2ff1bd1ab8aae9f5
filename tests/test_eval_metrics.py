"""Metrics and cosine zero-shot classification, checked against naive and scikit-learn versions."""

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, top_k_accuracy_score
from sklearn.metrics import confusion_matrix as sk_confusion

from action2vec.evaluation.metrics import (
    classification_metrics,
    confusion_matrix,
    gzsl_metrics,
    harmonic_mean,
    mean_per_class_accuracy,
    topk_accuracy,
)
from action2vec.evaluation.zero_shot import cosine_topk, zero_shot_evaluate


def _scores(n=300, c=12, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, c, n)
    scores = rng.standard_normal((n, c))
    scores[np.arange(n), labels] += 1.0  # better than chance, not perfect
    return scores, labels


def test_topk_matches_sklearn():
    scores, labels = _scores()
    ranked = np.argsort(-scores, axis=1)
    for k in (1, 3, 5):
        expected = top_k_accuracy_score(labels, scores, k=k, labels=np.arange(scores.shape[1]))
        assert topk_accuracy(ranked, labels, k) == pytest.approx(expected)
    assert 0.2 < topk_accuracy(ranked, labels, 1) < 0.9


def test_mean_per_class_matches_balanced_accuracy():
    scores, labels = _scores(seed=1)
    pred = scores.argmax(1)
    assert mean_per_class_accuracy(pred, labels) == pytest.approx(balanced_accuracy_score(labels, pred))
    # unbalanced classes: mean per class differs from plain accuracy
    labels2 = np.array([0] * 90 + [1] * 10)
    pred2 = np.zeros(100, int)
    assert mean_per_class_accuracy(pred2, labels2) == pytest.approx(0.5)
    assert topk_accuracy(pred2, labels2) == pytest.approx(0.9)


def test_confusion_matches_sklearn():
    scores, labels = _scores(seed=2)
    pred = scores.argmax(1)
    assert np.array_equal(confusion_matrix(pred, labels, 12), sk_confusion(labels, pred, labels=np.arange(12)))


def naive_gzsl(pred, labels, seen, unseen):
    """Mean per-class accuracy over the test samples of seen / unseen classes, and their harmonic mean."""

    def mean_class_acc(classes):
        accs = []
        for c in classes:
            rows = [i for i in range(len(labels)) if labels[i] == c]
            if rows:
                accs.append(sum(pred[i] == c for i in rows) / len(rows))
        return sum(accs) / len(accs)

    s, u = mean_class_acc(seen), mean_class_acc(unseen)
    return s, u, 2 * s * u / (s + u)


def test_gzsl_against_a_naive_computation():
    # unequal seen / unseen accuracies (swapping them must fail), unbalanced classes (mean per class is not
    # plain accuracy), and wrong predictions into the other group (seen videos predicted as unseen classes)
    labels = np.array([0, 0, 0, 1, 2, 2, 2, 2, 3, 3, 4, 4, 4])
    pred = np.array([0, 0, 3, 1, 2, 0, 4, 4, 3, 2, 4, 1, 4])
    seen_classes, unseen_classes = np.array([0, 1]), np.array([2, 3, 4])
    out = gzsl_metrics(pred, labels, seen_classes=seen_classes, unseen_classes=unseen_classes)
    seen, unseen, harmonic = naive_gzsl(pred, labels, seen_classes, unseen_classes)
    assert (seen, unseen) == (pytest.approx(5 / 6), pytest.approx((1 / 4 + 1 / 2 + 2 / 3) / 3))  # by hand
    assert out["seen"] == pytest.approx(seen) and out["unseen"] == pytest.approx(unseen)
    assert out["harmonic"] == pytest.approx(harmonic)
    assert abs(seen - unseen) > 0.3 and out["n_seen"] == 4 and out["n_unseen"] == 9
    # ranked predictions (N, K): only the first column counts
    ranked = np.stack([pred, (pred + 1) % 5], axis=1)
    assert gzsl_metrics(ranked, labels, seen_classes, unseen_classes)["seen"] == pytest.approx(seen)
    assert harmonic_mean(0.2, 0.6) == pytest.approx(0.3)
    assert harmonic_mean(0.0, 0.0) == 0.0


def test_cosine_topk_equals_naive_loop():
    rng = np.random.default_rng(3)
    q = rng.standard_normal((257, 16)).astype(np.float32)
    c = rng.standard_normal((40, 16)).astype(np.float32)
    idx, val = cosine_topk(q, c, k=5, chunk=64)  # several chunks, last one partial
    for i in range(len(q)):
        sims = [float(q[i] @ c[j] / np.linalg.norm(q[i]) / np.linalg.norm(c[j])) for j in range(len(c))]
        order = sorted(range(len(c)), key=lambda j: -sims[j])[:5]
        assert list(idx[i]) == order
        assert np.allclose(val[i], [sims[j] for j in order], atol=1e-5)
    # k larger than the number of classes: all classes, sorted
    idx_all, _ = cosine_topk(q[:3], c[:4], k=10)
    assert idx_all.shape == (3, 4)


def test_zero_shot_evaluate_scale_invariant_and_confusion():
    rng = np.random.default_rng(4)
    classes = rng.standard_normal((10, 8))
    labels = rng.integers(0, 10, 200)
    emb = classes[labels] + 0.8 * rng.standard_normal((200, 8))
    a = zero_shot_evaluate(emb, labels, classes, with_confusion=True)
    b = zero_shot_evaluate(emb * 7.0, labels, classes * 0.1)
    assert a["top1"] == b["top1"] and a["top5"] == b["top5"]
    assert a["confusion"].sum() == 200 and np.trace(a["confusion"]) == round(a["top1"] * 200)
    ref = classification_metrics(
        np.argsort(
            -(emb / np.linalg.norm(emb, axis=1, keepdims=True))
            @ (classes / np.linalg.norm(classes, axis=1, keepdims=True)).T,
            axis=1,
        ),
        labels,
    )
    assert a["top1"] == pytest.approx(ref["top1"]) and a["mean_class_acc"] == pytest.approx(ref["mean_class_acc"])


def test_per_class_accuracy_against_a_loop():
    from action2vec.evaluation.metrics import per_class_accuracy

    rng = np.random.default_rng(5)
    for _ in range(10):
        labels = rng.integers(0, 15, 200)
        pred = rng.integers(0, 15, 200)
        classes = rng.choice(20, 10, replace=False)  # some listed classes have no samples
        expected = [np.mean(pred[labels == c] == c) if (labels == c).any() else np.nan for c in classes]
        assert np.allclose(per_class_accuracy(pred, labels, classes), expected, equal_nan=True)
