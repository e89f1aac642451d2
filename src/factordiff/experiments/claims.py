"""A claim declared as data, and the one function that turns it into a verdict (docs/decisions.md).

A `Claim` names what the paper says, the per-seed statistic that tests it and its `Test`s: each a rule
(`interval`: at least an effect size; `equivalence`: within ± a bound; `rank`: a Spearman ρ of a sign, with a
permutation within seeds) with its effect size. `gates` are controls that can only withhold support (the
memorizers' margins, an untrained network's). A judge computes each seed's values (after the learned gate) and
calls `Claim.verdict`, which decides every test and gate, combines them (`Claim._combine`), writes the sentence
and the decision record the same way for every verdict:

    RIM = Claim("1D stripes generalize to 2D SOS only with a few 2D examples on the rim (P2 Fig 10)",
                "each seed's final OOD accuracy: with rim − without",
                tests=(Test("OOD accuracy with rim − without (same seed)", GAP),),
                gates=(Test("with rim − the memorizer", MARGIN),))
    RIM.verdict([paired(w, wo)], [paired(w, memo)], seeds={"with rim": w, "without": wo})
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .base import INCONCLUSIVE, Verdict
from .stats import (
    HIT,
    LEVEL,
    MIN_SEEDS,
    MISS,
    UNDECIDED,
    Call,
    decision,
    equivalence_call,
    interval,
    interval_call,
    outcome_of,
    rank_call,
    show_seeds,
    stratified_permutation_rho,
    too_few_seeds,
)

KINDS = ("interval", "equivalence", "rank", "every")
_FIRST = object()  # a verdict's value by default: its first test's mean


@dataclass(frozen=True)
class Test:
    """One rule on one per-seed statistic. `interval`: the statistic is at least `effect` (sign +1) or at most
    −`effect` (sign −1), on its `level` t-interval over the seeds. `equivalence`: |statistic| < `effect` (TOST).
    `rank`: each seed's Spearman ρ has the sign `sign` and at least the strength `effect` (sign 0: no strong
    correlation, by equivalence), with the within-seed permutation p; its values are {seed: (xs, ys)}. `every`:
    each seed's value is true or false (e.g. "reads as a torus"): a hit when every seed's is true, a miss when any
    is false (`effect` unused)."""

    __test__ = False  # not a pytest test class

    what: str
    effect: float
    sign: int = +1
    kind: str = "interval"
    level: float = LEVEL

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Test.kind: one of {KINDS} (got {self.kind!r})")
        if self.sign not in (-1, 0, 1):
            raise ValueError(f"Test.sign: -1, 0 or +1 (got {self.sign!r})")

    def call(self, values) -> Call:
        """Decide the per-seed values: a list, a {seed: value} dict or, for a rank test, {seed: (xs, ys)}."""
        if self.kind == "rank":
            rhos, p = stratified_permutation_rho(values, self.sign)
            return rank_call(rhos, p, self.sign, self.effect, self.level, what=self.what)
        v = list(values.values()) if isinstance(values, dict) else list(values)
        if self.kind == "every":
            k = sum(bool(x) for x in v)
            return Call(UNDECIDED if not v else HIT if k == len(v) else MISS, self.what, k / len(v) if v else math.nan,
                        math.nan, math.nan, len(v), self.level, 1.0)
        if self.kind == "equivalence":
            return equivalence_call(v, self.effect, self.level, what=self.what)
        return interval_call(v, self.effect, self.sign, self.level, what=self.what)


@dataclass(frozen=True)
class Claim:
    """What a paper says (`claim`, with its figure), the per-seed statistic that tests it (`statistic`, in
    words), the tests that must hit for support (all of them, or the share `quorum`; not supported when so many
    miss that the quorum cannot be reached: with all, any miss), the gates (controls) that can
    only withhold support, the seeds a verdict needs, and a note every verdict carries (e.g. an inferred
    definition)."""

    claim: str
    statistic: str
    tests: tuple[Test, ...]
    gates: tuple[Test, ...] = ()
    min_seeds: int = MIN_SEEDS
    note: str = ""
    quorum: float = 1.0  # the share of the tests that must hit (P2's "most pairs" claims: 0.75)

    def __post_init__(self) -> None:
        if not 0 < self.quorum <= 1:
            raise ValueError(f"Claim.quorum: in (0, 1] (got {self.quorum!r})")
        if not self.tests:
            raise ValueError(f"Claim {self.claim!r}: at least one test")

    def verdict(self, values: Sequence, gates: Sequence = (), *, seeds: dict | None = None,
                controls: dict | None = None, left_out: Sequence[str] = (), why: Sequence[str] = (),
                lead: Sequence[str] = (), value=_FIRST, claim: str | None = None, statistic: str | None = None,
                withhold: Sequence[str] = (), refute: Sequence[str] = ()) -> Verdict:
        """The verdict of this claim on one measurement.

        `values`: per test, its per-seed values (or an already decided `Call`; None: not recorded by these
        runs, said so and left out of the decision); `gates`: per gate, its per-seed
        values, a `Call`, or None when the runs did not record that control (said so, and left out of the
        decision). Supported only when every test and every recorded gate hits; not supported when any test
        misses; otherwise inconclusive. Inconclusive too whenever the measurement could not have decided: a
        test with no finite mean, fewer than `min_seeds` seeds in a test, or any reason in `why`.
        `seeds`: {name: per-seed values} shown in the sentence; `controls`: {name: per-seed values or a number}
        kept as the verdict's controls (the mean over seeds); `left_out`: the seeds the learned gate left out;
        `withhold`: reasons outside the calls that keep a hit from support (inconclusive); `refute`: findings
        outside the calls that make the claim not supported (when decidable); `lead`: sentences before the
        calls; `value`: the verdict's value (default: the first test's mean);
        `claim`, `statistic`: this measurement's wording (default: the declared one, e.g. with a grid point
        added)."""
        if len(values) != len(self.tests):
            raise ValueError(f"{self.claim}: {len(values)} values for {len(self.tests)} tests")
        if len(gates) not in (0, len(self.gates)):
            raise ValueError(f"{self.claim}: {len(gates)} gate values for {len(self.gates)} gates")
        given = [(t, v) for t, v in zip(self.tests, values) if v is not None]
        if not given:
            raise ValueError(f"{self.claim}: no test has values")
        calls = [v if isinstance(v, Call) else t.call(v) for t, v in given]
        missing = [f"{t.what}: not recorded" for t, v in zip(self.tests, values) if v is None]
        gate_calls: list[Call | None] = [None if v is None else v if isinstance(v, Call) else t.call(v)
                                         for t, v in zip(self.gates, gates)]
        recorded = [g for g in gate_calls if g is not None]
        k = min(c.n for c in calls)
        reasons = list(why)
        if k < self.min_seeds:
            reasons.append(too_few_seeds(k) + (" that learned" if left_out else ""))
        decidable = all(math.isfinite(c.mean) for c in calls) and not reasons
        call = self._combine(calls, recorded)
        withheld = [f"support withheld: {g.rule} not shown" for g in recorded if g.call != HIT] \
            if call != MISS else []
        withheld += [f"support withheld: {w}" for w in withhold]
        call = MISS if refute else UNDECIDED if call == HIT and withhold else call
        parts = [*lead, *(c.text() for c in calls), *missing,
                 *(g.text() if g else f"{t.what}: not recorded" for t, g in zip(self.gates, gate_calls)),
                 *withheld, *refute, *(f"{name} {_show(v)}" for name, v in (seeds or {}).items()),
                 *([self.note] if self.note else []), *left_out, *reasons]
        outcome = outcome_of(call, decidable)
        return Verdict(claim or self.claim, statistic or self.statistic, calls[0].mean if value is _FIRST else value,
                       outcome if decidable else INCONCLUSIVE, "; ".join(p for p in parts if p),
                       {name: _mean(v) for name, v in (controls or {}).items()},
                       decision=decision(*calls, *gate_calls, left_out=list(left_out)))


    def _combine(self, calls: list[Call], gates: list[Call]) -> str:
        """hit when at least `quorum` of the tests hit and every gate hits; miss when so many tests miss that
        the quorum cannot be reached; else undecided."""
        n, hits, misses = len(calls), sum(c.call == HIT for c in calls), sum(c.call == MISS for c in calls)
        need = self.quorum * n - 1e-9
        if n - misses < need:
            return MISS
        return HIT if hits >= need and all(g.call == HIT for g in gates) else UNDECIDED


def _values(v) -> list:
    return list(v.values()) if isinstance(v, dict) else list(v)


def _show(v) -> str:
    return show_seeds(_values(v)) if _values(v) else "–"


def _mean(v):
    if isinstance(v, int | float | str) or v is None:
        return v
    return interval(_values(v))[0]
