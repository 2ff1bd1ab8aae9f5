"""Class splits: ratios, seeds, disjointness, JSON round trip, ER-ZSAR files, overlap filtering."""

import json
from pathlib import Path

import numpy as np
import pytest

from action2vec.errors import DataError
from action2vec.evaluation.splits import (
    load_er_zsar_splits,
    load_splits,
    name_overlap,
    overlap_filter,
    parse_ratio,
    random_splits,
    save_splits,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CLASSES = [f"class{i:03d}" for i in range(101)]


def test_random_splits_sizes_disjoint_and_seeded():
    splits = random_splits(CLASSES, ratios=("50/50", "80/20", "90/10"), seeds=range(10))
    assert len(splits) == 30
    for s in splits:
        assert not set(s.seen) & set(s.unseen)
        assert sorted(s.seen + s.unseen) == CLASSES
    by_ratio = {r: [s for s in splits if s.ratio == r] for r in ("50/50", "80/20", "90/10")}
    assert {len(s.unseen) for s in by_ratio["50/50"]} == {50}
    assert {len(s.unseen) for s in by_ratio["80/20"]} == {20}
    assert {len(s.unseen) for s in by_ratio["90/10"]} == {10}
    assert len({tuple(s.unseen) for s in by_ratio["50/50"]}) == 10  # seeds differ
    again = random_splits(list(reversed(CLASSES)), ratios=("50/50",), seeds=[3])[0]
    assert again.unseen == by_ratio["50/50"][3].unseen  # same seed, same split, any input order


def test_save_load_round_trip(tmp_path):
    splits = random_splits(CLASSES[:20], ratios=("80/20",), seeds=range(3))
    path = save_splits(splits, tmp_path / "splits.json")
    assert load_splits(path) == splits


def test_bad_split_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"format": "action2vec-splits", "splits": [{"name": "x", "seen": ["a", "b"], "unseen": ["b"]}]})
    )
    with pytest.raises(DataError, match="both sides"):
        load_splits(bad)
    (tmp_path / "other.json").write_text("[]")
    with pytest.raises(DataError, match="not an action2vec split file"):
        load_splits(tmp_path / "other.json")
    with pytest.raises(DataError, match="not found"):
        load_splits(tmp_path / "missing.json")
    with pytest.raises(DataError, match="ratio"):
        parse_ratio("60/30")


def test_er_zsar_format_written_here(tmp_path):
    names = [f"c{i}" for i in range(10)]
    (tmp_path / "trn_class_idxs.json").write_text(json.dumps([[0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5]]))
    (tmp_path / "val_class_idxs.json").write_text(json.dumps([[6], [7]]))
    (tmp_path / "tst_class_idxs.json").write_text(json.dumps([[7, 8, 9], [6, 8, 9]]))
    splits = load_er_zsar_splits(tmp_path, names)
    assert [s.unseen for s in splits] == [["c7", "c8", "c9"], ["c6", "c8", "c9"]]
    assert splits[0].val == ["c6"]
    (tmp_path / "tst_class_idxs.json").write_text(json.dumps([[5, 8, 9], [6, 8, 9]]))
    with pytest.raises(DataError, match="both sides"):
        load_er_zsar_splits(tmp_path, names)


def test_er_zsar_real_kinetics_splits():
    folder = SHARED / "kinetics" / "er_zsar"
    if not (folder / "trn_class_idxs.json").is_file():
        pytest.skip("shared Kinetics ER-ZSAR files absent")
    splits = load_splits(folder)
    assert len(splits) == 3
    for s in splits:
        assert (len(s.seen), len(s.val), len(s.unseen)) == (400, 60, 160)
        assert not set(s.seen) & set(s.unseen)
    k400 = (SHARED / "kinetics" / "label_map_k400.txt").read_text().split("\n")
    assert set(splits[0].seen) == {c.strip() for c in k400 if c.strip()}


def test_overlap_filter_against_naive():
    rng = np.random.default_rng(0)
    names = [f"n{i}" for i in range(30)]
    vecs = {n: rng.standard_normal(5) for n in names}
    vecs["n1"] = vecs["n20"] * 3 + 0.01  # nearly the same direction as a test class
    seen, unseen = names[:20], names[20:]
    kept, dropped = overlap_filter(seen, unseen, vecs, threshold=0.9)
    assert "n1" in dropped and dropped["n1"][0] == "n20"
    for s in seen:
        best = max(float(vecs[s] @ vecs[u] / np.linalg.norm(vecs[s]) / np.linalg.norm(vecs[u])) for u in unseen)
        assert (s in dropped) == (best >= 0.9)
    assert sorted(kept + list(dropped)) == sorted(seen)
    assert name_overlap(["Playing Guitar", "surfing"], ["playing_guitar", "archery"]) == ["Playing Guitar"]
