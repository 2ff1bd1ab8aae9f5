"""``hf:`` image-tower throughput: the extraction path against a plain script calling the Hugging Face model.

A CLIP with a ViT-B/16 image tower (hidden 768, 12 layers, 12 heads, 224x224, patch 16, projection 512) and
random weights is built from a config and saved with ``save_pretrained`` into a temporary folder, with a CLIP
image processor (short side 224, centre crop 224). The same batches of random uint8 clips (``--batch-size``
clips of 8 frames at 224x298, the size decoding hands over for this processor) then go through:

- **action2vec**: ``ClipRunner`` over ``create_backbone("hf:FOLDER")`` (the folder's processor on the CPU,
  bf16 autocast on a GPU, fixed-size batches), as ``extract`` runs it;
- **plain**: the same processor, ``model.get_image_features`` under the same autocast, mean over each clip's
  frames: what a user would write by hand.

Both include the processor. The two alternate for ``--rounds`` rounds after a warm-up (the median of each is
compared), and the first batch's outputs are compared too (max abs difference).

    python benchmarks/bench_hf.py --device cuda --json hf.json     # the GPU figure (benchmarks/gpu_check.sh)
    python benchmarks/bench_hf.py --quick                         # a tiny tower on the CPU: checks the script
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from action2vec.io import write_json
from action2vec.video.backbones import create_backbone
from action2vec.video.config import ComputeConfig
from action2vec.video.runner import ClipRunner, resolve_device

CLIP_LEN = 8


def build_folder(folder: Path, quick: bool) -> int:
    """A random-weight CLIP saved into ``folder``; returns the image size its processor crops to."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    if quick:
        vision = dict(
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            image_size=64,
            patch_size=16,
        )
    else:  # ViT-B/16
        vision = dict(
            hidden_size=768,
            intermediate_size=3072,
            num_hidden_layers=12,
            num_attention_heads=12,
            image_size=224,
            patch_size=16,
        )
    text = dict(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=1,
        num_attention_heads=4,
        vocab_size=1000,
        bos_token_id=0,
        eos_token_id=2,
    )
    torch.manual_seed(0)
    CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=64 if quick else 512)).save_pretrained(
        str(folder)
    )
    size = vision["image_size"]
    CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size}).save_pretrained(
        str(folder)
    )
    return size


class Plain:
    """The hand-written reference: the folder's processor and model, called as their documentation shows."""

    def __init__(self, folder: Path, device: torch.device, amp: bool) -> None:
        from transformers import CLIPImageProcessor, CLIPModel

        self.processor = CLIPImageProcessor.from_pretrained(str(folder))
        self.model = CLIPModel.from_pretrained(str(folder)).eval().to(device)
        self.device, self.amp = device, amp

    def __call__(self, clips: np.ndarray) -> np.ndarray:
        n, length = clips.shape[:2]
        pixels = self.processor(images=list(clips.reshape((n * length,) + clips.shape[2:])), return_tensors="pt")
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            out = self.model.get_image_features(pixel_values=pixels["pixel_values"].to(self.device))
        out = out if isinstance(out, torch.Tensor) else out.pooler_output
        return out.float().reshape(n, length, -1).mean(dim=1).cpu().numpy()


def _timed(fn: Any, batches: list[np.ndarray], device: torch.device) -> float:
    t0 = time.perf_counter()
    for clips in batches:
        fn(clips)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - t0


def run(args: argparse.Namespace) -> dict[str, Any]:
    device = resolve_device(args.device)
    amp = device.type == "cuda"
    with tempfile.TemporaryDirectory(prefix="bench_hf_") as tmp:
        folder = Path(tmp) / "clip"
        size = build_folder(folder, args.quick)
        h, w = size, round(size * 4 / 3)
        rng = np.random.default_rng(0)
        batches = [
            rng.integers(0, 256, (args.batch_size, CLIP_LEN, h, w, 3), dtype=np.uint8) for _ in range(args.batches)
        ]
        runner = ClipRunner(
            create_backbone(f"hf:{folder}"), ComputeConfig(batch_size=args.batch_size, amp=True), device
        )
        plain = Plain(folder, device, amp)
        first = np.abs(runner([batches[0]]) - plain(batches[0])).max()
        ours_s, plain_s = [], []
        for _ in range(args.rounds):
            ours_s.append(_timed(lambda c: runner([c]), batches, device))
            plain_s.append(_timed(plain, batches, device))
    frames = args.batches * args.batch_size * CLIP_LEN
    ours, ref = frames / statistics.median(ours_s), frames / statistics.median(plain_s)
    return {
        "machine": {
            "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else "none",
            "cpu_cores": os.cpu_count(),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "load": os.getloadavg(),
        },
        "tower": "tiny (--quick)" if args.quick else "ViT-B/16",
        "device": str(device),
        "bf16": amp,
        "batch_clips": args.batch_size,
        "frames_per_clip": CLIP_LEN,
        "frame_size": [h, w],
        "batches": args.batches,
        "rounds": args.rounds,
        "action2vec_frames_per_s": ours,
        "plain_frames_per_s": ref,
        "ratio": ours / ref,
        "max_abs_diff_first_batch": float(first),
        "preprocess_share": runner.timings["preprocess"] / max(sum(runner.timings.values()), 1e-9),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="auto", help="auto, cpu, cuda [auto]")
    p.add_argument("--quick", action="store_true", help="a tiny tower (64-d, 2 layers, 64x64): checks the script")
    p.add_argument("--batch-size", type=int, default=0, help="clips per batch (0: 32, --quick 4)")
    p.add_argument("--batches", type=int, default=0, help="batches per round (0: 4, --quick 2)")
    p.add_argument("--rounds", type=int, default=3, help="alternating timed rounds [3]")
    p.add_argument("--json", help="also write the figures here")
    args = p.parse_args(argv)
    args.batch_size = args.batch_size or (4 if args.quick else 32)
    args.batches = args.batches or (2 if args.quick else 4)
    return args


def main(argv: list[str] | None = None) -> int:
    try:
        import transformers  # noqa: F401
    except ImportError:
        print("bench_hf: transformers is not installed (pip install 'action2vec[hf]'); skipped", file=sys.stderr)
        return 0
    args = parse_args(argv)
    r = run(args)
    print(
        f"hf: image tower ({r['tower']}, {r['device']}, bf16 {r['bf16']}): action2vec "
        f"{r['action2vec_frames_per_s']:.0f} frames/s, plain HF script {r['plain_frames_per_s']:.0f} frames/s, "
        f"ratio {r['ratio']:.3f} (aim >= 0.9); max |diff| first batch {r['max_abs_diff_first_batch']:.2e}; "
        f"processor {100 * r['preprocess_share']:.0f}% of action2vec's time; machine {r['machine']}"
    )
    if args.json:
        write_json(r, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
