"""P1 Fig 4: smaller increments (more, denser data) learn the ordered manifold faster, and high R² goes with
high accuracy.

    factordiff reproduce p1-increment         # cpu scale: d ∈ {0.125, 0.25, 0.5} on the cpu preset

Measured cpu time: 16.5 min (2-core AMD EPYC, README).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import figures
from .base import Experiment, Verdict, by_run, decide, finite, first_reached, onset, pearson, spearman, spec

ANALYZE_FAST = {"grid": 0, "topology": "none"}
SPECS = spec({"grid": {"data.increment": [0.125, 0.25, 0.5]}, "analyze": ANALYZE_FAST},
             {"grid": {"data.increment": [round(0.1 * k, 1) for k in range(1, 11)]}, "analyze": ANALYZE_FAST})


def onset_verdicts(rows: list[dict], col: str, claim_sign: int, what: str, strong: float = 0.8) -> list[Verdict]:
    """Rank correlation between a grid value and the learning speed (steps to 50 % accuracy; the phase-C
    onset is listed too). Supported when |ρ| ≥ `strong` with the claimed sign (claim_sign 0: |ρ| < 0.5);
    inconclusive when ρ is undefined (fewer than 3 runs, or no run or every run reaching 50 %)."""
    runs = by_run(rows)
    xs = [rs[0][col] for rs in runs.values()]
    speed = [first_reached(rs) for rs in runs.values()]
    c_onset = [onset(rs) for rs in runs.values()]
    rho = spearman(xs, speed)
    short = col.split(".")[-1]
    show = lambda v: "never" if np.isinf(v) else str(int(v))  # noqa: E731
    table = "; ".join(f"{short} {x:g}: 50 % at {show(o)}, phase C from {show(c)}"
                      for x, o, c in sorted(zip(xs, speed, c_onset)))
    ok = (np.sign(rho) == claim_sign and abs(rho) >= strong) if claim_sign else abs(rho) < 0.5
    r = pearson([x.get("acc") for x in rows], [x.get("r2_umap") for x in rows])
    return [Verdict(what, f"Spearman ρ({short}, steps to 50 % accuracy)", rho, decide(bool(ok), finite(rho)),
                    table),
            Verdict("high R² goes with high accuracy (P1 Fig 4)", "Pearson r(acc, R²) over all snapshots", r,
                    decide(r > 0.5, finite(r)))]


def draw(rows: list[dict], measured: dict, out: Path, title: str) -> list[Path]:
    return [figures.save(figures.heatmaps(rows, "data.increment", title), out, "heatmaps")]


def judge(rows: list[dict], measured: dict) -> list[Verdict]:
    return onset_verdicts(rows, "data.increment", +1, "smaller increments learn faster (P1 Fig 4)")


EXPERIMENT = Experiment("p1-increment", "P1 Fig 4", "smaller increments (more, denser data) learn the ordered "
                        "manifold faster; high R² goes with high accuracy", SPECS, draw, judge, doc=__doc__)
