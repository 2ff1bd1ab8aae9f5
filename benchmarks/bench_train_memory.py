"""Peak memory and speed of training from a store larger than the memory the run is allowed, streamed,
against training from memory on a store that fits.

    python benchmarks/bench_train_memory.py                     # 0.9 GB and 3.5 GB stores, 1 GB allowance
    python benchmarks/bench_train_memory.py --large-gb 8 --budget-gb 2 --workers 4 --json mem.json

Each run is its own process (``bench_train.py --max-steps N``: the real ``fit()``, or this script's
``--loader`` child: the training DataLoader alone, what the data path can deliver to a GPU), watched from
here every 0.1 s: the peak over time of the sum of VmRSS over the process and its DataLoader workers (shared
library pages counted once per process, so an upper bound), the peak sum of PSS (shared pages split between
the processes that map them), and each process's own VmHWM. Runs, in order, alternating so that a change of
load hits all of them alike:

- ``memory``: the small store, read into memory (it fits the allowance);
- ``streamed``: the same store, streamed (``data.in_memory=no``);
- ``large``: the large store, streamed because it does not fit the allowance (``data.in_memory=auto``);
- ``large-cold``: the same after ``posix_fadvise(DONTNEED)`` drops the store from the page cache (reads hit
  the disk; only this benchmark's own file is dropped).

Stores are written once into ``--dir`` (default: a temporary folder) and kept when it is given.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VIDEO_BYTES = 52 * 500 * 4  # one K400-shaped video: 52 steps x 500-d float32


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (DataLoader workers, their pin-memory threads are threads, not processes)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                todo.extend(int(c) for c in Path(f"/proc/{p}/task/{task}/children").read_text().split())
        except OSError:
            continue
    return out


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def watch(cmd: list[str], every: float = 0.1) -> dict[str, Any]:
    """Run ``cmd``; its memory peaks (MB) and the JSON object it printed last."""
    with tempfile.TemporaryFile("w+") as out_file, tempfile.TemporaryFile("w+") as err_file:
        proc = subprocess.Popen(cmd, stdout=out_file, stderr=err_file, text=True)
        peak_rss = peak_pss = 0
        hwm: dict[int, int] = {}
        while proc.poll() is None:
            pids = _tree(proc.pid)
            peak_rss = max(peak_rss, sum(_status_kb(p, "VmRSS") for p in pids))
            peak_pss = max(peak_pss, sum(_pss_kb(p) for p in pids))
            for p in pids:
                hwm[p] = max(hwm.get(p, 0), _status_kb(p, "VmHWM"))
            time.sleep(every)
        out_file.seek(0)
        err_file.seek(0)
        out, err = out_file.read(), err_file.read()
    if proc.returncode != 0:
        raise SystemExit(f"bench_train_memory: {' '.join(cmd[:4])} ... exited {proc.returncode}:\n{err[-3000:]}")
    result = json.loads(out[out.rindex("\n{") + 1 :] if "\n{" in out else out)
    workers = [v for p, v in hwm.items() if p != proc.pid]
    return {
        **result,
        "peak_sum_rss_mb": round(peak_rss / 1024),
        "peak_sum_pss_mb": round(peak_pss / 1024),
        "main_hwm_mb": round(hwm.get(proc.pid, 0) / 1024),
        "worker_hwm_mb": round(max(workers) / 1024) if workers else 0,
        "processes": len(hwm),
    }


def loader_child(args: argparse.Namespace) -> None:
    """The training DataLoader alone (same dataset, batching and workers as fit()): videos/s over --steps."""
    import numpy as np
    import torch
    from torch.utils.data import DataLoader, RandomSampler

    from action2vec.store import open_store
    from action2vec.training.data import SequenceDataset, collate_sequences, should_load_in_memory

    store = open_store(args.store)
    pos = np.arange(len(store))
    in_mem = should_load_in_memory(store, pos, args.in_memory, args.budget_gb)
    ds = SequenceDataset(store, pos, {c: i for i, c in enumerate(store.classes)}, in_mem)
    sampler = RandomSampler(
        ds, num_samples=(args.steps + 2) * args.batch_size, generator=torch.Generator().manual_seed(0)
    )  # a new permutation after each pass
    loader = DataLoader(
        ds, batch_size=args.batch_size, sampler=sampler, collate_fn=collate_sequences, num_workers=args.workers
    )
    it, t0 = iter(loader), 0.0
    for step in range(args.steps + 2):
        if step == 2:  # the first batches include the workers' start
            t0 = time.perf_counter()
        next(it)
    seconds = time.perf_counter() - t0
    videos_per_s = round(args.steps * args.batch_size / seconds, 1)
    print(json.dumps({"data": "in memory" if in_mem else "streamed", "videos_per_s": videos_per_s}))


def make_stores(folder: Path, small_gb: float, large_gb: float) -> tuple[Path, Path]:
    sys.path.insert(0, str(HERE))
    from bench_train import make_store

    small = make_store(folder / "small.h5", int(small_gb * 1e9 / VIDEO_BYTES), 52, 500, 400)
    large = make_store(folder / "large.h5", int(large_gb * 1e9 / VIDEO_BYTES), 52, 500, 400)
    return small, large


def drop_from_page_cache(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def runs(args: argparse.Namespace, small: Path, large: Path) -> list[dict[str, Any]]:
    """The four runs, for the real fit() and for the loader alone, alternating."""
    out = []
    for name, store, mode in (
        ("memory", small, "auto"),
        ("streamed", small, "no"),
        ("large", large, "auto"),
        ("large-cold", large, "auto"),
    ):
        common = ["--store", str(store), "--workers", str(args.workers), "--batch-size", str(args.batch_size)]
        if name == "large-cold":
            drop_from_page_cache(large)
        loader = watch(
            [
                sys.executable,
                __file__,
                "--loader",
                *common,
                "--in-memory",
                mode,
                "--budget-gb",
                str(args.budget_gb),
                "--steps",
                str(args.steps),
            ]
        )
        if name == "large-cold":
            drop_from_page_cache(large)
        fit = watch(
            [
                sys.executable,
                str(HERE / "bench_train.py"),
                *common,
                "--videos",
                str(_videos(store)),
                "--preset",
                args.preset,
                "--in-memory",
                mode,
                "--memory-budget-gb",
                str(args.budget_gb),
                "--max-steps",
                str(args.fit_steps),
                "--timing",
                "step",
                "--matmul-seconds",
                "0",
            ]
        )
        gb = store.stat().st_size / 1e9
        out.append({"run": name, "store_gb": round(gb, 2), "budget_gb": args.budget_gb, "loader": loader, "fit": fit})
        print(
            f"{name:<10} store {gb:4.2f} GB: loader {loader['data']:<9} {loader['videos_per_s']:8.1f} videos/s, peak "
            f"RSS sum {loader['peak_sum_rss_mb']} MB (PSS {loader['peak_sum_pss_mb']} MB) | fit() [{args.preset}] "
            f"{fit['data']:<9} {fit['videos_per_s']:6.1f} videos/s, peak RSS sum {fit['peak_sum_rss_mb']} MB "
            f"(PSS {fit['peak_sum_pss_mb']} MB; main {fit['main_hwm_mb']} MB, worker {fit['worker_hwm_mb']} MB)",
            flush=True,
        )
    return out


def _videos(store: Path) -> int:
    import h5py

    with h5py.File(store, "r") as f:
        return int(f["index"]["rows"].shape[0])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--small-gb", type=float, default=0.9, help="the store that fits (read into memory)")
    p.add_argument("--large-gb", type=float, default=3.5, help="the store larger than the allowance")
    p.add_argument("--budget-gb", type=float, default=1.0, help="data.memory_budget_gb of every run")
    p.add_argument("--workers", type=int, default=2, help="train.num_workers")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=300, help="batches timed by the loader-only runs")
    p.add_argument("--fit-steps", type=int, default=60, help="steps of each fit() run")
    p.add_argument("--preset", default="tiny", help="model of the fit() runs (tiny: the data path shows)")
    p.add_argument("--dir", help="keep the stores here")
    p.add_argument("--json", help="write the figures here")
    p.add_argument("--loader", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--store", help=argparse.SUPPRESS)
    p.add_argument("--in-memory", default="auto", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if (
        min(args.small_gb, args.large_gb, args.budget_gb) <= 0
        or min(args.batch_size, args.steps, args.fit_steps) < 1
        or args.workers < 0
    ):
        p.error("sizes must be > 0, --batch-size/--steps/--fit-steps >= 1, --workers >= 0")
    if args.loader:
        loader_child(args)
        return 0
    folder = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench_train_memory_"))
    folder.mkdir(parents=True, exist_ok=True)
    small, large = make_stores(folder, args.small_gb, args.large_gb)
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    result = {
        "machine": f"{os.cpu_count()} CPUs, {ram:.0f} GiB",
        "date": time.strftime("%Y-%m-%d"),
        "load_average": os.getloadavg(),
        "runs": runs(args, small, large),
    }
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    if not args.dir:
        for path in (small, large):
            path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
