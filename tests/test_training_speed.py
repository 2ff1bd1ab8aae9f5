"""The fast training paths compute what the plain ones do: the LSTM cell's gate maths, fixed-shape batches,
the compiled forward (``train.compile``), batches streamed from the store instead of read into memory, and
the memory allowance that chooses between the two."""

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from torch.utils.data import DataLoader

from action2vec.config import load_config
from action2vec.errors import ConfigError
from action2vec.models.layers import lstm_cell
from action2vec.store import open_store, write_store
from action2vec.testing import make_synthetic_store, synthetic_label_vectors
from action2vec.training import RunConfig, fit, read_training_log
from action2vec.training.data import SequenceDataset, collate_sequences, should_load_in_memory


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """Videos of 12..24 steps, each stored with its own number of rows (as extraction writes videos of
    different durations), so that batches padded to their longest video differ in shape."""
    root = tmp_path_factory.mktemp("speed")
    lv = synthetic_label_vectors(20, dim=8, seed=3)
    # 18 videos per class, 2 held out: 320 training videos, 10 full batches of 32 (one compiled shape)
    padded = open_store(
        make_synthetic_store(root / "padded.h5", lv, videos_per_class=18, steps=24, feature_dim=32, seed=3)
    )
    feats = padded.read_many(range(len(padded)))
    path = write_store(
        root / "store.h5",
        [(k, f[:n], int(n), y) for k, f, n, y in zip(padded.keys, feats, padded.lengths, padded.labels)],
    )
    store = open_store(path)
    assert len(set(store.rows.tolist())) > 5
    return {"store": store, "lv": lv, "path": path}


def _cfg(*extra):
    return load_config(
        RunConfig,
        None,
        [
            "model.preset=tiny",
            "train.batch_size=32",
            "train.lr=3e-3",
            "train.progress_bar=false",
            "train.epochs=2",
            "train.log_every_n_steps=1",
            *extra,
        ],
    )


def _weights(run):
    return load_file(str(run / "model" / "model.safetensors"))


def _step_losses(run):
    return np.array([float(r["train/loss_step"]) for r in read_training_log(run) if r.get("train/loss_step")])


def _naive_cell(gates, h, c, valid):
    """Each gate written out on its own, in float64: PyTorch's order i, f, g, o."""
    hid = h.shape[1]
    i, f, g, o = (gates[:, k * hid : (k + 1) * hid] for k in range(4))
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_new = torch.sigmoid(o) * torch.tanh(c_new)
    keep = ~valid[:, None]
    return torch.where(keep, h, h_new), torch.where(keep, c, c_new)


def test_lstm_cell_follows_the_gate_equations_and_keeps_padded_rows():
    g = torch.Generator().manual_seed(0)
    gates = torch.randn(6, 4 * 5, generator=g, dtype=torch.float64) * 2
    h, c = torch.randn(6, 5, generator=g, dtype=torch.float64), torch.randn(6, 5, generator=g, dtype=torch.float64)
    valid = torch.tensor([True, False, True, True, False, True])
    got_h, got_c = lstm_cell(gates, h, c, valid)
    want_h, want_c = _naive_cell(gates, h, c, valid)
    torch.testing.assert_close(got_h, want_h, rtol=0, atol=1e-15)
    torch.testing.assert_close(got_c, want_c, rtol=0, atol=1e-15)
    assert torch.equal(got_h[~valid], h[~valid]) and torch.equal(got_c[~valid], c[~valid])


def test_fixed_step_batches_pad_without_changing_the_values():
    rng = np.random.default_rng(0)
    batch = [(rng.standard_normal((n, 3)).astype(np.float32), n - 1, y) for y, n in enumerate([4, 7, 2])]
    x, lengths, labels = collate_sequences(batch)
    x9, lengths9, labels9 = collate_sequences(batch, steps=9)
    assert x.shape == (3, 7, 3) and x9.shape == (3, 9, 3)
    assert torch.equal(x9[:, :7], x) and not x9[:, 7:].any()
    assert lengths9.tolist() == lengths.tolist() == [3, 6, 1] and labels9.tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="does not fit"):
        collate_sequences(batch, steps=6)


def test_the_memory_allowance_decides_what_is_read_into_memory(synthetic):
    store = synthetic["store"]
    idx = np.arange(len(store))
    need_gb = float(store.rows.sum()) * store.dim * 4 / (1 << 30)
    assert should_load_in_memory(store, idx, "auto", budget_gb=need_gb * 1.01)
    assert not should_load_in_memory(store, idx, "auto", budget_gb=need_gb * 0.99)
    assert should_load_in_memory(store, idx[:10], "auto", budget_gb=need_gb * 0.5)  # only the selection counts
    assert should_load_in_memory(store, idx, "yes", budget_gb=1e-9)
    assert not should_load_in_memory(store, idx, "no", budget_gb=1e3)


