"""Extraction benchmark: is decoding, the model or the glue between them the bound?

Everything is measured on the same files in one run, each against its reference (``--parts`` picks and
orders them; each is printed as soon as it is measured):

1. decode only vs raw PyAV (``decode``): the extraction's own decoding path (``DecodePool``: worker
   processes, 30 fps resampling by timestamps, resize in FFmpeg's scaler, frames handed to the main
   process) against a plain PyAV process pool with as many processes (``frame.to_ndarray(format="rgb24")``
   of every frame, PyAV's defaults). The two alternate (raw, project, project, raw, ...) for ``--rounds``
   rounds so that the load of a shared machine hits both alike; the ratio of the medians is
   ``decode_over_raw_pyav``. CPU seconds of the worker processes per video are reported too (a view that
   the load does not move).
2. full extraction (``extract``) into a temporary store: videos/s, clips/s, the fraction of the raw PyAV
   decode rate, and where the main process spent its time (waiting for decoded videos, copying frames to
   the device, preprocessing, forward, writing).
3. model only (``model``): preprocessing + backbone forward on batches of random uint8 clips already on
   the device, clips/s, for each forward setting given with ``--model-knobs`` (fp32, or '+'-joined bf16,
   cl = channels-last, bench = cuDNN autotuning, compile = torch.compile).

    # the CPU figure of docs/extraction.md: decoding only, 16 generated videos, 2 workers, 5 rounds
    python benchmarks/bench_extract.py --synthetic 16 --workers 2 --rounds 5 --decode-only --json out.json
    # a GPU machine (benchmarks/gpu_check.sh runs this, and the compile setting in a call of its own)
    python benchmarks/bench_extract.py --synthetic 48 --workers 15 --batch-size 128 --device cuda \\
        --model-knobs fp32,bf16,bf16+cl,bf16+cl+bench
    python benchmarks/bench_extract.py --list my_videos.txt --backbone c3d-tiny

Generated videos are 10 s of 340x256 H.264 at 30 fps with moving texture (about as costly to decode as
UCF101 or resized Kinetics). Weights do not change the speed, so backbones run with random weights.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from action2vec.io import write_json
from action2vec.video.backbones import create_backbone, needs_weights
from action2vec.video.clips import plan_clips
from action2vec.video.config import ExtractConfig
from action2vec.video.extract import VideoItem, backbone_decode_spec, extract_videos, read_video_list
from action2vec.video.loader import DecodePool, decode_workers
from action2vec.video.runner import ClipRunner, resolve_device
from action2vec.video.synthetic import level_frames, write_video

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"
KNOBS = {"bf16": "amp", "cl": "channels_last", "bench": "cudnn_benchmark", "compile": "compile"}


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


# ------------------------------------------------------------------------------------ decoding


def raw_pyav_decode(path: str) -> int:
    """The reference: every frame of the first video stream to an rgb24 array, PyAV's defaults."""
    import av

    with av.open(path) as container:
        return sum(1 for frame in container.decode(video=0) if frame.to_ndarray(format="rgb24") is not None)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_raw_pyav(paths: list[str], workers: int) -> dict[str, float]:
    """A plain PyAV process pool (fork, one video per task, results as they finish)."""
    cpu, t = _children_cpu(), time.perf_counter()
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        frames = sum(pool.imap_unordered(raw_pyav_decode, paths))
    return _rates(len(paths), frames, time.perf_counter() - t, _children_cpu() - cpu)


def time_project_decode(paths: list[str], spec: Any, workers: int) -> dict[str, float]:
    """The extraction's decoding path, frames delivered to this process as extraction gets them."""
    cpu, t = _children_cpu(), time.perf_counter()
    frames = videos = 0
    with DecodePool(paths, spec, workers) as pool:
        for video in pool:
            if video.frames is not None:
                frames += int(video.frames.shape[0])
                videos += 1
    if videos < len(paths):
        raise RuntimeError(f"{len(paths) - videos} videos failed to decode")
    return _rates(videos, frames, time.perf_counter() - t, _children_cpu() - cpu)


