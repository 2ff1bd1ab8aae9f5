"""The WordNet correlation test (paper Table 3): how well an embedding's class similarities rank like WordNet's.

For the classes found in WordNet: the Wu-Palmer similarity matrix W (C, C) is the reference; for each
embedding (class vectors (C, E)) the cosine matrix S (C, C) is compared with W row by row by Spearman
rank correlation, and the row correlations are averaged. The diagonal (a class with itself) is left out
of each row by default, since it is the maximum of both matrices and would only add agreement.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
from scipy.stats import rankdata

from action2vec.evaluation.results import WordNetResult
from action2vec.linalg import l2_normalize

log = logging.getLogger(__name__)

__all__ = [
    "wordnet_lemma",
    "wup_matrix",
    "cosine_matrix",
    "rowwise_spearman",
    "wordnet_test",
    "select_wordnet_classes",
    "lemma_forms",
    "left_out_reason",
]


def lemma_forms(text: str) -> list[str]:
    """The spellings WordNet may hold a phrase or compound verb under, as written first: "blow-dry" ->
    ["blow-dry", "blow_dry", "blowdry"]; "hula hoop" -> ["hula_hoop", "hula-hoop", "hulahoop"]."""
    text = text.lower().strip()
    kept = text.replace("_", " ").split()  # hyphens as written
    parts = text.replace("-", " ").replace("_", " ").split()
    if not parts:
        return []
    forms = ["_".join(kept), "_".join(parts), "-".join(parts), "".join(parts)]
    return list(dict.fromkeys(forms))


def left_out_reason(phrase: str, verb: str, match: str = "name-or-verb") -> str:
    """Why :func:`wordnet_lemma` found no lemma for a class (the forms it tried)."""
    name = f"the name {phrase!r}" + f" ({', '.join(lemma_forms(phrase))})"
    said = f"its verb {verb!r} ({', '.join(lemma_forms(verb))})" if verb else "a verb (none was found in the name)"
    if match == "name":
        return f"{name} is not a WordNet lemma (match: name)"
    if match == "verb":
        return f"{said} is not in WordNet" if verb else "no verb was found in the name (match: verb)"
    return f"neither {name} nor {said} is in WordNet"


def wordnet_lemma(phrase: str, verb: str, wordnet: Any, match: str = "name-or-verb") -> str | None:
    """The WordNet lemma standing for a class, or None when it is not in WordNet.

    ``match``: ``name`` = the whole phrase must be a WordNet lemma ("rock climbing" -> rock_climbing);
    ``verb`` = the class's verb; ``name-or-verb`` (default) = the phrase when WordNet has it, else the verb.
    Each is tried in every spelling WordNet uses (:func:`lemma_forms`: hyphen, underscore, joined).
    """
    if match not in ("name", "verb", "name-or-verb"):
        raise ValueError(f"unknown WordNet match {match!r} (name, verb, name-or-verb)")
    candidates = []
    if match in ("name", "name-or-verb"):
        candidates += lemma_forms(phrase)
    if match in ("verb", "name-or-verb") and verb:
        candidates += lemma_forms(verb)
    for cand in candidates:
        if wordnet.synsets(cand):
            return cand
    return None


def _synsets(wordnet: Any, lemma: str, mode: str) -> list:
    verbs = wordnet.synsets(lemma, pos="v")
    syns = verbs or wordnet.synsets(lemma)
    if mode == "first":
        return syns[:1]
    if mode == "max":
        return syns
    raise ValueError(f"unknown synset mode {mode!r} (max, first)")


def _wup(a: Any, b: Any) -> float:
    """Wu-Palmer similarity of two synsets; 0 across parts of speech (no common hierarchy)."""
    if (a.pos() == "v") != (b.pos() == "v"):
        return 0.0
    try:
        return float(a.wup_similarity(b) or 0.0)
    except Exception:  # nltk raises for some cross-POS pairs
        return 0.0


@contextmanager
def _memoized_hypernym_paths() -> Iterator[None]:
    """Cache nltk's per-synset breadth-first hypernym search while a matrix is built.

    ``Synset.wup_similarity`` recomputes both synsets' hypernym distances on every call; a class list
    of a few hundred verbs makes that the whole cost. Results are identical, several times faster.
    """
    from nltk.corpus.reader.wordnet import Synset

    original = Synset._shortest_hypernym_paths
    cache: dict[tuple[str, bool], dict] = {}

    def cached(self: Any, simulate_root: bool) -> dict:
        key = (self._name, bool(simulate_root))
        if key not in cache:
            cache[key] = original(self, simulate_root)
        return cache[key]

    Synset._shortest_hypernym_paths = cached
    try:
        yield
    finally:
        Synset._shortest_hypernym_paths = original


def wup_matrix(lemmas: Sequence[str], wordnet: Any, synsets: str = "max") -> np.ndarray:
    """Wu-Palmer similarity of every pair of WordNet lemmas. (C,) -> (C, C) float64.

    Verb senses are used when a lemma has any, else all its senses. ``synsets``: ``max`` = the highest
    similarity over all sense pairs; ``first`` = the first (most frequent) sense of each. Pairs with no
    common hierarchy (e.g. a noun and a verb) get 0.
    """
    unique = sorted(set(lemmas))
    senses = [_synsets(wordnet, lemma, synsets) for lemma in unique]
    n = len(unique)
    sim = np.eye(n)
    cache: dict[tuple[str, str], float] = {}
    with _memoized_hypernym_paths():
        for i in range(n):
            for j in range(i + 1, n):
                best = 0.0
                for a in senses[i]:
                    for b in senses[j]:
                        key = (a.name(), b.name()) if a.name() < b.name() else (b.name(), a.name())
                        if key not in cache:
                            cache[key] = _wup(a, b)
                        best = max(best, cache[key])
                sim[i, j] = sim[j, i] = best
    pos = np.array([unique.index(lemma) for lemma in lemmas], dtype=np.int64)
    out = sim[np.ix_(pos, pos)]
    np.fill_diagonal(out, 1.0)
    return out


def cosine_matrix(vectors: np.ndarray) -> np.ndarray:
    """Cosine similarity of every pair of rows. (C, E) -> (C, C) float64."""
    v = l2_normalize(vectors, dtype=np.float64)
    return v @ v.T


def rowwise_spearman(a: np.ndarray, b: np.ndarray, exclude_diagonal: bool = True) -> np.ndarray:
    """Spearman correlation of row i of ``a`` with row i of ``b``. (C, C), (C, C) -> (C,).

    Ties get average ranks (as scipy.stats.spearmanr); a constant row gives NaN.
    """
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if exclude_diagonal:
        n = a.shape[0]
        keep = ~np.eye(n, dtype=bool)
        a = a[keep].reshape(n, n - 1)
        b = b[keep].reshape(n, n - 1)
    ra = rankdata(a, axis=1)
    rb = rankdata(b, axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    den = np.sqrt((ra**2).sum(axis=1) * (rb**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (ra * rb).sum(axis=1) / np.where(den > 0, den, 1.0), np.nan)


def wordnet_test(
    names: Sequence[str],
    reference: np.ndarray,
    embeddings: dict[str, np.ndarray],
    exclude_diagonal: bool = True,
) -> WordNetResult:
    """Compare each embedding's cosine matrix with the reference (Wu-Palmer) matrix.

    names: (C,) class names; reference: (C, C); embeddings: {name: (C, E) class vectors}. The result's
    ``spearman`` is the first embedding's mean over rows; ``spearman_by`` every embedding's.
    """
    result = WordNetResult(classes=list(names), spearman_by={}, spearman_std={}, per_row={})
    for key, vectors in embeddings.items():
        rows = rowwise_spearman(reference, cosine_matrix(vectors), exclude_diagonal)
        finite = np.isfinite(rows).any()
        result.spearman_by[key] = float(np.nanmean(rows)) if finite else float("nan")
        result.spearman_std[key] = float(np.nanstd(rows)) if finite else float("nan")
        result.per_row[key] = [None if not np.isfinite(r) else float(r) for r in rows]
    return result


def select_wordnet_classes(
    labels: Iterable[Any], wordnet: Any, match: str = "name-or-verb"
) -> tuple[list[int], list[str], dict[int, str]]:
    """Positions and WordNet lemmas of the labels (NormalizedLabel-like: .phrase, .verb) found in WordNet, and
    the positions of the others with the reason each was left out."""
    keep, lemmas, left_out = [], [], {}
    for i, label in enumerate(labels):
        lemma = wordnet_lemma(label.phrase, label.verb, wordnet, match)
        if lemma is not None:
            keep.append(i)
            lemmas.append(lemma)
        else:
            left_out[i] = left_out_reason(label.phrase, label.verb, match)
    return keep, lemmas, left_out
