"""The WordNet test: row-wise Spearman against scipy, lemma choice, Wu-Palmer on the real WordNet."""

from types import SimpleNamespace

import numpy as np
import pytest
from scipy.stats import spearmanr

from action2vec.evaluation.wordnet_correlation import (
    cosine_matrix,
    rowwise_spearman,
    select_wordnet_classes,
    wordnet_lemma,
    wordnet_test,
    wup_matrix,
)


def _wordnet():
    try:
        from action2vec.text import load_wordnet

        return load_wordnet()
    except Exception as exc:  # not installed here, or the text module not ready
        pytest.skip(f"WordNet not available: {exc}")


def test_rowwise_spearman_equals_scipy_per_row():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((15, 15))
    b = a + rng.standard_normal((15, 15))
    a[3, :5] = 0.25  # ties, as Wu-Palmer matrices have
    rows = rowwise_spearman(a, b, exclude_diagonal=False)
    for i in range(15):
        assert rows[i] == pytest.approx(spearmanr(a[i], b[i]).statistic)
    rows_off = rowwise_spearman(a, b)
    for i in range(15):
        keep = np.arange(15) != i
        assert rows_off[i] == pytest.approx(spearmanr(a[i, keep], b[i, keep]).statistic)
    const = rowwise_spearman(np.ones((3, 3)), a[:3, :3])
    assert np.isnan(const).all()


def test_wordnet_test_identical_and_shuffled():
    rng = np.random.default_rng(1)
    vecs = rng.standard_normal((12, 6))
    ref = cosine_matrix(vecs)
    out = wordnet_test([f"c{i}" for i in range(12)], ref, {"same": vecs, "noise": rng.standard_normal((12, 6))})
    assert out.spearman == out.spearman_by["same"] == pytest.approx(1.0)
    assert abs(out.spearman_by["noise"]) < 0.5
    assert out.n_classes == 12 and len(out.per_row["same"]) == 12


def test_wordnet_lemma_choice_with_a_fake_wordnet():
    fake = SimpleNamespace(synsets=lambda w, pos=None: ["x"] if w in {"rock_climbing", "climb", "play"} else [])
    assert wordnet_lemma("rock climbing", "climb", fake) == "rock_climbing"
    assert wordnet_lemma("rock climbing", "climb", fake, match="verb") == "climb"
    assert wordnet_lemma("play violin", "play", fake) == "play"
    assert wordnet_lemma("play violin", "play", fake, match="name") is None
    labels = [SimpleNamespace(phrase="play violin", verb="play"), SimpleNamespace(phrase="zzz", verb="")]
    keep, lemmas, left_out = select_wordnet_classes(labels, fake)
    assert (keep, lemmas) == ([0], ["play"]) and list(left_out) == [1]
    assert "neither the name 'zzz'" in left_out[1] and "none was found" in left_out[1]


def test_hyphenated_and_joined_verbs_are_found_in_the_spelling_wordnet_holds():
    held = {"blow-dry", "hula_hoop", "bodysurf", "tie-dye"}
    fake = SimpleNamespace(synsets=lambda w, pos=None: ["x"] if w in held else [])
    assert wordnet_lemma("blow dry hair", "blow_dry", fake) == "blow-dry"
    assert wordnet_lemma("hula-hoop", "hula-hoop", fake) == "hula_hoop"
    assert wordnet_lemma("body surf", "body-surf", fake) == "bodysurf"
    assert wordnet_lemma("tie dye shirt", "tie_dye", fake, match="verb") == "tie-dye"
    assert wordnet_lemma("blow dry", "", fake, match="verb") is None


