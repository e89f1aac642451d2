"""P1 Fig 3: training passes through three phases: A (no structure), B (one bump at the wrong place, a
disordered manifold) and C (an ordered manifold, bumps at the right place).

    factordiff reproduce p1-phases            # cpu scale: the cpu preset to 4,000 steps, three seeds

At the cpu preset's 2,000 steps seed 0 (the demo) reaches C at 1,200 but seeds 1 and 2 only meet the accuracy
criterion at 1,900–2,000, so the experiment trains to 4,000: the phase sequence is P1's claim, not the step
it happens at. Measured cpu time: 10.9 min for the three seeds to 2,000 steps (2-core AMD EPYC family 26).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import figures
from ..analyze import phase_panels
from ..report import CAPTIONS
from ..rundir import RunDir
from .base import Experiment, Verdict, by_run, finite, onset, run_dir, spec
from .claims import Claim, Test
from .design import Design

# MIN_SEEDS: unused here, kept as a module constant the frozen design's hash covers
from .stats import MIN_SEEDS  # noqa: F401

LAYER = "layer4"
SPECS = spec({"overrides": {"train.steps": 4000}, "analyze": {"grid": 10, "topology": "last"}}, {})


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


IN_ORDER = Claim("three phases A → B → C in order in every seed (P1 Fig 3)", "runs with A → B → C in order",
                 tests=(Test("every seed passes A → B → C in order", 1.0, kind="every"),))
# a layer reads as quasi-2-D below this TwoNN dimension: nearer the 2 of its labels than the untrained network's
# noise (≈ 30–55 on a 350-point snapshot; analysis/probe.py)
QUASI_2D = 5.0
B_MANIFOLD = Claim("in phase B layer 4 is a disordered, quasi-2-D manifold (P1 Fig 3)",
                   "each seed's median TwoNN dimension of layer 4 over its phase-B snapshots (disordered by the phase "
                   "rule: the image-driven part's probe R² is below phase C's)",
                   tests=(Test(f"median dimension at phase B < {QUASI_2D:g} in every seed", 1.0, kind="every"),))


def _median(values) -> float:
    v = [x for x in values if finite(x)]
    return float(np.median(v)) if v else float("nan")


def quasi_2d(runs: dict) -> Verdict:
    """B's manifold: each seed's median TwoNN dimension of layer 4 over its phase-B snapshots below QUASI_2D, with
    the untrained network's (step 0) and phase C's dimensions beside it. A seed with no phase-B snapshot, or
    runs analysed before the dimension was recorded, cannot say: named in the verdict."""
    dims = {n: _median(r.get("id_layer") for r in rs if r.get("phase") == "B") for n, rs in runs.items()}
    have = {n: d for n, d in dims.items() if finite(d)}
    why = [f"{n}: no phase-B snapshot with the layer's dimension recorded" for n in runs if n not in have]
    controls = {"untrained (step 0)": _median(rs[0].get("id_layer") for rs in runs.values()
                                              if rs and rs[0].get("step") == 0),
                "phase C": _median(r.get("id_layer") for rs in runs.values() for r in rs if r.get("phase") == "C")}
    # the control a model that learned nothing about images gets: phase A after step 0 (layer 4 is then its label
    # code, itself a 2-D sheet of the labels); quasi-2-D there too means the test cannot tell B's manifold apart
    in_a = _median(r.get("id_layer") for rs in runs.values() for r in rs if r.get("phase") == "A" and r["step"] > 0)
    controls["phase A after step 0"] = in_a
    withhold = [f"layer 4 is as low-dimensional in phase A ({in_a:.1f}): its label code alone is quasi-2-D"] \
        if finite(in_a) and in_a < QUASI_2D else []
    return B_MANIFOLD.verdict([[d < QUASI_2D for d in have.values()]], value=_median(have.values()),
                              why=why if len(have) < len(runs) else [], withhold=withhold,
                              seeds={"median dimension at B": list(have.values())},
                              controls={k: v for k, v in controls.items() if finite(v)})


def judge(rows: list[dict], measured: dict) -> list[Verdict]:
    """Every seed passes A → B → C in order, by P1's criteria: accuracy at P1's tolerance, P1's contour counts,
    and order measured on the layer's image-driven part (the phase rule: its k-NN probe R²); and in phase B the
    layer is quasi-2-D (`quasi_2d`). Inconclusive with fewer than
    MIN_SEEDS runs or when a run never reaches C; the detail says which criterion that run missed: the accuracy
    (the budget is too short) or the ordered manifold while it generates correctly (the R² measurement)."""
    from ..analysis.phases import DEFAULT_RULE, acc_needed

    runs = by_run(rows)
    per, ok, reached, accurate = [], [], [], []
    for name, run in runs.items():
        a, b, c = onset(run, "A"), onset(run, "B"), onset(run, "C")
        seen = [p for p in "ABC" if any(r.get("phase") == p for r in run)]
        per.append(f"{name}: {''.join(seen)}, B from {b:g}, C from {c:g}")
        ok.append(seen == ["A", "B", "C"] and a <= b < c)
        reached.append("C" in seen)
        if "C" not in seen:
            good = [r["step"] for r in run if r.get("acc") is not None
                    and r["acc"] >= acc_needed(DEFAULT_RULE, r.get("acc_ceiling"))]
            accurate.append(f"{name} meets the accuracy criterion from step {good[0]:g} but never the ordered-"
                            "manifold one (the image-driven part's k-NN probe R² ≥ 0.8): its representation, not "
                            "the budget, keeps it from C" if good else
                            f"{name} never meets the accuracy criterion: the budget is too short")
    return [IN_ORDER.verdict([ok], value=f"{sum(ok)}/{len(ok)}", lead=per,
                             why=accurate if not all(reached) else []), quasi_2d(runs)]


FIGURE_CAPTIONS = {  # figure file stem ("stem_": a prefix) → its report caption
    "phases_": CAPTIONS["phases"],
    "curves_": CAPTIONS["curves"],
}

DESIGN = Design(  # the confirmatory design, frozen (docs/decisions.md): what `reproduce NAME --confirm` runs
    version=3, seeds=tuple(range(105, 110)),
    statistic="each seed's phase sequence (A → B → C in order, by P1's accuracy and contour criteria and the k-NN "
              "probe R² of the layer's image-driven part); each seed's median TwoNN dimension of layer 4 at phase B",
    effect='every seed passes A → B → C; every seed\'s B dimension < 5',
    budget='4,000 steps (the cpu spec)',
    why='exploratory record at 2,000 then 4,000 steps (seeds 0–2): two of three seeds reached C by 4,000. v1 (never '
        'run) decided C on the layer\'s UMAP R² above its label-only response\'s by 0.05: in three learned p1-holes '
        'runs that margin ended at −0.03 to −0.006 (unreachable; scripts/phase-statistic.py), so v2 reads the probe;'
        'v3 (v2 never run): B\'s dimension is withheld when phase A is as low-dimensional (the label code).')

EXPERIMENT = Experiment("p1-phases", "P1 Fig 3", "training passes through phases A (no structure), B (one bump, "
                        "wrong place; disordered manifold) and C (ordered manifold, correct bumps)", SPECS, draw,
                        judge, measure, doc=__doc__,
                        captions=FIGURE_CAPTIONS,
                        design=DESIGN, measure_by_run=True)
