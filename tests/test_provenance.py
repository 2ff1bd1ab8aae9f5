"""One provenance record per artefact and one decision: the decision on each kind of difference, a store digest
that sees an in-place edit of any one video, and every artefact made from the store (train run, index, zero-shot
result, per-split PCA) noticing it; execution-only settings never block a resume; a run refused or crashed before
its first step never blocks its corrected rerun."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pytest
from lightning.pytorch.callbacks import Callback

from action2vec.cli.main import main
from action2vec.config import execution_keys, load_config, option
from action2vec.errors import ConfigError
from action2vec.evaluation.splits import random_splits
from action2vec.experiments.zero_shot import ZslConfig, plan_jobs, run_zsl, split_pca
from action2vec.provenance import Input, Provenance, decide, file_digest, sketch
from action2vec.store import open_store, store_digest, write_store
from action2vec.testing import make_synthetic_store, synthetic_label_vectors
from action2vec.training import RunConfig, fit

# --------------------------------------------------------------------------- the decision


def _record(**changes) -> Provenance:
    base = {
        "inputs": {"store": Input("a" * 16, "/data/s.h5"), "training videos": Input("b" * 16)},
        "settings": {"train.lr": 0.001, "model.variant": "hrnn"},
        "execution": {"train.num_workers": 0},
        "sketches": {"label vectors": [[0.5, 0.25]]},
    }
    base.update(changes)
    return Provenance("train run", **base)


def test_the_decision_names_the_first_input_or_setting_that_differs():
    old = _record()
    assert decide(old, _record()).action == "reuse"
    assert decide(old, _record(), finished=False).action == "resume"
    # an input's content: named with where it lies
    d = decide(old, _record(inputs={"store": Input("c" * 16, "/data/s.h5"), "training videos": Input("b" * 16)}))
    assert d.action == "refuse" and d.reason.startswith("the store changed (/data/s.h5: content aaaaaaaaaaaa")
    # the first input in the record's order, though another also differs
    d = decide(old, _record(inputs={"store": Input("c" * 16), "training videos": Input("d" * 16)}), on_change="rebuild")
    assert d.action == "rebuild" and "store" in d.reason and "training videos" not in d.reason
    # an input that one record lacks
    assert "training videos" in decide(old, _record(inputs={"store": Input("a" * 16)})).reason
    # a setting: key, old and new value
    d = decide(old, _record(settings={"train.lr": 0.01, "model.variant": "hrnn"}))
    assert d.reason == "train.lr=0.001 there, 0.01 now"
    assert "model.dropout" in decide(old, _record(settings={**old.settings, "model.dropout": 0.1})).reason
    # execution-only settings are recorded, never compared
    assert decide(old, _record(execution={"train.num_workers": 4, "train.compile": "default"})).same
    # sketches: float noise is the same, a real change is not
    assert decide(old, _record(sketches={"label vectors": [[0.5 + 1e-6, 0.25]]})).same
    assert decide(old, _record(sketches={"label vectors": [[0.6, 0.25]]})).reason == "the label vectors differ"
    # no record (an artefact from before records were kept): as the caller says
    assert decide(None, old, unrecorded="rebuild").action == "rebuild"
    assert "older action2vec" in decide(None, old).reason
    assert decide(None, old, unrecorded="accept", finished=False).action == "resume"
    # another kind of artefact
    assert "index" in decide(Provenance("index"), old).reason
    # the JSON form reads back to the same decision
    assert decide(Provenance.from_json(json.loads(json.dumps(old.to_json()))), old).action == "reuse"
    assert Provenance.from_json(old.to_json()).digest() == old.digest() != _record(settings={}).digest()


def test_execution_only_settings_come_from_the_flag_where_they_are_declared():
    @dataclass
    class Inner:
        workers: int = option(0, "w", execution=True)
        size: int = option(1, "s")

    @dataclass
    class Outer:
        inner: Inner = None  # type: ignore[assignment]
        bar: bool = option(True, "b", execution=True)

    Outer.__annotations__["inner"] = Inner
    assert execution_keys(Outer) == {"inner.workers", "bar"}
    keys = execution_keys(RunConfig)
    assert {"train.num_workers", "train.compile", "train.devices", "train.progress_bar", "data.in_memory"} <= keys
    assert not keys & {"train.lr", "train.epochs", "train.seed", "train.precision", "model.variant", "data.text"}


def test_sketch_sees_one_class_and_not_noise():
    rng = np.random.default_rng(1)
    v = rng.standard_normal((30, 64))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    rec = Provenance("x", sketches={"label vectors": sketch(v)})
    assert decide(rec, Provenance("x", sketches={"label vectors": sketch(v + 1e-7)})).same
    moved = v.copy()
    moved[17] = -moved[17]
    assert not decide(rec, Provenance("x", sketches={"label vectors": sketch(moved)})).same


def test_file_digest_is_the_content_hash_and_sees_an_edit_of_the_same_size(tmp_path):
    f = tmp_path / "words.txt"
    f.write_bytes(b"abc 1 2\n")
    assert file_digest(f) == hashlib.sha256(b"abc 1 2\n").hexdigest()
    f.write_bytes(b"abd 1 2\n")  # same size
    assert file_digest(f) == hashlib.sha256(b"abd 1 2\n").hexdigest()


# --------------------------------------------------------------------------- the store's digest

N_CLASSES = 8


def _sampled(n: int) -> set[int]:
    """The positions the store digest read before it covered every video (8 evenly spaced)."""
    return {int(i) for i in np.linspace(0, n - 1, min(n, 8))}


def _edit_in_place(path: Path, i: int, rows: np.ndarray) -> None:
    """Overwrite video ``i``'s feature rows directly with h5py (bypassing every action2vec writer)."""
    with h5py.File(path, "r+") as f:
        off, n = int(f["index/offset"][i]), int(f["index/rows"][i])
        f["features"][off : off + n] = rows


