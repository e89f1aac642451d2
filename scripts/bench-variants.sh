#!/usr/bin/env bash
# The inductive-bias bench's variants (experiments/bias_bench.py VARIANTS, and bias_bench_learned.py's learned
# renderer): parameter count and training step time
# at the cpu preset, each on one thread as a bench worker two at a time gets it, alone on the machine
# (BENCHMARKS.md "Bench variants"; docs/extending.md's table).
#   scripts/bench-variants.sh [TIMED_STEPS]
set -euo pipefail
steps=${1:-30}
grep -m1 "model name" /proc/cpuinfo; grep -m1 -E "^cpu family|^model\s" /proc/cpuinfo | tr '\n' ' '
grep -m1 -o -E "avx512[a-z_0-9]*|avx2" /proc/cpuinfo | sort -u | tr '\n' ' '; echo
python - <<'PY'
from factordiff.archs import build
from factordiff.experiments.bias_bench import VARIANTS
from factordiff.experiments.bias_bench_learned import VARIANTS as LEARNED
from factordiff.presets import preset

for name, (arch, coords, _) in (VARIANTS | LEARNED).items():
    cfg = preset(["cpu"], [f"model.arch={arch}", f"model.coords={coords}"])
    print(f"{name}: {sum(p.numel() for p in build(cfg.model, cfg.data.image_size).parameters()):,} parameters")
PY
for v in "unet none" "unet-rendered none" "unet-separate none" "unet linear" "dit none" \
         "unet-rendered-learned none"; do
    set -- $v
    echo "== model.arch=$1 model.coords=$2 (1 thread)"
    OMP_NUM_THREADS=1 python -m factordiff bench train --preset cpu --timed-steps "$steps" "model.arch=$1" \
        "model.coords=$2" 2>&1 | grep -v "^\s*$" | tail -6
done
