"""Known answers of the verdict statistics."""

import math

import pytest

from factordiff.experiments.stats import interval, n_seeds, permutation_rho, seed_values, spread


def test_permutation_rho_is_exact_for_small_grids():
    rho, p = permutation_rho([1, 2, 3, 4], [40, 30, 20, 10], sign=-1)
    assert rho == pytest.approx(-1.0) and p == pytest.approx(1 / 24)  # one ordering of 24 is as extreme
    rho, p = permutation_rho([1, 2, 3], [3, 2, 1], sign=-1)
    assert p == pytest.approx(1 / 6)  # three points can never reach p < 0.05: why rank claims need four
    assert permutation_rho([1, 2, 3, 4], [2, 1, 4, 3])[1] > 0.3  # no trend: a large two-sided p
    assert math.isnan(permutation_rho([1, 2, 3, 4], [5, 5, 5, 5])[1])


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


def test_learned_is_judged_against_the_ceiling_where_there_is_one():
    """Periodic data at cpu scale have a ceiling of 0.55 (edge-split bumps count twice): accuracy 0.49 there is
    0.9 × what ground truth scores, learned; 0.49 with no ceiling recorded is not (LEARNED = 0.5)."""
    from synthetic import run

    from factordiff.experiments.stats import not_learned

    assert not_learned({"a": run("a", acc=0.49, acc_ceiling=0.55)}) == []
    assert "0.05 × the ground-truth ceiling" in not_learned({"a": run("a", acc=0.03, acc_ceiling=0.55)})[0]
    assert "< 0.5" in not_learned({"a": run("a", acc=0.49)})[0]
    assert not_learned({"a": run("a", acc=None)})  # nothing recorded: cannot say it learned


def test_rank_call_is_three_way_against_the_seeds_own_rho():
    """A rank claim is refuted only when even ρ plus the seeds' spread falls short; one swap among four seed
    means with seeds that disagree (p1-increment 2026-12-01: ρ 0.60, p 0.21, once printed "not supported") says
    neither. A no-effect claim is supported only when |ρ| plus the spread stays below 'strong'."""
    from factordiff.experiments.stats import rank_call

    assert rank_call(1.0, 1 / 24, [1.0, 0.8, 1.0], +1) == "hit"
    assert rank_call(1.0, 1 / 24, [1.0, -0.8, 1.0], +1) == "undecided"  # the seeds spread more than ρ clears
    assert rank_call(0.8, 4 / 24, [1.0, 0.4, 0.8], +1) == "undecided"  # strong, but p 0.17: not a test passed
    assert rank_call(0.6, 0.21, [0.8, 0.2, 0.6], +1) == "undecided"  # 0.6 + 0.3 reaches 0.8
    assert rank_call(-1.0, 1 / 24, [-1.0, -0.8, -1.0], +1) == "miss"
    assert rank_call(0.2, 0.4, [0.2, 0.4, 0.0], +1) == "miss"  # 0.2 + 0.2 < 0.8
    assert rank_call(-1.0, 1 / 24, [-1.0, -0.8, -1.0], -1) == "hit"  # the sign is the claim's
    assert rank_call(0.0, 1.0, [0.2, -0.2, 0.0], 0) == "hit"
    assert rank_call(0.2, 0.8, [1.0, -0.8, 0.2], 0) == "undecided"  # seeds disagree: no-effect is not shown
    assert rank_call(1.0, 2 / 24, [1.0, 1.0, 0.8], 0) == "miss"  # two-sided p 0.083 < 0.1
    assert rank_call(0.8, 8 / 24, [1.0, 0.8, 0.6], 0) == "undecided"
    assert rank_call(float("nan"), float("nan"), [], 0) == "undecided"


def test_per_seed_rho_ranks_each_seeds_own_points():
    from factordiff.experiments.stats import per_seed_rho

    rows = [{"run": f"d={d}_seed={s}", "step": 0, "seed": s, "d": d, "v": v} for s, vals in enumerate(
        [(1, 2, 3, 4), (4, 3, 2, 1), (1, 2, 4, math.inf)]) for d, v in zip((0.25, 0.5, 0.75, 1.0), vals)]
    rhos = per_seed_rho(rows, lambda rs: rs[0]["d"], lambda rs: rs[0]["v"])
    assert rhos == pytest.approx([1.0, -1.0, 1.0])  # "never" ranks last
    unnamed = [{k: v for k, v in r.items() if k != "seed"} for r in rows]  # the seed from the run name
    assert per_seed_rho(unnamed, lambda rs: rs[0]["d"], lambda rs: rs[0]["v"]) == pytest.approx([1.0, -1.0, 1.0])
