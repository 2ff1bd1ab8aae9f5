"""Class-name normalisation, overrides and grouping by verb."""

from __future__ import annotations

from pathlib import Path

import pytest

from action2vec.errors import DataError
from action2vec.text import NormalizedLabel, group_by_verb, normalize_label, normalize_labels
from action2vec.text.normalize import builtin_overrides, override_key, split_words


def test_split_words() -> None:
    assert split_words("ApplyEyeMakeup") == ["apply", "eye", "makeup"]
    assert split_words("brush_hair") == ["brush", "hair"]
    assert split_words("massaging person's head") == ["massaging", "person", "head"]
    assert split_words("passing American football (not in game)") == ["passing", "American", "football"]
    assert split_words("PlayingTV") == ["playing", "tv"]


@pytest.mark.parametrize(
    "name, phrase, verb, nouns",
    [
        ("PlayingViolin", "play violin", "play", ("violin",)),
        ("walking", "walk", "walk", ()),
        ("CleanAndJerk", "weightlift", "weightlift", ()),  # paper's override
        ("clean and jerk", "weightlift", "weightlift", ()),  # same override, other spelling
        ("brush_hair", "brush hair", "brush", ("hair",)),
        ("JavelinThrow", "javelin throw", "throw", ("javelin",)),  # compound noun: last verb word
        ("ThrowDiscus", "throw discus", "throw", ("discus",)),  # mainly a verb: first word
        ("HeadMassage", "head massage", "massage", ("head",)),
        ("canoeing or kayaking", "canoe or kayak", "canoe", ()),
        ("catching or throwing frisbee", "catch or throw frisbee", "catch", ("frisbee",)),
        ("petting animal (not cat)", "pet animal", "pet", ("animal",)),
        ("curling (sport)", "curl sport", "curl", ("sport",)),
        ("passing American football (in game)", "pass American football in game", "pass",
         ("American", "football", "game")),
        ("using remote controller (not gaming)", "use remote controller", "use", ("remote", "controller")),
        ("bartending", "bartending", "bartend", ()),  # unknown -ing word, stem ends in a verb
        ("BoxingPunchingBag", "box punch bag", "box", ("bag",)),
    ],
)
def test_rules(wn, name, phrase, verb, nouns) -> None:
    label = normalize_label(name, wordnet=wn)
    assert (label.phrase, label.verb, label.nouns) == (phrase, verb, nouns)
    assert label.name == name


def test_user_overrides_file_wins_and_typos_are_reported(wn, tmp_path: Path) -> None:
    path = tmp_path / "overrides.yaml"
    path.write_text("PlayingDaf: {phrase: play frame drum, nouns: [drum]}\nJumpRope: skip rope\n")
    labels = normalize_labels(["PlayingDaf", "JumpRope", "CleanAndJerk"], path, wordnet=wn)
    assert [(l.phrase, l.verb, l.nouns) for l in labels] == [
        ("play frame drum", "play", ("drum",)), ("skip rope", "skip", ("rope",)), ("weightlift", "weightlift", ())]
    assert labels[0].source == str(path) and labels[2].source.endswith("label_overrides.yaml")

    path.write_text("PlayingDaff: play daf\n")
    with pytest.raises(DataError, match=r"overrides\.yaml: 'PlayingDaff' is not one of the 2 class names "
                                        r"\(did you mean 'PlayingDaf'\?\)"):
        normalize_labels(["PlayingDaf", "JumpRope"], path, wordnet=wn)
    path.write_text("PlayingDaf: {phrase: play daf, verbs: play}\n")
    with pytest.raises(DataError, match="unknown keys: verbs"):
        normalize_labels(["PlayingDaf"], path, wordnet=wn)
    path.write_text("PlayingDaf: [play]\n")
    with pytest.raises(DataError, match="must be a phrase"):
        normalize_labels(["PlayingDaf"], path, wordnet=wn)
    with pytest.raises(DataError, match="overrides file not found"):
        normalize_labels(["PlayingDaf"], tmp_path / "none.yaml", wordnet=wn)
    with pytest.raises(DataError, match="class list is empty"):
        normalize_labels([], wordnet=wn)


