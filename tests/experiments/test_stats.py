"""Known answers of the decision rules (docs/decisions.md): intervals over seeds, equivalence, rank claims by a
permutation within seeds, the learned gate seed by seed, Holm, and the seeds an undecided call would need."""

import math

import pytest

from factordiff.experiments.stats import (
    HIT,
    MISS,
    UNDECIDED,
    equivalence_call,
    gate,
    holm,
    interval,
    interval_call,
    n_seeds,
    per_seed,
    per_seed_rho,
    rank_call,
    seed_values,
    seeds_needed,
    spread,
    stratified_permutation_rho,
)


def _seeds(mean, sd):
    """Three per-seed values with this mean and sample SD."""
    return [mean - sd, mean, mean + sd]


def test_a_gap_is_decided_on_its_interval_not_one_sd():
    """The issue's known answers: gaps 0.21 ± 0.10 against a claimed 0.2 are inconclusive (95 % interval about
    [−0.04, 0.46]); 0.50 ± 0.02 supported; 0.05 ± 0.02 not supported (the interval lies below 0.2)."""
    c = interval_call(_seeds(0.21, 0.10), 0.2)
    assert c.call == UNDECIDED and c.lo == pytest.approx(0.21 - 4.303 * 0.1 / math.sqrt(3), abs=1e-3)
    assert c.seeds_needed is None  # a mean 0.01 from the effect: > 200 seeds, no number to promise
    assert interval_call(_seeds(0.35, 0.10), 0.2).seeds_needed == 5  # says what would decide it
    assert interval_call(_seeds(0.50, 0.02), 0.2).call == HIT
    assert interval_call(_seeds(0.05, 0.02), 0.2).call == MISS
    # one SD would have called the first a hit (gap ≥ 0.2 and ≥ 0.1): the rule it replaces
    assert interval_call([0.23], 0.2).call == UNDECIDED  # one seed: no interval at all


def test_the_readme_cases_of_the_issue():
    """p2-rim's per-seed gaps averaging 0.23 with an interval reaching below 0 are not 'supported' against 0.2;
    p2-scaling's slope gaps 0.26 / 0.17 / 0.50 contain P2's 0.5: not 'not supported'; p2-orthogonality's margins
    −0.23 / −0.08 / −0.10 reach above 0: not 'not supported'."""
    assert interval_call([0.13, 0.23, 0.33], 0.2).call == UNDECIDED
    assert interval_call([0.26, 0.17, 0.50], 0.5).call == UNDECIDED
    assert interval_call([-0.23, -0.08, -0.10], 0.0).call == UNDECIDED
    assert interval_call([-0.23, -0.20, -0.25], 0.0).call == MISS


def test_a_claim_in_the_negative_direction_and_an_equivalence():
    c = interval_call([-0.9, -1.0, -0.95], 0.8, sign=-1)
    assert c.call == HIT and c.hi < -0.8 and c.effect == -0.8
    assert interval_call([-0.1, 0.0, 0.1], 0.8, sign=-1).call == MISS
    # "no strong effect": TOST, the 90 % interval inside (−bound, bound)
    assert equivalence_call([0.1, -0.1, 0.0], 0.8).call == HIT
    assert equivalence_call([-1.0, -1.0, -0.95], 0.8).call == MISS  # a strong effect, beyond doubt
    assert equivalence_call([1.0, -0.8, 0.2], 0.8).call == UNDECIDED  # the seeds disagree: nothing shown
    assert equivalence_call([0.1, -0.1, 0.0], 0.8).level == pytest.approx(0.90)


def test_within_seed_permutation_uses_every_seed():
    """4 points × 3 seeds all ordered: exact over 24³ orderings, p = 1/13,824, below the 1/24 floor a
    permutation of seed means has."""
    pts = {s: ([1, 2, 3, 4], [10, 20, 30, 40]) for s in range(3)}
    rhos, p = stratified_permutation_rho(pts, sign=+1)
    assert rhos == [1.0, 1.0, 1.0] and p == pytest.approx(1 / 24**3) and p < 1 / 24
    _, p_wrong_way = stratified_permutation_rho(pts, sign=-1)
    assert p_wrong_way == pytest.approx(1.0)
    mixed = {0: ([1, 2, 3, 4], [1, 2, 3, 4]), 1: ([1, 2, 3, 4], [4, 3, 2, 1]), 2: ([1, 2, 3, 4], [2, 1, 4, 3])}
    rhos, p = stratified_permutation_rho(mixed, sign=0)
    assert rhos == pytest.approx([1.0, -1.0, 0.6]) and p > 0.3  # no trend across seeds
    # "never" (inf) ranks last; a seed whose ρ is undefined is left out
    rhos, _ = stratified_permutation_rho({0: ([1, 2, 3, 4], [1, 2, 3, math.inf]), 1: ([1, 2, 3, 4], [5] * 4)})
    assert rhos == [1.0]


