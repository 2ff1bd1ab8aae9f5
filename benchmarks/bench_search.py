"""Search benchmark: exact cosine search against FAISS HNSW, IVF-Flat and IVF-PQ on clustered vectors.

    python benchmarks/bench_search.py                       # 1,000,000 x 300-d, ~1 h on 2 busy cores
    python benchmarks/bench_search.py --n 100000 --sweep "" # a quick look

Data: :func:`action2vec.search.synthetic.clustered_embeddings` (700 classes in 70 groups, a 12-d spread
per group, power-law class sizes; docs/search.md says why), plus held-out query vectors from the same
mixture. Everything goes through the library (``build_index``, ``VideoIndex.open``, ``search``).

For each approximate kind a child process builds the index (build time, peak RSS, index size) and another
opens it and measures single-query latency with exact search timed on the same queries in the same loop
(query i exact, then query i on every setting of the kind), batched throughput, and recall@10 against the
exact answers computed in this run. The sweep repeats exact vs the automatic choice's approximate kind on
subsets of the data to show where switching pays off. Figures: docs/search.md. Results: --json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

DEFAULT_PARAMS = {  # search-time settings swept per kind (the first is the library default)
    "hnsw": [("ef_search", v) for v in (192, 32, 64, 96, 128, 384)],
    "ivf_flat": [("nprobe", v) for v in (16, 8, 24, 32, 64)],
    "ivf_pq": [("nprobe", v) for v in (16, 8, 24, 32, 64)],
}


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _rss_mb() -> float:
    return _status_mb("VmRSS")


def _peak_mb() -> float:
    """This process's peak RSS (VmHWM; getrusage's ru_maxrss would count the parent's peak before exec)."""
    return _status_mb("VmHWM")


def _dir_mb(path: Path, names: list[str]) -> dict[str, float]:
    return {n: (path / n).stat().st_size / 2**20 for n in names if (path / n).is_file()}


def _data(work: Path, n: int, dim: int, classes: int, queries: int, seed: int) -> dict[str, Path]:
    """Vectors, class ids and queries as .npy files in ``work`` (made once, reused)."""
    from action2vec.search.synthetic import clustered_embeddings

    stem = work / f"data-{n}-{dim}-{classes}-{seed}"
    files = {"x": Path(f"{stem}-x.npy"), "labels": Path(f"{stem}-labels.npy"), "q": Path(f"{stem}-q{queries}.npy")}
    if not all(f.is_file() for f in files.values()):
        start = time.perf_counter()
        x, labels, q, _ = clustered_embeddings(n, dim=dim, n_classes=classes, seed=seed, n_queries=queries)
        for name, arr in (("x", x), ("labels", labels), ("q", q)):
            np.save(files[name], arr)
        print(f"generated {n} x {dim} in {time.perf_counter() - start:.0f} s", flush=True)
    return files


def _keys(n: int) -> list[str]:
    return [f"video{i:08d}" for i in range(n)]


def _exact_truth(work: Path, files: dict[str, Path], n: int, k: int) -> tuple[np.ndarray, dict]:
    """Exact top-k positions (Q, k) of the first ``n`` vectors, and the exact index's build time and size
    (its query figures are measured by the query child, beside the approximate index's)."""
    from action2vec.search import IndexSettings, build_index

    x = np.load(files["x"], mmap_mode="r")[:n]
    labels = np.load(files["labels"])[:n]
    q = np.load(files["q"])
    folder = work / f"exact-{n}"
    start = time.perf_counter()
    index = build_index(
        np.asarray(x), _keys(n), [f"c{c}" for c in labels], folder, settings=IndexSettings(kind="exact")
    )
    build = time.perf_counter() - start
    hits = index.search(q, k)
    pos = np.array([[int(h.key[5:]) for h in row] for row in hits])
    return pos, {"build_s": build, "size_mb": _dir_mb(folder, ["vectors.npy", "videos.json"])}


def child_build(args: argparse.Namespace) -> dict:
    """Build one approximate index over the first ``n`` vectors; time and memory."""
    from action2vec.search import IndexSettings, build_index

    x = np.load(args.x, mmap_mode="r")[: args.n]
    labels = np.load(args.labels)[: args.n]
    settings = IndexSettings(kind=args.kind, **json.loads(args.settings))
    before = _peak_mb()
    vectors = np.asarray(x)
    start = time.perf_counter()
    build_index(vectors, _keys(args.n), [f"c{c}" for c in labels], args.folder, settings=settings)
    seconds = time.perf_counter() - start
    return {
        "build_s": seconds,
        "peak_rss_mb": _peak_mb(),
        "rss_before_mb": before,
        "size_mb": _dir_mb(Path(args.folder), ["faiss.index", "vectors.npy", "videos.json"]),
    }


