"""P2 Fig 4: a 2D-SOS model trained without the central cross composes (in each arm the seen coordinate is
right) but does not interpolate (the unseen one is wrong); with 1D stripes it generalizes compositionally.

    factordiff reproduce p2-composition       # cpu scale: SOS, stripes, SOS + stripes, SOS + stripes at λ 0.25

Measured cpu time: 18.2 min, 4 runs two at a time (2-core AMD EPYC, README).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .. import figures, plot
from ..data import make_dataset
from ..rundir import RunDir
from .base import Experiment, Verdict, by_run, decide, final, finite, key, run_dir
from .p2_common import FAST, p2_spec

SECTIONS = ("vertical", "horizontal", "intersection")
SPECS = p2_spec({"grid": {"data.kind,data.fraction": [["sos", 1.0], ["stripes", 1.0], ["sos+stripes", 1.0],
                                                      ["sos+stripes", 0.25]]},
                 "overrides": {"data.holdout": "cross", "data.holdout_x": [6.5, 9.5], "data.holdout_y": [6.5, 9.5]},
                 "analyze": FAST},
                {"grid": {"data.kind,data.fraction": [["sos", 1.0], ["stripes", 1.0], *[
                    ["sos+stripes", f] for f in (0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0)]]},
                 "overrides": {"data.holdout": "cross"}, "analyze": FAST})


def _arm(rs: list[dict]) -> tuple[str, float]:
    return str(key(rs, "data.kind")), float(key(rs, "data.fraction") or 1.0)


def _worst(rs: list[dict]) -> float:
    return min(final(rs, f"acc_{a}_{s}") for a in ("x", "y") for s in ("vertical", "horizontal"))


def measure(rows: list[dict], log=print) -> dict:
    """The training and held-out labels of the SOS-only run (Fig 4f's label map)."""
    runs = by_run(rows)
    sos = next((n for n in runs if _arm(runs[n]) == ("sos", 1.0)), next(iter(runs)))
    ds = make_dataset(RunDir(run_dir(rows, sos)).load_config().data)
    return {"labels": ds.labels, "heldout": ds.heldout_labels, "image_size": ds.config.image_size}


def judge(rows: list[dict], measured: dict) -> list[Verdict]:
    runs = by_run(rows)
    out = []
    sos = [rs for rs in runs.values() if _arm(rs) == ("sos", 1.0)]
    for rs in sos:
        vx, vy = final(rs, "acc_x_vertical"), final(rs, "acc_y_vertical")
        hx, hy = final(rs, "acc_x_horizontal"), final(rs, "acc_y_horizontal")
        out.append(Verdict("2D SOS without the cross: in each arm the seen coordinate is right and the unseen one "
                           "wrong (composes, does not interpolate; P2 Fig 4c–e)",
                           "vertical acc_y − acc_x; horizontal acc_x − acc_y", f"{vy - vx:.2f}; {hx - hy:.2f}",
                           decide(vy - vx >= 0.2 and hx - hy >= 0.2, finite(vx, vy, hx, hy)),
                           f"vertical x {vx:.2f} y {vy:.2f}; horizontal x {hx:.2f} y {hy:.2f}; needs ≥ 0.2 each"))
    base = float(np.mean([_worst(rs) for rs in sos])) if sos else float("nan")
    for rs in runs.values():
        kind, frac = _arm(rs)
        if "stripes" not in kind or frac < 1.0:
            continue
        worst = _worst(rs)
        ok = worst >= 0.5 and (not math.isfinite(base) or worst > base + 0.1)
        out.append(Verdict(f"{kind}: with 1D stripes both coordinates are right in both arms (P2 Fig 4)",
                           "worst of acc_x, acc_y over the two arms", worst, decide(ok, finite(worst)),
                           "needs ≥ 0.5 and 0.1 above the 2D-SOS-only run", {"2D SOS only": base}))
    return out


def draw(rows: list[dict], measured: dict, out: Path, title: str) -> list[Path]:
    runs = by_run(rows)
    fig, ax = plot.new_figure(1, 3, size=(15, 4))
    names = list(runs)
    width = 0.8 / max(1, 2 * len(SECTIONS))
    for i, name in enumerate(names):
        for j, s in enumerate(SECTIONS):
            for k, a in enumerate(("x", "y")):
                ax[0, 0].bar(i + (2 * j + k - len(SECTIONS)) * width, final(runs[name], f"acc_{a}_{s}"), width,
                             color=plot.color(j), alpha=1.0 if a == "x" else 0.5, label=f"{s} {a}" if i == 0 else None)
    ax[0, 0].set_xticks(range(len(names)), [n.replace("_seed=0", "").replace("_", "\n") for n in names], fontsize=6)
    ax[0, 0].set_ylabel("final accuracy (dark x, light y)")
    ax[0, 0].legend(fontsize=6, ncol=3)
    plot.plot_label_map(ax[0, 1], np.asarray(measured["labels"]).reshape(-1, 2),
                        np.asarray(measured["heldout"]).reshape(-1, 2), measured["image_size"])
    ax[0, 1].set_title("training labels and the held-out cross (Fig 4f)", fontsize=8)
    sub = sorted((float(key(rs, "n_train_2d")), final(rs, "acc_ood")) for rs in runs.values()
                 if "stripes" in _arm(rs)[0] and "sos" in _arm(rs)[0])
    if sub:
        ax[0, 2].plot([s for s, _ in sub], [a for _, a in sub], "o-")
        ax[0, 2].set_xscale("log")
    ax[0, 2].set_xlabel("2D training images (subsampled)")
    ax[0, 2].set_ylabel("final OOD accuracy")
    ax[0, 2].set_title("accuracy vs subsampling, SOS + stripes (Fig 4g)", fontsize=8)
    return [figures.save(fig, out, "composition", title)]


EXPERIMENT = Experiment("p2-composition", "P2 Fig 4", "a 2D-SOS model without the cross composes but does not "
                        "interpolate; 1D stripes make it generalize compositionally", SPECS, draw, judge, measure,
                        doc=__doc__)
