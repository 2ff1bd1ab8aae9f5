"""The semantic tests assembled once (paper section 4.2), for ``eval wordnet``, ``eval analogy`` and the demo:
class vectors from a store (a model's class means, pooled features) and from label texts, the WordNet
correlation test, the analogy test in both candidate readings, and their pictures.

    vectors = class_vector_sets(classes, store=store, model=model, text_vectors=label_vectors)
    wn = wordnet_experiment(classes, labels, wordnet, vectors, WordNetSettings(), figures=out / "figures")
    pairs = analogy_pairs(labels)
    an = analogy_experiment(classes, pairs, embed_nouns(pairs, "minilm"), ClassVectors("action2vec", vectors["action2vec"]),
                            AnalogySettings(), others=[ClassVectors("text", vectors["text"])])
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence

import numpy as np

from action2vec.config import option
from action2vec.errors import DataError
from action2vec.evaluation.analogy import AnalogyPair, analogy_test
from action2vec.evaluation.findings import class_grouping
from action2vec.evaluation.paired import bootstrap_difference, bootstrap_mean
from action2vec.evaluation.results import AnalogyResult, ClassGrouping, SpearmanDifference, WordNetResult
from action2vec.evaluation.wordnet_correlation import cosine_matrix, select_wordnet_classes, wordnet_test, wup_matrix
from action2vec.experiments.features import store_class_means
from action2vec.extras import can_draw
from action2vec.inference import Action2Vec
from action2vec.store.base import Store
from action2vec.text import LabelVectors, create_embedder

log = logging.getLogger(__name__)

__all__ = [
    "WordNetSettings",
    "AnalogySettings",
    "ClassVectors",
    "class_vector_sets",
    "wordnet_experiment",
    "embed_nouns",
    "analogy_experiment",
    "analogy_tests_only",
    "SemanticInputs",
    "WordNetRun",
    "AnalogyRun",
    "resolve_classes",
    "semantic_text_vectors",
    "run_wordnet_test",
    "run_analogy_test",
]


@dataclass
class WordNetSettings:
    """How the WordNet test reads WordNet and the class vectors."""

    match: Literal["name-or-verb", "name", "verb"] = option(
        "name-or-verb",
        "which WordNet lemma stands for a class: the whole name, its verb, or the name when WordNet has it",
    )
    synsets: Literal["max", "first"] = option(
        "max", "Wu-Palmer over all verb-sense pairs (max) or the first sense of each"
    )
    keep_diagonal: bool = option(False, "keep each class's similarity with itself in its row")
    max_videos_per_class: int = option(0, "average at most N videos per class (0: all)", ge=0)


@dataclass
class AnalogySettings:
    """The reading of the analogy test that an output names first (the other candidate set is scored too)."""

    metric: Literal["euclidean", "cosine"] = option("euclidean", "nearest-neighbour distance (the paper: euclidean)")
    normalize: bool = option(True, "unit-normalise class and noun vectors first (else use them raw)")
    exclude_query: bool = option(True, "leave the query class out of the candidates (else every class, as the paper)")
    examples: int = option(12, "examples to list", ge=0)
    max_videos_per_class: int = option(0, "average at most N videos per class (0: all)", ge=0)


@dataclass
class ClassVectors:
    """One set of class vectors for the analogy test: (C, E) rows in the order of the class list."""

    name: str  # e.g. "action2vec", "text", "action2vec, model of split 50-50_seed0"
    vectors: np.ndarray  # (C, E)
    subset: str = ""  # which tests it is scored on ("" = all)
    pairs: Sequence[AnalogyPair] | None = None  # those tests (None = all)


def class_vector_sets(
    classes: Sequence[str],
    *,
    store: Store | None = None,
    model: Action2Vec | None = None,
    text_vectors: LabelVectors | None = None,
    max_per_class: int = 0,
) -> dict[str, np.ndarray]:
    """The class vectors the tests compare, in this order: ``action2vec`` (the model's class means, with
    ``model`` and ``store``), ``text`` (the label vectors), ``pooled`` (class means of pooled backbone
    features, with ``store``). Each (C, E) in the order of ``classes``."""
    out: dict[str, np.ndarray] = {}
    if model is not None:
        if store is None:
            raise DataError("a model's class means need a store (the videos whose embeddings are averaged per class)")
        out["action2vec"] = store_class_means(store, classes, model, max_per_class)
    if text_vectors is not None:
        out["text"] = text_vectors.lookup(classes)
    if store is not None:
        out["pooled"] = store_class_means(store, classes, None, max_per_class)
    return out


def wordnet_experiment(
    classes: Sequence[str],
    labels: Sequence[Any],
    wordnet: Any,
    vectors: dict[str, np.ndarray],
    settings: WordNetSettings,
    *,
    text: str = "",
    features: str = "",
    figures: Path | None = None,
) -> WordNetResult:
    """The WordNet test on the classes found in WordNet. ``labels``: the classes' normalised labels
    (.phrase, .verb, .nouns); ``vectors``: {name: (C, E)} for every class (``class_vector_sets``). The result's
    ``grouping``: whether each set of vectors groups every class by verb or by noun (nearest-neighbour agreement);
    ``map_grouping``: the same in the t-SNE map drawn (with ``figures``), which can tell another story.
    ``features``: what the ``pooled`` vectors read (:func:`describe_features`). ``figures``: also draw the Wu-Palmer and cosine heatmaps and a t-SNE of the first vectors (every class,
    colour: verb, marker: noun)."""
    keep, lemmas, missed = select_wordnet_classes(labels, wordnet, settings.match)
    kept = [classes[i] for i in keep]
    left_out = {classes[i]: reason for i, reason in missed.items()}
    log.info("%d of %d classes found in WordNet", len(kept), len(classes))
    for name, reason in left_out.items():
        log.info("left out of the WordNet test: %s: %s", name, reason)
    if len(kept) < 2:
        raise DataError(f"only {len(kept)} of {len(classes)} classes are in WordNet: the test needs 2")
    reference = wup_matrix(lemmas, wordnet, settings.synsets)
    rows = {name: np.asarray(v)[keep] for name, v in vectors.items()}
    result = wordnet_test(kept, reference, rows, exclude_diagonal=not settings.keep_diagonal)
    result.lemmas, result.synsets, result.match = lemmas, settings.synsets, settings.match
    result.text, result.n_classes_given, result.features = text, len(classes), features
    result.left_out = left_out
    result.intervals = {name: bootstrap_mean(r) for name, r in result.per_row.items()}
    first = next(iter(result.per_row), None)
    result.differences = (
        []
        if first is None
        else [
            SpearmanDifference(first, other, bootstrap_difference(result.per_row[first], r))
            for other, r in result.per_row.items()
            if other != first
        ]
    )
    verbs, nouns = [label.verb for label in labels], [label.nouns[0] if label.nouns else "" for label in labels]
    result.grouping = {name: class_grouping(v, verbs, nouns) for name, v in vectors.items()}
    if figures is not None and can_draw("the WordNet heatmaps and class map"):
        result.map_grouping = _wordnet_figures(figures, reference, rows, kept, vectors, classes, verbs, nouns)
    return result


def _wordnet_figures(
    folder: Path,
    reference: np.ndarray,
    rows: dict[str, np.ndarray],
    kept: list[str],
    vectors: dict[str, np.ndarray],
    classes: Sequence[str],
    verbs: list[str],
    nouns: list[str],
) -> dict[str, ClassGrouping]:
    """Draw the heatmaps and the t-SNE map of the first vectors; returns how that map groups the classes."""
    from action2vec.reports.plots import embedding_2d, plot_class_map, plot_similarity_heatmaps, save_figure

    save_figure(
        plot_similarity_heatmaps(reference, {k: cosine_matrix(v) for k, v in rows.items()}, kept),
        folder / "wordnet_heatmaps",
    )
    first = next(iter(vectors))
    xy = embedding_2d(vectors[first])
    save_figure(
        plot_class_map(
            vectors[first],
            list(classes),
            groups=verbs,
            shapes=nouns,
            xy=xy,
            title=f"t-SNE of the {first} class vectors",
        ),
        folder / f"tsne_{first}",
    )
    return {first: class_grouping(xy, verbs, nouns, metric="euclidean")}


def embed_nouns(pairs: Sequence[AnalogyPair], spec: str | Any, oov: str = "error") -> dict[str, np.ndarray]:
    """T(·) of the analogy test: every noun text of the pairs embedded with the embedder ``spec`` (a spec, or an
    embedder object from :func:`create_embedder`, which a caller embedding nouns again and again keeps)."""
    nouns = sorted({p.noun_a for p in pairs} | {p.noun_b for p in pairs})
    try:
        embedder = create_embedder(spec, oov=oov) if isinstance(spec, str) else spec
        return dict(zip(nouns, embedder.embed(nouns)))
    except Exception as exc:  # an OOV word or a mapping without the noun
        name = spec if isinstance(spec, str) else getattr(spec, "name", type(spec).__name__)
        raise DataError(
            f"cannot embed the nouns with {name}: {exc} (give a word embedder with --noun-text, or use --count-only)"
        ) from None


def analogy_experiment(
    classes: Sequence[str],
    pairs: Sequence[AnalogyPair],
    noun_vectors: dict[str, np.ndarray],
    main: ClassVectors,
    settings: AnalogySettings,
    others: Sequence[ClassVectors] = (),
    *,
    text: str = "",
    figures: Path | None = None,
) -> AnalogyResult:
    """The analogy test of ``main`` in the reading of ``settings``, with ``scores``: that reading and the other
    candidate set (query class left out / every class), each for ``main`` and then ``others``."""
    dims = {len(v) for v in noun_vectors.values()}
    if dims and dims != {main.vectors.shape[1]}:
        raise DataError(
            f"noun vectors are {sorted(dims)[0]}-d but class vectors {main.vectors.shape[1]}-d: the nouns "
            "must be embedded in the text space the model was trained on"
        )

    def run(cv: ClassVectors, exclude: bool, examples: int) -> AnalogyResult:
        return analogy_test(
            cv.vectors,
            noun_vectors,
            pairs if cv.pairs is None else cv.pairs,
            classes,
            metric=settings.metric,
            normalize=settings.normalize,
            n_examples=examples,
            exclude_query=exclude,
        )

    result = run(main, settings.exclude_query, settings.examples)
    result.class_vectors, result.text = main.name, text
    result.scores = [
        (result if cv is main and exclude == settings.exclude_query else run(cv, exclude, 0)).score(cv.name, cv.subset)
        for exclude in (settings.exclude_query, not settings.exclude_query)
        for cv in (main, *others)
    ]
    if figures is not None and result.examples and can_draw("the analogy examples"):
        from action2vec.reports.plots import analogy_figure_stem, plot_analogy_examples, save_figure

        save_figure(plot_analogy_examples(result.examples), figures / "analogy_examples")
        for cv in others:  # another model's class vectors (a split's model) get their examples too
            if cv.name != "text" and cv.pairs is None:
                shown = run(cv, settings.exclude_query, settings.examples).examples
                save_figure(
                    plot_analogy_examples(shown, title=f"Vector-arithmetic analogies, {cv.name}"),
                    figures / analogy_figure_stem(cv.name),
                )
    return result


def analogy_tests_only(classes: Sequence[str], pairs: Sequence[AnalogyPair]) -> AnalogyResult:
    """The tests the analogy test would run, without vectors: count, per-verb counts and the class pairs."""
    per_verb: dict[str, dict[str, float]] = {}
    for p in pairs:
        per_verb.setdefault(p.verb, {"count": 0})["count"] += 1
    return AnalogyResult(
        count=len(pairs),
        correct=0,
        accuracy=float("nan"),
        chance=float("nan"),
        per_verb=per_verb,
        examples=[],
        n_classes=len(classes),
        tests=[(classes[p.a], classes[p.b]) for p in pairs],
    )


@dataclass
class SemanticInputs:
    """Which classes a semantic test uses, the vectors it compares and how class names become text: what the
    options of ``action2vec eval wordnet|analogy`` name.

    Classes come from ``dataset`` (with ``annotations``), else ``classes``, else the labels of ``store``; with a
    store, only those with videos. ``model`` (needs ``store``): a trained model folder, whose class means are
    compared. ``text``: the label-text embedder ("": the one the model records, else minilm); ``oov`` ("": the
    model's when it made the same embedder's vectors, else error); ``wordnet``: WordNet 3.0 database folder.
    """

    dataset: str = ""
    annotations: Path | None = None
    classes: list[str] | None = None
    store: Path | None = None
    model: Path | None = None
    text: str = ""
    overrides: Path | None = None
    oov: str = ""
    wordnet: Path | None = None


@dataclass
class WordNetRun:
    """Everything ``action2vec eval wordnet`` runs: inputs, settings, and where the pictures go (None: none)."""

    inputs: SemanticInputs = field(default_factory=SemanticInputs)
    settings: WordNetSettings = field(default_factory=WordNetSettings)
    figures: Path | None = None


@dataclass
class AnalogyRun:
    """Everything ``action2vec eval analogy`` runs. ``noun_text``: the nouns' embedder ("": the label texts');
    ``count_only``: only generate the tests (no vectors needed)."""

    inputs: SemanticInputs = field(default_factory=SemanticInputs)
    settings: AnalogySettings = field(default_factory=AnalogySettings)
    noun_text: str = ""
    count_only: bool = False
    figures: Path | None = None


def resolve_classes(inputs: SemanticInputs, store: Store | None = None) -> list[str]:
    """The class list from the data set, the given classes or the store (restricted to the store's classes)."""
    from action2vec.datasets import list_classes

    if inputs.dataset:
        if inputs.annotations is None:
            raise DataError("--dataset needs --annotations (the folder or file with the class list)")
        names = list_classes(inputs.dataset, inputs.annotations)
    elif inputs.classes:
        names = list(inputs.classes)
    elif store is not None:
        names = store.classes
    else:
        raise DataError("say which classes to use: --dataset with --annotations, --classes FILE, or --store")
    if store is not None:
        have = set(store.classes)
        absent = [n for n in names if n not in have]
        if absent:
            log.warning(
                "%d classes have no videos in %s and are left out, e.g. %s", len(absent), store.path, absent[:3]
            )
        names = [n for n in names if n in have]
    if len(names) < 2:
        raise DataError(f"need at least 2 classes, got {len(names)}")
    return list(dict.fromkeys(names))


def _open_store(inputs: SemanticInputs) -> Store | None:
    """The store the inputs name (a model needs one)."""
    from action2vec.store import open_store

    if inputs.model and not inputs.store:
        raise DataError("--model needs --store (the videos whose embeddings are averaged per class)")
    return open_store(inputs.store) if inputs.store else None


def semantic_text_vectors(
    inputs: SemanticInputs, names: Sequence[str], model: Action2Vec | None, wordnet: Any
) -> tuple[LabelVectors, str, str]:
    """The label-text vectors of ``names``, their embedder's spec and oov policy: ``inputs.text``/``oov``, else the
    embedder (with its prompts and oov policy) that made the model's label vectors, else minilm / error."""
    from action2vec.text import build_label_vectors
    from action2vec.text.embedders import embedder_spec

    recorded = model.text if model is not None else ""
    spec = embedder_spec(inputs.text) if inputs.text else recorded or "minilm"  # compared in the form a model records
    same = bool(recorded) and spec == recorded
    prompts = model.prompts if same and model is not None else ()
    oov = inputs.oov or (model.label_vectors.oov if same and model is not None else "") or "error"
    text = build_label_vectors(list(names), spec, overrides=inputs.overrides, oov=oov, wordnet=wordnet, prompts=prompts)
    return text, spec, oov


def run_wordnet_test(run: WordNetRun) -> WordNetResult:
    """The WordNet test as ``action2vec eval wordnet`` runs it: label-text vectors always, a model's class means
    (with ``model`` and ``store``) and pooled features (with ``store``), against WordNet's Wu-Palmer similarities."""
    from action2vec.config import check_ranges
    from action2vec.experiments.features import describe_features
    from action2vec.text import load_wordnet
    from action2vec.text.normalize import normalize_labels

    check_ranges(run.settings, "wordnet")
    store = _open_store(run.inputs)
    names = resolve_classes(run.inputs, store)
    wn = load_wordnet(run.inputs.wordnet)
    labels = normalize_labels(names, run.inputs.overrides, wordnet=wn)
    model = Action2Vec.load(run.inputs.model) if run.inputs.model else None
    text, spec, _ = semantic_text_vectors(run.inputs, names, model, wn)
    vectors = class_vector_sets(
        names, store=store, model=model, text_vectors=text, max_per_class=run.settings.max_videos_per_class
    )
    features = describe_features(store.meta, store.dim, pooled=True) if store is not None else ""
    return wordnet_experiment(
        names, labels, wn, vectors, run.settings, text=spec, figures=run.figures, features=features
    )


def run_analogy_test(run: AnalogyRun) -> AnalogyResult:
    """The analogy test as ``action2vec eval analogy`` runs it: a model's class means (with ``model`` and
    ``store``, beside the label-text vectors when they share its space) or, text-only, the label-text vectors;
    the nouns embedded with ``noun_text`` (default: the label texts' embedder). With ``count_only`` (or no test
    among the classes), only the tests."""
    from action2vec.config import check_ranges
    from action2vec.evaluation.analogy import analogy_pairs
    from action2vec.text import load_wordnet
    from action2vec.text.normalize import normalize_labels

    check_ranges(run.settings, "analogy")
    store = _open_store(run.inputs)
    names = resolve_classes(run.inputs, store)
    wn = load_wordnet(run.inputs.wordnet)
    pairs = analogy_pairs(normalize_labels(names, run.inputs.overrides, wordnet=wn))
    if run.count_only or not pairs:
        return analogy_tests_only(names, pairs)
    model = Action2Vec.load(run.inputs.model) if run.inputs.model else None
    text, spec, oov = semantic_text_vectors(run.inputs, names, model, wn)
    if model is not None and store is not None:
        main = ClassVectors("action2vec", store_class_means(store, names, model, run.settings.max_videos_per_class))
        others = [ClassVectors("text", text.vectors)] if text.dim == model.embed_dim else []
    else:
        main, others = ClassVectors("text", text.vectors), []
    nouns = embed_nouns(pairs, run.noun_text or spec, oov=oov)
    return analogy_experiment(names, pairs, nouns, main, run.settings, others, text=spec, figures=run.figures)
