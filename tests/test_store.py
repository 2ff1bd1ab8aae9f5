"""The feature store: round trip, resumable crash-safe appends, ActivityNet files, `store info`."""

import json

import h5py
import numpy as np
import pytest

from action2vec.cli.main import main
from action2vec.errors import DataError
from action2vec.store import FeatureStore, StoreWriter, merge_parts, open_store, parts_dir


def _video(i, t=5, d=4):
    return np.arange(t * d, dtype=np.float32).reshape(t, d) + 100 * i


def test_round_trip_and_batched_reads(tmp_path):
    path = tmp_path / "s.h5"
    with StoreWriter(path, meta={"backbone": "c3d", "layer": "fc7", "fps": 30}, flush_every=2) as w:
        for i in range(5):
            w.add(f"v{i}", _video(i, t=3 + i), length=2 + i, label=f"c{i % 2}", source={"path": f"/x/{i}.mp4"})
        w.add_failure("broken", "not a video: invalid data", {"path": "/x/broken.mp4"})
    assert not parts_dir(path).exists()
    s = FeatureStore(path)
    assert len(s) == 5 and s.dim == 4 and s.classes == ["c0", "c1"]
    assert s.failures == {"broken": "not a video: invalid data"}
    feats, length = s.get(s.index_of("v3"))
    np.testing.assert_array_equal(feats, _video(3, t=6))
    assert length == 5 and s.source(s.index_of("v3"))["path"] == "/x/3.mp4"
    many = s.read_many([4, 0, 2, 3])
    for got, i in zip(many, [4, 0, 2, 3]):
        np.testing.assert_array_equal(got, _video(i, t=3 + i))
    info = s.info()
    assert (info["videos"], info["failed"], info["dim"], info["backbone"]) == (5, 1, 4, "c3d")


def test_interrupted_writer_resumes_and_never_shows_half_written_videos(tmp_path):
    path = tmp_path / "s.h5"
    w = StoreWriter(path, meta={"backbone": "b"}, flush_every=2)
    for i in range(5):
        w.add(f"v{i}", _video(i))
    # simulate kill -9: v4 is still buffered, and a part file was being written
    (parts_dir(path) / "00000-00000099.h5.tmp").write_bytes(b"half written")
    del w
    w2 = StoreWriter(path, meta={"backbone": "b"}, flush_every=2)
    assert w2.done_keys() == {"v0", "v1", "v2", "v3"}  # only complete parts count
    for i in range(4, 7):
        w2.add(f"v{i}", _video(i))
    w2.close()
    s = FeatureStore(path)
    assert sorted(s.keys) == [f"v{i}" for i in range(7)]
    for k in s.keys:
        np.testing.assert_array_equal(s.get(s.index_of(k))[0], _video(int(k[1:])))


def test_merge_keeps_first_copy_and_success_over_failure(tmp_path):
    path = tmp_path / "s.h5"
    for rank in (0, 1):
        w = StoreWriter(path, meta={"backbone": "b"}, rank=rank, merge=False)
        w.add("shared", _video(rank))
        w.add(f"only{rank}", _video(10 + rank))
        if rank == 0:
            w.add_failure("later_ok", "timeout")
        else:
            w.add("later_ok", _video(7))
        w.close()
    merge_parts(path)
    s = FeatureStore(path)
    assert sorted(s.keys) == ["later_ok", "only0", "only1", "shared"] and s.failures == {}
    np.testing.assert_array_equal(s.get(s.index_of("shared"))[0], _video(0))


def test_bad_features_are_refused(tmp_path):
    w = StoreWriter(tmp_path / "s.h5", meta={"backbone": "b"})
    bad = _video(0)
    bad[1, 1] = np.nan
    with pytest.raises(DataError, match="NaN"):
        w.add("nan", bad)
    w.add("ok", _video(0))
    with pytest.raises(DataError, match="dim 7"):
        w.add("wide", np.zeros((3, 7), np.float32))
    w.close()
    with pytest.raises(DataError, match="backbone='b' there, 'other' now"):
        StoreWriter(tmp_path / "s.h5", meta={"backbone": "other"})


