"""``action2vec extract`` end to end on videos the test writes: arithmetic, failures, batching, resume, PCA."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from action2vec.cli.main import main
from action2vec.errors import DataError
from action2vec.store import open_store
from action2vec.video.backbones import Backbone, create_backbone
from action2vec.video.clips import ClipPlan
from action2vec.video.config import ExtractConfig
from action2vec.video.decode import decode_video
from action2vec.video.extract import VideoItem, decode_workers, extract_videos, read_video_list, video_features
from action2vec.video.synthetic import level_frames, write_video

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"
FAST = ["--backbone", "c3d-tiny", "--random-weights", "--compute.progress", "false", "--compute.batch_size", "8"]


def _noise_frames(n: int, seed: int, h: int = 72, w: int = 96) -> np.ndarray:
    """Moving texture (so clip features differ between steps) plus the frame-level ramp."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (h, w + n, 3), dtype=np.uint8)
    frames = np.stack([base[:, i : i + w] for i in range(n)])
    return (frames // 2 + level_frames(n, h, w) // 2).astype(np.uint8)


@pytest.fixture()
def videos(tmp_path: Path) -> Path:
    """Three good videos (25 fps AVI, 30 fps H.264 MP4, one shorter than a clip) and three bad files."""
    d = tmp_path / "videos"
    d.mkdir()
    write_video(d / "a.avi", _noise_frames(50, 1), fps=25, codec="mpeg4")  # 2.0 s
    write_video(d / "b.mp4", _noise_frames(30, 2), fps=30)  # 1.0 s
    write_video(d / "c.mp4", _noise_frames(5, 3), fps=30)  # 5 frames
    (d / "noise.mp4").write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 9000, dtype=np.uint8)))
    (d / "empty.avi").write_bytes(b"")
    whole = write_video(tmp_path / "whole.mp4", _noise_frames(40, 4), fps=30).read_bytes()
    (d / "cut.mp4").write_bytes(whole[: len(whole) // 2])
    (d / "list.txt").write_text(
        "# path label\na.avi apply eye makeup\nb.mp4\tclean pool\nc.mp4 jump\n\nnoise.mp4 x\nempty.avi\ncut.mp4 y\n"
    )
    return d


def _extract(videos: Path, out: Path, *extra: str) -> int:
    return main(
        [
            "extract",
            "--list",
            str(videos / "list.txt"),
            "--out",
            str(out),
            "--video.duration",
            "2",
            "--compute.workers",
            "0",
            *FAST,
            *extra,
        ]
    )


def test_extract_list_records_failures_and_matches_direct_computation(videos: Path, tmp_path: Path) -> None:
    out = tmp_path / "feats.h5"
    assert _extract(videos, out) == 0
    store = open_store(out)
    plan = ClipPlan(30.0, 2.0, 16, 8)  # 60 frames, 7 steps
    assert (plan.frames, plan.steps) == (60, 7)
    assert sorted(store.keys) == ["a.avi", "b.mp4", "c.mp4"]
    assert set(store.failures) == {"noise.mp4", "empty.avi", "cut.mp4"}
    assert "empty" in store.failures["empty.avi"]
    lengths = {k: int(store.lengths[store.index_of(k)]) for k in store.keys}
    # a.avi: 2 s -> 60 frames -> 7 steps (cut at 2 s); b.mp4: 30 frames -> ceil(30/8) = 4; c.mp4: 1
    assert lengths == {"a.avi": 7, "b.mp4": math.ceil(30 / 8), "c.mp4": 1}
    assert set(store.rows.tolist()) == {7}
    assert store.labels[store.index_of("a.avi")] == "apply eye makeup"
    assert store.labels[store.index_of("b.mp4")] == "clean pool"
    meta = store.meta
    assert meta["backbone"] == "c3d-tiny" and meta["random_weights"] is True
    assert (meta["steps"], meta["frames"], meta["stride"], meta["clip_len"], meta["fps"]) == (7, 60, 8, 16, 30.0)
    assert store.source(store.index_of("a.avi"))["native_fps"] == 25.0

    # The same numbers computed directly, one video at a time (the store batched clips across videos).
    model = create_backbone("c3d-tiny", random_weights=True)
    for key in ("a.avi", "b.mp4", "c.mp4"):
        frames = decode_video(videos / key, fps=30, max_frames=60, size=model.frame_size).frames
        n = lengths[key]
        clips = np.zeros((n, 16) + frames.shape[1:], np.uint8)
        for k in range(n):
            part = frames[k * 8 : k * 8 + 16]
            clips[k, : len(part)] = part
        with torch.inference_mode():
            want = model(model.preprocess(clips)).numpy()
        got, length = store.get(store.index_of(key))
        np.testing.assert_allclose(got[:length], want, rtol=1e-4, atol=1e-5)
        assert not got[length:].any()
    assert "noise.mp4" in (tmp_path / "feats.h5.log").read_text()
    cfg = ExtractConfig()
    cfg.video.duration, cfg.compute.batch_size = 2.0, 3
    feats, length = video_features(videos / "a.avi", model, cfg)  # one video, batches of 3 clips
    stored, stored_length = store.get(store.index_of("a.avi"))
    assert length == stored_length == 7
    np.testing.assert_allclose(feats, stored, rtol=1e-4, atol=1e-5)


def test_rerun_resumes_and_changed_settings_are_refused(videos: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "feats.h5"
    (videos / "list_ab.txt").write_text("a.avi apply eye makeup\nempty.avi\n")
    assert (
        main(
            [
                "extract",
                "--list",
                str(videos / "list_ab.txt"),
                "--out",
                str(out),
                "--video.duration",
                "2",
                "--compute.workers",
                "0",
                *FAST,
            ]
        )
        == 0
    )
    first = open_store(out)
    a_feats = first.get(first.index_of("a.avi"))[0]
    capsys.readouterr()
    assert _extract(videos, out, "--compute.workers", "2") == 0
    assert "skipped 2 (already done)" in capsys.readouterr().out
    store = open_store(out)
    assert len(store) == 3 and len(store.failures) == 3
    np.testing.assert_array_equal(store.get(store.index_of("a.avi"))[0], a_feats)
    assert _extract(videos, out, "--video.stride", "4") == 2  # another stride would mix two layouts


def test_extract_dataset_table_then_pca_on_training_subset(videos: Path, tmp_path: Path) -> None:
    pytest.importorskip("action2vec.datasets")
    table = videos / "table.csv"
    table.write_text("path,label,subset\na.avi,walk,train\nb.mp4,run,train\nc.mp4,walk,test\nempty.avi,run,test\n")
    out = tmp_path / "ds.h5"
    assert (
        main(
            [
                "extract",
                "--dataset",
                "custom",
                "--annotations",
                str(table),
                "--out",
                str(out),
                "--video.duration",
                "2",
                "--compute.workers",
                "0",
                "--pca-dim",
                "3",
                *FAST,
            ]
        )
        == 0
    )
    raw = open_store(out)
    assert len(raw) == 3 and len(raw.failures) == 1
    assert {raw.source(i)["subset"] for i in range(len(raw))} == {"train", "test"}
    pca = open_store(tmp_path / "ds.pca3.h5")
    assert pca.dim == 3 and pca.meta["pca_fit_videos"] == 2 and pca.pca is not None
    i = raw.index_of(raw.keys[0])
    feats, length = raw.get(i)
    mean, comps = pca.pca["mean"], pca.pca["components"]
    np.testing.assert_allclose(
        pca.get(pca.index_of(raw.keys[0]))[0][:length], (feats[:length] - mean) @ comps.T, atol=1e-4
    )


def test_bad_input_options_exit_2(tmp_path: Path) -> None:
    assert main(["extract", "--out", str(tmp_path / "x.h5"), *FAST]) == 2  # neither --list nor --dataset
    assert main(["extract", "--list", str(tmp_path / "none.txt"), "--out", str(tmp_path / "x.h5"), *FAST]) == 2
    (tmp_path / "l.txt").write_text("a.mp4\n")
    assert (
        main(["extract", "--list", str(tmp_path / "l.txt"), "--out", str(tmp_path / "x.h5"), "--backbone", "c3d"]) == 2
    )  # no weights


def test_real_clips_with_decoding_workers(tmp_path: Path) -> None:
    names = ["mmaction2_test.avi", "mmaction2_demo.mp4", "mmaction2_test.mp4"]
    if not all((REAL / n).is_file() for n in names):
        pytest.skip("real clips not available")
    (tmp_path / "real.txt").write_text("".join(f"{REAL / n} clip\n" for n in names))
    out = tmp_path / "real.h5"
    assert (
        main(
            [
                "extract",
                "--list",
                str(tmp_path / "real.txt"),
                "--out",
                str(out),
                "--video.duration",
                "14",
                "--video.stride",
                "16",
                "--compute.workers",
                "2",
                *FAST,
            ]
        )
        == 0
    )
    store = open_store(out)
    assert len(store) == 3 and not store.failures and store.meta["steps"] == 420 // 16
    lengths = {Path(k).name: int(store.lengths[store.index_of(k)]) for k in store.keys}
    # 164 frames at 25 fps -> 197 at 30 fps -> ceil(197 / 16) = 13; 10 s videos -> 300 frames -> 19
    assert lengths == {"mmaction2_test.avi": 13, "mmaction2_demo.mp4": 19, "mmaction2_test.mp4": 19}
    assert store.source(store.index_of(str(REAL / names[0])))["frames"] == 197


class _MeanColour(Backbone):
    """Weight-free test backbone without a frame size: decoding keeps each video's aspect ratio."""

    name, layer, dim, clip_len, pretrained = "mean-colour", "rgb", 3, 4, False
    needs_weights = False

    def preprocess(self, clips: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(clips)).float()  # (N, L, H, W, 3): sizes differ

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(1, 2, 3))  # (N, 3)


def test_videos_of_different_aspect_ratios_share_batches(tmp_path: Path) -> None:
    wide = write_video(tmp_path / "wide.mp4", _noise_frames(20, 5, 48, 96), fps=30)
    tall = write_video(tmp_path / "tall.mp4", _noise_frames(20, 6, 96, 48), fps=30)
    cfg = ExtractConfig()
    cfg.video.duration, cfg.video.stride, cfg.video.short_side = 1.0, 4, 32
    cfg.compute.workers, cfg.compute.batch_size, cfg.compute.progress = 0, 64, False
    items = [VideoItem("wide", wide), VideoItem("tall", tall)]
    summary = extract_videos(items, tmp_path / "mixed.h5", _MeanColour(), cfg)
    assert summary.extracted == 2 and summary.failed == 0
    store = open_store(tmp_path / "mixed.h5")
    for item, shape in ((items[0], (32, 64)), (items[1], (64, 32))):
        frames = decode_video(item.path, fps=30, max_frames=30, short_side=32).frames
        assert frames.shape[1:3] == shape
        feats, length = store.get(store.index_of(item.key))
        assert length == 5  # 20 frames / stride 4
        want = [frames[k * 4 : k * 4 + 4].astype(np.float64).mean(axis=(0, 1, 2)) for k in range(length)]
        np.testing.assert_allclose(feats[:length], np.array(want), rtol=1e-4)


def test_read_video_list_labels_comments_root_and_duplicates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "l.txt").write_text("# comment\nx/a.mp4 play violin\n\n/abs/b.avi\ny c.mp4\tjump rope\n")
    items = read_video_list(tmp_path / "l.txt")
    assert [(i.key, i.label) for i in items] == [
        ("x/a.mp4", "play violin"),
        ("/abs/b.avi", ""),
        ("y c.mp4", "jump rope"),
    ]
    assert items[0].path == tmp_path / "x/a.mp4" and items[1].path == Path("/abs/b.avi")
    assert read_video_list(tmp_path / "l.txt", root="/data")[0].path == Path("/data/x/a.mp4")
    (tmp_path / "d.txt").write_text("a.mp4 x\nb.mp4\na.mp4 y\n")
    with pytest.raises(DataError, match=r"d.txt:3: a.mp4 is listed twice"):
        read_video_list(tmp_path / "d.txt")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert decode_workers(3) == 3 and decode_workers(0) == 0 and decode_workers(-1) >= 1


def test_truncated_download_is_a_recorded_failure_not_a_short_video(tmp_path: Path) -> None:
    """A faststart MP4 cut at 40 % opens and decodes part of its frames: stored as a failure with the reason."""
    good = write_video(tmp_path / "good.mp4", _noise_frames(150, 7), fps=30, faststart=True)
    data = good.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: int(0.4 * len(data))])
    (tmp_path / "list.txt").write_text("good.mp4 run\ncut.mp4 run\n")
    out = tmp_path / "t.h5"
    assert (
        main(
            [
                "extract",
                "--list",
                str(tmp_path / "list.txt"),
                "--out",
                str(out),
                "--video.duration",
                "6",
                "--compute.workers",
                "1",
                *FAST,
            ]
        )
        == 0
    )
    store = open_store(out)
    assert store.keys == ["good.mp4"] and int(store.lengths[0]) == math.ceil(150 / 8)
    assert store.failures["cut.mp4"].startswith("truncated: the container declares 150 frames, only ")