def _rows(path: Path, i: int) -> np.ndarray:
    with h5py.File(path, "r") as f:
        off, n = int(f["index/offset"][i]), int(f["index/rows"][i])
        return f["features"][off : off + n]


def test_the_store_digest_covers_every_video_and_sees_an_in_place_edit(tmp_path):
    rng = np.random.default_rng(0)
    items = [(f"v{i:02d}", rng.standard_normal((4, 6)).astype(np.float32), 4, f"c{i % 3}") for i in range(30)]
    path = write_store(tmp_path / "s.h5", items, meta={"backbone": "test"})
    with h5py.File(path, "r") as f:  # every video's digest is the hash of its feature bytes, recorded at write time
        recorded = [d.decode() for d in f["index/digest"][()]]
    assert recorded == [hashlib.sha256(x[1].tobytes()).hexdigest()[:32] for x in items]
    store = open_store(path)
    before = store_digest(store)
    store.close()
    assert store_digest(open_store(path)) == before  # reopened, unchanged: the same (remembered, not recomputed)
    target = next(i for i in range(30) if i not in _sampled(30))
    _edit_in_place(path, target, _rows(path, target) + np.float32(0.5))
    after = store_digest(open_store(path))
    assert after != before
    _edit_in_place(path, target, items[target][1])  # back to the original bytes: the original digest
    assert store_digest(open_store(path)) == before
    # a copy elsewhere (another file state, nothing remembered for it) has the same content
    shutil.copy(path, tmp_path / "copy.h5")
    assert store_digest(open_store(tmp_path / "copy.h5")) == before


def test_a_store_written_before_digests_and_an_activitynet_file_are_hashed_once_per_file_state(tmp_path, monkeypatch):
    from action2vec.store.activitynet import ActivityNetStore
    from action2vec.store.hdf5 import FeatureStore

    rng = np.random.default_rng(1)
    items = [(f"v{i}", rng.standard_normal((3, 4)).astype(np.float32), 3, "a") for i in range(12)]
    path = write_store(tmp_path / "old.h5", items)
    with h5py.File(path, "r+") as f:  # as written before digests were kept
        del f["index/digest"]
        for name in ("features_digest", "content_digest"):
            del f.attrs[name]
    os.utime(path, (time.time() - 60, time.time() - 60))  # written a minute ago (a file just written is hashed again)
    old = store_digest(open_store(path))
    calls = []
    real = FeatureStore.compute_video_digests
    monkeypatch.setattr(FeatureStore, "compute_video_digests", lambda self: calls.append(1) or real(self))
    assert store_digest(open_store(path)) == old and not calls  # computed once, remembered for this file state
    _edit_in_place(path, 7, _rows(path, 7) * 2)
    assert store_digest(open_store(path)) != old and calls == [1]

    anet = tmp_path / "anet.h5"
    with h5py.File(anet, "w") as f:
        for i in range(10):
            f.create_dataset(f"v_{i:03d}/c3d_features", data=rng.standard_normal((5, 6)).astype(np.float32))
    first = store_digest(ActivityNetStore(anet))
    assert store_digest(ActivityNetStore(anet)) == first
    with h5py.File(anet, "r+") as f:
        f["v_004/c3d_features"][2, 1] += 1.0
    assert store_digest(ActivityNetStore(anet)) != first


