"""``action2vec extract``: videos -> clip features -> feature store; ``action2vec pca``: reduce a store.

    action2vec extract --list videos.txt --backbone c3d --weights c3d.pickle --out feats.h5
    action2vec extract --dataset ucf101 --annotations ucfTrainTestlist --root UCF-101 \\
        --backbone c3d --weights c3d.safetensors --out ucf101_c3d.h5 --pca-dim 500
    torchrun --nproc-per-node 4 -m action2vec.cli.main extract ...   # same command, sharded
    action2vec pca ucf101_c3d.h5 --out ucf101_c3d_pca500.h5 --dim 500 --fit-subset train
"""

from __future__ import annotations

import argparse
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from action2vec.cli.common import add_json_option
from action2vec.io import read_lines, write_json

if TYPE_CHECKING:
    import numpy as np

    from action2vec.video.config import ExtractConfig
    from action2vec.video.extract import VideoLike

log = logging.getLogger("action2vec.extract")


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
    src.add_argument("--split", type=bounded(int, ge=1), default=1,
                     help="official split whose train/test subsets are recorded")
    src.add_argument("--limit", type=bounded(int, ge=0), default=0, help="only the first N videos (0: all)")
    bb = p.add_argument_group("backbone")
    bb.add_argument("--backbone", default="c3d", help="registered backbone name, MODULE:NAME for a plug-in, or hf:PATH for a local "
                    "Hugging Face save_pretrained folder (CLIP, SigLIP, VideoMAE, X-CLIP; docs/bring-your-own.md)")
    bb.add_argument("--layer", help="output layer (C3D: fc6 or fc7, default fc7)")
    bb.add_argument("--weights", metavar="PATH", help="pretrained weights (.pickle/.pt state dict or .safetensors)")
    bb.add_argument("--random-weights", action="store_true",
                    help="run the backbone untrained (recorded in the store; features are not meaningful)")
    p.add_argument("--out", required=True, metavar="STORE",
                   help="feature store to create or resume (.h5); one extraction writes it at a time")
    p.add_argument("--log", metavar="FILE", help="log file, failures included (default: STORE.log)")
    p.add_argument("--config", metavar="YAML", help="extraction settings file (the options below override it)")
    p.add_argument("--pca-dim", type=bounded(int, ge=0), default=0,
                   help="also write a PCA-reduced store of this dimension (0: none)")
    p.add_argument("--pca-out", metavar="STORE", help="where the PCA store goes (default: STORE with .pcaN.h5)")
    p.add_argument("--pca-fit-keys", metavar="FILE",
                   help="keys (one a line) to fit the PCA on; default: the videos of the 'train' subset")
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


def _items(args: argparse.Namespace) -> Sequence[VideoLike]:
    from action2vec.errors import ConfigError

    if bool(args.list) == bool(args.dataset):
        raise ConfigError("extract: give exactly one of --list FILE or --dataset NAME")
    if args.list:
        from action2vec.video.extract import read_video_list

        items: Sequence[VideoLike] = read_video_list(args.list, args.root)
    else:
        if not args.annotations:
            raise ConfigError("extract: --dataset needs --annotations (the data set's split files)")
        from action2vec.datasets import load_dataset

        items = load_dataset(args.dataset, Path(args.annotations), Path(args.root) if args.root else None, args.split)
    return items[: args.limit] if args.limit > 0 else items


