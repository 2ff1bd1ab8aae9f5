"""``action2vec export``: a trained model's embeddings in word2vec text format (gensim ``KeyedVectors``).

action2vec export runs/ucf/model --out classes.txt
action2vec export runs/ucf/model --out classes.txt --store ucf.h5 --videos videos.txt --class-means means.txt

from gensim.models import KeyedVectors
KeyedVectors.load_word2vec_format("classes.txt").most_similar("play_violin")
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="write class (and video) embeddings in word2vec text format for gensim",
        description="Write a trained model's class embeddings (its label vocabulary, or --classes texts, encoded "
        "into the joint space) in word2vec text format; with --store also per-video embeddings and/or the mean "
        "video embedding of each class. Spaces in names become '_'.",
    )
    p.add_argument("model", type=Path, metavar="MODEL_DIR", help="trained model folder (RUN_DIR/model)")
    p.add_argument("--out", type=Path, required=True, metavar="FILE", help="class embeddings (word2vec text)")
    p.add_argument("--classes", type=Path, metavar="FILE", help="label texts to encode (default: the model's classes)")
    p.add_argument("--store", type=Path, help="feature store whose videos to embed")
    p.add_argument(
        "--videos", type=Path, metavar="FILE", help="per-video embeddings, keyed by video key (needs --store)"
    )
    p.add_argument(
        "--class-means",
        type=Path,
        metavar="FILE",
        help="mean video embedding per labelled class of the store (needs --store)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from action2vec.datasets.base import read_class_list
    from action2vec.errors import DataError
    from action2vec.inference import Action2Vec
    from action2vec.reports.export import write_word2vec

    if (args.videos or args.class_means) and not args.store:
        raise DataError("--videos and --class-means need --store")
    model = Action2Vec.load(args.model)
    names = read_class_list(args.classes) if args.classes else list(model.classes)
    write_word2vec(args.out, names, model.encode_text(names))
    print(f"{len(names)} class embeddings ({model.embed_dim}-d) written to {args.out}")
    if args.store:
        import numpy as np

        from action2vec.evaluation.class_vectors import class_means
        from action2vec.store import open_store

        store = open_store(args.store)
        emb = model.encode_store(store)
        if args.videos:
            write_word2vec(args.videos, store.keys, emb)
            print(f"{len(store)} video embeddings written to {args.videos}")
        if args.class_means:
            labelled = np.array([bool(lab) for lab in store.labels])
            classes = store.classes
            means = class_means(emb[labelled], np.asarray(store.labels)[labelled], classes)
            write_word2vec(args.class_means, classes, means)
            print(f"{len(classes)} class-mean embeddings written to {args.class_means}")
    return 0
