"""P2 Fig 4: a 2D-SOS model trained without the central cross composes (in each arm the seen coordinate is
right) but does not interpolate (the unseen one is wrong); with 1D stripes it generalizes compositionally.

    factordiff reproduce p2-composition       # cpu scale: SOS, stripes, SOS + stripes, SOS + stripes at λ 0.25

Measured cpu time: 39.1 min, 12 runs two at a time (2-core Intel Xeon family 6 model 167, AMX-BF16; README).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from .. import figures, plot
from ..data import make_dataset
from ..rundir import RunDir
from .base import Experiment, Verdict, by_run, final, finite, key, run_dir
from .claims import Claim, Test
from .design import Design, confirm_seeds
from .p2_common import FAST, p2_spec

# MIN_SEEDS: unused here, kept as a module constant the frozen design's hash covers
from .stats import MARGIN, MIN_SEEDS, paired, per_seed  # noqa: F401

SECTIONS = ("vertical", "horizontal", "intersection")
SPECS = p2_spec({"grid": {"data.kind,data.fraction": [["sos", 1.0], ["stripes", 1.0], ["sos+stripes", 1.0],
                                                      ["sos+stripes", 0.25]]},
                 "overrides": {"data.holdout": "cross", "data.holdout_x": [6.5, 9.5], "data.holdout_y": [6.5, 9.5]},
                 "analyze": False},
                {"grid": {"data.kind,data.fraction": [["sos", 1.0], ["stripes", 1.0], *[
                    ["sos+stripes", f] for f in (0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0)]]},
                 "overrides": {"data.holdout": "cross"}, "analyze": FAST})


def _arm(rs: list[dict]) -> tuple[str, float]:
    return str(key(rs, "data.kind")), float(key(rs, "data.fraction") or 1.0)


def measure(rows: list[dict], log=print) -> dict:
    """{run: its training and held-out labels} for each SOS-only run (Fig 4f's label map; every seed's is the same
    lattice): keyed by run, so a campaign stores each run's part as it finishes."""
    runs = by_run(rows)
    out = {}
    for name in (n for n in runs if _arm(runs[n]) == ("sos", 1.0)):
        ds = make_dataset(RunDir(run_dir(rows, name)).load_config().data)
        out[name] = {"labels": ds.labels, "heldout": ds.heldout_labels, "image_size": ds.config.image_size}
    return out


def label_map(measured: dict) -> dict | None:
    """The SOS-only run's label map from `measure` (a record of before session 34 holds it at the top level)."""
    if "labels" in measured:
        return measured
    return next((m for _, m in sorted(measured.items()) if isinstance(m, dict) and "labels" in m), None)


def _worst(ref: str = "", sections=SECTIONS):
    """A run's worst final accuracy over x, y × the sections (the vertical and horizontal arms and their
    intersection; `ref` "nearest_": the memorizer's); sections not recorded are left out (nan: none)."""
    cols = [f"acc_{a}_{ref}{s}" for a in ("x", "y") for s in sections]

    def worst(rs):
        vals = [v for v in (final(rs, c) for c in cols) if finite(v)]
        return min(vals) if vals else float("nan")
    return worst


def _best(section: str):
    """A run's better final coordinate accuracy in one section (both wrong: this is low)."""
    return lambda rs: max(final(rs, f"acc_x_{section}"), final(rs, f"acc_y_{section}"))


SOS_ONLY = Claim("2D SOS without the cross: in each arm the seen coordinate is right and the unseen one wrong "
                 "(composes, does not interpolate; P2 Fig 4c–e)",
                 "each seed's vertical acc_y − acc_x; horizontal acc_x − acc_y (and at the intersection the better "
                 "coordinate's accuracy)",
                 tests=(Test("vertical arm acc_y − acc_x", 0.2), Test("horizontal arm acc_x − acc_y", 0.2),
                        Test("intersection: the better of acc_x, acc_y ≤ 0.5", -0.5, sign=-1)))
