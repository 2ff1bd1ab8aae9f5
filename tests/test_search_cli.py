"""``action2vec index`` and ``action2vec search`` end to end on small trained models: the results are the
model's own nearest videos, an interrupted index run resumes to the same index, bad input is one line."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from action2vec.cli.main import main
from action2vec.config import load_config
from action2vec.inference import Action2Vec
from action2vec.search import EmbedSettings, IndexSettings, VideoIndex, index_store
from action2vec.store import open_store
from action2vec.testing import make_synthetic_store, synthetic_label_vectors, write_vectors_file
from action2vec.training import RunConfig, fit


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A `train` run folder (model/ + config.yaml naming its store) of a tiny model on a synthetic store."""
    root = tmp_path_factory.mktemp("search")
    lv = synthetic_label_vectors(12, dim=8, seed=5)
    store = make_synthetic_store(root / "store.h5", lv, videos_per_class=10, steps=16, feature_dim=24, seed=5)
    vectors = write_vectors_file(lv, root / "vectors.npz")
    cfg = load_config(
        RunConfig,
        None,
        [
            "model.preset=tiny",
            "train.batch_size=32",
            "train.lr=3e-3",
            "train.progress_bar=false",
            "train.epochs=10",
            f"data.store={store}",
            f"data.text=vectors:{vectors}",
            "data.val_fraction=0",
        ],
    )
    fit(cfg, root / "run")
    return root / "run"


def _naive_hits(model_dir: Path, store_path: Path, query: np.ndarray, k: int) -> tuple[list[str], np.ndarray]:
    """Top-k keys and cosines by embedding every stored video and sorting all cosines."""
    model, store = Action2Vec.load(model_dir), open_store(store_path)
    emb = model.encode_store(store)
    cos = (emb / np.linalg.norm(emb, axis=1, keepdims=True)) @ (query / np.linalg.norm(query))
    order = np.argsort(-cos, kind="stable")[:k]
    return [store.keys[i] for i in order], cos[order]


def _json_out(capsys) -> list[dict]:
    return json.loads(capsys.readouterr().out)


def test_index_then_search_a_train_run_by_text_and_by_key(run, capsys):
    assert main(["index", str(run), "--embed.progress", "false", "--embed.batch_size", "7"]) == 0
    printed = capsys.readouterr().out
    assert f"index: {run / 'index'} (exact, 120 videos, 8-d" in printed
    assert main(["search", str(run), "class003", "--k", "5", "--json", "-"]) == 0
    hits = _json_out(capsys)
    model = Action2Vec.load(run / "model")
    keys, cos = _naive_hits(run / "model", run.parent / "store.h5", model.encode_text(["class003"])[0], 5)
    assert [h["key"] for h in hits] == keys and set(hits[0]) == {"key", "class", "score"}
    np.testing.assert_allclose([h["score"] for h in hits], cos, atol=1e-5)
    assert sum(h["class"] == "class003" for h in hits) >= 3  # the model learned something (chance: 5/12)
    # a stored video as the query: its neighbours, without itself
    assert main(["search", str(run / "index"), "--key", keys[0], "--k", "3", "--json", "-"]) == 0
    by_key = _json_out(capsys)
    store = open_store(run.parent / "store.h5")
    own = model.encode_store(store, [store.index_of(keys[0])])[0]
    naive_keys, _ = _naive_hits(run / "model", run.parent / "store.h5", own, 4)
    assert [h["key"] for h in by_key] == [k for k in naive_keys if k != keys[0]][:3]
    # the table goes to stdout when JSON goes to a file
    assert main(["search", str(run), "class003", "--k", "2", "--json", str(run / "hits.json")]) == 0
    assert "2 nearest of 120 videos" in capsys.readouterr().out
    assert json.loads((run / "hits.json").read_text()) == hits[:2]


def test_a_second_index_run_keeps_an_up_to_date_index(run, capsys):
    for kind in ("exact", "ivf_flat"):
        argv = ["index", str(run), "--embed.progress", "false", "--index.kind", kind]
        assert main(argv) == 0
        before = os.stat(run / "index" / "vectors.npy").st_mtime_ns
        assert main(argv) == 0
        assert os.stat(run / "index" / "vectors.npy").st_mtime_ns == before, kind
        assert VideoIndex.open(run / "index").kind == kind
    assert main(["index", str(run), "--embed.progress", "false", "--index.kind", "hnsw"]) == 0  # settings changed
    assert VideoIndex.open(run / "index").kind == "hnsw"
    assert main(["index", str(run), "--embed.progress", "false", "--force"]) == 0
    assert VideoIndex.open(run / "index").kind == "exact"