def _rates(videos: int, frames: int, seconds: float, cpu: float) -> dict[str, float]:
    return {
        "seconds": seconds,
        "videos_per_s": videos / seconds,
        "frames_per_s": frames / seconds,
        "cpu_s_per_video": cpu / max(videos, 1),
    }


def compare_decoding(paths: list[str], spec: Any, workers: int, rounds: int) -> dict[str, Any]:
    """Raw PyAV and the project's path, alternating (ABBA) for ``rounds`` rounds; medians and their ratio."""
    raw, ours = [], []
    for r in range(rounds):
        if r % 2 == 0:
            raw.append(time_raw_pyav(paths, workers))
            ours.append(time_project_decode(paths, spec, workers))
        else:
            ours.append(time_project_decode(paths, spec, workers))
            raw.append(time_raw_pyav(paths, workers))
        log_round(r, raw[-1], ours[-1])

    def median(rows: list[dict[str, float]]) -> dict[str, float]:
        return {k: statistics.median(row[k] for row in rows) for k in rows[0]}

    raw_m, ours_m = median(raw), median(ours)
    return {
        "raw_pyav": raw_m,
        "decode_only": ours_m,
        "decode_over_raw_pyav": ours_m["videos_per_s"] / raw_m["videos_per_s"],
        "decode_over_raw_pyav_cpu": raw_m["cpu_s_per_video"] / ours_m["cpu_s_per_video"],
        "rounds": [
            {"raw_pyav": a, "decode_only": b, "ratio": b["videos_per_s"] / a["videos_per_s"]} for a, b in zip(raw, ours)
        ],
    }


def log_round(r: int, raw: dict[str, float], ours: dict[str, float]) -> None:
    print(
        f"  round {r + 1}: raw PyAV {raw['videos_per_s']:6.2f} videos/s, project {ours['videos_per_s']:6.2f} "
        f"videos/s, ratio {ours['videos_per_s'] / raw['videos_per_s']:.3f} (load {os.getloadavg()[0]:.1f})",
        flush=True,
    )


# ------------------------------------------------------------------------------------ model


def model_only(backbone: Any, cfg: ExtractConfig, device: torch.device, batches: int) -> dict[str, float]:
    """Preprocess + forward of ``batches`` batches of random uint8 clips already on the device."""
    runner = ClipRunner(backbone, cfg.compute, device)
    h, w = backbone.frame_size or (cfg.video.short_side, int(cfg.video.short_side * 4 / 3))
    gen = torch.Generator(device=device).manual_seed(0)
    clips = torch.randint(
        0, 255, (cfg.compute.batch_size, backbone.clip_len, h, w, 3), dtype=torch.uint8, device=device, generator=gen
    )
    for _ in range(2):  # warm-up (cuDNN autotuning, compilation)
        runner([clips])
    runner.timings = {k: 0.0 for k in runner.timings}
    t = time.perf_counter()
    flights = [runner.submit([clips]) for _ in range(batches)]
    for flight in flights:
        runner.collect(flight)
    s = time.perf_counter() - t
    n = batches * cfg.compute.batch_size
    return {
        "clips_per_s": n / s,
        "preprocess_s_per_clip": runner.timings["preprocess"] / n,
        "forward_s_per_clip": runner.timings["forward"] / n,
    }


def knob_config(base: ExtractConfig, knobs: str) -> ExtractConfig:
    """A copy of ``base`` with the forward options named in ``knobs`` ('fp32' or e.g. 'bf16+cl+bench') on."""
    import copy

    cfg = copy.deepcopy(base)
    names = [] if knobs == "fp32" else knobs.split("+")
    for field_name in KNOBS.values():
        setattr(cfg.compute, field_name, False)
    for name in names:
        setattr(cfg.compute, KNOBS[name], True)
    return cfg


