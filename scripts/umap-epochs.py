"""How much UMAP's training epochs move the manifold R² the verdicts read, against UMAP's own seed spread
(issue 45): for each snapshot of the given runs and each cloud (layer 4, its image-driven part, its label-only
response), the mean R² over UMAP seeds 0-2 and their SD at 500 epochs (umap-learn's default below 10,000
points), 200 and 100.

    python scripts/umap-epochs.py RUN [RUN ...] [--steps 0 500 1000 1500 2000 3000]
"""

import argparse
import time

import numpy as np

from factordiff.analysis.controls import image_part
from factordiff.analysis.embed import manifold_r2_seeds
from factordiff.rundir import RunDir


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--steps", type=int, nargs="+", default=[0, 500, 1000, 1500, 2000, 3000])
    ap.add_argument("--epochs", type=int, nargs="+", default=[500, 200, 100])
    args = ap.parse_args()
    for path in args.runs:
        run = RunDir(path)
        snaps = dict(run.list_snapshots())
        for step in (s for s in args.steps if s in snaps):
            z = run.load_snapshot(snaps[step])
            X, L = z["act_layer4"].astype(np.float64), z["lab_layer4"].astype(np.float64)
            labels = z["labels"].astype(np.float64)
            for cloud, C in (("layer", X), ("image part", image_part(X, L)), ("label-only", L)):
                cells = []
                for ep in args.epochs:
                    t0 = time.perf_counter()
                    r = manifold_r2_seeds(C, labels, seeds=(0, 1, 2), shuffle_seed=None, n_epochs=ep)
                    cells.append(f"{ep}: {r['r2']:.3f} ± {r['r2_std']:.3f} ({time.perf_counter() - t0:.1f} s)")
                print(f"{run.path.name} step {step} {cloud}: " + "; ".join(cells), flush=True)


if __name__ == "__main__":
    main()
