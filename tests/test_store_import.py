"""``action2vec store import``: every source kind lands in the store exactly as numpy reads it, each bad input is
one line naming key and file with nothing written, an interrupted import resumes, and the result trains,
indexes and searches like an extracted store."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from action2vec.cli.main import main
from action2vec.errors import DataError
from action2vec.store import parts_dir
from action2vec.store.importer import import_features
from action2vec.testing import synthetic_label_vectors, write_vectors_file

EXTRACT_META_KEYS = {
    "backbone",
    "layer",
    "dim",
    "clip_len",
    "pretrained",
    "random_weights",
    "weights_sha256",
    "fps",
    "duration",
    "stride",
    "frames",
    "steps",
    "decoder",
    "frame_size",
    "short_side",
    "amp",
    "pca",
    "padding",
}


def _read_store(path: Path) -> dict[str, tuple[np.ndarray, int, str, dict]]:
    """key -> (features, length, label, source) read with h5py directly, not through the project's reader."""
    out = {}
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "action2vec-store"
        g = f["index"]
        for i, raw in enumerate(g["key"][()]):
            o, n = int(g["offset"][i]), int(g["rows"][i])
            label = g["label"][i]
            source = g["source"][i]
            out[raw.decode()] = (
                f["features"][o : o + n],
                int(g["length"][i]),
                label.decode() if isinstance(label, bytes) else label,
                json.loads(source.decode() if isinstance(source, bytes) else source),
            )
    return out


def _meta(path: Path) -> dict:
    with h5py.File(path, "r") as f:
        return json.loads(f.attrs["meta"])


def _make_folder(root: Path, dim: int = 6) -> dict[str, np.ndarray]:
    """Nested per-video .npy files; one (D,) vector, one integer array."""
    rng = np.random.default_rng(0)
    arrays = {
        "Walk/a": rng.standard_normal((3, dim)).astype(np.float32),
        "Walk/b": rng.standard_normal((5, dim)).astype(np.float32),
        "Run/c": rng.standard_normal(dim).astype(np.float32),  # (D,): one step
        "Run/deep/d": rng.integers(-5, 5, (2, dim)).astype(np.int16),
    }
    for key, arr in arrays.items():
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        np.save(root / f"{key}.npy", arr)
    (root / "README.txt").write_text("not a feature file")
    return arrays


def _nothing_written(out: Path) -> bool:
    return not out.exists() and not parts_dir(out).exists() and not out.with_name(out.name + ".lock").exists()