class _Crash(RuntimeError):
    pass


def test_an_interrupted_index_run_resumes_to_the_same_index(run, tmp_path):
    store = run.parent / "store.h5"
    embed = EmbedSettings(chunk_videos=25, batch_size=10, progress=False)
    whole = index_store(run / "model", store, tmp_path / "whole", settings=IndexSettings(kind="hnsw"), embed=embed)
    direct = Action2Vec.load(run / "model").encode_store(open_store(store))  # one pass, no chunks
    np.testing.assert_allclose(whole.vectors, direct / np.linalg.norm(direct, axis=1, keepdims=True), atol=1e-5)

    written: list[int] = []

    def crash_after_two(start: int) -> None:
        written.append(start)
        if len(written) == 2:
            raise _Crash("simulated crash")

    with pytest.raises(_Crash):
        index_store(
            run / "model",
            store,
            tmp_path / "resumed",
            settings=IndexSettings(kind="hnsw"),
            embed=embed,
            on_chunk=crash_after_two,
        )
    chunks = sorted(p.name for p in (tmp_path / "resumed" / "chunks").glob("chunk-*.npy"))
    assert chunks == ["chunk-0000000000.npy", "chunk-0000000025.npy"]
    assert not (tmp_path / "resumed" / "index.json").exists()
    written.clear()
    (tmp_path / "resumed" / ".building-killed").mkdir()  # the staging folder of a build that was killed
    resumed = index_store(
        run / "model",
        store,
        tmp_path / "resumed",
        settings=IndexSettings(kind="hnsw"),
        embed=embed,
        on_chunk=written.append,
    )
    assert written == [50, 75, 100]  # only the chunks the crash left undone
    assert not (tmp_path / "resumed" / "chunks").exists()
    assert not list((tmp_path / "resumed").glob(".building-*")) and not (tmp_path / "resumed.lock").exists()
    np.testing.assert_array_equal(resumed.vectors, whole.vectors)
    assert resumed.keys == whole.keys
    assert (tmp_path / "resumed" / "faiss.index").read_bytes() == (tmp_path / "whole" / "faiss.index").read_bytes()


def test_a_second_index_run_into_the_same_folder_is_refused_while_one_writes(run, tmp_path, capsys):
    import subprocess
    import sys

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from action2vec.store import StoreLock; "
            "StoreLock(sys.argv[1]).acquire(); print('held', flush=True); sys.stdin.readline()",
            str(tmp_path / "idx"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert (
            main(
                [
                    "index",
                    "--model",
                    str(run / "model"),
                    "--store",
                    str(run.parent / "store.h5"),
                    "--out",
                    str(tmp_path / "idx"),
                    "--embed.progress",
                    "false",
                ]
            )
            == 2
        )
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "is being written by another process" in err[0], err
        assert not (tmp_path / "idx" / "chunks").exists()
    finally:
        holder.communicate("\n", timeout=60)


def test_chunks_of_another_model_are_not_reused(run, tmp_path):
    other = tmp_path / "other_model"
    shutil.copytree(run / "model", other)
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps(config, indent=3))  # same model, another fingerprint
    embed = EmbedSettings(chunk_videos=50, progress=False)

    def crash(start: int) -> None:
        raise _Crash

    with pytest.raises(_Crash):
        index_store(run / "model", run.parent / "store.h5", tmp_path / "idx", embed=embed, on_chunk=crash)
    written: list[int] = []
    index_store(other, run.parent / "store.h5", tmp_path / "idx", embed=embed, on_chunk=written.append)
    assert written == [0, 50, 100]


def _rewrite(store: Path, seed: int) -> None:
    """Write the store again at the same path: the same keys in the same order and size, other features."""
    import h5py

    copy = store.with_name("rewritten.h5")
    shutil.copy(store, copy)
    with h5py.File(copy, "r+") as f:
        f["features"][...] += np.random.default_rng(seed).standard_normal(f["features"].shape).astype(np.float32)
    os.replace(copy, store)