def test_rank_call_on_the_interval_of_the_seeds_rho():
    assert rank_call([1.0, 1.0, 1.0], 1 / 24**3, +1).call == HIT
    assert rank_call([1.0, 1.0, 1.0], 0.2, +1).call == UNDECIDED  # strong but the permutation test fails
    assert rank_call([1.0, 0.8, 1.0], 0.001, +1).call == UNDECIDED  # interval reaches below 0.8
    assert rank_call([0.2, 0.4, 0.0], 0.3, +1).call == MISS
    assert rank_call([-1.0, -0.8, -1.0], 0.001, -1).call == UNDECIDED
    assert rank_call([-1.0, -1.0, -1.0], 0.001, -1).call == HIT  # the sign is the claim's
    assert rank_call([0.2, -0.2, 0.0], 0.9, 0).call == HIT
    assert rank_call([-1.0, -1.0, -1.0], 0.001, 0).call == MISS
    c = rank_call([1.0, 0.6, 1.0], 0.01, +1)
    assert -1 <= c.lo and c.hi <= 1  # clipped to ρ's range


def test_every_seed_is_gated_and_named():
    """A seed at 0.00 beside two learned seeds is left out and named (the old gate averaged it away: 0.62 /
    0.00 / 0.62 against a 0.55 ceiling passed)."""
    from synthetic import run

    runs = {f"r_seed={s}": run(f"r_seed={s}", acc=a, acc_ceiling=0.55) for s, a in enumerate((0.62, 0.0, 0.62))}
    kept, left = gate(runs)
    assert set(kept) == {"r_seed=0", "r_seed=2"} and len(left) == 1 and left[0].startswith("r_seed=1 left out")
    assert "0.00 × the ground-truth ceiling" in left[0]
    # a 0.49 on a 0.55 ceiling is 0.9 of what ground truth scores: learned; without a ceiling it is not (0.5)
    assert gate({"a": run("a", acc=0.49, acc_ceiling=0.55)})[1] == []
    assert "< 0.5" in gate({"a": run("a", acc=0.49)})[1][0]
    assert gate({"a": run("a", acc=None)})[1]  # nothing recorded: cannot say it learned


def test_holm_and_seeds_needed():
    assert holm({"a": 0.01, "b": 0.04, "c": 0.03}) == pytest.approx({"a": 0.03, "b": 0.06, "c": 0.06})
    assert math.isnan(holm({"a": float("nan"), "b": 0.5})["a"]) and holm({"a": float("nan"), "b": 0.5})["b"] == 0.5
    # mean 0.3, SD 0.1 against 0.2: t(n−1)·0.1/√n < 0.1 first at n = 7
    assert seeds_needed(_seeds(0.3, 0.1), 0.2) == 7
    assert seeds_needed(_seeds(0.2, 0.1), 0.2) is None  # the mean sits on the effect: no number of seeds


def test_interval_and_spread():
    assert interval([1.0, 1.0, 1.0]) == (1.0, 1.0, 1.0)
    m, lo, hi = interval([0.0, 1.0, 2.0])
    assert m == 1.0 and lo == pytest.approx(1 - 4.303 / math.sqrt(3), abs=1e-3) and hi > 3  # t(2) = 4.303
    assert math.isnan(interval([0.5])[1]) and spread([0.5]) == 0.0 and spread([0.0, 2.0]) == pytest.approx(1.414, 1e-3)


def test_seed_values_groups_runs():
    rows = [{"run": f"a_seed={s}", "step": 0, "g": 1, "v": s} for s in range(3)] + \
        [{"run": "b_seed=0", "step": 0, "g": 2, "v": None}]
    per = seed_values(rows, lambda rs: rs[0]["g"], "v")
    assert per == {1: [0.0, 1.0, 2.0], 2: []} and n_seeds(per) == 0
    assert per_seed(rows, lambda rs: rs[0]["g"], "v") == {1: {0: 0.0, 1: 1.0, 2: 2.0}, 2: {}}


def test_per_seed_rho_ranks_each_seeds_own_points():
    rows = [{"run": f"d={d}_seed={s}", "step": 0, "seed": s, "d": d, "v": v} for s, vals in enumerate(
        [(1, 2, 3, 4), (4, 3, 2, 1), (1, 2, 4, math.inf)]) for d, v in zip((0.25, 0.5, 0.75, 1.0), vals)]
    rhos = per_seed_rho(rows, lambda rs: rs[0]["d"], lambda rs: rs[0]["v"])
    assert rhos == pytest.approx([1.0, -1.0, 1.0])  # "never" ranks last
    unnamed = [{k: v for k, v in r.items() if k != "seed"} for r in rows]  # the seed from the run name
    assert per_seed_rho(unnamed, lambda rs: rs[0]["d"], lambda rs: rs[0]["v"]) == pytest.approx([1.0, -1.0, 1.0])


def test_p1_reading_takes_the_seed_with_the_best_final_accuracy():
    """P1 A.6 selects, per grid point, the seed with the best terminal accuracy: shown beside the interval."""
    from factordiff.experiments.stats import best_seed

    rows = [{"run": f"d=1_seed={s}", "seed": s, "step": t, "d": 1, "acc": a * t / 2, "gap": g}
            for s, a, g in ((0, 0.5, 0.1), (1, 0.9, -0.3), (2, 0.7, 0.2)) for t in (1, 2)]
    rows += [{"run": "d=2_seed=0", "seed": 0, "step": 2, "d": 2, "acc": float("nan"), "gap": 0.0}]
    best = best_seed(rows, lambda rs: rs[0]["d"])
    assert [r["run"] for r in best[1]] == ["d=1_seed=1", "d=1_seed=1"] and 2 not in best
