#!/usr/bin/env bash
# Aggregate training throughput of N paper-scale runs sharing one GPU (BENCHMARKS.md "GPU"): N `bench train`
# processes started together, fixed options (channels_last, fp32, eager), each timing its own steps.
# Usage on the GPU machine: OUT=/some/dir bash scripts/gpu-concurrency.sh 1 4 8
set -u
OUT=${OUT:-/tmp/gpu-concurrency}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg FACTORDIFF_CACHE_DIR=/tmp/factordiff-cache
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=$PWD/src:/tmp/site
else
  export PYTHONPATH=$PWD/src
fi
for n in "$@"; do
  for i in $(seq "$n"); do
    timeout 100 python3 -m factordiff bench train --preset paper --device cuda --batch 64 --timed-steps 8 --warmup 5 \
      --no-reference train.channels_last=true train.amp=none train.compile=false > "$OUT/n$n-$i.json" 2>/dev/null &
  done
  wait
  python3 - "$n" "$OUT" <<'PY'
import glob, json, sys
n, out = sys.argv[1], sys.argv[2]
rates = [json.loads(open(f).read().strip().splitlines()[-1])["tuned"]["images_per_s"] for f in glob.glob(f"{out}/n{n}-*.json")]
print(f"{n} at a time: {len(rates)} finished, per process {', '.join(f'{r:.0f}' for r in rates)} img/s, "
      f"together {sum(rates):.0f} img/s")
PY
done | tee "$OUT/summary.txt"
