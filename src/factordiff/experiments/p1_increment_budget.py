"""P1 Fig 4 again, where p1-increment's confirmation could not decide: "smaller increments (more, denser data)
learn the ordered manifold faster". At the cpu budget (2,000 steps) its runs reached 50 % of the ground-truth
ceiling between 1,100 and 2,000 steps, and one seed never did at two increments, so the order of those points is
unknown and the rank claim is inconclusive for want of budget (docs/results/p1-increment.md). Here the same grid
trains up to twice as long, stopping once learned, on fresh seeds:

    factordiff reproduce p1-increment-budget --dry-run     # 4 increments × 7 seeds = 28 runs: the time here
    factordiff reproduce p1-increment-budget --confirm     # the frozen design (records/p1-increment-budget)

Reading: supported → denser data learns faster at N = 16 once every run has time to learn; not supported (the
seeds' ρ wholly short of 0.8) → at this scale the increment does not order the learning speed (the scale, P1's
N = 32 where d spans 95× the images against 15× here, is what is left); inconclusive with the seeds that would
decide it.

Only the learning speed is read (steps to 50 % of the ground-truth ceiling, from the trainer's own scored
snapshots), so the runs stop once learned (`train.stop_when=learned`: three snapshots in a row at 0.95 over the
detectable labels, after the onset) and no per-run analysis is made; p1-increment's second claim (R² goes with
accuracy) is judged by its own confirmation.

Measured cpu time: none yet (frozen before any run; `--dry-run` says its plan here).
"""

from __future__ import annotations

from pathlib import Path

from .. import figures, plot
from .base import Experiment, Verdict, spec
from .design import CONFIRM_SEED_BASE, Design
from .p1_increment import SPEED, onset_steps, onset_verdicts
from .p1_sigma_seeds import onset_panel

INCREMENTS = [0.25, 0.5, 0.75, 1.0]  # p1-increment's
STEPS = 4000  # 2× p1-increment's cap; its confirmation's onsets reached 2,000 and two seeds never got there
# fresh: p1-increment confirmed on 100–106; 120–125, 130–137, 140–145 are other designs'
FIRST_SEED = CONFIRM_SEED_BASE + 50

SPECS = spec({"grid": {"data.increment": INCREMENTS},
              "overrides": {"train.steps": STEPS, "train.stop_when": "learned"}, "analyze": False},
             {"grid": {"data.increment": [round(0.1 * k, 1) for k in range(1, 11)]},
              "overrides": {"train.stop_when": "learned"}, "analyze": False})


def judge(rows: list[dict], measured: dict) -> list[Verdict]:
    """p1-increment's learning-speed claim, unchanged: each seed's Spearman ρ(d, steps to 50 % of the ceiling),
    its 95 % interval against 0.8 with a within-seed permutation p; inconclusive while two or more increments have
    a seed that never got there (only the first of `onset_verdicts`: the R² claim needs an analysis not made)."""
    return onset_verdicts(rows, "data.increment", SPEED)[:1]


def draw(rows: list[dict], measured: dict, out: Path, title: str) -> list[Path]:
    """Each seed's steps to 50 % of the ceiling against the increment d (a line per seed, the mean in black, an
    arrow for a seed that never got there within the cap)."""
    fig, ax = plot.new_figure(1, 1, size=(4.6, 3.4))
    cap = max((int(r["step"]) for r in rows), default=STEPS)
    onset_panel(ax[0, 0], onset_steps(rows, "data.increment"), cap, "increment d (label units)", "onsets")
    return [figures.save(fig, out, "onsets", title)]


FIGURE_CAPTIONS = {  # figure file stem ("stem_": a prefix) → its report caption
    "onsets": (
        "Each seed's steps to 50 % of the ground-truth ceiling (P1's criterion, from the trainer's scored "
        "snapshots) against the increment d, one faint line per seed and the seeds' mean in black. P1 Fig 4: "
        "smaller d (denser data) learns faster, so the lines should rise to the right; the verdict is the interval "
        "of the seeds' own rank correlations against 0.8. An arrow: a seed that never got there within the cap."),
}


DESIGN = Design(  # the confirmatory design, frozen (docs/decisions.md) before any run of it
    version=1, seeds=tuple(range(FIRST_SEED, FIRST_SEED + 7)),
    statistic="each seed's Spearman ρ(d, steps to 50 % of the ceiling) over d 0.25 / 0.5 / 0.75 / 1",
    effect="ρ ≥ 0.8 on the 95 % interval of the seeds' ρ with a within-seed permutation p < 0.05 (p1-increment's "
           "rule); inconclusive while two or more increments have a seed that never got there",
    budget="up to 4,000 steps (2× p1-increment's), stopping once learned (3 snapshots in a row at 0.95 over the "
           "detectable labels); no per-run analysis",
    why="p1-increment's confirmation (v1, seeds 100–106, 2,000 steps): onsets 1,100–2,000 steps, and seed 104 never "
        "reached 50 % at d 0.25 and 0.75, so the rank claim was inconclusive for want of budget; 7 seeds as there")

EXPERIMENT = Experiment("p1-increment-budget", "P1 Fig 4 (disagreement)",
                        "with up to twice the training, smaller increments (more, denser data) learn the ordered "
                        "manifold faster", SPECS, draw, judge, doc=__doc__, captions=FIGURE_CAPTIONS, design=DESIGN)
