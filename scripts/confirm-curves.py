"""A confirmatory record's per-seed training curves (one panel per grid point, one line style per column, one
shade per seed): the figure of a docs/results/NAME.md page whose claim is about the course of training, drawn
from records/NAME alone.

    python scripts/confirm-curves.py records/p1-imbalance data.increment_y docs/img/confirm-p1-imbalance.png \
        acc_x_detectable="x accuracy" acc_y_detectable="y accuracy"

A GROUP no run has (e.g. `none`) draws every seed in one panel.
"""

import gzip
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from factordiff.experiments.base import by_run  # noqa: E402

STYLES = ("-", "--", ":", "-.")


def main() -> None:
    folder, group, out, *pairs = sys.argv[1:]
    cols = [p.split("=", 1) for p in pairs]
    with gzip.open(f"{folder}/table.jsonl.gz", "rt") as f:
        runs = by_run([json.loads(line) for line in f if line.strip()])
    points = sorted({json.dumps(rs[0].get(group)) for rs in runs.values()})
    fig, axes = plt.subplots(1, len(points), figsize=(5.2 * len(points), 3.6), sharey=True, squeeze=False)
    for ax, point in zip(axes[0], points):
        named = sorted((n, rs) for n, rs in runs.items() if json.dumps(rs[0].get(group)) == point)
        for i, (name, rs) in enumerate(named):
            colour = plt.cm.viridis(i / max(1, len(named) - 1))
            for (col, label), style in zip(cols, STYLES):
                pts = [(r["step"], r[col]) for r in rs if r.get(col) is not None]
                ax.plot(*zip(*pts), style, color=colour, lw=1.2,
                        label=f"{label}, seed {rs[0].get('seed', name.rsplit('=', 1)[-1])}")
        ax.set_title(f"{group} = {json.loads(point)}" if len(points) > 1 or json.loads(point) is not None
                     else folder.rstrip("/").rsplit("/", 1)[-1] + f": {len(named)} seeds", fontsize=9)
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel(cols[0][1] if len(cols) == 1 else "value (line style: legend)")
    axes[0, -1].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
