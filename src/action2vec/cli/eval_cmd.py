"""``action2vec eval wordnet`` and ``action2vec eval analogy``: the semantic tests (paper Tables 3–4).

    action2vec eval wordnet --dataset ucf101 --annotations ucfTrainTestlist --text word2vec:GoogleNews.bin
    action2vec eval wordnet --store ucf.h5 --model runs/ucf/model --json wordnet.json --figures figs/
    action2vec eval analogy --classes label_map_k400.txt --count-only
    action2vec eval analogy --store ucf.h5 --model runs/ucf/model --text minilm --json analogy.json

Class lists come from a data set (``--dataset`` + ``--annotations``), a label map (``--classes``), or
the labels of ``--store``. Both tests work text-only (class vectors = label-text vectors) without a store.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from action2vec.io import write_json

log = logging.getLogger(__name__)


def add_class_source(p: argparse.ArgumentParser, store_help: str) -> None:
    """The options that say which classes to use and how their names become text."""
    g = p.add_argument_group("classes and label texts")
    g.add_argument("--dataset", help="data set whose class list to use: ucf101, hmdb51, kinetics400/600/700, custom")
    g.add_argument("--annotations", type=Path, help="the data set's annotation folder or label-map file")
    g.add_argument("--classes", type=Path, metavar="FILE", help="class list, one name per line (restricts --store)")
    g.add_argument("--store", type=Path, help=store_help)
    g.add_argument("--text", metavar="SPEC",
                   help="label-text embedder: minilm, sentence-transformers:X, word2vec:P, glove:P, fasttext:P, vectors:P, hf:P "
                   "(default: the one --model records, else minilm)")
    g.add_argument("--overrides", type=Path, help="class-name overrides YAML (over the built-in ones)")
    g.add_argument("--oov", choices=["error", "skip", "subword"],
                   help="word-vector policy for unknown words (default: the one --model records, else error)")
    g.add_argument("--wordnet", type=Path, help="WordNet 3.0 database folder (default: nltk's, else /usr/share/wordnet)")


def resolve_classes(args: argparse.Namespace, store: Any | None = None) -> list[str]:
    """The class list from --dataset/--annotations, --classes or the store (restricted by --classes)."""
    from action2vec.datasets import list_classes
    from action2vec.datasets.base import read_class_list
    from action2vec.errors import DataError

    if args.dataset:
        if args.annotations is None:
            raise DataError("--dataset needs --annotations (the folder or file with the class list)")
        names = list_classes(args.dataset, args.annotations)
    elif args.classes:
        names = read_class_list(args.classes)
    elif store is not None:
        names = store.classes
    else:
        raise DataError("say which classes to use: --dataset with --annotations, --classes FILE, or --store")
    if store is not None:
        have = set(store.classes)
        absent = [n for n in names if n not in have]
        if absent:
            log.warning("%d classes have no videos in %s and are left out, e.g. %s", len(absent), store.path, absent[:3])
        names = [n for n in names if n in have]
    if len(names) < 2:
        raise DataError(f"need at least 2 classes, got {len(names)}")
    return list(dict.fromkeys(names))


def register(sub: argparse._SubParsersAction) -> None:
    from action2vec.cli.common import range_help
    from action2vec.experiments.semantic import AnalogySettings, WordNetSettings

    p = sub.add_parser("eval", help="semantic evaluation: WordNet correlation and vector-arithmetic analogies",
                       description="Semantic tests of class embeddings (paper section 4.2).")
    tests = p.add_subparsers(dest="test", metavar="TEST", required=True)

    w = tests.add_parser(
        "wordnet", help="Spearman correlation of cosine similarities with WordNet Wu-Palmer (Table 3)",
        description="For the classes found in WordNet, build the Wu-Palmer similarity matrix and compare each "
        "embedding's cosine matrix with it by Spearman correlation per row, averaged over rows. Embeddings: "
        "label-text vectors (always), Action2Vec class means (--model and --store), pooled backbone features "
        "(--store).", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_class_source(w, "feature store: classes, Action2Vec class means (with --model) and pooled features")
    w.add_argument("--model", type=Path, metavar="DIR", help="trained model folder (needs --store)")
    w.add_argument("--synsets", default="max", choices=["max", "first"],
                   help="Wu-Palmer over all verb-sense pairs (max) or the first sense of each")
    w.add_argument("--match", default="name-or-verb", choices=["name-or-verb", "name", "verb"],
                   help="which WordNet lemma stands for a class: the whole name, its verb, or the name when WordNet has it")
    w.add_argument("--keep-diagonal", action="store_true", help="keep each class's similarity with itself in its row")
    w.add_argument("--max-videos-per-class", type=int, default=0, help="average at most N videos per class (0: all)"
                   + range_help(WordNetSettings, "max_videos_per_class"))
    _common(w)
    w.set_defaults(func=run_wordnet)

    a = tests.add_parser(
        "analogy", help="vector arithmetic: A2V(verb n1) - T(n1) + T(n2) nearest A2V(verb n2)? (Table 4)",
        description="Every ordered pair of classes sharing a verb with different nouns is a test. Class vectors "
        "are Action2Vec class means (--model and --store) or, text-only, the label vectors; T() embeds the "
        "nouns with --noun-text (default: --text).", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_class_source(a, "feature store: classes, and Action2Vec class means with --model")
    a.add_argument("--model", type=Path, metavar="DIR", help="trained model folder (needs --store)")
    a.add_argument("--noun-text", metavar="SPEC", help="embedder for the nouns (default: --text)")
    a.add_argument("--metric", default="euclidean", choices=["euclidean", "cosine"], help="nearest-neighbour distance")
    a.add_argument("--no-normalize", action="store_true",
                   help="use raw vectors (default: unit-normalise class and noun vectors first)")
    a.add_argument("--exclude-query", default="yes", choices=["yes", "no"],
                   help="leave the query class out of the candidates (yes), or search every class as the paper (no); "
                   "the JSON holds this reading and the score of the other one")
    a.add_argument("--count-only", action="store_true", help="only generate the tests (no vectors needed)")
    a.add_argument("--examples", type=int, default=12, help="examples to list" + range_help(AnalogySettings, "examples"))
    a.add_argument("--max-videos-per-class", type=int, default=0, help="average at most N videos per class (0: all)"
                   + range_help(AnalogySettings, "max_videos_per_class"))
    _common(a)
    a.set_defaults(func=run_analogy)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", metavar="FILE", help="write the result as JSON to FILE ('-' for stdout)")
    p.add_argument("--figures", type=Path, metavar="DIR", help="write pictures (PNG and SVG) into DIR")


def _open_store(args: argparse.Namespace) -> Any:
    from action2vec.errors import DataError
    from action2vec.store import open_store

    if args.model and not args.store:
        raise DataError("--model needs --store (the videos whose embeddings are averaged per class)")
    return open_store(args.store) if args.store else None


def _model(args: argparse.Namespace) -> Any:
    from action2vec.inference import Action2Vec

    return Action2Vec.load(args.model) if args.model else None


def _text_vectors(args: argparse.Namespace, names: list[str], model: Any, wordnet: Any) -> tuple[Any, str, str]:
    """The label-text vectors of ``names``, their embedder's spec and oov policy: --text / --oov, else the
    embedder (with its prompts and oov policy) that made the model's label vectors, else minilm / error."""
    from action2vec.text import build_label_vectors
    from action2vec.text.embedders import embedder_spec

    recorded = model.text_embedder if model is not None else ""
    spec = embedder_spec(args.text) if args.text else recorded or "minilm"  # compared in the form a model records
    same = bool(recorded) and spec == recorded
    prompts = model.prompts if same else ()
    oov = args.oov or (model.label_vectors.oov if same else "") or "error"
    text = build_label_vectors(names, spec, overrides=args.overrides, oov=oov, wordnet=wordnet, prompts=prompts)
    return text, spec, oov


