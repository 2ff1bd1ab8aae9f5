"""The zero-shot protocol runner: seen-only training, resume by split, exact reruns, GZSL, overlap
filtering, parallel splits, and (slow) the HRNN with attention beating pooled KRR on temporal data."""

import json
from pathlib import Path

import numpy as np
import pytest

from action2vec.config import load_config
from action2vec.errors import ConfigError
from action2vec.evaluation.results import ZslSplitResult, ZslSummary
from action2vec.evaluation.splits import random_splits
from action2vec.experiments import zero_shot as protocol
from action2vec.experiments.zero_shot import ZslConfig, plan_jobs, run_zsl
from action2vec.testing import make_synthetic_store, synthetic_label_vectors
from action2vec.training.config import RunConfig


@pytest.fixture(scope="module")
def flat_store(tmp_path_factory):
    """Features that carry the label vector at every step: pooling keeps the signal."""
    lv = synthetic_label_vectors(20, dim=16, seed=0)
    path = make_synthetic_store(
        tmp_path_factory.mktemp("flat") / "s.h5", lv, videos_per_class=12, steps=8, temporal=False, noise=0.5
    )
    return path, lv


def _run(store, lv, out, **kw):
    z = ZslConfig(ratios=kw.pop("ratios", ["50/50", "80/20"]), seeds=kw.pop("seeds", 2), variants=["pooled_krr"], **kw)
    jobs = plan_jobs("syn", store, random_splits(lv.names, z.ratios, range(z.seeds)), lv, z, RunConfig(), out)
    return run_zsl(jobs, out, workers=1).to_json(), jobs


def test_krr_runs_reproduces_and_resumes(flat_store, tmp_path, monkeypatch):
    store, lv = flat_store
    summary, jobs = _run(store, lv, tmp_path / "a")
    top1 = summary["datasets"]["syn"]["results"]["pooled_krr"]["50/50"]["top1"]
    chance = summary["datasets"]["syn"]["chance"]["50/50"]["top1"]
    assert chance == pytest.approx(0.1) and top1["n"] == 2
    assert summary["datasets"]["syn"]["chance"]["50/50"]["top5"] == pytest.approx(0.5)  # top-k chance is k/n
    assert top1["mean"] > 3 * chance  # pooling keeps this store's signal
    # mean and std are over the per-split results
    per_split = [json.loads((j.folder / "result.json").read_text()) for j in jobs if j.split.ratio == "50/50"]
    values = [r["metrics"]["top1"] for r in per_split]
    assert top1["mean"] == pytest.approx(np.mean(values)) and top1["std"] == pytest.approx(np.std(values, ddof=1))
    for r in per_split:
        assert not set(r["seen_classes"]) & set(r["unseen_classes"])
        assert np.array(r["confusion"]).sum() == r["metrics"]["n"]
    # a fresh run with the same seeds gives exactly the same numbers
    again, _ = _run(store, lv, tmp_path / "b")
    assert again["datasets"] == summary["datasets"]
    # rerunning the same folder reuses every finished split: no training happens
    monkeypatch.setattr(protocol, "_krr_embed", lambda *a, **k: pytest.fail("a finished split was recomputed"))
    assert _run(store, lv, tmp_path / "a")[0]["datasets"] == summary["datasets"]
    (jobs[0].folder / "result.json").unlink()  # an interrupted run: that split alone is computed again
    monkeypatch.undo()
    assert _run(store, lv, tmp_path / "a")[0]["datasets"] == summary["datasets"]
    # another configuration in the same folder is refused, not silently mixed
    with pytest.raises(ConfigError, match="another configuration"):
        _run(store, lv, tmp_path / "a", overlap_threshold=0.5)
    assert "| **80/20** |" in (tmp_path / "a" / "zsl_table.md").read_text()


