"""What installing Action2Vec costs: the core wheel against a reference wheel, each in a fresh venv, same run.

    python benchmarks/bench_install.py --reference bb33de0 --json install.json

For each wheel (this checkout's, and the ``--reference`` commit's built from a temporary git worktree): a fresh
``python -m venv``, ``pip install torch==TORCH`` (the CPU wheel first, as the README says), then the wheel with no
extras (the core), then the same wheel with ``[all]`` (and ``action2vec demo --size quick`` run from it); each step timed, ``site-packages`` sized (``du``) and the
distributions counted after it. pip's cache is shared by both, so the reference and the core pay the same for
downloads (warm after the first run). Then, in the core venv, from a folder outside the checkout: ``import
action2vec`` and ``from action2vec import Action2Vec`` timed, a model trained on a synthetic store, loaded and used
(``encode_features``), and ``action2vec extract`` run to show its one line.
Prints a Markdown table for docs/install.md; ``--json`` writes the figures with the machine and date.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(cmd: list[str], cwd: Path | None = None, env: dict | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0 and "extract" not in cmd:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return seconds, done.stdout + done.stderr


def build_wheel(source: Path, out: Path) -> Path:
    run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(source)])
    return next(out.glob("action2vec-*.whl"))


def site_mb(venv: Path) -> int:
    site = next(venv.glob("lib/python*/site-packages"))
    return int(subprocess.run(["du", "-sm", str(site)], capture_output=True, text=True).stdout.split()[0])


def n_dists(python: Path) -> int:
    _, out = run([str(python), "-m", "pip", "list", "--format", "json"])
    return len(json.loads(out[out.index("[") :]))


def measure(name: str, wheel: Path, work: Path, torch: str) -> list[dict]:
    venv = work / f"venv-{name}"
    run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    rows = []
    for step, spec in (("torch", f"torch=={torch}"), ("core", str(wheel)), ("all", f"{wheel}[all]")):
        seconds, _ = run([str(python), "-m", "pip", "install", "-q", spec])
        rows.append(
            {
                "wheel": name,
                "step": step,
                "seconds": round(seconds, 1),
                "site_mb": site_mb(venv),
                "distributions": n_dists(python),
            }
        )
        print(
            f"{name:>9} {step:>5}: {seconds:6.1f} s  {rows[-1]['site_mb']:6d} MB  {rows[-1]['distributions']} "
            "distributions",
            flush=True,
        )
        if name == "core" and step == "core":
            rows[-1]["checks"] = core_checks(venv, work)
        if name == "core" and step == "all":
            rows[-1]["demo"] = demo_check(venv, work)
    return rows


def demo_check(venv: Path, work: Path) -> dict:
    """``action2vec demo --size quick`` from the [all] install, outside the checkout: exit status, time, files."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    outside = work / "outside"
    outside.mkdir(exist_ok=True)
    start = time.perf_counter()
    done = subprocess.run(
        [str(venv / "bin" / "action2vec"), "demo", "--size", "quick", "--out", "demo"],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
    )
    demo = {
        "exit": done.returncode,
        "seconds": round(time.perf_counter() - start, 1),
        "reports": sorted(p.name for p in (outside / "demo").glob("report.*")),
    }
    print(f"     demo: {demo}", flush=True)
    return demo


CORE_USE = """
import numpy as np
from action2vec import Action2Vec
from action2vec.cli.main import main
from action2vec.store import open_store
from action2vec.testing import make_synthetic_store, synthetic_label_vectors, write_vectors_file

lv = synthetic_label_vectors(4, dim=8)
make_synthetic_store("store.h5", lv, videos_per_class=6, feature_dim=12)
write_vectors_file(lv, "vectors.npz")
code = main(["train", "--out", "run", "--set", "data.store=store.h5", "--set", "data.text=vectors:vectors.npz",
             "--set", "model.preset=tiny", "--set", "train.epochs=2", "--set", "train.progress_bar=false"])
assert code == 0, code
model = Action2Vec.load("run/model")
store = open_store("store.h5")
v = model.encode_features([store.get(i)[0][: store.get(i)[1]] for i in range(3)])
print("train exit", code, "; encode_features", v.shape, "; classes", model.classes)
"""


def core_checks(venv: Path, work: Path) -> dict:
    """In the core-only venv, outside the checkout: imports timed, and extract's one line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    outside = work / "outside"
    outside.mkdir(exist_ok=True)
    python, cli = venv / "bin" / "python", venv / "bin" / "action2vec"
    checks = {}
    for label, code in (
        ("import action2vec", "import action2vec"),
        ("from action2vec import Action2Vec", "from action2vec import Action2Vec"),
    ):
        seconds, _ = run([str(python), "-c", code], cwd=outside, env=env)
        checks[label] = round(seconds, 2)
    # a model trained and used with the core alone: a synthetic store, label vectors from a mapping file
    seconds, out = run([str(python), "-c", CORE_USE], cwd=outside, env=env)
    said = next((line for line in out.splitlines() if line.startswith("train exit")), out.strip()[-300:])
    checks["train, load, encode_features"] = f"{said} ({seconds:.0f} s)"
    (outside / "videos.txt").write_text("a.mp4 spin_ball\n")
    _, out = run([str(cli), "extract", "--list", "videos.txt", "--out", "f.h5"], cwd=outside, env=env)
    checks["extract"] = out.strip()
    print(f"     core: {checks}", flush=True)
    return checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", default="bb33de0", help="git commit of the reference wheel")
    parser.add_argument("--torch", default="2.13.0")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="a2v-install-") as tmp:
        work = Path(tmp)
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(work / "ref"), args.reference], check=True
        )
        try:
            wheels = {
                "reference": build_wheel(work / "ref", work / "dist-ref"),
                "core": build_wheel(ROOT, work / "dist-core"),
            }
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(work / "ref")], check=True)
        rows = [row for name, wheel in wheels.items() for row in measure(name, wheel, work, args.torch)]
        shutil.rmtree(work / "venv-reference", ignore_errors=True)
    result = {
        "machine": f"{platform.node()} ({os.cpu_count()} cores, Python {platform.python_version()})",
        "date": date.today().isoformat(),
        "load_before": round(load, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "reference": args.reference,
        "rows": rows,
    }
    print("\n| wheel | step | time | site-packages | distributions |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['wheel']} | {r['step']} | {r['seconds']:.0f} s | {r['site_mb']:,} MB | {r['distributions']} |")
    by = {(r["wheel"], r["step"]): r for r in rows}
    ref, core = by[("reference", "core")], by[("core", "core")]
    ref_torch, core_torch = by[("reference", "torch")], by[("core", "torch")]
    print(
        f"\nOver torch, the core install adds {core['site_mb'] - core_torch['site_mb']:,} MB and "
        f"{core['distributions'] - core_torch['distributions']} distributions where the reference added "
        f"{ref['site_mb'] - ref_torch['site_mb']:,} MB and {ref['distributions'] - ref_torch['distributions']}, "
        f"in {core['seconds'] / ref['seconds']:.0%} of its time."
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
