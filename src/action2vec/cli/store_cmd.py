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
    merge = s.add_parser("merge", help="fold unmerged part files (left by an interrupted run) into the store",
                         description="Fold the part files an interrupted run left into the store and drop entries "
                         "with an empty key. Refused while another process writes the store.")
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
    empty = info.get("empty_keys") or []
    if empty:
        print(f"WARNING: {len(empty)} entr{'y' if len(empty) == 1 else 'ies'} with an empty key (index position "
              f"{', '.join(map(str, empty[:10]))}), left by concurrent writers of an older version; "
              f"`action2vec store merge {args.store}` drops them")
    if args.failures:
        for key, reason in store.failures.items():
            print(f"failed\t{key}\t{reason}")
    write_json(info, args.json)
    return 0


def run_merge(args: argparse.Namespace) -> int:
    from action2vec.store import merge_parts, open_store

    merge_parts(args.store)
    info = open_store(args.store).info()
    print(f"{args.store}: {info['videos']} videos, {info['failed']} failed")
    return 0