WITH_STRIPES = Claim("with 1D stripes both coordinates are right in both arms and where they meet (P2 Fig 4)",
                     "each seed's worst of acc_x, acc_y over the arms and their intersection",
                     tests=(Test("worst arm accuracy", 0.5), Test("worst arm − the memorizer's", MARGIN),
                            Test("worst arm − the 2D-SOS-only run's", 0.1)),
                     gates=(Test("worst arm − the closed-form memorizer's", MARGIN),))


def judge(rows: list[dict], measured: dict) -> list[Verdict]:
    """Every statistic per seed, decided on its 95 % interval over the seeds (`claims.Claim`). SOS only: in each
    arm the seen coordinate is right and the unseen one wrong: each seed's vertical acc_y − acc_x and horizontal
    acc_x − acc_y, both intervals at or above 0.2 (not supported when either interval lies below 0.2), and at the
    intersection the better coordinate at most 0.5; the nearest-training-label memorizer, which shows the same
    pattern by construction (what "does not interpolate" looks like), is listed beside it. With stripes: each
    seed's worst arm accuracy, its interval at or above 0.5, and its paired margins over the memorizer (≥ MARGIN)
    and over the SOS-only run of the same seed (≥ 0.1) each clearing its size, and the closed-form memorizer's
    margin as a gate. Inconclusive with fewer than MIN_SEEDS seeds or missing values."""
    arms = {_arm(rs) for rs in by_run(rows).values()}
    col = lambda c: per_seed(rows, _arm, c)  # noqa: E731
    sos = ("sos", 1.0)
    out = []
    if sos in arms:
        vx, vy, hx, hy = (col(f"acc_{a}_{s}").get(sos, {}) for s, a in (("vertical", "x"), ("vertical", "y"),
                                                                        ("horizontal", "x"), ("horizontal", "y")))
        both = per_seed(rows, _arm, _best("intersection")).get(sos, {})  # P2 Fig 4e: both wrong where they meet
        v = SOS_ONLY.verdict([paired(vy, vx), paired(hx, hy), both or None],
                             controls={"memorizer vertical x": col("acc_x_nearest_vertical").get(sos, {}),
                                       "memorizer vertical y": col("acc_y_nearest_vertical").get(sos, {})})
        calls = v.decision["calls"]
        out.append(replace(v, value=f"{calls[0]['mean']:.2f}; {calls[1]['mean']:.2f}"))
    worst, worst_mem = per_seed(rows, _arm, _worst()), per_seed(rows, _arm, _worst("nearest_"))
    worst_closed = per_seed(rows, _arm, _worst("closedform_"))
    base = worst.get(sos, {})
    for g in sorted(arms):
        if "stripes" not in g[0] or g[1] < 1.0:
            continue
        w, closed = worst.get(g, {}), worst_closed.get(g, {})
        out.append(WITH_STRIPES.verdict([w, paired(w, worst_mem.get(g, {})), paired(w, base) if base else None],
                                        [paired(w, closed) if closed else None],
                                        claim=f"{g[0]}: {WITH_STRIPES.claim}",
                                        controls={"2D SOS only": base, "memorizer": worst_mem.get(g, {})}))
    return out


def _group(name: str) -> str:
    """A run's grid point without its seed (the bars and points average seeds)."""
    return name.rsplit("_seed=", 1)[0]