def _add_log_file(path: Path) -> logging.Handler:
    """Also log to ``path``, created with the first message (a run refused at once leaves no empty file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(min(logging.getLogger().level or logging.INFO, logging.INFO))
    return handler


def _check_store_path(path: Path, option: str) -> None:
    """A store to write must be a file path: refuse a directory before any work starts."""
    from action2vec.errors import DataError

    if path.is_dir():
        raise DataError(f"{option} {path}: is a directory; name the feature store file to write (e.g. {path}.h5)")


def run(args: argparse.Namespace) -> int:
    from action2vec.config import config_from_args
    from action2vec.distributed import process_layout
    from action2vec.errors import Action2VecError
    from action2vec.store import StoreLock
    from action2vec.video.config import ExtractConfig
    from action2vec.video.decode import check_decoder
    from action2vec.video.runner import resolve_device

    cfg = config_from_args(ExtractConfig, args, args.config)
    out = Path(args.out)
    _check_store_path(out, "--out")
    fit_keys = _check_pca_inputs(args, out)
    check_decoder(cfg.video.decoder)
    layout = process_layout()
    resolve_device(cfg.compute.device, layout.local_rank)
    log_path = Path(args.log) if args.log else out.with_name(out.name + ".log")
    if layout.world_size > 1:
        log_path = log_path.with_name(f"{log_path.name}.rank{layout.rank}")
    with contextlib.ExitStack() as held:
        # a second writer is refused here, before the log file, the backbone or any video
        held.enter_context(StoreLock(out))
        if args.pca_dim and layout.rank == 0:
            held.enter_context(StoreLock(_pca_out(args, out)))
        fresh = not log_path.exists() and not out.exists()
        handler = _add_log_file(log_path)
        try:
            return _extract(args, cfg, out, log_path, layout.rank, layout.world_size, fit_keys)
        except Action2VecError:
            if fresh and not out.exists():  # refused before any video (e.g. after the backbone's loading line)
                handler.close()
                log_path.unlink(missing_ok=True)
            raise
        finally:
            logging.getLogger().removeHandler(handler)
            handler.close()


def _pca_out(args: argparse.Namespace, out: Path) -> Path:
    return Path(args.pca_out) if args.pca_out else out.with_name(f"{out.stem}.pca{args.pca_dim}.h5")


def _check_pca_inputs(args: argparse.Namespace, out: Path) -> list[str] | None:
    """With --pca-dim, everything the PCA after the extraction needs, checked before it starts: the output path,
    the fit keys (required with --list, which records no training subset) and an existing output's dimension.
    Returns the fit keys (None: the 'train' subset)."""
    from action2vec.errors import ConfigError, DataError
    from action2vec.store import open_store

    if not args.pca_dim:
        return None
    pca_out = _pca_out(args, out)
    _check_store_path(pca_out, "--pca-out")
    if args.list and not args.pca_fit_keys:
        raise ConfigError("extract: --pca-dim with --list needs --pca-fit-keys FILE (the training videos' keys, one "
                          "a line): a list records no training subset")
    keys = read_lines(args.pca_fit_keys, "PCA fit-keys file") if args.pca_fit_keys else None
    if pca_out.is_file():
        have = open_store(pca_out).meta.get("pca")
        if have != args.pca_dim:
            raise DataError(f"--pca-out {pca_out}: holds features with pca={have}, this run asks for "
                            f"pca={args.pca_dim}; use another --pca-out or the same --pca-dim")
    return keys


def _extract(args: argparse.Namespace, cfg: "ExtractConfig", out: Path, log_path: Path, rank: int, world: int,
             fit_keys: list[str] | None) -> int:
    from tqdm.contrib.logging import logging_redirect_tqdm

    from action2vec.store import open_store
    from action2vec.video.backbones import create_backbone
    from action2vec.video.extract import extract_videos

    items = _items(args)
    backbone = create_backbone(args.backbone, args.weights, args.random_weights, args.layer)
    with logging_redirect_tqdm():  # log lines and warnings print above the progress bar, not into it
        summary = extract_videos(items, out, backbone, cfg)
    prefix = f"[rank {rank}] " if world > 1 else ""
    print(
        f"{prefix}extracted {summary.extracted}, failed {summary.failed}, skipped {summary.skipped} "
        f"(already done) of {summary.total} videos in {summary.seconds:.1f} s "
        f"({summary.videos_per_s:.2f} videos/s, {summary.clips_per_s:.1f} clips/s)"
    )
    for key, reason in summary.failures.items():
        print(f"{prefix}failed\t{key}\t{reason}")
    if rank != 0:
        return 0
    info = open_store(out).info()
    print(f"{out}: {info['videos']} videos, {info['failed']} failed, dim {info['dim']}; log: {log_path}")
    result: dict[str, Any] = {"summary": {k: v for k, v in vars(summary).items() if k != "store"}, "store": info}
    if args.pca_dim:
        from action2vec.video.pca import pca_store

        pca_out = _pca_out(args, out)
        pca_store(out, pca_out, args.pca_dim, fit_keys=fit_keys, fit_subset="train")
        print(f"{pca_out}: PCA {info['dim']} -> {args.pca_dim}")
        result["pca_store"] = str(pca_out)
    write_json(result, args.json)
    return 0


def run_pca(args: argparse.Namespace) -> int:
    from action2vec.store import StoreLock, open_store
    from action2vec.video.pca import pca_store

    _check_store_path(Path(args.out), "--out")
    keys = read_lines(args.fit_keys) if args.fit_keys else None
    with StoreLock(args.out):  # refused before the PCA is fitted when another process writes the output
        out = pca_store(args.store, args.out, args.dim, fit_keys=keys, fit_subset=args.fit_subset)
    store = open_store(out)
    explained: np.ndarray | list[float] = store.pca["explained_variance"] if store.pca else []
    print(f"{out}: {len(store)} videos, dim {store.dim}, fitted on {store.meta.get('pca_fit_videos')} videos, "
          f"top component variance {float(explained[0]) if len(explained) else 0:.4g}")
    return 0
