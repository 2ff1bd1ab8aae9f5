"""The search index: exact search equals a naive scan, approximate kinds find what exact search finds,
the automatic choice follows its threshold, and a damaged or foreign index is refused in one line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from action2vec.errors import ConfigError, DataError
from action2vec.search import IndexSettings, SearchHit, VideoIndex, build_index, choose_kind
from action2vec.search.synthetic import clustered_embeddings


def _naive_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k positions and cosines by a plain double loop over norms and a full argsort."""
    cos = np.empty((len(queries), len(vectors)))
    for i, q in enumerate(queries.astype(np.float64)):
        for j, v in enumerate(vectors.astype(np.float64)):
            cos[i, j] = float(q @ v) / (np.sqrt(q @ q) * np.sqrt(v @ v))
    order = np.argsort(-cos, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(cos, order, axis=1)


def _recall(hits: list[list[SearchHit]], truth: list[list[SearchHit]]) -> float:
    return float(np.mean([len({h.key for h in a} & {h.key for h in b}) / len(b) for a, b in zip(hits, truth)]))


@pytest.fixture(scope="module")
def clustered():
    x, labels, q, _ = clustered_embeddings(
        4000, dim=32, n_classes=40, classes_per_group=5, intrinsic_dim=6, seed=3, n_queries=60
    )
    keys = [f"video{i:05d}" for i in range(len(x))]
    return x, [f"class{c:02d}" for c in labels], q, keys


def test_exact_search_equals_a_naive_scan_of_unnormalised_rows(tmp_path):
    rng = np.random.default_rng(0)
    emb = rng.standard_normal((300, 12)).astype(np.float32) * rng.uniform(0.1, 5.0, (300, 1)).astype(np.float32)
    queries = rng.standard_normal((9, 12)).astype(np.float32) * 7.0
    keys = [f"v{i}" for i in range(300)]
    classes = [None if i % 4 == 0 else f"c{i % 5}" for i in range(300)]
    index = build_index(emb, keys, classes, tmp_path / "idx", settings=IndexSettings(kind="exact"))
    assert index.kind == "exact" and len(index) == 300 and index.dim == 12
    hits = index.search(queries, k=7)
    order, cos = _naive_top(emb, queries, 7)
    for row_hits, row_order, row_cos in zip(hits, order, cos):
        assert [h.key for h in row_hits] == [keys[j] for j in row_order]
        assert [h.class_ for h in row_hits] == [classes[j] for j in row_order]
        np.testing.assert_allclose([h.score for h in row_hits], row_cos, atol=1e-5)
    # k larger than the index returns every video once; a single (E,) query works too
    everything = index.search(queries[0], k=1000)[0]
    assert sorted(h.key for h in everything) == sorted(keys)
    assert [h.to_json() for h in hits[0][:1]] == [
        {"key": hits[0][0].key, "class": hits[0][0].class_, "score": hits[0][0].score}
    ]


def test_search_key_leaves_the_video_itself_out(tmp_path):
    rng = np.random.default_rng(1)
    emb = rng.standard_normal((50, 8)).astype(np.float32)
    index = build_index(emb, [f"v{i}" for i in range(50)], [""] * 50, tmp_path / "idx")
    hits = index.search_key("v7", k=5)
    order, _ = _naive_top(emb, emb[7:8], 6)
    assert [h.key for h in hits] == [f"v{j}" for j in order[0] if j != 7][:5]
    assert all(h.class_ is None for h in hits)
    with pytest.raises(DataError, match="'nope' is not in the index"):
        index.search_key("nope")


@pytest.mark.parametrize("kind", ["hnsw", "ivf_flat", "ivf_pq"])
def test_approximate_kinds_find_what_exact_search_finds(clustered, tmp_path, kind):
    x, classes, q, keys = clustered
    exact = build_index(x, keys, classes, tmp_path / "exact", settings=IndexSettings(kind="exact"))
    approx = build_index(x, keys, classes, tmp_path / kind, settings=IndexSettings(kind=kind, pq_bytes=8))
    assert approx.kind == kind and (tmp_path / kind / "faiss.index").is_file()
    truth, hits = exact.search(q, 10), approx.search(q, 10)
    assert _recall(hits, truth) >= 0.9
    # scores are the true cosines of the videos returned, best first
    position = {k: i for i, k in enumerate(keys)}
    for row, query in zip(hits, q):
        cos = x[[position[h.key] for h in row]] @ (query / np.linalg.norm(query))
        np.testing.assert_allclose([h.score for h in row], cos, atol=1e-4)
        assert [h.score for h in row] == sorted((h.score for h in row), reverse=True)
    # a reopened index answers the same
    again = VideoIndex.open(tmp_path / kind)
    assert [[h.key for h in r] for r in again.search(q[:5], 10)] == [[h.key for h in r] for r in hits[:5]]


def test_fewer_probes_find_less(clustered, tmp_path):
    x, classes, q, keys = clustered
    exact = build_index(x, keys, classes, tmp_path / "exact", settings=IndexSettings(kind="exact"))
    ivf = build_index(x, keys, classes, tmp_path / "ivf", settings=IndexSettings(kind="ivf_flat", nlist=64, nprobe=64))
    truth = exact.search(q, 10)
    assert _recall(ivf.search(q, 10), truth) == 1.0  # every list probed: exhaustive
    ivf.set_search_params(nprobe=1)
    assert _recall(ivf.search(q, 10), truth) < 1.0
    with pytest.raises(ConfigError, match="nprobe"):
        ivf.set_search_params(nprobe=0)


def test_automatic_choice_follows_the_threshold(tmp_path):
    settings = IndexSettings(exact_below=100)
    assert choose_kind(100, settings) == "exact" and choose_kind(101, settings) == "ivf_flat"
    assert choose_kind(10**9, IndexSettings(kind="exact")) == "exact"
    rng = np.random.default_rng(2)
    for n, kind in ((100, "exact"), (101, "ivf_flat")):
        emb = rng.standard_normal((n, 8)).astype(np.float32)
        index = build_index(emb, [str(i) for i in range(n)], [""] * n, tmp_path / str(n), settings=settings)
        assert index.kind == kind
        assert (tmp_path / str(n) / "faiss.index").is_file() == (kind == "ivf_flat")
        doc = json.loads((tmp_path / str(n) / "index.json").read_text())
        assert doc["kind"] == kind and doc["settings"]["exact_below"] == 100 and doc["count"] == n


def test_bad_input_is_refused_before_anything_is_written(tmp_path):
    emb = np.ones((3, 4), np.float32)
    with pytest.raises(DataError, match="3 embeddings but 2 keys"):
        build_index(emb, ["a", "b"], ["", "", ""], tmp_path / "a")
    with pytest.raises(DataError, match="not unique"):
        build_index(emb, ["a", "a", "b"], ["", "", ""], tmp_path / "b")
    with pytest.raises(DataError, match="NaN"):
        build_index(emb * np.nan, ["a", "b", "c"], ["", "", ""], tmp_path / "c")
    with pytest.raises(ConfigError, match="exact_below"):
        build_index(emb, ["a", "b", "c"], ["", "", ""], tmp_path / "d", settings=IndexSettings(exact_below=-1))
    assert not any((tmp_path / n).exists() for n in "abcd")


def test_a_failed_build_leaves_the_index_there_as_it_was(tmp_path, monkeypatch):
    import faiss

    rng = np.random.default_rng(5)
    emb = rng.standard_normal((60, 8)).astype(np.float32)
    keys = [f"v{i}" for i in range(60)]
    build_index(emb, keys, [""] * 60, tmp_path / "idx", settings=IndexSettings(kind="exact"))
    before = {p.name: p.read_bytes() for p in (tmp_path / "idx").iterdir()}

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(faiss, "write_index", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        build_index(emb[::-1], keys, [""] * 60, tmp_path / "idx", settings=IndexSettings(kind="hnsw"))
    assert {p.name: p.read_bytes() for p in (tmp_path / "idx").iterdir()} == before
    assert VideoIndex.open(tmp_path / "idx").kind == "exact"


@pytest.fixture()
def small_index(tmp_path):
    rng = np.random.default_rng(4)
    emb = rng.standard_normal((200, 16)).astype(np.float32)
    keys = [f"v{i}" for i in range(200)]
    build_index(emb, keys, [""] * 200, tmp_path / "hnsw", settings=IndexSettings(kind="hnsw"), model_fingerprint="abc")
    build_index(
        emb, keys, [""] * 200, tmp_path / "exact", settings=IndexSettings(kind="exact"), model_fingerprint="abc"
    )
    return tmp_path


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_index_of_another_model_or_dim_is_refused(small_index):
    with pytest.raises(DataError, match="made by another model") as exc:
        VideoIndex.open(small_index / "exact", model_fingerprint="xyz")
    assert "index.json" in _one_line(exc)
    index = VideoIndex.open(small_index / "exact", model_fingerprint="abc")
    with pytest.raises(DataError, match=r"do not match the index's 16-d") as exc:
        index.search(np.ones((1, 300), np.float32))
    _one_line(exc)
    with pytest.raises(ConfigError, match="k: 0"):
        index.search(np.ones(16, np.float32), k=0)


@pytest.mark.parametrize(
    "damage",
    [
        "truncate_vectors",
        "garble_faiss",
        "truncate_faiss",
        "drop_videos",
        "bad_json",
        "no_json",
        "other_format",
        "wrong_count",
    ],
)
def test_a_damaged_index_is_refused_in_one_line_naming_the_file(small_index, damage):
    kind = "hnsw" if "faiss" in damage else "exact"
    folder = small_index / kind
    file = {
        "truncate_vectors": "vectors.npy",
        "garble_faiss": "faiss.index",
        "truncate_faiss": "faiss.index",
        "drop_videos": "videos.json",
    }.get(damage, "index.json")
    path = folder / file
    data = path.read_bytes()
    if damage.startswith("truncate"):
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garble_faiss":
        path.write_bytes(b"\0" * len(data))
    elif damage == "drop_videos":
        doc = json.loads(data)
        text = json.dumps({"keys": doc["keys"][:-1], "classes": doc["classes"][:-1]}, indent=1) + "\n"
        path.write_text(text.ljust(len(data) - 1) + "\n")  # same size: only the content check can see it
    elif damage == "bad_json":
        path.write_text("{not json")
    elif damage == "no_json":
        path.unlink()
    elif damage == "other_format":
        path.write_text(json.dumps({**json.loads(data), "format": "something-else"}))
    elif damage == "wrong_count":
        path.write_text(json.dumps({**json.loads(data), "count": 201}))
        path = folder / "vectors.npy"  # the first file that disagrees with the record
    with pytest.raises(DataError) as exc:
        VideoIndex.open(folder)
    assert str(path if damage != "no_json" else folder) in _one_line(exc)
