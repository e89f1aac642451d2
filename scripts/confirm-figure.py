"""A confirmatory record's per-seed final accuracies as dots (one panel per grid point): the figure of a
docs/results/NAME.md page, drawn from records/NAME alone.

    python scripts/confirm-figure.py records/p1-holes data.holdout_x docs/img/confirm-p1-holes.png \
        acc_id=ID acc_ood=OOD acc_nearest_ood="nearest memorizer" acc_closedform_ood="closed-form memorizer" \
        acc_ceiling_ood="ground truth"
"""

import gzip
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from factordiff.experiments.base import by_run, final  # noqa: E402


def main() -> None:
    folder, group, out, *pairs = sys.argv[1:]
    cols = [p.split("=", 1) for p in pairs]
    with gzip.open(f"{folder}/table.jsonl.gz", "rt") as f:
        runs = by_run([json.loads(line) for line in f])
    keys = group.split(",")  # one column, or several joined by commas (data.kind,data.fraction)
    at = lambda r: json.dumps([r[0].get(k) for k in keys] if len(keys) > 1 else r[0].get(group))  # noqa: E731
    points = sorted({at(rs) for rs in runs.values()})
    fig, axes = plt.subplots(1, len(points), figsize=(4.6 * len(points), 3.4), sharey=True, squeeze=False)
    for ax, point in zip(axes[0], points):
        rs = [r for r in runs.values() if at(r) == point]
        for i, (col, _label) in enumerate(cols):
            v = [final(r, col) for r in rs]
            ax.scatter(np.full(len(v), i) + np.linspace(-0.12, 0.12, len(v)), v, s=18)
            ax.hlines(np.nanmean(v), i - 0.25, i + 0.25, color="k", lw=1)
        ax.set_xticks(range(len(cols)))
        ax.set_xticklabels([label.replace(" ", "\n") for _c, label in cols], fontsize=8)
        value = json.loads(point)
        where = (", ".join(f"{k.split('.')[-1]} = {v}" for k, v in zip(keys, value)) if len(keys) > 1
                 else f"{group} = {value}")
        ax.set_title(f"{where}: {len(rs)} seeds (dots), mean (bar)", fontsize=9)
        ax.set_ylim(0, 1.05)
        ax.grid(axis="y", alpha=0.3)
    axes[0, 0].set_ylabel("final accuracy (P1's 1 px tolerance)")
    fig.suptitle(f"{folder}: each seed's final accuracy (mean of the last third of its snapshots)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main()
