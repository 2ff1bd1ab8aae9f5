"""Training throughput: videos/s and achieved FLOP/s as a fraction of a dense matmul in the same run.

    python benchmarks/bench_train.py                       # paper preset, CPU, batch 64
    python benchmarks/bench_train.py --device cuda --batch-size 2048 --precision bf16 --videos 240000

The data path is the real one: a feature store written first (T=52 steps, D=500), read through
``SequenceDataset`` + ``collate_sequences`` + a DataLoader, moved to the device, then forward, backward and an
Adam step of the dual loss. The matmul reference is ``torch.mm`` of two 2048x2048 matrices of the same dtype, measured in bursts between
the timed training steps (medians of both are compared, so load changes during the run hit both alike).

FLOP model (multiply-adds x 2, forward; training counted as 3x forward): every Linear layer's matmuls
(input-to-gate projections over all steps, the per-step state projection [W_hh; U_a] from the second step
on (it is skipped at the first, where h = 0), the context-to-gate projection, the attention keys W_a x_j, the attention scores and the context sums), the output FC and the
classifier. Elementwise gate maths, tanh/sigmoid and softmax are not counted.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def hrnn_forward_flops(steps: int, d: int, h1: int, h2: int, a: int, e: int, c: int, w: int, s: int,
                       attention: bool = True) -> float:
    """Forward FLOPs of one video through the HRNN with attention (see module docstring)."""
    n_win = max(1, math.ceil((max(steps, w) - w) / s) + 1)

    def lstm(seq_len: int, n_seq: int, din: int, h: int) -> float:
        f = n_seq * seq_len * din * 4 * h * 2  # x_to_gates over all steps
        # the state projection [W_hh; U_a] is skipped at the first step (h = 0)
        f += n_seq * (seq_len - 1) * h * (4 * h + (a if attention else 0)) * 2
        if attention:
            f += n_seq * seq_len * din * a * 2  # keys W_a x_j
            per_step = seq_len * a * 2 + seq_len * din * 2 + din * 4 * h * 2  # scores, context, c_to_gates
            f += n_seq * seq_len * per_step
        return f

    return lstm(w, n_win, d, h1) + lstm(n_win, 1, h1, h2) + h2 * e * 2 + e * c * 2


def matmul_rate(device: torch.device, dtype: torch.dtype, n: int = 2048, seconds: float = 3.0) -> float:
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
        torch.cuda.synchronize()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="paper")
    p.add_argument("--variant", default="hrnn_attention")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--videos", type=int, default=512, help="videos in the benchmark store")
    p.add_argument("--steps", type=int, default=52)
    p.add_argument("--dim", type=int, default=500)
    p.add_argument("--classes", type=int, default=400)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--iters", type=int, default=6, help="timed steps (after 2 warm-up steps)")
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--json", help="write the figures here")
    args = p.parse_args()

    from torch.utils.data import DataLoader

    from action2vec.losses import DualLoss, LossConfig
    from action2vec.models import ModelConfig, build_model, resolve_config
    from action2vec.store import StoreWriter, open_store
    from action2vec.training.data import SequenceDataset, collate_sequences

    device = torch.device(args.device)
    dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32
    tmp = Path(tempfile.mkdtemp())
    rng = np.random.default_rng(0)
    with StoreWriter(tmp / "bench.h5", meta={"backbone": "bench"}, flush_every=4096) as w:
        for i in range(args.videos):
            w.add(f"v{i}", rng.standard_normal((args.steps, args.dim), dtype=np.float32), label=f"c{i % args.classes}")
    store = open_store(tmp / "bench.h5")
    classes = store.classes
    ds = SequenceDataset(store, np.arange(len(store)), {c: i for i, c in enumerate(classes)}, in_memory=True)
    loader = DataLoader(ds, batch_size=args.batch_size, shuffle=True, drop_last=True, collate_fn=collate_sequences,
                        num_workers=args.workers, pin_memory=device.type == "cuda")

    cfg = resolve_config(ModelConfig(variant=args.variant, preset=args.preset, input_dim=args.dim, embed_dim=300))
    net = build_model(cfg, num_classes=len(classes)).to(device)
    loss_fn = DualLoss(LossConfig())
    class_vectors = torch.nn.functional.normalize(torch.randn(len(classes), 300, device=device), dim=-1)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)

    def batches():
        while True:
            yield from loader

    it = batches()

    def step() -> None:
        x, lengths, y = next(it)
        x, lengths, y = x.to(device, non_blocking=True), lengths.to(device), y.to(device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=dtype == torch.bfloat16):
            out = net(x, lengths)
            loss = loss_fn(out["embedding"], out["logits"], y, class_vectors, 0.02)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(2):
        step()
    _sync(device)
    # Training steps and matmul bursts alternate, and medians are compared, so that a machine whose load
    # changes during the run affects both figures alike.
    step_times, rates = [], []
    for _ in range(args.iters):
        t0 = time.perf_counter()
        step()
        _sync(device)
        step_times.append(time.perf_counter() - t0)
        rates.append(matmul_rate(device, dtype, seconds=min(1.0, step_times[-1])))
    videos_per_s = args.batch_size / float(np.median(step_times))
    flops_video = 3 * hrnn_forward_flops(args.steps, args.dim, cfg.lstm1_hidden, cfg.lstm2_hidden, cfg.attention_dim,
                                         300, len(classes), cfg.window, cfg.window_stride,
                                         attention=args.variant == "hrnn_attention")
    achieved = videos_per_s * flops_video
    peak = float(np.median(rates))
    result = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)",
        "preset": args.preset, "variant": args.variant, "batch_size": args.batch_size, "precision": args.precision,
        "videos_per_s": round(videos_per_s, 1),
        "train_gflop_per_video": round(flops_video / 1e9, 3),
        "achieved_gflops": round(achieved / 1e9, 1),
        "matmul_gflops": round(peak / 1e9, 1),
        "fraction_of_matmul": round(achieved / peak, 3),
        "kinetics400_epoch_s": round(240_000 / videos_per_s, 1),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