class CountingStore:
    """A store that records how many videos and rows each read asks for."""

    def __init__(self, store):
        self.inner, self.reads = store, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def __len__(self):
        return len(self.inner)

    def read_many(self, indices):
        self.reads.append((len(indices), int(self.inner.rows[np.asarray(indices)].sum())))
        return self.inner.read_many(indices)

    def get(self, i):
        self.reads.append((1, int(self.inner.rows[i])))
        return self.inner.get(i)


def test_a_streamed_dataset_reads_one_batch_at_a_time(synthetic):
    store = CountingStore(synthetic["store"])
    pos = np.arange(0, len(store), 2)
    ds = SequenceDataset(store, pos, {c: i for i, c in enumerate(store.classes)}, in_memory=False)
    assert store.reads == []  # nothing read up front
    loader = DataLoader(ds, batch_size=16, shuffle=True, collate_fn=collate_sequences)
    seen = [x for x, _, _ in loader]
    assert [n for n, _ in store.reads] == [len(x) for x in seen]  # one read per batch, of that batch's videos
    assert sum(r for _, r in store.reads) == int(store.rows[pos].sum())  # each video read once per epoch
    want = synthetic["store"].read_many(pos[:3])
    got = ds.__getitems__([0, 1, 2])
    for w, (f, n, y) in zip(want, got):
        assert np.array_equal(f, w)


def test_streamed_training_with_workers_equals_training_from_memory(synthetic, tmp_path):
    counting = CountingStore(synthetic["store"])
    fit(_cfg("data.in_memory=yes"), tmp_path / "memory", store=synthetic["store"], label_vectors=synthetic["lv"])
    fit(_cfg("data.in_memory=no"), tmp_path / "streamed", store=counting, label_vectors=synthetic["lv"])
    fit(
        _cfg("data.in_memory=no", "train.num_workers=2"),
        tmp_path / "workers",
        store=synthetic["store"],
        label_vectors=synthetic["lv"],
    )
    # the store is never read whole: every read is one batch (validation batches hold up to 64 videos)
    assert counting.reads and max(n for n, _ in counting.reads) <= 64 < len(counting)
    a = _weights(tmp_path / "memory")
    for run in ("streamed", "workers"):
        b = _weights(tmp_path / run)
        for k in a:
            torch.testing.assert_close(b[k], a[k], rtol=0, atol=0, msg=f"{run}: {k}")


@pytest.mark.slow
def test_compiled_training_follows_eager_training(synthetic, tmp_path):
    """The compiled forward (batches padded to all 24 steps, fused elementwise kernels) against eager (batches
    padded to their longest video).

    Inductor keeps the matmuls and reorders only elementwise maths and small reductions: here the losses agree
    to 1e-7 relative and the weights to 7e-6 after 20 Adam steps. The tolerance, 1e-4, is more than 10x that;
    a padding bug (videos moved to the end of the padded batch) is off by 0.26 relative from the first step.
    """
    fit(_cfg("data.device_cache=no"), tmp_path / "eager", store=synthetic["store"], label_vectors=synthetic["lv"])
    fit(
        _cfg("data.device_cache=no", "train.compile=default"),
        tmp_path / "compiled",
        store=synthetic["store"],
        label_vectors=synthetic["lv"],
    )
    eager, compiled = _step_losses(tmp_path / "eager"), _step_losses(tmp_path / "compiled")
    assert len(eager) == len(compiled) == 20
    np.testing.assert_allclose(compiled, eager, rtol=1e-4, atol=0)
    a, b = _weights(tmp_path / "eager"), _weights(tmp_path / "compiled")
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=1e-4, atol=1e-4, msg=k)


@pytest.mark.slow
def test_compiled_training_from_the_feature_bank_resumes_exactly(synthetic, tmp_path):
    from lightning.pytorch.callbacks import Callback

    class Crash(Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if trainer.global_step == 13:
                raise RuntimeError("simulated crash")

    cfg = _cfg(
        "train.compile=default", "data.device_cache=yes", "model.dropout=0.3", "train.checkpoint_every_n_steps=4"
    )
    fit(cfg, tmp_path / "straight", store=synthetic["store"], label_vectors=synthetic["lv"])
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(cfg, tmp_path / "run", store=synthetic["store"], label_vectors=synthetic["lv"], callbacks=[Crash()])
    fit(cfg, tmp_path / "run", store=synthetic["store"], label_vectors=synthetic["lv"])
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "run")
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=0, atol=0, msg=k)


def test_compile_without_a_compiler_is_one_line_before_anything_is_written(synthetic, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no g++, c++ or clang++ to be found
    with pytest.raises(ConfigError, match="'train.compile'.*C\\+\\+ compiler"):
        fit(_cfg("train.compile=default"), tmp_path / "run", store=synthetic["store"], label_vectors=synthetic["lv"])
    assert not (tmp_path / "run").exists()
