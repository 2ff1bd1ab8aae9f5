"""Benchmark: zero-shot evaluation of many test videos against many classes (cosine, top-k, metrics).

    python benchmarks/bench_eval.py                      # 100k videos x 700 classes x 300-d
    python benchmarks/bench_eval.py --videos 20000 --classes 400 --dim 500 --json bench.json

Times ``cosine_topk`` (chunked matmul + ``torch.topk``) and the full ``zero_shot_evaluate`` (top-1/top-5,
mean per-class accuracy, confusion matrix), next to a plain dense matmul of the same size measured in
the same run, so the figure says how close the evaluation is to the machine's matmul rate.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from action2vec.evaluation.zero_shot import cosine_topk, zero_shot_evaluate


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--videos", type=int, default=100_000)
    p.add_argument("--classes", type=int, default=700)
    p.add_argument("--dim", type=int, default=300)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", help="write the figures to this file")
    args = p.parse_args()

    rng = np.random.default_rng(0)
    classes = rng.standard_normal((args.classes, args.dim)).astype(np.float32)
    labels = rng.integers(0, args.classes, args.videos)
    videos = (classes[labels] + 2.0 * rng.standard_normal((args.videos, args.dim))).astype(np.float32)

    flops = 2.0 * args.videos * args.classes * args.dim
    t_matmul = best_of(lambda: videos @ classes.T, args.repeats)
    t_topk = best_of(lambda: cosine_topk(videos, classes, k=5), args.repeats)
    t_eval = best_of(lambda: zero_shot_evaluate(videos, labels, classes, with_confusion=True), args.repeats)
    top1 = zero_shot_evaluate(videos, labels, classes)["top1"]
    out = {
        "videos": args.videos,
        "classes": args.classes,
        "dim": args.dim,
        "cpu_count": os.cpu_count(),
        "matmul_s": t_matmul,
        "matmul_gflops": flops / t_matmul / 1e9,
        "cosine_top5_s": t_topk,
        "evaluate_s": t_eval,
        "videos_per_s": args.videos / t_eval,
        "evaluate_vs_matmul": t_matmul / t_eval,
        "top1": top1,
    }
    print(f"{args.videos} videos x {args.classes} classes x {args.dim}-d on {os.cpu_count()} CPUs")
    print(f"  dense matmul alone        {t_matmul:7.3f} s  ({out['matmul_gflops']:.1f} GFLOP/s)")
    print(f"  cosine top-5              {t_topk:7.3f} s")
    print(
        f"  full zero-shot evaluation {t_eval:7.3f} s  ({out['videos_per_s']:,.0f} videos/s; "
        f"matmul is {100 * out['evaluate_vs_matmul']:.0f}% of it)"
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