# ------------------------------------------------------------------------------------ driver


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--list", help="video list ('path [label]' per line) instead of generated videos")
    p.add_argument("--real", action="store_true", help="the real clips in ../shared/data/videos instead")
    p.add_argument("--synthetic", type=int, default=16, help="generated 10 s videos (>= 1) [16]")
    p.add_argument("--repeat", type=int, default=1, help="use every video this many times (>= 1) [1]")
    p.add_argument("--backbone", default="c3d")
    p.add_argument("--workers", type=int, default=-1, help="decoding processes, both paths (-1: cores but one)")
    p.add_argument("--rounds", type=int, default=3, help="alternating decode rounds (>= 1) [3]")
    p.add_argument(
        "--decode-threads",
        type=int,
        default=None,
        help="FFmpeg threads per decoding process, project path (>= 0; 0: FFmpeg's choice) [config: 1]",
    )
    p.add_argument("--batch-size", type=int, default=32, help="clips per forward pass (>= 1) [32]")
    p.add_argument("--duration", type=float, default=14.0, help="seconds per video (> 0) [14]")
    p.add_argument("--stride", type=int, default=8, help="frames between clips (>= 1) [8]")
    p.add_argument("--device", default="auto")
    p.add_argument(
        "--model-knobs",
        default="",
        help="comma-separated forward settings to time: fp32, or "
        "'+'-joined bf16, cl (channels-last), bench (cuDNN autotuning), compile; default: the config's",
    )
    p.add_argument("--model-batches", type=int, default=3, help="timed batches per model setting (>= 1) [3]")
    p.add_argument(
        "--parts",
        default="decode,extract,model",
        help="what to measure, in this order: any of decode, extract, model [all]",
    )
    p.add_argument("--decode-only", action="store_true", help="only the decode comparison (--parts decode)")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args(argv)
    for name, low in (
        ("synthetic", 1),
        ("repeat", 1),
        ("rounds", 1),
        ("batch_size", 1),
        ("stride", 1),
        ("model_batches", 1),
    ):
        if getattr(args, name) < low:
            p.error(f"--{name.replace('_', '-')} must be >= {low}, got {getattr(args, name)}")
    if args.decode_threads is not None and args.decode_threads < 0:
        p.error(f"--decode-threads must be >= 0, got {args.decode_threads}")
    if args.duration <= 0:
        p.error(f"--duration must be > 0, got {args.duration}")
    bad = [
        k
        for spec in filter(None, args.model_knobs.split(","))
        if spec != "fp32"
        for k in spec.split("+")
        if k not in KNOBS
    ]
    if bad:
        p.error(f"--model-knobs: unknown {bad}; use fp32 or {'+'.join(KNOBS)}")
    args.parts = ["decode"] if args.decode_only else [x for x in args.parts.split(",") if x]
    if not args.parts or set(args.parts) - {"decode", "extract", "model"}:
        p.error(f"--parts: choose from decode, extract, model, got {args.parts}")
    return args


def inputs(args: argparse.Namespace, tmp: Path) -> list[VideoItem]:
    if args.list:
        items = read_video_list(args.list)
    elif args.real:
        items = [VideoItem(key=p.name, path=p) for p in sorted(REAL.iterdir()) if p.is_file()]
    else:
        items = synthetic_videos(tmp, args.synthetic)
    return [VideoItem(key=f"{r}/{it.key}", path=it.path) for r in range(args.repeat) for it in items]


def machine(device: torch.device) -> str:
    cpu = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)}; CPU {cpu}"
    return f"CPU {cpu}, {torch.get_num_threads()} torch threads"


def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    cfg = ExtractConfig()
    cfg.video.duration, cfg.video.stride = args.duration, args.stride
    cfg.compute.workers, cfg.compute.batch_size = args.workers, args.batch_size
    cfg.compute.device, cfg.compute.progress = args.device, False
    if args.decode_threads is not None:
        cfg.video.decode_threads = args.decode_threads
    backbone = create_backbone(args.backbone, random_weights=needs_weights(args.backbone))
    device = resolve_device(args.device)
    plan = plan_clips(cfg.video, backbone.clip_len)
    items = inputs(args, tmp) if {"decode", "extract"} & set(args.parts) else []
    workers = decode_workers(args.workers)
    result: dict[str, Any] = {
        "machine": machine(device),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "load_average": os.getloadavg(),
        "backbone": args.backbone,
        "videos": len(items),
        "workers": workers,
        "batch_size": args.batch_size,
        "decode_threads": cfg.video.decode_threads,
        "steps": plan.steps,
    }
    videos = f"{len(items)} videos, {workers} decoding processes each; " if items else ""
    print(f"{result['machine']}; {videos}load {os.getloadavg()}")
    for part in args.parts:
        if part == "decode":
            spec = backbone_decode_spec(backbone, plan, cfg)
            result.update(compare_decoding([str(it.path) for it in items], spec, workers, args.rounds))
            report_decoding(result)
        elif part == "extract":
            result.update(extraction(items, backbone, cfg, tmp, result))
            report_extraction(result)
        else:
            result["model_only"] = models(backbone, cfg, device, args)
    return result


