"""``action2vec search``: the videos of an index nearest to a label text, a video of the store or a file.

action2vec search demo_run "spin star"
action2vec search demo_run --key videos/spin_star/spin_star_000.mp4 --k 5 --json -
action2vec search runs/ucf/index --video my_clip.mp4 --weights c3d.pickle
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from action2vec.cli.common import add_json_option

if TYPE_CHECKING:
    import numpy as np

    from action2vec.search import VideoIndex


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "search",
        help="find the videos nearest to a label text, a stored video or a video file",
        description="Rank the videos of an index (built by `action2vec index`) by cosine similarity to a "
        "query: a label text (embedded with the model's own label-text embedder), a video of the index "
        "(--key; the video itself is left out) or a video file (--video; features extracted with the "
        "backbone settings the model records). The index must have been built by the same model.",
    )
    p.add_argument("target", metavar="RUN_DIR_OR_INDEX", help="a run folder holding index/, or an index folder")
    p.add_argument("query", nargs="?", help='label text, e.g. "play violin"')
    p.add_argument("--key", help="query by a video of the index (its key)")
    p.add_argument("--video", metavar="PATH", help="query by a video file")
    p.add_argument("--k", type=int, default=10, help="number of results (>= 1; default: 10)")
    p.add_argument(
        "--model", metavar="DIR", help="model folder (default: the run folder's, else the one the index records)"
    )
    p.add_argument(
        "--weights",
        metavar="PATH",
        help="backbone weights for --video (the ones the training store was extracted with, e.g. C3D's)",
    )
    p.add_argument("--device", default="cpu", help="torch device for text and video queries")
    add_json_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from action2vec.errors import ConfigError
    from action2vec.io import write_json
    from action2vec.search import VideoIndex, check_store_unchanged, locate_index

    if args.k < 1:
        raise ConfigError(f"--k: {args.k} is out of range (must be >= 1)")
    given = [name for name, v in (("QUERY", args.query), ("--key", args.key), ("--video", args.video)) if v]
    if len(given) != 1:
        raise ConfigError(
            "give exactly one query: a label text, --key KEY or --video PATH"
            + (f" (got {', '.join(given)})" if given else "")
        )
    if args.query is not None and not args.query.strip():
        raise ConfigError("the query text is empty")
    if args.video and not Path(args.video).is_file():
        raise ConfigError(f"--video: {args.video} not found")
    index_dir = locate_index(args.target)
    if args.key:
        index = VideoIndex.open(index_dir)
        check_store_unchanged(index_dir, index.info)  # answers from an index of edited features are refused
        hits = index.search_key(args.key, args.k)
    else:
        index, vector = _model_query(args, index_dir)
        check_store_unchanged(index_dir, index.info)
        hits = index.search(vector, args.k)[0]
    out = sys.stderr if args.json == "-" else sys.stdout
    what = repr(args.query) if args.query else (args.key or args.video)
    print(f"{len(hits)} nearest of {len(index)} videos to {what} ({index.kind} index {index_dir})", file=out)
    for rank, hit in enumerate(hits, 1):
        print(f"{rank:3d}  {hit.score:6.3f}  {hit.class_ or '-':<24}  {hit.key}", file=out)
    write_json([h.to_json() for h in hits], args.json)
    return 0


def _model_query(args: argparse.Namespace, index_dir: Path) -> tuple[VideoIndex, np.ndarray]:
    """The index (checked to be this model's) and the query vector (1, E) of a text or video query."""
    from action2vec.errors import ConfigError
    from action2vec.inference import Action2Vec
    from action2vec.search import VideoIndex, locate_model, model_fingerprint

    model_dir = Path(args.model) if args.model else locate_model(args.target)
    if model_dir is None:
        recorded = VideoIndex.open(index_dir).info.model_dir
        model_dir = Path(recorded) if recorded else None
    if model_dir is None:
        raise ConfigError(f"{index_dir}: the index records no model folder; give --model")
    index = VideoIndex.open(index_dir, model_fingerprint=model_fingerprint(model_dir))
    model = Action2Vec.load(model_dir, device=args.device, backbone_weights=args.weights)
    if args.video:
        vector = model.encode_video([args.video])
    else:
        vector = model.encode_text([args.query.strip()])
    return index, vector