def draw(rows: list[dict], measured: dict, out: Path, title: str) -> list[Path]:
    runs = by_run(rows)
    fig, ax = plot.new_figure(1, 3, size=(15, 4))
    groups: dict[str, list] = {}
    for name, rs in runs.items():
        groups.setdefault(_group(name), []).append(rs)
    names = list(groups)
    width = 0.8 / max(1, 2 * len(SECTIONS))
    for i, g in enumerate(names):
        for j, s in enumerate(SECTIONS):
            for k, a in enumerate(("x", "y")):
                vals = [v for v in (final(rs, f"acc_{a}_{s}") for rs in groups[g]) if np.isfinite(v)]
                x = i + (2 * j + k - len(SECTIONS) + 0.5) * width
                ax[0, 0].bar(x, float(np.mean(vals)) if vals else 0.0, width, color=plot.color(j),
                             alpha=1.0 if a == "x" else 0.5, label=f"{s} {a}" if i == 0 else None)
                ax[0, 0].scatter(np.full(len(vals), x), vals, s=5, color="k", zorder=3)  # one dot per seed
    ax[0, 0].set_xticks(range(len(names)), [g.replace("kind=", "").replace("_fraction=", "\nfraction ")
                                            for g in names], fontsize=7)
    ax[0, 0].set_ylabel("final accuracy (dark x, light y)")
    ax[0, 0].set_ylim(0, 1.05)
    ax[0, 0].legend(fontsize=6, ncol=3, loc="lower left")
    lm = label_map(measured)
    if lm:
        plot.plot_label_map(ax[0, 1], np.asarray(lm["labels"]).reshape(-1, 2),
                            np.asarray(lm["heldout"]).reshape(-1, 2), lm["image_size"])
        ax[0, 1].set_title("training labels and the held-out cross (Fig 4f)", fontsize=8)
    else:
        ax[0, 1].text(0.5, 0.5, "no SOS-only run: no label map", ha="center", transform=ax[0, 1].transAxes)
    sub: dict[float, list] = {}
    for rs in runs.values():
        if "stripes" in _arm(rs)[0] and "sos" in _arm(rs)[0]:
            sub.setdefault(float(key(rs, "n_train_2d")), []).append(final(rs, "acc_ood"))
    sub = {x: [v for v in vals if np.isfinite(v)] for x, vals in sub.items()}
    sub = {x: vals for x, vals in sub.items() if vals and x > 0}
    if sub:
        xs = sorted(sub)
        ax[0, 2].errorbar(xs, [float(np.mean(sub[x])) for x in xs],
                          yerr=[float(np.std(sub[x])) for x in xs], fmt="o-", capsize=3, label="seed mean ± std")
        for x in xs:
            ax[0, 2].scatter(np.full(len(sub[x]), x), sub[x], s=8, color="k", zorder=3)
        ax[0, 2].set_xscale("log")
        ax[0, 2].legend(fontsize=7)
        if len(xs) == 1:  # a design without the subsampled arm (p2-composition-budget): one point, said so
            ax[0, 2].text(0.5, 0.1, "one subsampling level in this design", ha="center", fontsize=7,
                          transform=ax[0, 2].transAxes)
    ax[0, 2].set_ylim(0, 1.05)  # an accuracy: a lone point near 1 must not zoom to its third decimal
    ax[0, 2].set_xlabel("2D training images (subsampled)")
    ax[0, 2].set_ylabel("final OOD accuracy")
    ax[0, 2].set_title("accuracy vs subsampling, SOS + stripes (Fig 4g)", fontsize=8)
    return [figures.save(fig, out, "composition", title)]


FIGURE_CAPTIONS = {  # figure file stem ("stem_": a prefix) → its report caption
    "composition": (
        "Left: final accuracy of x (dark) and y (light) per training set and section of the label grid "
        "(bars: seed means, dots: seeds). Middle: the training labels and the held-out cross (P2 Fig "
        "4f). Right: final OOD accuracy against the number of 2-D training images kept, seed mean ± std (P2 Fig 4g): "
        "composition that needs few 2-D examples is data-efficient."),
}

DESIGN = Design(  # the confirmatory design, frozen (docs/decisions.md): what `reproduce NAME --confirm` runs
    version=1, seeds=confirm_seeds(6),
    statistic="each seed's arm gaps (SOS only) and worst arm accuracy with stripes, paired margins over the memorizer"
              ' and the SOS-only run',
    effect='gaps ≥ 0.2; worst arm ≥ 0.5, margins ≥ MARGIN and ≥ 0.1, each on its 95 % interval',
    budget='2,000 steps (the cpu spec)',
    why='exploratory record (seeds 0–2): both supported'
        '; the exploratory arm gaps need ≈ 4 (vertical) and ≈ 6 (horizontal) seeds to decide.')

EXPERIMENT = Experiment("p2-composition", "P2 Fig 4", "a 2D-SOS model without the cross composes but does not "
                        "interpolate; 1D stripes make it generalize compositionally", SPECS, draw, judge, measure,
                        doc=__doc__,
                        captions=FIGURE_CAPTIONS,
                        design=DESIGN, measure_by_run=True)