def test_wup_matrix_on_real_wordnet():
    wn = _wordnet()
    m = wup_matrix(["run", "walk", "swim", "archery"], wn, synsets="first")
    assert m[0, 1] == pytest.approx(wn.synset("run.v.01").wup_similarity(wn.synset("walk.v.01")))
    assert m[0, 3] == 0.0  # verb vs noun: no common hierarchy
    assert np.allclose(m, m.T) and np.allclose(np.diag(m), 1.0)
    mx = wup_matrix(["run", "walk", "swim"], wn, synsets="max")
    assert (mx >= m[:3, :3] - 1e-12).all()  # the max over sense pairs is at least the first senses'
    best = max(a.wup_similarity(b) for a in wn.synsets("run", pos="v") for b in wn.synsets("walk", pos="v"))
    assert mx[0, 1] == pytest.approx(best)


def test_the_wordnet_result_says_which_features_the_pooled_row_read(tmp_path):
    from action2vec.evaluation.results import WordNetResult
    from action2vec.experiments.features import describe_features
    from action2vec.experiments.semantic import WordNetSettings, class_vector_sets, wordnet_experiment
    from action2vec.store import open_store
    from action2vec.testing import make_synthetic_store
    from action2vec.text import LabelVectors
    from action2vec.text.normalize import normalize_labels

    wn = _wordnet()
    classes = ["play violin", "ride horse", "throw ball", "kick ball"]
    lv = LabelVectors(classes, np.eye(4, 6, dtype=np.float32))
    store = open_store(make_synthetic_store(tmp_path / "s.h5", lv, videos_per_class=2, steps=4))
    vectors = class_vector_sets(classes, store=store, text_vectors=lv)
    result = wordnet_experiment(
        classes,
        normalize_labels(classes, wordnet=wn),
        wn,
        vectors,
        WordNetSettings(),
        features=describe_features(store.meta, store.dim, pooled=True),
    )
    assert result.features.startswith("pooled ") and f"({store.dim}-d)" in result.features
    assert WordNetResult.from_json(result.to_json()).features == result.features


def test_ucf101_keeps_every_class_and_a_missing_one_is_listed(wn, shared_data):
    """Issue 19: UCF101's hyphenated verbs (blow-dry, hula-hoop) resolve, so no class leaves the test; a class
    WordNet lacks in every spelling is listed with its reason."""
    from action2vec.datasets.base import read_class_list
    from action2vec.text.normalize import normalize_labels

    names = read_class_list(shared_data / "ucf101/ucfTrainTestlist/classInd.txt")
    labels = normalize_labels([*names, "zorbling"], wordnet=wn)
    keep, lemmas, left_out = select_wordnet_classes(labels, wn)
    assert len(keep) == len(names) == 101 and list(left_out) == [101]
    assert "'zorbling'" in left_out[101] and "in WordNet" in left_out[101]
    assert {lemmas[keep.index(names.index(n))] for n in ("BlowDryHair", "HulaHoop")} == {"blow-dry", "hula-hoop"}


def test_wordnet_experiment_records_intervals_differences_and_left_out(wn):
    from action2vec.evaluation.paired import bootstrap_difference, bootstrap_mean
    from action2vec.evaluation.results import WordNetResult
    from action2vec.experiments.semantic import WordNetSettings, wordnet_experiment
    from action2vec.text.normalize import normalize_labels

    names = ["run", "walk", "swim", "jump", "climb", "throw ball", "kick ball", "zorbling"]
    labels = normalize_labels(names, wordnet=wn)
    rng = np.random.default_rng(0)
    vectors = {"text": rng.standard_normal((8, 5)), "pooled": rng.standard_normal((8, 5))}
    result = wordnet_experiment(names, labels, wn, vectors, WordNetSettings())
    assert result.n_classes == 7 and list(result.left_out) == ["zorbling"]
    assert result.intervals["text"] == bootstrap_mean(result.per_row["text"])
    (d,) = result.differences
    assert (d.a, d.b) == ("text", "pooled") and d.interval == bootstrap_difference(
        result.per_row["text"], result.per_row["pooled"]
    )
    assert d.interval.low <= d.interval.mean <= d.interval.high
    again = WordNetResult.from_json(result.to_json())
    assert again.left_out == result.left_out and again.differences == result.differences
