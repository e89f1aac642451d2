"""P1 Fig 5: imbalanced increments give coupled, not factorized, learning: y-accuracy ≥ x-accuracy although x
has the finer data, and R²_x, R²_y co-move.

    factordiff reproduce p1-imbalance         # cpu scale: (dx, dy) = (0.05, 0.5), (0.05, 0.25), 3,000 steps

Measured cpu time: 17.2 min (2-core AMD EPYC, README).
"""

from __future__ import annotations

from .base import Experiment, Verdict, by_run, decide, draw_curves, final, finite, pearson, spec
from .p1_increment import ANALYZE_FAST

SPECS = spec({"grid": {"data.increment_x,data.increment_y": [[0.05, 0.5], [0.05, 0.25]]},
              "overrides": {"train.steps": 3000}, "analyze": ANALYZE_FAST},
             {"grid": {"data.increment_x,data.increment_y": [[0.1, 1.0], [0.1, 0.5]]}, "analyze": ANALYZE_FAST})


def judge(rows: list[dict], measured: dict) -> list[Verdict]:
    out = []
    for name, rs in by_run(rows).items():
        ax, ay = final(rs, "acc_x"), final(rs, "acc_y")
        out.append(Verdict(f"{name}: y-accuracy ≥ x-accuracy although x has the finer data (P1 Fig 5)",
                           "final acc_y − acc_x", ay - ax, decide(ay >= ax, finite(ax, ay)),
                           f"acc_x {ax:.2f}, acc_y {ay:.2f}"))
        r = pearson([x.get("r2_x_umap") for x in rs], [x.get("r2_y_umap") for x in rs])
        out.append(Verdict(f"{name}: R²_x and R²_y co-move, so the code is coupled (P1 Fig 5)",
                           "Pearson r(R²_x, R²_y) over steps", r, decide(r > 0.5, finite(r))))
    return out


EXPERIMENT = Experiment("p1-imbalance", "P1 Fig 5", "imbalanced increments give coupled, not factorized, learning: "
                        "y-accuracy ≥ x-accuracy and R²_x, R²_y co-move", SPECS, draw_curves, judge, doc=__doc__)
