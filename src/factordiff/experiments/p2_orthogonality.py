"""P2 Fig 3: the torus representation is factorized (x ⊥ y like a Clifford torus, not a 3-D torus) and
hyper-factorized (different values of one feature more orthogonal than on the Clifford torus).

    factordiff reproduce p2-torus && factordiff reproduce p2-orthogonality   # reuses p2-torus's run

Measured cpu time: 0.3 min once p2-torus has run (2-core AMD EPYC, README).
"""

from __future__ import annotations

from pathlib import Path

from .. import figures
from ..analyze import probe_geometry
from ..rundir import RunDir
from .base import INFERRED, Experiment, Verdict, by_run, decide, finite, last, run_dir
from .p2_torus import SPECS


def measure(rows: list[dict], log=print) -> dict:
    """Per run: the displacement statistics' samples of its last grid probe and of the reference tori."""
    out = {}
    for name in by_run(rows):
        probes = RunDir(run_dir(rows, name)).list_probes()
        out[name] = probe_geometry(probes[-1][1]) if probes else None
    return out


def draw(rows: list[dict], measured: dict, out: Path, title: str) -> list[Path]:
    return [figures.save(figures.geometry(stats), out, f"orthogonality_{name}", f"{title}: x-on-y, x-on-x, y-on-y "
                         f"statistics, model vs 3-D and Clifford tori ({INFERRED} §2.4)")
            for name, stats in measured.items() if stats]


def judge(rows: list[dict], measured: dict) -> list[Verdict]:
    out = []
    for name, rs in by_run(rows).items():
        r = last(rs)
        m, c, t = (r.get(f"{k}_x_on_y_orth_mean") for k in ("model", "clifford", "torus3d"))
        ok = finite(m, c, t) and abs(m - c) < abs(m - t)
        out.append(Verdict(f"{name}: x and y are factorized: x-on-y orthogonality like the Clifford torus, not the "
                           "3-D torus (P2 Fig 3)", "mean |cos(Δx, Δy)|: model", m, decide(ok, finite(m, c, t)),
                           "supported when nearer the Clifford value", {"Clifford": c, "3-D torus": t}))
        mx, my = r.get("model_x_on_x_orth_mean"), r.get("model_y_on_y_orth_mean")
        cx, cy = r.get("clifford_x_on_x_orth_mean"), r.get("clifford_y_on_y_orth_mean")
        have = finite(mx, my, cx, cy)
        out.append(Verdict(f"{name}: hyper-factorized: different values of one feature are more orthogonal than on "
                           "the Clifford torus (P2 abstract)", "mean |cos| x-on-x, y-on-y: model",
                           f"{mx:.2f}, {my:.2f}" if have else None, decide(have and mx < cx and my < cy, have),
                           "", {"Clifford x-on-x": cx, "Clifford y-on-y": cy}))
    return out


EXPERIMENT = Experiment("p2-orthogonality", "P2 Fig 3", "the torus representation is factorized (x ⊥ y like a "
                        "Clifford torus) and hyper-factorized (values of one feature more orthogonal than on the "
                        "Clifford torus)", SPECS, draw, judge, measure, sweep_of="p2-torus", doc=__doc__)
