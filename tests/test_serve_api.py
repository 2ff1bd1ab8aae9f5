"""The explorer's JSON API through FastAPI's test client, on a small model trained on real toy videos: results
equal a naive computation (class means, cosine, the project's analogy test), previews come only from the
folders the server was given, and every bad input is a one-line JSON error."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the explorer needs the serve extra: pip install -e '.[serve]'")
pytest.importorskip("httpx", reason="FastAPI's test client needs httpx")

from fastapi.testclient import TestClient  # noqa: E402

from action2vec.inference import Action2Vec  # noqa: E402
from action2vec.serve import Explorer, ServeSettings, VideoFiles, explorer_paths, video_root  # noqa: E402
from action2vec.serve.app import create_app  # noqa: E402
from action2vec.store import StoreWriter, open_store  # noqa: E402

MAP_VIDEOS = 7


@pytest.fixture(scope="module")
def explorer(toy_run):
    explorer = Explorer.open(explorer_paths(toy_run), ServeSettings(map_videos=MAP_VIDEOS, preview_frames=5))
    yield explorer
    explorer.close()


@pytest.fixture(scope="module")
def client(explorer):
    with TestClient(create_app(explorer), base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def naive(toy_run):
    """Everything computed directly from the model and the store, the way the paper defines it."""
    model = Action2Vec.load(toy_run / "model")
    store = open_store(toy_run.parent / "features.h5")
    emb = model.encode_store(store)
    emb = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    classes = sorted(set(store.labels))
    means = np.stack([emb[[i for i, c in enumerate(store.labels) if c == name]].mean(axis=0) for name in classes])
    means = means / np.linalg.norm(means, axis=1, keepdims=True)
    return {"model": model, "store": store, "emb": emb, "classes": classes, "means": means}


def _ranked(scores: np.ndarray, names: list[str], k: int, leave_out: set[str] = frozenset()) -> list[tuple[str, float]]:
    pairs = sorted(((float(s), n) for s, n in zip(scores, names) if n not in leave_out), key=lambda p: -p[0])
    return [(n, s) for s, n in pairs[:k]]


def _error(response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and "\n" not in body["error"] and "Traceback" not in body["error"]
    return body["error"]


def test_search_gives_the_nearest_class_means_and_videos(client, naive):
    doc = client.get("/api/search", params={"q": "spin ball", "k": 4}).json()
    q = naive["model"].encode_text(["spin ball"])[0]
    want_classes = _ranked(naive["means"] @ q, naive["classes"], 4)
    assert [(c["class"], pytest.approx(c["score"], abs=1e-5)) for c in doc["classes"]] == want_classes
    assert doc["classes"][0]["class"] == "spin ball"  # the model learned the toy classes
    want_videos = _ranked(naive["emb"] @ q, list(naive["store"].keys), 4)
    assert [(v["key"], pytest.approx(v["score"], abs=1e-5)) for v in doc["videos"]] == want_videos
    assert all(v["preview"] == "/api/preview?key=" + v["key"].replace("/", "%2F") for v in doc["videos"])
    assert doc["query"] == {"text": "spin ball"} and doc["classes"][0]["videos"] == 3


def test_neighbours_of_a_class_and_of_a_video_leave_it_out(client, naive):
    doc = client.get("/api/neighbours", params={"class": "grow box", "k": 3}).json()
    own = naive["means"][naive["classes"].index("grow box")]
    assert [c["class"] for c in doc["classes"]] == [
        n for n, _ in _ranked(naive["means"] @ own, naive["classes"], 3, {"grow box"})
    ]
    key = naive["store"].keys[0]
    doc = client.get("/api/neighbours", params={"key": key, "k": 5}).json()
    vec = naive["emb"][0]
    keys = list(naive["store"].keys)
    assert [v["key"] for v in doc["videos"]] == [n for n, _ in _ranked(naive["emb"] @ vec, keys, 5, {key})]
    assert [c["class"] for c in doc["classes"]][:2] == [
        n for n, _ in _ranked(naive["means"] @ vec, naive["classes"], 2)
    ]
    assert "unknown class 'dance'" in _error(client.get("/api/neighbours", params={"class": "dance"}), 404)
    assert "unknown video" in _error(client.get("/api/neighbours", params={"key": "nope.mp4"}), 404)
    assert "exactly one" in _error(client.get("/api/neighbours"), 400)


def test_analogy_answers_as_the_projects_analogy_test(client, naive):
    """For every analogy test of the classes, the page's A - B + C gives the class the test finds nearest."""
    from action2vec.evaluation.analogy import analogy_pairs, analogy_test
    from action2vec.experiments.semantic import embed_nouns
    from action2vec.text import normalize_labels

    classes = naive["classes"]
    pairs = analogy_pairs(normalize_labels(classes))
    assert len(pairs) == 6  # 3 verbs x (ball, box) in both directions
    result = analogy_test(naive["means"], embed_nouns(pairs, "minilm"), pairs, classes, n_examples=2 * len(pairs))
    assert len(result.examples) == len(pairs)
    for example in result.examples:
        doc = client.get("/api/analogy", params={"a": example.query, "b": example.minus, "c": example.plus}).json()
        assert doc["classes"][0]["class"] == example.nearest, example
        assert doc["left_out"] == [example.query]
        assert [t["kind"] for t in doc["terms"]] == ["class", "text", "text"]
    # the score is the cosine of the unit-normalised A - B + C with the class mean
    model = naive["model"]
    a = naive["means"][classes.index("spin ball")]
    b, c = model.encode_text(["ball", "box"])
    q = (a - b + c) / np.linalg.norm(a - b + c)
    doc = client.get("/api/analogy", params={"a": "spin ball", "b": "ball", "c": "box", "k": 5}).json()
    assert [(h["class"], pytest.approx(h["score"], abs=1e-5)) for h in doc["classes"]] == _ranked(
        naive["means"] @ q, classes, 5, {"spin ball"}
    )
    assert "term B is empty" in _error(client.get("/api/analogy", params={"a": "spin ball", "b": " ", "c": "x"}), 400)


