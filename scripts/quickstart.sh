#!/usr/bin/env bash
# Run README.md's Quickstart block exactly as written, one command after another, in a fresh folder, and time
# each (a newcomer's first session). Usage: scripts/quickstart.sh [WORKDIR]   (default: a new temp folder)
# Needs the package installed (README "Set up"). On 2 cores it takes about 25 minutes: the demo, a second cpu
# run, a torus run and a paper-network benchmark are most of it.
set -euo pipefail
readme="$(cd "$(dirname "$0")/.." && pwd)/README.md"
work=${1:-$(mktemp -d -t factordiff-quickstart-XXXX)}
mkdir -p "$work" && cd "$work"
echo "quickstart in $work"
sed -n '/^## Quickstart/,/^```$/p' "$readme" | sed -n '/^```bash/,/^```$/p' | grep -v '^```' |
  sed 's/[[:space:]]*# .*$//' | grep -v '^[[:space:]]*$' > commands.txt
n=0
while IFS= read -r cmd; do
  n=$((n + 1))
  t0=$(date +%s)
  echo "[$n] $cmd"
  if ! bash -c "$cmd" > "cmd$n.log" 2>&1 < /dev/null; then
    echo "FAILED ($(( $(date +%s) - t0 )) s): $cmd; see $work/cmd$n.log" >&2
    tail -20 "cmd$n.log" >&2
    exit 1
  fi
  echo "    ok, $(( $(date +%s) - t0 )) s"
done < commands.txt
echo "all $n quickstart commands ran as written"
