#!/usr/bin/env bash
# One prepared call on a lent GPU machine (the workplace's `device` tool; see BENCHMARKS.md "GPU"):
#   the CUDA tests, the training step's speed options at the cpu and paper scales, sampling speed, the ensemble
#   trainer's step against one run alone (scripts/bench-ensemble.py), and the real
#   paper-scale training loop for a few hundred steps, each stage bounded so that the whole fits one call.
# Usage (on the GPU machine, in the repository root): OUT=/some/dir bash scripts/gpu-check.sh [DEADLINE_S]
# Python packages the machine lacks travel as wheels in .whl/ (installed to /tmp/site first, if present).
set -u
OUT=${OUT:-/tmp/gpu-check}
DEADLINE=$(( $(date +%s) + ${1:-560} ))
mkdir -p "$OUT"
. "$(dirname "$0")/gpu-env.sh"  # PYTHONPATH, wheels from .whl/, MPLBACKEND
FD="python3 -m factordiff"  # a command (timeout cannot run a shell function)

stage() {  # stage NAME MAX_SECONDS command...: run it within MAX_SECONDS and what is left before the deadline
  local name=$1 max=$2; shift 2
  local left=$(( DEADLINE - $(date +%s) ))
  local t=$(( max < left ? max : left ))
  if (( t < 20 )); then echo "== $name: skipped ($left s left)"; return; fi
  echo "== $(date +%T) $name (≤ $t s)"
  local t0=$(date +%s.%N)
  timeout -s TERM -k 10 "$t" "$@"
  local rc=$?
  echo "== $name: rc $rc, $(python3 -c "print(f'{$(date +%s.%N) - $t0:.1f}')") s"
}

{
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv
  python3 -c "import sys, torch; print(sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda,
  torch.cuda.get_device_name(0), 'bf16', torch.cuda.is_bf16_supported())"
  lscpu | grep -E "^Model name|^CPU\(s\)"
} 2>&1 | tee "$OUT/machine.txt"

stage "bench train, paper preset (auto: every candidate, compile included)" 200 \
  $FD bench train --preset paper --device cuda --batch 64 --timed-steps 10 --warmup 3 2>&1 | tee -a "$OUT/bench.txt"
stage "bench sample, paper preset (DDIM 100 steps, 500 images)" 45 \
  $FD bench sample --preset paper --device cuda --batch 500 --sample-steps 100 2>&1 | tee -a "$OUT/bench.txt"
stage "bench train, cpu preset (auto)" 60 \
  $FD bench train --preset cpu --device cuda --batch 64 --timed-steps 10 --warmup 3 2>&1 | tee -a "$OUT/bench.txt"
stage "ensemble: paper preset, one run alone vs K = 1, 4, 8, 16 as one batched model (fp32)" 100 \
  python3 scripts/bench-ensemble.py --preset paper --device cuda --members 1 4 8 16 --steps 5 --warmup 2 \
  2>&1 | tee "$OUT/ensemble.txt"
stage "train, paper preset, real loop: 400 steps, snapshots at 0 and 400 (500 DDPM-1000 samples each)" 150 \
  $FD train --preset paper --out /tmp/paper-run train.steps=400 train.snapshot_every=400 train.device=cuda \
  2>&1 | tee "$OUT/paper-train.txt"
[ -d /tmp/paper-run ] && tar czf "$OUT/paper-run.tgz" -C /tmp/paper-run config.yaml metrics.jsonl 2>/dev/null
stage "plan: reproduce p1-increment --scale paper --dry-run" 90 \
  $FD reproduce p1-increment --scale paper --dry-run train.device=cuda 2>&1 | tail -5 | tee "$OUT/plan.txt"
stage "tests (tests/test_gpu.py${TESTS:+ -k $TESTS})" 200 python3 -m pytest -p no:cacheprovider -q -s -m gpu \
  tests/test_gpu.py ${TESTS:+-k "$TESTS"} 2>&1 | grep -v DEBUG | tee "$OUT/tests.txt"
grep -h '^{' "$OUT/bench.txt" "$OUT/ensemble.txt" > "$OUT/bench.jsonl" 2>/dev/null
echo "== done, $(( DEADLINE - $(date +%s) )) s before the deadline"
