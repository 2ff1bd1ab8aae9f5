"""``action2vec extract``: videos -> clip features -> feature store; ``action2vec pca``: reduce a store.

    action2vec extract --list videos.txt --backbone c3d --weights c3d.pickle --out feats.h5
    action2vec extract --dataset ucf101 --annotations ucfTrainTestlist --root UCF-101 \\
        --backbone c3d --weights c3d.safetensors --out ucf101_c3d.h5 --pca-dim 500
    torchrun --nproc-per-node 4 -m action2vec.cli.main extract ...   # same command, sharded
    action2vec pca ucf101_c3d.h5 --out ucf101_c3d_pca500.h5 --dim 500 --fit-subset train
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from action2vec.cli.common import add_json_option
from action2vec.io import read_lines, write_json

if TYPE_CHECKING:
    import numpy as np

    from action2vec.experiments.extraction import ExtractRun


def register(sub: argparse._SubParsersAction) -> None:
    from action2vec.config import add_config_arguments, bounded
    from action2vec.video.config import ExtractConfig

    p = sub.add_parser(
        "extract",
        help="decode videos and write their clip features to a feature store (resumable)",
        description="Decode videos, cut them into clips and write backbone features to a feature store. "
        "Rerunning the same command resumes; unreadable videos are recorded as failures and the run goes "
        "on (exit status 0). Runs unchanged under torchrun: each rank takes a shard, rank 0 merges.",
    )
    src = p.add_argument_group("input (one of --dataset or --list)")
    src.add_argument("--list", metavar="FILE", help="text file with one 'path [label]' per line")
    src.add_argument("--dataset", metavar="NAME", help="data set adapter: ucf101, hmdb51, kinetics400/600/700, custom")
    src.add_argument("--annotations", metavar="PATH", help="the data set's annotation file or folder")
    src.add_argument("--root", metavar="DIR", help="video folder (default for --list: the list file's folder)")
    src.add_argument(
        "--split", type=bounded(int, ge=1), default=1, help="official split whose train/test subsets are recorded"
    )
    src.add_argument("--limit", type=bounded(int, ge=0), default=0, help="only the first N videos (0: all)")
    bb = p.add_argument_group("backbone")
    bb.add_argument(
        "--backbone",
        default="c3d",
        help="registered backbone name, MODULE:NAME for a plug-in, or hf:PATH for a local "
        "Hugging Face save_pretrained folder (CLIP, SigLIP, VideoMAE, X-CLIP; docs/bring-your-own.md)",
    )
    bb.add_argument("--layer", help="output layer (C3D: fc6 or fc7, default fc7)")
    bb.add_argument("--weights", metavar="PATH", help="pretrained weights (.pickle/.pt state dict or .safetensors)")
    bb.add_argument(
        "--random-weights",
        action="store_true",
        help="run the backbone untrained (recorded in the store; features are not meaningful)",
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="STORE",
        help="feature store to create or resume (.h5); one extraction writes it at a time",
    )
    p.add_argument("--log", metavar="FILE", help="log file, failures included (default: STORE.log)")
    p.add_argument("--config", metavar="YAML", help="extraction settings file (the options below override it)")
    p.add_argument(
        "--pca-dim",
        type=bounded(int, ge=0),
        default=0,
        help="also write a PCA-reduced store of this dimension (0: none)",
    )
    p.add_argument("--pca-out", metavar="STORE", help="where the PCA store goes (default: STORE with .pcaN.h5)")
    p.add_argument(
        "--pca-fit-keys",
        metavar="FILE",
        help="keys (one a line) to fit the PCA on; default: the videos of the 'train' subset",
    )
    add_json_option(p)
    add_config_arguments(p, ExtractConfig)
    p.set_defaults(func=run)

    q = sub.add_parser(
        "pca",
        help="reduce a feature store with PCA fitted on the training videos only",
        description="Fit PCA on the real steps of the training videos of STORE and write every video, "
        "projected, to a new store that keeps the projection in its /pca group.",
    )
    q.add_argument("store", help="input store (raw backbone features)")
    q.add_argument("--out", required=True, metavar="STORE", help="output store")
    q.add_argument("--dim", type=bounded(int, ge=1), default=500, help="output dimension")
    q.add_argument("--fit-subset", default="train", help="fit on videos whose recorded subset is this")
    q.add_argument("--fit-keys", metavar="FILE", help="fit on these keys (one a line) instead of --fit-subset")
    q.set_defaults(func=run_pca)


def extract_run(args: argparse.Namespace) -> "ExtractRun":
    """The ExtractRun the options describe (the settings file and the PCA fit-keys file read here)."""
    from action2vec.config import config_from_args
    from action2vec.experiments.extraction import ExtractRun
    from action2vec.video.config import ExtractConfig

    return ExtractRun(
        out=Path(args.out),
        list_file=Path(args.list) if args.list else None,
        dataset=args.dataset or "",
        annotations=Path(args.annotations) if args.annotations else None,
        root=Path(args.root) if args.root else None,
        split=args.split,
        limit=args.limit,
        backbone=args.backbone,
        layer=args.layer,
        weights=Path(args.weights) if args.weights else None,
        random_weights=args.random_weights,
        extract=config_from_args(ExtractConfig, args, args.config),
        log=Path(args.log) if args.log else None,
        pca_dim=args.pca_dim,
        pca_out=Path(args.pca_out) if args.pca_out else None,
        pca_fit_keys=read_lines(args.pca_fit_keys, "PCA fit-keys file") if args.pca_dim and args.pca_fit_keys else None,
    )


def run(args: argparse.Namespace) -> int:
    from action2vec.experiments.extraction import run_extraction

    run = extract_run(args)
    result = run_extraction(run)
    summary = result.summary
    prefix = f"[rank {result.rank}] " if result.world > 1 else ""
    print(
        f"{prefix}extracted {summary.extracted}, failed {summary.failed}, skipped {summary.skipped} "
        f"(already done) of {summary.total} videos in {summary.seconds:.1f} s "
        f"({summary.videos_per_s:.2f} videos/s, {summary.clips_per_s:.1f} clips/s)"
    )
    for key, reason in summary.failures.items():
        print(f"{prefix}failed\t{key}\t{reason}")
    if result.store is None:  # not rank 0
        return 0
    info = result.store
    print(f"{run.out}: {info['videos']} videos, {info['failed']} failed, dim {info['dim']}; log: {result.log}")
    if result.pca_store is not None:
        print(f"{result.pca_store}: PCA {info['dim']} -> {run.pca_dim}")
    write_json(result.to_json(), args.json)
    return 0


def run_pca(args: argparse.Namespace) -> int:
    from action2vec.experiments.extraction import check_store_path
    from action2vec.store import StoreLock, open_store
    from action2vec.store.pca import pca_store

    check_store_path(Path(args.out), "--out")
    keys = read_lines(args.fit_keys) if args.fit_keys else None
    with StoreLock(args.out):  # refused before the PCA is fitted when another process writes the output
        out = pca_store(args.store, args.out, args.dim, fit_keys=keys, fit_subset=args.fit_subset)
    store = open_store(out)
    explained: np.ndarray | list[float] = store.pca["explained_variance"] if store.pca else []
    print(
        f"{out}: {len(store)} videos, dim {store.dim}, fitted on {store.meta.get('pca_fit_videos')} videos, "
        f"top component variance {float(explained[0]) if len(explained) else 0:.4g}"
    )
    return 0
