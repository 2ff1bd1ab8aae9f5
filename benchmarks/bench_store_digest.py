"""What a store's content digest costs: read as recorded, and verified (every video's features hashed again).

    python benchmarks/bench_store_digest.py                  # ~1 GB store: 2,000 videos x 64 steps x 2,048-d
    python benchmarks/bench_store_digest.py --videos 200     # a quick look

Writes a store with ``write_store`` (random float32 features), then times, each ``--repeats`` times in the same
run: ``store_digest`` of a freshly opened store whose file state has a remembered digest (what every reader pays
after a writer or a verification recorded it); ``store_digest`` after the file's modification time was set anew
(as for a store copied, edited in place, or written before digests were kept: every video's rows read and hashed
once); and, as the
reference for the second, one plain sequential read of ``/features`` with h5py (no hashing). Figures:
docs/architecture.md ("Provenance"). Results: --json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

import h5py
import numpy as np

from action2vec.store import open_store, store_digest, write_store


def _items(videos: int, steps: int, dim: int):
    rng = np.random.default_rng(0)
    for i in range(videos):
        yield f"v{i:06d}", rng.standard_normal((steps, dim), dtype=np.float32), steps, f"c{i % 50}"


def _plain_read(path: Path) -> float:
    start = time.perf_counter()
    with h5py.File(path, "r", rdcc_nbytes=0) as f:
        ds = f["features"]
        block = max(1, (1 << 26) // (4 * ds.shape[1]))
        for lo in range(0, ds.shape[0], block):
            ds[lo : lo + block]
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--videos", type=int, default=2000)
    p.add_argument("--steps", type=int, default=64)
    p.add_argument("--dim", type=int, default=2048)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--dir", default=None, help="folder for the scratch store (default: a temporary folder)")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = Path(tmp) / "bench.h5"
        start = time.perf_counter()
        write_store(path, _items(args.videos, args.steps, args.dim), meta={"backbone": "bench"})
        write_s = time.perf_counter() - start
        size_gb = path.stat().st_size / 1e9
        recorded, verified, plain = [], [], []
        for _ in range(args.repeats):
            store = open_store(path)
            t = time.perf_counter()
            digest = store_digest(store)
            recorded.append(time.perf_counter() - t)
            store.close()
            plain.append(_plain_read(path))
            os.utime(path)  # another file state (as after an edit or a copy): the digest is verified again
            store = open_store(path)
            t = time.perf_counter()
            assert store_digest(store) == digest
            verified.append(time.perf_counter() - t)
            store.close()
    result = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_1min": os.getloadavg()[0],
        "store_gb": round(size_gb, 3),
        "videos": args.videos,
        "write_store_s": round(write_s, 2),
        "recorded_ms": round(1000 * min(recorded), 2),
        "verified_s": round(min(verified), 2),
        "plain_read_s": round(min(plain), 2),
        "verified_gb_per_s": round(size_gb / min(verified), 2),
    }
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
