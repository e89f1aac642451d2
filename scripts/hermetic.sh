#!/usr/bin/env bash
# Run a command as a fresh machine would see it: what earlier runs installed or left behind is out of reach.
#   scripts/hermetic.sh python -m pytest        # the main suite, as CI runs it
# Hidden: Slurm's and Chromium's binaries (a PATH whose directories holding them are replaced by copies of
# symlinks without them), the user's caches and config (HOME and XDG_* in a temp folder, removed at exit) and
# factordiff's own variables. Kept: pip's download cache (PIP_CACHE_DIR), so that reinstalling costs no downloads.
# A test that passes only outside this leans on machine state (issue 41: `sbatch` left by an earlier CI run).
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: scripts/hermetic.sh COMMAND [ARGS...]" >&2; exit 2; }
HIDE="sbatch srun squeue scancel sinfo scontrol sacct salloc slurmctld slurmd munged chromium chromium-browser
google-chrome google-chrome-stable chrome chromedriver"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/factordiff-hermetic.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
newpath=""
i=0
IFS=: read -r -a dirs <<<"${PATH}"
for d in "${dirs[@]}"; do
  [ -d "$d" ] || continue
  hit=""
  for b in $HIDE; do [ -e "$d/$b" ] && hit=1 && break; done
  if [ -n "$hit" ]; then  # a copy of the directory as symlinks, less the hidden binaries
    i=$((i + 1)); shadow="$tmp/path$i"; mkdir -p "$shadow"
    for f in "$d"/* "$d"/.[!.]*; do
      [ -e "$f" ] || [ -L "$f" ] || continue
      n=$(basename "$f")
      case " $(echo $HIDE) " in *" $n "*) continue ;; esac
      ln -s "$f" "$shadow/$n"
    done
    d=$shadow
  fi
  newpath=${newpath:+$newpath:}$d
done
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pip}"
mkdir -p "$tmp/home" "$tmp/cache" "$tmp/config" "$tmp/data"
export HOME="$tmp/home" XDG_CACHE_HOME="$tmp/cache" XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data"
export PATH="$newpath"
for v in $(env | sed -n 's/^\(FACTORDIFF_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
for b in $HIDE; do
  if command -v "$b" >/dev/null; then echo "scripts/hermetic.sh: could not hide $b ($(command -v "$b"))" >&2; exit 2; fi
done
"$@"
