"""The pooled-feature KRR baseline against an implementation written here from its definition: a k-NN graph and
normalised Laplacian built with loops, an RBF kernel built with loops, the dual solved with numpy, checked
through the objective's gradient; and the zero-shot baseline's result on a fixed small store against that path.

Planting either bug of issue 19 makes these tests fail: the Laplacian's sign flipped (I + D^-1/2 W D^-1/2), or
the baseline's training features left unnormalised.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn.kernel_ridge import KernelRidge

from action2vec.evaluation.krr import KRRConfig, LaplacianKRR


def naive_knn_laplacian(x: np.ndarray, k: int) -> np.ndarray:
    """I − D^-1/2 W D^-1/2 of the symmetric k-NN graph (0/1 weights), with loops."""
    n = len(x)
    w = np.zeros((n, n))
    for i in range(n):
        dist = [(sum((x[i][t] - x[j][t]) ** 2 for t in range(x.shape[1])), j) for j in range(n) if j != i]
        for _, j in sorted(dist)[:k]:
            w[i][j] = w[j][i] = 1.0
    lap = np.zeros((n, n))
    deg = [sum(w[i]) for i in range(n)]
    for i in range(n):
        for j in range(n):
            lap[i][j] = (1.0 if i == j else 0.0) - (w[i][j] / math.sqrt(deg[i] * deg[j]) if w[i][j] else 0.0)
    return lap


def naive_rbf(a: np.ndarray, b: np.ndarray, sigma: float) -> np.ndarray:
    return np.array([[math.exp(-sum((p - q) ** 2 for p, q in zip(u, v)) / (2 * sigma**2)) for v in b] for u in a])


def naive_median_distance(x: np.ndarray) -> float:
    return float(np.median([math.dist(x[i], x[j]) for i in range(len(x)) for j in range(i + 1, len(x))]))


def naive_krr_predict(x, y, xt, gamma_a, gamma_i, k):
    """Minimise ||Y − KA||² + γA tr(AᵀKA) + γI tr(AᵀKLKA): the gradient 2K(−(Y − KA) + γA A + γI LKA) vanishes
    at (K + γA I + γI LK) A = Y. RBF width: the median pairwise distance."""
    sigma = naive_median_distance(x)
    kern = naive_rbf(x, x, sigma)
    lap = naive_knn_laplacian(x, k)
    a = np.linalg.solve(kern + gamma_a * np.eye(len(x)) + gamma_i * lap @ kern, y)
    return naive_rbf(xt, x, sigma) @ a


def _data(n=40, d=5, e=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal((n, e)), rng.standard_normal((12, d))


def test_laplacian_krr_equals_the_naive_dual_solution():
    x, y, xt = _data()
    model = LaplacianKRR(KRRConfig(kernel="rbf", gamma_a=0.2, gamma_i=1.5, neighbors=4)).fit(x, y)
    assert np.allclose(model.predict(xt), naive_krr_predict(x, y, xt, 0.2, 1.5, 4), atol=1e-4)


def test_laplacian_krr_minimises_its_objective():
    """The fitted coefficients zero the objective's gradient, with the Laplacian built here."""
    x, y, _ = _data(n=30, seed=2)
    cfg = KRRConfig(kernel="rbf", gamma_a=0.1, gamma_i=3.0, neighbors=5)
    model = LaplacianKRR(cfg).fit(x, y)
    kern = naive_rbf(x, x, model.sigma)
    lap = naive_knn_laplacian(x, 5)
    a = model.coef
    grad = 2 * kern @ (-(y - kern @ a) + 0.1 * a + 3.0 * lap @ kern @ a)
    assert np.abs(grad).max() < 1e-6 * max(1.0, np.abs(y).max())

    def objective(c):
        return (
            ((y - kern @ c) ** 2).sum() + 0.1 * np.trace(c.T @ kern @ c) + 3.0 * np.trace(c.T @ kern @ lap @ kern @ c)
        )

    rng = np.random.default_rng(1)
    assert all(objective(a) < objective(a + 1e-3 * rng.standard_normal(a.shape)) for _ in range(5))


