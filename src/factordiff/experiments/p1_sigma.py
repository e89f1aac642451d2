"""P1 Fig 8: no strong correlation between the bump width σ and how fast the manifold emerges.

    factordiff reproduce p1-sigma             # cpu scale: σ ∈ {0.5, 0.625, 0.75, 1} px × 3 seeds, d = 1, 4,000 steps

Measured cpu time: 34.0 min for the 12 runs, two at a time, a low-priority test run beside it for 25 (2-core
AMD EPYC family 26, 2026-12-01). At 2,000 steps 3 of 4 σ have a seed that never reaches 50 % of the ceiling
(inconclusive); with `train.steps=4000` every run does, in ≈ 119 min alone (2-core AMD EPYC Zen 3, 2026-12-04;
README: ρ −1.00, onsets 2,133 → 1,533 steps from σ 0.5 to 1).
"""

from __future__ import annotations

from pathlib import Path

from .. import figures
from .base import Experiment, Verdict, spec
from .design import Design, confirm_seeds
from .p1_increment import ANALYZE_FAST, onset_claim, onset_steps, onset_verdicts

# 4,000 steps: at 2,000, 3 of 4 σ had a seed that never reached 50 % (exploratory record); frozen for confirmation
SPECS = spec({"grid": {"data.sigma": [0.5, 0.625, 0.75, 1.0]}, "overrides": {"train.steps": 4000},
              "analyze": ANALYZE_FAST},
             {"grid": {"data.sigma": [round(0.1 * k, 1) for k in range(1, 11)], "data.increment": [0.1, 0.5, 1.0]},
              "analyze": ANALYZE_FAST})


def draw(rows: list[dict], measured: dict, out: Path, title: str) -> list[Path]:
    fig = figures.heatmaps(rows, "data.sigma", title, onset_steps(rows, "data.sigma"))
    return [figures.save(fig, out, "heatmaps")]


NO_STRONG_EFFECT = onset_claim("σ does not strongly change the onset (P1 Fig 8)", "data.sigma", 0)


def judge(rows: list[dict], measured: dict) -> list[Verdict]:
    return onset_verdicts(rows, "data.sigma", NO_STRONG_EFFECT)


FIGURE_CAPTIONS = {  # figure file stem ("stem_": a prefix) → its report caption
    "heatmaps": (
        "Seeds averaged. Left: accuracy by P1's criterion as a fraction of the ground-truth ceiling for each σ "
        "(rows) at each training step (columns), with a white tick at each seed's step to 50 % of the ceiling "
        "(an arrow: never within the budget); middle: the averaged UMAP R² of x and y from layer 4 as P1 records "
        "it (high from the start: the label code); right: the same for its image-driven part. A row that turns "
        "bright earlier learned faster; the verdict's statistic is the rank correlation of σ with each seed's "
        "own ticks, one ρ per seed."),
}

DESIGN = Design(  # the confirmatory design, frozen (docs/decisions.md): what `reproduce NAME --confirm` runs
    version=1, seeds=confirm_seeds(3),
    statistic="each seed's Spearman ρ(σ, steps to 50 % of the ceiling)",
    effect="no strong effect: |ρ| < 0.8 by TOST on the 90 % interval of the seeds' ρ",
    budget='4,000 steps (raised from 2,000 after the exploratory record left 3 of 4 σ censored)',
    why='exploratory record at 4,000 steps: ρ −1.00 on seed means')

EXPERIMENT = Experiment("p1-sigma", "P1 Fig 8", "no strong correlation between σ and how fast the manifold emerges",
                        SPECS, draw, judge, doc=__doc__,
                        captions=FIGURE_CAPTIONS,
                        design=DESIGN)
