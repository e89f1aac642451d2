"""P2 Fig 3: the torus representation is factorized (x ⊥ y like a Clifford torus, not a 3-D torus) and
hyper-factorized (different values of one feature more orthogonal than on the Clifford torus).

    factordiff reproduce p2-orthogonality    # trains P2's network (3 seeds), or reads them from p2-torus's sweep

Its runs are P2's network from `p2-torus` (no ablations): when `factordiff reproduce p2-torus` has run beside it
(the same parent folder, same config) they are read from there and nothing is trained. Alone it trains the 3
runs with p2-torus's grid probe (no persistent homology). Measured cpu time: 21.5 min training its own 3 runs
(2-core AMD EPYC family 25 model 1, AVX2 only, alone, 2026-12-04), 0.3 min reading p2-torus's runs (README).
"""

from __future__ import annotations

from pathlib import Path

from .. import figures
from ..analyze import probe_geometry
from ..report import CAPTIONS
from ..rundir import RunDir
from .base import INFERRED, Experiment, Verdict, by_run, finite, last, run_dir
from .p2_torus import ABLATIONS, BASE, base_rows
from .p2_torus import SPECS as TORUS_SPECS
from .stats import MIN_SEEDS, gap_call, interval, not_learned, outcome_of, spread, too_few_seeds

# P2's network only (p2-torus's ablations are other networks; the judge reads only these): its three seeds, with
# p2-torus's grid probe. When `p2-torus` has run beside it (OUT/../p2-torus-SCALE) these runs are read there.
_GRID = next(iter(ABLATIONS))
SPECS = {scale: {**s, "grid": {_GRID: [list(BASE)]}, "analyze": {**s["analyze"], "topology": "none"}}
         for scale, s in TORUS_SPECS.items()}


def measure(rows: list[dict], log=print) -> dict:
    """Per run of P2's network: the displacement statistics' samples of its last grid probe (the layer, its
    image-driven part, the ground-truth images at the probe's labels) and of the reference tori."""
    rows, out = base_rows(rows), {}
    for name in by_run(rows):
        run = RunDir(run_dir(rows, name))
        probes = run.list_probes()
        out[name] = probe_geometry(probes[-1][1], data=run.load_config().data) if probes else None
    return out


# the point clouds of the summary figure: results-table column prefix → label
MEANS = {"model": "layer 4", "label_only": "label-only", "image_part": "image-driven part",
         "untrained_image_part": "untrained: image part", "ground_truth": "ground-truth images",
         "torus3d": "3-D torus", "clifford": "Clifford torus"}


def draw(rows: list[dict], measured: dict, out: Path, title: str) -> list[Path]:
    runs = by_run(base_rows(rows))
    means = {label: {a: [last(rs).get(f"{p}_{a}_orth_mean") for rs in runs.values()]
                     for a in ("x_on_y", "x_on_x", "y_on_y")} for p, label in MEANS.items()}
    paths = [figures.save(figures.orthogonality_means(means), out, "orthogonality",
                          f"{title}: orthogonality per point cloud, seeds as dots")] if runs else []
    return paths + [figures.save(figures.geometry(stats), out, f"orthogonality_{name}",
                                 f"{title}: x-on-y, x-on-x, y-on-y statistics, model vs 3-D and Clifford tori "
                                 f"({INFERRED} §2.4)")
                    for name, stats in measured.items() if stats]


CLOUD = "image_part"  # the layer minus its label-only response on the same grid (PAPERS §7 #26)


def _mean(runs: dict, col: str) -> float:
    return interval([last(rs).get(col) for rs in runs.values() if finite(last(rs).get(col))])[0]