def test_without_the_laplacian_it_is_sklearns_kernel_ridge_with_the_median_width():
    x, y, xt = _data(seed=3)
    model = LaplacianKRR(KRRConfig(kernel="rbf", gamma_a=0.4, gamma_i=0.0)).fit(x, y)
    sigma = naive_median_distance(x)
    assert model.sigma == pytest.approx(sigma)
    ref = KernelRidge(alpha=0.4, kernel="rbf", gamma=1.0 / (2 * sigma**2)).fit(x, y)
    assert np.allclose(model.predict(xt), ref.predict(xt), atol=1e-4)


# ------------------------------------------------------------------ the zero-shot baseline end to end

CLASSES = ["run", "jump", "swim", "climb", "throw", "kick", "walk", "dive"]


def _write_store(root):
    """Eight classes, six videos each of 3 to 6 true steps (+ padding rows of junk), feature norms that vary by
    ten times between videos (so leaving out the L2 normalisation changes the answer)."""
    from action2vec.store import StoreWriter

    rng = np.random.default_rng(7)
    centres = rng.standard_normal((len(CLASSES), 10))
    mix = rng.standard_normal((10, 6))
    words = {c: (centres[i] @ mix + 0.1 * rng.standard_normal(6)).tolist() for i, c in enumerate(CLASSES)}
    (root / "words.json").write_text(json.dumps(words))
    truth = {}
    with StoreWriter(root / "s.h5", meta={"backbone": "toy", "layer": "x", "dim": 10}) as w:
        for i, c in enumerate(CLASSES):
            for v in range(6):
                length = int(rng.integers(3, 7))
                feats = centres[i] + 0.5 * rng.standard_normal((length, 10))
                feats *= rng.uniform(0.3, 3.0)
                padded = np.concatenate([feats, np.full((2, 10), 50.0)]).astype(np.float32)
                w.add(f"{c}_{v}", padded, length=length, label=c, source={})
                truth[f"{c}_{v}"] = feats.astype(np.float32)
    return root / "s.h5", truth, words


def test_zero_shot_baseline_top1_equals_the_independent_path(tmp_path):
    from action2vec.cli.main import main

    store, truth, words = _write_store(tmp_path)
    out = tmp_path / "run"
    assert (
        main(
            [
                "zsl",
                "--store",
                f"toy={store}",
                "--data.text",
                f"vectors:{tmp_path / 'words.json'}",
                "--ratios",
                "50/50",
                "--seeds",
                "1",
                "--variants",
                "pooled_krr",
                "--krr",
                "neighbors=3",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    (result_file,) = out.glob("runs/toy/*/pooled_krr/result.json")
    result = json.loads(result_file.read_text())
    seen, unseen = result["seen_classes"], result["unseen_classes"]

    def pooled(keys):
        x = np.array([[sum(row[t] for row in truth[k]) / len(truth[k]) for t in range(10)] for k in keys])
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    def unit(c):
        v = np.array(words[c])
        return v / np.linalg.norm(v)

    train = [k for k in truth if k.rsplit("_", 1)[0] in seen]
    test = [k for k in truth if k.rsplit("_", 1)[0] in unseen]
    x, y = pooled(train), np.stack([unit(k.rsplit("_", 1)[0]) for k in train])
    cfg = KRRConfig()
    pred = naive_krr_predict(x, y, pooled(test), cfg.gamma_a, cfg.gamma_i, 3)
    classes = np.stack([unit(c) for c in unseen])
    cos = (pred / np.linalg.norm(pred, axis=1, keepdims=True)) @ classes.T
    guess = cos.argmax(axis=1)
    true = np.array([unseen.index(k.rsplit("_", 1)[0]) for k in test])
    confusion = np.zeros((len(unseen), len(unseen)), int)
    for t, g in zip(true, guess):
        confusion[t][g] += 1
    assert result["metrics"]["top1"] == pytest.approx(float((guess == true).mean()))
    assert np.array_equal(np.asarray(result["confusion"]), confusion)
    assert 0.25 < result["metrics"]["top1"] < 1.0  # informative: neither chance nor perfect