def _one_line(capsys, *needles: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    for needle in needles:
        assert needle in err[0], (needle, err[0])
    return err[0]


def test_folder_of_npy_files_imports_exactly(tmp_path, capsys):
    arrays = _make_folder(tmp_path / "src")
    out = tmp_path / "feats.h5"
    assert (
        main(
            [
                "store",
                "import",
                str(tmp_path / "src"),
                "--out",
                str(out),
                "--labels",
                "from-folder",
                "--meta",
                "backbone=i3d",
                "--meta",
                "fps=25",
                "--meta",
                "layer=mixed_5c",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "4 videos" in printed and "D=6" in printed and "T 1..5" in printed and "3 classes" in printed
    got = _read_store(out)
    assert set(got) == set(arrays)
    for key, arr in arrays.items():
        feats, length, label, source = got[key]
        expect = arr.reshape(-1, arr.shape[-1]).astype(np.float32)
        assert feats.dtype == np.float32 and np.array_equal(feats, expect)
        assert length == expect.shape[0]
        assert label == key.split("/")[-2]  # the immediate parent folder: Walk, Run, deep
        assert source["feature_file"] == str((tmp_path / "src" / f"{key}.npy").absolute())
    meta = _meta(out)
    assert EXTRACT_META_KEYS <= set(meta)
    assert meta["backbone"] == "i3d" and meta["fps"] == 25 and meta["layer"] == "mixed_5c" and meta["dim"] == 6
    assert meta["import_format"] == "npy"
    assert main(["store", "info", str(out)]) == 0
    assert "4 videos, 0 failed, 3 classes, dim 6, backbone i3d (mixed_5c)" in capsys.readouterr().out


def test_npz_with_a_whitespace_labels_file(tmp_path, caplog):
    rng = np.random.default_rng(1)
    arrays = {"v1": rng.standard_normal((4, 3)), "v2": rng.standard_normal((2, 3)), "v3": rng.standard_normal(3)}
    np.savez(tmp_path / "feats.npz", **arrays)
    (tmp_path / "labels.txt").write_text("# key label\nv1 play guitar\nv2   walk\nv3 walk\nv9 ghost\n")
    res = import_features(tmp_path / "feats.npz", tmp_path / "s.h5", labels=tmp_path / "labels.txt")
    got = _read_store(tmp_path / "s.h5")
    for key, arr in arrays.items():
        assert np.array_equal(got[key][0], arr.reshape(-1, 3).astype(np.float32))
    assert [got[k][2] for k in ("v1", "v2", "v3")] == ["play guitar", "walk", "walk"]
    assert (res.videos, res.dim, res.steps_min, res.steps_max, res.classes, res.unmatched_labels) == (3, 3, 1, 4, 2, 1)
    assert "1 labelled keys are not in the source" in caplog.text and "'v9'" in caplog.text


def test_hdf5_one_dataset_per_key_in_groups(tmp_path):
    rng = np.random.default_rng(2)
    arrays = {
        "train/a": rng.standard_normal((3, 4)),
        "train/b": rng.standard_normal((1, 4)),
        "c": rng.standard_normal(4),
    }
    with h5py.File(tmp_path / "f.h5", "w") as f:
        for key, arr in arrays.items():
            f.create_dataset(key, data=arr)
    import_features(tmp_path / "f.h5", tmp_path / "s.h5")
    got = _read_store(tmp_path / "s.h5")
    assert set(got) == set(arrays)
    for key, arr in arrays.items():
        assert np.array_equal(got[key][0], arr.reshape(-1, 4).astype(np.float32)) and got[key][2] == ""


def test_hdf5_one_group_per_video_uses_the_group_as_key(tmp_path):
    rng = np.random.default_rng(3)
    arrays = {"v_x": rng.standard_normal((3, 4)), "v_y": rng.standard_normal((2, 4))}
    with h5py.File(tmp_path / "anet.hdf5", "w") as f:
        for key, arr in arrays.items():
            f.create_group(key).create_dataset("c3d_features", data=arr)
    import_features(tmp_path / "anet.hdf5", tmp_path / "s.h5")
    got = _read_store(tmp_path / "s.h5")
    assert set(got) == {"v_x", "v_y"} and np.array_equal(got["v_y"][0], arrays["v_y"].astype(np.float32))


@pytest.mark.parametrize("layout", ["rows+lengths", "rows", "padded+lengths"])
def test_hdf5_packed_layouts(tmp_path, layout):
    rng = np.random.default_rng(4)
    lengths = [3, 1, 2] if layout != "rows" else [1, 1, 1]
    videos = [rng.standard_normal((n, 5)).astype(np.float32) for n in lengths]
    with h5py.File(tmp_path / "packed.h5", "w") as f:
        f.create_dataset("keys", data=np.array(["k0", "k1", "k2"], dtype=object), dtype=h5py.string_dtype())
        if layout == "padded+lengths":
            padded = np.full((3, 4, 5), 7.0, np.float32)  # rows past a video's length are padding, not stored
            for i, v in enumerate(videos):
                padded[i, : len(v)] = v
            f.create_dataset("features", data=padded)
        else:
            f.create_dataset("features", data=np.concatenate(videos))
        if layout != "rows":
            f.create_dataset("lengths", data=np.array(lengths))
    import_features(tmp_path / "packed.h5", tmp_path / "s.h5", fmt="hdf5")
    got = _read_store(tmp_path / "s.h5")
    for i, v in enumerate(videos):
        assert np.array_equal(got[f"k{i}"][0], v) and got[f"k{i}"][1] == len(v)


@pytest.mark.parametrize("header", [True, False])
def test_csv_labels_with_and_without_header(tmp_path, header):
    arrays = _make_folder(tmp_path / "src")
    rows = [f"{k},{'cls ' + k[0]}" for k in arrays]
    (tmp_path / "labels.csv").write_text("\n".join((["video,label"] if header else []) + rows) + "\n")
    import_features(tmp_path / "src", tmp_path / "s.h5", labels=tmp_path / "labels.csv")
    got = _read_store(tmp_path / "s.h5")
    assert {k: v[2] for k, v in got.items()} == {k: "cls " + k[0] for k in arrays}


def test_dataset_adapter_labels_keys_that_are_ucf101_video_names(tmp_path):
    ann = tmp_path / "ucfTrainTestlist"
    ann.mkdir()
    (ann / "classInd.txt").write_text("1 ApplyEyeMakeup\r\n2 YoYo\r\n")
    (ann / "trainlist01.txt").write_text(
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi 1\r\nYoYo/v_YoYo_g01_c01.avi 2\r\n"
    )
    (ann / "testlist01.txt").write_text("YoYo/v_YoYo_g02_c01.avi\r\n")
    src = tmp_path / "i3d"
    keys = ["ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01", "YoYo/v_YoYo_g01_c01", "v_YoYo_g02_c01"]  # nested or flat
    for k in keys:
        (src / k).parent.mkdir(parents=True, exist_ok=True)
        np.save(src / f"{k}.npy", np.ones((2, 3), np.float32))
    assert (
        main(
            [
                "store",
                "import",
                str(src),
                "--out",
                str(tmp_path / "s.h5"),
                "--dataset",
                "ucf101",
                "--annotations",
                str(ann),
            ]
        )
        == 0
    )
    got = _read_store(tmp_path / "s.h5")
    assert [(got[k][2], got[k][3]["subset"]) for k in keys] == [
        ("ApplyEyeMakeup", "train"),
        ("YoYo", "train"),
        ("YoYo", "test"),
    ]


def _bad_folder(tmp_path: Path, case: str) -> tuple[Path, list[str], str]:
    """A source folder with one problem; returns it, extra argv, and the file the message must name."""
    src = tmp_path / "src"
    src.mkdir()
    for k in ("a", "b", "c"):
        np.save(src / f"{k}.npy", np.ones((2, 4), np.float32))
    extra: list[str] = []
    bad = src / "c.npy"
    if case == "dim":
        np.save(bad, np.ones((2, 5), np.float32))
    elif case == "nan":
        np.save(bad, np.array([[0, 1, 2, 3], [4, np.nan, 6, 7]], np.float32))
    elif case == "inf":
        np.save(bad, np.array([1, 2, 1e300, 3], np.float64))  # finite as float64, inf as float32
    elif case == "empty":
        np.save(bad, np.zeros((0, 4), np.float32))
    elif case == "dtype":
        np.save(bad, np.array([["x", "y", "z", "w"]]))
    elif case == "duplicate":
        np.savez(src / "c.npz", np.ones((2, 4), np.float32))
        bad = src / "c.npz"
    elif case == "missing-label":
        (tmp_path / "labels.csv").write_text("a,walk\nb,run\n")
        extra = ["--labels", str(tmp_path / "labels.csv")]
    elif case == "label-twice":
        (tmp_path / "labels.csv").write_text("a,walk\nb,run\nc,run\na,jump\n")
        extra = ["--labels", str(tmp_path / "labels.csv")]
        bad = tmp_path / "labels.csv"
    return src, extra, str(bad)


@pytest.mark.parametrize(
    "case, problem",
    [
        ("dim", "D=5"),
        ("nan", "non-finite"),
        ("inf", "non-finite"),
        ("empty", "empty"),
        ("dtype", "dtype <U1"),
        ("duplicate", "duplicate key"),
        ("missing-label", "1 of 3 keys have no label"),
        ("label-twice", "duplicate key"),
    ],
)
def test_each_bad_input_is_one_line_naming_key_and_file_and_writes_nothing(tmp_path, capsys, case, problem):
    src, extra, bad_file = _bad_folder(tmp_path, case)
    out = tmp_path / "out" / "s.h5"
    assert main(["store", "import", str(src), "--out", str(out), *extra]) == 2
    _one_line(capsys, problem, bad_file, "'a'" if case == "label-twice" else "'c'")
    assert _nothing_written(out)


def test_a_nan_found_after_batches_were_written_removes_them(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(5):
        np.save(src / f"v{i}.npy", np.full((2, 3), i, np.float32))
    np.save(src / "v5.npy", np.array([[1, 2, np.inf]], np.float32))
    out = tmp_path / "s.h5"
    with pytest.raises(DataError, match=r"v5\.npy: key 'v5' holds a non-finite value"):
        import_features(src, out, batch_bytes=1)  # one part file per video: five were written before v5
    assert _nothing_written(out)


def test_an_interrupted_import_resumes_and_reads_only_what_is_left(tmp_path, monkeypatch):
    src = tmp_path / "src"
    arrays = {
        f"c{i % 2}/v{i}": np.random.default_rng(i).standard_normal((i + 1, 4)).astype(np.float32) for i in range(6)
    }
    for key, arr in arrays.items():
        (src / key).parent.mkdir(parents=True, exist_ok=True)
        np.save(src / f"{key}.npy", arr)
    out = tmp_path / "s.h5"
    real_load, calls = np.load, []

    def dying_load(path, *a, **kw):
        calls.append(Path(path).name)
        if len(calls) == 4:
            raise KeyboardInterrupt  # as Ctrl-C in the middle of the import
        return real_load(path, *a, **kw)

    monkeypatch.setattr(np, "load", dying_load)
    with pytest.raises(KeyboardInterrupt):
        import_features(src, out, labels="from-folder", batch_bytes=1)
    assert not out.exists() and len(list(parts_dir(out).glob("*.h5"))) == 3  # three finished videos kept
    monkeypatch.setattr(np, "load", real_load)
    res = import_features(src, out, labels="from-folder", batch_bytes=1)
    assert (res.imported, res.skipped, res.videos) == (3, 3, 6)
    got = _read_store(out)
    assert all(np.array_equal(got[k][0], a) and got[k][2] == k.split("/")[0] for k, a in arrays.items())
    assert not parts_dir(out).exists()


def test_a_store_from_another_source_is_not_resumed(tmp_path, capsys):
    _make_folder(tmp_path / "one")
    _make_folder(tmp_path / "two")
    out = tmp_path / "s.h5"
    assert main(["store", "import", str(tmp_path / "one"), "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["store", "import", str(tmp_path / "two"), "--out", str(out)]) == 2
    _one_line(capsys, str(out), "one", "two", "another --out")


def test_ambiguous_or_contradicting_formats_are_one_line(tmp_path, capsys):
    with open(tmp_path / "feats.bin", "wb") as fh:
        np.savez(fh, a=np.ones((1, 2)))
    (tmp_path / "plain.dat").write_text("hello")
    assert import_features(tmp_path / "feats.bin", tmp_path / "s.h5").videos == 1  # an .npz by its content
    assert main(["store", "import", str(tmp_path / "plain.dat"), "--out", str(tmp_path / "t.h5")]) == 2
    _one_line(capsys, "plain.dat", "--format")
    assert main(["store", "import", str(tmp_path), "--out", str(tmp_path / "t.h5"), "--format", "hdf5"]) == 2
    _one_line(capsys, "--format hdf5", "folder")
    assert main(["store", "import", str(tmp_path / "feats.bin"), "--out", str(tmp_path / "t.h5"), "--meta", "fps"]) == 2
    _one_line(capsys, "--meta 'fps'", "KEY=VALUE")


def test_end_to_end_import_info_train_index_search_zsl(tmp_path, capsys):
    """A folder of .npy files and a labels CSV become a store that `train`, `index`, `search`, `zsl` and `serve`
    use."""
    lv = synthetic_label_vectors(4, dim=8, seed=3)
    vectors = write_vectors_file(lv, tmp_path / "vectors.npz")
    rng = np.random.default_rng(5)
    src, rows = tmp_path / "i3d", ["key,label"]
    for c, name in enumerate(lv.names):
        for j in range(6):
            key = f"clip_{c}_{j}"
            arr = rng.standard_normal((int(rng.integers(3, 7)), 12)).astype(np.float32) + np.float32(c)
            (src / f"part{j % 2}").mkdir(parents=True, exist_ok=True)
            np.save(src / f"part{j % 2}" / f"{key}.npy", arr)
            rows.append(f"part{j % 2}/{key},{name}")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    store = tmp_path / "feats.h5"
    assert (
        main(
            [
                "store",
                "import",
                str(src),
                "--out",
                str(store),
                "--labels",
                str(tmp_path / "labels.csv"),
                "--meta",
                "backbone=i3d",
            ]
        )
        == 0
    )
    assert main(["store", "info", str(store)]) == 0
    assert "24 videos, 0 failed, 4 classes, dim 12, backbone i3d" in capsys.readouterr().out
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--out",
                str(run),
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
            ]
        )
        == 0
    )
    assert main(["index", str(run), "--embed.progress", "false"]) == 0
    capsys.readouterr()
    assert main(["search", str(run), "--key", "part0/clip_1_0", "--k", "3", "--json", "-"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 3 and all(h["key"].startswith("part") for h in hits)
    assert "part0/clip_1_0" not in [h["key"] for h in hits]  # the query video itself is left out
    assert (
        main(
            [
                "zsl",
                "--store",
                f"i3d={store}",
                "--data.text",
                f"vectors:{vectors}",
                "--ratios",
                "50/50",
                "--seeds",
                "1",
                "--variants",
                "pooled_krr",
                "--out",
                str(tmp_path / "zsl"),
            ]
        )
        == 0
    )
    assert "Pooled features + KRR" in capsys.readouterr().out
    # serve: the explorer over the run answers from the imported store and offers no preview of a .npy file
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from fastapi.testclient import TestClient

    from action2vec.serve import Explorer, ServeSettings, explorer_paths
    from action2vec.serve.app import create_app

    explorer = Explorer.open(explorer_paths(run), ServeSettings(map_videos=0))
    try:
        with TestClient(create_app(explorer), base_url="http://127.0.0.1") as client:
            assert client.get("/api/info").json()["videos"] == 24
            found = client.get("/api/neighbours", params={"key": "part0/clip_1_0", "k": 3}).json()["videos"]
            assert len(found) == 3 and "part0/clip_1_0" not in [v["key"] for v in found]
            assert all(v["preview"] is None for v in found)
            assert client.get("/api/preview", params={"key": "part0/clip_1_0"}).status_code == 404
    finally:
        explorer.close()


def test_a_failed_import_leaves_no_folder_it_created(tmp_path, capsys):
    """A NaN is found only while writing, after the lock made --out's folders: they go too."""
    src, _, _ = _bad_folder(tmp_path, "nan")
    out = tmp_path / "new" / "deeper" / "s.h5"
    assert main(["store", "import", str(src), "--out", str(out)]) == 2
    _one_line(capsys, "non-finite")
    assert not (tmp_path / "new").exists()
    (tmp_path / "kept").mkdir()  # a folder that was there before stays
    assert main(["store", "import", str(src), "--out", str(tmp_path / "kept" / "s.h5")]) == 2
    assert (tmp_path / "kept").is_dir() and not any((tmp_path / "kept").iterdir())


@pytest.mark.parametrize("written", ["name", "name.avi", "nested.npy"])
def test_labels_file_keys_match_by_video_name_or_with_a_suffix(tmp_path, written):
    """Files nested in class folders, a labels CSV keyed by the bare video name (or with the video's or the
    feature file's suffix): every video gets its label, as the data set adapters match keys."""
    arrays = {"Walk/v_Walk_g01_c01": np.ones((2, 3), np.float32), "Run/v_Run_g01_c01": np.zeros((1, 3), np.float32)}
    for key, arr in arrays.items():
        (tmp_path / "src" / key).parent.mkdir(parents=True, exist_ok=True)
        np.save(tmp_path / "src" / f"{key}.npy", arr)
    row = {
        "name": lambda k: k.split("/")[1],
        "name.avi": lambda k: k.split("/")[1] + ".avi",
        "nested.npy": lambda k: k + ".npy",
    }[written]
    (tmp_path / "l.csv").write_text("video,label\n" + "".join(f"{row(k)},{k.split('/')[0]}\n" for k in arrays))
    res = import_features(tmp_path / "src", tmp_path / "s.h5", labels=tmp_path / "l.csv")
    got = _read_store(tmp_path / "s.h5")
    assert {k: got[k][2] for k in arrays} == {"Walk/v_Walk_g01_c01": "Walk", "Run/v_Run_g01_c01": "Run"}
    assert res.unmatched_labels == 0


def test_a_video_name_in_two_folders_is_not_labelled_by_its_name(tmp_path, capsys):
    """`train/a` and `val/a` with a labels row `a,walk`: which video is meant is unknown, so one line."""
    for key in ("train/a", "val/a"):
        (tmp_path / "src" / key).parent.mkdir(parents=True, exist_ok=True)
        np.save(tmp_path / "src" / f"{key}.npy", np.ones((2, 3), np.float32))
    (tmp_path / "l.csv").write_text("a,walk\n")
    out = tmp_path / "s.h5"
    assert main(["store", "import", str(tmp_path / "src"), "--out", str(out), "--labels", str(tmp_path / "l.csv")]) == 2
    _one_line(capsys, "l.csv", "'a'", "train/a", "val/a")
    assert _nothing_written(out)


def test_the_feature_file_is_not_recorded_as_the_video_file(tmp_path):
    """A source record's `path` is the video file (the explorer decodes it for previews); an import knows
    only the feature file, which it records under its own name."""
    _make_folder(tmp_path / "src")
    import_features(tmp_path / "src", tmp_path / "s.h5")
    source = _read_store(tmp_path / "s.h5")["Walk/a"][3]
    assert "path" not in source
    assert source["feature_file"] == str((tmp_path / "src" / "Walk" / "a.npy").absolute())


@pytest.mark.parametrize("change", ["relabel", "no-labels", "meta"])
def test_a_rerun_with_other_labels_or_meta_is_refused_not_reported_as_done(tmp_path, capsys, change):
    """After a finished import, rerunning with a corrected labels file (or other --meta) printed "60 labelled
    (new.csv)" while the store kept the first labels; a resume must be the same command."""
    _make_folder(tmp_path / "src")
    out = tmp_path / "s.h5"
    first = [
        "store",
        "import",
        str(tmp_path / "src"),
        "--out",
        str(out),
        "--labels",
        "from-folder",
        "--meta",
        "backbone=i3d",
    ]
    assert main(first) == 0
    assert main(first) == 0  # the same command again: nothing to do, and said so
    assert "0 written now, 4 already there" in capsys.readouterr().out
    (tmp_path / "new.csv").write_text("Walk/a,stroll\nWalk/b,Walk\nRun/c,Run\nRun/deep/d,deep\n")
    again = {
        "relabel": first[:5] + ["--labels", str(tmp_path / "new.csv"), "--meta", "backbone=i3d"],
        "no-labels": first[:5] + ["--meta", "backbone=i3d"],
        "meta": first[:7] + ["--meta", "backbone=clip"],
    }[change]
    assert main(again) == 2
    needles = {
        "relabel": ("'Walk/a'", "'Walk'", "'stroll'"),
        "no-labels": ("no labels", "gives ''"),
        "meta": ("backbone", "'i3d'", "'clip'"),
    }[change]
    _one_line(capsys, str(out), "another --out", *needles)
    assert {k: v[2] for k, v in _read_store(out).items()}["Walk/a"] == "Walk" and _meta(out)["backbone"] == "i3d"


def test_store_info_of_an_import_without_meta_says_what_it_knows(tmp_path, capsys):
    """`store info` printed "backbone None (None)" for an import without --meta; it names the source instead."""
    _make_folder(tmp_path / "src")
    out = tmp_path / "s.h5"
    assert main(["store", "import", str(tmp_path / "src"), "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["store", "info", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "None" not in printed and "backbone not recorded" in printed
    assert f"imported from {(tmp_path / 'src').absolute()} (npy)" in printed


def test_a_symlinked_class_folder_is_read_not_skipped(tmp_path):
    """A features folder assembled from links to class folders elsewhere (pathlib's rglob skips them on
    Python < 3.13, so 10 of 20 videos were silently left out); a link back up does not loop."""
    _make_folder(tmp_path / "elsewhere")
    src = tmp_path / "src"
    src.mkdir()
    (src / "Walk").symlink_to(tmp_path / "elsewhere" / "Walk", target_is_directory=True)
    (src / "Run").mkdir()
    np.save(src / "Run" / "c.npy", np.ones((2, 6), np.float32))
    (src / "Run" / "loop").symlink_to(src, target_is_directory=True)
    import_features(src, tmp_path / "s.h5")
    assert set(_read_store(tmp_path / "s.h5")) == {"Walk/a", "Walk/b", "Run/c"}


def test_a_store_an_interrupted_import_left_as_parts_is_named_as_such(tmp_path, monkeypatch, capsys):
    """After Ctrl-C only part files exist; `store info` said "feature store not found", as if nothing was there."""
    _make_folder(tmp_path / "src")
    out = tmp_path / "s.h5"
    real_load, calls = np.load, []

    def dying_load(path, *a, **kw):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_load(path, *a, **kw)

    monkeypatch.setattr(np, "load", dying_load)
    with pytest.raises(KeyboardInterrupt):
        import_features(tmp_path / "src", out, batch_bytes=1)
    monkeypatch.setattr(np, "load", real_load)
    assert main(["store", "info", str(out)]) == 2
    _one_line(capsys, str(out), "part file", "store merge")
    assert main(["store", "merge", str(out)]) == 0  # what the line offers works
    assert "1 videos, 0 failed" in capsys.readouterr().out


def test_a_packed_file_under_other_names_says_which_names_it_needs(tmp_path, capsys):
    """`video_ids` + `feats` was read as one video per dataset and refused as "key 'video_ids' has dtype
    object", which says nothing of the packed layout the user meant."""
    with h5py.File(tmp_path / "p.h5", "w") as f:
        f.create_dataset("video_ids", data=np.array(["a", "b"], dtype=object), dtype=h5py.string_dtype())
        f.create_dataset("feats", data=np.ones((2, 4), np.float32))
    assert main(["store", "import", str(tmp_path / "p.h5"), "--out", str(tmp_path / "s.h5")]) == 2
    _one_line(capsys, "p.h5", "'video_ids'", "'keys'", "'features'")
    assert _nothing_written(tmp_path / "s.h5")


def test_keys_without_a_label_are_shown_beside_what_the_labels_file_holds(tmp_path, capsys):
    """When no row names a video (labels keyed 'ApplyEyeMakeup_g01_c01', files 'v_ApplyEyeMakeup_g01_c01'),
    the line shows a key of each side, so the mismatch is seen without opening the files."""
    src = tmp_path / "src"
    src.mkdir()
    for k in ("v_Walk_g01_c01", "v_Walk_g01_c02"):
        np.save(src / f"{k}.npy", np.ones((2, 3), np.float32))
    (tmp_path / "l.csv").write_text("Walk_g01_c01,Walk\nWalk_g01_c02,Walk\n")
    assert (
        main(["store", "import", str(src), "--out", str(tmp_path / "s.h5"), "--labels", str(tmp_path / "l.csv")]) == 2
    )
    _one_line(capsys, "2 of 2 keys have no label", "'v_Walk_g01_c01'", "'Walk_g01_c01'")


def test_json_to_stdout_is_json_alone(tmp_path, capsys):
    """`--json -` printed the summary line before the JSON on stdout, so `| jq` failed (as `search` does, the
    human line goes to stderr then)."""
    _make_folder(tmp_path / "src")
    out = tmp_path / "s.h5"
    assert main(["store", "import", str(tmp_path / "src"), "--out", str(out), "--json", "-"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["kind"] == "store_import" and "4 videos imported" in captured.err
    assert main(["store", "info", str(out), "--json", "-"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["videos"] == 4 and "imported from" in captured.err


def test_the_dataset_split_whose_subsets_are_recorded_is_chosen(tmp_path, capsys):
    """`extract --split 2` records split 2's train/test subsets; the import had no --split and always took
    split 1, so `pca --fit-subset train` fitted on split 1's training videos whatever the user evaluated."""
    ann = tmp_path / "ucfTrainTestlist"
    ann.mkdir()
    (ann / "classInd.txt").write_text("1 YoYo\n")
    (ann / "trainlist01.txt").write_text("YoYo/v_YoYo_g08_c01.avi 1\n")
    (ann / "testlist01.txt").write_text("YoYo/v_YoYo_g01_c01.avi\n")
    (ann / "trainlist02.txt").write_text("YoYo/v_YoYo_g01_c01.avi 1\n")
    (ann / "testlist02.txt").write_text("YoYo/v_YoYo_g08_c01.avi\n")
    src = tmp_path / "src"
    src.mkdir()
    for k in ("v_YoYo_g01_c01", "v_YoYo_g08_c01"):
        np.save(src / f"{k}.npy", np.ones((2, 3), np.float32))
    for split, subsets in (("1", ("test", "train")), ("2", ("train", "test"))):
        out = tmp_path / f"s{split}.h5"
        assert (
            main(
                [
                    "store",
                    "import",
                    str(src),
                    "--out",
                    str(out),
                    "--dataset",
                    "ucf101",
                    "--annotations",
                    str(ann),
                    "--split",
                    split,
                ]
            )
            == 0
        )
        got = _read_store(out)
        assert (got["v_YoYo_g01_c01"][3]["subset"], got["v_YoYo_g08_c01"][3]["subset"]) == subsets
    capsys.readouterr()
    assert main(["store", "import", str(src), "--out", str(tmp_path / "t.h5"), "--split", "2"]) == 2
    _one_line(capsys, "--split", "--dataset")
    assert (
        main(
            [
                "store",
                "import",
                str(src),
                "--out",
                str(tmp_path / "s1.h5"),
                "--dataset",
                "ucf101",
                "--annotations",
                str(ann),
                "--split",
                "2",
            ]
        )
        == 2
    )  # s1.h5 holds split 1's subsets
    _one_line(capsys, "s1.h5", "subset", "'test'", "'train'")


def test_source_keys_that_are_video_file_names_match_bare_label_keys(tmp_path):
    """An .npz keyed by video file name (`v_Walk_g01_c01.avi`, as feature dumps often are) and a labels file or
    a data set adapter keyed by the bare video name."""
    np.savez(
        tmp_path / "clip.npz",
        **{"v_Walk_g01_c01.avi": np.ones(4, np.float32), "v_Run_g01_c01.mp4": np.zeros(4, np.float32)},
    )
    (tmp_path / "l.txt").write_text("v_Walk_g01_c01 Walk\nv_Run_g01_c01 Run\n")
    import_features(tmp_path / "clip.npz", tmp_path / "s.h5", labels=tmp_path / "l.txt")
    got = _read_store(tmp_path / "s.h5")
    assert (got["v_Walk_g01_c01.avi"][2], got["v_Run_g01_c01.mp4"][2]) == ("Walk", "Run")


def test_the_same_source_named_from_another_folder_is_the_same_source(tmp_path, monkeypatch, capsys):
    """`imported_from` was the path made absolute but not normalised (`/w/run/../i3d`), so a rerun from another
    folder was refused as another source, and `store info` printed the `..`."""
    _make_folder(tmp_path / "i3d")
    (tmp_path / "run").mkdir()
    monkeypatch.chdir(tmp_path / "run")
    assert main(["store", "import", "../i3d", "--out", "../s.h5"]) == 0
    monkeypatch.chdir(tmp_path)
    assert main(["store", "import", "i3d", "--out", "s.h5"]) == 0
    assert "0 written now, 4 already there" in capsys.readouterr().out
    assert _meta(tmp_path / "s.h5")["imported_from"] == str(tmp_path / "i3d")
    assert _read_store(tmp_path / "s.h5")["Walk/a"][3]["feature_file"] == str(tmp_path / "i3d" / "Walk" / "a.npy")


def test_one_npy_file_as_source_says_what_to_give_instead(tmp_path, capsys):
    """A single (N, D) .npy was refused with "cannot tell its format ... give --format npz or hdf5", which
    neither is nor helps; the line says a .npy is one array and how a packed array with keys is given."""
    np.save(tmp_path / "all.npy", np.ones((5, 8), np.float32))
    assert main(["store", "import", str(tmp_path / "all.npy"), "--out", str(tmp_path / "s.h5")]) == 2
    line = _one_line(capsys, "all.npy", "folder", "'keys'", "'features'")
    assert "cannot tell" not in line
