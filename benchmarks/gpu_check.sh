#!/usr/bin/env bash
# The GPU figures of issue 11 in one short run on a one-GPU machine (H100/H200 class, 16 CPU cores).
#
#   bash benchmarks/gpu_check.sh               # the GPU run: under 6 minutes (+ at most 150 s for hf:), prints every figure
#   bash benchmarks/gpu_check.sh --cpu-smoke   # the same steps at toy size on a CPU (a few minutes)
#   bash benchmarks/gpu_check.sh --training-only [--cpu-smoke]   # the training figures alone (no PyAV needed)
#   bash benchmarks/gpu_check.sh --hf-only [--cpu-smoke]   # the hf: image-tower figure alone (issue 17; --cpu-smoke:
#                                                          # a tiny tower, bench_hf.py --quick)
#
# The training section stops starting runs when the whole script nears TOTAL_S seconds (default 345; 900
# with --cpu-smoke); TOTAL_S=560 bash benchmarks/gpu_check.sh --training-only gives every training run time.
#
# Installs nothing from the network. PyTorch, h5py, numpy, tqdm and PyYAML must be there; PyAV, if it
# is missing, is installed from a wheel carried beside this script (benchmarks/wheels/av-*.whl, pip
# --no-index, into a temporary folder; the folder is git-ignored, so carry it to the GPU machine
# explicitly). Without PyAV the extraction figures are skipped and the training figures still run. Make that wheel (35 MB, abi3: any CPython >= 3.11) on a machine
# with network access:
#
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d benchmarks/wheels av==18.1.0
#
# Every figure is printed by a script of this repository; JSON copies go to $OUT (or /tmp/gpu_check_out).
set -euo pipefail

SMOKE=0
TRAINING_ONLY=0
HF_ONLY=0
for arg in "$@"; do
    case "$arg" in
        --cpu-smoke) SMOKE=1 ;;
        --training-only) TRAINING_ONLY=1 ;;
        --hf-only) HF_ONLY=1 ;;
        *) echo "gpu_check: unknown option $arg (use --cpu-smoke, --training-only, --hf-only)" >&2; exit 2 ;;
    esac
done
RUN_HF=$(( TRAINING_ONLY ? 0 : 1 ))  # bench_hf.py needs no PyAV: a missing PyAV leaves it on
if [[ $HF_ONLY == 1 ]]; then TRAINING_ONLY=1; fi
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"
PY="${PYTHON:-python3}"
RESULTS="${OUT:-/tmp/gpu_check_out}"
mkdir -p "$RESULTS"
rm -f "$RESULTS/extract.json" "$RESULTS/compile.json"
export PYTHONPATH="$REPO/src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1

if [[ $TRAINING_ONLY == 0 && $HF_ONLY == 0 ]] && ! "$PY" -c "import av" 2>/dev/null; then
    wheel="$(ls "$HERE"/wheels/av-*.whl 2>/dev/null | head -n 1 || true)"
    if [[ -z "$wheel" ]]; then
        # benchmarks/wheels/ is not in git: carry it to the GPU machine (the device tool's `carry`)
        echo "gpu_check: PyAV is not installed and no benchmarks/wheels/av-*.whl is here (see the header):" \
             "the extraction figures are skipped, the training figures still run" >&2
        TRAINING_ONLY=1
    else
        PIP_ROOT_USER_ACTION=ignore "$PY" -m pip install -q --no-index --no-deps --no-compile --upgrade \
            --target /tmp/gpu_check_site "$wheel"
        export PYTHONPATH="/tmp/gpu_check_site:$PYTHONPATH"
    fi
fi

if [[ $SMOKE == 1 ]]; then
    DEVICE=cpu; BACKBONE=c3d-tiny; VIDEOS=4; WORKERS=2; BATCH=8; ROUNDS=1; MODEL_BATCHES=1
    KNOBS="fp32,bf16+cl+bench"; COMPILE_KNOBS="bf16+cl+bench"; LIMIT=240; COMPILE_LIMIT=60
else
    DEVICE=cuda; BACKBONE=c3d; VIDEOS=48; WORKERS=15; BATCH=128; ROUNDS=3; MODEL_BATCHES=10
    KNOBS="fp32,bf16,bf16+cl,bf16+cl+bench"; COMPILE_KNOBS="bf16+cl+bench+compile"; LIMIT=210; COMPILE_LIMIT=120
fi
COMMON=(--backbone "$BACKBONE" --batch-size "$BATCH" --device "$DEVICE" --model-batches "$MODEL_BATCHES")

echo "== machine"
"$PY" -c '
import os, platform, torch
gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
print(f"GPU: {gpu}; CPU: {os.cpu_count()} cores ({platform.machine()}); torch {torch.__version__}; "
      f"Python {platform.python_version()}; load {os.getloadavg()}")'

