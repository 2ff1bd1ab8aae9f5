"""``action2vec labels`` end to end through ``main([...])``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from action2vec.cli.main import main
from action2vec.errors import DataError


@pytest.fixture(scope="module")
def wordnet_available() -> None:
    from action2vec.text import load_wordnet

    try:
        load_wordnet()
    except DataError as exc:
        pytest.skip(str(exc))


def test_labels_command_prints_and_writes_json(tmp_path: Path, capsys, wordnet_available) -> None:
    ann = tmp_path / "ucf"
    ann.mkdir()
    (ann / "classInd.txt").write_bytes(b"1 PlayingViolin\r\n2 CleanAndJerk\r\n3 PlayingCello\r\n")
    vectors = {"play": [1.0, 0.0], "violin": [0.0, 1.0], "weightlift": [1.0, 1.0]}
    (tmp_path / "v.json").write_text(json.dumps(vectors))
    out_json = tmp_path / "labels.json"
    code = main(
        [
            "labels",
            "--dataset",
            "ucf101",
            "--annotations",
            str(ann),
            "--text",
            f"vectors:{tmp_path / 'v.json'}",
            "--json",
            str(out_json),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "play violin" in printed and "missing: cello" in printed and "3 classes" in printed
    rows = json.loads(out_json.read_text())["classes"]
    assert [(r["name"], r["phrase"], r["verb"], r["nouns"], r["missing_words"]) for r in rows] == [
        ("PlayingViolin", "play violin", "play", ["violin"], []),
        ("CleanAndJerk", "weightlift", "weightlift", [], []),
        ("PlayingCello", "play cello", "play", ["cello"], ["cello"]),
    ]

    (ann / "classInd.txt").write_bytes(b"1 PlayingViolin\r\n2 CleanAndJerk\r\n")
    code = main(
        [
            "labels",
            "--dataset",
            "ucf101",
            "--annotations",
            str(ann),
            "--text",
            f"vectors:{tmp_path / 'v.json'}",
            "--save-vectors",
            str(tmp_path / "lv"),
        ]
    )
    assert code == 0
    from action2vec.text import LabelVectors

    lv = LabelVectors.load(tmp_path / "lv")
    np.testing.assert_allclose(lv.lookup(["PlayingViolin"])[0], np.array([0.5, 0.5]) / np.sqrt(0.5))


def test_labels_command_reports_bad_input_in_one_line(tmp_path: Path, capsys, wordnet_available) -> None:
    classes = tmp_path / "classes.txt"
    classes.write_text("PlayingDaf\n")
    overrides = tmp_path / "over.yaml"
    overrides.write_text("PlayingDafff: play daf\n")
    assert main(["labels", "--classes", str(classes), "--overrides", str(overrides)]) == 2
    err = capsys.readouterr().err.strip()
    assert "over.yaml: 'PlayingDafff' is not one of the 1 class names" in err and len(err.splitlines()) == 1
    assert main(["labels", "--dataset", "hmdb51", "--annotations", str(tmp_path / "nope")]) == 2
    assert "nope: HMDB51 annotation folder not found" in capsys.readouterr().err


def test_labels_command_lists_every_verb_of_an_a_or_b_name(tmp_path: Path, capsys, wordnet_available) -> None:
    classes = tmp_path / "classes.txt"
    classes.write_text("catching or throwing frisbee\nswinging legs\n")
    out_json = tmp_path / "labels.json"
    assert main(["labels", "--classes", str(classes), "--json", str(out_json)]) == 0
    printed = capsys.readouterr().out
    assert "verbs=catch,throw" in printed and "verbs=swing " in printed
    rows = json.loads(out_json.read_text())["classes"]
    assert [(r["verb"], r["verbs"], r["nouns"]) for r in rows] == [
        ("catch", ["catch", "throw"], ["frisbee"]),
        ("swing", ["swing"], ["legs"]),
    ]