def _say(args: argparse.Namespace, text: str) -> None:
    """Human-readable lines: stdout, or stderr when the JSON goes to stdout (``--json -``)."""
    import sys

    print(text, file=sys.stderr if args.json == "-" else sys.stdout)


def run_wordnet(args: argparse.Namespace) -> int:
    from action2vec.cli.common import check_option_ranges
    from action2vec.experiments.features import describe_features
    from action2vec.experiments.semantic import WordNetSettings, class_vector_sets, wordnet_experiment
    from action2vec.reports.findings import grouping_finding, wordnet_finding
    from action2vec.text import load_wordnet
    from action2vec.text.normalize import normalize_labels

    check_option_ranges(args, WordNetSettings, {"--max-videos-per-class": "max_videos_per_class"})
    settings = WordNetSettings(match=args.match, synsets=args.synsets, keep_diagonal=args.keep_diagonal,
                               max_videos_per_class=args.max_videos_per_class)
    store = _open_store(args)
    names = resolve_classes(args, store)
    wn = load_wordnet(args.wordnet)
    labels = normalize_labels(names, args.overrides, wordnet=wn)
    model = _model(args)
    text, spec, oov = _text_vectors(args, names, model, wn)
    vectors = class_vector_sets(names, store=store, model=model, text_vectors=text,
                                max_per_class=settings.max_videos_per_class)
    result = wordnet_experiment(names, labels, wn, vectors, settings, text=spec, figures=args.figures,
                                features=describe_features(store.meta, store.dim, pooled=True) if store is not None else "")

    _say(args, f"WordNet test: {result.n_classes} of {len(names)} classes in WordNet (synsets={args.synsets}, "
               f"match={args.match})")
    for key, value in result.spearman_by.items():
        ci = result.intervals.get(key)
        around = f", 95 % bootstrap interval {ci.low:.4f} to {ci.high:.4f}" if ci is not None and ci.n else ""
        _say(args, f"  WordNet vs {key:<10} Spearman {value:.4f} (± {result.spearman_std[key]:.4f} over rows{around})")
    for d in result.differences:
        i = d.interval
        _say(args, f"  {d.a} − {d.b}: {i.mean:+.4f} over {i.n} rows, 95 % bootstrap interval {i.low:+.4f} to "
                   f"{i.high:+.4f} ({i.resamples} resamples of the rows, seed {i.seed})")
    if result.left_out:
        _say(args, f"  left out ({len(result.left_out)}):")
        for name, reason in result.left_out.items():
            _say(args, f"    {name}: {reason}")
    for finding in (wordnet_finding(result), grouping_finding(result)):
        if finding is not None:
            _say(args, f"  {finding.text}")
    write_json(result.to_json(), args.json)
    return 0


