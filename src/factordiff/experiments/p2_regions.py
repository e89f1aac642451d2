"""P2 Fig 12: held-out W × W squares, inside the label square (interpolation) or at its corner (extrapolation),
for bumps and SOS: accuracy falls with W, and exterior squares are harder than interior ones.

    factordiff reproduce p2-regions           # cpu scale: W ∈ {2, 4}, interior and exterior, bumps and SOS

Measured cpu time: 32 min, 8 runs two at a time (2-core AMD EPYC, README).
"""

from __future__ import annotations

from pathlib import Path

from .. import figures, plot
from .base import INFERRED, Experiment, Verdict, decide, key, seed_mean
from .p2_common import p2_spec
from .stats import require_seeds, runs_per_point


def holdout_grid(n: int, widths, kinds) -> list[list]:
    """[kind, x-interval, y-interval] for a centred (interior) and a corner (exterior) W × W square."""
    c = n / 2
    return [[k, [c - w / 2, c + w / 2], [c - w / 2, c + w / 2]] for k in kinds for w in widths] + \
           [[k, [0.0, float(w)], [0.0, float(w)]] for k in kinds for w in widths]


SPECS = p2_spec({"grid": {"data.kind,data.holdout_x,data.holdout_y": holdout_grid(16, (2, 4), ("bump", "sos"))},
                 "overrides": {"data.holdout": "box", "data.holdout_x": [6.0, 10.0], "data.holdout_y": [6.0, 10.0]},
                 "analyze": False},
                {"grid": {"data.kind,data.holdout_x,data.holdout_y": holdout_grid(32, (2, 4, 8, 12), ("bump", "sos"))},
                 "overrides": {"data.holdout": "box", "data.increment": 0.5}, "analyze": False})


def _region(rs: list[dict]) -> tuple[str, str, float]:
    lo, hi = (float(v) for v in key(rs, "data.holdout_x"))
    return str(key(rs, "data.kind")), "exterior" if lo <= 0 else "interior", hi - lo


def _share(flags: list[bool], what: str, claim: str) -> Verdict:
    return Verdict(claim, f"pairs with {what}", f"{sum(flags)}/{len(flags)}",
                   decide(sum(flags) >= 0.75 * len(flags), bool(flags)))


def _judge(rows: list[dict], measured: dict) -> list[Verdict]:
    acc = seed_mean(rows, _region, "acc_ood")
    widths = sorted({w for _, _, w in acc})
    falls = [(k, p) for k in ("bump", "sos") for p in ("interior", "exterior")
             if all((k, p, w) in acc for w in widths) and len(widths) >= 2]
    fall_ok = [acc[(k, p, widths[-1])] <= acc[(k, p, widths[0])] for k, p in falls]
    ext = [acc[(k, "exterior", w)] <= acc[(k, "interior", w)] for k in ("bump", "sos") for w in widths
           if (k, "exterior", w) in acc and (k, "interior", w) in acc]
    sos = [acc[("sos", p, w)] >= acc[("bump", p, w)] for p in ("interior", "exterior") for w in widths
           if ("sos", p, w) in acc and ("bump", p, w) in acc]
    detail = "; ".join(f"{k} {p} W {w:g}: {a:.2f}" for (k, p, w), a in sorted(acc.items()))
    return [
        Verdict("OOD accuracy falls as the held-out square grows (P2 Fig 12)",
                "curves (kind × position) whose accuracy at the largest W ≤ at the smallest",
                f"{sum(fall_ok)}/{len(fall_ok)}", decide(all(fall_ok), bool(fall_ok)), detail),
        _share(ext, "exterior ≤ interior", f"exterior squares (at the edge: extrapolation) are harder than interior "
               f"ones ({INFERRED} §2.4)"),
        _share(sos, "SOS ≥ bump", f"SOS composes at least as well as bumps ({INFERRED} §2.4)"),
    ]


def judge(rows: list[dict], measured: dict) -> list[Verdict]:
    """`_judge`, inconclusive while a grid point has fewer than MIN_SEEDS seeds."""
    return require_seeds(_judge(rows, measured), runs_per_point(rows, _region))


def draw(rows: list[dict], measured: dict, out: Path, title: str) -> list[Path]:
    acc = seed_mean(rows, _region, "acc_ood")
    fig, ax = plot.new_figure(1, 2, size=(10, 3.6))
    for j, kind in enumerate(("bump", "sos")):
        for i, pos in enumerate(("interior", "exterior")):
            pts = sorted((w, a) for (k, p, w), a in acc.items() if k == kind and p == pos)
            ax[0, j].plot([w for w, _ in pts], [a for _, a in pts], "o-", color=plot.color(i), label=f"{pos} OOD")
        ax[0, j].set_title(f"{kind}: W × W held-out square", fontsize=8)
        ax[0, j].set_xlabel("W (label units)")
        ax[0, j].set_ylabel("final OOD accuracy")
        ax[0, j].set_ylim(0, 1.02)
        ax[0, j].legend(fontsize=7)
    return [figures.save(fig, out, "regions", title)]


FIGURE_CAPTIONS = {  # figure file stem ("stem_": a prefix) → its report caption
    "regions": (
        "Final OOD accuracy inside a held-out W × W square of labels against W, per position of the square "
        "(one panel per data kind), seeds averaged (P2 Fig 12): accuracy falls as W grows, faster for squares"
        " at the exterior than in the interior."),
}

EXPERIMENT = Experiment("p2-regions", "P2 Fig 12", "held-out W × W squares: accuracy falls with W; exterior squares "
                        "are harder than interior ones", SPECS, draw, judge, doc=__doc__,
                        captions=FIGURE_CAPTIONS)