def test_gzsl_and_overlap_filter(flat_store, tmp_path):
    store, lv = flat_store
    summary, jobs = _run(store, lv, tmp_path, ratios=["50/50"], seeds=1, seen_holdout=0.25, overlap_threshold=0.4)
    cell = summary["datasets"]["syn"]["results"]["pooled_krr"]["50/50"]
    for key in ("gzsl_seen", "gzsl_unseen", "gzsl_harmonic"):
        assert key in cell
    s, u = cell["gzsl_seen"]["mean"], cell["gzsl_unseen"]["mean"]
    assert cell["gzsl_harmonic"]["mean"] == pytest.approx(0 if s + u == 0 else 2 * s * u / (s + u))
    result = json.loads((jobs[0].folder / "result.json").read_text())
    vec = dict(zip(lv.names, lv.vectors))
    for name, (closest, cos) in result["dropped_by_overlap"].items():
        assert cos >= 0.4 and closest in result["unseen_classes"]
        assert name not in result["seen_classes"]
    for name in result["seen_classes"]:
        assert max(float(vec[name] @ vec[u]) for u in result["unseen_classes"]) < 0.4
    # 3 of 12 videos per seen class held out, never trained on
    assert result["n_train_videos"] == 9 * len(result["seen_classes"])


def test_unknown_variant_is_a_config_error(flat_store, tmp_path):
    store, lv = flat_store
    z = ZslConfig(variants=["pooled_krr", "transformer"])
    with pytest.raises(ConfigError, match="transformer"):
        plan_jobs("syn", store, random_splits(lv.names, ["50/50"], [0]), lv, z, RunConfig(), tmp_path)


def test_summarize_std_and_chance():
    rows = [
        ZslSplitResult(
            dataset="d",
            variant="v",
            ratio="50/50",
            split=f"s{i}",
            seed=i,
            chance={"top1": 0.1},
            metrics={"top1": t, "n": 10},
            seen_classes=[],
            unseen_classes=[],
            confusion=np.zeros((0, 0)),
        )
        for i, t in enumerate([0.2, 0.4, 0.6])
    ]
    s = ZslSummary.from_splits(rows).to_json()
    cell = s["datasets"]["d"]["results"]["v"]["50/50"]["top1"]
    assert cell == {"mean": pytest.approx(0.4), "std": pytest.approx(0.2), "n": 3}
    assert "n" not in s["datasets"]["d"]["results"]["v"]["50/50"]


@pytest.mark.slow
def test_parallel_splits_equal_serial(flat_store, tmp_path):
    store, lv = flat_store
    z = ZslConfig(ratios=["50/50"], seeds=2, variants=["pooled_krr"])
    splits = random_splits(lv.names, z.ratios, range(2))
    serial = run_zsl(
        plan_jobs("syn", store, splits, lv, z, RunConfig(), tmp_path / "s"), tmp_path / "s", workers=1
    ).to_json()
    parallel = run_zsl(
        plan_jobs("syn", store, splits, lv, z, RunConfig(), tmp_path / "p"), tmp_path / "p", workers=2
    ).to_json()
    assert parallel["datasets"] == serial["datasets"]


@pytest.mark.slow
def test_hrnn_attention_beats_pooled_krr_on_temporal_data(tmp_path):
    """Class vectors drive the features through a +/- temporal pattern that mean pooling cancels: the
    paper's model recovers the class from the sequence and transfers to unseen classes, KRR cannot."""
    lv = synthetic_label_vectors(40, dim=16, seed=0)
    store = make_synthetic_store(tmp_path / "s.h5", lv, videos_per_class=10, steps=16, noise=0.3)
    cfg = load_config(
        RunConfig,
        None,
        ["model.preset=tiny", "train.epochs=20", "train.batch_size=32", "train.lr=3e-3", "train.progress_bar=false"],
    )
    z = ZslConfig(ratios=["80/20"], seeds=1, variants=["pooled_krr", "hrnn_attention"])
    summary = run_zsl(
        plan_jobs("syn", store, random_splits(lv.names, z.ratios, [0]), lv, z, cfg, tmp_path / "o"),
        tmp_path / "o",
        workers=1,
    ).to_json()
    res = summary["datasets"]["syn"]["results"]
    chance = summary["datasets"]["syn"]["chance"]["80/20"]["top1"]
    a2v, krr = res["hrnn_attention"]["80/20"]["top1"]["mean"], res["pooled_krr"]["80/20"]["top1"]["mean"]
    assert a2v > 2.5 * chance
    assert a2v > krr + 0.2
    assert (tmp_path / "o" / "runs" / "syn" / "80-20_seed0" / "hrnn_attention" / "train" / "model").is_dir()
    # the same seed in a fresh folder trains the same model: identical metrics and confusion matrix
    z.variants = ["hrnn_attention"]
    run_zsl(
        plan_jobs("syn", store, random_splits(lv.names, z.ratios, [0]), lv, z, cfg, tmp_path / "o2"),
        tmp_path / "o2",
        workers=1,
    )
    first, again = (
        json.loads((root / "runs/syn/80-20_seed0/hrnn_attention/result.json").read_text())
        for root in (tmp_path / "o", tmp_path / "o2")
    )
    assert again["metrics"] == first["metrics"] and again["confusion"] == first["confusion"]


