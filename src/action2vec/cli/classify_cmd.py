"""``action2vec classify``: label videos (video files, stored features or feature arrays) with any label texts."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from action2vec.cli.common import add_json_option
from action2vec.io import read_lines, write_json

if TYPE_CHECKING:
    import numpy as np


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "classify",
        help="classify videos against any list of label texts",
        description="Embed videos with a trained model and rank label texts by cosine similarity. Videos are "
        "video files (--video, features extracted with the backbone, clip settings and PCA the model records), "
        "videos of a feature store (--store) or a .npy array of features (--features, (T, D) or (N, T, D)). "
        "New label texts are embedded with the text embedder and prompts the model records.",
    )
    p.add_argument("--model", required=True, metavar="DIR", help="model folder (RUN_DIR/model)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--video", nargs="+", metavar="PATH", help="video files to classify")
    src.add_argument("--store", help="feature store whose videos to classify")
    src.add_argument("--features", metavar="NPY", help="feature array (T, D) or (N, T, D) in a .npy file")
    p.add_argument("--keys", nargs="*", help="only these video keys of the store")
    p.add_argument(
        "--weights", metavar="PATH", help="backbone weights for --video (the ones used to extract the training store)"
    )
    p.add_argument("--labels", help="comma-separated label texts (default: the model's training classes)")
    p.add_argument("--labels-file", help="file with one label text per line")
    p.add_argument("--top-k", type=int, default=5, help="labels reported per video (default: 5; range: >= 1)")
    p.add_argument("--device", default="cpu", help="torch device")
    add_json_option(p)
    p.set_defaults(func=run)


def _labels(args: argparse.Namespace) -> list[str] | None:
    from action2vec.errors import DataError

    labels = None
    if args.labels:
        labels = [t.strip() for t in args.labels.split(",") if t.strip()]
    if args.labels_file:
        labels = (labels or []) + read_lines(args.labels_file, "labels file")
    if labels is not None and not labels:
        raise DataError("no label texts given")
    return labels


def run(args: argparse.Namespace) -> int:
    from action2vec.errors import ConfigError
    from action2vec.inference import Action2Vec

    if args.top_k < 1:
        raise ConfigError(f"--top-k: must be >= 1, got {args.top_k}")
    labels = _labels(args)
    model = Action2Vec.from_pretrained(args.model, device=args.device, backbone_weights=args.weights)
    if args.video:
        keys, preds = list(args.video), model.classify(args.video, labels, top_k=args.top_k)
    else:
        model.encode_text(labels if labels is not None else model.classes)  # label problems before reading features
        keys, feats, lengths = _stored_features(args)
        preds = model.classify_features(feats, lengths, labels, top_k=args.top_k)
    rows = []
    for key, p in zip(keys, preds):
        print(f"{key}\t" + "\t".join(f"{lab} ({s:.3f})" for lab, s in zip(p.labels, p.scores)))
        rows.append({"video": key, "labels": p.labels, "scores": p.scores})
    write_json(rows, args.json)
    return 0


def _stored_features(args: argparse.Namespace) -> tuple[list[str], list[np.ndarray], np.ndarray | None]:
    """(keys, feature sequences, lengths or None) of --store (and --keys) or --features."""
    import numpy as np

    from action2vec.errors import DataError

    if args.store:
        from action2vec.store import open_store

        store = open_store(args.store)
        idx = [store.index_of(k) for k in args.keys] if args.keys else list(range(len(store)))
        return [store.keys[i] for i in idx], store.read_many(idx), store.lengths[idx]
    not_array = (
        f"{args.features}: not a .npy array of numbers (save the features with numpy.save as a (T, D) or "
        "(N, T, D) float array)"
    )
    try:
        arr = np.load(args.features, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{args.features}: features file not found") from None
    except (OSError, ValueError, EOFError):  # not .npy, truncated, or object (pickled) data
        raise DataError(not_array) from None
    if not isinstance(arr, np.ndarray) or not np.issubdtype(arr.dtype, np.number):  # an .npz archive, strings
        raise DataError(not_array)
    if arr.ndim not in (2, 3):
        raise DataError(f"{args.features}: expected a (T, D) or (N, T, D) array, got shape {arr.shape}")
    arr = arr[None] if arr.ndim == 2 else arr
    return [f"{args.features}[{i}]" for i in range(len(arr))], list(arr), None
