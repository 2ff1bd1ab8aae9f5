"""Dataset adapters on small annotation files and video trees written by the tests."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from action2vec.datasets import list_classes, load_dataset, subset
from action2vec.errors import DataError


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00")
    return path


def write_crlf(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return path


@pytest.fixture
def ucf(tmp_path: Path) -> tuple[Path, Path]:
    ann = tmp_path / "ucfTrainTestlist"
    write_crlf(ann / "classInd.txt", ["1 ApplyEyeMakeup", "2 HandstandPushups", "3 YoYo"])
    write_crlf(
        ann / "trainlist01.txt",
        [
            "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1",
            "HandstandPushups/v_HandStandPushups_g08_c01.avi 2",
            "YoYo/v_YoYo_g08_c01.avi 3",
        ],
    )
    write_crlf(
        ann / "testlist01.txt",
        [
            "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi",
            "HandstandPushups/v_HandStandPushups_g01_c01.avi",
        ],
    )
    root = tmp_path / "UCF-101"
    touch(root / "ApplyEyeMakeup" / "v_ApplyEyeMakeup_g08_c01.avi")
    touch(root / "ApplyEyeMakeup" / "v_ApplyEyeMakeup_g01_c01.avi")
    # the folder renamed the way some copies have it: matched case-insensitively
    touch(root / "HandStandPushups" / "v_HandStandPushups_g08_c01.avi")
    touch(root / "HandStandPushups" / "v_HandStandPushups_g01_c01.avi")
    return ann, root


def test_ucf101_split_files_crlf_and_handstand_mismatch(ucf, caplog) -> None:
    ann, root = ucf
    assert list_classes("ucf101", ann) == ["ApplyEyeMakeup", "HandstandPushups", "YoYo"]
    with caplog.at_level(logging.WARNING):
        records = load_dataset("ucf101", ann, root=root, split=1)
    assert [(r.key, r.label, r.subset) for r in records] == [
        ("v_ApplyEyeMakeup_g08_c01", "ApplyEyeMakeup", "train"),
        ("v_HandStandPushups_g08_c01", "HandstandPushups", "train"),
        ("v_YoYo_g08_c01", "YoYo", "train"),
        ("v_ApplyEyeMakeup_g01_c01", "ApplyEyeMakeup", "test"),
        ("v_HandStandPushups_g01_c01", "HandstandPushups", "test"),
    ]
    assert records[1].path == root / "HandStandPushups" / "v_HandStandPushups_g08_c01.avi"
    assert records[1].path.is_file() and records[4].path.is_file()
    # the YoYo video is missing: reported once, with the count
    assert "1 of 5 videos" in caplog.text and "v_YoYo_g08_c01" in caplog.text
    dropped = load_dataset("ucf101", ann, root=root, missing="drop")
    assert [r.key for r in dropped if r.label == "YoYo"] == [] and len(dropped) == 4
    with pytest.raises(DataError, match="1 of 5 videos .* not under"):
        load_dataset("ucf101", ann, root=root, missing="error")


def test_ucf101_without_root_keeps_relative_paths(ucf) -> None:
    ann, _ = ucf
    records = load_dataset("ucf101", ann)
    assert records[0].path == Path("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi")
    assert len(subset(records, "train")) == 3 and len(subset(records, "test")) == 2


def test_ucf101_bad_input(tmp_path: Path, ucf) -> None:
    ann, _ = ucf
    with pytest.raises(DataError, match="not a UCF101 annotation folder"):
        load_dataset("ucf101", tmp_path / "UCF-101")
    with pytest.raises(DataError, match=r"trainlist02\.txt: annotation file not found"):
        load_dataset("ucf101", ann, split=2)
    write_crlf(ann / "trainlist03.txt", ["YoYo/v_YoYo_g01_c01.avi 7"])
    write_crlf(ann / "testlist03.txt", [])
    with pytest.raises(DataError, match=r"trainlist03\.txt:1: class index 7"):
        load_dataset("ucf101", ann, split=3)
    empty = write_crlf(tmp_path / "e" / "classInd.txt", [])
    with pytest.raises(DataError, match="class list is empty"):
        list_classes("ucf101", empty.parent)


def test_hmdb51_official_per_class_split_files(tmp_path: Path) -> None:
    ann = tmp_path / "testTrainMulti_7030_splits"
    ann.mkdir()
    (ann / "brush_hair_test_split1.txt").write_text(
        "a_brush_hair_0.avi 1 \nb_brush_hair_0.avi 2 \nc_brush_hair_0.avi 0 \n"
    )
    (ann / "wave_test_split1.txt").write_text("a_wave_0.avi 2 \nb_wave_0.avi 1 \n")
    (ann / "wave_test_split2.txt").write_text("a_wave_0.avi 1 \n")
    root = tmp_path / "hmdb51"
    touch(root / "brush_hair" / "a_brush_hair_0.avi")
    records = load_dataset("hmdb51", ann, root=root, split=1)
    assert [(r.key, r.label, r.subset) for r in records] == [
        ("a_brush_hair_0", "brush_hair", "train"),
        ("b_brush_hair_0", "brush_hair", "test"),
        ("a_wave_0", "wave", "test"),
        ("b_wave_0", "wave", "train"),
    ]
    assert records[0].path == root / "brush_hair" / "a_brush_hair_0.avi"
    assert list_classes("hmdb51", ann) == ["brush_hair", "wave"]
    assert len(load_dataset("hmdb51", ann, split=2)) == 1
    (ann / "wave_test_split3.txt").write_text("a_wave_0.avi 5\n")
    with pytest.raises(DataError, match=r"wave_test_split3\.txt:1: expected"):
        load_dataset("hmdb51", ann, split=3)


def test_hmdb51_mmaction_lists_and_label_map(tmp_path: Path) -> None:
    (tmp_path / "label_map.txt").write_text("brush_hair\ncartwheel\n")
    (tmp_path / "hmdb51_train_split_1_videos.txt").write_text("cartwheel/x_cartwheel_0.avi 1\nbrush_hair/y.avi 0\n")
    (tmp_path / "hmdb51_val_split_1_videos.txt").write_text("brush_hair/z.avi 0\n")
    records = load_dataset("hmdb51", tmp_path)
    assert [(r.key, r.label, r.subset) for r in records] == [
        ("x_cartwheel_0", "cartwheel", "train"),
        ("y", "brush_hair", "train"),
        ("z", "brush_hair", "test"),
    ]
    assert list_classes("hmdb51", tmp_path) == ["brush_hair", "cartwheel"]
    (tmp_path / "hmdb51_train_split_2_videos.txt").write_text("cartwheel/x.avi 0\n")
    with pytest.raises(DataError, match="label 0 does not match class folder 'cartwheel'"):
        load_dataset("hmdb51", tmp_path, split=2)
    with pytest.raises(DataError, match="no HMDB51 split 3 files"):
        load_dataset("hmdb51", tmp_path, split=3)


def test_kinetics_official_csv_clip_names(tmp_path: Path) -> None:
    ann = tmp_path / "kinetics400"
    ann.mkdir()
    (ann / "train.csv").write_text(
        "label,youtube_id,time_start,time_end,split\nair drumming,abc123,10,20,train\nabseiling,def456,0,10,train\n"
    )
    (ann / "validate.csv").write_text("label,youtube_id,time_start,time_end,split\nabseiling,ghi789,5,15,val\n")
    root = tmp_path / "videos"
    touch(root / "train" / "air_drumming" / "abc123_000010_000020.mp4")
    touch(root / "ghi789.mp4")
    records = load_dataset("kinetics400", ann, root=root, missing="warn")
    by_key = {r.key: r for r in records}
    assert set(by_key) == {"abc123_000010_000020", "def456_000000_000010", "ghi789_000005_000015"}
    assert by_key["abc123_000010_000020"].path == root / "train" / "air_drumming" / "abc123_000010_000020.mp4"
    assert by_key["ghi789_000005_000015"].path == root / "ghi789.mp4"
    assert by_key["ghi789_000005_000015"].subset == "val" and by_key["def456_000000_000010"].label == "abseiling"
    assert not by_key["def456_000000_000010"].path.exists()
    assert list_classes("kinetics400", ann) == ["abseiling", "air drumming"]


def test_kinetics_label_map_and_mmaction_list(tmp_path: Path) -> None:
    (tmp_path / "label_map_k400.txt").write_text("abseiling\nshooting goal (soccer)\n")
    (tmp_path / "label_map_k600.txt").write_text("abseiling\nacting in play\nshooting goal (soccer)\n")
    (tmp_path / "kinetics400_val_list_videos.txt").write_text(
        "shooting_goal_(soccer)/YAmbVR1n56c.mp4 1\nabseiling/x-y_z.mp4 0\n"
    )
    assert list_classes("kinetics600", tmp_path) == ["abseiling", "acting in play", "shooting goal (soccer)"]
    records = load_dataset("kinetics400", tmp_path)
    assert [(r.key, r.label, r.subset) for r in records] == [
        ("YAmbVR1n56c", "shooting goal (soccer)", "val"),
        ("x-y_z", "abseiling", "val"),
    ]
    (tmp_path / "kinetics400_val_list_videos.txt").write_text("abseiling/x.mp4 9\n")
    with pytest.raises(DataError, match="label 9 is beyond the 2 classes"):
        load_dataset("kinetics400", tmp_path)


def test_kinetics_unknown_layout(tmp_path: Path) -> None:
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="no kinetics700 annotations found"):
        load_dataset("kinetics700", tmp_path)


def test_custom_class_folders_and_tables(tmp_path: Path) -> None:
    root = tmp_path / "mine"
    touch(root / "wave" / "a.mp4")
    touch(root / "wave" / "sub" / "b.avi")
    touch(root / "jump" / "a.mp4")
    (root / "jump" / "notes.txt").write_text("not a video")
    records = load_dataset("custom", root)
    assert [(r.key, r.label) for r in records] == [("jump/a", "jump"), ("wave/a", "wave"), ("wave/sub/b", "wave")]
    assert all(r.path.is_file() and r.subset == "all" for r in records)
    assert list_classes("custom", root) == ["jump", "wave"]

    table = tmp_path / "videos.csv"
    table.write_text("path,label,subset\nwave/a.mp4,wave,train\njump/a.mp4,jump,test\n")
    records = load_dataset("custom", table, root=root)
    assert [(r.key, r.label, r.subset, r.path) for r in records] == [
        ("wave/a", "wave", "train", root / "wave" / "a.mp4"),
        ("jump/a", "jump", "test", root / "jump" / "a.mp4"),
    ]
    tsv = tmp_path / "videos.tsv"
    tsv.write_text("wave/a.mp4\twave waving\n")
    assert [(r.label, r.subset) for r in load_dataset("custom", tsv, root=root)] == [("wave waving", "all")]
    (tmp_path / "bad.csv").write_text("path,label\nonly_a_path.mp4\n")
    with pytest.raises(DataError, match=r"bad\.csv:2: expected a path and a label"):
        load_dataset("custom", tmp_path / "bad.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no class folders with video files"):
        load_dataset("custom", tmp_path / "empty")


def test_unknown_dataset_and_missing_annotations(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown data set 'ucf102'"):
        load_dataset("ucf102", tmp_path)
    with pytest.raises(DataError, match="nowhere: HMDB51 annotation folder not found"):
        load_dataset("hmdb51", tmp_path / "nowhere")
    with pytest.raises(DataError, match="missing-video policy"):
        (tmp_path / "c" / "x").mkdir(parents=True)
        touch(tmp_path / "c" / "x" / "v.mp4")
        load_dataset("custom", tmp_path / "c", missing="ignore")


def test_kinetics_folder_with_several_versions_reads_only_the_asked_one(tmp_path: Path) -> None:
    (tmp_path / "label_map_k400.txt").write_text("abseiling\nair drumming\n")
    (tmp_path / "label_map_k600.txt").write_text("abseiling\nacting in play\nair drumming\n")
    (tmp_path / "kinetics400_val_list_videos.txt").write_text("air_drumming/a.mp4 1\n")
    (tmp_path / "kinetics600_val_list_videos.txt").write_text("acting_in_play/b.mp4 1\n")
    assert [(r.key, r.label) for r in load_dataset("kinetics400", tmp_path)] == [("a", "air drumming")]
    assert [(r.key, r.label) for r in load_dataset("kinetics600", tmp_path)] == [("b", "acting in play")]
