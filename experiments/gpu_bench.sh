#!/usr/bin/env bash
# The training benchmark on one accelerator (issue 6): grids of 25, 125 and 250 models.
#
#   bash experiments/gpu_bench.sh [OUTDIR]        # PYTHON=python3 by default
#
# Runs experiments/bench.py under vmap: reference vs subpixel side by side at 25 and 250
# models, subpixel alone at 125, and subpixel at 250 with bfloat16 matmul inputs. About 5
# minutes on one H200, compiles included. Prints every run's figures (FLOP/s and the
# fraction of the device's peak among them) and appends each run's JSON line to
# OUTDIR/gpu_bench.jsonl. Each run is capped at 240 s.
set -uo pipefail
out=${1:-.}
py=${PYTHON:-python3}
mkdir -p "$out"

run() {
  echo "== python -m experiments.bench --config=configs/bench.py $*"
  local log
  log=$(mktemp)
  timeout 240 "$py" -m experiments.bench --config=configs/bench.py "$@" 2>&1 \
    | grep -v '^[IWE][0-9]\{4\} ' | tee "$log"
  tail -n 1 "$log" | grep '^{' >> "$out/gpu_bench.jsonl"
  rm -f "$log"
}

nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv 2>/dev/null
run --config.grid_size=25 --config.steps=20 --config.warmup_steps=2 \
    --config.strategies=vmap --config.impls=reference,subpixel --config.compare_rounds=3
run --config.grid_size=250 --config.steps=10 --config.warmup_steps=2 \
    --config.strategies=vmap --config.impls=reference,subpixel --config.compare_rounds=3
run --config.grid_size=125 --config.steps=20 --config.warmup_steps=2 \
    --config.strategies=vmap --config.impls=subpixel --config.compare_rounds=0
run --config.grid_size=250 --config.steps=10 --config.warmup_steps=2 \
    --config.strategies=vmap --config.impls=subpixel --config.compare_rounds=0 \
    --config.matmul_precision=bfloat16
