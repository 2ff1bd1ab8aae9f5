"""Training on stores the tests write: it learns, it resumes exactly, it refuses bad input cleanly."""

import json

import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import Callback
from safetensors.torch import load_file

from action2vec.cli.main import main
from action2vec.config import load_config
from action2vec.errors import ConfigError, DataError
from action2vec.inference import Action2Vec
from action2vec.store import open_store
from action2vec.testing import make_synthetic_store, synthetic_label_vectors, write_vectors_file
from action2vec.training import RunConfig, fit, read_training_log

N_CLASSES, SEEN = 20, 15


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("syn")
    lv = synthetic_label_vectors(N_CLASSES, dim=8, seed=3)
    path = make_synthetic_store(root / "store.h5", lv, videos_per_class=16, steps=24, feature_dim=32, seed=3)
    vec_file = write_vectors_file(lv, root / "vectors.npz")
    return {"store": open_store(path), "lv": lv, "path": path, "vectors": vec_file}


def _cfg(*extra):
    return load_config(
        RunConfig,
        None,
        [
            "model.preset=tiny",
            "train.batch_size=32",
            "train.lr=3e-3",
            "train.progress_bar=false",
            "train.epochs=12",
            *extra,
        ],
    )


def test_tiny_model_learns_seen_classes_and_transfers_to_unseen(synthetic, tmp_path):
    store, lv = synthetic["store"], synthetic["lv"]
    seen, unseen = lv.names[:SEEN], lv.names[SEEN:]
    result = fit(
        _cfg("data.classes=" + ",".join(seen), "train.epochs=15"), tmp_path / "run", store=store, label_vectors=lv
    )
    # only seen classes entered training
    assert {store.labels[store.index_of(k)] for k in result.train_keys + result.val_keys} <= set(seen)
    assert result.classes == sorted(seen)
    assert result.metrics["val/acc"] > 5 / SEEN  # chance is 1/15
    model = Action2Vec.load(result.model_dir)
    assert model.classes == sorted(seen)
    idx = store.indices_of_classes(unseen)
    emb = model.encode_store(store, idx)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)
    pred = np.array(unseen)[(emb @ model.encode_text(unseen).T).argmax(1)]
    zsl = float((pred == np.array([store.labels[i] for i in idx])).mean())
    assert zsl > 2 / len(unseen), zsl  # chance is 1/5
    # classify_features() agrees with the manual nearest-label computation
    feats = store.read_many(idx[:5])
    top = model.classify_features(feats, store.lengths[idx[:5]], unseen, top_k=2)
    assert [p.labels[0] for p in top] == list(pred[:5]) and all(p.scores[0] >= p.scores[1] for p in top)
    # logs and the final config are in the run folder
    assert (tmp_path / "run" / "config.yaml").is_file()
    assert any("train/loss_epoch" in row for row in read_training_log(tmp_path / "run"))


class _Crash(Callback):
    def __init__(self, at_epoch=None, at_step=None):
        self.at_epoch, self.at_step = at_epoch, at_step

    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch == self.at_epoch:
            raise RuntimeError("simulated crash")

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == self.at_step:
            raise RuntimeError("simulated crash")


def _weights(run):
    return load_file(str(run / "model" / "model.safetensors"))


def test_resume_at_epoch_boundary_gives_the_same_weights(synthetic, tmp_path):
    cfg = _cfg("train.epochs=4", "model.dropout=0.3")
    fit(cfg, tmp_path / "straight", store=synthetic["store"], label_vectors=synthetic["lv"])
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(
            cfg,
            tmp_path / "resumed",
            store=synthetic["store"],
            label_vectors=synthetic["lv"],
            callbacks=[_Crash(at_epoch=2)],
        )
    assert (tmp_path / "resumed" / "checkpoints" / "last.ckpt").is_file()
    assert not (tmp_path / "resumed" / "model").exists()
    fit(cfg, tmp_path / "resumed", store=synthetic["store"], label_vectors=synthetic["lv"])
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "resumed")
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)


