"""Feature-store data for training: the video selection, held-out split, datasets and batching."""

from __future__ import annotations

import itertools
import logging
import os
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from action2vec.errors import DataError
from action2vec.store.base import Store

log = logging.getLogger(__name__)


def stratified_holdout(labels: Sequence[str], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions split into (train, val): ``fraction`` of each class's videos held out (>= 1 when the
    class has 2+ videos and fraction > 0)."""
    rng = np.random.default_rng(seed)
    label_array = np.asarray(labels)
    train, val = [], []
    for c in sorted(set(label_array.tolist())):
        idx = np.flatnonzero(label_array == c)
        rng.shuffle(idx)
        n_val = int(round(fraction * len(idx)))
        if fraction > 0 and len(idx) >= 2:
            n_val = min(max(n_val, 1), len(idx) - 1)
        val.extend(idx[:n_val].tolist())
        train.extend(idx[n_val:].tolist())
    return np.sort(np.asarray(train, dtype=np.int64)), np.sort(np.asarray(val, dtype=np.int64))


class SequenceDataset(Dataset):
    """Videos of a store as ``(features (T, D) float32, length, class index)``.

    ``in_memory`` reads the selected videos once; otherwise items stream from the HDF5 file (the handle
    opens lazily in each worker process), so stores larger than RAM work. A DataLoader fetches a whole
    batch at once (``__getitems__``): its videos are read in file order, adjacent ones in one slice, and
    nothing is kept between batches, so a streamed dataset holds only its O(N) index arrays.
    """

    def __init__(
        self, store: Store, indices: Sequence[int] | np.ndarray, class_to_idx: dict[str, int], in_memory: bool
    ) -> None:
        self.store = store
        self.indices = np.asarray(indices, dtype=np.int64)
        self.targets = np.array([class_to_idx[store.labels[i]] for i in self.indices], dtype=np.int64)
        self.lengths = np.asarray(store.lengths, dtype=np.int64)[self.indices]  # (N,) true steps
        self.cache: list[np.ndarray] | None = None
        if in_memory:
            self.cache = store.read_many(self.indices)
            for pos, feats in zip(self.indices, self.cache):
                _check_finite(store, int(pos), feats)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int, int]:
        return self.__getitems__([i])[0]

    def __getitems__(self, items: Sequence[int]) -> list[tuple[np.ndarray, int, int]]:
        """The items of one batch: from the cache, or read from the store in one sorted pass."""
        if self.cache is not None:
            feats = [self.cache[i] for i in items]
        else:
            positions = self.indices[np.asarray(items, dtype=np.int64)]
            feats = self.store.read_many(positions)
            for pos, f in zip(positions, feats):
                _check_finite(self.store, int(pos), f)
        return [(f, int(self.lengths[i]), int(self.targets[i])) for f, i in zip(feats, items)]


def _check_finite(store: Store, pos: int, feats: np.ndarray) -> None:
    if not np.isfinite(feats).all():
        raise DataError(f"{store.path}: video {store.keys[pos]!r} has NaN or inf features")


def collate_sequences(
    batch: list[tuple[np.ndarray, int, int]], steps: int | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pad to ``steps`` (default: the longest sequence in the batch) -> x (B, T, D), lengths (B,), labels (B,).

    A fixed ``steps`` gives every batch the same shape (what a compiled network wants); the model masks the
    padding, so the embeddings do not depend on it.
    """
    longest = max(f.shape[0] for f, _, _ in batch)
    steps = longest if steps is None else steps
    if longest > steps:
        raise ValueError(f"a sequence of {longest} steps does not fit a batch padded to {steps}")
    dim = batch[0][0].shape[1]
    x = np.zeros((len(batch), steps, dim), dtype=np.float32)
    for j, (f, _, _) in enumerate(batch):
        x[j, : f.shape[0]] = f
    lengths = torch.tensor([min(n, f.shape[0]) for f, n, _ in batch], dtype=torch.long)
    labels = torch.tensor([y for _, _, y in batch], dtype=torch.long)
    return torch.from_numpy(x), lengths, labels


