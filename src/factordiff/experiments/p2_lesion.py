"""P2 Fig 11: interpolation is limited: accuracy inside a vertical lesion (a held-out band of x) decays with
its width.

    factordiff reproduce p2-lesion            # cpu scale: widths 0.5, 1.75, 4 at x = 8, d = 0.25

Measured cpu time: 24.0 min (2-core AMD EPYC, README).
"""

from __future__ import annotations

import math
from pathlib import Path

from .. import figures, plot
from ..analyze import umap_2d
from ..rundir import RunDir
from .base import Experiment, Verdict, by_run, decide, key, run_dir, seed_mean, spearman
from .p2_common import FAST, p2_spec

SPECS = p2_spec({"grid": {"data.holdout_x": [[7.75, 8.25], [7.125, 8.875], [6.0, 10.0]]},
                 "overrides": {"data.holdout": "band_x", "data.holdout_x": [6.0, 10.0], "data.increment": 0.25},
                 "analyze": FAST},
                {"grid": {"data.holdout_x": [[15.5, 16.5], [14.25, 17.75], [12.0, 20.0]]},
                 "overrides": {"data.holdout": "band_x", "data.increment": 0.1}, "analyze": FAST})


def _width(rs: list[dict]) -> float:
    lo, hi = key(rs, "data.holdout_x")
    return float(hi) - float(lo)


def _first_per_width(rows: list[dict]) -> dict[float, str]:
    first: dict[float, str] = {}
    for name, rs in by_run(rows).items():
        first.setdefault(_width(rs), name)
    return first


def measure(rows: list[dict], log=print) -> dict:
    """A 2-D UMAP of the last snapshot of the first seed's run at each width."""
    return {name: umap_2d(RunDir(run_dir(rows, name))) for name in _first_per_width(rows).values()}


def judge(rows: list[dict], measured: dict) -> list[Verdict]:
    ood = seed_mean(rows, _width, "acc_ood")
    pts = sorted(ood.items())
    rho = spearman([w for w, _ in pts], [a for _, a in pts])
    return [Verdict("interpolation is limited: OOD accuracy decays as the lesion widens (P2 Fig 11)",
                    "Spearman ρ(lesion width, final OOD accuracy)", rho, decide(rho <= -0.8, math.isfinite(rho)),
                    "; ".join(f"width {w:g}: {a:.2f}" for w, a in pts))]


def draw(rows: list[dict], measured: dict, out: Path, title: str) -> list[Path]:
    ood, idd = seed_mean(rows, _width, "acc_ood"), seed_mean(rows, _width, "acc_id")  # seeds averaged
    first = _first_per_width(rows)
    widths = sorted(first)
    fig, ax = plot.new_figure(1, 1 + len(widths), size=(4 + 3.2 * len(widths), 3.4))
    ax[0, 0].plot(widths, [ood[w] for w in widths], "o-", label="OOD (in the lesion)")
    ax[0, 0].plot(widths, [idd[w] for w in widths], "s--", label="ID")
    ax[0, 0].set_xlabel("lesion width (label units)")
    ax[0, 0].set_ylabel("final accuracy")
    ax[0, 0].set_ylim(0, 1.02)
    ax[0, 0].legend(fontsize=7)
    for j, w in enumerate(widths):
        figures.scatter2d(ax[0, j + 1], measured.get(first[w]), f"width {w:g}: 2-D UMAP, coloured by x")
    return [figures.save(fig, out, "lesion", title)]


EXPERIMENT = Experiment("p2-lesion", "P2 Fig 11", "interpolation is limited: accuracy inside a vertical lesion decays "
                        "with its width", SPECS, draw, judge, measure, doc=__doc__)