def test_mid_epoch_crash_loses_only_steps_since_the_checkpoint(synthetic, tmp_path):
    cfg = _cfg("train.epochs=2", "train.checkpoint_every_n_steps=3")
    with pytest.raises(RuntimeError):
        fit(
            cfg,
            tmp_path / "run",
            store=synthetic["store"],
            label_vectors=synthetic["lv"],
            callbacks=[_Crash(at_step=8)],
        )
    ckpt = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["global_step"] == 6  # the last multiple of 3 before the crash at step 8
    fit(cfg, tmp_path / "run", store=synthetic["store"], label_vectors=synthetic["lv"])
    steps_per_epoch = int(np.ceil(len(json.loads((tmp_path / "run" / "result.json").read_text())["train_keys"]) / 32))
    assert json.loads((tmp_path / "run" / "result.json").read_text())["global_step"] == 2 * steps_per_epoch


def test_training_keys_outside_the_classes_are_refused(synthetic, tmp_path):
    store = synthetic["store"]
    seen = synthetic["lv"].names[:4]
    intruder = store.keys[store.indices_of_classes([synthetic["lv"].names[10]])[0]]
    cfg = _cfg("data.classes=" + ",".join(seen))
    with pytest.raises(DataError, match="outside the training classes"):
        fit(cfg, tmp_path / "run", store=store, label_vectors=synthetic["lv"], train_keys=[intruder])


def _train_cli(tmp_path, store, vectors, *extra):
    return main(
        [
            "train",
            "--out",
            str(tmp_path / "run"),
            "--data.store",
            str(store),
            "--data.text",
            f"vectors:{vectors}",
            "--model.preset",
            "tiny",
            "--train.epochs",
            "1",
            "--train.progress_bar",
            "false",
            *extra,
        ]
    )


