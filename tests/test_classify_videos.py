"""From video files to labels: extract -> PCA -> train, then ``encode_video`` / ``classify --video`` give what
extracting the same files into a store and embedding the store gives (generated clips and real ones)."""

import json
import shutil

import numpy as np
import pytest

from action2vec.cli.main import main
from action2vec.errors import ConfigError, DataError
from action2vec.inference import Action2Vec, VideoRecipe
from action2vec.store import open_store
from action2vec.store.pca import pca_store
from action2vec.video.backbones import create_backbone
from action2vec.video.config import ClipConfig, ComputeConfig, ExtractConfig
from action2vec.video.extract import VideoItem, extract_videos
from action2vec.video.synthetic import write_video

LABELS = ["alpha", "beta", "gamma"]
REAL_CLIPS = ["mmaction2_test.mp4", "mmaction2_test.avi", "mmaction2_demo.mp4"]


@pytest.fixture(scope="module")
def video_model(tmp_path_factory):
    """Generated clips -> c3d-tiny (seeded random weights) raw store -> PCA-6 store -> tiny model."""
    tmp_path = tmp_path_factory.mktemp("videos")
    rng = np.random.default_rng(0)
    lines = []
    for c, label in enumerate(LABELS):
        for j in range(3):
            frames = np.full((20 + 5 * j, 48, 64, 3), 40 * c, np.uint8)
            frames[:, :, : 8 * (c + 1)] = rng.integers(0, 255, (1, 48, 8 * (c + 1), 3), dtype=np.uint8)
            path = write_video(tmp_path / f"{label}_{j}.mp4", frames, fps=25)
            lines.append(f"{path}\t{label}")
    (tmp_path / "list.txt").write_text("\n".join(lines) + "\n")
    raw = tmp_path / "s.h5"
    assert (
        main(
            [
                "extract",
                "--list",
                str(tmp_path / "list.txt"),
                "--backbone",
                "c3d-tiny",
                "--random-weights",
                "--video.duration",
                "1.5",
                "--compute.workers",
                "0",
                "--compute.progress",
                "false",
                "--out",
                str(raw),
            ]
        )
        == 0
    )
    store = pca_store(raw, tmp_path / "s.pca6.h5", dim=6, fit_keys=open_store(raw).keys)
    vec = tmp_path / "v.npz"
    np.savez(vec, names=np.array(LABELS + ["delta"]), vectors=np.eye(4, 4, dtype=np.float32))
    assert (
        main(
            [
                "train",
                "--out",
                str(tmp_path / "run"),
                "--data.store",
                str(store),
                "--data.text",
                f"vectors:{vec}",
                "--model.preset",
                "tiny",
                "--model.window",
                "2",
                "--model.window_stride",
                "2",
                "--train.epochs",
                "2",
                "--train.progress_bar",
                "false",
                "--data.val_fraction",
                "0",
            ]
        )
        == 0
    )
    return {
        "dir": tmp_path,
        "raw": raw,
        "store": store,
        "model": tmp_path / "run" / "model",
        "videos": [line.split("\t")[0] for line in lines],
    }


@pytest.mark.slow
def test_classify_video_files_matches_the_store_path(video_model, tmp_path):
    model, store = str(video_model["model"]), str(video_model["store"])
    video = str(video_model["dir"] / "beta_1.mp4")
    assert (
        main(["classify", "--model", model, "--video", video, "--top-k", "3", "--json", str(tmp_path / "a.json")]) == 0
    )
    assert (
        main(
            [
                "classify",
                "--model",
                model,
                "--store",
                store,
                "--keys",
                video,
                "--top-k",
                "3",
                "--json",
                str(tmp_path / "b.json"),
            ]
        )
        == 0
    )
    a, b = (json.loads((tmp_path / n).read_text())[0] for n in ("a.json", "b.json"))
    assert a["labels"] == b["labels"] and sorted(a["labels"]) == ["alpha", "beta", "gamma"]
    np.testing.assert_allclose(a["scores"], b["scores"], atol=1e-5)
    assert main(["classify", "--model", model, "--video", str(tmp_path / "missing.mp4")]) == 2


@pytest.mark.slow
def test_the_video_recipe_is_the_training_stores(video_model):
    model = Action2Vec.from_pretrained(video_model["model"])
    recipe = model.video_recipe
    meta = open_store(video_model["raw"]).meta
    assert isinstance(recipe, VideoRecipe)
    assert (recipe.backbone, recipe.layer, recipe.random_weights) == ("c3d-tiny", "fc7", True)
    assert (recipe.clip.fps, recipe.clip.duration, recipe.clip.clip_len, recipe.clip.stride) == (
        meta["fps"],
        meta["duration"],
        meta["clip_len"],
        meta["stride"],
    )
    np.testing.assert_array_equal(recipe.pca.components, open_store(video_model["store"]).pca["components"])


