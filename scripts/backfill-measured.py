"""Give a campaign's stored runs their part of the measurements, from their run folders on this machine.

    python scripts/backfill-measured.py NAME [--runs experiments/NAME-confirm-vN/runs] [--dry-run]

A confirmation stores each finished run as records/NAME/runs/RUN.json.gz (experiments/campaign.py); for an
experiment whose `measure` is per run (`measure_by_run`) the file also holds that run's part, so any machine can
judge it. Runs stored while the experiment's measure was not yet per run (the bias bench's, before session 34) have
none: this measures each of them from its run folder, where the machine that trained it still has it, and rewrites
the file (whole: temp, then rename), every other field as it was. Runs whose folder is not here are named and left
as they are.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

from factordiff.experiments import EXPERIMENTS
from factordiff.experiments.campaign import RUNS, recorded_runs
from factordiff.experiments.design import design_hash
from factordiff.io import atomic_path, jsonable


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("name", choices=sorted(EXPERIMENTS))
    ap.add_argument("--records", type=Path, default=Path("records"))
    ap.add_argument("--runs", type=Path, default=None, help="the campaign's run folders (default: the sweep's)")
    ap.add_argument("--dry-run", action="store_true", help="say what would be measured, change nothing")
    args = ap.parse_args(argv)
    exp = EXPERIMENTS[args.name]
    if not (exp.measure is not None and exp.measure_by_run):
        print(f"{args.name}: its measure is not per run: nothing to store with each run", file=sys.stderr)
        return 2
    runs_dir = args.runs or Path("experiments") / f"{args.name}-confirm-v{exp.design.version}" / "runs"
    stored = recorded_runs(args.records, args.name, design_hash(exp))
    todo = {run: p for run, p in stored.items() if p.get("measured") is None}
    print(f"{args.name}: {len(stored)} runs stored for design {design_hash(exp)}, {len(todo)} without their "
          f"measured part")
    done = 0
    for run, payload in sorted(todo.items()):
        folder = runs_dir / run
        if not folder.is_dir():
            print(f"  {run}: no run folder at {folder}: left as it is")
            continue
        if args.dry_run:
            print(f"  {run}: would be measured from {folder}")
            continue
        rows = [dict(r, run_dir=str(folder)) for r in payload["rows"]]
        payload["measured"] = json.loads(json.dumps(jsonable(exp.measure(rows, log=print))))
        path = args.records / args.name / RUNS / f"{run}.json.gz"
        with atomic_path(path) as tmp, gzip.open(tmp, "wt", encoding="utf-8") as f:
            json.dump(payload, f, sort_keys=True, default=str)
        done += 1
        print(f"  {run}: measured part stored")
    print(f"{args.name}: {done} run(s) given their measured part")
    return 0


if __name__ == "__main__":
    sys.exit(main())