def _pca_zsl(store, lv, out, variants, **kw):
    cfg = load_config(RunConfig, None, ["model.preset=tiny", "train.epochs=1", "train.progress_bar=false"])
    z = ZslConfig(ratios=["50/50"], seeds=1, variants=variants, **kw)
    jobs = plan_jobs("syn", store, random_splits(lv.names, z.ratios, [0]), lv, z, cfg, out)
    return run_zsl(jobs, out, workers=1).to_json(), jobs


def test_raw_store_pca_is_fitted_per_split_on_the_seen_training_videos_only(flat_store, tmp_path):
    from safetensors.numpy import load_file
    from sklearn.decomposition import PCA as SkPCA

    from action2vec.store import open_store

    path, lv = flat_store
    store = open_store(path)
    summary, jobs = _pca_zsl(path, lv, tmp_path, ["hrnn_attention", "pooled_krr"], pca_dim=4, seen_holdout=0.25)
    a2v = json.loads((jobs[0].folder / "result.json").read_text())
    train = json.loads((jobs[0].folder / "train" / "result.json").read_text())
    # the PCA saw the split's training videos: seen classes, never the held-out or the unseen videos
    fitted = [store.index_of(k) for k in train["train_keys"]]
    assert {store.labels[i] for i in fitted} <= set(a2v["seen_classes"])
    assert not set(train["train_keys"]) & set(train["val_keys"]) and train["val_keys"]
    assert a2v["pca"] == {"fitted_on": "seen", "videos": len(fitted)}
    rows = np.concatenate([store.get(i)[0][: store.lengths[i]] for i in fitted])
    ref = SkPCA(4, svd_solver="full").fit(rows.astype(np.float64))
    exported = load_file(str(jobs[0].folder / "train" / "model" / "pca.safetensors"))
    np.testing.assert_allclose(exported["mean"], ref.mean_, atol=1e-4)
    np.testing.assert_allclose(exported["explained_variance"], ref.explained_variance_, rtol=1e-4)
    every = np.concatenate([store.get(i)[0][: store.lengths[i]] for i in range(len(store))])
    assert not np.allclose(exported["mean"], every.mean(0), atol=1e-3)  # all videos would give another PCA
    assert (jobs[0].folder.parent / "pca4.safetensors").is_file()
    # the pooled baseline reads the raw features, before any PCA
    krr = json.loads((jobs[1].folder / "result.json").read_text())
    assert krr["pca"] == {"fitted_on": "none", "videos": 0} and krr["features"] == "pooled synthetic none (32-d)"
    assert a2v["features"] == "synthetic none PCA-4 features"
    assert summary["splits"][0]["pca"] == a2v["pca"] and not summary["transductive"]
    plain, _ = _pca_zsl(path, lv, tmp_path / "plain", ["pooled_krr"], seen_holdout=0.25)
    assert plain["datasets"]["syn"]["results"]["pooled_krr"] == summary["datasets"]["syn"]["results"]["pooled_krr"]
    assert "pooled synthetic none (32-d) (syn)" in (tmp_path / "zsl_table.md").read_text()