def extraction(
    items: list[VideoItem], backbone: Any, cfg: ExtractConfig, tmp: Path, result: dict[str, Any]
) -> dict[str, Any]:
    """Full extraction into a temporary store, and its rate against the decode rates measured before."""
    summary = extract_videos(items, tmp / "bench.h5", backbone, cfg)
    out: dict[str, Any] = {
        "extract": {
            "videos_per_s": summary.videos_per_s,
            "clips_per_s": summary.clips_per_s,
            "seconds": summary.seconds,
            "clips": summary.clips,
            "timings_s": summary.timings,
        }
    }
    if "decode_only" in result:
        out["extract_over_decode"] = summary.videos_per_s / result["decode_only"]["videos_per_s"]
        out["extract_over_raw_pyav"] = summary.videos_per_s / result["raw_pyav"]["videos_per_s"]
    return out


def models(backbone: Any, cfg: ExtractConfig, device: torch.device, args: argparse.Namespace) -> dict[str, Any]:
    """Model-only clips/s for every forward setting of ``--model-knobs``, each printed when measured."""
    out: dict[str, Any] = {}
    for knobs in [k for k in args.model_knobs.split(",") if k] or ["config"]:
        try:  # one setting failing (torch.compile without a compiler, say) must not hide the others
            knob_cfg = cfg if knobs == "config" else knob_config(cfg, knobs)
            out[knobs] = model_only(backbone, knob_cfg, device, args.model_batches)
        except Exception as exc:
            out[knobs] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
        report_model(knobs, out[knobs])
    return out


def report_decoding(result: dict[str, Any]) -> None:
    raw, dec = result["raw_pyav"], result["decode_only"]
    print(
        f"raw PyAV    : {raw['videos_per_s']:8.2f} videos/s  {raw['frames_per_s']:9.1f} frames/s  "
        f"{raw['cpu_s_per_video']:.3f} CPU s/video (median of {len(result['rounds'])})"
    )
    print(
        f"decode only : {dec['videos_per_s']:8.2f} videos/s  {dec['frames_per_s']:9.1f} frames/s  "
        f"{dec['cpu_s_per_video']:.3f} CPU s/video"
    )
    print(
        f"decode_over_raw_pyav = {result['decode_over_raw_pyav']:.3f} (wall clock; CPU time: "
        f"{result['decode_over_raw_pyav_cpu']:.3f})",
        flush=True,
    )


def report_model(knobs: str, mod: dict[str, Any]) -> None:
    if "error" in mod:
        print(f"model only [{knobs}]: failed: {mod['error']}", flush=True)
        return
    print(
        f"model only [{knobs}]: {mod['clips_per_s']:9.1f} clips/s (host: preprocess "
        f"{1e3 * mod['preprocess_s_per_clip']:.2f} ms + forward {1e3 * mod['forward_s_per_clip']:.2f} ms per clip)",
        flush=True,
    )


def report_extraction(result: dict[str, Any]) -> None:
    ext = result["extract"]
    total = max(ext["seconds"], 1e-9)
    ratios = (
        f" = {result['extract_over_raw_pyav']:.3f} of raw PyAV decode, {result['extract_over_decode']:.3f} "
        "of decode only"
        if "extract_over_raw_pyav" in result
        else ""
    )
    print(f"extraction  : {ext['videos_per_s']:8.2f} videos/s  {ext['clips_per_s']:9.1f} clips/s{ratios}")
    print("main process: " + ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in ext["timings_s"].items()), flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.real and not REAL.is_dir():
        print(f"{REAL} not found: drop --real, or pass --list", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="bench_extract_"))
    try:
        result = run(args, tmp)
        if args.json:
            write_json(result, args.json)
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
