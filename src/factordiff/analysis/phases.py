"""The three learning phases of P1 Fig 3, from the bump-count histogram, accuracy and R².

A: no structure: many 0 / > 1-bump images, low R². B: one bump at the wrong place; a disordered quasi-2-D
manifold. C: an ordered manifold and correct generation. The thresholds are named options (PhaseRule)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PhaseRule:
    single_b: float = 0.5  # B needs at least this share of single-bump images
    acc_c: float = 0.5  # C needs at least this accuracy …
    r2_c: float = 0.8  # … and at least this manifold R² …
    structure: str = "image"  # … of the layer's image-driven part (P1's "latent structure", not what the label
    # code alone gives: PAPERS §7 #26); "layer": of the layer as P1 records it


DEFAULT_RULE = PhaseRule()


def classify(counts: dict, acc: float, r2: float, rule: PhaseRule = DEFAULT_RULE) -> str:
    """'A', 'B' or 'C' for one snapshot. `counts` is the 0/1/>1 share histogram; a NaN R² is not used."""
    if acc >= rule.acc_c and (not np.isfinite(r2) or r2 >= rule.r2_c):
        return "C"
    if counts.get("1", 0.0) >= rule.single_b:
        return "B"
    return "A"


def onsets(steps, phases) -> dict[str, int | None]:
    """The first step at which each phase is reached and held from then on (later phases count as held)."""
    order = {"A": 0, "B": 1, "C": 2}
    out: dict[str, int | None] = {}
    ranks = [order[p] for p in phases]
    for name, rank in order.items():
        start = None
        for i in range(len(ranks)):
            if all(r >= rank for r in ranks[i:]):
                start = int(steps[i])
                break
        out[name] = start
    return out
