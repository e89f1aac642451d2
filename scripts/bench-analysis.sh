#!/usr/bin/env bash
# Before/after timing of the demo and of `factordiff analyze` (BENCHMARKS.md, "Analysis"), alone on the machine:
#   scripts/bench-analysis.sh BEFORE_COMMIT [OUT]        e.g. scripts/bench-analysis.sh 0b8b7a1
# The before code runs from a git worktree of BEFORE_COMMIT on PYTHONPATH, the after code from this checkout; each
# command in a fresh process. Then both analyses of the after demo run are compared field for field.
set -euo pipefail
before=${1:?usage: scripts/bench-analysis.sh BEFORE_COMMIT [OUT]}
out=${2:-/tmp/bench-analysis}
root=$(git rev-parse --show-toplevel)
cd "$root"
rm -rf "$out"; mkdir -p "$out"
git worktree add -f --detach "$out/old" "$before" -q
trap 'git worktree remove --force "$out/old"' EXIT
grep -m1 "model name" /proc/cpuinfo; grep -m1 -o -E "avx512[a-z_0-9]*|avx2" /proc/cpuinfo | sort -u | tr '\n' ' '; echo
echo "before $(git -C "$out/old" log --oneline -1)"; echo "after  $(git log --oneline -1)"
# timed LOG COMMAND…: the command's output to LOG, its wall seconds to stdout
timed() { local log=$1 t0 t1; shift; t0=$(date +%s.%N); "$@" > "$log" 2>&1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
s=$(timed "$out/before.log" env PYTHONPATH="$out/old/src" python -m factordiff demo --out "$out/before")
echo "demo before: $s s"
s=$(timed "$out/after.log" python -m factordiff demo --out "$out/after")
echo "demo after: $s s"
for v in before after; do cp -r "$out/after" "$out/an-$v"; rm -f "$out/an-$v/analysis.jsonl"; done
s=$(timed "$out/an-before.log" env PYTHONPATH="$out/old/src" python -m factordiff analyze "$out/an-before")
echo "analyze before: $s s"
s=$(timed "$out/an-after.log" python -m factordiff analyze "$out/an-after")
echo "analyze after: $s s"
python - "$out" <<'PY'
import json, math, sys
out = sys.argv[1]
read = lambda p: [json.loads(line) for line in open(p)]
a, b = read(f"{out}/an-before/analysis.jsonl"), read(f"{out}/an-after/analysis.jsonl")
worst, differ = 0.0, set()
def walk(x, y, key):
    global worst
    if isinstance(x, dict) and isinstance(y, dict):
        for k in set(x) | set(y):
            walk(x.get(k), y.get(k), f"{key}.{k}")
    elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        for u, v in zip(x, y):
            walk(u, v, key)
    elif isinstance(x, float) and isinstance(y, float):
        if not (math.isnan(x) and math.isnan(y)):
            worst = max(worst, abs(x - y))
    elif x != y:
        differ.add(key)
for x, y in zip(a, b):
    walk(x, y, "")
print(f"{len(a)} vs {len(b)} rows; largest float difference {worst:.2g}; fields that differ otherwise: {sorted(differ)}")
for v in ("before", "after"):
    rows = read(f"{out}/{v}/analysis.jsonl")
    s = [r for r in rows if r.get("kind") == "summary"][-1]
    last = [r for r in rows if r.get("kind") == "analysis"][-1]
    print(f"demo {v}: onsets {s['onsets']}, last step {last['step']}, accuracy {last['acc']:.2f} "
          f"(ceiling {last.get('acc_ceiling')})")
PY