def test_a_store_pca_that_saw_unseen_classes_is_refused_unless_transductive(flat_store, tmp_path):
    from action2vec.errors import DataError
    from action2vec.store import StoreWriter, open_store
    from action2vec.store.pca import pca_store

    path, lv = flat_store
    raw = open_store(path)
    split = random_splits(lv.names, ["50/50"], [0])[0]
    everything = pca_store(path, tmp_path / "all.h5", dim=4, fit_keys=raw.keys)
    with pytest.raises(DataError, match=r"all\.h5.*split 50-50_seed0 tests as unseen"):
        _pca_zsl(everything, lv, tmp_path / "a", ["pooled_krr"])
    summary, jobs = _pca_zsl(everything, lv, tmp_path / "t", ["pooled_krr"], transductive=True)
    result = json.loads((jobs[0].folder / "result.json").read_text())
    assert result["transductive"] and summary["transductive"]
    assert result["pca"] == {"fitted_on": "store", "videos": len(raw)}
    assert result["features"] == "pooled synthetic none PCA-4 features"
    # a PCA fitted on seen classes only is the protocol's own: accepted, not transductive
    seen_only = pca_store(
        path, tmp_path / "seen.h5", dim=4, fit_keys=[raw.keys[i] for i in raw.indices_of_classes(split.seen)]
    )
    summary, _ = _pca_zsl(seen_only, lv, tmp_path / "s", ["pooled_krr"])
    assert not summary["transductive"] and summary["splits"][0]["pca"]["fitted_on"] == "store"
    # a store that does not say what its PCA saw (older stores, ActivityNet files) is refused too
    old = open_store(seen_only)
    with StoreWriter(tmp_path / "old.h5", meta={k: v for k, v in old.meta.items() if k != "pca_fit_classes"}) as w:
        for i in range(len(old)):
            w.add(old.keys[i], old.get(i)[0], length=int(old.lengths[i]), label=old.labels[i])
    with pytest.raises(DataError, match=r"old\.h5: nobody recorded .* split 50-50_seed0"):
        _pca_zsl(tmp_path / "old.h5", lv, tmp_path / "o", ["pooled_krr"])
    with pytest.raises(ConfigError, match="already PCA-reduced"):
        _pca_zsl(seen_only, lv, tmp_path / "p", ["pooled_krr"], pca_dim=2)


def _with_permuted_test_labels(path, unseen, out):
    """The same store with the labels of the unseen classes' videos shuffled among themselves."""
    from action2vec.store import open_store, write_store

    store = open_store(path)
    labels = list(store.labels)
    test = [i for i, lab in enumerate(labels) if lab in set(unseen)]
    for i, j in zip(test, np.random.default_rng(7).permutation(test)):
        labels[i] = store.labels[j]
    assert labels != store.labels
    items = [(store.keys[i], store.get(i)[0], int(store.lengths[i]), labels[i]) for i in range(len(store))]
    return write_store(out, items, meta=dict(store.meta))


@pytest.mark.parametrize("variant", ["pooled_krr", "hrnn_attention"])
def test_transductive_option_is_off_by_default_reads_test_features_never_labels(flat_store, tmp_path, variant):
    from action2vec.experiments.zero_shot import embed_split, select_split_videos
    from action2vec.store import open_store

    path, lv = flat_store
    assert ZslConfig().transductive is False
    cfg = load_config(RunConfig, None, ["model.preset=tiny", "train.epochs=2", "train.progress_bar=false"])
    split = random_splits(lv.names, ["50/50"], [0])[0]
    permuted = _with_permuted_test_labels(path, split.unseen, tmp_path / "permuted.h5")

    def embed(store_path, out, transductive):
        z = ZslConfig(ratios=["50/50"], seeds=1, variants=[variant], transductive=transductive)
        job = plan_jobs("syn", store_path, [split], lv, z, cfg, out)[0]
        store = open_store(store_path)
        videos = select_split_videos(job, store)
        return embed_split(job, store, videos).embeddings, videos

    plain, videos = embed(path, tmp_path / "plain", False)
    on, _ = embed(path, tmp_path / "on", True)
    shuffled, videos_p = embed(permuted, tmp_path / "shuffled", True)
    assert not np.allclose(plain, on, atol=1e-4)  # the test videos were used
    assert np.array_equal(videos.test_pos, videos_p.test_pos)  # same test videos, other labels
    np.testing.assert_array_equal(on, shuffled)  # their labels were not
    if variant == "hrnn_attention":
        train = json.loads((tmp_path / "on" / "runs/syn/50-50_seed0/hrnn_attention/train/result.json").read_text())
        assert train["transductive"]["videos"] == len(videos.test_pos)
        assert (
            json.loads((tmp_path / "plain" / "runs/syn/50-50_seed0/hrnn_attention/train/result.json").read_text())[
                "transductive"
            ]
            is None
        )


