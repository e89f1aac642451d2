"""P1 Fig 8 again, where p1-sigma disagrees with P1: P1 sees "no strong correlation between σ and how fast the
manifold emerges"; p1-sigma's exploratory record at the cpu scale saw wider bumps learned earlier at every order
statistic (ρ −1.00 on seed means; per seed −1.00, −0.32, −1.00: 3 seeds cannot tell a strong effect from the seed's).
Is that a finding at this scale, or the seeds? Twice as many fresh seeds, at two increments (the cpu default d = 1
and the denser d = 0.5, as P1 Fig 8 spans increments), each decided on its own against the declared equivalence
bound |ρ| < 0.8 (p1-sigma's):

    factordiff reproduce p1-sigma-seeds --dry-run     # 4 σ × 2 increments × 8 seeds = 64 runs: the time here
    factordiff reproduce p1-sigma-seeds --confirm     # the frozen design on its fresh seeds (records/p1-sigma-seeds)

Reading, per increment: supported → P1's "no strong effect" holds at this scale and p1-sigma's record was the seeds;
not supported (the interval of the seeds' ρ wholly beyond −0.8) → wider bumps are learned faster here, a finding at
N = 16 (what is left is the scale: P1's N = 32, σ 0.1–1 on a canvas twice as wide, `--scale paper`); inconclusive
with the numbers and the seeds that would decide it.

Only the learning speed is read (steps to 50 % of the ground-truth ceiling, from the trainer's own scored snapshots),
so the runs stop once learned (`train.stop_when=learned`: three snapshots in a row at 0.95 over the detectable
labels, after the onset) and no per-run analysis is made.

Measured cpu time: none yet (frozen before any run; the `--dry-run` plan is in docs/results/p1-sigma.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import figures, plot
from .base import Experiment, Verdict, spec
from .design import CONFIRM_SEED_BASE, Design
from .p1_increment import onset_claim, onset_steps, onset_verdicts

SIGMAS = [0.5, 0.625, 0.75, 1.0]  # p1-sigma's
INCREMENTS = [1.0, 0.5]  # the cpu default and a lattice twice as dense per axis (4× the images)
STEPS = 4000  # p1-sigma's cap: every exploratory run reached 50 % of the ceiling by 2,400
# fresh: p1-sigma's confirmation runs the same network and data on 100–102
FIRST_SEED = CONFIRM_SEED_BASE + 30

SPECS = spec({"grid": {"data.sigma": SIGMAS, "data.increment": INCREMENTS},
              "overrides": {"train.steps": STEPS, "train.stop_when": "learned"}, "analyze": False},
             {"grid": {"data.sigma": [round(0.1 * k, 1) for k in range(1, 11)], "data.increment": [0.1, 0.5, 1.0]},
              "overrides": {"train.stop_when": "learned"}, "analyze": False})


NO_STRONG_EFFECT_D1 = onset_claim("at increment 1, σ does not strongly change the onset (P1 Fig 8)", "data.sigma", 0)
NO_STRONG_EFFECT_D05 = onset_claim("at increment 0.5, σ does not strongly change the onset (P1 Fig 8)", "data.sigma",
                                   0)
CLAIMS = {1.0: NO_STRONG_EFFECT_D1, 0.5: NO_STRONG_EFFECT_D05}  # increment → its claim


def judge(rows: list[dict], measured: dict) -> list[Verdict]:
    """p1-sigma's rank claim (each seed's Spearman ρ(σ, steps to 50 % of the ceiling); TOST against |ρ| < 0.8),
    decided apart at each increment: one verdict per increment (the learning-speed verdict of `onset_verdicts`;
    its R²-coupling verdict needs the per-run analysis this design does not make)."""
    out = []
    for inc in INCREMENTS:
        mine = [r for r in rows if float(r.get("data.increment", 1.0)) == inc]
        v = onset_verdicts(mine, "data.sigma", CLAIMS[inc])[0]
        out.append(v)
    return out


def onset_panel(a, per: dict, cap: int, xlabel: str, title: str) -> None:
    """One panel: each seed's steps to 50 % of the ceiling (`onset_steps`' {grid value: [per seed]}) against the
    grid value, a faint line per seed and the seeds' mean in black; a seed that never got there drawn at the cap
    with an arrow."""
    xs = sorted(per)
    k = max((len(v) for v in per.values()), default=0)
    for s in range(k):
        ys = [per[x][s] if s < len(per[x]) else np.nan for x in xs]
        a.plot(xs, [min(y, cap) for y in ys], ".-", color="C0", alpha=0.35, lw=1)
        for x, y in zip(xs, ys):
            if np.isinf(y):
                a.annotate("", (x, cap * 1.05), (x, cap), arrowprops={"arrowstyle": "->", "color": "C3"})
    means = [np.mean(per[x]) if all(np.isfinite(per[x])) else np.nan for x in xs]
    a.plot(xs, means, "o-", color="k", lw=2, label="seeds' mean")
    a.set_xlabel(xlabel)
    a.set_ylabel("steps to 50 % of the ceiling")
    a.set_title(f"{title} ({k} seeds)", fontsize=9)
    a.legend(fontsize=7)


def draw(rows: list[dict], measured: dict, out: Path, title: str) -> list[Path]:
    """Each seed's steps to 50 % of the ceiling against σ, one panel per increment in the table (p1-sigma's
    record has one): a line per seed, the seeds' mean in black; a seed that never got there is drawn at the cap
    with an arrow."""
    present = sorted({float(r.get("data.increment", 1.0)) for r in rows}, reverse=True) or INCREMENTS
    fig, ax = plot.new_figure(1, len(present), size=(4.2 * len(present), 3.4))
    cap = max((int(r["step"]) for r in rows), default=STEPS)
    for j, inc in enumerate(present):
        per = onset_steps([r for r in rows if float(r.get("data.increment", 1.0)) == inc], "data.sigma")
        onset_panel(ax[0, j], per, cap, "σ (px)", f"increment {inc:g}")
    return [figures.save(fig, out, "onsets", title)]


FIGURE_CAPTIONS = {  # figure file stem ("stem_": a prefix) → its report caption
    "onsets": (
        "Each seed's steps to 50 % of the ground-truth ceiling (P1's criterion, from the trainer's scored "
        "snapshots) against the bump width σ, one faint line per seed and the seeds' mean in black; left the cpu "
        "increment 1, right the denser 0.5. P1 Fig 8 sees no strong trend; the verdict is the interval of the "
        "seeds' own rank correlations against |ρ| < 0.8. An arrow: a seed that never got there within the cap."),
}

DESIGN = Design(  # the confirmatory design, frozen (docs/decisions.md) before any run of it
    version=1, seeds=tuple(range(FIRST_SEED, FIRST_SEED + 8)),
    statistic="at each increment (1 and 0.5), each seed's Spearman ρ(σ, steps to 50 % of the ceiling) over σ "
              "0.5 / 0.625 / 0.75 / 1",
    effect="no strong effect: |ρ| < 0.8 by TOST on the 90 % interval of the seeds' ρ (p1-sigma's bound); not "
           "supported when the interval lies wholly beyond it",
    budget="up to 4,000 steps (p1-sigma's), stopping once learned (3 snapshots in a row at 0.95 over the detectable "
           "labels); no per-run analysis",
    why="p1-sigma's exploratory record (seeds 0–2, increment 1): ρ −1.00 on seed means, per seed −1.00 / −0.32 / "
        "−1.00, against P1's 'no strong correlation'. This design asks whether that is the seeds or a finding at "
        "N = 16, at two increments (issue 47's disagreements)")

EXPERIMENT = Experiment("p1-sigma-seeds", "P1 Fig 8 (disagreement)",
                        "with twice the seeds, at two increments, σ does not strongly change how fast the manifold "
                        "emerges", SPECS, draw, judge, doc=__doc__, captions=FIGURE_CAPTIONS, design=DESIGN)
