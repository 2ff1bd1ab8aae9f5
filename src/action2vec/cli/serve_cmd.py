"""``action2vec serve``: a local web page to explore a trained model's space and search its videos.

action2vec serve demo_run                            # the demo's model and store; http://127.0.0.1:8000/
action2vec serve runs/ucf --port 8080 --videos /data/UCF-101
action2vec serve --model M --store S --index I --host 0.0.0.0   # reachable from other machines (careful)
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys

from action2vec.cli.common import add_run_folder_options
from action2vec.config import bounded

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    from action2vec.config import add_config_arguments
    from action2vec.serve.explorer import ServeSettings

    p = sub.add_parser(
        "serve",
        help="a local web page to explore a model's space: search, analogies, a map, uploads",
        description="Start a local web app over a trained model and the videos of a feature store: type a label "
        "text and see the nearest classes (class means) and videos with previews, build analogies (A - B + C), "
        "explore a 2-D map of class means and videos, drop a video file and rank label texts for it. Given a run "
        "folder (the demo's output or a `train` run) it finds the model, the store and the index itself; without "
        "an index it embeds the store at start-up. Listens on 127.0.0.1 (this machine only) unless --host says "
        "otherwise. See docs/explorer.md.",
    )
    add_run_folder_options(p, "feature store of the videos")
    p.add_argument(
        "--index",
        metavar="INDEX",
        help="search index of the store by this model (default: RUN_DIR/index "
        "when this model made it from this store, else one built at start-up)",
    )
    p.add_argument(
        "--videos",
        metavar="DIR",
        action="append",
        default=[],
        help="folder the store's video files are under, for previews (repeatable; default: the folder "
        "all recorded video paths share, and the run folder)",
    )
    p.add_argument(
        "--weights",
        metavar="PATH",
        help="backbone weights for uploaded videos (the ones the store was "
        "extracted with; weight-free backbones such as the demo's need none)",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine only; 0.0.0.0: every interface)",
    )
    p.add_argument(
        "--port", type=bounded(int, ge=0, le=65535), default=8000, help="port (default: 8000; 0: any free port)"
    )
    add_config_arguments(p, ServeSettings, "serve")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from action2vec.extras import modules_of, require_all

    require_all(modules_of("serve", "report"), "the web explorer")  # its map is the report's t-SNE
    from action2vec.config import config_from_args
    from action2vec.serve.app import create_app
    from action2vec.serve.explorer import Explorer, ServeSettings, explorer_paths
    from action2vec.serve.server import allowed_hosts, bind, is_loopback, make_server, url_of
    from action2vec.signals import Stopped

    settings = config_from_args(ServeSettings, args, prefix="serve")
    paths = explorer_paths(
        args.run_dir, model=args.model, store=args.store, index=args.index, videos=args.videos, weights=args.weights
    )
    sock = bind(args.host, args.port)  # a busy port or an unknown host stops here, before the model is read
    try:
        explorer = Explorer.open(paths, settings)
        try:
            app = create_app(explorer, allowed_hosts(sock, [args.host]))
            server = make_server(app, sock, access_log=args.verbose)
            if not is_loopback(sock):
                log.warning("listening on %s: every machine that reaches this one can use the explorer", args.host)
            print(
                f"Action2Vec explorer: {url_of(sock)}  ({len(explorer.index)} videos, "
                f"{len(explorer.space.classes)} classes; Ctrl-C stops it)",
                flush=True,
            )
            try:
                server.run(sockets=[sock])
            except (KeyboardInterrupt, Stopped):
                pass
        finally:
            explorer.close()
    finally:
        sock.close()
    # The model, the text encoder and the index make millions of objects, which the interpreter's last garbage
    # collection would walk for seconds on the way out: it does not need to, the process ends now.
    gc.freeze()
    print("explorer stopped", file=sys.stderr)
    return 0
