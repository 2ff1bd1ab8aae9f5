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
    """The options that say which classes to use and how their names become text (SemanticInputs)."""
    g = p.add_argument_group("classes and label texts")
    g.add_argument("--dataset", help="data set whose class list to use: ucf101, hmdb51, kinetics400/600/700, custom")
    g.add_argument("--annotations", type=Path, help="the data set's annotation folder or label-map file")
    g.add_argument("--classes", type=Path, metavar="FILE", help="class list, one name per line (restricts --store)")
    g.add_argument("--store", type=Path, help=store_help)
    g.add_argument(
        "--text",
        metavar="SPEC",
        help="label-text embedder: minilm, sentence-transformers:X, word2vec:P, glove:P, fasttext:P, vectors:P, hf:P "
        "(default: the one --model records, else minilm)",
    )
    g.add_argument("--overrides", type=Path, help="class-name overrides YAML (over the built-in ones)")
    g.add_argument(
        "--oov",
        choices=["error", "skip", "subword"],
        help="word-vector policy for unknown words (default: the one --model records, else error)",
    )
    g.add_argument(
        "--wordnet", type=Path, help="WordNet 3.0 database folder (default: nltk's, else /usr/share/wordnet)"
    )


def semantic_inputs(args: argparse.Namespace) -> Any:
    """SemanticInputs from the class-source options (the class list file read here)."""
    from action2vec.datasets.base import read_class_list
    from action2vec.experiments.semantic import SemanticInputs

    return SemanticInputs(
        dataset=args.dataset or "",
        annotations=args.annotations,
        classes=read_class_list(args.classes) if args.classes and not args.dataset else None,
        store=args.store,
        model=args.model,
        text=args.text or "",
        overrides=args.overrides,
        oov=args.oov or "",
        wordnet=args.wordnet,
    )


