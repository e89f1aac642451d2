"""P2 Fig 10: 1D stripes generalize to unseen 2D SOS only when a few 2D examples along the rim are in the
training set.

    factordiff reproduce p2-rim               # cpu scale: stripes with a rim band of width 1 and without

Measured cpu time: 15.8 min (2-core AMD EPYC, README).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import figures, plot
from ..data import in_holdout
from ..io import load_npz
from ..rundir import RunDir
from .base import CURVES_CAPTION, Experiment, Verdict, by_run, draw_curves, finite, key, run_dir
from .p2_common import FAST, p2_spec
from .stats import (
    MARGIN,
    gap_call,
    interval,
    outcome_of,
    require_seeds,
    runs_per_point,
    seed_values,
    show_seeds,
    spread,
)

GAP = 0.2  # P2 Fig 10: with the rim the OOD accuracy is high, without it it is not; a gap this large at least

SPECS = p2_spec({"presets": ["p2-stripes"], "grid": {"data.rim_width": [1.0, 0.0]}, "analyze": FAST},
                {"presets": ["p2-stripes"], "grid": {"data.rim_width": [2.0, 0.0]}, "analyze": FAST})


def measure(rows: list[dict], log=print) -> dict:
    """Per run: up to 25 generated OOD (interior 2D SOS) samples of its last snapshot, with labels and the
    scorer's predictions."""
    out = {}
    for name in by_run(rows):
        run = RunDir(run_dir(rows, name))
        snaps = run.list_snapshots()
        if not snaps:
            out[name] = None
            continue
        z = load_npz(snaps[-1][1])
        imgs, labels, pred = z["images"], z["labels"], z["pred"]
        ood = np.flatnonzero(in_holdout(labels.astype(np.float64), run.load_config().data))[:25]
        out[name] = {"images": imgs[ood], "labels": labels[ood], "pred": pred[ood]}
    return out


def _judge(rows: list[dict], measured: dict) -> list[Verdict]:
    """Seeds' final OOD accuracy (mean over the last third of snapshots): supported when the runs with a rim
    beat those without by P2's gap (≥ 0.2) and by more than the two groups' seed spreads together, and beat
    the nearest-training-label memorizer on the same OOD labels by more than max(MARGIN, their spread); not
    supported when even the gap plus the spreads stays below 0.2 (no gap of P2's size); otherwise (a gap inside
    the seed spread, or a rim no better than the memorizer) inconclusive."""
    rim = lambda rs: float(key(rs, "data.rim_width")) > 0  # noqa: E731
    acc, near = seed_values(rows, rim, "acc_ood"), seed_values(rows, rim, "acc_nearest_ood")
    w, wo = acc.get(True, []), acc.get(False, [])
    mw, mwo, mn = interval(w)[0], interval(wo)[0], interval(near.get(True, []))[0]
    spreads = spread(w) + spread(wo)
    call = gap_call(mw - mwo, spreads, GAP)
    beat = max(MARGIN, spread(w))
    ok = finite(mw, mwo, mn)
    memo = ok and mw - mn > beat
    call = "undecided" if call == "hit" and not memo else call
    return [Verdict("1D stripes generalize to 2D SOS only with a few 2D examples on the rim (P2 Fig 10)",
                    "final OOD (interior 2D SOS) accuracy: with rim − without", mw - mwo, outcome_of(call, ok),
                    f"{call if ok else 'undecided'}: needs ≥ max({GAP}, the seed spreads together {spreads:.2f}) "
                    f"(not supported when the gap + the spreads < {GAP}), and with rim above the memorizer by > "
                    f"{beat:.2f}" + ("" if memo or not ok else " (it is not)")
                    + f"; with rim {show_seeds(w)}, without {show_seeds(wo)}",
                    {"with rim": mw, "without": mwo, "nearest-training-label memorizer (OOD)": mn})]


def judge(rows: list[dict], measured: dict) -> list[Verdict]:
    """`_judge`, inconclusive while a grid point has fewer than MIN_SEEDS seeds."""
    return require_seeds(_judge(rows, measured), runs_per_point(rows, lambda rs: key(rs, "data.rim_width")))


def draw(rows: list[dict], measured: dict, out: Path, title: str) -> list[Path]:
    runs = by_run(rows)
    paths = draw_curves(rows, measured, out, title)
    fig, ax = plot.new_figure(5, 5 * len(runs), size=(5 * len(runs) * 1.1, 5.8))
    for j, name in enumerate(runs):
        m = measured.get(name) or {"images": [], "labels": [], "pred": []}
        for i in range(25):
            a = ax[i // 5, 5 * j + i % 5]
            if i < len(m["images"]):
                plot.plot_image(a, np.asarray(m["images"][i]), m["labels"][i], np.asarray(m["pred"][i], float))
            else:
                a.axis("off")
        ax[0, 5 * j].set_title(name.replace("_seed=0", "") + ": OOD samples", fontsize=7, loc="left")
    paths.append(figures.save(fig, out, "samples", f"{title}: generated interior 2D SOS (OOD), dot = truth"))
    return paths


FIGURE_CAPTIONS = {  # figure file stem ("stem_": a prefix) → its report caption
    "curves": CURVES_CAPTION + (
        " ID: the 1-D stripes (and rim) trained on; OOD: the interior 2D sums of stripes never trained on."),
    "samples": (
        "Generated interior 2D sums of stripes (OOD) for each variant, with the red dot at the conditioning "
        "label: a correct sample is a cross whose two stripes meet at the dot."),
}

EXPERIMENT = Experiment("p2-rim", "P2 Fig 10", "1D stripes generalize to unseen 2D SOS only when a few 2D examples "
                        "along the rim are in the training set", SPECS, draw, judge, measure, doc=__doc__,
                        captions=FIGURE_CAPTIONS)
