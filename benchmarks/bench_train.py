"""Training throughput of the real ``fit()`` path: videos/s, s/epoch, a Kinetics-400 epoch estimate and the
achieved FLOP/s as a fraction of a dense matmul measured in the same run.

    python benchmarks/bench_train.py                      # paper preset, CPU, fp32, batch 64, 512 videos
    python benchmarks/bench_train.py --device cuda --precision bf16 --batch-size 2048 --videos 32768 \\
        --compile default                                 # one GPU, K400-shaped store (see gpu_check.sh)
    python benchmarks/bench_train.py --resume-check ...   # crash mid-run and resume, in separate processes

What is timed is ``action2vec.training.fit`` itself on a synthetic store written first (``--store`` reuses
one): the Lightning Trainer, the module's ``training_step``, the device-resident feature bank when it applies
(on a GPU, ``data.device_cache=auto``), otherwise the DataLoader from memory or streamed from the store, the
optimiser, logging and the per-epoch checkpoint. No validation runs (``data.val_fraction=0``) unless asked.
A callback (``Clock``) reads the clock after a device sync:

- ``--timing step`` (default on a CPU, whose load changes fast): each step, from the end of the previous
  step's matmul burst to the end of this step (so the batch's loading counts); 2 warm-up steps not timed.
- ``--timing epoch`` (default on a GPU, where a sync per step would stall the queue of launched kernels): each
  epoch, from its start to the next one's (so everything ``fit()`` does per epoch counts), and within it the
  span from its first batch to its last; the first epoch (start-up, ``torch.compile``, autotuning) is
  reported apart and not counted.

After each timed span it runs a burst of ``torch.mm`` of two 2048x2048 matrices of the training dtype on the
same device (not inside any timed span); the medians of both are compared, so a machine whose load changes
during the run hits both figures alike. Printed: videos/s end to end, s/epoch, ms/step, the per-epoch
overhead (epoch minus its steps: checkpoint, loader restart), the Kinetics-400 epoch estimate (240,000
videos: its steps at this batch size and pace, 118 at batch 2048, plus the overhead once) and the steps'
FLOP/s as a fraction of the matmul.

FLOP count: the real network's forward and backward on full-length videos of the benchmark's shape, counted by
``torch.utils.flop_counter.FlopCounterMode`` (every matmul: input-to-gate projections, the per-step state
projection [W_hh; U_a] from the second step on, the context-to-gate projection, the attention keys, scores and
context sums, the output FC and the classifier; each multiply-add 2 FLOPs). Elementwise gate maths,
tanh/sigmoid and softmax are not counted. The backward computes no gradient for the input, as in training, so
a training step is about 2.75x the forward, not the 3x a rule of thumb says.

``--resume-check`` trains ``--resume-videos`` videos for two epochs three times, each in its own process:
straight through; stopped by an exception at step 5 (checkpoints every 3 steps); resumed; all with dropout
0.5, so that the random state has to be restored too. It prints whether the resumed run's weights equal the
straight run's bit for bit (exit 0) or not (exit 1).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from lightning.pytorch.callbacks import Callback

K400_VIDEOS = 240_000
COMPILE_MODES = ["eager", "default", "reduce-overhead", "max-autotune-no-cudagraphs"]


def train_flops_per_video(
    model_cfg: Any, steps: int, dim: int, classes: int, embed_dim: int = 300, videos: int = 2
) -> float:
    """FLOPs of one training step per video of the real network (``build_model``): forward and backward of
    ``videos`` full-length videos counted by ``torch.utils.flop_counter.FlopCounterMode`` (every matmul, each
    multiply-add 2 FLOPs; elementwise maths not counted), divided by ``videos``. The input needs no gradient,
    as in training, so the backward skips it."""
    from dataclasses import replace

    from torch.utils.flop_counter import FlopCounterMode

    from action2vec.models import build_model

    net = build_model(replace(model_cfg, input_dim=dim, embed_dim=embed_dim), num_classes=classes)
    x = torch.randn(videos, steps, dim)
    lengths = torch.full((videos,), steps, dtype=torch.long)
    with FlopCounterMode(display=False) as counter:
        out = net(x, lengths)
        (out["embedding"].sum() + (out["logits"].sum() if "logits" in out else 0)).backward()
    return counter.get_total_flops() / videos


def matmul_rate(device: torch.device, dtype: torch.dtype, n: int = 2048, seconds: float = 3.0) -> float:
    """FLOP/s of ``torch.mm`` of two n x n matrices, run for about ``seconds``."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    _sync(device)
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        reps += 1
    _sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - t0)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def make_store(path: Path, videos: int, steps: int, dim: int, classes: int, seed: int = 0) -> Path:
    """A store of ``videos`` random (steps, dim) sequences, labelled ``class000``.. in turn; kept if it exists
    with these sizes. Videos repeat a pool of 256 random sequences, which is enough for timing."""
    from action2vec.store import StoreWriter, open_store

    if path.is_file():
        store = open_store(path)
        if len(store) == videos and store.dim == dim and int(store.rows.max()) == steps:
            return path
        path.unlink()
    rng = np.random.default_rng(seed)
    pool = rng.standard_normal((256, steps, dim), dtype=np.float32)
    with StoreWriter(path, meta={"backbone": "bench"}, flush_every=4096) as w:
        for i in range(videos):
            w.add(f"v{i:07d}", pool[i % len(pool)], label=f"class{i % classes:03d}")
    return path


