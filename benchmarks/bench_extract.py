"""Extraction benchmark: is decoding or the model the bound?

Measures, on the same files in the same run:

1. decode only: the extraction's own decoding path (worker processes, resampling, early resize),
   videos/s and frames/s;
2. model only: preprocessing + backbone forward on batches of random clips, clips/s;
3. full extraction into a temporary store: videos/s, clips/s, and where the main process spent its time
   (waiting for decoded videos, preprocessing, forward, writing).

The ratio extraction / decode-only shows the bound: near 1, decoding is; far below 1, the model is.

    python benchmarks/bench_extract.py                       # the real clips in ../shared/data/videos
    python benchmarks/bench_extract.py --list my_videos.txt --workers 16 --batch-size 128 --device cuda
    python benchmarks/bench_extract.py --synthetic 32        # 32 generated 10 s 340x256 H.264 videos

Weights do not change the speed, so the backbone runs with random weights unless --weights is given.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from action2vec.video.backbones import create_backbone
from action2vec.video.clips import plan_clips
from action2vec.video.config import ExtractConfig
from action2vec.video.extract import (
    VideoItem,
    _DecodeDataset,
    _loader,
    _Runner,
    decode_workers,
    extract_videos,
    read_video_list,
)
from action2vec.video.synthetic import level_frames, write_video

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"


def synthetic_videos(folder: Path, n: int, seconds: float = 10.0) -> list[VideoItem]:
    """``n`` H.264 videos of 340x256 at 30 fps with moving texture (about as costly to decode as UCF101)."""
    rng = np.random.default_rng(0)
    items = []
    frames_n = int(seconds * 30)
    for i in range(n):
        base = rng.integers(0, 255, (256, 340 + frames_n, 3), dtype=np.uint8)
        frames = np.stack([base[:, t : t + 340] for t in range(frames_n)]) // 2 + level_frames(frames_n, 256, 340) // 2
        path = write_video(folder / f"syn{i:03d}.mp4", frames, fps=30, quality=23)
        items.append(VideoItem(key=path.name, path=path))
    return items


def decode_only(items: list[VideoItem], cfg: ExtractConfig, backbone) -> dict[str, float]:
    plan = plan_clips(cfg.video, backbone.clip_len)
    t = time.perf_counter()
    frames = videos = 0
    for sample in _loader(_DecodeDataset(items, plan, backbone, cfg.video), cfg.compute.workers):
        if sample["frames"] is not None:
            frames += int(sample["frames"].shape[0])
            videos += 1
    s = time.perf_counter() - t
    return {"seconds": s, "videos": videos, "videos_per_s": videos / s, "frames_per_s": frames / s}


def model_only(backbone, cfg: ExtractConfig, device: torch.device, batches: int) -> dict[str, float]:
    runner = _Runner(backbone, cfg.compute, device)
    h, w = backbone.frame_size or (cfg.video.short_side, int(cfg.video.short_side * 4 / 3))
    clips = np.random.default_rng(0).integers(0, 255, (cfg.compute.batch_size, backbone.clip_len, h, w, 3), np.uint8)
    runner([clips])  # warm-up (cudnn autotuning, compile)
    if device.type == "cuda":
        torch.cuda.synchronize()
    runner.timings = {"preprocess": 0.0, "forward": 0.0}
    t = time.perf_counter()
    for _ in range(batches):
        runner([clips])
    s = time.perf_counter() - t
    n = batches * cfg.compute.batch_size
    return {"clips_per_s": n / s, "preprocess_s_per_clip": runner.timings["preprocess"] / n,
            "forward_s_per_clip": runner.timings["forward"] / n}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--list", help="video list ('path [label]' per line); default: the real clips")
    p.add_argument("--synthetic", type=int, default=0, help="generate this many 10 s videos instead")
    p.add_argument("--repeat", type=int, default=1, help="use every listed video this many times")
    p.add_argument("--backbone", default="c3d")
    p.add_argument("--weights")
    p.add_argument("--workers", type=int, default=-1, help="decoding workers (-1: every core but one)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--duration", type=float, default=14.0)
    p.add_argument("--stride", type=int, default=8)
    p.add_argument("--device", default="auto")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--model-batches", type=int, default=3)
    p.add_argument("--json", help="write the results here")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    tmp = Path(tempfile.mkdtemp(prefix="bench_extract_"))
    try:
        if args.synthetic:
            items = synthetic_videos(tmp, args.synthetic)
        elif args.list:
            items = read_video_list(args.list)
        else:
            if not REAL.is_dir():
                print(f"{REAL} not found: pass --list or --synthetic N", file=sys.stderr)
                return 2
            items = [VideoItem(key=p.name, path=p) for p in sorted(REAL.iterdir()) if p.is_file()]
        items = [VideoItem(key=f"{r}/{it.key}", path=it.path) for r in range(args.repeat) for it in items]

        cfg = ExtractConfig()
        cfg.video.duration, cfg.video.stride = args.duration, args.stride
        cfg.compute.workers, cfg.compute.batch_size = args.workers, args.batch_size
        cfg.compute.device, cfg.compute.compile, cfg.compute.progress = args.device, args.compile, False
        backbone = create_backbone(args.backbone, args.weights, random_weights=args.weights is None)
        device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                              ("cpu" if args.device == "auto" else args.device))

        dec = decode_only(items, cfg, backbone)
        mod = model_only(backbone, cfg, device, args.model_batches)
        summary = extract_videos(items, tmp / "bench.h5", backbone, cfg)
        ext = {"videos_per_s": summary.videos_per_s, "clips_per_s": summary.clips_per_s,
               "seconds": summary.seconds, "clips": summary.clips, "timings_s": summary.timings}
        result = {
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({os.cpu_count()} cores, "
            f"{torch.get_num_threads()} torch threads)",
            "backbone": args.backbone, "videos": len(items), "workers": decode_workers(args.workers),
            "batch_size": args.batch_size, "steps": plan_clips(cfg.video, backbone.clip_len).steps,
            "decode_only": dec, "model_only": mod, "extract": ext,
            "extract_over_decode": summary.videos_per_s / dec["videos_per_s"] if dec["videos_per_s"] else None,
        }
        t = summary.timings
        total = max(summary.seconds, 1e-9)
        print(f"device: {result['device']}, {len(items)} videos, {result['workers']} decoding workers, "
              f"batch {args.batch_size}")
        print(f"decode only : {dec['videos_per_s']:8.2f} videos/s  {dec['frames_per_s']:9.1f} frames/s")
        pre_ms, fwd_ms = 1e3 * mod["preprocess_s_per_clip"], 1e3 * mod["forward_s_per_clip"]
        print(f"model only  : {mod['clips_per_s']:8.2f} clips/s   (preprocess {pre_ms:.1f} ms"
              f" + forward {fwd_ms:.1f} ms per clip)")
        print(f"extraction  : {summary.videos_per_s:8.2f} videos/s  {summary.clips_per_s:9.1f} clips/s  "
              f"= {100 * (result['extract_over_decode'] or 0):.1f}% of the decode-only rate")
        print("main process: " + ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in t.items()))
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
