"""The statistics a verdict rests on: values per seed, intervals, the seed-to-seed spread, permutation tests for
rank claims, and the thresholds every judge applies (three seeds, four grid points, a 0.1 margin over a
baseline)."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable

import numpy as np

from .base import INCONCLUSIVE, Verdict, by_run, final, spearman

MIN_SEEDS = 3  # a verdict needs at least this many seeds per grid point (DESIGN.md: seeds and intervals)
MIN_RANK_POINTS = 4  # a rank claim needs at least this many grid points (3 points: ρ ∈ {±0.5, ±1} only)
MARGIN = 0.1  # an accuracy must beat its baseline (the nearest-training-label memorizer) by this much
LEARNED = 0.5  # a claim about a trained model's representation needs its final accuracy (P1's tolerance) this high
# … or, where the rows carry the ground-truth ceiling, this share of it: 0.7 × the open cpu canvas's 0.68–0.73
# ceiling is the same 0.5, and periodic data (whose edge-split bumps P1's detector counts twice: ceiling
# 0.50–0.58) are not held to 90 % of what ground truth scores
LEARNED_OF_CEILING = 0.7


def not_learned(runs: dict[str, list[dict]]) -> list[str]:
    """[reason] when the runs' mean final accuracy (last third of training) is below LEARNED_OF_CEILING × the
    ground-truth ceiling (or LEARNED where no ceiling was recorded): the budget was too short for a claim about
    what a trained model represents; else []."""
    acc = [final(rs, "acc") for rs in runs.values()]
    ceil = [final(rs, "acc_ceiling") for rs in runs.values()]
    pairs = [(a, c) for a, c in zip(acc, ceil) if math.isfinite(a)]
    if not pairs:
        return [f"no accuracy recorded: cannot tell whether the model learned (needs ≥ {LEARNED})"]
    m = float(np.mean([a for a, _ in pairs]))
    if all(math.isfinite(c) and c > 0 for _, c in pairs):
        share = float(np.mean([a / c for a, c in pairs]))
        return [] if share >= LEARNED_OF_CEILING else [
            f"accuracy {m:.2f} (last third of training) = {share:.2f} × the ground-truth ceiling < "
            f"{LEARNED_OF_CEILING}: not learned within the budget"]
    return [] if m >= LEARNED else [f"accuracy {m:.2f} (last third of training) < {LEARNED}: not learned "
                                    "within the budget"]


def seed_values(rows: list[dict], group: Callable[[list[dict]], Hashable], col: str) -> dict[Hashable, list]:
    """{group(run): [`final(col)` of each run (seed) in that group]}, missing values left out."""
    per: dict = {}
    for rs in by_run(rows).values():
        v = final(rs, col)
        per.setdefault(group(rs), [])
        if math.isfinite(v):
            per[group(rs)].append(v)
    return per


def n_seeds(per: dict[Hashable, list]) -> int:
    """The fewest seeds any group has (0 for no group)."""
    return min((len(v) for v in per.values()), default=0)


def interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, lo, hi): a Student-t interval for the mean of the per-seed values (nan bounds with < 2 values)."""
    from scipy import stats

    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], float)
    if len(v) == 0:
        return float("nan"), float("nan"), float("nan")
    m = float(v.mean())
    if len(v) < 2:
        return m, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
    return m, m - half, m + half