def test_cli_train_then_classify(synthetic, tmp_path, capsys):
    assert _train_cli(tmp_path, synthetic["path"], synthetic["vectors"]) == 0
    out = tmp_path / "pred.json"
    key = synthetic["store"].keys[0]
    assert (
        main(
            [
                "classify",
                "--model",
                str(tmp_path / "run" / "model"),
                "--store",
                str(synthetic["path"]),
                "--keys",
                key,
                "--labels",
                "class001,class002,class003",
                "--top-k",
                "2",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    rows = json.loads(out.read_text())
    assert rows[0]["video"] == key and len(rows[0]["labels"]) == 2
    assert set(rows[0]["labels"]) <= {"class001", "class002", "class003"}


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) >= 1
    last = err[-1]
    for n in needles:
        assert n in last, last
    return last


def test_bad_input_gives_one_line_errors_and_overwrites_nothing(synthetic, tmp_path, capsys):
    import h5py

    from action2vec.store import StoreWriter

    # NaN features
    nan_store = tmp_path / "nan.h5"
    with StoreWriter(nan_store, meta={"backbone": "b"}) as w:
        for i in range(6):
            w.add(f"v{i}", np.ones((4, 32), np.float32), label=f"class00{i % 2}")
    with h5py.File(nan_store, "a") as f:
        f["features"][5, 3] = np.nan
    assert _train_cli(tmp_path, nan_store, synthetic["vectors"]) == 2
    _one_line_error(capsys, "NaN")
    assert not (tmp_path / "run").exists()
    # mismatched dims
    assert _train_cli(tmp_path, synthetic["path"], synthetic["vectors"], "--model.input_dim", "99") == 2
    _one_line_error(capsys, "input_dim=99", "32")
    # empty store (only failures)
    empty = tmp_path / "empty.h5"
    with StoreWriter(empty, meta={"backbone": "b"}) as w:
        w.add_failure("x", "corrupt")
    assert _train_cli(tmp_path, empty, synthetic["vectors"]) == 2
    _one_line_error(capsys, "no videos")
    # a class without a vector
    partial = tmp_path / "partial.npz"
    lv = synthetic["lv"]
    np.savez(partial, names=np.array(lv.names[1:]), vectors=lv.vectors[1:])
    assert _train_cli(tmp_path, synthetic["path"], partial) == 2
    _one_line_error(capsys, "class000")
    # unknown config key
    cfg = tmp_path / "c.yaml"
    cfg.write_text("train:\n  epochs: 1\n  learning_rate: 0.1\n")
    assert _train_cli(tmp_path, synthetic["path"], synthetic["vectors"], "--config", str(cfg)) == 2
    _one_line_error(capsys, "train.learning_rate")
    assert not (tmp_path / "run").exists()
    # an existing run with other settings is not overwritten
    assert _train_cli(tmp_path, synthetic["path"], synthetic["vectors"]) == 0
    before = (tmp_path / "run" / "config.yaml").read_text()
    assert _train_cli(tmp_path, synthetic["path"], synthetic["vectors"], "--train.lr", "0.5") == 2
    _one_line_error(capsys, "train.lr")
    assert (tmp_path / "run" / "config.yaml").read_text() == before


def test_help_lists_commands_and_documents_every_train_option(capsys):
    from dataclasses import fields

    from action2vec.config import to_dict

    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    for cmd in ("train", "classify", "store"):
        assert cmd in top
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for section, values in to_dict(RunConfig()).items():
        for key in values:
            assert f"--{section}.{key}" in text
    # every field has a help text
    for f in fields(RunConfig):
        for sub in fields(f.type if isinstance(f.type, type) else type(getattr(RunConfig(), f.name))):
            assert sub.metadata.get("help"), f"{f.name}.{sub.name} has no help"


def test_device_resident_feature_bank_trains_like_the_dataloader(synthetic, tmp_path):
    cfg = _cfg("train.epochs=2", "data.device_cache=no")
    fit(cfg, tmp_path / "loader", store=synthetic["store"], label_vectors=synthetic["lv"])
    cfg = _cfg("train.epochs=2", "data.device_cache=yes")
    fit(cfg, tmp_path / "bank", store=synthetic["store"], label_vectors=synthetic["lv"])
    a, b = _weights(tmp_path / "loader"), _weights(tmp_path / "bank")
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5)


def test_mid_epoch_resume_repeats_the_uninterrupted_run(synthetic, tmp_path):
    cfg = _cfg("train.epochs=2", "train.checkpoint_every_n_steps=3", "model.dropout=0.3")
    fit(cfg, tmp_path / "straight", store=synthetic["store"], label_vectors=synthetic["lv"])
    with pytest.raises(RuntimeError):
        fit(
            cfg,
            tmp_path / "run",
            store=synthetic["store"],
            label_vectors=synthetic["lv"],
            callbacks=[_Crash(at_step=4)],
        )
    fit(cfg, tmp_path / "run", store=synthetic["store"], label_vectors=synthetic["lv"])
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "run")
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)


def test_an_interrupted_run_resumes_only_on_the_same_videos_store_and_manifold(synthetic, tmp_path):
    """The run identity (training, validation and unlabelled videos, manifold settings, the store's content) is
    checked on resume: a transductive run must not be finished as a plain one, nor on other training videos."""
    store, lv = synthetic["store"], synthetic["lv"]
    seen = set(lv.names[:SEEN])
    train = [k for k, c in zip(store.keys, store.labels) if c in seen]
    unlabeled = [k for k, c in zip(store.keys, store.labels) if c not in seen]
    run = tmp_path / "run"
    cfg = _cfg("train.epochs=1")
    fit(cfg, run, store=store, label_vectors=lv, train_keys=train, unlabeled_keys=unlabeled)
    (run / "result.json").unlink()  # killed after training, before the result was written
    with pytest.raises(ConfigError, match="unlabelled"):
        fit(cfg, run, store=store, label_vectors=lv, train_keys=train)
    with pytest.raises(ConfigError, match="training videos"):
        fit(cfg, run, store=store, label_vectors=lv, train_keys=train[1:], unlabeled_keys=unlabeled)
    other = open_store(
        make_synthetic_store(tmp_path / "other.h5", lv, videos_per_class=16, steps=24, feature_dim=32, seed=4)
    )
    with pytest.raises(ConfigError, match="store"):
        fit(cfg, run, store=other, label_vectors=lv, train_keys=train, unlabeled_keys=unlabeled)
    fit(cfg, run, store=store, label_vectors=lv, train_keys=train, unlabeled_keys=unlabeled)  # the same run resumes


