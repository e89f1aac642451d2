"""Percolation on the label lattice (P2 Fig 6c, 13, 14b; construction [INFERRED], docs/papers.md §2.4, §6 #20).

Sites are the dataset's grid labels; each is kept (is in the training set) as a uniform random subset of
size λ·n; two kept sites are joined when the overlap of their images exceeds a threshold. The statistic is
the largest connected mass ratio: |largest component| / #kept, averaged over draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..checks import check_choice, check_number
from ..data import grid, shift_overlap_1d, variance_factor
from ..errors import ConfigError


@dataclass(frozen=True)
class PercolationConfig:
    """P2 Fig 6c / 13 / 14b: site percolation on the label lattice, joined by image overlap (docs/papers.md §2.4)."""

    section: ClassVar[str] = "percolation"

    image_size: int = 32  # lattice = label grid 0..N at `increment` ([INFERRED] L = N, d = 1)
    increment: float = 1.0
    sigmas: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0)  # P2 Fig 6e uses several σ ≤ 1
    thresholds: tuple[float, ...] = (0.005, 0.05)  # P2 Fig 6c: 0.005; Fig 14b: 0.05
    fractions: tuple[float, ...] = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)  # λ
    draws: int = 20  # [INFERRED] ≥ 20 random draws per point (docs/papers.md §6 #20)
    overlap: str = "pixel"  # P1 A.5 overlap of rendered images; "continuum" = closed form exp(−Δ²/4kσ²)
    variance_convention: str = "4sigma2"
    seed: int = 0

    def __post_init__(self) -> None:
        p = self.section + "."
        check_number(p + "image_size", self.image_size, 4, 256, integer=True)
        check_number(p + "increment", self.increment, 0, self.image_size, lo_open=True)
        for name, lo, hi, lo_open in (("sigmas", 0, self.image_size, True), ("thresholds", 0, 1, True),
                                      ("fractions", 0, 1, True)):
            values = getattr(self, name)
            if not values:
                raise ConfigError(p + name, list(values), "a non-empty list")
            for v in values:
                check_number(f"{p}{name}", v, lo, hi, lo_open=lo_open)
        check_number(p + "draws", self.draws, 1, 10_000, integer=True)
        check_choice(p + "overlap", self.overlap, ("pixel", "continuum"))
        check_choice(p + "variance_convention", self.variance_convention, ("4sigma2", "2sigma2"))
        check_number(p + "seed", self.seed, 0, 2**32 - 1, integer=True)

def offset_overlaps(sigma: float, increment: float, n_sites: int, *, mode: str = "pixel",
                    variance_convention: str = "4sigma2") -> np.ndarray:
    """(2L−1, 2L−1) overlap between sites displaced by (a, b) lattice steps, a, b ∈ −(L−1)…L−1."""
    shifts = increment * np.arange(-(n_sites - 1), n_sites)
    if mode == "pixel":  # P1 A.5 measure on rendered bumps; separable, so a product of 1D factors
        o1 = shift_overlap_1d(sigma, shifts, variance_convention=variance_convention,
                              length=max(256, 4 * n_sites))
        return np.outer(o1, o1)
    c = variance_factor(variance_convention)  # continuum: sqrt(Σab/Σa²) = exp(−Δ²/(4cσ²))
    d2 = shifts[:, None] ** 2 + shifts[None, :] ** 2
    return np.exp(-d2 / (4 * c * sigma**2))


def neighbour_pairs(n_sites: int, overlaps: np.ndarray, threshold: float) -> np.ndarray:
    """(E, 2) flat indices of every pair of lattice sites whose overlap exceeds `threshold` (each pair once)."""
    centre = n_sites - 1
    a, b = np.nonzero(overlaps > threshold)
    da, db = a - centre, b - centre
    half = (da > 0) | ((da == 0) & (db > 0))  # one of ±offset, never 0
    pairs = []
    ii, jj = np.meshgrid(np.arange(n_sites), np.arange(n_sites), indexing="ij")
    for oa, ob in zip(da[half], db[half]):
        i2, j2 = ii + oa, jj + ob
        ok = (i2 >= 0) & (i2 < n_sites) & (j2 >= 0) & (j2 < n_sites)
        pairs.append(np.stack([(ii * n_sites + jj)[ok], (i2 * n_sites + j2)[ok]], axis=1))
    return np.concatenate(pairs) if pairs else np.zeros((0, 2), dtype=np.int64)


def largest_cluster_ratio(kept: np.ndarray, pairs: np.ndarray) -> float:
    """|largest connected component among kept sites| / #kept (0 when nothing is kept)."""
    n_kept = int(kept.sum())
    if n_kept == 0:
        return 0.0
    index = np.full(len(kept), -1)
    index[kept] = np.arange(n_kept)
    live = pairs[kept[pairs[:, 0]] & kept[pairs[:, 1]]]
    graph = coo_matrix((np.ones(len(live)), (index[live[:, 0]], index[live[:, 1]])), shape=(n_kept, n_kept))
    _, comp = connected_components(graph, directed=False)
    return float(np.bincount(comp).max() / n_kept)


@dataclass(frozen=True)
class PercolationResult:
    config: PercolationConfig
    mean: np.ndarray  # (sigmas, thresholds, fractions) mean largest-cluster ratio
    std: np.ndarray
    neighbours: np.ndarray  # (sigmas, thresholds): sites joined to an interior site

    def threshold_crossing(self, level: float = 0.5) -> np.ndarray:
        """(sigmas, thresholds) λ_c: the first λ at which the mean ratio reaches `level` (linear
        interpolation); NaN when it never does."""
        lam = np.asarray(self.config.fractions)
        out = np.full(self.mean.shape[:2], np.nan)
        for idx in np.ndindex(*out.shape):
            m = self.mean[idx]
            above = np.flatnonzero(m >= level)
            if len(above) == 0:
                continue
            k = above[0]
            if k == 0:
                out[idx] = lam[0]
            else:
                t = (level - m[k - 1]) / (m[k] - m[k - 1])
                out[idx] = lam[k - 1] + t * (lam[k] - lam[k - 1])
        return out


def simulate(cfg: PercolationConfig, progress=None) -> PercolationResult:
    """Mass ratio vs λ for every σ and threshold of `cfg` (seeded; `progress` is an optional callback)."""
    n_sites = len(grid(0.0, 0.0, float(cfg.image_size), cfg.increment))
    n = n_sites * n_sites
    shape = (len(cfg.sigmas), len(cfg.thresholds), len(cfg.fractions))
    mean, std = np.zeros(shape), np.zeros(shape)
    neighbours = np.zeros(shape[:2], dtype=np.int64)
    rng = np.random.default_rng(cfg.seed)
    for si, sigma in enumerate(cfg.sigmas):
        overlaps = offset_overlaps(sigma, cfg.increment, n_sites, mode=cfg.overlap,
                                   variance_convention=cfg.variance_convention)
        for ti, thr in enumerate(cfg.thresholds):
            neighbours[si, ti] = int((overlaps > thr).sum()) - 1
            pairs = neighbour_pairs(n_sites, overlaps, thr)
            for fi, lam in enumerate(cfg.fractions):
                ratios = []
                for _ in range(cfg.draws):
                    kept = np.zeros(n, dtype=bool)
                    kept[rng.choice(n, size=int(round(lam * n)), replace=False)] = True
                    ratios.append(largest_cluster_ratio(kept, pairs))
                mean[si, ti, fi], std[si, ti, fi] = np.mean(ratios), np.std(ratios)
                if progress is not None:
                    progress()
    return PercolationResult(cfg, mean, std, neighbours)
