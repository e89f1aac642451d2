"""Exploratory (issue 43): does smoothing the closed-form memorizer's label kernel change what copying alone scores
on held-out labels? For each run given, the closed-form memorizer of its training set (memorizer.py) is sampled at
the labels of its last snapshot with the snapshot's sampler and noise seed, at several bandwidths (in label
increments, `train.memorizer_bandwidth`), and scored like the model; printed beside the nearest-training-label
memorizer and the model itself.

    python scripts/memorizer-bandwidth.py experiments/p1-holes-confirm-v1/runs/*seed=100 --bandwidths 0.25 1 2 4 8
"""

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

from factordiff.data import make_dataset
from factordiff.evaluate import SNAPSHOT_SEED
from factordiff.memorizer import closed_form_scores
from factordiff.rundir import RunDir


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--bandwidths", type=float, nargs="+", default=[0.25, 1, 2, 4, 8])
    ap.add_argument("--out", help="write the rows as JSON lines here too")
    a = ap.parse_args()
    rows = []
    for path in a.runs:
        run = RunDir(Path(path))
        cfg = run.load_config()
        step, snap = run.list_snapshots()[-1]
        z = run.load_snapshot(snap)
        ds = make_dataset(cfg.data)
        last = [r for r in run.read_metrics("eval") if r.get("step") == step][-1]
        refs = last["references"]
        row = {"run": Path(path).name, "step": step, "model_ood": last.get("ood_detectable", {}).get("acc"),
               "nearest_ood": refs["nearest"].get("ood_detectable", {}).get("acc"),
               "recorded_closed_form_ood": refs["closedform"].get("ood_detectable", {}).get("acc")}
        for h in a.bandwidths:
            c = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, memorizer_bandwidth=h))
            sc = closed_form_scores(c, ds.labels, ds.kinds, z["labels"], z["kinds"], seed=cfg.seed + SNAPSHOT_SEED)
            row[f"closed_form_ood_h{h:g}"] = sc.get("ood_detectable", {}).get("acc")
            row[f"closed_form_id_h{h:g}"] = sc.get("id", {}).get("acc")
        print(json.dumps(row), flush=True)
        rows.append(row)
    if a.out:
        Path(a.out).write_text("".join(json.dumps(r) + "\n" for r in rows))
    for k in rows[0]:
        if k.startswith(("closed", "model", "nearest")):
            v = [r[k] for r in rows if r.get(k) is not None]
            print(f"{k}: mean {np.mean(v):.3f} over {len(v)} runs")


if __name__ == "__main__":
    main()