@pytest.mark.parametrize("key, value", [("precision", "foo"), ("accelerator", "tpu"), ("strategy", "fsdpx")])
def test_unknown_precision_accelerator_or_strategy_is_one_line(synthetic, tmp_path, capsys, key, value):
    assert _train_cli(tmp_path, synthetic["path"], synthetic["vectors"], f"--train.{key}", value) == 2
    _one_line_error(capsys, f"train.{key}", value)
    assert not (tmp_path / "run").exists()


def test_a_setting_lightning_refuses_is_a_config_error(synthetic, tmp_path):
    """What only the Trainer can judge (here: 3 devices on a 1-process CPU run under another layout) is a
    ConfigError naming the train settings, not Lightning's traceback."""
    with pytest.raises(ConfigError, match="train.accelerator"):
        fit(
            _cfg("train.accelerator=cpu", "train.devices=0,1", "train.epochs=1"),
            tmp_path / "run",
            store=synthetic["store"],
            label_vectors=synthetic["lv"],
        )
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("extra", [[], ["--train.checkpoint_every_n_steps", "1"]])
def test_rerunning_a_finished_run_keeps_its_result_and_model(synthetic, tmp_path, extra):
    """A finished run rerun with the same command trains nothing and rewrites nothing (it wiped the metrics).
    With step checkpoints the last one comes before the final validation: last.ckpt is saved again at the end."""
    assert _train_cli(tmp_path, synthetic["path"], synthetic["vectors"], *extra) == 0
    model_json = (tmp_path / "run" / "model" / "config.json").read_text()
    result_json = (tmp_path / "run" / "result.json").read_text()
    assert json.loads(model_json)["metrics"]
    assert _train_cli(tmp_path, synthetic["path"], synthetic["vectors"], *extra) == 0
    assert (tmp_path / "run" / "model" / "config.json").read_text() == model_json
    assert (tmp_path / "run" / "result.json").read_text() == result_json
    # killed after training, before result.json: the rerun trains nothing and keeps the metrics (from the checkpoint)
    (tmp_path / "run" / "result.json").unlink()
    assert _train_cli(tmp_path, synthetic["path"], synthetic["vectors"], *extra) == 0
    assert (
        json.loads((tmp_path / "run" / "model" / "config.json").read_text())["metrics"]
        == json.loads(model_json)["metrics"]
    )
    assert json.loads((tmp_path / "run" / "result.json").read_text())["metrics"] == json.loads(result_json)["metrics"]
    # more epochs continue the run, and its result is the new one
    assert _train_cli(tmp_path, synthetic["path"], synthetic["vectors"], *extra, "--train.epochs", "2") == 0
    assert (
        json.loads((tmp_path / "run" / "result.json").read_text())["global_step"]
        > json.loads(result_json)["global_step"]
    )
    # fewer epochs than the run has trained: refused in one line, nothing rewritten
    longer = (tmp_path / "run" / "model" / "config.json").read_text()
    config = (tmp_path / "run" / "config.yaml").read_text()
    for gone in (False, True):  # finished, or killed before result.json
        if gone:
            (tmp_path / "run" / "result.json").unlink()
        assert _train_cli(tmp_path, synthetic["path"], synthetic["vectors"], *extra) == 2
        assert (tmp_path / "run" / "model" / "config.json").read_text() == longer
        assert (tmp_path / "run" / "config.yaml").read_text() == config  # refused before anything is written
