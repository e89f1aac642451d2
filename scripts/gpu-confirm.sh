#!/usr/bin/env bash
# Confirmation campaigns on a lent GPU machine (the workplace's `device` tool), in one bounded call:
#   `factordiff reproduce NAME --confirm --jobs JOBS` for each NAME in turn (JOBS runs sharing the GPU; each
#   frozen design as declared, `train.device=auto` picks CUDA), until DEADLINE_S. A campaign stores every finished
#   run at once under records/NAME/runs/ (campaign.py); this script packs records/ into $OUT/records.tar.gz every
#   30 s and at the end, so a call cut at its limit still brings back every run that finished. Only a few files
#   come back from a device call, hence one archive and one short log per NAME.
# Usage (on the GPU machine, in the repository root):
#   OUT=/some/dir bash scripts/gpu-confirm.sh DEADLINE_S JOBS NAME [NAME ...]
# e.g. the device tool's command: OUT=$OUT bash scripts/gpu-confirm.sh 520 8 bias-bench bias-bench-factors
# Back here: tar -xzf FILES_AT/records.tar.gz (records/NAME/ as the call left them), `git status records/`,
# commit the new records/NAME/runs/*.json.gz; a later call, on any machine, trains only the runs not yet stored.
# Python packages the machine lacks travel as wheels in .whl/ (installed to /tmp/site first, if present).
set -u
OUT=${OUT:-/tmp/gpu-confirm}
DEADLINE=$(( $(date +%s) + ${1:?DEADLINE_S} ))
JOBS=${2:?JOBS}
shift 2
(( $# )) || { echo "usage: OUT=DIR bash scripts/gpu-confirm.sh DEADLINE_S JOBS NAME [NAME ...]" >&2; exit 2; }
mkdir -p "$OUT"
. "$(dirname "$0")/gpu-env.sh"  # PYTHONPATH, wheels from .whl/, MPLBACKEND

NAMES=("$@")
pack() {  # the named campaigns' records; temp file, then rename: a call cut mid-pack returns the last whole archive
  local have=()
  for n in "${NAMES[@]}"; do [[ -d records/$n ]] && have+=("records/$n"); done
  (( ${#have[@]} )) || return 0
  tar -czf "$OUT/records.tmp.tar.gz" "${have[@]}" 2>/dev/null && mv -f "$OUT/records.tmp.tar.gz" "$OUT/records.tar.gz"
}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>&1 | head -1
( while sleep 30; do pack; done ) &
PACKER=$!
trap 'kill $PACKER 2>/dev/null; pack' EXIT

for name in "$@"; do
  left=$(( DEADLINE - $(date +%s) ))
  if (( left < 60 )); then echo "== $name: not started ($left s left)"; continue; fi
  echo "== $(date +%T) $name (≤ $left s)"
  before=$(ls records/"$name"/runs 2>/dev/null | wc -l)
  # SIGTERM at the deadline: the sweep stops its workers, each at a checkpoint (its finished runs are stored)
  timeout -s TERM -k 30 "$left" python3 -m factordiff reproduce "$name" --confirm --jobs "$JOBS" \
    > "$OUT/$name.log.full" 2>&1
  rc=$?
  tail -n 40 "$OUT/$name.log.full" > "$OUT/$name.log" && rm -f "$OUT/$name.log.full"
  echo "== $name: rc $rc, runs stored $before → $(ls records/"$name"/runs 2>/dev/null | wc -l)"
done
