"""Representation analyses: pure functions, arrays in, numbers out, explicit seeds."""

from .dimension import components_for, participation_ratio, spectrum
from .embed import embed, linear_r2, manifold_r2
from .geometry import displacement_stats, factorization, interaction_share, principal_angles
from .phases import DEFAULT_RULE, PhaseRule, classify, onsets
from .topology import betti_numbers, persistence

__all__ = ["DEFAULT_RULE", "PhaseRule", "betti_numbers", "classify", "components_for", "displacement_stats", "embed",
           "factorization", "interaction_share", "linear_r2", "manifold_r2", "onsets", "participation_ratio",
           "persistence", "principal_angles", "spectrum"]