if [[ $TRAINING_ONLY == 0 ]]; then
echo "== extraction (issue 11): C3D model-only per forward setting, decode-only vs raw PyAV, extraction"
echo "   $VIDEOS generated 10 s 340x256 H.264 videos, $WORKERS decoding processes, batch $BATCH, $BACKBONE random weights"
# Each call has its own time limit, so a slow torch.compile cannot take the other figures with it. The
# model-only runs come first: CUDA and cuDNN's autotuning (same shapes) are warm when extraction is timed,
# as they are for all but the first seconds of a real extraction.
timeout "$LIMIT" "$PY" "$HERE/bench_extract.py" --parts model,decode,extract --synthetic "$VIDEOS" \
    --workers "$WORKERS" --rounds "$ROUNDS" --model-knobs "$KNOBS" "${COMMON[@]}" --json "$RESULTS/extract.json" \
    || echo "gpu_check: bench_extract.py (decode, extraction, model) failed or ran past ${LIMIT} s"
timeout "$COMPILE_LIMIT" "$PY" "$HERE/bench_extract.py" --parts model --model-knobs "$COMPILE_KNOBS" \
    "${COMMON[@]}" --json "$RESULTS/compile.json" \
    || echo "gpu_check: the torch.compile model run failed or ran past ${COMPILE_LIMIT} s"
"$PY" "$HERE/gpu_check_table.py" "$RESULTS/extract.json" "$RESULTS/compile.json"
fi

if [[ $HF_ONLY == 0 ]]; then
echo "== training (issue 11): fit() end to end and bench_train.py"
# ---- TRAINING FIGURES: added by the training helper (python benchmarks/bench_train.py ...) -----------
# fit() end to end (Lightning, the module's training_step, the device-resident feature bank, bf16) on a
# K400-shaped synthetic store (32,768 videos x 52 steps x 500-d, written here, removed at the end): eager and
# each train.compile mode, and exact resume eager and compiled (crash at step 5, resume, weights compared bit
# for bit; separate processes), each run in its own process with its own time limit, most telling first.
# Every limit is also cut to what is left of the whole script's 6 minutes (TOTAL_S), so a slow compile loses
# its own row, never the script's deadline.
TOTAL_S=${TOTAL_S:-$(( SMOKE ? 900 : 345 ))}
if [[ $SMOKE == 1 ]]; then
    T_ARGS=(--device cpu --precision fp32 --preset tiny --videos 256 --batch-size 64 --epochs 3 --timing epoch
            --matmul-seconds 0.5)
    T_RUNS="eager default resume:eager"; T_LIMIT=240; RESUME_ARGS=(--resume-videos 256)
else
    T_ARGS=(--device cuda --precision bf16 --preset paper --videos 32768 --batch-size 2048 --epochs 4 --timing epoch
            --matmul-seconds 1)
    T_RUNS="eager default resume:eager reduce-overhead resume:default max-autotune-no-cudagraphs"; T_LIMIT=150
    RESUME_ARGS=(--resume-videos 8192)
fi
TSTORE="${TMPDIR:-/tmp}/gpu_check_train_$$.h5"
limited() {  # limited SECONDS CMD...: run CMD for at most SECONDS or what is left of TOTAL_S
    local want=$1; shift
    local left=$(( TOTAL_S - SECONDS - 5 ))
    (( left < want )) && want=$left
    if (( want < 20 )); then echo "gpu_check: skipped (${left} s left of ${TOTAL_S} s): ${*: -5}"; return 0; fi
    timeout "$want" "$@" || echo "gpu_check: failed or ran past ${want} s: ${*: -3}"
}
rm -f "$RESULTS"/train_*.json
limited 120 "$PY" "$HERE/bench_train.py" --store "$TSTORE" --only-store "${T_ARGS[@]}"
T_JSONS=()
for run in $T_RUNS; do
    mode="${run#resume:}"
    if [[ $run == resume:* ]]; then
        out="$RESULTS/train_resume_$mode.json"
        limited "$T_LIMIT" "$PY" "$HERE/bench_train.py" --store "$TSTORE" "${T_ARGS[@]}" --compile "$mode" \
            --resume-check "${RESUME_ARGS[@]}" --json "$out"
    else
        out="$RESULTS/train_$mode.json"
        limited "$T_LIMIT" "$PY" "$HERE/bench_train.py" --store "$TSTORE" "${T_ARGS[@]}" --compile "$mode" \
            --json "$out"
    fi
    T_JSONS+=("$out")
done
rm -rf "$TSTORE" "$TSTORE.parts"
"$PY" "$HERE/bench_train.py" --summary "${T_JSONS[@]}"
fi
# ---- end of the training section ------------------------------------------------------------------------

if [[ $RUN_HF == 1 ]]; then
echo "== hf: image tower (issue 17): a ViT-B/16 CLIP folder through extraction's path vs a plain HF script"
# random weights from a config, saved to a temporary folder; same batches for both; at most 150 s
HF_ARGS=(--device "$DEVICE" --json "$RESULTS/hf.json")
if [[ $SMOKE == 1 ]]; then HF_ARGS+=(--quick); fi
rm -f "$RESULTS/hf.json"
timeout 150 "$PY" "$HERE/bench_hf.py" "${HF_ARGS[@]}" || echo "gpu_check: bench_hf.py failed or ran past 150 s"
fi

echo "== gpu_check done; JSON in $RESULTS"