def test_builtin_overrides_are_readable() -> None:
    table = builtin_overrides()
    assert table["CleanAndJerk"].phrase == "weightlift"
    assert all(entry.phrase for entry in table.values())
    assert override_key("CleanAndJerk") == override_key("clean and jerk") == "cleanandjerk"


def _real_class_names(shared_data: Path) -> dict[str, list[str]]:
    from action2vec.datasets import list_classes

    out = {
        "ucf101": list_classes("ucf101", shared_data / "ucf101" / "ucfTrainTestlist"),
        "hmdb51": list_classes("hmdb51", shared_data / "hmdb51" / "splits_mmaction"),
    }
    for name in ("kinetics400", "kinetics600", "kinetics700"):
        out[name] = list_classes(name, shared_data / "kinetics")
    return out


def test_every_real_class_name_gets_a_verb(wn, shared_data: Path) -> None:
    """All UCF101, HMDB51 and Kinetics names normalise; each gets a verb or is an override."""
    builtin = {override_key(n) for n in builtin_overrides()}
    for dataset, names in _real_class_names(shared_data).items():
        labels = normalize_labels(names, wordnet=wn)
        assert len(labels) == len(names)
        for label in labels:
            assert label.phrase.strip(), (dataset, label)
            assert label.verb or override_key(label.name) in builtin, (dataset, label)
        phrases = [l.phrase.lower() for l in labels]
        assert len(set(phrases)) == len(phrases), dataset  # no two classes collapse onto one text
    by_name = {l.name: l for l in normalize_labels(_real_class_names(shared_data)["ucf101"], wordnet=wn)}
    assert by_name["PlayingViolin"].phrase == "play violin" and by_name["CleanAndJerk"].phrase == "weightlift"


def test_group_by_verb_needs_two_noun_sets() -> None:
    labels = [
        NormalizedLabel("PlayingCello", "play cello", "play", ("cello",)),
        NormalizedLabel("Punch", "punch", "punch", ()),
        NormalizedLabel("PlayingFlute", "play flute", "play", ("flute",)),
        NormalizedLabel("ride_bike", "ride bike", "ride", ("bike",)),
        NormalizedLabel("playing flute", "play flute", "play", ("flute",)),  # same nouns: left out
        NormalizedLabel("punching bag", "punch bag", "punch", ("bag",)),
        NormalizedLabel("Archery", "archery", "", ("archery",)),
    ]
    groups = group_by_verb(labels)
    assert {v: [l.name for l in g] for v, g in groups.items()} == {"play": ["PlayingCello", "PlayingFlute"]}
    loose = group_by_verb(labels, require_nouns=False)
    assert [l.name for l in loose["punch"]] == ["Punch", "punching bag"]
    assert [l.name for l in loose["play"]] == ["PlayingCello", "PlayingFlute", "playing flute"]
    assert list(loose) == ["play", "punch"]
    assert list(group_by_verb(labels, min_size=1)) == ["play", "punch", "ride"]


def test_group_by_verb_on_ucf101(wn, shared_data: Path) -> None:
    labels = normalize_labels(_real_class_names(shared_data)["ucf101"], wordnet=wn)
    groups = group_by_verb(labels)
    instruments = {"cello", "daf", "dhol", "flute", "guitar", "piano", "sitar", "tabla", "violin"}
    assert instruments <= {l.nouns[0] for l in groups["play"]}
    assert {l.name for l in groups["play"]} - {f"Playing{i.capitalize()}" for i in instruments} == {
        "Basketball", "Billiards", "YoYo"}  # "play ..." from the built-in overrides
    assert all(len({l.nouns for l in g}) == len(g) >= 2 for g in groups.values())


def test_base_form_ing_words_and_verb_noun_pairs(wn) -> None:
    """'ring'/'swing' are not gerunds; in 'verb noun' names the more verb-like word is the verb."""
    cases = {"grow ring": ("grow", ("ring",)), "swing dancing": ("dance", ("swing",)),
             "slide ball": ("slide", ("ball",)), "ringing bell": ("ring", ("bell",)),
             "pillow fight": ("fight", ("pillow",)), "JavelinThrow": ("throw", ("javelin",))}
    for name, (verb, nouns) in cases.items():
        label = normalize_label(name, wordnet=wn)
        assert (label.verb, tuple(label.nouns)) == (verb, nouns), name
