"""Percolation on the label lattice (P2 Fig 6c, 13, 14b; construction [INFERRED], PAPERS.md §2.4, §6.20).

Sites are the dataset's grid labels; each is kept (is in the training set) as a uniform random subset of
size λ·n; two kept sites are joined when the overlap of their images exceeds a threshold. The statistic is
the largest connected mass ratio: |largest component| / #kept, averaged over draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..config import PercolationConfig
from ..data import grid, shift_overlap_1d, variance_factor


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