def test_unavailable_decoder_is_refused_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torchcodec" else real_find_spec(name, *a)
    )
    write_video(tmp_path / "a.mp4", _noise_frames(10, 8), fps=30)
    (tmp_path / "list.txt").write_text("a.mp4\n")
    out = tmp_path / "x.h5"
    for decoder in ("torchcodec", "torchcodec-cuda"):
        code = main(
            [
                "extract",
                "--list",
                str(tmp_path / "list.txt"),
                "--out",
                str(out),
                "--video.decoder",
                decoder,
                "--compute.workers",
                "0",
                *FAST,
            ]
        )
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and "video.decoder" in err[0] and "torchcodec" in err[0]
    assert not out.exists() and not Path(str(out) + ".parts").exists()


def test_store_rows_follow_the_list_whatever_finishes_first(tmp_path: Path) -> None:
    """A long video first, short ones after, two decoding workers: rows still come in list order."""
    write_video(tmp_path / "long.mp4", _noise_frames(240, 9), fps=30)
    for i in range(4):
        write_video(tmp_path / f"s{i}.mp4", _noise_frames(6, 10 + i), fps=30)
    items = [VideoItem(name, tmp_path / name) for name in ["long.mp4", "s0.mp4", "s1.mp4", "s2.mp4", "s3.mp4"]]
    cfg = ExtractConfig()
    cfg.video.duration, cfg.compute.workers, cfg.compute.batch_size, cfg.compute.progress = 8.0, 2, 4, False
    extract_videos(items, tmp_path / "o.h5", create_backbone("c3d-tiny", random_weights=True), cfg)
    assert open_store(tmp_path / "o.h5").keys == [it.key for it in items]


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--pca-dim", "4"], "--pca-fit-keys"),  # a --list records no training subset
        (["--pca-dim", "4", "--pca-fit-keys", "nothere.txt"], "nothere.txt"),
        (["--pca-dim", "4", "--pca-fit-keys", "keys.txt", "--pca-out", "other.h5"], "pca=3"),
        (["--compute.device", "bogus"], "compute.device"),
        (["--compute.device", "cuda"], "compute.device"),
    ],
)
def test_extraction_inputs_are_checked_before_any_video_or_log(tmp_path: Path, capsys, extra, needle) -> None:
    """Every input of a run (PCA fit keys, an existing PCA output, the device) is refused before the log file,
    the backbone or any video: no store, no log left behind."""
    from action2vec.testing import make_synthetic_store, synthetic_label_vectors

    if torch.cuda.is_available() and extra[-1] == "cuda":
        pytest.skip("a GPU is available")
    write_video(tmp_path / "a.mp4", _noise_frames(10, 8), fps=30)
    (tmp_path / "list.txt").write_text("a.mp4\n")
    (tmp_path / "keys.txt").write_text("a.mp4\n")
    make_synthetic_store(
        tmp_path / "other.h5", synthetic_label_vectors(2, dim=4), videos_per_class=2, steps=4, feature_dim=8
    )
    with __import__("h5py").File(tmp_path / "other.h5", "a") as f:  # a store of another PCA dimension
        f.attrs["meta"] = '{"backbone": "synthetic", "pca": 3}'
    extra = [str(tmp_path / e) if e.endswith((".txt", ".h5")) else e for e in extra]
    out = tmp_path / "x.h5"
    code = main(
        ["extract", "--list", str(tmp_path / "list.txt"), "--out", str(out), "--compute.workers", "0", *FAST, *extra]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and needle in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4", "keys.txt", "list.txt", "other.h5"]


def test_a_binary_or_folder_video_list_is_one_line(tmp_path: Path, capsys) -> None:
    write_video(tmp_path / "a.mp4", _noise_frames(10, 8), fps=30)
    for bad, needle in ((tmp_path / "a.mp4", "not a text file"), (tmp_path, "is a directory")):
        assert main(["extract", "--list", str(bad), "--out", str(tmp_path / "x.h5"), *FAST]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0], err


def test_extraction_python_api_runs_what_the_command_runs(videos: Path, tmp_path: Path) -> None:
    """run_extraction(ExtractRun(...)) with the settings the options name writes the command's stores and JSON."""
    import json

    from action2vec.config import load_config
    from action2vec.experiments.extraction import ExtractRun, run_extraction

    keys = tmp_path / "fit.txt"
    keys.write_text("a.avi\nb.mp4\n")
    assert (
        _extract(
            videos,
            tmp_path / "cli.h5",
            "--pca-dim",
            "2",
            "--pca-fit-keys",
            str(keys),
            "--limit",
            "4",
            "--json",
            str(tmp_path / "cli.json"),
        )
        == 0
    )
    cfg = load_config(
        ExtractConfig,
        overrides=["video.duration=2", "compute.workers=0", "compute.progress=false", "compute.batch_size=8"],
    )
    result = run_extraction(
        ExtractRun(
            out=tmp_path / "api.h5",
            list_file=videos / "list.txt",
            limit=4,
            backbone="c3d-tiny",
            random_weights=True,
            extract=cfg,
            pca_dim=2,
            pca_fit_keys=["a.avi", "b.mp4"],
        )
    )
    cli = json.loads((tmp_path / "cli.json").read_text())
    api = json.loads(json.dumps(result.to_json(), default=str))
    for doc in (cli, api):
        doc["summary"].pop("seconds"), doc["summary"].pop("timings"), doc["store"].pop("path", None)
        doc.pop("pca_store")
    assert api == cli and result.pca_store == tmp_path / "api.pca2.h5"
    assert result.log == tmp_path / "api.h5.log" and result.log.is_file()
    for name in ("", ".pca2"):
        a, b = open_store(tmp_path / f"cli{name}.h5"), open_store(tmp_path / f"api{name}.h5")
        assert a.keys == b.keys and np.array_equal(a.read_many(np.arange(len(a))), b.read_many(np.arange(len(b))))
