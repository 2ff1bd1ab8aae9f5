"""The adapters on the real split files and class lists in ../shared/data (skipped when absent)."""

from __future__ import annotations

from collections import Counter

from action2vec.datasets import list_classes, load_dataset, subset


def test_ucf101_official_split1(shared_data) -> None:
    ann = shared_data / "ucf101" / "ucfTrainTestlist"
    classes = list_classes("ucf101", ann)
    records = load_dataset("ucf101", ann, split=1)
    assert len(classes) == 101 and classes[36] == "HandstandPushups"
    assert len(subset(records, "train")) == 9537 and len(subset(records, "test")) == 3783
    assert {r.label for r in records} == set(classes)
    assert len({r.key for r in records}) == len(records)
    # the mmaction2 label map names the same classes in the same order
    assert list_classes("ucf101", shared_data / "ucf101" / "mmaction2_label_map.txt") == classes
    assert [len(subset(load_dataset("ucf101", ann, split=k), "train")) for k in (2, 3)] == [9586, 9624]


def test_hmdb51_split1_mmaction_lists(shared_data) -> None:
    ann = shared_data / "hmdb51" / "splits_mmaction"
    records = load_dataset("hmdb51", ann, split=1)
    classes = list_classes("hmdb51", ann)
    train, test = subset(records, "train"), subset(records, "test")
    assert len(classes) == 51 and len(train) == 3570 and len(test) == 1530
    assert set(Counter(r.label for r in train).values()) == {70}
    assert set(Counter(r.label for r in test).values()) == {30}
    assert {r.label for r in records} == set(classes)


def test_kinetics_label_maps_and_val_list(shared_data) -> None:
    ann = shared_data / "kinetics"
    sizes = {name: len(list_classes(name, ann)) for name in ("kinetics400", "kinetics600", "kinetics700")}
    assert sizes == {"kinetics400": 400, "kinetics600": 600, "kinetics700": 700}
    records = load_dataset("kinetics400", ann)
    assert len(records) == 13733 and {r.subset for r in records} == {"val"}
    assert {r.label for r in records} <= set(list_classes("kinetics400", ann))