def test_analogy_embeds_nouns_as_the_analogy_test_does(client, naive):
    """B and C are nouns: embedded as the test's T(noun) (the raw text, no prompts, no label normalisation), so
    a two-word noun ("punching bag", which a label text would read as "punch bag") answers as the test does."""
    from action2vec.evaluation.analogy import AnalogyPair, analogy_test
    from action2vec.experiments.semantic import embed_nouns

    classes = naive["classes"]
    pair = AnalogyPair(classes.index("spin ball"), classes.index("spin box"), "spin", "punching bag", "box")
    nouns = embed_nouns([pair], "minilm")
    result = analogy_test(naive["means"], nouns, [pair], classes, n_examples=1)
    doc = client.get("/api/analogy", params={"a": "spin ball", "b": "punching bag", "c": "box", "k": 5}).json()
    assert doc["classes"][0]["class"] == result.examples[0].nearest
    a, b, c = naive["means"][pair.a], *(v / np.linalg.norm(v) for v in (nouns["punching bag"], nouns["box"]))
    q = (a - b + c) / np.linalg.norm(a - b + c)
    assert [(h["class"], pytest.approx(h["score"], abs=1e-5)) for h in doc["classes"]] == _ranked(
        naive["means"] @ q, classes, 5, {"spin ball"}
    )


def test_analogy_nouns_share_one_text_embedder(toy_run, monkeypatch):
    """Each new noun is embedded with one embedder built once (a word2vec file takes a minute to read), not one
    per request."""
    import action2vec.serve.explorer as explorer_module

    made = []
    real = explorer_module.create_embedder
    monkeypatch.setattr(explorer_module, "create_embedder", lambda *a, **k: made.append(a) or real(*a, **k))
    fresh = Explorer.open(explorer_paths(toy_run), ServeSettings(map_videos=MAP_VIDEOS, preview_frames=5))
    try:
        with TestClient(create_app(fresh), base_url="http://127.0.0.1") as c:
            for b, cc in (("ball", "box"), ("kettle", "drum"), ("lamp", "ball")):
                assert c.get("/api/analogy", params={"a": "spin ball", "b": b, "c": cc}).status_code == 200
    finally:
        fresh.close()
    assert len(made) == 1


