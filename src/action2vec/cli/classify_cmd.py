"""``action2vec classify``: label videos (stored features or feature arrays) with any list of label texts."""

from __future__ import annotations

import argparse

from action2vec.cli.common import add_json_option
from action2vec.io import read_lines, write_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "classify",
        help="classify videos against any list of label texts",
        description="Embed videos with a trained model and rank label texts by cosine similarity. Videos are "
        "video files (--video, features extracted with the backbone and clip settings the model was trained "
        "on), videos of a feature store (--store) or a .npy array of features (--features, (T, D) or (N, T, D)).",
    )
    p.add_argument("--model", required=True, metavar="DIR", help="model folder (RUN_DIR/model)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--video", nargs="+", metavar="PATH", help="video files to classify")
    src.add_argument("--store", help="feature store whose videos to classify")
    src.add_argument("--features", metavar="NPY", help="feature array (T, D) or (N, T, D) in a .npy file")
    p.add_argument("--keys", nargs="*", help="only these video keys of the store")
    p.add_argument("--weights", metavar="PATH", help="backbone weights for --video (the ones used to extract the training store)")
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
    if args.video:
        keys, feats, lengths = args.video, *_video_features(args.video, model.info.get("features", {}), args)
    elif args.store:
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


def _video_features(paths, meta, args):
    """Extract each video as the training store was extracted (backbone, layer, clip arithmetic)."""
    import numpy as np

    from action2vec.errors import DataError
    from action2vec.video.backbones import create_backbone
    from action2vec.video.config import ClipConfig, ExtractConfig
    from action2vec.video.decode import DecodeError
    from action2vec.video.extract import video_features

    if not meta.get("backbone"):
        raise DataError(f"{args.model}: the model does not record which backbone made its features; use --store")
    backbone = create_backbone(meta["backbone"], weights=args.weights,
                               random_weights=bool(meta.get("random_weights")) and not args.weights,
                               layer=meta.get("layer"))
    clip = ClipConfig(fps=float(meta.get("fps", 30.0)), duration=float(meta.get("duration", 14.0)),
                      clip_len=int(meta.get("clip_len", 0)), stride=int(meta.get("stride", 8)),
                      short_side=int(meta.get("short_side") or 128))
    feats, lengths = [], []
    for path in paths:
        try:
            f, n = video_features(path, backbone, ExtractConfig(video=clip), device=args.device)
        except DecodeError as exc:
            raise DataError(f"{path}: {exc}") from None
        feats.append(f)
        lengths.append(n)
    return feats, np.asarray(lengths)