def _time_one(index, q: np.ndarray, k: int) -> float:
    start = time.perf_counter()
    index.search(q, k)
    return time.perf_counter() - start


def child_query(args: argparse.Namespace) -> dict:
    """Open the index (RSS), then single queries interleaved with exact search, batched, recall@k."""
    from action2vec.search import VideoIndex

    q = np.load(args.q)
    truth = np.load(args.truth)
    rss0 = _rss_mb()
    index = VideoIndex.open(args.folder)
    index.search(q[:1], args.k)  # first touch
    rss_open = _rss_mb() - rss0
    exact = VideoIndex.open(args.exact) if args.exact_latency else None
    params = [tuple(p) for p in json.loads(args.params)]
    single: dict[str, list[float]] = {f"{n}={v}": [] for n, v in params}
    single["exact"] = []
    for i in range(min(len(q), max(args.latency_queries, args.exact_latency))):
        if exact is not None and i < args.exact_latency:
            single["exact"].append(_time_one(exact, q[i : i + 1], args.k))
        # settings in turn, starting at another one each query: the one timed right after the exact scan (which
        # evicts the index from the CPU cache) changes, so no setting always pays for it
        for name, value in params[i % len(params) :] + params[: i % len(params)]:
            index.set_search_params(**{name: value})
            if i < args.latency_queries:
                single[f"{name}={value}"].append(_time_one(index, q[i : i + 1], args.k))
    rows = {}
    truth_keys = [set(f"video{j:08d}" for j in row[: args.k]) for row in truth]
    for name, value in params:
        tag = f"{name}={value}"
        index.set_search_params(**{name: value})
        start = time.perf_counter()
        batched = index.search(q, args.k)
        per_query = (time.perf_counter() - start) / len(q)
        recall = float(np.mean([len({h.key for h in hits} & t) / args.k for hits, t in zip(batched, truth_keys)]))
        times = np.array(single[tag]) * 1e3
        rows[tag] = {
            "recall": recall,
            "p50_ms": float(np.percentile(times, 50)),
            "p99_ms": float(np.percentile(times, 99)),
            "batched_ms_per_query": 1e3 * per_query,
        }
    out = {"rss_open_mb": rss_open, "peak_rss_mb": _peak_mb(), "settings": rows}
    if exact is not None:
        times = np.array(single["exact"]) * 1e3
        start = time.perf_counter()
        exact.search(q[: args.exact_latency], args.k)
        per_query = (time.perf_counter() - start) / args.exact_latency
        out["exact"] = {
            "p50_ms": float(np.percentile(times, 50)),
            "p99_ms": float(np.percentile(times, 99)),
            "queries": len(times),
            "batched_ms_per_query": 1e3 * per_query,
        }
    return out


def _child(mode: str, threads: int, **kw) -> dict:
    """Run this script as a child (``mode`` build or query) with ``threads`` OpenMP/BLAS threads."""
    argv = [sys.executable, __file__, "--child", mode]
    for key, value in kw.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    env = {
        **os.environ,
        "PYTHONWARNINGS": "ignore",
        "OMP_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
    }
    proc = subprocess.run(argv, capture_output=True, text=True, env=env)
    if proc.returncode:
        sys.exit(f"child {mode} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(
    work: Path, files: dict[str, Path], n: int, kind: str, args: argparse.Namespace, params: list, exact_latency: int
) -> dict:
    """Build ``kind`` over the first ``n`` vectors in one child, query it in another."""
    folder = work / f"{kind}-{n}"
    built = _child(
        "build",
        args.build_threads,
        x=files["x"],
        labels=files["labels"],
        n=n,
        kind=kind,
        folder=folder,
        settings=json.dumps(args.index_settings.get(kind, {})),
    )
    print(f"  {kind} n={n}: built in {built['build_s']:.1f} s, peak RSS {built['peak_rss_mb']:.0f} MB", flush=True)
    queried = _child(
        "query",
        args.query_threads,
        folder=folder,
        exact=work / f"exact-{n}",
        q=files["q"],
        truth=work / f"truth-{n}.npy",
        k=args.k,
        params=json.dumps(params),
        latency_queries=args.latency_queries,
        exact_latency=exact_latency,
    )
    for tag, row in queried["settings"].items():
        print(
            f"    {tag:>14}: recall@{args.k} {row['recall']:.4f}  p50 {row['p50_ms']:.2f} ms  "
            f"p99 {row['p99_ms']:.2f} ms  batched {row['batched_ms_per_query']:.3f} ms/query",
            flush=True,
        )
    if "exact" in queried:
        e = queried["exact"]
        print(
            f"    {'exact':>14}: recall@{args.k} 1  p50 {e['p50_ms']:.2f} ms  p99 {e['p99_ms']:.2f} ms  "
            f"batched {e['batched_ms_per_query']:.3f} ms/query (same loop)",
            flush=True,
        )
    return {"build": built, "query": queried}


