"""What an experiment claims and how a verdict is computed: the Experiment record and pure helpers
(aggregated table rows in, numbers out) shared by the P1 and P2 experiments."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Experiment:
    name: str
    figure: str
    claim: str
    specs: dict[str, dict]  # scale → sweep spec (without its name)
    row_key: str | None  # the grid key that labels the rows of the figure (None: one run)
    draw: Callable
    judge: Callable
    sweep_of: str | None = None  # reuse that experiment's runs (same spec) instead of training new ones
    measure: Callable | None = None  # (rows, log) → rows with measured columns added, before draw and judge


def by_run(rows: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["run"], []).append(r)
    return {k: sorted(v, key=lambda r: r["step"]) for k, v in out.items()}


def onset(run_rows: list[dict], phase: str = "C") -> float:
    """The first step from which the run stays in `phase` (or later); inf when it never gets there."""
    order = {"A": 0, "B": 1, "C": 2}
    ranks = [order.get(r.get("phase") or "A", 0) for r in run_rows]
    for i in range(len(ranks)):
        if all(x >= order[phase] for x in ranks[i:]):
            return float(run_rows[i]["step"])
    return float("inf")


def first_reached(run_rows: list[dict], key: str = "acc", level: float = 0.5) -> float:
    """The first step at which `key` reaches `level` (inf if never): the learning speed of a run."""
    for r in run_rows:
        if r.get(key) is not None and r[key] >= level:
            return float(r["step"])
    return float("inf")


def spearman(a, b) -> float:
    from scipy.stats import spearmanr

    a, b = np.asarray(a, float), np.asarray(b, float)
    finite_max = np.nanmax(np.where(np.isfinite(b), b, np.nan)) if np.isfinite(b).any() else 0.0
    b = np.where(np.isinf(b), finite_max + 1, b)  # "never" ranks after every finite onset
    if len(a) < 3 or np.all(a == a[0]) or np.all(b == b[0]):
        return float("nan")
    return float(spearmanr(a, b).statistic)


def pearson(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or a[ok].std() == 0 or b[ok].std() == 0:
        return float("nan")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def final(rows: list[dict], key: str, share: float = 1 / 3) -> float:
    """Mean of `key` over the last third of a run's snapshots (one run's rows, sorted by step)."""
    tail = rows[-max(1, int(round(len(rows) * share))):]
    vals = [r[key] for r in tail if r.get(key) is not None]
    return float(np.mean(vals)) if vals else float("nan")


def seed_mean(rows: list[dict], key: Callable[[list[dict]], Hashable], col: str) -> dict:
    """{key(run): `final(col)` averaged over the runs (seeds) that share that key}; runs whose value is
    missing are left out of the mean (a key whose runs all lack it maps to nan)."""
    per: dict = {}
    for rs in by_run(rows).values():
        per.setdefault(key(rs), []).append(final(rs, col))
    return {k: float(np.nanmean(v)) if np.isfinite(v).any() else float("nan") for k, v in per.items()}