def test_activitynet_file_with_json_labels(tmp_path):
    path = tmp_path / "sub_activitynet_v1-3.c3d.hdf5"
    with h5py.File(path, "w") as f:
        for i, vid in enumerate(["v_abc", "v_def", "v_ghi"]):
            f.create_group(vid).create_dataset("c3d_features", data=_video(i, t=7 + i, d=500))
    ann = tmp_path / "activity_net.v1-3.min.json"
    ann.write_text(
        json.dumps(
            {
                "database": {
                    "abc": {"subset": "training", "annotations": [{"label": "Playing violin", "segment": [0, 1]}]},
                    "def": {"subset": "validation", "annotations": [{"label": "Long jump"}]},
                    "ghi": {"subset": "testing", "annotations": []},
                }
            }
        )
    )
    s = open_store(path, ann)
    assert s.keys == ["v_abc", "v_def", "v_ghi"] and s.labels == ["Playing violin", "Long jump", ""]
    assert s.dim == 500 and list(s.lengths) == [7, 8, 9]
    np.testing.assert_array_equal(s.get(1)[0], _video(1, t=8, d=500))
    np.testing.assert_array_equal(s.read_many([2])[0], _video(2, t=9, d=500))
    tsv = tmp_path / "labels.txt"
    tsv.write_text("abc\tPlaying violin\nv_def\tLong jump\n")
    assert open_store(path, tsv).labels[:2] == ["Playing violin", "Long jump"]


def test_store_info_cli(tmp_path, capsys):
    path = tmp_path / "s.h5"
    with StoreWriter(path, meta={"backbone": "c3d", "layer": "fc7"}) as w:
        w.add("a", _video(0), label="x")
        w.add_failure("b", "empty file")
    out = tmp_path / "info.json"
    assert main(["store", "info", str(path), "--json", str(out)]) == 0
    info = json.loads(out.read_text())
    assert (info["videos"], info["failed"], info["dim"], info["backbone"]) == (1, 1, 4, "c3d")
    assert main(["store", "info", str(tmp_path / "missing.h5")]) == 2
    assert "feature store not found" in capsys.readouterr().err
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    assert main(["store", "info", str(tmp_path / "junk.h5")]) == 2


@pytest.mark.parametrize(
    "key, old, new",
    [
        ("random_weights", True, False),
        ("decoder", "pyav", "torchcodec-cuda"),
        ("short_side", 128, 256),
        ("frame_size", [112, 112], [128, 171]),
        ("amp", False, True),
        ("weights_sha256", "aa", "bb"),
        ("preprocess", "resize 128x171", "resize 112x112"),
    ],
)
def test_a_resume_that_would_make_other_features_is_refused(tmp_path, key, old, new):
    path = tmp_path / "s.h5"
    w = StoreWriter(path, meta={"backbone": "c3d", key: old}, flush_every=1, merge=False)
    w.add("v0", _video(0))
    w.flush()
    with pytest.raises(DataError, match=f"{key}="):
        StoreWriter(path, meta={"backbone": "c3d", key: new})


def _good_store(path):
    with StoreWriter(path, meta={"backbone": "b"}) as w:
        w.add("v0", _video(0))
    return path


def test_damaged_store_files_are_one_line_naming_the_file(tmp_path, capsys):
    good = _good_store(tmp_path / "d.h5")
    part = parts_dir(good) / "00000-00000000.h5"
    part.parent.mkdir()
    part.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 40)  # an HDF5 signature, then nothing
    for argv in (["store", "merge", str(good)], ["store", "info", str(good)]):
        code = main(argv)
        err = capsys.readouterr().err.strip().splitlines()
        if argv[1] == "merge":
            assert code == 2 and len(err) == 1 and str(part) in err[0] and "damaged" in err[0], err
    with pytest.raises(DataError, match="damaged"):
        StoreWriter(good, meta={"backbone": "b"})
    bad_meta = _good_store(tmp_path / "m.h5")
    with h5py.File(bad_meta, "a") as f:
        f.attrs["meta"] = "{not json"
    assert main(["store", "info", str(bad_meta)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(bad_meta) in err[0] and "damaged" in err[0], err
    no_offset = _good_store(tmp_path / "o.h5")
    with h5py.File(no_offset, "a") as f:
        del f["index"]["offset"]
    assert main(["store", "info", str(no_offset)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(no_offset) in err[0] and "damaged" in err[0], err


def test_extraction_records_the_weights_digest_and_the_forward_precision(tmp_path):
    import hashlib

    import torch

    from action2vec.video.backbones import create_backbone
    from action2vec.video.backbones.c3d import TinyC3D
    from action2vec.video.config import ExtractConfig
    from action2vec.video.extract import plan_clips, store_meta

    weights = tmp_path / "tiny.pt"
    torch.save(TinyC3D().state_dict(), weights)
    bb = create_backbone("c3d-tiny", weights=weights)
    cfg = ExtractConfig()
    meta = store_meta(bb, plan_clips(cfg.video, bb.clip_len), cfg, torch.device("cpu"))
    assert meta["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert meta["amp"] is False  # bfloat16 autocast runs on a GPU only
    assert (
        store_meta(create_backbone("c3d-tiny", random_weights=True), plan_clips(cfg.video, 16), cfg)["weights_sha256"]
        is None
    )