@pytest.mark.slow
def test_encode_video_equals_the_store_path_and_classify(video_model, tmp_path):
    model = Action2Vec.from_pretrained(video_model["model"])
    videos = video_model["videos"]
    emb = model.encode_video(videos, batch_size=4)  # (9, 4): two network batches
    assert emb.shape == (len(videos), 4)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)
    # extracted into a store, PCA-reduced by the training PCA, then embedded
    store = open_store(video_model["store"])
    np.testing.assert_allclose(emb, model.encode_store(store, [store.index_of(v) for v in videos]), atol=1e-5)
    # the raw (pre-PCA) store: the model applies its recorded PCA
    raw = open_store(video_model["raw"])
    idx = [raw.index_of(v) for v in videos]
    np.testing.assert_allclose(emb, model.encode_features(raw.read_many(idx), raw.lengths[idx]), atol=1e-5)
    # classify(video files) and classify --video rank by these embeddings
    labels = ["alpha", "gamma", "delta"]
    sims = emb @ model.encode_text(labels).T
    preds = model.classify(videos[:2], labels, top_k=3)
    for row, p in zip(sims, preds):
        np.testing.assert_allclose(p.scores, np.sort(row)[::-1], atol=1e-6)
    assert (
        main(
            [
                "classify",
                "--model",
                str(video_model["model"]),
                "--video",
                *videos[:2],
                "--labels",
                ",".join(labels),
                "--top-k",
                "3",
                "--json",
                str(tmp_path / "c.json"),
            ]
        )
        == 0
    )
    rows = json.loads((tmp_path / "c.json").read_text())
    for row, r in zip(sims, rows):
        np.testing.assert_allclose(r["scores"], [row[labels.index(n)] for n in r["labels"]], atol=1e-6)
        np.testing.assert_allclose(r["scores"], np.sort(row)[::-1], atol=1e-6)


@pytest.mark.slow
def test_encode_video_on_real_clips_equals_extracting_them(video_model, shared_data, tmp_path):
    model = Action2Vec.from_pretrained(video_model["model"])
    clips = [shared_data / "videos" / name for name in REAL_CLIPS]
    emb = model.encode_video(clips)
    backbone = create_backbone("c3d-tiny", random_weights=True)
    # the settings the training store was extracted with (the fixture's command), not read from the model
    cfg = ExtractConfig(video=ClipConfig(duration=1.5), compute=ComputeConfig(workers=0, progress=False))
    summary = extract_videos([VideoItem(key=p.name, path=p) for p in clips], tmp_path / "real.h5", backbone, cfg)
    assert summary.failed == 0
    store = open_store(tmp_path / "real.h5")
    idx = [store.index_of(p.name) for p in clips]
    np.testing.assert_allclose(emb, model.encode_features(store.read_many(idx), store.lengths[idx]), atol=1e-5)
    assert (
        main(
            [
                "classify",
                "--model",
                str(video_model["model"]),
                "--video",
                str(clips[0]),
                "--top-k",
                "4",
                "--json",
                str(tmp_path / "r.json"),
            ]
        )
        == 0
    )
    row = json.loads((tmp_path / "r.json").read_text())[0]
    sims = emb[0] @ model.encode_text(row["labels"]).T
    np.testing.assert_allclose(row["scores"], sims, atol=1e-6)


@pytest.mark.slow
def test_video_problems_are_one_line_before_any_decoding(video_model, tmp_path, capsys):
    model = Action2Vec.from_pretrained(video_model["model"])
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("not a video")
    with pytest.raises(DataError, match="notes.mp4"):
        model.encode_video([video_model["videos"][0], not_video])
    with pytest.raises(DataError, match="missing.mp4: video file not found"):
        model.encode_video([video_model["videos"][0], tmp_path / "missing.mp4"])
    notes = tmp_path / "notes.txt"  # FFmpeg's teletype demuxer would render it as frames
    notes.write_text("notes on the clips, one line after another\n" * 40)
    with pytest.raises(DataError, match=r"notes.txt: not a video \(format tty"):
        model.encode_video([notes])
    capsys.readouterr()
    assert main(["classify", "--model", str(video_model["model"]), "--video", str(notes)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a video (format tty" in err[0], err
    # a recipe whose backbone needs pretrained weights refuses to start without them
    folder = shutil.copytree(video_model["model"], tmp_path / "model")
    doc = json.loads((folder / "config.json").read_text())
    doc["features"].update(backbone="c3d", random_weights=False, pretrained=True)
    (folder / "config.json").write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match="needs the pretrained weights .* backbone_weights=PATH"):
        Action2Vec.load(folder).encode_video(video_model["videos"][:1])
    capsys.readouterr()
    assert main(["classify", "--model", str(folder), "--video", video_model["videos"][0]]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--weights PATH" in err[0], err


@pytest.mark.slow
def test_weights_for_a_random_weights_store_are_refused_when_the_model_loads(video_model, tmp_path, capsys):
    """The store was extracted with c3d-tiny's seeded random weights: pretrained ones would make other features."""
    weights = tmp_path / "c3d.pickle"
    weights.write_bytes(b"weights")
    with pytest.raises(ConfigError, match="random weights"):
        Action2Vec.load(video_model["model"], backbone_weights=weights)
    capsys.readouterr()
    assert (
        main(
            [
                "classify",
                "--model",
                str(video_model["model"]),
                "--video",
                video_model["videos"][0],
                "--weights",
                str(weights),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "leave out backbone_weights" in err[0], err
