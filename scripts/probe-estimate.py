#!/usr/bin/env python
"""The plan's estimate of the once-per-run grid probe and topology (`bench.probe_seconds`) against what
`analyze_run` takes for them on a finished run (its analysis at the last snapshot, less the plan's per-snapshot
analysis), on one thread; the run is analysed in a scratch copy (BENCHMARKS.md "A whole reproduce").

    python scripts/probe-estimate.py RUN_DIR '{"grid": 16, "grid_repeats": 4, "topology": "last"}' [SCRATCH]
"""

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

from factordiff import plan as plan_mod
from factordiff.analyze import analyze_run
from factordiff.rundir import RunDir


def main(src: Path, analyze: dict, scratch: Path) -> None:
    torch.set_num_threads(1)
    run = scratch / src.name
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(src, run)
    (run / "analysis.jsonl").unlink(missing_ok=True)
    cfg = RunDir(run).load_config()
    est = plan_mod.plan([("r", cfg, scratch / "no-run")], analyze=analyze)["runs"][0]
    last = RunDir(run).list_snapshots()[-1][0]
    t0 = time.perf_counter()
    analyze_run(run, steps=[last], threads=1, **analyze)
    took = time.perf_counter() - t0
    print(f"{src.name}: estimated probe + topology {est['sec_probe']:.1f} s (+ {est['sec_analysis_per_snapshot']:.1f}"
          f" s per snapshot); measured: the analysis at the last snapshot {took:.1f} s, so probe + topology ≈ "
          f"{took - est['sec_analysis_per_snapshot']:.1f} s")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), json.loads(sys.argv[2]),
         Path(sys.argv[3]) if len(sys.argv) > 3 else Path(tempfile.mkdtemp(prefix="probe-estimate-")))