def judge(rows: list[dict], measured: dict) -> list[Verdict]:
    """Decided on the image-driven part of the grid probe (the label code alone is additive in x and y, so it is
    factorized by construction: a model that is its label code must not pass), seeds averaged. Factorized:
    x-on-y |cos| nearer the Clifford torus than the 3-D torus. Hyper-factorized: x-on-x and y-on-y |cos|
    below the Clifford torus's (each margin beyond the seed spread; inside it: inconclusive), and below the
    untrained network's image-driven part by more than the seed
    spread (a network trained for 20 steps passed the layer-level version). Inconclusive without the controls
    or with fewer than MIN_SEEDS seeds. Only P2's network counts (p2-torus's ablations are other networks)."""
    runs = by_run(base_rows(rows))
    k = len(runs)
    m, c, t = (_mean(runs, f"{p}_x_on_y_orth_mean") for p in (CLOUD, "clifford", "torus3d"))
    layer, lab = _mean(runs, "model_x_on_y_orth_mean"), _mean(runs, "label_only_x_on_y_orth_mean")
    why = [] if k >= MIN_SEEDS else [too_few_seeds(k)]
    why += [] if finite(m) else ["the image-driven part is zero (the layer is its label code) or was not measured"]
    why += not_learned(runs)
    # the control: an untrained network's image-driven part. Random features of bump images may already have
    # x ⊥ y; if so, "like the Clifford torus" is not something training made, and the reading decides nothing
    u = _mean(runs, f"untrained_{CLOUD}_x_on_y_orth_mean")
    void = ["the untrained network's image-driven part was not measured"] if not finite(u) else \
        [f"the untrained network's image-driven part is as factorized ({u:.2f}, nearer the Clifford value)"] \
        if finite(c, t) and abs(u - c) < abs(u - t) else []
    # per seed: how much nearer the Clifford value than the 3-D torus's (> 0: nearer Clifford), called against
    # the seeds' spread: a mean inside it is undecided, not a refutation
    nearer = [abs(v - t) - abs(v - c) for v in (last(rs).get(f"{CLOUD}_x_on_y_orth_mean") for rs in runs.values())
              if finite(v, c, t)]
    call = gap_call(interval(nearer)[0], spread(nearer), 0.0) if nearer else "undecided"
    out = [Verdict("x and y are factorized: x-on-y orthogonality like the Clifford torus, not the 3-D torus "
                   "(P2 Fig 3)", "mean |cos(Δx, Δy)| of the image-driven part", m,
                   outcome_of(call, finite(m, c, t) and k >= MIN_SEEDS and not not_learned(runs) and not void),
                   "; ".join([f"supported when nearer the Clifford value than the 3-D torus's by more than the seed "
                              f"spread (per seed {', '.join(f'{d:+.2f}' for d in nearer) or '–'}: {call}), and the "
                              "untrained network's image-driven part is not", *why, *void]),
                   {"Clifford": c, "3-D torus": t, "layer": layer, "label-only": lab, "untrained image part": u})]
    per = {a: [last(rs).get(f"{CLOUD}_{a}_on_{a}_orth_mean") for rs in runs.values()] for a in "xy"}
    mx, my = (interval([v for v in per[a] if finite(v)])[0] for a in "xy")
    cx, cy = _mean(runs, "clifford_x_on_x_orth_mean"), _mean(runs, "clifford_y_on_y_orth_mean")
    ux, uy = (_mean(runs, f"untrained_{CLOUD}_{a}_on_{a}_orth_mean") for a in "xy")
    gap = max(spread(per["x"]), spread(per["y"]))
    have = finite(mx, my, cx, cy, ux, uy)
    beats_untrained = have and mx < ux - gap and my < uy - gap
    why2 = why + ([] if not have or beats_untrained else ["no more orthogonal than the untrained network"])
    calls = [gap_call(cx - mx, spread(per["x"]), 0.0), gap_call(cy - my, spread(per["y"]), 0.0)] if have else []
    hyper = "miss" if "miss" in calls else "hit" if calls == ["hit", "hit"] else "undecided"
    why2 += [f"below the Clifford values beyond the seed spread: x {calls[0]}, y {calls[1]}"] if calls else []
    out.append(Verdict("hyper-factorized: different values of one feature are more orthogonal than on the Clifford "
                       "torus (P2 abstract)", "mean |cos| x-on-x, y-on-y of the image-driven part",
                       f"{mx:.2f}, {my:.2f}" if have else None,
                       outcome_of(hyper, have and k >= MIN_SEEDS and beats_untrained and not not_learned(runs)),
                       "; ".join(why2),
                       {"Clifford x-on-x": cx, "Clifford y-on-y": cy, "untrained x-on-x": ux, "untrained y-on-y": uy}))
    return out


FIGURE_CAPTIONS = {  # figure file stem ("stem_": a prefix) → its report caption
    "orthogonality": (
        "The verdicts' numbers: per point cloud, the mean |cos| of x-on-y (left), x-on-x and y-on-y (right) "
        "displacements at the last snapshot, one dot per seed. The verdicts read the image-driven part (the layer "
        "minus its label-only response): factorized if it sits nearer the Clifford torus (0) than the 3-D torus "
        "on x-on-y; hyper-factorized if it sits below the Clifford torus on x-on-x and y-on-y and below the "
        "untrained network's image part. The ground-truth images at the same labels show what the pixels "
        "themselves give."),
    "orthogonality_": CAPTIONS["geometry"],
}

EXPERIMENT = Experiment("p2-orthogonality", "P2 Fig 3", "the torus representation is factorized (x ⊥ y like a "
                        "Clifford torus) and hyper-factorized (values of one feature more orthogonal than on the "
                        "Clifford torus)", SPECS, draw, judge, measure, sweep_of="p2-torus", doc=__doc__,
                        captions=FIGURE_CAPTIONS)
