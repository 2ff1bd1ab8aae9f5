"""Streaming PCA against sklearn, fitted on training videos' real steps only, kept in and applied from the store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.decomposition import PCA as SkPCA

from action2vec.cli.main import main
from action2vec.errors import ConfigError, DataError
from action2vec.store import StoreWriter, open_store
from action2vec.store.pca import PCA, ScatterAccumulator, pca_store


def test_streaming_scatter_matches_sklearn() -> None:
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(2500, 30)) @ rng.normal(size=(30, 30)) + 50).astype(np.float32)
    acc = ScatterAccumulator(30, chunk_rows=300)
    for a in range(0, len(x), 700):
        acc.update(x[a : a + 700])
    ours = acc.finish(8)
    ref = SkPCA(8, svd_solver="full").fit(x.astype(np.float64))
    np.testing.assert_allclose(ours.mean, ref.mean_, atol=1e-4)
    np.testing.assert_allclose(ours.explained_variance, ref.explained_variance_, rtol=1e-5)
    np.testing.assert_allclose(np.abs((ours.components * ref.components_).sum(1)), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.abs(ours.transform(x)), np.abs(ref.transform(x)), atol=1e-3)
    assert (ours.components[np.arange(8), np.abs(ours.components).argmax(1)] > 0).all()  # fixed signs


def _raw_store(path: Path, rng: np.random.Generator) -> dict[str, tuple[np.ndarray, int, str]]:
    """12 videos of (10, 16) features; test videos live far away so fitting on them would show."""
    videos = {}
    with StoreWriter(path, meta={"backbone": "test", "layer": "x", "pca": None}, flush_every=5) as w:
        for i in range(12):
            subset = "train" if i < 8 else "test"
            length = 10 - i % 4
            feats = np.zeros((10, 16), np.float32)
            feats[:length] = rng.normal(size=(length, 16)) * np.linspace(3, 0.1, 16)
            if subset == "test":
                feats[:length, -1] += 100.0
            w.add(f"v{i}", feats, length=length, label=f"c{i % 3}", source={"subset": subset})
            videos[f"v{i}"] = (feats, length, subset)
        w.add_failure("broken", reason="empty file (0 bytes)")
    return videos


def test_pca_store_fits_on_training_real_steps_and_keeps_everything(tmp_path: Path) -> None:
    videos = _raw_store(tmp_path / "raw.h5", np.random.default_rng(1))
    out = pca_store(tmp_path / "raw.h5", tmp_path / "pca.h5", dim=4, fit_subset="train")
    store = open_store(out)
    assert store.dim == 4 and store.meta["pca"] == 4 and store.meta["pca_from"] == 16
    assert store.meta["pca_fit_videos"] == 8 and store.failures == {"broken": "empty file (0 bytes)"}
    train_rows = np.concatenate([f[:n] for f, n, s in videos.values() if s == "train"])
    ref = SkPCA(4, svd_solver="full").fit(train_rows.astype(np.float64))
    pca = PCA.from_store(store)
    assert pca is not None
    np.testing.assert_allclose(pca.mean, ref.mean_, atol=1e-4)
    np.testing.assert_allclose(pca.explained_variance, ref.explained_variance_, rtol=1e-4)
    for key, (feats, length, _) in videos.items():
        got, got_len = store.get(store.index_of(key))
        assert got_len == length and got.shape == (10, 4)
        np.testing.assert_allclose(got[:length], pca.transform(feats[:length]), atol=1e-4)
        assert not got[length:].any()  # padding rows stay zero
        np.testing.assert_allclose(np.abs(got[:length]), np.abs(ref.transform(feats[:length])), atol=1e-3)


def test_pca_needs_a_training_subset_or_keys(tmp_path: Path) -> None:
    with StoreWriter(tmp_path / "list.h5", meta={"backbone": "test"}) as w:
        for i in range(3):
            w.add(f"k{i}", np.random.default_rng(i).normal(size=(4, 6)).astype(np.float32), source={})
    with pytest.raises(ConfigError, match="--fit-keys"):
        pca_store(tmp_path / "list.h5", tmp_path / "out.h5", dim=2)
    (tmp_path / "keys.txt").write_text("k0\nk2\n")
    assert (
        main(
            [
                "pca",
                str(tmp_path / "list.h5"),
                "--out",
                str(tmp_path / "out.h5"),
                "--dim",
                "2",
                "--fit-keys",
                str(tmp_path / "keys.txt"),
            ]
        )
        == 0
    )
    store = open_store(tmp_path / "out.h5")
    assert store.meta["pca_fit_videos"] == 2 and len(store) == 3
    with pytest.raises(DataError, match="already PCA"):
        pca_store(tmp_path / "out.h5", tmp_path / "again.h5", dim=1, fit_keys=["k0", "k1"])


def test_pca_store_records_the_fit_classes_and_projected_store_reads_like_it(tmp_path: Path) -> None:
    """The store says which classes its PCA saw (the zero-shot protocol checks them); projecting on read
    gives the same features as the projected store."""
    from action2vec.store.pca import ProjectedStore, fit_pca

    _raw_store(tmp_path / "raw.h5", np.random.default_rng(2))
    raw = open_store(tmp_path / "raw.h5")
    fit = ["v0", "v3", "v1"]  # classes c0 and c1 only
    out = open_store(pca_store(tmp_path / "raw.h5", tmp_path / "pca.h5", dim=3, fit_keys=fit))
    assert out.meta["pca_fit_classes"] == ["c0", "c1"] and out.meta["pca_fit_videos"] == 3
    view = ProjectedStore(raw, fit_pca(raw, [raw.index_of(k) for k in fit], 3), fitted_on="test")
    assert view.dim == 3 and view.meta["pca"] == 3 and view.meta["pca_fit"] == "test" and len(view) == len(out)
    assert view.labels == out.labels and np.array_equal(view.lengths, out.lengths)
    for mine, theirs in zip(view.read_many(range(len(raw))), out.read_many(range(len(raw)))):
        np.testing.assert_allclose(mine, theirs, atol=1e-5)
    np.testing.assert_allclose(view.get(4)[0], out.get(4)[0], atol=1e-5)
    np.testing.assert_allclose(view.pca["components"], out.pca["components"], atol=1e-6)
    with pytest.raises(DataError, match="already PCA"):
        ProjectedStore(out, fit_pca(raw, [0, 1], 3))


def test_a_rerun_with_another_fit_into_the_same_output_is_refused(tmp_path: Path) -> None:
    """Features and /pca of one store always come from one fit: another fit's rerun is refused before writing;
    the same fit resumes."""
    _raw_store(tmp_path / "raw.h5", np.random.default_rng(3))
    pca_store(tmp_path / "raw.h5", tmp_path / "pca.h5", dim=3, fit_keys=["v0", "v3", "v1"])
    before = (tmp_path / "pca.h5").read_bytes()
    with pytest.raises(DataError, match="pca_fit_keys_sha256"):
        pca_store(tmp_path / "raw.h5", tmp_path / "pca.h5", dim=3, fit_keys=["v0", "v2", "v4"])
    assert (tmp_path / "pca.h5").read_bytes() == before
    pca_store(tmp_path / "raw.h5", tmp_path / "pca.h5", dim=3, fit_keys=["v1", "v0", "v3"])  # same set: resumes
