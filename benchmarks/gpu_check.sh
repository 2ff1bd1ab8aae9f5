#!/usr/bin/env bash
# The GPU figures of issue 11 in one short run on a one-GPU machine (H100/H200 class, 16 CPU cores).
#
#   bash benchmarks/gpu_check.sh               # the GPU run: under 6 minutes, prints every figure
#   bash benchmarks/gpu_check.sh --cpu-smoke   # the same steps at toy sizes on a CPU (about a minute)
#
# Installs nothing from the network. PyTorch, h5py, numpy, tqdm and PyYAML must be there; PyAV, if it
# is missing, is installed from a wheel carried beside this script (benchmarks/wheels/av-*.whl, pip
# --no-index, into a temporary folder). Make that wheel on a machine with network access, for the
# device's Python (3.12, x86-64):
#
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d benchmarks/wheels av==18.1.0
#
# Every figure is printed by a script of this repository; JSON copies go to $OUT (or /tmp/gpu_check_out).
set -euo pipefail

SMOKE=0
[[ "${1:-}" == "--cpu-smoke" ]] && SMOKE=1
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
PY="${PYTHON:-python3}"
RESULTS="${OUT:-/tmp/gpu_check_out}"
mkdir -p "$RESULTS"
export PYTHONPATH="$REPO/src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1

if ! "$PY" -c "import av" 2>/dev/null; then
    wheel="$(ls "$HERE"/wheels/av-*.whl 2>/dev/null | head -n 1 || true)"
    if [[ -z "$wheel" ]]; then
        echo "gpu_check: PyAV is not installed and no benchmarks/wheels/av-*.whl is here (see the header)" >&2
        exit 2
    fi
    PIP_ROOT_USER_ACTION=ignore "$PY" -m pip install -q --no-index --no-deps --no-compile --target /tmp/gpu_check_site "$wheel"
    export PYTHONPATH="/tmp/gpu_check_site:$PYTHONPATH"
fi

if [[ $SMOKE == 1 ]]; then
    DEVICE=cpu; BACKBONE=c3d-tiny; VIDEOS=4; WORKERS=2; BATCH=8; ROUNDS=1; MODEL_BATCHES=1
    KNOBS="fp32,bf16+cl+bench"; LIMIT=300
else
    DEVICE=cuda; BACKBONE=c3d; VIDEOS=48; WORKERS=15; BATCH=128; ROUNDS=3; MODEL_BATCHES=10
    KNOBS="fp32,bf16,bf16+cl,bf16+cl+bench,bf16+cl+bench+compile"; LIMIT=330
fi

echo "== machine"
"$PY" - <<'EOF'
import os, platform, torch
gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
print(f"GPU: {gpu}; CPU: {os.cpu_count()} cores ({platform.machine()}); torch {torch.__version__}; "
      f"Python {platform.python_version()}; load {os.getloadavg()}")
EOF

echo "== extraction (issue 11): decode-only vs raw PyAV, C3D model-only per forward setting, extraction"
echo "   $VIDEOS generated 10 s 340x256 H.264 videos, $WORKERS decoding processes, batch $BATCH, $BACKBONE random weights"
timeout "$LIMIT" "$PY" "$HERE/bench_extract.py" --synthetic "$VIDEOS" --workers "$WORKERS" --rounds "$ROUNDS" \
    --backbone "$BACKBONE" --batch-size "$BATCH" --device "$DEVICE" --model-knobs "$KNOBS" \
    --model-batches "$MODEL_BATCHES" --json "$RESULTS/bench_extract.json"
"$PY" - "$RESULTS/bench_extract.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
ok = {k: v for k, v in r["model_only"].items() if "clips_per_s" in v}
best = max(ok.items(), key=lambda kv: kv[1]["clips_per_s"])
t = r["extract"]["timings_s"]
total = r["extract"]["seconds"]
print("-- issue 11 table (extraction rows)")
print(f"decode-only / raw PyAV            : {r['decode_over_raw_pyav']:.3f}  (target >= 0.9; "
      f"{r['decode_only']['videos_per_s']:.2f} vs {r['raw_pyav']['videos_per_s']:.2f} videos/s, "
      f"{r['raw_pyav']['frames_per_s']:.0f} raw frames/s)")
print(f"extraction / raw PyAV decode      : {r['extract_over_raw_pyav']:.3f}  (target >= 0.9; "
      f"{r['extract']['videos_per_s']:.2f} videos/s, {r['extract']['clips_per_s']:.0f} clips/s)")
for k, v in r["model_only"].items():
    print(f"model only [{k:22s}]    : " + (f"{v['clips_per_s']:8.0f} clips/s" if k in ok else f"failed: {v['error']}"))
print(f"model only best ({best[0]})      : {best[1]['clips_per_s']:.0f} clips/s  (target >= 2300, aim >= 4000)")
print("main process during extraction    : " + ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in t.items()))
EOF

echo "== training (issue 11): fit() end to end and bench_train.py"
# ---- TRAINING FIGURES: added by the training helper (python benchmarks/bench_train.py ...) -----------
# ---- end of the training section ------------------------------------------------------------------------

echo "== gpu_check done; JSON in $RESULTS"
