"""The extraction plan assembled once, for ``action2vec extract`` and the Python API: which videos (a list file
or a data set's split files), which backbone, the store and its log file, and the PCA-reduced store made after.

    run = ExtractRun(out=Path("ucf101_c3d.h5"), dataset="ucf101", annotations=Path("ucfTrainTestlist"),
                     root=Path("UCF-101"), weights=Path("c3d.safetensors"), pca_dim=500)
    result = run_extraction(run)          # resumable; under torchrun each rank takes a shard, rank 0 merges

Every check that needs no video (the input, the output paths, the PCA's fit keys, an existing PCA store's
dimension, the decoder, the device, a second writer of either store) runs before the log file, the backbone
or any video.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from action2vec.errors import Action2VecError, ConfigError, DataError
from action2vec.video.config import ExtractConfig
from action2vec.video.extract import ExtractSummary, VideoLike

log = logging.getLogger("action2vec.extract")

__all__ = ["ExtractRun", "ExtractResult", "video_items", "check_extraction", "check_store_path", "run_extraction"]


@dataclass
class ExtractRun:
    """Everything one extraction reads: what ``action2vec extract`` builds from its options.

    Videos: ``list_file`` (one ``path [label]`` a line, relative to ``root`` or the list's folder) or ``dataset``
    with ``annotations`` (and ``root``, official ``split``); ``limit``: only the first N (0: all). ``log``: the log
    file, failures included (None: ``OUT.log``). ``pca_dim`` > 0 also writes a PCA-reduced store to ``pca_out``
    (None: ``OUT`` with ``.pcaN.h5``), fitted on ``pca_fit_keys`` (None: the videos of the 'train' subset).
    """

    out: Path
    list_file: Path | None = None
    dataset: str = ""
    annotations: Path | None = None
    root: Path | None = None
    split: int = 1
    limit: int = 0
    backbone: str = "c3d"
    layer: str | None = None
    weights: Path | None = None
    random_weights: bool = False
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    log: Path | None = None
    pca_dim: int = 0
    pca_out: Path | None = None
    pca_fit_keys: list[str] | None = None

    @property
    def pca_path(self) -> Path:
        """Where the PCA-reduced store goes."""
        out = Path(self.out)
        return Path(self.pca_out) if self.pca_out else out.with_name(f"{out.stem}.pca{self.pca_dim}.h5")

    def log_path(self, rank: int = 0, world: int = 1) -> Path:
        """The log file of this rank (``.rankN`` appended under torchrun)."""
        out = Path(self.out)
        path = Path(self.log) if self.log else out.with_name(out.name + ".log")
        return path.with_name(f"{path.name}.rank{rank}") if world > 1 else path


@dataclass
class ExtractResult:
    """What an extraction did on this rank; ``store`` (the store's info) and ``pca_store`` on rank 0 only."""

    summary: ExtractSummary
    log: Path
    rank: int = 0
    world: int = 1
    store: dict[str, Any] | None = None
    pca_store: Path | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON ``action2vec extract --json`` writes: the summary, the store's info and the PCA store."""
        out: dict[str, Any] = {
            "summary": {k: v for k, v in vars(self.summary).items() if k != "store"},
            "store": self.store,
        }
        if self.pca_store is not None:
            out["pca_store"] = str(self.pca_store)
        return out


def video_items(run: ExtractRun) -> Sequence[VideoLike]:
    """The videos to extract: the list file's or the data set's (the first ``limit`` when given)."""
    if bool(run.list_file) == bool(run.dataset):
        raise ConfigError("extract: give exactly one of --list FILE or --dataset NAME")
    items: Sequence[VideoLike]
    if run.list_file:
        from action2vec.video.extract import read_video_list

        items = read_video_list(run.list_file, run.root)
    else:
        if not run.annotations:
            raise ConfigError("extract: --dataset needs --annotations (the data set's split files)")
        from action2vec.datasets import load_dataset

        items = load_dataset(run.dataset, Path(run.annotations), Path(run.root) if run.root else None, run.split)
    return items[: run.limit] if run.limit > 0 else items


def check_store_path(path: Path, option: str) -> None:
    """A store to write must be a file path: refuse a directory before any work starts."""
    if path.is_dir():
        raise DataError(f"{option} {path}: is a directory; name the feature store file to write (e.g. {path}.h5)")


def check_extraction(run: ExtractRun) -> None:
    """The checks that need no video: the output paths, and with ``pca_dim`` the fit keys (required with a list
    file, which records no training subset) and an existing PCA store's dimension; the decoder."""
    from action2vec.config import check_ranges
    from action2vec.store import open_store
    from action2vec.video.decode import check_decoder

    check_ranges(run.extract)
    if run.split < 1 or run.limit < 0 or run.pca_dim < 0:
        raise ConfigError(f"extract: split {run.split} must be >= 1, limit {run.limit} and pca_dim {run.pca_dim} >= 0")
    check_store_path(Path(run.out), "--out")
    if run.pca_dim:
        check_store_path(run.pca_path, "--pca-out")
        if run.list_file and run.pca_fit_keys is None:
            raise ConfigError(
                "extract: --pca-dim with --list needs --pca-fit-keys FILE (the training videos' keys, "
                "one a line): a list records no training subset"
            )
        if run.pca_path.is_file():
            have = open_store(run.pca_path).meta.get("pca")
            if have != run.pca_dim:
                raise DataError(
                    f"--pca-out {run.pca_path}: holds features with pca={have}, this run asks for "
                    f"pca={run.pca_dim}; use another --pca-out or the same --pca-dim"
                )
    check_decoder(run.extract.video.decoder)


@contextlib.contextmanager
def _log_file(path: Path) -> Iterator[logging.Handler]:
    """Also log to ``path``, created with the first message (a run refused at once leaves no empty file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(min(root.level or logging.INFO, logging.INFO))
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        handler.close()


def run_extraction(run: ExtractRun) -> ExtractResult:
    """Extract the videos of ``run`` into its store (created or resumed) and, on rank 0 with ``pca_dim``, write
    the PCA-reduced store; a second writer of either store is refused before the log file, the backbone or any
    video. Unreadable videos are recorded and logged; they do not stop the run."""
    from action2vec.distributed import process_layout
    from action2vec.store import StoreLock
    from action2vec.video.runner import resolve_device

    check_extraction(run)
    layout = process_layout()
    resolve_device(run.extract.compute.device, layout.local_rank)
    out, log_path = Path(run.out), run.log_path(layout.rank, layout.world_size)
    with contextlib.ExitStack() as held:
        held.enter_context(StoreLock(out))
        if run.pca_dim and layout.rank == 0:
            held.enter_context(StoreLock(run.pca_path))
        fresh = not log_path.exists() and not out.exists()
        handler = held.enter_context(_log_file(log_path))
        try:
            return _extract(run, log_path, layout.rank, layout.world_size)
        except Action2VecError:
            if fresh and not out.exists():  # refused before any video (e.g. after the backbone's loading line)
                handler.close()
                log_path.unlink(missing_ok=True)
            raise


def _extract(run: ExtractRun, log_path: Path, rank: int, world: int) -> ExtractResult:
    from tqdm.contrib.logging import logging_redirect_tqdm

    from action2vec.store import open_store
    from action2vec.video.backbones import create_backbone
    from action2vec.video.extract import extract_videos

    items = video_items(run)
    backbone = create_backbone(run.backbone, str(run.weights) if run.weights else None, run.random_weights, run.layer)
    with logging_redirect_tqdm():  # log lines and warnings print above the progress bar, not into it
        summary = extract_videos(items, run.out, backbone, run.extract)
    result = ExtractResult(summary, log_path, rank, world)
    if rank != 0:
        return result
    result.store = open_store(run.out).info()
    if run.pca_dim:
        from action2vec.store.pca import pca_store

        pca_store(run.out, run.pca_path, run.pca_dim, fit_keys=run.pca_fit_keys, fit_subset="train")
        result.pca_store = run.pca_path
    return result
