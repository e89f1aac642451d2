"""Beyond the papers, the bench's factorization arm: does an inductive bias make the network's own code of bumps
factorized? P1 asks for biases that push a model to "discover and exploit factorizable independent structures";
P2 reads a factorized code off layer 4 (x ⊥ y, P2 Fig 3). Part of that code is the label code the UNet is handed
(PE(x) ⊕ PE(y) added after every block); what the network made of the images is the image-driven part, layer 4
minus its response to a blank image with the same labels (docs/analysis.md). This experiment asks, of each
variant of the bias bench (`bias_bench.VARIANTS`) against P1's UNet on the same seed, whether that part is more
factorized:

    factordiff reproduce bias-bench-factors --dry-run    # 5 variants × 8 seeds = 40 runs, and their time here
    factordiff reproduce bias-bench-factors --confirm    # the frozen design (records/bias-bench-factors)

Every variant trains on P2's bumps at the cpu scale (N = 16, σ 1, d 1, the whole lattice; the bias bench's
pixels) for 3,000 steps; the final model is probed on a 16 × 16 grid of labels × 4 samples (their layer averaged).
Two statistics of the image-driven part on that grid, per seed:
- the interaction share (`analysis.geometry.interaction_share`): the share of its variance left in the x–y
  interaction of a two-way decomposition over the grid; 0 for an additive code f(x) + g(y), the factorized code;
- x-on-y: the mean |cos| between displacements along x and along y (0 when x ⊥ y, the Clifford torus; 0.43 on the
  3-D torus; P2 Fig 3's factorization).
A bias is supported on a statistic when the 95 % interval of the per-seed drop (baseline − variant, same seed, both
learned) lies at or above 0.1; not supported when it lies below 0.1; inconclusive where the baseline is already
within 0.1 of 0 (no drop that large is possible). One gate: the variant's trained image-driven part must also lie
0.1 below its own untrained network's (same seed), or the measurement cannot tell what training made from what the
architecture gives any input (random features in more dimensions have smaller |cos| by chance alone). Shown beside
each: its label-only response and the ground-truth images on the same grid (bumps are products of two profiles:
not additive in pixel space).

Measured cpu time: none yet (the design is frozen before any data; the `--dry-run` plan is in docs/extending.md).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .. import figures, plot
from .base import Experiment, Verdict, by_run, finite, last
from .bias_bench import BASELINE, VARIANT_KEYS, VARIANTS, costs, run_costs, size_words, speed_words, variant_of
from .claims import Claim, Test
from .design import CONFIRM_SEED_BASE, Design
from .p2_common import p2_spec
from .stats import MARGIN, gate, paired, require_seeds, runs_per_point, seed_of

STEPS = 3000  # the bench's bumps learn by 2,000 steps in most seeds at this scale; 3,000 so that most seeds count
SNAPSHOT_EVERY = 250  # the learned gate reads the last third (steps 2,000–3,000: 4 snapshots)
GRID, GRID_REPEATS = 16, 4  # p2-torus's probe at the cpu scale
# fresh: no other design trains these seeds (bias-bench 100–102, p2-torus-budget 120–125, p1-sigma-seeds 130–137,
# p2-composition-budget 140–145, p1-increment-budget 150–156)
FIRST_SEED = CONFIRM_SEED_BASE + 60
N_SEEDS = 8  # the interaction share's SD over p2-orthogonality's 7 seeds was 0.13: a paired difference (SD ≈ 0.18)
#              has a 95 % half-width ≈ 0.15 at 8 seeds, ≈ 0.45 at 3 (docs/extending.md)
CLOUD = "image_part"
# statistic name → (results-table column suffix, what it is)
STATS = {"interaction": ("interaction_share", "interaction share (0: an additive code f(x) + g(y))"),
         "x-on-y": ("x_on_y_orth_mean", "x-on-y |cos| (0: displacements along x ⊥ along y)")}
# the clouds shown beside each variant (results-table column prefix → what it is)
CONTROLS = {"untrained_image_part": "its untrained network's image-driven part",
            "label_only": "its label-only response", "ground_truth": "the ground-truth images"}

SPECS = p2_spec({"grid": {VARIANT_KEYS: [[a, c] for a, c, _ in VARIANTS.values()]},
                 "overrides": {"data.kind": "bump", "train.steps": STEPS, "train.snapshot_every": SNAPSHOT_EVERY},
                 "analyze": {"grid": GRID, "grid_repeats": GRID_REPEATS, "topology": "none", "methods": ["pca"]}},
                {"grid": {VARIANT_KEYS: [[a, c] for a, c, _ in VARIANTS.values()]},
                 "overrides": {"data.kind": "bump"},
                 "analyze": {"grid": 32, "grid_repeats": 2, "topology": "none", "methods": ["pca"]}})


def measure(rows: list[dict], log=print) -> dict:
    """{run: its variant, parameter count and median training step time} (the bias bench's `run_costs`): per run,
    so a campaign stores each run's part as it finishes."""
    return run_costs(rows)


def values(runs: dict, cloud: str, stat: str) -> dict:
    """{variant: {seed: the run's last grid probe's `stat` of `cloud`}} (finite values only)."""
    col = f"{cloud}_{STATS[stat][0]}"
    out: dict = {}
    for name, rs in runs.items():
        v = last(rs).get(col)
        out.setdefault(variant_of(rs), {})
        if finite(v):
            out[variant_of(rs)][seed_of(name, rs)] = float(v)
    return out


FACTORIZES = Claim("the bias makes the image-driven code more factorized than P1's UNet's",
                   "each seed's statistic of the image-driven part on the final grid probe: baseline − variant "
                   "(same seed)",
                   tests=(Test("baseline − variant (same seed)", MARGIN),),
                   gates=(Test("its untrained network − variant (same seed)", MARGIN),),
                   note=f"supported when the 95 % interval of the per-seed drop lies at or above {MARGIN:g} and the "
                        f"variant lies {MARGIN:g} below its untrained network; not supported when the drop lies "
                        f"below {MARGIN:g}; withheld where the baseline is within {MARGIN:g} of 0 (no drop that "
                        "large is possible)")


def _judge(rows: list[dict], measured: dict) -> list[Verdict]:
    """Per variant other than the baseline and per statistic: each seed's baseline − variant on the image-driven
    part of the final grid probe, decided on its 95 % interval against MARGIN and gated by the variant's margin
    below its own untrained network's, on the seeds where both runs learned (the learned gate; the others
    named)."""
    kept, left = gate(by_run(rows))
    out = []
    for stat, (_, what) in STATS.items():
        vals = values(kept, CLOUD, stat)
        base = vals.get(BASELINE, {})
        room = float(np.mean(list(base.values()))) if base else math.nan
        why = ([f"the baseline's {what.split(' (')[0]} is {room:.2f}, within {MARGIN:g} of 0: no room for a drop "
                f"of {MARGIN:g}"] if math.isfinite(room) and room < MARGIN else [])
        ctrl = {c: values(kept, c, stat) for c in CONTROLS}
        for variant, (_, _, bias) in VARIANTS.items():
            if variant == BASELINE:
                continue
            mine = vals.get(variant, {})
            untrained = ctrl["untrained_image_part"].get(variant, {})
            out.append(FACTORIZES.verdict(
                [paired(base, mine) or [math.nan]], [paired(untrained, mine) or None], why=why,
                left_out=[w for w in left if variant_of(by_run(rows)[w.split(" left out")[0]]) in (variant, BASELINE)],
                claim=f"{variant} ({bias}) makes the image-driven code more factorized than P1's UNet: a lower {what}",
                seeds={variant: mine, BASELINE: base},
                controls={variant: mine, BASELINE: base,
                          **{f"{CONTROLS[c]} ({variant})": ctrl[c].get(variant, {}) for c in CONTROLS}}))
    return out


def judge(rows: list[dict], measured: dict) -> list[Verdict]:
    """`_judge`, inconclusive while a variant has fewer than MIN_SEEDS seeds."""
    return require_seeds(_judge(rows, measured), runs_per_point(rows, variant_of))


def draw(rows: list[dict], measured: dict, out: Path, title: str) -> list[Path]:
    """One panel per statistic: each variant's per-seed values of the image-driven part (dots) and their mean (bar),
    its untrained network's (grey ticks) and label-only response's (black ticks), the baseline's mean (dashed) and
    the ground-truth images' (dotted)."""
    names = list(VARIANTS)
    runs = by_run(rows)
    params, speed = costs(measured).values()
    fig, ax = plot.new_figure(1, len(STATS), size=(5.2 * len(STATS), 4.2))
    for j, (stat, (_, what)) in enumerate(STATS.items()):
        a = ax[0, j]
        mine, untrained = values(runs, CLOUD, stat), values(runs, "untrained_image_part", stat)
        label, truth = values(runs, "label_only", stat), values(runs, "ground_truth", stat)
        for i, v in enumerate(names):
            vals = list(mine.get(v, {}).values())
            if vals:
                a.bar(i, np.mean(vals), color=plot.color(i), alpha=0.35)
                a.plot([i] * len(vals), vals, "o", color=plot.color(i), ms=4)
            for ctrl, colour in ((untrained, "grey"), (label, "black")):
                c = list(ctrl.get(v, {}).values())
                if c:
                    a.plot([i] * len(c), c, "_", color=colour, ms=14, mew=2)
        base = list(mine.get(BASELINE, {}).values())
        if base:
            a.axhline(np.mean(base), color=plot.color(0), ls="--", lw=1)
        gt = [x for d in truth.values() for x in d.values()]
        if gt:
            a.axhline(np.mean(gt), color="black", ls=":", lw=0.8)
        a.set_xticks(range(len(names)))
        a.set_xticklabels([f"{v}\n{size_words(params.get(v))}\n{speed_words(speed.get(v))}" for v in names],
                          fontsize=7)
        a.set_ylim(bottom=0)
        a.set_title(f"image-driven part: {what}", fontsize=8)
        a.set_ylabel(what.split(" (")[0])
    return [figures.save(fig, out, "factors", f"{title}: each bias against P1's UNet, the image-driven code's "
                                              "factorization")]


FIGURE_CAPTIONS = {
    "factors": (
        "One panel per statistic of the image-driven part of layer 4 (the layer minus its label-only response) on "
        "the final 16 × 16 grid probe; lower is more factorized. For each variant: its seeds (dots) and their mean "
        "(bar); grey ticks: its untrained network's image-driven part; black ticks: its label-only response; "
        "dashed: P1's UNet (the baseline); dotted: the ground-truth images on the same grid. Under each name: "
        "parameters and the median training step time its runs logged. A bias is supported on a statistic when "
        "its per-seed drop below the baseline clears 0.1 on the 95 % interval."),
}

DESIGN = Design(
    version=1, seeds=tuple(range(FIRST_SEED, FIRST_SEED + N_SEEDS)),
    statistic="each seed's interaction share and x-on-y |cos| of the image-driven part of layer 4 on the final "
              "16 × 16 × 4 grid probe, baseline − variant on the same seed (both learned)",
    effect="drop ≥ 0.1 on its 95 % interval, and the variant 0.1 below its untrained network's; withheld where "
           "the baseline is within 0.1 of 0",
    budget="3,000 steps per run, 5 variants × 8 seeds, P2's bumps at the cpu scale",
    why="frozen before any run of it (issue 48: the bench's factorization arm, which design v1 of the bench left "
        "out); the seed count from p2-orthogonality's confirmed spread of the interaction share (SD 0.13 over 7 "
        "seeds); frozen before bias-bench v1 had judged any variant, so every variant is in it")

EXPERIMENT = Experiment("bias-bench-factors", "beyond P1 §5, P2 Fig 3",
                        "which inductive bias (rendered labels, separate pathways, coordinate channels, a transformer) "
                        "makes the image-driven code of bumps more factorized than P1's UNet's",
                        SPECS, draw, judge, measure, doc=__doc__, captions=FIGURE_CAPTIONS, design=DESIGN,
                        measure_by_run=True)
