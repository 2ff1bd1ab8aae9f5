"""Kernel ridge regression with Laplacian regularisation, checked against sklearn and a primal solve."""

import numpy as np
from sklearn.kernel_ridge import KernelRidge

from action2vec.evaluation.krr import KRRConfig, LaplacianKRR, knn_laplacian, stratified_subsample
from action2vec.linalg import mean_pool


def _data(n=80, d=6, e=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal((n, e)), rng.standard_normal((20, d))


def test_no_laplacian_equals_sklearn_kernel_ridge():
    x, y, xt = _data()
    for kernel in ("linear", "rbf"):
        model = LaplacianKRR(KRRConfig(kernel=kernel, gamma_a=0.3, gamma_i=0.0)).fit(x, y)
        ref = KernelRidge(alpha=0.3, kernel=kernel, gamma=1.0 / (2 * model.sigma**2) if kernel == "rbf" else None)
        ref.fit(x, y)
        assert np.allclose(model.predict(xt), ref.predict(xt), atol=1e-4)


def test_laplacian_linear_kernel_equals_primal_solution():
    # With a linear kernel f(x) = x W and the objective ||Y - XW||² + γA|W|² + γI tr(Wᵀ Xᵀ L X W)
    # has the closed form W = (XᵀX + γA I + γI XᵀLX)⁻¹ XᵀY: an independent check of the dual formula.
    x, y, xt = _data(n=40, d=50)  # d > n so the linear kernel is full rank
    cfg = KRRConfig(kernel="linear", gamma_a=0.5, gamma_i=2.0, neighbors=5)
    model = LaplacianKRR(cfg).fit(x, y)
    lap = knn_laplacian(x, 5)
    w = np.linalg.solve(x.T @ x + 0.5 * np.eye(50) + 2.0 * x.T @ lap @ x, x.T @ y)
    assert np.allclose(model.predict(xt), xt @ w, atol=1e-4)
    # the Laplacian term changes the answer
    plain = LaplacianKRR(KRRConfig(kernel="linear", gamma_a=0.5, gamma_i=0.0)).fit(x, y)
    assert not np.allclose(plain.predict(xt), model.predict(xt), atol=1e-3)


def test_knn_laplacian_properties():
    x, _, _ = _data(n=30)
    lap = knn_laplacian(x, 4)
    assert np.allclose(lap, lap.T)
    assert np.linalg.eigvalsh(lap).min() > -1e-9  # positive semi-definite
    assert np.allclose(np.diag(lap), 1.0)


def test_mean_pool_ignores_padding_and_subsample_keeps_classes():
    f = np.zeros((2, 5, 3), np.float32)
    f[0, :2] = [[1, 2, 3], [3, 4, 5]]
    f[0, 2:] = 100.0  # padding
    f[1, :] = 7.0
    assert np.allclose(mean_pool(f, [2, 5]), [[2, 3, 4], [7, 7, 7]])
    labels = np.array([0] * 50 + [1] * 3 + [2] * 30)
    idx = stratified_subsample(labels, 20, seed=0)
    assert len(idx) == 20 and set(labels[idx]) == {0, 1, 2}
    assert np.array_equal(idx, stratified_subsample(labels, 20, seed=0))


def test_transductive_laplacian_krr_equals_the_semi_supervised_primal_solution():
    # Unlabelled rows U join the kernel and the graph, not the error: with X' = [X; U], J = diag(1, 0) and a
    # linear kernel the objective ||J(Y' - X'W)||² + γA|W|² + γI tr(Wᵀ X'ᵀ L X' W) has the closed form
    # W = (X'ᵀJX' + γA I + γI X'ᵀLX')⁻¹ X'ᵀJY': an independent check of the transductive dual formula.
    x, y, xt = _data(n=30, d=60)
    u = np.random.default_rng(9).standard_normal((20, 60))
    cfg = KRRConfig(kernel="linear", gamma_a=0.5, gamma_i=2.0, neighbors=5)
    model = LaplacianKRR(cfg).fit(x, y, unlabeled=u)
    both = np.concatenate([x, u])
    j = np.diag([1.0] * 30 + [0.0] * 20)
    lap = knn_laplacian(both, 5)
    y_pad = np.concatenate([y, np.zeros((20, y.shape[1]))])
    w = np.linalg.solve(both.T @ j @ both + 0.5 * np.eye(60) + 2.0 * both.T @ lap @ both, both.T @ j @ y_pad)
    assert np.allclose(model.predict(xt), xt @ w, atol=1e-4)
    # the unlabelled videos change the answer; none (or an empty set) is the inductive model exactly
    inductive = LaplacianKRR(cfg).fit(x, y)
    assert not np.allclose(inductive.predict(xt), model.predict(xt), atol=1e-3)
    assert np.array_equal(LaplacianKRR(cfg).fit(x, y, unlabeled=u[:0]).predict(xt), inductive.predict(xt))