def register(sub: argparse._SubParsersAction) -> None:
    from action2vec.config import add_config_alias, add_config_arguments
    from action2vec.experiments.semantic import AnalogySettings, WordNetSettings

    p = sub.add_parser(
        "eval",
        help="semantic evaluation: WordNet correlation and vector-arithmetic analogies",
        description="Semantic tests of class embeddings (paper section 4.2).",
    )
    tests = p.add_subparsers(dest="test", metavar="TEST", required=True)

    w = tests.add_parser(
        "wordnet",
        help="Spearman correlation of cosine similarities with WordNet Wu-Palmer (Table 3)",
        description="For the classes found in WordNet, build the Wu-Palmer similarity matrix and compare each "
        "embedding's cosine matrix with it by Spearman correlation per row, averaged over rows. Embeddings: "
        "label-text vectors (always), Action2Vec class means (--model and --store), pooled backbone features "
        "(--store). The test's settings are the --wordnet.key options.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_class_source(w, "feature store: classes, Action2Vec class means (with --model) and pooled features")
    w.add_argument("--model", type=Path, metavar="DIR", help="trained model folder (needs --store)")
    add_config_arguments(w, WordNetSettings, "wordnet")
    old = w.add_argument_group("older spellings of --wordnet.key options")
    add_config_alias(old, "--synsets", "wordnet.synsets", choices=["max", "first"])
    add_config_alias(old, "--match", "wordnet.match", choices=["name-or-verb", "name", "verb"])
    add_config_alias(old, "--keep-diagonal", "wordnet.keep_diagonal", const=True)
    add_config_alias(old, "--max-videos-per-class", "wordnet.max_videos_per_class")
    _common(w)
    w.set_defaults(func=run_wordnet)

    a = tests.add_parser(
        "analogy",
        help="vector arithmetic: A2V(verb n1) - T(n1) + T(n2) nearest A2V(verb n2)? (Table 4)",
        description="Every ordered pair of classes sharing a verb with different nouns is a test. Class vectors "
        "are Action2Vec class means (--model and --store) or, text-only, the label vectors; T() embeds the "
        "nouns with --noun-text (default: --text). The test's settings are the --analogy.key options; the JSON "
        "holds the reading they name and the score of the other candidate set.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_class_source(a, "feature store: classes, and Action2Vec class means with --model")
    a.add_argument("--model", type=Path, metavar="DIR", help="trained model folder (needs --store)")
    a.add_argument("--noun-text", metavar="SPEC", help="embedder for the nouns (default: --text)")
    a.add_argument("--count-only", action="store_true", help="only generate the tests (no vectors needed)")
    add_config_arguments(a, AnalogySettings, "analogy")
    old = a.add_argument_group("older spellings of --analogy.key options")
    add_config_alias(old, "--metric", "analogy.metric", choices=["euclidean", "cosine"])
    add_config_alias(old, "--no-normalize", "analogy.normalize", const=False)
    add_config_alias(old, "--exclude-query", "analogy.exclude_query", choices=["yes", "no"])
    add_config_alias(old, "--examples", "analogy.examples")
    add_config_alias(old, "--max-videos-per-class", "analogy.max_videos_per_class")
    _common(a)
    a.set_defaults(func=run_analogy)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", metavar="FILE", help="write the result as JSON to FILE ('-' for stdout)")
    p.add_argument("--figures", type=Path, metavar="DIR", help="write pictures (PNG and SVG) into DIR")


def _say(args: argparse.Namespace, text: str) -> None:
    """Human-readable lines: stdout, or stderr when the JSON goes to stdout (``--json -``)."""
    import sys

    print(text, file=sys.stderr if args.json == "-" else sys.stdout)


def wordnet_run(args: argparse.Namespace) -> Any:
    from action2vec.config import config_from_args
    from action2vec.experiments.semantic import WordNetRun, WordNetSettings

    settings = config_from_args(WordNetSettings, args, prefix="wordnet")
    return WordNetRun(semantic_inputs(args), settings, figures=args.figures)


def analogy_run(args: argparse.Namespace) -> Any:
    from action2vec.config import config_from_args
    from action2vec.experiments.semantic import AnalogyRun, AnalogySettings

    settings = config_from_args(AnalogySettings, args, prefix="analogy")
    return AnalogyRun(
        semantic_inputs(args),
        settings,
        noun_text=args.noun_text or "",
        count_only=args.count_only,
        figures=args.figures,
    )


def run_wordnet(args: argparse.Namespace) -> int:
    from action2vec.experiments.semantic import run_wordnet_test
    from action2vec.reports.findings import grouping_finding, wordnet_finding

    run = wordnet_run(args)
    result = run_wordnet_test(run)
    _say(
        args,
        f"WordNet test: {result.n_classes} of {result.n_classes_given} classes in WordNet "
        f"(synsets={run.settings.synsets}, match={run.settings.match})",
    )
    for key, value in result.spearman_by.items():
        ci = result.intervals.get(key)
        around = f", 95 % bootstrap interval {ci.low:.4f} to {ci.high:.4f}" if ci is not None and ci.n else ""
        _say(args, f"  WordNet vs {key:<10} Spearman {value:.4f} (± {result.spearman_std[key]:.4f} over rows{around})")
    for d in result.differences:
        i = d.interval
        _say(
            args,
            f"  {d.a} − {d.b}: {i.mean:+.4f} over {i.n} rows, 95 % bootstrap interval {i.low:+.4f} to "
            f"{i.high:+.4f} ({i.resamples} resamples of the rows, seed {i.seed})",
        )
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
    from action2vec.experiments.semantic import run_analogy_test
    from action2vec.reports.findings import analogy_findings

    run = analogy_run(args)
    settings = run.settings
    result = run_analogy_test(run)
    if not result.scores:  # the tests only (--count-only, or no test among the classes)
        _say(args, f"{result.count} analogy tests over {len(result.per_verb)} verbs among {result.n_classes} classes")
        write_json(result.to_json(), args.json)
        return 0
    other = next(
        s for s in result.scores if s.vectors == result.class_vectors and s.exclude_query != settings.exclude_query
    )
    _say(
        args,
        f"analogy test ({result.class_vectors} class vectors, {settings.metric}, query class "
        f"{'left out' if settings.exclude_query else 'a candidate'}): {result.count} tests, "
        f"accuracy {result.accuracy:.4f} (chance {result.chance:.4f}); "
        f"with the query class {'a candidate' if settings.exclude_query else 'left out'}: {other.accuracy:.4f}",
    )
    for finding in analogy_findings(result):
        _say(args, f"  {finding.text}")
    for ex in result.examples:
        _say(args, f"  [{'ok ' if ex.correct else 'bad'}] {ex.query} - {ex.minus} + {ex.plus} -> {ex.nearest}")
    write_json(result.to_json(), args.json)
    return 0