def _truth(work: Path, files: dict[str, Path], n: int, k: int) -> dict:
    pos, info = _exact_truth(work, files, n, k)
    np.save(work / f"truth-{n}.npy", pos)
    print(f"exact n={n}: answers of {len(pos)} queries", flush=True)
    return info


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=1_000_000, help="vectors (>= 1000)")
    p.add_argument("--dim", type=int, default=300, help="dimension (>= 2)")
    p.add_argument("--classes", type=int, default=700, help="class centres (>= 1)")
    p.add_argument("--queries", type=int, default=1000, help="held-out queries for recall (>= 10)")
    p.add_argument("--latency-queries", type=int, default=300, help="single queries timed per setting (>= 10)")
    p.add_argument("--exact-latency", type=int, default=100, help="single exact queries timed, interleaved (>= 10)")
    p.add_argument("--k", type=int, default=10, help="recall@k (>= 1)")
    p.add_argument("--kinds", default="hnsw,ivf_flat,ivf_pq", help="approximate kinds at --n")
    p.add_argument(
        "--sweep",
        default="3000,10000,30000,100000,300000",
        help="sizes for exact vs the automatic approximate kind ('' skips)",
    )
    p.add_argument(
        "--sweep-kind", default="ivf_flat", choices=sorted(DEFAULT_PARAMS), help="approximate kind of the sweep"
    )
    p.add_argument("--work", default="/tmp/action2vec-bench-search", help="scratch folder (several GB at 1 M)")
    p.add_argument("--json", help="write every figure to this file")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--build-threads", type=int, default=os.cpu_count() or 1, help="threads building (>= 1)")
    p.add_argument(
        "--query-threads",
        type=int,
        default=1,
        help="threads answering queries (>= 1; 1: a server answers one query per core)",
    )
    p.add_argument("--child", help=argparse.SUPPRESS)
    for name in ("x", "labels", "q", "truth", "folder", "exact", "kind", "settings", "params"):
        p.add_argument(f"--{name}", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        result = child_build(args) if args.child == "build" else child_query(args)
        print(json.dumps(result))
        return
    for name, low in (
        ("n", 1000),
        ("dim", 2),
        ("classes", 1),
        ("queries", 10),
        ("latency_queries", 10),
        ("exact_latency", 10),
        ("k", 1),
        ("build_threads", 1),
        ("query_threads", 1),
    ):
        if getattr(args, name) < low:
            p.error(f"--{name.replace('_', '-')}: {getattr(args, name)} is out of range (must be >= {low})")
    unknown = [k for k in args.kinds.split(",") if k and k not in DEFAULT_PARAMS]
    if unknown:
        p.error(
            f"--kinds: unknown kind(s) {unknown} (approximate kinds: {', '.join(DEFAULT_PARAMS)}; exact always runs)"
        )
    args.index_settings = {}
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    files = _data(work, args.n, args.dim, args.classes, args.queries, args.seed)
    import faiss

    report = {
        "date": date.today().isoformat(),
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores",
        "faiss": faiss.__version__,
        "numpy": np.__version__,
        "load_at_start": os.getloadavg(),
        "args": {k: v for k, v in vars(args).items() if k != "child"},
        "full": {},
        "sweep": {},
    }

    def save() -> None:  # after every measurement, so a long run that is stopped keeps what it measured
        report["load_at_end"] = os.getloadavg()
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=1) + "\n")

    report["full"]["exact"] = _truth(work, files, args.n, args.k)
    for kind in [k for k in args.kinds.split(",") if k]:
        report["full"][kind] = measure(work, files, args.n, kind, args, DEFAULT_PARAMS[kind], args.exact_latency)
        save()
    for n in [int(s) for s in args.sweep.split(",") if s]:
        if n >= args.n:
            continue
        row = report["sweep"][str(n)] = {"exact": _truth(work, files, n, args.k)}
        row[args.sweep_kind] = measure(
            work, files, n, args.sweep_kind, args, DEFAULT_PARAMS[args.sweep_kind][:1], args.exact_latency
        )
        save()
    save()
    if args.json:
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