def test_a_store_rewritten_at_the_same_path_is_embedded_again(run, tmp_path):
    """Same path, same keys, other features: neither the index nor the chunks of the old store are reused."""
    store = Path(shutil.copy(run.parent / "store.h5", tmp_path / "store.h5"))
    embed = EmbedSettings(chunk_videos=50, progress=False)
    before = np.array(index_store(run / "model", store, tmp_path / "idx", embed=embed).vectors)
    _rewrite(store, 1)
    rebuilt = index_store(run / "model", store, tmp_path / "idx", embed=embed)
    direct = Action2Vec.load(run / "model").encode_store(open_store(store))
    np.testing.assert_allclose(rebuilt.vectors, direct / np.linalg.norm(direct, axis=1, keepdims=True), atol=1e-5)
    assert not np.allclose(rebuilt.vectors, before, atol=1e-3)

    def crash(start: int) -> None:
        raise _Crash

    with pytest.raises(_Crash):  # one chunk of this store, then the store is rewritten
        index_store(run / "model", store, tmp_path / "idx2", embed=embed, on_chunk=crash)
    _rewrite(store, 2)
    written: list[int] = []
    index_store(run / "model", store, tmp_path / "idx2", embed=embed, on_chunk=written.append)
    assert written == [0, 50, 100]


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["search", "RUN", "class003", "--k", "0"], "--k: 0 is out of range (must be >= 1)"),
        (["search", "RUN"], "give exactly one query"),
        (["search", "RUN", "class003", "--key", "x"], "got QUERY, --key"),
        (["search", "RUN", "  "], "the query text is empty"),
        (["search", "RUN", "--video", "missing.mp4"], "--video: missing.mp4 not found"),
        (["search", "NOWHERE", "class003"], "NOWHERE: not found"),
        (["index", "RUN", "--index.exact_below", "-1"], "'index.exact_below': -1 is out of range (must be >= 0)"),
        (["index", "RUN", "--embed.batch_size", "0"], "'embed.batch_size': 0 is out of range (must be >= 1)"),
        (["index", "RUN", "--index.kind", "lsh"], "'index.kind': 'lsh' is not one of"),
        (["index", "NOWHERE"], "NOWHERE: run folder not found"),
        (["index", "--model", "RUN/model"], "give a run folder, or --model, --store and --out"),
    ],
)
def test_bad_settings_are_one_line_before_anything_is_written(run, tmp_path, capsys, argv, message):
    shutil.rmtree(run / "index", ignore_errors=True)
    argv = [a.replace("RUN", str(run)).replace("NOWHERE", str(tmp_path / "nowhere")) for a in argv]
    if argv[0] == "search":
        assert main(["index", str(run), "--embed.progress", "false"]) == 0
        capsys.readouterr()
    assert main(argv) == 2
    assert message.replace("NOWHERE", str(tmp_path / "nowhere")) in _error_line(capsys)
    if argv[0] == "index":
        assert not (run / "index").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--index.kind", "ivf_pq", "--index.pq_bytes", "7"],
            "'index.pq_bytes': 7 does not divide the embedding dim 8",
        ),
        (
            ["--index.kind", "hnsw"],
            "an approximate index (index.kind other than 'exact') needs the 'search' extra: "
            'pip install "action2vec[search]"',
        ),
    ],
)
def test_a_bad_rebuild_fails_before_embedding_and_keeps_the_index(run, capsys, monkeypatch, argv, message):
    shutil.rmtree(run / "index", ignore_errors=True)
    assert main(["index", str(run), "--embed.progress", "false"]) == 0
    capsys.readouterr()
    if "'search' extra" in message:
        monkeypatch.setitem(__import__("sys").modules, "faiss", None)  # as if FAISS were not installed
    assert main(["index", str(run), "--embed.progress", "false", *argv]) == 2
    assert message in _error_line(capsys)
    assert not (run / "index" / "chunks").exists()  # refused before any video was embedded
    assert VideoIndex.open(run / "index").kind == "exact"
    assert main(["search", str(run), "class003", "--k", "2"]) == 0


def test_a_damaged_or_foreign_index_is_refused_in_one_line(run, tmp_path, capsys):
    assert main(["index", str(run), "--out", str(tmp_path / "idx"), "--embed.progress", "false"]) == 0
    other = tmp_path / "other_model"
    shutil.copytree(run / "model", other)
    (other / "config.json").write_text((other / "config.json").read_text() + "\n")
    capsys.readouterr()
    assert main(["search", str(tmp_path / "idx"), "class003", "--model", str(other)]) == 2
    assert "made by another model" in _error_line(capsys)
    vectors = tmp_path / "idx" / "vectors.npy"
    vectors.write_bytes(vectors.read_bytes()[:-40])
    assert main(["search", str(tmp_path / "idx"), "class003"]) == 2
    assert f"{vectors}: " in _error_line(capsys)
    assert main(["search", str(run / "model"), "class003"]) == 2
    assert "no search index here" in _error_line(capsys)


