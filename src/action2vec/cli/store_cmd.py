"""``action2vec store``: inspect and maintain feature stores."""

from __future__ import annotations

import argparse

from action2vec.cli.common import add_json_option
from action2vec.io import write_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("store", help="inspect and maintain feature stores",
                       description="Inspect and maintain feature stores.")
    s = p.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    info = s.add_parser("info", help="describe a store: videos, failures, dim, backbone, metadata")
    info.add_argument("store", help="feature store (action2vec HDF5 or ActivityNet C3D HDF5)")
    info.add_argument("--annotations", help="labels for an ActivityNet-style file (JSON or 'key label' rows)")
    info.add_argument("--failures", action="store_true", help="list every failed video with its reason")
    add_json_option(info)
    info.set_defaults(func=run_info)
    merge = s.add_parser("merge", help="fold unmerged part files (left by an interrupted run) into the store")
    merge.add_argument("store")
    merge.set_defaults(func=run_merge)


def run_info(args: argparse.Namespace) -> int:
    from action2vec.store import open_store

    store = open_store(args.store, args.annotations)
    info = store.info()
    print(f"{info['path']}: {info['videos']} videos, {info['failed']} failed, {info['classes']} classes, "
          f"dim {info['dim']}, backbone {info['backbone']} ({info.get('layer')}), pca {info.get('pca')}")
    if info["random_weights"]:
        print("WARNING: features come from a backbone with random weights")
    if args.failures:
        for key, reason in store.failures.items():
            print(f"failed\t{key}\t{reason}")
    write_json(info, args.json)
    return 0


def run_merge(args: argparse.Namespace) -> int:
    from action2vec.store import merge_parts

    merge_parts(args.store)
    return 0
