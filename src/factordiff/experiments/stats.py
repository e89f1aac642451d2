"""The decision rules every verdict rests on (docs/decisions.md): each claim's statistic is taken per seed, then
decided on an interval over the seeds at a stated level against the claim's effect size (`interval_call`), by an
equivalence test for a "no strong effect" claim (`equivalence_call`), or, for a rank claim, on the interval of the
seeds' own ρ with a permutation within seeds (`rank_call`). Every seed passes the learned gate or is left out and
named (`gate`). The thresholds every judge applies (three seeds, four grid points, a 0.1 margin over a baseline),
the Holm adjustment over the confirmatory family, and how many seeds would decide an undecided call. A judge
declares its claims with `claims.Claim`, which applies these rules and writes every verdict the same way."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np

from .base import INCONCLUSIVE, Verdict, by_run, final, spearman

MIN_SEEDS = 3  # a verdict needs at least this many seeds per grid point (DESIGN.md: seeds and intervals)
MIN_RANK_POINTS = 4  # a rank claim needs at least this many grid points (3 points: ρ ∈ {±0.5, ±1} only)
MARGIN = 0.1  # an accuracy must beat its baseline (the nearest-training-label memorizer) by this much
LEARNED = 0.5  # a claim about a trained model's representation needs its final accuracy (P1's tolerance) this high
# … or, where the rows carry the ground-truth ceiling, this share of it: 0.7 × the open cpu canvas's 0.68–0.73
# ceiling is the same 0.5 (periodic data are read wrap-aware since 2026-12-06: ceiling 1 there)
LEARNED_OF_CEILING = 0.7


def learned_reason(run_rows: list[dict]) -> str | None:
    """Why one run (one seed) did not learn, or None when it did: its final accuracy (last third of training)
    below LEARNED_OF_CEILING × its ground-truth ceiling (LEARNED where no ceiling was recorded)."""
    a, c = final(run_rows, "acc"), final(run_rows, "acc_ceiling")
    if not math.isfinite(a):
        return f"no accuracy recorded: cannot tell whether it learned (needs ≥ {LEARNED})"
    if math.isfinite(c) and c > 0:
        return None if a / c >= LEARNED_OF_CEILING else (
            f"accuracy {a:.2f} = {a / c:.2f} × the ground-truth ceiling < {LEARNED_OF_CEILING}: not learned")
    return None if a >= LEARNED else f"accuracy {a:.2f} < {LEARNED}: not learned"


def gate(runs: dict[str, list[dict]]) -> tuple[dict[str, list[dict]], list[str]]:
    """The learned gate, applied to every seed: (the runs that learned, ['run: why'] for each left out). A claim
    about what a trained model represents is judged on the learned seeds only, and needs MIN_SEEDS of them."""
    kept, out = {}, []
    for name, rs in runs.items():
        why = learned_reason(rs)
        if why:
            out.append(f"{name} left out ({why})")
        else:
            kept[name] = rs
    return kept, out


def per_seed(rows: list[dict], group: Callable[[list[dict]], Hashable], col: str | Callable[[list[dict]], float]
             ) -> dict[Hashable, dict]:
    """{group(run): {seed: the run's statistic}}: `final(col)` for a column name, col(run rows) for a function;
    missing values left out. Seeds from the `seed` column, else the run name's `seed=K`."""
    out: dict = {}
    for name, rs in by_run(rows).items():
        v = final(rs, col) if isinstance(col, str) else col(rs)
        out.setdefault(group(rs), {})
        if v is not None and math.isfinite(v):
            out[group(rs)][seed_of(name, rs)] = float(v)
    return out


def paired(a: dict, b: dict) -> list[float]:
    """a[seed] − b[seed] over the seeds both have (a paired per-seed difference), in seed order."""
    return [a[s] - b[s] for s in sorted(set(a) & set(b), key=str)]


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


LEVEL = 0.95  # every interval is a two-sided 95 % interval unless the claim says otherwise
ALPHA = 0.05  # a permutation test passes at p < ALPHA (one-sided in the claim's direction)

HIT, MISS, UNDECIDED = "hit", "miss", "undecided"


@dataclass(frozen=True)
class Call:
    """What one decision rule concluded from per-seed values: `call` (hit / miss / undecided), the interval it
    rests on (mean, lo, hi at `level`, over `n` seeds), the effect size it was held to and, for an undecided call,
    about how many seeds the same mean and spread would need to decide (`seeds_needed`, None when no number of
    seeds would: the mean sits on the effect size). `rule` says in words what was tested."""

    call: str
    rule: str  # what was tested, in words; `p`: the one-sided t-test p of the claim's direction (interval and
    # equivalence calls: TOST's larger p) or the within-seed permutation p (rank calls)
    mean: float
    lo: float
    hi: float
    n: int
    level: float
    effect: float
    p: float | None = None
    seeds_needed: int | None = None

    def text(self) -> str:
        """`rule: mean [lo, hi] (95 %, n seeds) vs effect → call`, with p and the seeds needed when there are."""
        iv = (f"{self.mean:.2f} [{self.lo:.2f}, {self.hi:.2f}]" if math.isfinite(self.lo)
              else f"{self.mean:.2f} (no interval)")
        out = f"{self.rule}: {iv} ({self.level:.0%} interval over {self.n} seeds) against {self.effect:g} → {self.call}"
        if self.p is not None and math.isfinite(self.p):
            out += f", p {self.p:.3g}"
        if self.call == UNDECIDED and self.seeds_needed:
            out += f"; ≈ {self.seeds_needed} seeds at this mean and spread would decide it"
        return out

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


def _clean(values) -> np.ndarray:
    return np.asarray([x for x in values if x is not None and math.isfinite(x)], float)


def seeds_needed(values, effect: float, level: float = LEVEL, most: int = 200) -> int | None:
    """The fewest seeds whose `level` interval, at the mean and sample SD of `values`, would leave `effect` on one
    side (decide the claim); None when the mean is on the effect (within 1e-9), no spread is known, or more than
    `most` would be needed."""
    from scipy import stats

    v = _clean(values)
    if len(v) < 2:
        return None
    d, sd = abs(float(v.mean()) - effect), float(v.std(ddof=1))
    if d < 1e-9:
        return None
    if sd == 0:
        return len(v)
    for n in range(2, most + 1):
        if stats.t.ppf(0.5 + level / 2, n - 1) * sd / math.sqrt(n) < d:
            return n
    return None


def interval_call(values, effect: float, sign: int = +1, level: float = LEVEL, what: str = "") -> Call:
    """A claim that a per-seed statistic is at least `effect` (sign +1) or at most −`effect` (sign −1), decided on
    its t-interval over the seeds at `level`: 'hit' when the whole interval clears the effect size, 'miss' when it
    excludes it (the statistic is smaller than the claim, at this level), else 'undecided'. Fewer than two finite
    values give no interval: 'undecided'."""
    v = sign * _clean(values)
    m, lo, hi = interval(v, level)
    rule = what or (f"per-seed statistic ≥ {effect:g}" if sign > 0 else f"per-seed statistic ≤ −{effect:g}")
    if not math.isfinite(lo):
        call = UNDECIDED
    else:
        call = HIT if lo >= effect - 1e-9 else MISS if hi < effect - 1e-9 else UNDECIDED  # 1e-9: float ties
    lo, hi = (lo, hi) if sign > 0 else (-hi, -lo)
    return Call(call, rule, sign * m if math.isfinite(m) else m, lo, hi, len(v), level, sign * effect,
                p=t_pvalue(v, effect), seeds_needed=seeds_needed(v, effect, level) if call == UNDECIDED else None)


def t_pvalue(values, effect: float) -> float:
    """The one-sided t-test p-value of "mean ≤ effect" against "mean > effect" (the claim): small when the seeds
    clear the effect size; what the Holm adjustment over the confirmatory family reads (nan with < 2 values;
    0 or 1 when the seeds agree exactly)."""
    from scipy import stats

    v = _clean(values)
    if len(v) < 2:
        return float("nan")
    sd = float(v.std(ddof=1))
    if sd == 0:
        return 0.0 if v.mean() > effect else 1.0
    return float(stats.t.sf((v.mean() - effect) / (sd / math.sqrt(len(v))), len(v) - 1))


def equivalence_call(values, bound: float, level: float = LEVEL, what: str = "") -> Call:
    """A "no strong effect" claim: |statistic| < `bound`, by two one-sided tests (TOST) at 1 − `level`: the
    (2·level − 1) interval (90 % for a 95 % level) inside (−bound, bound) is a 'hit'; an interval wholly at or
    beyond ±bound a 'miss' (a strong effect); anything else 'undecided'."""
    v = _clean(values)
    m, lo, hi = interval(v, 2 * level - 1)
    rule = what or f"|per-seed statistic| < {bound:g} (equivalence, TOST)"
    if not math.isfinite(lo):
        call = UNDECIDED
    else:
        call = HIT if -bound < lo and hi < bound else MISS if lo >= bound or hi <= -bound else UNDECIDED
    need = None
    if call == UNDECIDED and len(v) > 1:
        need = seeds_needed(v, bound if m >= 0 else -bound, 2 * level - 1)
    # TOST: the larger of the two one-sided p-values (mean > −bound, mean < bound)
    p = max(t_pvalue(v, -bound), t_pvalue(-v, -bound)) if len(v) > 1 else float("nan")
    return Call(call, rule, m, lo, hi, len(v), 2 * level - 1, bound, p=p, seeds_needed=need)


def stratified_permutation_rho(points: dict, sign: int = 0, n: int = 20000, seed: int = 0,
                               exact_up_to: int = 200_000) -> tuple[list[float], float]:
    """Each seed's own Spearman ρ and the p-value of their mean under a permutation within seeds (a stratified
    permutation: each seed's values shuffled over its own grid points, seeds kept apart). `points`:
    {seed: (xs, ys)}; "never" (inf) in ys ranks after every finite value. One-sided in the direction `sign` (±1),
    two-sided with 0. Exact over every combination of orderings while there are at most `exact_up_to` of them
    (4 points × 3 seeds: 24³); sampled (`n` draws) beyond. A seed whose ρ is undefined is left out."""
    import itertools

    keep = {k: (list(xs), list(ys)) for k, (xs, ys) in points.items() if math.isfinite(spearman(xs, ys))}
    rhos = [spearman(xs, ys) for xs, ys in keep.values()]
    if not rhos:
        return [], float("nan")
    stat = float(np.mean(rhos))
    # each seed's null distribution of ρ over its own orderings, then the mean over seeds
    per_seed = []
    total = 1
    for _xs, ys in keep.values():
        total *= math.factorial(len(ys))
    rng = np.random.default_rng(seed)
    if total <= exact_up_to:
        for xs, ys in keep.values():
            per_seed.append(np.array([spearman(xs, list(p)) for p in itertools.permutations(ys)]))
        null = per_seed[0]
        for r in per_seed[1:]:
            null = (null[:, None] + r[None, :]).ravel()
        null = null / len(per_seed)
    else:
        draws = np.zeros(n)
        for xs, ys in keep.values():
            draws += np.array([spearman(xs, list(rng.permutation(ys))) for _ in range(n)])
        null = draws / len(keep)
    null = null[np.isfinite(null)]
    if sign:
        p = float(np.mean(sign * null >= sign * stat - 1e-12))
    else:
        p = float(np.mean(np.abs(null) >= abs(stat) - 1e-12))
    return rhos, p


def rank_call(seed_rhos, p: float, sign: int, strong: float = 0.8, level: float = LEVEL, alpha: float = ALPHA,
              what: str = "") -> Call:
    """A rank claim decided on the interval of the seeds' own ρ (clipped to [−1, 1]) and a within-seed permutation
    p (`stratified_permutation_rho`). sign ±1 (a strong correlation of that sign): 'hit' when sign·ρ's interval
    lies at or above `strong` and p < alpha; 'miss' when its upper end is below `strong`. sign 0 ("no strong
    correlation"): the equivalence test of `equivalence_call` with bound `strong`. Anything else, or no
    interval, is 'undecided'."""
    if not sign:
        c = equivalence_call(seed_rhos, strong, level, what or f"|ρ| < {strong:g} (equivalence, TOST)")
        return Call(c.call, c.rule, c.mean, max(-1.0, c.lo), min(1.0, c.hi), c.n, c.level, c.effect, c.p,
                    c.seeds_needed)
    c = interval_call(seed_rhos, strong, sign, level, what or (f"ρ ≥ {strong:g}" if sign > 0 else f"ρ ≤ −{strong:g}"))
    call = c.call
    if call == HIT and not (math.isfinite(p) and p < alpha):
        call = UNDECIDED
    return Call(call, c.rule, c.mean, max(-1.0, c.lo), min(1.0, c.hi), c.n, c.level, c.effect, p, c.seeds_needed)


def best_seed(rows: list[dict], group: Callable[[list[dict]], Hashable], col: str = "acc") -> dict[Hashable, list]:
    """{group: the rows of its run (seed) with the best final `col`}: P1's reading (A.6: "we run three separate
    seeds and select the run that achieve the optimal accuracy at terminal epoch"). Shown beside a verdict,
    labelled; it decides nothing (a selected seed has no interval)."""
    best: dict = {}
    for rs in by_run(rows).values():
        g, v = group(rs), final(rs, col)
        if math.isfinite(v) and (g not in best or v > best[g][0]):
            best[g] = (v, rs)
    return {g: rs for g, (_v, rs) in best.items()}


P1_READING = "P1's reading (A.6: per grid point the seed with the best final accuracy; decides nothing)"


def gated_rows(rows: list[dict]) -> tuple[list[dict], list[str]]:
    """The rows of the runs that pass the learned gate (`gate`), and each left-out run named with why."""
    kept, out = gate(by_run(rows))
    return [r for r in rows if r["run"] in kept], out


def beats_memorizer(model: dict, memo: dict, what: str = "model − closed-form memorizer") -> Call | None:
    """The gate of an OOD claim against the closed-form memorizer (memorizer.py: copies and superposes training
    images): the per-seed margin's interval must clear MARGIN; a gate that is not a hit means copying alone does
    as well, and the verdict says so. None when the runs did not record it (older than the control)."""
    d = paired(model, memo)
    return interval_call(d, MARGIN, what=what) if d else None


def decision(*calls: Call | None, left_out: list[str] = ()) -> dict:
    """A verdict's `decision` record: every call it rests on (as dicts: rule, interval, level, effect size, p,
    seeds needed) and the seeds left out by the learned gate."""
    return {"calls": [c.to_dict() for c in calls if c is not None], "left_out": list(left_out)}


def holm(pvalues: dict) -> dict:
    """Holm–Bonferroni adjusted p-values of a family {name: p} (nan stays nan and is not counted)."""
    items = sorted(((k, p) for k, p in pvalues.items() if p is not None and math.isfinite(p)), key=lambda kp: kp[1])
    m, out, running = len(items), {k: float("nan") for k in pvalues}, 0.0
    for i, (k, p) in enumerate(items):
        running = max(running, min(1.0, (m - i) * p))
        out[k] = running
    return out


def seed_of(name: str, run_rows: list[dict]):
    """A run's seed: its `seed` column, else the run name's `seed=K` (None without either)."""
    import re

    seed = run_rows[0].get("seed") if run_rows else None
    if seed is None:
        m = re.search(r"seed=(\d+)", name)
        seed = int(m.group(1)) if m else None
    return seed


def per_seed_points(rows: list[dict], x_of: Callable[[list[dict]], float],
                    value_of: Callable[[list[dict]], float]) -> dict:
    """{seed: (grid values, statistics)}: each seed's own points, for `stratified_permutation_rho`. Runs grouped
    by their `seed` column (else the run name's `seed=K`); x_of(run rows) the grid value, value_of(run rows) what
    is ranked ("never", inf, ranks last)."""
    per: dict = {}
    for name, rs in by_run(rows).items():
        per.setdefault(seed_of(name, rs), {})[x_of(rs)] = value_of(rs)
    ordered = sorted(per.items(), key=lambda kv: str(kv[0]))
    return {s: (sorted(pts), [pts[x] for x in sorted(pts)]) for s, pts in ordered}


def per_seed_rho(rows: list[dict], x_of: Callable[[list[dict]], float], value_of: Callable[[list[dict]], float]
                 ) -> list[float]:
    """Spearman ρ of each seed's own points (`per_seed_points`); nan for a seed whose ρ is undefined."""
    return [spearman(xs, ys) for xs, ys in per_seed_points(rows, x_of, value_of).values()]


def outcome_of(call, decidable: bool = True) -> str:
    """The verdict outcome of a call (a `Call` or its 'hit' / 'miss' / 'undecided'): hit → supported, miss → not
    supported, undecided → inconclusive (and inconclusive whenever the measurement is not `decidable`)."""
    from .base import NOT_SUPPORTED, SUPPORTED

    call = call.call if isinstance(call, Call) else call
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
