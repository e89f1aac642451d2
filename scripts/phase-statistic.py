"""Exploratory (issue 43 item 6): which structure statistic decides phase C steadily, and does phase B read as a
quasi-2-D manifold? For every snapshot of the given runs: P1's UMAP R² (3 UMAP seeds) of the layer, its label-only
response and its image-driven part; a 5-fold cross-validated k-NN probe R² of (µx, µy) from each cloud
(deterministic, no embedding); and the TwoNN intrinsic dimension (scikit-dimension) of the image-driven part.

    python scripts/phase-statistic.py experiments/p1-holes-confirm-v1/runs/*6-10*seed=10[0-2] --out phase-stat.jsonl
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import skdim
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.neighbors import KNeighborsRegressor

from factordiff.analysis.controls import image_part
from factordiff.analysis.embed import manifold_r2_seeds


def knn_r2(X, labels, k=10, folds=5):
    pred = cross_val_predict(KNeighborsRegressor(k), X, labels, cv=KFold(folds, shuffle=True, random_state=0))
    return [float(1 - ((labels[:, c] - pred[:, c]) ** 2).mean() / labels[:, c].var()) for c in (0, 1)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--every", type=int, default=1)
    a = ap.parse_args()
    with open(a.out, "w") as f:
        for run in a.runs:
            for snap in sorted(Path(run, "snapshots").glob("step_*.npz"))[::a.every]:
                z = np.load(snap)
                X = z["act_layer4"].astype(np.float64)
                L = z["lab_layer4"].astype(np.float64)
                lab = z["labels"].astype(np.float64)
                img = image_part(X, L)
                row = {"run": Path(run).name, "step": int(snap.stem[5:])}
                for name, cloud in (("layer", X), ("label", L), ("image", img)):
                    r = manifold_r2_seeds(cloud, lab, seeds=(0, 1, 2), shuffle_seed=None)
                    row[f"umap_{name}"] = r["r2"]
                    row[f"knn_{name}"] = float(np.mean(knn_r2(cloud, lab)))
                row["twonn_image"] = float(skdim.id.TwoNN().fit(img).dimension_)
                row["twonn_layer"] = float(skdim.id.TwoNN().fit(X).dimension_)
                f.write(json.dumps(row) + "\n")
                f.flush()
                print(row, file=sys.stderr)


if __name__ == "__main__":
    main()
