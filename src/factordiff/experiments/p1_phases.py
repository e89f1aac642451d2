"""P1 Fig 3: training passes through three phases: A (no structure), B (one bump at the wrong place, a
disordered manifold) and C (an ordered manifold, bumps at the right place).

    factordiff reproduce p1-phases            # cpu scale: one run of the cpu preset, every snapshot analysed

Measured cpu time: 5.8 min, the demo's run (2-core AMD EPYC, README).
"""

from __future__ import annotations

from pathlib import Path

from .. import figures
from ..analyze import phase_panels
from ..rundir import RunDir
from .base import Experiment, Verdict, by_run, decide, onset, run_dir, spec

LAYER = "layer4"
SPECS = spec({"analyze": {"grid": 10, "topology": "last"}}, {"seeds": [0]})


def measure(rows: list[dict], log=print) -> dict:
    """The analysis rows of the run and, per phase reached, its samples and a 3-D UMAP of layer 4."""
    out = {}
    for name in by_run(rows):
        run = RunDir(run_dir(rows, name))
        analysis = run.read_analysis(layer=LAYER)
        out[name] = {"analysis": analysis, "panels": phase_panels(run, analysis, LAYER) if analysis else []}
    return out


def draw(rows: list[dict], measured: dict, out: Path, title: str) -> list[Path]:
    paths = []
    for name, m in measured.items():
        if m["panels"]:
            paths.append(figures.save(figures.phases(m["panels"], LAYER), out, f"phases_{name}", title,
                                      tight=False))
            paths.append(figures.save(figures.run_curves(m["analysis"]), out, f"curves_{name}", title))
    return paths


def judge(rows: list[dict], measured: dict) -> list[Verdict]:
    out = []
    for name, run in by_run(rows).items():
        a, b, c = onset(run, "A"), onset(run, "B"), onset(run, "C")
        seen = [p for p in "ABC" if any(r.get("phase") == p for r in run)]
        out.append(Verdict(
            f"{name}: three phases A → B → C in order (P1 Fig 3)", "phases seen; onsets of B, C",
            f"{''.join(seen)}; B {b:g}, C {c:g}", decide(seen == ["A", "B", "C"] and a <= b < c, "C" in seen),
            f"A from {a:g}, B from {b:g}, C from {c:g}" + ("" if "C" in seen else
                                                           "; phase C never reached: the budget is too short")))
    return out


EXPERIMENT = Experiment("p1-phases", "P1 Fig 3", "training passes through phases A (no structure), B (one bump, "
                        "wrong place; disordered manifold) and C (ordered manifold, correct bumps)", SPECS, draw,
                        judge, measure, doc=__doc__)
