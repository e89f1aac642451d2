"""Is the representation factorized or coupled? (P2 Fig 3, docs/papers.md §2.4 and §6 #15.)

Every statistic takes `reps`, the mean representation r(x, y) on a label grid as an (nx, ny, D) array, so the
model and the reference tori (`references.py`) go through identical code.

Displacements: Δx(x1→x2 | y) = r(x2, y) − r(x1, y) and Δy(y1→y2 | x) = r(x, y2) − r(x, y1).
- x-on-y orthogonality: |cos| between Δx(x→x2 | y) and Δy(y→y2 | x) from a shared base point (x, y).
- x-on-y parallelism: the signed cos of the same pair.
- x-on-x parallelism: cos between Δx(x1→x2 | y) and Δx(x1→x2 | y′), the same step at another y.
- x-on-x orthogonality: |cos| between Δx(x1→x2 | y) and Δx(x3→x4 | y) over disjoint x pairs.
y-on-y: the same with x and y swapped. A Clifford torus gives x-on-y orthogonality 0 and x-on-x parallelism 1.
"""

from __future__ import annotations

import numpy as np


def _check_grid(reps: np.ndarray) -> np.ndarray:
    reps = np.asarray(reps, dtype=np.float64)
    if reps.ndim != 3 or reps.shape[0] < 2 or reps.shape[1] < 2:
        raise ValueError(f"reps must be an (nx ≥ 2, ny ≥ 2, D) grid, got shape {reps.shape}")
    if not np.isfinite(reps).all():
        raise ValueError("reps contain NaN or inf (a grid cell without data?)")
    return reps


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    na, nb = np.linalg.norm(a, axis=-1), np.linalg.norm(b, axis=-1)
    ok = (na > 1e-12) & (nb > 1e-12)
    out = np.full(na.shape, np.nan)
    out[ok] = (a[ok] * b[ok]).sum(-1) / (na[ok] * nb[ok])
    return np.clip(out, -1.0, 1.0)


def _distinct_pair(rng, n: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    a = rng.integers(0, n, size)
    b = (a + rng.integers(1, n, size)) % n
    return a, b


def _axis_stats(reps: np.ndarray, rng: np.random.Generator, n_pairs: int) -> dict:
    """x-on-x parallelism and orthogonality for axis 0 of `reps`."""
    nx, ny = reps.shape[:2]
    x1, x2 = _distinct_pair(rng, nx, n_pairs)
    y, y2 = _distinct_pair(rng, ny, n_pairs)
    step = reps[x2, y] - reps[x1, y]
    par = _cos(step, reps[x2, y2] - reps[x1, y2])
    out = {"par": par}
    if nx >= 4:  # disjoint pairs need four distinct values
        perm = np.argsort(rng.random((n_pairs, nx)), axis=1)[:, :4]
        a, b, c, d = perm.T
        out["orth"] = np.abs(_cos(reps[b, y] - reps[a, y], reps[d, y] - reps[c, y]))
    return out


def displacement_stats(reps: np.ndarray, *, n_pairs: int = 2000, seed: int = 0) -> dict[str, np.ndarray]:
    """Samples of the six statistics of the module docstring (arrays of n_pairs cosines each)."""
    reps = _check_grid(reps)
    rng = np.random.default_rng(seed)
    nx, ny = reps.shape[:2]
    x, x2 = _distinct_pair(rng, nx, n_pairs)
    y, y2 = _distinct_pair(rng, ny, n_pairs)
    cxy = _cos(reps[x2, y] - reps[x, y], reps[x, y2] - reps[x, y])
    out = {"x_on_y_orth": np.abs(cxy), "x_on_y_par": cxy}
    for name, grid in (("x", reps), ("y", reps.transpose(1, 0, 2))):
        for k, v in _axis_stats(grid, rng, n_pairs).items():
            out[f"{name}_on_{name}_{k}"] = v
    return {k: v[np.isfinite(v)] for k, v in out.items()}


def summarize(stats: dict[str, np.ndarray]) -> dict[str, float]:
    """Mean and spread of each statistic, for tables and reports."""
    out = {}
    for k, v in stats.items():
        out[f"{k}_mean"] = float(v.mean()) if len(v) else float("nan")
        out[f"{k}_std"] = float(v.std()) if len(v) else float("nan")
    return out


def subspace(displacements: np.ndarray, k: int) -> np.ndarray:
    """Orthonormal basis (D, k) of the top-k principal directions of a set of displacement vectors."""
    _, _, vt = np.linalg.svd(displacements, full_matrices=False)
    return vt[:k].T


def principal_angles(reps: np.ndarray, k: int = 2) -> np.ndarray:
    """Cosines of the principal angles between the x-variation and y-variation subspaces (top-k PCs of all
    Δx and of all Δy displacements): 0 for factorized (orthogonal) codes, 1 for shared directions."""
    reps = _check_grid(reps)
    dx = (reps - reps.mean(0, keepdims=True)).reshape(-1, reps.shape[-1])
    dy = (reps - reps.mean(1, keepdims=True)).reshape(-1, reps.shape[-1])
    k = min(k, reps.shape[-1])
    qx, qy = subspace(dx, k), subspace(dy, k)
    return np.clip(np.linalg.svd(qx.T @ qy, compute_uv=False), 0.0, 1.0)


def interaction_share(reps_on_grid: np.ndarray) -> float:
    """Two-way decomposition r(x, y) = m + a(x) + b(y) + i(x, y) over the grid; the share of the variance in
    the interaction term i. 0 for an additive (factorized) code such as the Clifford torus; large for a code
    of x·y."""
    r = _check_grid(reps_on_grid)
    m = r.mean((0, 1), keepdims=True)
    a = r.mean(1, keepdims=True) - m
    b = r.mean(0, keepdims=True) - m
    i = r - m - a - b
    total = ((r - m) ** 2).sum()
    return float((i**2).sum() / total) if total > 0 else 0.0


def factorization(reps: np.ndarray, *, n_pairs: int = 2000, seed: int = 0) -> dict[str, float]:
    """All geometry numbers of one grid: statistic means/stds, principal-angle cosines, interaction share."""
    out = summarize(displacement_stats(reps, n_pairs=n_pairs, seed=seed))
    cosines = principal_angles(reps)
    out["principal_cos_max"] = float(cosines.max())
    out["principal_cos_mean"] = float(cosines.mean())
    out["interaction_share"] = interaction_share(reps)
    return out