def spread(values) -> float:
    """The seed-to-seed spread: the sample std of the per-seed values (0 with one value)."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], float)
    return float(v.std(ddof=1)) if len(v) > 1 else 0.0


def show_seeds(values) -> str:
    m, lo, hi = interval(values)
    seeds = ", ".join(f"{x:.2f}" for x in values)
    return f"{m:.2f} [{lo:.2f}, {hi:.2f}] (seeds {seeds})" if math.isfinite(lo) else f"{m:.2f} (seeds {seeds})"


def permutation_rho(xs, ys, *, sign: int = 0, n: int = 20000, seed: int = 0) -> tuple[float, float]:
    """(Spearman ρ, permutation p-value) of ys against xs; one-sided in the direction `sign` (±1), two-sided
    with sign 0. "never" (inf) in ys ranks after every finite value. Exact over all orderings up to 7 points."""
    import itertools

    rho = spearman(xs, ys)
    if not math.isfinite(rho):
        return rho, float("nan")
    ys = list(ys)
    if len(ys) <= 7:
        perms = [list(p) for p in itertools.permutations(ys)]
    else:
        rng = np.random.default_rng(seed)
        perms = [list(rng.permutation(ys)) for _ in range(n)]
    null = np.array([spearman(xs, p) for p in perms])
    null = null[np.isfinite(null)]
    if sign:
        p = float(np.mean(sign * null >= sign * rho - 1e-12))
    else:
        p = float(np.mean(np.abs(null) >= abs(rho) - 1e-12))
    return rho, p


def gap_call(gap: float, spreads: float, need: float) -> str:
    """'hit' when a gap clears both the claim's size `need` and the seed spreads (gap ≥ max(need, spreads)),
    'miss' when even its upper end falls short (gap + spreads < need), else 'undecided': a gap inside the seed
    spread says neither, and a judge makes it inconclusive, not 'not supported' (nan: 'undecided')."""
    if not (math.isfinite(gap) and math.isfinite(spreads)):
        return "undecided"
    return "hit" if gap >= max(need, spreads) else "miss" if gap + spreads < need else "undecided"


def seed_of(name: str, run_rows: list[dict]):
    """A run's seed: its `seed` column, else the run name's `seed=K` (None without either)."""
    import re

    seed = run_rows[0].get("seed") if run_rows else None
    if seed is None:
        m = re.search(r"seed=(\d+)", name)
        seed = int(m.group(1)) if m else None
    return seed


def per_seed_rho(rows: list[dict], x_of: Callable[[list[dict]], float], value_of: Callable[[list[dict]], float]
                 ) -> list[float]:
    """Spearman ρ of each seed's own points: runs grouped by their `seed` column, x_of(run rows) the grid value,
    value_of(run rows) what is ranked ("never", inf, ranks last); without the column, the run name's `seed=K`.
    nan for a seed whose ρ is undefined."""
    per: dict = {}
    for name, rs in by_run(rows).items():
        per.setdefault(seed_of(name, rs), {})[x_of(rs)] = value_of(rs)
    return [spearman(sorted(pts), [pts[x] for x in sorted(pts)]) for pts in per.values()]


def rank_call(rho: float, p: float, seed_rhos, sign: int, strong: float = 0.8, alpha: float = 0.05) -> str:
    """The three-way call of a rank claim over seed-averaged points (`gap_call`'s rule for ρ), the seed spread
    taken from each seed's own ρ. sign ±1 (a strong correlation of that sign): 'hit' when sign·ρ ≥ max(strong,
    the spread) with the one-sided permutation p < alpha; 'miss' when even sign·ρ + the spread < strong.
    sign 0 (no strong correlation either way; `p` two-sided): 'hit' when |ρ| + the spread < strong; 'miss'
    when |ρ| ≥ max(strong, the spread) with p < 2·alpha (one-sided alpha in the direction seen). Anything else,
    or an undefined ρ, is 'undecided' (a judge's inconclusive)."""
    s = spread(seed_rhos)
    if not (math.isfinite(rho) and math.isfinite(p)):
        return "undecided"
    if sign:
        r = sign * rho
        return "hit" if r >= max(strong, s) and p < alpha else "miss" if r + s < strong else "undecided"
    r = abs(rho)
    return "hit" if r + s < strong else "miss" if r >= max(strong, s) and p < 2 * alpha else "undecided"


def outcome_of(call: str, decidable: bool = True) -> str:
    """The verdict outcome of a `gap_call`: hit → supported, miss → not supported, undecided → inconclusive
    (and inconclusive whenever the measurement is not `decidable`)."""
    from .base import NOT_SUPPORTED, SUPPORTED

    if not decidable or call == "undecided":
        return INCONCLUSIVE
    return SUPPORTED if call == "hit" else NOT_SUPPORTED


def too_few_seeds(k: int) -> str:
    return f"{k} seed{'s' if k != 1 else ''} per point; a verdict needs ≥ {MIN_SEEDS}"


def runs_per_point(rows: list[dict], group: Callable[[list[dict]], Hashable]) -> int:
    """The fewest runs (seeds) any grid point has."""
    per: dict = {}
    for rs in by_run(rows).values():
        per[group(rs)] = per.get(group(rs), 0) + 1
    return min(per.values(), default=0)


def require_seeds(verdicts: list[Verdict], k: int) -> list[Verdict]:
    """The verdicts, made inconclusive (with the reason) when a grid point has fewer than MIN_SEEDS seeds."""
    from dataclasses import replace

    if k >= MIN_SEEDS:
        return verdicts
    return [replace(v, outcome=INCONCLUSIVE, detail="; ".join(x for x in (v.detail, too_few_seeds(k)) if x))
            for v in verdicts]
