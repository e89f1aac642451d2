"""Known answers of the one function that turns a declared claim into a verdict (`claims.Claim.verdict`): the
tests decide, the gates can only withhold, the quorum, the `every` rule, the learned gate's seeds named, and a
measurement that could not decide said so."""

import pytest

from factordiff.experiments.base import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED
from factordiff.experiments.claims import Claim, Test

GAP = Claim("a gap (paper Fig 0)", "each seed's gap", tests=(Test("gap", 0.2),),
            gates=(Test("model − memorizer", 0.1),))


def test_the_interval_decides_against_the_effect_size():
    assert GAP.verdict([[0.50, 0.52, 0.48]], [[0.5, 0.5, 0.6]]).outcome == SUPPORTED
    assert GAP.verdict([[0.05, 0.07, 0.03]], [[0.5, 0.5, 0.6]]).outcome == NOT_SUPPORTED
    assert GAP.verdict([[0.21, 0.31, 0.11]], [[0.5, 0.5, 0.6]]).outcome == INCONCLUSIVE  # 0.21 ± 0.10 vs 0.2
    v = GAP.verdict([[0.35, 0.45, 0.15]], [[0.5, 0.5, 0.6]])
    assert v.outcome == INCONCLUSIVE and "seeds at this mean and spread would decide it" in v.detail


def test_a_gate_withholds_support_but_never_refutes():
    v = GAP.verdict([[0.50, 0.52, 0.48]], [[0.0, 0.05, -0.02]])
    assert v.outcome == INCONCLUSIVE and "support withheld: model − memorizer" in v.detail
    assert GAP.verdict([[0.05, 0.07, 0.03]], [[0.0, 0.05, -0.02]]).outcome == NOT_SUPPORTED


def test_a_control_not_recorded_is_named_and_decides_nothing():
    v = GAP.verdict([[0.50, 0.52, 0.48]], [None])
    assert v.outcome == SUPPORTED and "model − memorizer: not recorded" in v.detail


def test_too_few_seeds_or_a_stated_reason_make_it_inconclusive():
    v = GAP.verdict([{0: 0.5, 1: 0.52}], [[0.5, 0.5]], left_out=["seed 2 left out (accuracy 0.00 < 0.5)"])
    assert v.outcome == INCONCLUSIVE and "seed 2 left out" in v.detail and "that learned" in v.detail
    assert v.decision["left_out"] == ["seed 2 left out (accuracy 0.00 < 0.5)"]
    v = GAP.verdict([[0.05, 0.07, 0.03]], [[0.5, 0.5, 0.6]], why=["the budget is too short"])
    assert v.outcome == INCONCLUSIVE and "the budget is too short" in v.detail


def test_withhold_and_refute_reasons_outside_the_calls():
    hit = [[0.50, 0.52, 0.48]], [[0.5, 0.5, 0.6]]
    assert GAP.verdict(*hit, withhold=["a size at the memorizer's"]).outcome == INCONCLUSIVE
    assert GAP.verdict(*hit, refute=["learns before the threshold"]).outcome == NOT_SUPPORTED


def test_a_quorum_of_pairs():
    c = Claim("most pairs", "pairs", tests=tuple(Test(f"pair {i}", 0.1) for i in range(4)), quorum=0.75)
    hit, miss, mid = [0.5, 0.52, 0.48], [0.0, 0.01, -0.01], [0.1, 0.3, -0.1]
    assert c.verdict([hit, hit, hit, miss]).outcome == SUPPORTED
    assert c.verdict([hit, hit, miss, miss]).outcome == NOT_SUPPORTED
    assert c.verdict([hit, hit, mid, miss]).outcome == INCONCLUSIVE


def test_every_seed_must_read_true():
    c = Claim("a torus in every seed", "Betti numbers", tests=(Test("every seed reads (1, 2, 1)", 1, kind="every"),))
    assert c.verdict([[True, True, True]]).outcome == SUPPORTED
    assert c.verdict([[True, False, True]]).outcome == NOT_SUPPORTED
    assert c.verdict([[True, True]]).outcome == INCONCLUSIVE


def test_a_rank_test_permutes_within_seeds():
    c = Claim("falls with the width", "ρ", tests=(Test("ρ(width, accuracy)", 0.8, sign=-1, kind="rank"),))
    falling = {s: ([1, 2, 3, 4], [0.9 - 0.1 * i + 0.01 * s for i in range(4)]) for s in range(3)}
    v = c.verdict([falling])
    assert v.outcome == SUPPORTED and v.decision["calls"][0]["p"] < 1 / 24
    weak = {0: [0.9, 0.7, 0.8, 0.6], 1: [0.7, 0.9, 0.6, 0.8], 2: [0.6, 0.8, 0.7, 0.9]}  # ρ −0.8, −0.2, +0.6
    assert c.verdict([{s: ([1, 2, 3, 4], ys) for s, ys in weak.items()}]).outcome == INCONCLUSIVE
    rising = {s: ([1, 2, 3, 4], [0.5 + 0.1 * i + 0.01 * s for i in range(4)]) for s in range(3)}
    assert c.verdict([rising]).outcome == NOT_SUPPORTED


def test_a_claim_refuses_mismatched_values_and_bad_declarations():
    with pytest.raises(ValueError, match="1 tests"):
        GAP.verdict([[0.5], [0.5]])
    with pytest.raises(ValueError, match="kind"):
        Test("x", 0.1, kind="median")
    with pytest.raises(ValueError, match="quorum"):
        Claim("x", "y", tests=(Test("x", 0.1),), quorum=0)