class Clock(Callback):
    """Per step (``--timing step``: from the end of the previous step's burst to the end of this step, so the
    batch's loading counts) or per epoch (from one epoch start to the next, and apart from it the span from
    the epoch's first batch to its last), each reading after a device sync and followed by a matmul burst
    that no timed span includes."""

    def __init__(self, args: argparse.Namespace, device: torch.device, dtype: torch.dtype) -> None:
        self.args, self.device, self.dtype = args, device, dtype
        self.spans: list[float] = []  # steps or epochs
        self.batch_spans: list[float] = []  # per epoch: first batch start to last batch end
        self.rates: list[float] = []
        self.mark: float | None = None
        self.first_batch = 0.0
        self.data = ""

    def _tick(self, timed: bool) -> None:
        _sync(self.device)
        now = time.perf_counter()
        if self.mark is not None:
            self.spans.append(now - self.mark)
        if timed and self.args.matmul_seconds > 0:
            seconds = min(self.args.matmul_seconds, max(0.05, self.spans[-1] if self.spans else 1.0))
            self.rates.append(matmul_rate(self.device, self.dtype, seconds=seconds))
        self.mark = time.perf_counter()

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if not self.data:
            cache = getattr(trainer.train_dataloader.dataset, "cache", None)
            self.data = (
                "device bank" if hasattr(pl_module, "bank_x") else "in memory" if cache is not None else "streamed"
            )
        if self.args.timing == "epoch":
            self._tick(trainer.current_epoch >= 1)
        elif self.mark is None:
            self._tick(False)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self.args.timing == "epoch" and batch_idx == 0:
            _sync(self.device)
            self.first_batch = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.args.timing == "step":
            self._tick(trainer.global_step > self.args.warmup_steps)
        elif batch_idx == trainer.num_training_batches - 1:
            _sync(self.device)
            self.batch_spans.append(time.perf_counter() - self.first_batch)
        if self.args.max_steps and trainer.global_step >= self.args.max_steps:
            trainer.should_stop = True

    def on_train_end(self, trainer, pl_module) -> None:
        if self.args.timing == "epoch":
            self._tick(True)

    def timed(self) -> list[float]:
        """The spans after warm-up: epochs from the second on, or steps after --warmup-steps."""
        skip = 1 if self.args.timing == "epoch" else self.args.warmup_steps
        return self.spans[skip:] or self.spans

    def step_s(self, steps_per_epoch: int) -> float:
        """Median seconds per training step, without what an epoch does once (checkpoint, loader restart)."""
        if self.args.timing == "step":
            return float(np.median(self.timed()))
        return float(np.median(self.batch_spans[1:] or self.batch_spans)) / steps_per_epoch


class Crash(Callback):
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == 5:
            raise RuntimeError("bench_train: planned crash at step 5")


def run_fit(args: argparse.Namespace, store_path: Path, run_dir: Path) -> tuple[Any, Any, Any]:
    """``fit()`` on the store with the benchmark's settings -> (epoch clock, final config, result)."""
    from action2vec.config import load_config
    from action2vec.store import open_store
    from action2vec.testing import synthetic_label_vectors
    from action2vec.training import RunConfig, fit

    device = torch.device(args.device)
    dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32
    store = open_store(store_path)
    lv = synthetic_label_vectors(args.classes, dim=300, seed=0)
    cfg = load_config(
        RunConfig,
        None,
        [
            f"model.variant={args.variant}",
            f"model.preset={args.preset}",
            f"train.batch_size={args.batch_size}",
            f"train.epochs={args.epochs}",
            f"train.precision={'bf16-mixed' if args.precision == 'bf16' else '32-true'}",
            f"train.accelerator={'gpu' if device.type == 'cuda' else 'cpu'}",
            "train.devices=1",
            f"train.compile={args.compile}",
            f"train.num_workers={args.workers}",
            "train.progress_bar=false",
            f"train.log_every_n_steps={args.log_every}",
            f"data.val_fraction={args.val_fraction}",
            f"data.in_memory={args.in_memory}",
            f"data.device_cache={args.device_cache}",
            f"data.memory_budget_gb={args.memory_budget_gb}",
            *(["train.checkpoint_every_n_steps=3", "model.dropout=0.5"] if args.phase else []),
        ],
    )
    keys = store.keys[: args.resume_videos] if args.phase else None
    callbacks = [Clock(args, device, dtype)] + ([Crash()] if args.phase == "crash" else [])
    result = fit(cfg, run_dir, store=store, label_vectors=lv, callbacks=callbacks, train_keys=keys)
    return callbacks[0], cfg, result