def test_the_map_lays_out_class_means_and_a_sample_of_videos(client, naive):
    doc = client.get("/api/map").json()
    points = doc["points"]
    assert doc["method"] == "tsne" and len(points) == len(naive["classes"]) + MAP_VIDEOS
    assert [p["name"] for p in points if p["kind"] == "class"] == naive["classes"]
    videos = [p for p in points if p["kind"] == "video"]
    assert len({p["class"] for p in videos}) == len(naive["classes"])  # classes in turn: 7 videos span all 6
    assert all(p["class"] == naive["store"].labels[naive["store"].index_of(p["name"])] for p in videos)
    xy = np.array([(p["x"], p["y"]) for p in points])
    assert xy.min() == pytest.approx(0.0) and xy.max() == pytest.approx(1.0) and np.isfinite(xy).all()


def test_previews_are_animated_images_made_once(client, naive, monkeypatch):
    from PIL import Image

    from action2vec.serve import previews

    made = []
    real = previews.video_preview
    monkeypatch.setattr(previews, "video_preview", lambda *a, **kw: made.append(a) or real(*a, **kw))
    key = naive["store"].keys[3]
    first = client.get("/api/preview", params={"key": key})
    assert first.status_code == 200 and first.headers["content-type"] in ("image/webp", "image/gif")
    image = Image.open(io.BytesIO(first.content))
    assert image.n_frames == 5 and max(image.size) <= 64  # 5 frames, never scaled above the 64-px video
    for _ in range(3):
        assert client.get("/api/preview", params={"key": key}).content == first.content
    assert len(made) == 1


def test_the_server_reads_no_path_a_request_names(client, toy_run):
    video = next((toy_run.parent / "toy" / "videos").rglob("*.mp4"))
    for key in ("../../../../etc/passwd", "/etc/passwd", str(video), "videos/../features.h5"):
        assert "unknown video" in _error(client.get("/api/preview", params={"key": key}), 404)
    for name in ("..%2F..%2Fetc%2Fpasswd", "index.html", "..%2Fapp.py"):
        _error(client.get(f"/static/{name}"), 404)
    assert client.get("/static/app.js").status_code == 200


def test_previews_only_from_the_folders_given(client, explorer, naive, tmp_path, monkeypatch):
    """The same store served with only an unrelated folder allowed: no preview is offered or served."""
    monkeypatch.setattr(explorer, "files", VideoFiles(naive["store"], [tmp_path]))
    doc = client.get("/api/search", params={"q": "spin ball", "k": 3}).json()
    assert [v["preview"] for v in doc["videos"]] == [None] * 3
    key = doc["videos"][0]["key"]
    assert "outside the folders" in _error(client.get("/api/preview", params={"key": key}), 404)


def _store_with_paths(path: Path, recorded: dict[str, str]) -> Path:
    with StoreWriter(path, meta={"backbone": "synthetic"}) as writer:
        for key, file in recorded.items():
            writer.add(key, np.zeros((2, 3), np.float32), length=2, label="x", source={"path": file})
    return path


