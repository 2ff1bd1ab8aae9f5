"""``action2vec labels``: show how class names become text (phrase, verb, nouns) and, optionally, vectors.

action2vec labels --dataset ucf101 --annotations ucfTrainTestlist
action2vec labels --dataset hmdb51 --annotations splits --text word2vec:GoogleNews.bin --json labels.json
action2vec labels --classes my_classes.txt --text minilm --save-vectors out/
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "labels",
        help="show each class name's phrase, verbs and nouns (and words the text embedder lacks)",
        description="Normalise the class names of a data set into phrases, verbs and nouns (an 'A or B' "
        "name lists both verbs, the first is its verb); with --text, "
        "list the words the text embedder lacks and optionally save the label vectors.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", help="ucf101, hmdb51, kinetics400, kinetics600, kinetics700 or custom")
    source.add_argument("--classes", type=Path, help="a file with one class name per line")
    parser.add_argument("--annotations", type=Path, help="the data set's annotation folder or file")
    parser.add_argument(
        "--text",
        help="text embedder spec: minilm, sentence-transformers:X, hf:PATH (the text "
        "tower of a local CLIP/SigLIP/X-CLIP folder), word2vec:P, "
        "glove:P, fasttext:P, vectors:P (default: none, only normalise)",
    )
    parser.add_argument("--overrides", type=Path, help="YAML file of class name: phrase (on top of the built-in one)")
    parser.add_argument("--definitions", type=Path, help="class definitions (JSON/YAML) appended to phrases")
    parser.add_argument(
        "--oov",
        default="error",
        choices=["error", "skip", "subword"],
        help="word-vector policy for words not in the vocabulary (default: error)",
    )
    parser.add_argument(
        "--wordnet", type=Path, help="a WordNet 3.0 database folder (default: nltk's, else /usr/share/wordnet)"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the table as JSON")
    parser.add_argument(
        "--save-vectors", type=Path, metavar="DIR", help="write labels.json + label_vectors.safetensors (needs --text)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from action2vec.datasets import list_classes
    from action2vec.datasets.base import read_class_list
    from action2vec.errors import DataError
    from action2vec.io import write_json
    from action2vec.text import build_label_vectors, load_wordnet
    from action2vec.text.embedders import create_embedder
    from action2vec.text.normalize import normalize_labels

    if args.dataset:
        if args.annotations is None:
            raise DataError("--dataset needs --annotations (the folder or file with the class list)")
        names = list_classes(args.dataset, args.annotations)
    else:
        names = read_class_list(args.classes)
    if args.save_vectors and not args.text:
        raise DataError("--save-vectors needs --text SPEC")
    wordnet = load_wordnet(args.wordnet)
    labels = normalize_labels(names, args.overrides, wordnet=wordnet)

    embedder = create_embedder(args.text, oov=args.oov) if args.text else None
    rows = []
    for label in labels:
        row = {
            "name": label.name,
            "phrase": label.phrase,
            "verb": label.verb,
            "verbs": list(label.verbs),
            "nouns": list(label.nouns),
            "source": label.source,
        }
        if embedder is not None:
            key_for = getattr(embedder, "key_for", None)
            lacks = getattr(embedder, "missing_words", None)
            row["missing_words"] = [] if (key_for and key_for(label.name)) or lacks is None else lacks(label.phrase)
        rows.append(row)

    width = max(len(r["name"]) for r in rows)
    phrase_width = max(len(r["phrase"]) for r in rows)
    for r in rows:
        extra = f"  missing: {' '.join(r['missing_words'])}" if r.get("missing_words") else ""
        mark = "*" if r["source"] != "rules" else " "
        print(
            f"{r['name']:<{width}} {mark} {r['phrase']:<{phrase_width}}  verbs={','.join(r['verbs']) or '-':<12} "
            f"nouns={','.join(r['nouns']) or '-'}{extra}"
        )
    no_verb = sum(not r["verb"] for r in rows)
    missing = sum(bool(r.get("missing_words")) for r in rows)
    print(
        f"{len(rows)} classes; {sum(r['source'] != 'rules' for r in rows)} from overrides (*); "
        f"{no_verb} without a verb" + (f"; {missing} with words {args.text} lacks" if embedder else "")
    )
    if args.json:
        write_json({"classes": rows, "text": args.text}, args.json)
        print(f"wrote {args.json}")
    if args.save_vectors:
        vectors = build_label_vectors(
            names, embedder, overrides=args.overrides, oov=args.oov, definitions=args.definitions, wordnet=wordnet
        )
        vectors.save(args.save_vectors)
        print(f"wrote {len(vectors)} label vectors ({vectors.dim}-d) to {args.save_vectors}")
    return 0
