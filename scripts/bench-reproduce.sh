#!/usr/bin/env bash
# Before/after timing of one round of a whole `reproduce` (BENCHMARKS.md, "Analysis" → "A whole reproduce"), alone on
# the machine, as issue 45 asks: the same design's runs, two at a time, with the code before the loop's speed work
# (no stopping rule) and with today's code and the stopping rule (train.stop_when=learned, capped at the design's
# steps). Each in a fresh process; then both records' onsets and verdict statistics side by side.
#   scripts/bench-reproduce.sh BEFORE_COMMIT [EXPERIMENT] [OUT] [SEEDS…]
#   e.g. scripts/bench-reproduce.sh d9904b7 p1-phases /tmp/bench-reproduce 7 8
set -euo pipefail
before=${1:?usage: scripts/bench-reproduce.sh BEFORE_COMMIT [EXPERIMENT] [OUT] [SEEDS…]}
exp=${2:-p1-phases}
out=${3:-/tmp/bench-reproduce}
shift $(( $# < 3 ? $# : 3 ))
seeds=("${@:-7 8}")
# shellcheck disable=SC2206
seeds=(${seeds[*]})
root=$(git rev-parse --show-toplevel)
cd "$root"
rm -rf "$out"; mkdir -p "$out"
git worktree add -f --detach "$out/old" "$before" -q
trap 'git worktree remove --force "$out/old"' EXIT
grep -m1 "model name" /proc/cpuinfo; grep -m1 -E "^cpu family|^model\s" /proc/cpuinfo | tr '\n' ' '
grep -m1 -o -E "avx512[a-z_0-9]*|avx2" /proc/cpuinfo | sort -u | tr '\n' ' '; echo
echo "before $(git -C "$out/old" log --oneline -1)"; echo "after  $(git log --oneline -1)"
echo "$exp, seeds ${seeds[*]}, two at a time"
plan() { "$@" --dry-run 2>&1 | grep -E "^estimate|at most" || true; }
echo "plan before:"; plan env PYTHONPATH="$out/old/src" python -m factordiff reproduce "$exp" --seeds "${seeds[@]}" \
    --jobs 2 --out "$out/before"
echo "plan after:"; plan python -m factordiff reproduce "$exp" --seeds "${seeds[@]}" --jobs 2 --out "$out/after" \
    train.stop_when=learned
# timed LOG COMMAND…: the command's output to LOG, its wall seconds to stdout
timed() { local log=$1 t0 t1; shift; t0=$(date +%s.%N); "$@" > "$log" 2>&1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
s=$(timed "$out/before.log" env PYTHONPATH="$out/old/src" python -m factordiff reproduce "$exp" --seeds "${seeds[@]}" --jobs 2 \
    --out "$out/before")
echo "reproduce before: $s s"
s=$(timed "$out/after.log" python -m factordiff reproduce "$exp" --seeds "${seeds[@]}" --jobs 2 --out "$out/after" \
    train.stop_when=learned)
echo "reproduce after (train.stop_when=learned): $s s"
python - "$out" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
for v in ("before", "after"):
    print(f"--- {v}")
    for run in sorted((out / v / "runs").iterdir()):
        rows = [json.loads(x) for x in open(run / "analysis.jsonl")]
        s = [r for r in rows if r.get("kind") == "summary"][-1]
        last = [r for r in rows if r.get("kind") == "analysis"][-1]
        train = [json.loads(x) for x in open(run / "metrics.jsonl") if '"train"' in x]
        print(f"{run.name}: onsets {s['onsets']}, last step {last['step']}, accuracy {last['acc']:.2f}, "
              f"median {sorted(r['sec_per_step'] for r in train)[len(train) // 2]:.3f} s/step")
    for x in json.loads((out / v / "verdicts.json").read_text()):
        print(f"  {x['outcome']}: {x['claim'][:80]} | value {x['value']}")
PY
