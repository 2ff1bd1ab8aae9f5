"""The vector-arithmetic analogy test (paper Table 4, Figures 3–4).

For every ordered pair of classes (a, b) that share a verb with different nouns:
    q = A2V(verb noun_a) − T(noun_a) + T(noun_b)
passes when the nearest class vector to q is b. A2V(·) is a class vector (the mean video embedding of the
class, or in text-only mode the class's label vector), T(·) the text vector of the nouns.

Two readings of "nearest", a switch (``exclude_query``): among all classes except a (the default: the query
is left out, as gensim's most_similar leaves out its query words; chance 1/(C−1)), or among all classes, as
the paper searches "the vector space of action classes" (chance 1/C). Vectors are unit-normalised first by
default (``normalize``), or used raw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from scipy.spatial.distance import cdist

from action2vec.evaluation.results import AnalogyExample, AnalogyResult
from action2vec.linalg import l2_normalize

__all__ = ["AnalogyPair", "analogy_pairs", "analogy_test"]


@dataclass(frozen=True)
class AnalogyPair:
    """Query class ``a`` and target class ``b`` (indices into the class list), sharing ``verb``."""

    a: int
    b: int
    verb: str
    noun_a: str
    noun_b: str


def analogy_pairs(labels: Sequence[Any]) -> list[AnalogyPair]:
    """Every ordered pair of labels (NormalizedLabel-like: .verb, .nouns, optionally .verbs) that share a
    verb and have different, non-empty nouns, grouped as :func:`action2vec.text.group_by_verb` groups them
    (a label is in the group of each of its verbs; a repeated noun set within a verb keeps only its first
    class). Two classes that share several verbs ("catching or throwing baseball" and "... frisbee" share
    "catch" and "throw") give each ordered pair once, under the first shared verb in sorted order. Pairs
    are sorted by (verb, a, b)."""
    from action2vec.text.normalize import group_by_verb

    position = {id(label): i for i, label in enumerate(labels)}
    out, seen = [], set()
    for verb, group in group_by_verb(list(labels)).items():
        members = sorted(position[id(label)] for label in group)
        for a in members:
            for b in members:
                if a != b and (a, b) not in seen:
                    seen.add((a, b))
                    out.append(AnalogyPair(a, b, verb, " ".join(labels[a].nouns), " ".join(labels[b].nouns)))
    return out


def analogy_test(
    class_vectors: np.ndarray,
    noun_vectors: dict[str, np.ndarray],
    pairs: Sequence[AnalogyPair],
    names: Sequence[str],
    metric: str = "euclidean",
    normalize: bool = True,
    n_examples: int = 12,
    exclude_query: bool = True,
) -> AnalogyResult:
    """Run the analogy test.

    class_vectors: (C, E) one vector per class (same order as ``names``); noun_vectors: noun text ->
    (E,) text vector; metric: ``euclidean`` (paper) or ``cosine``; normalize: scale class and noun
    vectors to unit length first (so video and text vectors are on one scale); exclude_query: leave the
    query class out of the candidates (else every class is a candidate, as in the paper).
    The result holds count, correct, accuracy, chance, per-verb count and accuracy, and ``n_examples``
    examples (passes first, then failures).
    """
    if metric not in ("euclidean", "cosine"):
        raise ValueError(f"unknown analogy metric {metric!r} (euclidean, cosine)")
    classes = np.asarray(class_vectors, np.float64)
    if normalize:
        classes = l2_normalize(classes, dtype=None)
    if not pairs:
        return AnalogyResult(0, 0, float("nan"), float("nan"), {}, [], metric, normalize, exclude_query)

    def noun(text: str) -> np.ndarray:
        v = np.asarray(noun_vectors[text], np.float64)
        return l2_normalize(v, dtype=None) if normalize else v

    queries = np.stack([classes[p.a] - noun(p.noun_a) + noun(p.noun_b) for p in pairs])  # (P, E)
    dist = cdist(queries, classes, "sqeuclidean" if metric == "euclidean" else "cosine")  # (P, C)
    if exclude_query:
        dist[np.arange(len(pairs)), [p.a for p in pairs]] = np.inf  # leave the query class out
    nearest = dist.argmin(axis=1)
    correct = nearest == np.array([p.b for p in pairs])
    per_verb: dict[str, dict] = {}
    for verb in sorted({p.verb for p in pairs}):
        mask = np.array([p.verb == verb for p in pairs])
        per_verb[verb] = {"count": int(mask.sum()), "accuracy": float(correct[mask].mean())}
    order = list(np.flatnonzero(correct)[: (n_examples + 1) // 2]) + list(np.flatnonzero(~correct)[: n_examples // 2])
    examples = [
        AnalogyExample(
            names[pairs[i].a],
            pairs[i].noun_a,
            pairs[i].noun_b,
            names[pairs[i].b],
            names[int(nearest[i])],
            bool(correct[i]),
        )
        for i in sorted(order)
    ]
    return AnalogyResult(
        count=len(pairs),
        correct=int(correct.sum()),
        accuracy=float(correct.mean()),
        chance=1.0 / (len(classes) - 1 if exclude_query else len(classes)),
        per_verb=per_verb,
        examples=examples,
        metric=metric,
        normalize=normalize,
        exclude_query=exclude_query,
        n_classes=len(classes),
    )
