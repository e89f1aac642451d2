"""Timing learning curves: when a curve rises, and how many steps one rises after another. Shared by the
claims about which of two quantities is learned first (p1-imbalance: R²_x and R²_y; p1-increment and p1-sigma:
the image-driven R² and accuracy)."""

from __future__ import annotations

from .base import finite

COUPLED_WITHIN = 0.1  # [INFERRED] coupled: R²_x and R²_y reach half their rise within 10 % of the training steps


def _rise(pts: list) -> tuple[float, float] | None:
    """(lowest value, final level: mean over the last third of the snapshots) of a learning curve; None when it
    has fewer than 3 points or rose by less than 0.2 (nothing learned to time)."""
    if len(pts) < 3:
        return None
    tail = [v for _, v in pts[-max(1, round(len(pts) / 3)):]]
    lo, hi = min(v for _, v in pts), sum(tail) / len(tail)
    return (lo, hi) if hi - lo >= 0.2 else None


def half_rise(steps: list, values: list) -> float:
    """The first step at which a learning curve is halfway from its lowest value to its final level (mean over
    the last third of the snapshots); nan when it rose by less than 0.2. One snapshot decides it, so a single
    UMAP outlier on the way up moves it by hundreds of steps: reported, not judged (see `rise_lag`)."""
    pts = [(s, v) for s, v in zip(steps, values) if finite(v)]
    rise = _rise(pts)
    if rise is None:
        return float("nan")
    lo, hi = rise
    return float(next(s for s, v in pts if v >= lo + 0.5 * (hi - lo)))


def rise_lag(steps: list, a: list, b: list) -> float:
    """How many steps curve `a` rises after curve `b`: the signed area between the two curves, each scaled from
    its lowest value (0) to its final level (1: mean over the last third) and clipped to [0, 1], integrated over
    the steps (trapezoids) as ∫ (b̂ − â) dstep. For two curves of the same shape shifted by τ it is exactly τ;
    for step-like curves it is the difference of their mean rise times. Every snapshot counts, so one UMAP
    outlier moves it by (its height × one snapshot interval), not by the distance to the next crossing as the
    half-rise step. nan when a curve rose by less than 0.2 or the steps shared by both are fewer than 3."""
    pts = [(s, x, y) for s, x, y in zip(steps, a, b) if finite(x, y)]
    ra, rb = _rise([(s, x) for s, x, _ in pts]), _rise([(s, y) for s, _, y in pts])
    if ra is None or rb is None:
        return float("nan")
    scale = lambda v, r: min(1.0, max(0.0, (v - r[0]) / (r[1] - r[0])))  # noqa: E731
    d = [(s, scale(y, rb) - scale(x, ra)) for s, x, y in pts]
    return float(sum((s1 - s0) * (d0 + d1) / 2 for (s0, d0), (s1, d1) in zip(d, d[1:])))