def physical_memory() -> int:
    """Bytes of RAM of this machine (8 GiB where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 8 << 30


def should_load_in_memory(store: Store, indices: Sequence[int] | np.ndarray, mode: str, budget_gb: float = 0.0) -> bool:
    """Whether to read the selected videos into RAM: ``mode`` yes/no, or auto: when their float32 features
    fit in ``budget_gb`` (0: a quarter of the machine's RAM)."""
    if mode in ("yes", "no"):
        return mode == "yes"
    need = float(np.sum(store.rows[np.asarray(indices, dtype=np.int64)])) * store.dim * 4
    budget = budget_gb * (1 << 30) if budget_gb > 0 else physical_memory() / 4
    fits = need < budget
    log.info(
        "training features: %.2f GB; %s (allowance %.2f GB)",
        need / (1 << 30),
        "read into memory" if fits else "streamed from the store",
        budget / (1 << 30),
    )
    return fits


class IndexDataset(Dataset):
    """Positions 0..N-1 of a device-resident feature bank (see ``FeatureBank``)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> int:
        return i


def collate_indices(batch: list[int]) -> torch.Tensor:
    return torch.tensor(batch, dtype=torch.long)  # (B,)


def feature_bank(
    dataset: SequenceDataset, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu", chunk: int = 1024
) -> dict[str, torch.Tensor]:
    """All videos of an in-memory dataset padded into one tensor on ``device``, for training straight from
    device memory.

    Returns {"x": (N, T, D), "lengths": (N,), "labels": (N,)}, T the longest video. Batches are then gathered
    on the device by index, so the host only sends B integers per step. The bank is filled ``chunk`` videos
    at a time, so the host never holds a second, padded copy of the features.
    """
    if dataset.cache is None:
        raise ValueError("feature_bank needs an in-memory dataset")
    steps = max(f.shape[0] for f in dataset.cache)
    x = torch.zeros(len(dataset), steps, dataset.store.dim, dtype=dtype, device=device)
    for start in range(0, len(dataset), chunk):
        part = dataset.cache[start : start + chunk]
        block = np.zeros((len(part), steps, dataset.store.dim), dtype=np.float32)
        for j, f in enumerate(part):
            block[j, : f.shape[0]] = f
        x[start : start + len(part)] = torch.from_numpy(block).to(device=device, dtype=dtype)
    lengths = torch.from_numpy(np.minimum(dataset.lengths, steps)).to(device)
    return {"x": x, "lengths": lengths, "labels": torch.from_numpy(dataset.targets).to(device)}


def bank_fits_device(dataset_rows: int, dim: int, bytes_per_value: int, device: torch.device) -> bool:
    """Whether a padded bank fits in half of the device's free memory (CUDA only)."""
    if device.type != "cuda":
        return False
    free, _ = torch.cuda.mem_get_info(device)
    return dataset_rows * dim * bytes_per_value < free / 2


class SkippableSampler(torch.utils.data.Sampler):
    """Wraps an epoch-seeded sampler (``set_epoch``) so the next pass can start ``skip`` items in."""

    def __init__(self, inner: DistributedSampler) -> None:
        self.inner = inner
        self.skip = 0

    def set_epoch(self, epoch: int) -> None:
        self.inner.set_epoch(epoch)

    def __iter__(self) -> Iterator[int]:
        skip, self.skip = self.skip, 0
        return itertools.islice(iter(self.inner), skip, None)

    def __len__(self) -> int:
        return len(self.inner)


class ResumableLoader(DataLoader):
    """A DataLoader that Lightning can checkpoint mid-epoch: it counts the batches of the current epoch
    that training consumed and, after a restore, starts the epoch's (seeded, identical) order past them,
    so a resumed run sees each remaining batch of the interrupted epoch once, in the same order.
    Built on a :class:`SkippableSampler`.
    """

    def __init__(self, dataset: Dataset, batch_size: int, sampler: SkippableSampler, **kwargs: Any) -> None:
        super().__init__(dataset, batch_size=batch_size, sampler=sampler, **kwargs)
        self.consumed = 0  # set by the training module after each optimiser step

    def state_dict(self) -> dict[str, int]:
        return {"consumed": self.consumed % max(1, len(self))}  # an epoch-end checkpoint starts afresh

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.consumed = int(state.get("consumed", 0))
        if not isinstance(self.sampler, SkippableSampler) or self.batch_size is None:
            raise TypeError("a ResumableLoader needs a SkippableSampler and a batch size")
        self.sampler.skip = self.consumed * self.batch_size
