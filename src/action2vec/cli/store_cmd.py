"""``action2vec store``: inspect and maintain feature stores."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from action2vec.cli.common import add_json_option
from action2vec.io import write_json


def register(sub: argparse._SubParsersAction) -> None:
    from action2vec.config import bounded

    p = sub.add_parser(
        "store", help="inspect and maintain feature stores", description="Inspect and maintain feature stores."
    )
    s = p.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    info = s.add_parser("info", help="describe a store: videos, failures, dim, backbone, metadata")
    info.add_argument("store", help="feature store (action2vec HDF5 or ActivityNet C3D HDF5)")
    info.add_argument("--annotations", help="labels for an ActivityNet-style file (JSON or 'key label' rows)")
    info.add_argument("--failures", action="store_true", help="list every failed video with its reason")
    add_json_option(info)
    info.set_defaults(func=run_info)
    merge = s.add_parser(
        "merge",
        help="fold unmerged part files (left by an interrupted run) into the store",
        description="Fold the part files an interrupted run left into the store and drop entries "
        "with an empty key. Refused while another process writes the store.",
    )
    merge.add_argument("store")
    merge.set_defaults(func=run_merge)
    imp = s.add_parser(
        "import",
        help="write precomputed per-video features (.npy folder, .npz, HDF5) to a feature store",
        description="Write precomputed per-video features to a feature store that every command reads "
        "(docs/import.md). SOURCE is a folder of per-video .npy files (key = path without suffix), one .npz "
        "(key -> array) or one HDF5 file (one dataset per key, or packed 'keys' + 'features' [+ 'lengths']). "
        "Bad input is refused in one line before anything is written; rerunning resumes.",
    )
    imp.add_argument("source", help="folder of .npy files, an .npz file or an HDF5 file")
    imp.add_argument("--out", required=True, metavar="STORE", help="feature store to create or resume (.h5)")
    imp.add_argument("--format", metavar="npy|npz|hdf5", help="source format, where the name does not tell")
    imp.add_argument(
        "--labels",
        metavar="FILE|from-folder",
        help="labels: a CSV 'key,label' or a text file of 'key label' lines (a key may also be the "
        "video's name alone, with or without a file suffix), or 'from-folder' (the key's parent folder)",
    )
    imp.add_argument(
        "--dataset",
        metavar="NAME",
        help="labels from a data set adapter (ucf101, hmdb51, kinetics400, "
        "custom...) whose video names are the keys (or their last path part)",
    )
    imp.add_argument("--annotations", metavar="PATH", help="the data set's annotation file or folder")
    imp.add_argument(
        "--split",
        type=bounded(int, ge=1),
        default=None,
        metavar="N",
        help="with --dataset: the official split whose train/test subsets are recorded (default: 1)",
    )
    imp.add_argument(
        "--meta",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="recorded in the store metadata (backbone, layer, fps, ...); VALUE is read as JSON when "
        "it parses (25, true, null), else as text; repeatable",
    )
    add_json_option(imp)
    imp.set_defaults(func=run_import)


def run_info(args: argparse.Namespace) -> int:
    from action2vec.store import open_store

    store = open_store(args.store, args.annotations)
    info = store.info()
    out = sys.stderr if args.json == "-" else sys.stdout  # stdout holds the JSON alone then
    backbone = f"backbone {info['backbone'] or 'not recorded'}" + (f" ({info['layer']})" if info.get("layer") else "")
    pca = f", pca {info['pca']}" if info.get("pca") else ""
    print(
        f"{info['path']}: {info['videos']} videos, {info['failed']} failed, {info['classes']} classes, "
        f"dim {info['dim']}, {backbone}{pca}",
        file=out,
    )
    meta = info.get("meta") or {}
    if meta.get("imported_from"):
        print(f"imported from {meta['imported_from']} ({meta.get('import_format')})", file=out)
    if info["random_weights"]:
        print("WARNING: features come from a backbone with random weights", file=out)
    empty = info.get("empty_keys") or []
    if empty:
        print(
            f"WARNING: {len(empty)} entr{'y' if len(empty) == 1 else 'ies'} with an empty key (index position "
            f"{', '.join(map(str, empty[:10]))}), left by concurrent writers of an older version; "
            f"`action2vec store merge {args.store}` drops them",
            file=out,
        )
    if args.failures:
        for key, reason in store.failures.items():
            print(f"failed\t{key}\t{reason}", file=out)
    write_json(info, args.json)
    return 0


def run_merge(args: argparse.Namespace) -> int:
    from action2vec.store import merge_parts, open_store

    merge_parts(args.store)
    info = open_store(args.store).info()
    print(f"{args.store}: {info['videos']} videos, {info['failed']} failed")
    return 0


def _parse_meta(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` options as a dict; values parsed as JSON when they parse, else kept as text."""
    from action2vec.errors import ConfigError

    meta: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--meta {item!r}: expected KEY=VALUE (e.g. --meta backbone=i3d)")
        try:
            meta[key.strip()] = json.loads(value)
        except ValueError:
            meta[key.strip()] = value
    return meta


def run_import(args: argparse.Namespace) -> int:
    from action2vec.store.importer import import_features

    result = import_features(
        args.source,
        args.out,
        fmt=args.format,
        labels=args.labels,
        dataset=args.dataset,
        annotations=args.annotations,
        split=args.split,
        meta=_parse_meta(args.meta),
    )
    print(result.summary(), file=sys.stderr if args.json == "-" else sys.stdout)
    write_json(result.to_json(), args.json)
    return 0