def test_transductive_results_are_labelled_everywhere(flat_store, tmp_path):
    from action2vec.reports.report import build_report
    from action2vec.reports.tables import zsl_table_markdown

    path, lv = flat_store
    summary, jobs = _run(path, lv, tmp_path, ratios=["50/50"], seeds=1, transductive=True)
    assert summary["transductive"] and all(s["transductive"] for s in summary["splits"])
    assert json.loads((jobs[0].folder / "result.json").read_text())["transductive"] is True
    assert "| Pooled features + KRR (Laplacian) (transductive) |" in zsl_table_markdown(ZslSummary.from_json(summary))
    assert "(transductive)" in (tmp_path / "zsl_table.md").read_text()
    build_report(tmp_path)
    assert "Pooled features + KRR (Laplacian) (transductive)" in (tmp_path / "report.html").read_text()
    plain, _ = _run(path, lv, tmp_path / "plain", ratios=["50/50"], seeds=1)
    assert not plain["transductive"] and "(transductive)" not in zsl_table_markdown(ZslSummary.from_json(plain))


def test_the_label_vectors_reach_fit_with_their_embedder(flat_store, tmp_path, monkeypatch):
    """One fact in one place: the embedder that made the label vectors travels with them into training
    (the model folder records it), restricted to the seen classes."""
    from action2vec.text import LabelVectors

    path, lv = flat_store
    tagged = LabelVectors(lv.names, lv.vectors, text="vectors:words.npz")
    seen_by_fit = {}

    def fake_fit(cfg, run_dir, *, label_vectors, **kw):
        seen_by_fit["lv"] = label_vectors
        raise RuntimeError("stop after fit was called")

    monkeypatch.setattr(protocol, "fit", fake_fit)
    z = ZslConfig(ratios=["50/50"], seeds=1, variants=["hrnn_attention"])
    split = random_splits(lv.names, z.ratios, [0])[0]
    with pytest.raises(RuntimeError, match="stop after fit"):
        run_zsl(plan_jobs("syn", path, [split], tagged, z, RunConfig(), tmp_path), tmp_path, workers=1)
    assert seen_by_fit["lv"].text == "vectors:words.npz"
    assert seen_by_fit["lv"].names == sorted(split.seen)
    np.testing.assert_array_equal(seen_by_fit["lv"].vectors, tagged.lookup(sorted(split.seen)))


def test_a_finished_result_is_not_reused_for_another_store_or_other_label_vectors(flat_store, tmp_path):
    """The fingerprint holds the store's content and the label vectors: a rerun on other inputs is refused,
    not answered with the old numbers under the new names."""
    from action2vec.text import LabelVectors

    path, lv = flat_store
    other = make_synthetic_store(
        tmp_path / "other.h5", lv, videos_per_class=12, steps=8, temporal=False, noise=0.5, seed=7
    )
    _run(path, lv, tmp_path / "z", ratios=["50/50"], seeds=1)
    with pytest.raises(ConfigError, match="another configuration"):
        _run(other, lv, tmp_path / "z", ratios=["50/50"], seeds=1)
    moved = LabelVectors(lv.names, lv.vectors[::-1].copy(), text=lv.text)
    with pytest.raises(ConfigError, match="another configuration"):
        _run(path, moved, tmp_path / "z", ratios=["50/50"], seeds=1)
    _run(path, lv, tmp_path / "z", ratios=["50/50"], seeds=1)  # the same inputs still reuse it
    # the same texts embedded again move a sentence encoder's vectors by ~1e-7 (its batch differs): still reused
    noisy = LabelVectors(lv.names, lv.vectors + np.float32(1e-7) * np.sign(lv.vectors), text=lv.text)
    assert not np.array_equal(noisy.vectors, lv.vectors)
    _run(path, noisy, tmp_path / "z", ratios=["50/50"], seeds=1)
    one_class = lv.vectors.copy()
    one_class[0] = -one_class[0]  # another text for one class (an override)
    with pytest.raises(ConfigError, match="the label vectors differ"):
        _run(path, LabelVectors(lv.names, one_class, text=lv.text), tmp_path / "z", ratios=["50/50"], seeds=1)


