"""``action2vec classify``: label videos (stored features or feature arrays) with any list of label texts."""

from __future__ import annotations

import argparse

from action2vec.cli.common import add_json_option, read_lines, write_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "classify",
        help="classify videos against any list of label texts",
        description="Embed videos with a trained model and rank label texts by cosine similarity. Videos are "
        "taken from a feature store (--store) or a .npy array of features (--features, (T, D) or (N, T, D)).",
    )
    p.add_argument("--model", required=True, metavar="DIR", help="model folder (RUN_DIR/model)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--store", help="feature store whose videos to classify")
    src.add_argument("--features", metavar="NPY", help="feature array (T, D) or (N, T, D) in a .npy file")
    p.add_argument("--keys", nargs="*", help="only these video keys of the store")
    p.add_argument("--labels", help="comma-separated label texts (default: the model's training classes)")
    p.add_argument("--labels-file", help="file with one label text per line")
    p.add_argument("--top-k", type=int, default=5, help="labels reported per video")
    p.add_argument("--device", default="cpu", help="torch device")
    add_json_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from action2vec.errors import DataError
    from action2vec.inference import Action2Vec

    model = Action2Vec.load(args.model, device=args.device)
    labels = None
    if args.labels:
        labels = [t.strip() for t in args.labels.split(",") if t.strip()]
    if args.labels_file:
        labels = (labels or []) + read_lines(args.labels_file)
    if labels is not None and not labels:
        raise DataError("no label texts given")
    if args.store:
        from action2vec.store import open_store

        store = open_store(args.store)
        idx = [store.index_of(k) for k in args.keys] if args.keys else list(range(len(store)))
        keys = [store.keys[i] for i in idx]
        feats, lengths = store.read_many(idx), store.lengths[idx]
    else:
        try:
            arr = np.load(args.features, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read features {args.features}: {exc}") from None
        arr = arr[None] if arr.ndim == 2 else arr
        feats, lengths = list(arr), None
        keys = [f"{args.features}[{i}]" for i in range(len(arr))]
    preds = model.classify(feats, lengths, labels, top_k=args.top_k)
    rows = []
    for key, p in zip(keys, preds):
        print(f"{key}\t" + "\t".join(f"{lab} ({s:.3f})" for lab, s in zip(p.labels, p.scores)))
        rows.append({"video": key, "labels": p.labels, "scores": p.scores})
    write_json(rows, args.json)
    return 0
