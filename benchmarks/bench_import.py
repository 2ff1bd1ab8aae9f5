"""Peak memory and throughput of ``action2vec store import`` on a large folder of .npy files, against a plain
h5py write of the same arrays measured in the same run.

    python benchmarks/bench_import.py                       # ~5 GB source: 2,500 videos of (T~256, 2048) float32
    python benchmarks/bench_import.py --gb 0.5 --repeats 1 --json import.json

The source is written once into a temporary folder under ``--dir`` (default: the system's temporary folder)
and deleted at the end. Each measured run is its own process, so its peak RSS (VmHWM) is its own:

- ``plain``: read every .npy with ``np.load`` and write it into one preallocated ``(rows, D)`` float32 HDF5
  dataset at its offset, with a key list (what one would write by hand; no checks, not resumable);
- ``import``: ``import_features(folder, store, labels="from-folder")``: header pass, checks, part files
  through ``StoreWriter``, the final merge.

Runs alternate (plain, import, plain, import, ...) so a change of load on the machine hits both alike; the
source stays in the page cache when it fits (both read it from there). Before each run the earlier outputs
are deleted and ``os.sync()`` writes pending pages out (not timed). Throughput = source bytes / seconds; the
figures are the best run of each phase.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def _peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_source(folder: Path, gb: float, dim: int, classes: int, seed: int = 0) -> dict[str, Any]:
    """Write ~``gb`` GB of (T, dim) float32 .npy files into ``classes`` sub-folders; T varies in 128..384."""
    rng = np.random.default_rng(seed)
    target = int(gb * 1e9)
    written = n = 0
    block = rng.standard_normal((384, dim)).astype(np.float32)
    while written < target:
        t = int(rng.integers(128, 385))
        sub = folder / f"class{n % classes:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        arr = block[:t] + np.float32(n)  # distinct content per video, cheap to make
        np.save(sub / f"video{n:05d}.npy", arr)
        written += arr.nbytes
        n += 1
    return {"videos": n, "bytes": written}


def _plain(source: Path, out: Path) -> None:
    import h5py

    files = sorted(source.rglob("*.npy"))
    shapes = [np.load(f, mmap_mode="r").shape for f in files]
    rows, dim = sum(s[0] for s in shapes), shapes[0][1]
    with h5py.File(out, "w") as f:
        feats = f.create_dataset("features", (rows, dim), np.float32)
        cursor = 0
        for path, shape in zip(files, shapes):
            feats[cursor : cursor + shape[0]] = np.load(path)
            cursor += shape[0]
        f.create_dataset(
            "keys", data=np.array([str(p.relative_to(source)) for p in files], dtype=object), dtype=h5py.string_dtype()
        )


def _child(phase: str, source: Path, out: Path) -> None:
    t0 = time.perf_counter()
    if phase == "plain":
        _plain(source, out)
    else:
        from action2vec.store.importer import import_features

        import_features(source, out, labels="from-folder", meta={"backbone": "bench"})
    seconds = time.perf_counter() - t0
    print(json.dumps({"phase": phase, "seconds": seconds, "peak_rss_mb": _peak_rss_mb()}))


def _run(phase: str, source: Path, out: Path) -> dict[str, Any]:
    for old in out.parent.glob("*.h5"):  # every earlier output: each run starts with only the source on disk
        old.unlink()
    shutil.rmtree(out.with_name(out.name + ".parts"), ignore_errors=True)
    os.sync()  # and with no dirty pages of an earlier run left for it to wait on (not timed)
    proc = subprocess.run(
        [sys.executable, __file__, "--phase", phase, "--source", str(source), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{phase} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _check_same(store: Path, source: Path) -> bool:
    """The imported store holds exactly the arrays of the source (a sample of 20 videos, compared to np.load)."""
    import h5py

    with h5py.File(store, "r") as f:
        keys = [k.decode() if isinstance(k, bytes) else k for k in f["index/key"][()]]
        offsets, rows = f["index/offset"][()], f["index/rows"][()]
        picks = np.linspace(0, len(keys) - 1, 20).astype(int)
        return all(
            np.array_equal(f["features"][offsets[i] : offsets[i] + rows[i]], np.load(source / (keys[i] + ".npy")))
            for i in picks
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gb", type=float, default=5.0, help="source size in GB")
    ap.add_argument("--dim", type=int, default=2048)
    ap.add_argument("--classes", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=2, help="runs of each phase (alternating)")
    ap.add_argument("--dir", help="where the temporary source and outputs go")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--phase", choices=("plain", "import"), help=argparse.SUPPRESS)
    ap.add_argument("--source", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.phase:
        _child(args.phase, Path(args.source), Path(args.out))
        return 0
    root = Path(tempfile.mkdtemp(prefix="bench_import_", dir=args.dir))
    try:
        t0 = time.perf_counter()
        made = make_source(root / "source", args.gb, args.dim, args.classes)
        print(
            f"source: {made['videos']} videos, {made['bytes'] / 1e9:.2f} GB written in "
            f"{time.perf_counter() - t0:.0f} s",
            flush=True,
        )
        runs: dict[str, list[dict[str, Any]]] = {"plain": [], "import": []}
        for r in range(args.repeats):
            for phase in ("plain", "import"):
                res = _run(phase, root / "source", root / f"{phase}.h5")
                res["gb_per_s"] = made["bytes"] / 1e9 / res["seconds"]
                runs[phase].append(res)
                print(
                    f"  {phase:<6} run {r + 1}: {res['seconds']:.1f} s, {res['gb_per_s']:.3f} GB/s, "
                    f"peak RSS {res['peak_rss_mb']:.0f} MB",
                    flush=True,
                )
        same = _check_same(root / "import.h5", root / "source")  # the last run was an import
        best = {p: min(x["seconds"] for x in v) for p, v in runs.items()}
        out = {
            "source_videos": made["videos"],
            "source_gb": round(made["bytes"] / 1e9, 3),
            "dim": args.dim,
            "plain_s": round(best["plain"], 1),
            "import_s": round(best["import"], 1),
            "plain_gb_per_s": round(made["bytes"] / 1e9 / best["plain"], 3),
            "import_gb_per_s": round(made["bytes"] / 1e9 / best["import"], 3),
            "import_vs_plain": round(best["plain"] / best["import"], 3),
            "import_peak_rss_mb": round(max(x["peak_rss_mb"] for x in runs["import"])),
            "plain_peak_rss_mb": round(max(x["peak_rss_mb"] for x in runs["plain"])),
            "arrays_equal": same,
            "runs": runs,
            "cpus": os.cpu_count(),
            "load_avg": [round(x, 2) for x in os.getloadavg()],
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        }
        print(json.dumps({k: v for k, v in out.items() if k != "runs"}, indent=1))
        if args.json:
            Path(args.json).write_text(json.dumps(out, indent=1))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