def report(args: argparse.Namespace, clock: Clock, cfg: Any, result: Any) -> dict[str, Any]:
    """The figures of one run as a JSON-ready dict."""
    from action2vec.models import resolve_config

    model = resolve_config(cfg.model)
    videos = len(result.train_keys)
    steps = math.ceil(videos / args.batch_size)
    step_s = clock.step_s(steps)
    epoch_s = float(np.median(clock.timed())) if args.timing == "epoch" else step_s * steps
    overhead_s = max(0.0, epoch_s - step_s * steps)  # per epoch, once: checkpoint, loader restart, logging
    k400_epoch_s = math.ceil(K400_VIDEOS / args.batch_size) * step_s + overhead_s
    flops_video = train_flops_per_video(model, args.steps, args.dim, args.classes)
    step_rate = args.batch_size / step_s  # videos/s of the training steps alone
    peak = float(np.median(clock.rates)) if clock.rates else float("nan")
    device = torch.device(args.device)
    return {
        "device": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"cpu ({torch.get_num_threads()} threads)",
        "preset": args.preset,
        "variant": args.variant,
        "batch_size": args.batch_size,
        "precision": args.precision,
        "compile": args.compile,
        "data": clock.data,
        "videos": videos,
        "steps_per_epoch": steps,
        "timing": args.timing,
        "timed_spans": len(clock.timed()),
        "spans_s": [round(x, 4) for x in clock.spans],
        "first_span_s": round(clock.spans[0], 3) if clock.spans else None,  # start-up, compile, autotuning
        "s_per_epoch": round(epoch_s, 4),
        "videos_per_s": round(videos / epoch_s, 1),  # end to end
        "step_ms": round(1000 * step_s, 2),
        "step_videos_per_s": round(step_rate, 1),
        "epoch_overhead_s": round(overhead_s, 4),
        "kinetics400_epoch_s": round(k400_epoch_s, 2),  # its steps at this pace + this run's per-epoch overhead
        "train_gflop_per_video": round(flops_video / 1e9, 3),
        "achieved_gflops": round(step_rate * flops_video / 1e9, 1),
        "matmul_gflops": round(peak / 1e9, 1),
        "fraction_of_matmul": round(step_rate * flops_video / peak, 3),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def resume_check(args: argparse.Namespace, store_path: Path, root: Path) -> bool:
    """Straight, crashed and resumed runs, each in its own process; whether the weights are identical."""
    from safetensors.torch import load_file

    base = [sys.executable, __file__, "--store", str(store_path), *args.passthrough]
    for phase, run in (("straight", "straight"), ("crash", "resumed"), ("resume", "resumed")):
        proc = subprocess.run([*base, "--phase", phase, "--run-dir", str(root / run)], capture_output=True, text=True)
        if (proc.returncode != 0) != (phase == "crash"):
            print(proc.stdout[-2000:], proc.stderr[-4000:], file=sys.stderr)
            raise SystemExit(f"bench_train: the {phase} run exited with {proc.returncode}")
    a, b = (load_file(str(root / run / "model" / "model.safetensors")) for run in ("straight", "resumed"))
    same = a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    worst = max((float((a[k].float() - b[k].float()).abs().max()) for k in a if k in b), default=float("nan"))
    figures = {
        "resume_check": "bit-identical" if same else "DIFFERENT",
        "max_abs_difference": worst,
        "compile": args.compile,
        "device": args.device,
        "precision": args.precision,
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return same


def summary(paths: list[str]) -> list[str]:
    """One line per JSON file that a run wrote (files that are missing are runs that failed or timed out)."""
    lines = ["-- issue 11 table (training rows): fit() end to end"]
    for path in paths:
        if not Path(path).is_file():
            lines.append(f"{Path(path).stem:<52}: no result (failed or ran out of time)")
            continue
        r = json.loads(Path(path).read_text())
        if "resume_check" in r:
            lines.append(
                f"exact resume [{r['compile']}]".ljust(52)
                + f": {r['resume_check']} (max |difference| {r['max_abs_difference']:.3g})"
            )
            continue
        lines.append(
            f"fit() [{r['compile']}, {r['precision']}, batch {r['batch_size']}, {r['data']}]".ljust(52)
            + f": {r['videos_per_s']:9.1f} videos/s, {r['s_per_epoch']:.3f} s/epoch of {r['videos']} "
            f"(steps {r['step_ms']:.1f} ms, +{r['epoch_overhead_s']:.2f} s/epoch), K400 epoch "
            f"{r['kinetics400_epoch_s']:.2f} s, {r['fraction_of_matmul']:.3f} of matmul, first span "
            f"{r['first_span_s']:.1f} s"
        )
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="paper")
    p.add_argument("--variant", default="hrnn_attention", choices=["hrnn_attention", "hrnn"])
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--videos", type=int, default=512, help="videos in the benchmark store (all are trained on)")
    p.add_argument("--steps", type=int, default=52)
    p.add_argument("--dim", type=int, default=500)
    p.add_argument("--classes", type=int, default=400)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument(
        "--timing",
        choices=["step", "epoch"],
        help="what one timed span is (default: step on a CPU, "
        "where the load changes fast, epoch on a GPU, where a sync per step would stall the queue)",
    )
    p.add_argument("--warmup-steps", type=int, default=2, help="steps not timed (--timing step)")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: run every epoch)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--compile", choices=COMPILE_MODES, default="eager", help="train.compile")
    p.add_argument("--workers", type=int, default=0, help="train.num_workers")
    p.add_argument("--in-memory", choices=["auto", "yes", "no"], default="auto", help="data.in_memory")
    p.add_argument("--device-cache", choices=["auto", "yes", "no"], default="auto", help="data.device_cache")
    p.add_argument("--memory-budget-gb", type=float, default=0.0, help="data.memory_budget_gb")
    p.add_argument("--val-fraction", type=float, default=0.0, help="data.val_fraction (0: no validation)")
    p.add_argument("--log-every", type=int, default=50, help="train.log_every_n_steps")
    p.add_argument("--matmul-seconds", type=float, default=3.0, help="longest matmul burst between epochs (0: none)")
    p.add_argument("--store", help="use (or write) the benchmark store here instead of a temporary folder")
    p.add_argument("--resume-check", action="store_true", help="crash + resume in separate processes, compare weights")
    p.add_argument("--resume-videos", type=int, default=8192, help="videos trained on by --resume-check")
    p.add_argument("--phase", choices=["straight", "crash", "resume"], help=argparse.SUPPRESS)
    p.add_argument("--run-dir", help=argparse.SUPPRESS)
    p.add_argument("--json", help="write the figures here")
    p.add_argument("--only-store", action="store_true", help="write the store (--store) and stop")
    p.add_argument("--summary", nargs="+", metavar="JSON", help="print the table of these result files and stop")
    args = p.parse_args(argv)
    args.timing = args.timing or ("epoch" if args.device.startswith("cuda") else "step")
    for name in ("batch_size", "videos", "steps", "dim", "classes", "epochs", "resume_videos", "log_every"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if min(args.warmup_steps, args.max_steps, args.workers, args.memory_budget_gb, args.matmul_seconds) < 0:
        p.error("--warmup-steps, --max-steps, --workers, --memory-budget-gb and --matmul-seconds must be >= 0")
    if not 0 <= args.val_fraction < 1:
        p.error("--val-fraction must be in [0, 1)")
    if args.resume_check and min(args.resume_videos, args.videos) < 4 * args.batch_size:
        p.error(
            "--resume-check crashes at step 5 of 2 epochs: it needs --resume-videos and --videos >= 4 x --batch-size"
        )
    # what the --resume-check phases inherit
    args.passthrough = [a for a in (argv if argv is not None else sys.argv[1:]) if a not in ("--resume-check",)]
    if args.json and args.resume_check:  # --json PATH or --json=PATH: the phases write no JSON of their own
        keep = []
        skip = False
        for a in args.passthrough:
            if skip:
                skip = False
            elif a == "--json":
                skip = True
            elif not a.startswith("--json="):
                keep.append(a)
        args.passthrough = keep
    return args


def run(args: argparse.Namespace, root: Path) -> int:
    """Everything but --summary, with ``root`` a scratch folder (the store goes there unless --store)."""
    store_path = make_store(
        Path(args.store) if args.store else root / "bench.h5", args.videos, args.steps, args.dim, args.classes
    )
    if args.only_store:
        return 0
    if args.resume_check:
        return 0 if resume_check(args, store_path, root) else 1
    if args.phase:
        args.epochs, args.matmul_seconds = 2, 0.0
    clock, cfg, result = run_fit(args, store_path, Path(args.run_dir) if args.run_dir else root / "run")
    if args.phase:
        return 0
    figures = report(args, clock, cfg, result)
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.summary:
        print("\n".join(summary(args.summary)))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench_train_") as root:  # removed afterwards, runs and store
        return run(args, Path(root))


if __name__ == "__main__":
    sys.exit(main())