def test_the_label_vector_sketch_sees_a_change_of_any_one_class_and_not_float_noise():
    """Each class's vector is sketched: moving any one of 101 unit vectors by 0.1 is a different input; noise
    of 1e-6 on every vector is not."""
    from action2vec.experiments.zero_shot import ZslJob
    from action2vec.text import LabelVectors

    rng = np.random.default_rng(0)
    base = rng.standard_normal((101, 384)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    split = random_splits([f"c{i}" for i in range(101)], ["50/50"], [0])[0]

    def job(vectors):
        return ZslJob(
            "d",
            split,
            "pooled_krr",
            Path("."),
            "s.h5",
            LabelVectors([f"c{i}" for i in range(101)], vectors),
            ZslConfig(),
            {},
        )

    done = job(base)
    result = ZslSplitResult(
        dataset="d",
        split=split.name,
        ratio="50/50",
        seed=0,
        variant="pooled_krr",
        metrics={},
        chance={},
        seen_classes=[],
        unseen_classes=[],
        confusion=np.zeros((1, 1), np.int64),
        fingerprint=done.fingerprint(),
        inputs=done.inputs(),
    )
    assert job(base + np.float32(1e-6) * rng.standard_normal(base.shape).astype(np.float32)).same_inputs(result)
    for i in range(101):
        moved = base.copy()
        direction = rng.standard_normal(384).astype(np.float32)
        moved[i] += 0.1 * direction / np.linalg.norm(direction)
        assert not job(moved).same_inputs(result), i


def test_how_a_run_computes_is_not_part_of_the_fingerprint_and_a_refusal_names_the_input(flat_store, tmp_path):
    """One definition of "the same run": the keys fit() resumes across (progress bar, workers, devices, ...)
    do not change a zero-shot result; a key that does is named when a rerun is refused."""
    from action2vec.evaluation.krr import KRRConfig

    path, lv = flat_store
    split = random_splits(lv.names, ["50/50"], [0])[0]
    z = ZslConfig(ratios=["50/50"], seeds=1, variants=["hrnn_attention"])

    def fp(*sets):
        return plan_jobs("syn", path, [split], lv, z, load_config(RunConfig, None, list(sets)), tmp_path)[
            0
        ].fingerprint()

    assert fp("train.progress_bar=true") == fp(
        "train.progress_bar=false", "train.num_workers=2", "train.accelerator=cpu", "train.devices=1"
    )
    assert fp("train.lr=0.5") != fp()
    _run(path, lv, tmp_path / "k", ratios=["50/50"], seeds=1)
    with pytest.raises(ConfigError, match="gamma_a"):
        _run(path, lv, tmp_path / "k", ratios=["50/50"], seeds=1, krr=KRRConfig(gamma_a=0.5))


def test_a_transductively_trained_model_says_so(flat_store, tmp_path):
    """The model folder (config.json and its card), not only the run's result.json, marks transductive training."""
    from action2vec.inference import Action2Vec

    path, lv = flat_store
    cfg = load_config(RunConfig, None, ["model.preset=tiny", "train.epochs=1", "train.progress_bar=false"])
    split = random_splits(lv.names, ["50/50"], [0])[0]
    for transductive in (True, False):
        z = ZslConfig(ratios=["50/50"], seeds=1, variants=["hrnn_attention"], transductive=transductive)
        out = tmp_path / str(transductive)
        jobs = plan_jobs("syn", path, [split], lv, z, cfg, out)
        run_zsl(jobs, out, workers=1)
        model_dir = jobs[0].folder / "train" / "model"
        assert Action2Vec.load(model_dir).info.transductive is transductive
        assert ("- transductive:" in (model_dir / "README.md").read_text()) is transductive