# --------------------------------------------------------------------------- artefacts made from an edited store


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model trained on a synthetic store (16 videos per class, 12 steps each)."""
    root = tmp_path_factory.mktemp("prov")
    lv = synthetic_label_vectors(N_CLASSES, dim=8, seed=2)
    path = make_synthetic_store(root / "store.h5", lv, videos_per_class=16, steps=12, feature_dim=16, seed=2)
    run = root / "run"
    fit(_cfg("train.epochs=3"), run, store=open_store(path), label_vectors=lv)
    return {"root": root, "path": path, "lv": lv, "run": run}


def _cfg(*extra: str) -> RunConfig:
    return load_config(
        RunConfig,
        None,
        [
            "model.preset=tiny",
            "train.batch_size=32",
            "train.lr=3e-3",
            "train.progress_bar=false",
            "data.val_fraction=0",
            *extra,
        ],
    )


def _store_copy(trained, tmp_path: Path) -> Path:
    path = tmp_path / "store.h5"
    shutil.copy(trained["path"], path)
    return path


def _twin(path: Path) -> tuple[int, int]:
    """A video outside the 8 sampled positions and another video of another class with the same length."""
    store = open_store(path)
    n = len(store)
    for i in range(n):
        if i in _sampled(n):
            continue
        for j in range(n):
            if (
                store.labels[j] != store.labels[i]
                and store.lengths[j] == store.lengths[i]
                and store.rows[j] == store.rows[i]
            ):
                store.close()
                return i, j
    raise AssertionError("no pair")


def test_after_an_in_place_edit_index_rebuilds_and_search_by_key_answers_from_the_new_features(
    trained, tmp_path, capsys
):
    path = _store_copy(trained, tmp_path)
    out = tmp_path / "index"
    i, j = _twin(path)
    keys = open_store(path).keys

    def index() -> str:
        assert (
            main(["index", str(trained["run"]), "--store", str(path), "--out", str(out), "--embed.progress", "false"])
            == 0
        )
        capsys.readouterr()
        return (out / "index.json").read_text()

    def hits(key: str) -> list[dict]:
        assert main(["search", str(out), "--key", key, "--k", "3", "--json", "-"]) == 0
        return json.loads(capsys.readouterr().out)

    built = index()
    assert index() == built  # up to date: kept as it is
    assert not any(h["key"] == keys[j] and h["score"] > 0.9999 for h in hits(keys[i]))
    _edit_in_place(path, i, _rows(path, j))  # video i now holds video j's features
    assert index() != built  # rebuilt
    found = hits(keys[i])
    assert keys[j] in [h["key"] for h in found[:2]]
    assert next(h["score"] for h in found if h["key"] == keys[j]) == pytest.approx(1.0, abs=1e-5)


def test_train_refuses_to_resume_on_an_edited_store_naming_it(trained, tmp_path):
    path = _store_copy(trained, tmp_path)
    run = tmp_path / "run"
    store = open_store(path)
    fit(_cfg("train.epochs=1"), run, store=store, label_vectors=trained["lv"])
    store.close()
    (run / "result.json").unlink()  # killed after training, before its result
    i, j = _twin(path)
    _edit_in_place(path, i, _rows(path, j))
    with pytest.raises(ConfigError, match="the store changed") as err:
        fit(_cfg("train.epochs=1"), run, store=open_store(path), label_vectors=trained["lv"])
    assert str(path) in str(err.value)


def test_execution_only_settings_do_not_block_a_resume_and_a_result_setting_does(trained, tmp_path):
    path = trained["path"]
    run = tmp_path / "run"
    fit(_cfg("train.epochs=1"), run, store=open_store(path), label_vectors=trained["lv"])
    (run / "result.json").unlink()
    fit(
        _cfg(
            "train.epochs=2",
            "train.num_workers=1",
            "train.log_every_n_steps=3",
            "data.in_memory=no",
            "train.checkpoint_every_n_steps=2",
            "train.progress_bar=true",
        ),
        run,
        store=open_store(path),
        label_vectors=trained["lv"],
    )
    assert json.loads((run / "result.json").read_text())["global_step"] > 0
    (run / "result.json").unlink()
    with pytest.raises(ConfigError, match="train.lr=0.003 there, 0.01 now"):
        fit(_cfg("train.epochs=2", "train.lr=0.01"), run, store=open_store(path), label_vectors=trained["lv"])


class _FailBeforeTheFirstStep(Callback):
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        raise MemoryError("simulated: the model does not fit")


def test_a_run_that_failed_before_its_first_step_does_not_block_the_corrected_command(trained, tmp_path):
    run = tmp_path / "run"
    with pytest.raises(MemoryError):
        fit(
            _cfg("train.epochs=1", "model.dropout=0.4"),
            run,
            store=open_store(trained["path"]),
            label_vectors=trained["lv"],
            callbacks=[_FailBeforeTheFirstStep()],
        )
    assert not (run / "config.yaml").exists() and not (run / "provenance.json").exists()
    result = fit(
        _cfg("train.epochs=1", "model.dropout=0.1"), run, store=open_store(trained["path"]), label_vectors=trained["lv"]
    )
    assert result.global_step > 0
    record = json.loads((run / "provenance.json").read_text())
    assert record["settings"]["model.dropout"] == 0.1 and record["inputs"]["store"]["where"] == str(trained["path"])


def test_an_old_run_folder_without_a_record_is_checked_by_its_config(trained, tmp_path):
    """A run folder from before provenance.json (config.yaml + run_identity.json): its config is still compared."""
    run = tmp_path / "run"
    fit(_cfg("train.epochs=1"), run, store=open_store(trained["path"]), label_vectors=trained["lv"])
    (run / "provenance.json").unlink()
    (run / "result.json").unlink()
    with pytest.raises(ConfigError, match="model.dropout"):
        fit(
            _cfg("train.epochs=1", "model.dropout=0.4"),
            run,
            store=open_store(trained["path"]),
            label_vectors=trained["lv"],
        )
    fit(_cfg("train.epochs=1"), run, store=open_store(trained["path"]), label_vectors=trained["lv"])


def test_zsl_does_not_reuse_a_result_of_an_edited_store_and_the_pca_cache_is_fitted_again(trained, tmp_path):
    path = _store_copy(trained, tmp_path)
    lv = trained["lv"]
    split = random_splits(lv.names, ["50/50"], [0])[0]
    z = ZslConfig(ratios=["50/50"], seeds=1, variants=["pooled_krr"])
    jobs = plan_jobs("syn", path, [split], lv, z, RunConfig(), tmp_path / "z")
    run_zsl(jobs, tmp_path / "z", workers=1)
    run_zsl(plan_jobs("syn", path, [split], lv, z, RunConfig(), tmp_path / "z"), tmp_path / "z", workers=1)  # reused
    # the per-split PCA cache, fitted on the seen classes' training videos
    zp = ZslConfig(ratios=["50/50"], seeds=1, variants=["hrnn_attention"], pca_dim=4)
    pjob = plan_jobs("syn", path, [split], lv, zp, _cfg(), tmp_path / "p")[0]
    store = open_store(path)
    train_pos = store.indices_of_classes(split.seen)
    first = split_pca(pjob, store, train_pos)[1].projection.mean.copy()
    store.close()
    seen_video = int(train_pos[len(train_pos) // 2 + 1])
    assert seen_video not in _sampled(len(store))
    _edit_in_place(path, seen_video, _rows(path, seen_video) + np.float32(3.0))
    with pytest.raises(ConfigError, match="another configuration.*the store changed"):
        run_zsl(plan_jobs("syn", path, [split], lv, z, RunConfig(), tmp_path / "z"), tmp_path / "z", workers=1)
    pjob = plan_jobs("syn", path, [split], lv, zp, _cfg(), tmp_path / "p")[0]
    store = open_store(path)
    again = split_pca(pjob, store, train_pos)[1].projection.mean
    feats = [store.get(int(i)) for i in train_pos]
    naive = np.concatenate([f[:n] for f, n in feats]).mean(0)  # the PCA's mean: of the training videos' true steps
    np.testing.assert_allclose(again, naive, rtol=1e-4, atol=1e-4)
    assert not np.allclose(again, first, atol=1e-3)


def test_search_refuses_an_index_whose_store_was_edited_since_in_one_line(trained, tmp_path, capsys):
    """Before `index` is rerun, `search` answered from the old embeddings with exit 0: silently wrong."""
    path = _store_copy(trained, tmp_path)
    out = tmp_path / "index"
    i, j = _twin(path)
    keys = open_store(path).keys
    assert (
        main(["index", str(trained["run"]), "--store", str(path), "--out", str(out), "--embed.progress", "false"]) == 0
    )
    assert main(["search", str(out), "--key", keys[i], "--k", "3"]) == 0
    capsys.readouterr()
    _edit_in_place(path, i, _rows(path, j))
    assert main(["search", str(out), "--key", keys[i], "--k", "3"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and str(path) in err[0] and "changed since it was indexed" in err[0], err
    assert main(["search", str(out), "spin ball", "--k", "3"]) == 2  # a text query too
    capsys.readouterr()