def test_search_by_video_passes_the_backbone_weights_to_the_model(run, tmp_path, capsys, monkeypatch):
    """C3D and every backbone that needs weights: `search --video` takes --weights and loads the model with them."""
    assert main(["index", str(run), "--embed.progress", "false"]) == 0
    weights, video = tmp_path / "c3d.pickle", tmp_path / "clip.mp4"
    weights.write_bytes(b"weights")
    video.write_bytes(b"video")
    given = []
    real = Action2Vec.load.__func__

    def load(cls, model_dir, device="cpu", *, backbone_weights=None):
        given.append(backbone_weights)
        return real(cls, model_dir, device, backbone_weights=backbone_weights)

    monkeypatch.setattr(Action2Vec, "load", classmethod(load))
    capsys.readouterr()
    assert main(["search", str(run), "--video", str(video), "--weights", str(weights)]) == 2
    assert given == [str(weights)]
    assert "does not record how its features were made" in _error_line(capsys)  # the synthetic store's model


@pytest.mark.slow
def test_search_by_a_video_file_finds_that_video_first(toy_run, tmp_path, capsys):
    from action2vec.store import open_store

    run = tmp_path / "run"
    shutil.copytree(toy_run, run)  # the session's shared run folder must not get this test's index
    assert main(["index", str(run), "--embed.progress", "false"]) == 0
    store = open_store(toy_run.parent / "features.h5")
    i = store.labels.index("grow box") + 1
    video = store.source(i)["path"]
    capsys.readouterr()
    assert main(["search", str(run), "--video", video, "--k", "3", "--json", "-"]) == 0
    hits = _json_out(capsys)
    assert hits[0]["key"] == store.keys[i] and hits[0]["class"] == "grow box"
    assert hits[0]["score"] == pytest.approx(1.0, abs=1e-4)


SMALL_DEMO = [
    "--size",
    "quick",
    "--set",
    "toy.verbs=[slide, spin, grow, appear]",
    "--set",
    "toy.videos_per_class=3",
    "--set",
    "run.train.epochs=6",
]


@pytest.mark.slow
def test_demo_run_folder_needs_nothing_else(tmp_path, capsys):
    out = tmp_path / "demo_run"
    assert main(["demo", "--out", str(out), *SMALL_DEMO]) == 0
    capsys.readouterr()
    assert main(["index", str(out), "--embed.progress", "false"]) == 0
    assert f"index: {out / 'index'} (exact, 36 videos" in capsys.readouterr().out
    assert main(["search", str(out), "spin star", "--json", "-"]) == 0
    hits = _json_out(capsys)
    model = Action2Vec.load(out / "full" / "model")
    keys, cos = _naive_hits(out / "full" / "model", out / "features.h5", model.encode_text(["spin star"])[0], 10)
    assert [h["key"] for h in hits] == keys
    np.testing.assert_allclose([h["score"] for h in hits], cos, atol=1e-5)
    assert {h["class"] for h in hits} <= set(open_store(out / "features.h5").classes)


def test_a_model_trained_on_a_pca_store_indexes_its_raw_and_its_pca_store(tmp_path, capsys):
    """The paper's flow: train on a PCA'd store (the model keeps the PCA); index the raw and the PCA'd store."""
    from action2vec.store.pca import pca_store

    lv = synthetic_label_vectors(4, dim=8, seed=2)
    raw = make_synthetic_store(tmp_path / "raw.h5", lv, videos_per_class=5, steps=8, feature_dim=20, seed=2)
    reduced = pca_store(raw, tmp_path / "pca.h5", dim=6, fit_subset=None, fit_keys=open_store(raw).keys)
    vectors = write_vectors_file(lv, tmp_path / "v.npz")
    cfg = load_config(
        RunConfig,
        None,
        [
            "model.preset=tiny",
            "train.epochs=1",
            "train.progress_bar=false",
            f"data.store={reduced}",
            f"data.text=vectors:{vectors}",
            "data.val_fraction=0",
        ],
    )
    fit(cfg, tmp_path / "run")
    model = tmp_path / "run" / "model"
    assert (model / "pca.safetensors").is_file()
    for store, out in ((raw, tmp_path / "i_raw"), (reduced, tmp_path / "i_pca")):
        assert (
            main(
                ["index", "--model", str(model), "--store", str(store), "--out", str(out), "--embed.progress", "false"]
            )
            == 0
        ), capsys.readouterr().err
    capsys.readouterr()
    a, b = VideoIndex.open(tmp_path / "i_raw"), VideoIndex.open(tmp_path / "i_pca")
    q = Action2Vec.load(model).encode_text(["class001"])[0]
    assert [h.key for h in a.search(q[None], 5)[0]] == [h.key for h in b.search(q[None], 5)[0]]