def run_analogy(args: argparse.Namespace) -> int:
    from action2vec.cli.common import check_option_ranges
    from action2vec.evaluation.analogy import analogy_pairs
    from action2vec.experiments.semantic import (
        AnalogySettings,
        ClassVectors,
        analogy_experiment,
        analogy_tests_only,
        embed_nouns,
    )
    from action2vec.experiments.features import store_class_means
    from action2vec.reports.findings import analogy_findings
    from action2vec.text import load_wordnet
    from action2vec.text.normalize import normalize_labels

    check_option_ranges(args, AnalogySettings, {"--examples": "examples", "--max-videos-per-class": "max_videos_per_class"})
    settings = AnalogySettings(metric=args.metric, normalize=not args.no_normalize,
                               exclude_query=args.exclude_query == "yes", examples=args.examples,
                               max_videos_per_class=args.max_videos_per_class)
    store = _open_store(args)
    names = resolve_classes(args, store)
    wn = load_wordnet(args.wordnet)
    pairs = analogy_pairs(normalize_labels(names, args.overrides, wordnet=wn))
    if args.count_only or not pairs:
        result = analogy_tests_only(names, pairs)
        _say(args, f"{len(pairs)} analogy tests over {len(result.per_verb)} verbs among {len(names)} classes")
        write_json(result.to_json(), args.json)
        return 0

    model = _model(args)
    text, spec, oov = _text_vectors(args, names, model, wn)
    if model is not None:
        main = ClassVectors("action2vec", store_class_means(store, names, model, settings.max_videos_per_class))
        others = [ClassVectors("text", text.vectors)] if text.dim == model.embed_dim else []
    else:
        main, others = ClassVectors("text", text.vectors), []
    nouns = embed_nouns(pairs, args.noun_text or spec, oov=oov)
    result = analogy_experiment(names, pairs, nouns, main, settings, others, text=spec, figures=args.figures)
    other = next(s for s in result.scores if s.vectors == main.name and s.exclude_query != settings.exclude_query)
    _say(args, f"analogy test ({main.name} class vectors, {args.metric}, query class "
          f"{'left out' if settings.exclude_query else 'a candidate'}): {result.count} tests, "
          f"accuracy {result.accuracy:.4f} (chance {result.chance:.4f}); "
          f"with the query class {'a candidate' if settings.exclude_query else 'left out'}: {other.accuracy:.4f}")
    for finding in analogy_findings(result):
        _say(args, f"  {finding.text}")
    for ex in result.examples:
        _say(args, f"  [{'ok ' if ex.correct else 'bad'}] {ex.query} - {ex.minus} + {ex.plus} -> {ex.nearest}")
    write_json(result.to_json(), args.json)
    return 0
