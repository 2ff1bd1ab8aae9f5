"""``action2vec index``: embed every video of a store with a model and write a search index.

action2vec index demo_run                    # the demo's model and store -> demo_run/index/
action2vec index runs/ucf                    # a train run: model/ and config.yaml's data.store
action2vec index --model M --store S --out I --index.kind hnsw
"""

from __future__ import annotations

import argparse
from pathlib import Path

from action2vec.cli.common import add_run_folder_options


def register(sub: argparse._SubParsersAction) -> None:
    from action2vec.config import add_config_arguments
    from action2vec.search import EmbedSettings, IndexSettings

    p = sub.add_parser(
        "index",
        help="embed every video of a store and write a search index (for `action2vec search`)",
        description="Embed every video of a feature store with a trained model (batched, resumable: an "
        "interrupted run keeps its finished chunks and goes on from there) and write a search index: exact "
        "cosine search for small collections, an approximate IVF-Flat index (FAISS) above --index.exact_below "
        "videos. Given a run folder (the demo's output or a `train` run) the model and store are found in it "
        "and the index goes to RUN_DIR/index/. See docs/search.md.",
    )
    add_run_folder_options(p, "feature store to index")
    p.add_argument("--out", metavar="INDEX", help="index folder (default: RUN_DIR/index)")
    p.add_argument("--force", action="store_true", help="rebuild even when the index is up to date")
    add_config_arguments(p, IndexSettings, "index")
    add_config_arguments(p, EmbedSettings, "embed")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from action2vec.config import config_from_args
    from action2vec.errors import ConfigError
    from action2vec.search import EmbedSettings, IndexSettings, index_store, locate_run

    settings = config_from_args(IndexSettings, args, prefix="index")
    embed = config_from_args(EmbedSettings, args, prefix="embed")
    if args.run_dir:
        if args.model and args.store:
            model_dir, store = Path(args.model), Path(args.store)
        else:
            paths = locate_run(args.run_dir)
            model_dir = Path(args.model) if args.model else paths.model_dir
            store = Path(args.store) if args.store else paths.store
        out = Path(args.out) if args.out else Path(args.run_dir) / "index"
    else:
        if not (args.model and args.store and args.out):
            raise ConfigError("give a run folder, or --model, --store and --out")
        model_dir, store, out = Path(args.model), Path(args.store), Path(args.out)
    index = index_store(model_dir, store, out, settings=settings, embed=embed, force=args.force)
    info = index.info
    print(f"index: {out} ({info.kind}, {info.count} videos, {info.dim}-d; model {model_dir}, store {store})")
    target = args.run_dir or out
    print(f'search it: action2vec search {target} "a label text"')
    return 0