def test_recorded_paths_that_lead_out_are_refused(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (root / "sub" / "in.mp4").write_bytes(b"in")
    (outside / "out.mp4").write_bytes(b"out")
    (root / "sub" / "link_out.mp4").symlink_to(outside / "out.mp4")
    (root / "sub" / "link_in.mp4").symlink_to(root / "sub" / "in.mp4")
    (root / "escape").symlink_to(outside, target_is_directory=True)
    store = open_store(
        _store_with_paths(
            root / "s.h5",
            {
                "in": str(root / "sub" / "in.mp4"),
                "relative": "sub/in.mp4",
                "dotdot": "../outside/out.mp4",
                "inside_dotdot": str(root / "sub" / ".." / ".." / "outside" / "out.mp4"),
                "absolute": str(outside / "out.mp4"),
                "link_out": str(root / "sub" / "link_out.mp4"),
                "link_in": str(root / "sub" / "link_in.mp4"),
                "dir_link": str(root / "escape" / "out.mp4"),
                "missing": str(root / "sub" / "gone.mp4"),
            },
        )
    )
    files = VideoFiles(store, [root])
    assert files.path("in") == files.path("relative") == files.path("link_in") == (root / "sub" / "in.mp4").resolve()
    for key in ("dotdot", "inside_dotdot", "absolute", "link_out", "dir_link"):
        with pytest.raises(Exception, match="outside the folders"):
            files.path(key)
    with pytest.raises(Exception, match="not on disk"):
        files.path("missing")
    assert not files.exists("nope") and files.exists("in")
    assert video_root(store) == tmp_path  # the folder every recorded path shares
    wide = open_store(_store_with_paths(tmp_path / "w.h5", {"a": "/a.mp4", "b": str(root / "b.mp4")}))
    assert video_root(wide) is None  # "/" would open the whole disk


def test_upload_ranks_label_texts_by_cosine(client, naive, toy_run):
    video = toy_run.parent / "toy" / "videos" / "grow_box" / "grow_box_001.mp4"
    up = client.post(
        "/api/upload",
        params={"name": "my clip.mp4", "k": 3},
        content=video.read_bytes(),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert up.status_code == 200, up.text
    doc = up.json()
    assert doc["name"] == "my clip.mp4" and doc["videos"][0]["key"] == "videos/grow_box/grow_box_001.mp4"
    assert doc["videos"][0]["score"] == pytest.approx(1.0, abs=1e-4)  # the same file: the same embedding
    labels = ["spin ball", "a box getting bigger", "grow box", "slide ball", "spin ball"]
    ranked = client.post("/api/rank", json={"upload": doc["upload"], "labels": labels}).json()["ranking"]
    model = naive["model"]
    emb = model.encode_video([video])[0]
    unique = list(dict.fromkeys(labels))
    want = _ranked(model.encode_text(unique) @ emb, unique, len(unique))
    assert [(r["label"], pytest.approx(r["score"], abs=1e-5)) for r in ranked] == want
    assert ranked[0]["label"] == "grow box"
    assert "no label texts" in _error(client.post("/api/rank", json={"upload": doc["upload"], "labels": [" "]}), 400)
    assert "unknown upload" in _error(client.post("/api/rank", json={"upload": "x", "labels": ["a"]}), 404)


def test_a_malformed_json_body_is_invalid_json_not_a_decode_error_position(client):
    for body, at in ((b'{"upload": "x", "labels": [', 27), (b"not json", 0)):
        message = _error(client.post("/api/rank", content=body, headers={"Content-Type": "application/json"}), 400)
        assert message == f"invalid JSON body: Expecting value (at character {at})", message


def test_bad_uploads_are_one_line_errors(client, explorer, monkeypatch):
    octet = {"Content-Type": "application/octet-stream"}
    message = _error(
        client.post("/api/upload", params={"name": "notes.txt"}, content=b"not a video at all", headers=octet), 400
    )
    assert message.startswith("notes.txt: not a readable video (cannot open")
    notes = b"A page of notes about the videos, long enough for FFmpeg's teletype demuxer.\n" * 40
    message = _error(client.post("/api/upload", params={"name": "notes.txt"}, content=notes, headers=octet), 400)
    assert message == "notes.txt: not a video (format tty: text, which FFmpeg would render as frames)"
    assert "empty" in _error(client.post("/api/upload", content=b"", headers=octet), 400)
    assert "not as a form" in _error(client.post("/api/upload", files={"f": ("a.mp4", b"x")}), 415)
    monkeypatch.setattr(explorer.settings, "max_upload_mb", 0.01)  # 10 KiB
    big = b"\0" * 20_000
    assert "more than the 0.01 MiB limit" in _error(
        client.post("/api/upload", params={"name": "big.mp4"}, content=big, headers=octet), 413
    )
    chunks = (big[i : i + 4096] for i in range(0, len(big), 4096))  # no Content-Length: counted as it streams
    assert "limit" in _error(client.post("/api/upload", content=chunks, headers=octet), 413)


def test_every_error_is_one_line_of_json(client, explorer, monkeypatch):
    assert "the query is empty" in _error(client.get("/api/search", params={"q": "  "}), 400)
    assert _error(client.get("/api/search"), 400).startswith("q:")
    assert _error(client.get("/api/search", params={"q": "x", "k": 0}), 400).startswith("k:")
    assert "no such page" in _error(client.get("/api/nothing"), 404)
    assert "answers requests for" in _error(client.get("/api/info", headers={"Host": "evil.example"}), 400)

    def bug(*args, **kwargs):
        raise RuntimeError("secret detail /etc/x")

    monkeypatch.setattr(explorer, "search_text", bug)
    message = _error(client.get("/api/search", params={"q": "x"}), 500)
    assert "RuntimeError" in message and "secret" not in message


def test_the_page_and_its_files_are_served(client, explorer):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for src in ("/static/app.js", "/static/style.css"):
        assert src in page.text and client.get(src).status_code == 200
    assert "http" not in page.text.replace("http-equiv", "")  # nothing from the network
    info = client.get("/api/info").json()
    assert info["videos"] == 18 and info["classes"] == 6 and info["text"] == "minilm"
    assert info["max_upload_bytes"] == int(explorer.settings.max_upload_mb * 2**20)
    assert "built at start-up" in info["index"]["source"]
    assert [c["videos"] for c in client.get("/api/classes").json()] == [3] * 6
    json.dumps(info)


def test_previews_of_a_run_made_in_a_relative_folder(toy_run, tmp_path, monkeypatch):
    """`action2vec demo --out demo_run` then `serve demo_run`: the videos were listed and extracted relative
    to the working folder; served from there and from another folder, every preview is found."""
    from action2vec.video.backbones import create_backbone
    from action2vec.video.config import ClipConfig, ComputeConfig, ExtractConfig
    from action2vec.video.extract import extract_videos, read_video_list

    videos = sorted((toy_run.parent / "toy" / "videos").rglob("*.mp4"))[:2]
    (tmp_path / "demo_run" / "toy").mkdir(parents=True)
    for video in videos:
        (tmp_path / "demo_run" / "toy" / video.name).write_bytes(video.read_bytes())
    (tmp_path / "demo_run" / "toy" / "list.txt").write_text("".join(f"{v.name} spin ball\n" for v in videos))
    monkeypatch.chdir(tmp_path)
    extract_videos(
        read_video_list("demo_run/toy/list.txt"),
        "demo_run/features.h5",
        create_backbone("motion"),
        ExtractConfig(
            video=ClipConfig(fps=12.0, duration=3.0, stride=4), compute=ComputeConfig(workers=0, progress=False)
        ),
    )
    for where in (tmp_path, tmp_path / "demo_run"):
        monkeypatch.chdir(where)
        store = tmp_path / "demo_run" / "features.h5" if where != tmp_path else Path("demo_run/features.h5")
        paths = explorer_paths(model=toy_run / "model", store=store)
        explorer = Explorer.open(paths, ServeSettings(map_videos=0, preview_frames=2))
        try:
            with TestClient(create_app(explorer), base_url="http://127.0.0.1") as client:
                doc = client.get("/api/search", params={"q": "spin ball", "k": 2}).json()
                assert all(v["preview"] for v in doc["videos"])
                assert client.get("/api/preview", params={"key": videos[0].name}).status_code == 200
        finally:
            explorer.close()


def test_relative_paths_of_older_stores_are_found_from_the_working_folder(tmp_path, monkeypatch):
    """A store written before paths were recorded absolute holds them relative to the folder extraction ran in."""
    (tmp_path / "demo_run" / "toy").mkdir(parents=True)
    (tmp_path / "demo_run" / "toy" / "a.mp4").write_bytes(b"a")
    store = open_store(_store_with_paths(tmp_path / "demo_run" / "s.h5", {"a": "demo_run/toy/a.mp4"}))
    monkeypatch.chdir(tmp_path)
    assert video_root(store) == tmp_path / "demo_run" / "toy"
    assert VideoFiles(store, [video_root(store)]).path("a") == (tmp_path / "demo_run" / "toy" / "a.mp4").resolve()
