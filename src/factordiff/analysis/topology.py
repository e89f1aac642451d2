"""Persistent homology of the representation (P2 Fig 2b) with ripser: Vietoris–Rips up to H2.

Preprocessing (PAPERS §6.17, adapted): centre, PCA to at most `pca_dims` dimensions, scale by the overall RMS
radius (one factor for all axes: per-axis z-scoring would blow tiny noise directions up to full size), then
greedy farthest-point landmarks (`n_landmarks`, ripser's n_perm) so H2 runs in seconds. `exact=True` uses
every point.

Betti numbers count "long" bars per dimension with a gap rule: sort the lifetimes (as shares of the cloud's
diameter, the infinite H0 bar capped at 1); among the bars longer than `floor`, find the largest ratio between
one bar and the next (a next bar shorter than floor/2 counts as floor/2, the noise level); the bars up to
that gap are long if the ratio is at least `gap`, else there are none.
"""

from __future__ import annotations

import numpy as np

FLOOR = 0.1  # a long bar lives longer than this share of the cloud's diameter …
GAP = 2.0  # … and at least this many times longer than the next bar


def prepare(points: np.ndarray, *, pca_dims: int = 10) -> np.ndarray:
    X = np.asarray(points, dtype=np.float64)
    if X.ndim != 2 or len(X) < 4 or not np.isfinite(X).all():
        raise ValueError(f"points must be a finite (n ≥ 4, D) array, got shape {X.shape}")
    X = X - X.mean(0)
    if X.shape[1] > pca_dims:
        u, s, _ = np.linalg.svd(X, full_matrices=False)
        X = u[:, :pca_dims] * s[:pca_dims]
    rms = np.sqrt((X**2).sum(1).mean())
    return X / rms if rms > 0 else X


def persistence(points: np.ndarray, *, maxdim: int = 2, n_landmarks: int = 200, exact: bool = False,
                pca_dims: int = 10, seed: int = 0) -> dict:
    """Persistence diagrams [(birth, death), ...] per dimension 0..maxdim, plus the scale used for 'long'."""
    from ripser import ripser

    X = prepare(points, pca_dims=pca_dims)
    if len(X) > n_landmarks and not exact:
        # ripser's greedy permutation starts at index 0; a seeded shuffle makes the start point explicit
        X = X[np.random.default_rng(seed).permutation(len(X))]
        res = ripser(X, maxdim=maxdim, n_perm=n_landmarks)
        used = X[res["idx_perm"]]
    else:
        res = ripser(X, maxdim=maxdim)
        used = X
    diam = float(np.sqrt(((used[:, None, :] - used[None, :, :]) ** 2).sum(-1)).max())
    return {"dgms": [np.asarray(d) for d in res["dgms"]], "diameter": diam, "n_points": len(used)}


def lifetimes(dgm: np.ndarray, cap: float) -> np.ndarray:
    """Bar lengths, with the infinite H0 bar capped at `cap`."""
    if len(dgm) == 0:
        return np.zeros(0)
    death = np.where(np.isfinite(dgm[:, 1]), dgm[:, 1], cap)
    return death - dgm[:, 0]


def count_long_bars(result: dict, *, floor: float = FLOOR, gap: float = GAP) -> tuple[int, ...]:
    scale = result["diameter"]
    out = []
    for dgm in result["dgms"]:
        life = np.sort(lifetimes(dgm, scale) / scale)[::-1]
        life = np.append(life, 0.0)
        n_above = int((life > floor).sum())
        if n_above == 0:
            out.append(0)
            continue
        ratios = life[:n_above] / np.maximum(life[1:n_above + 1], floor / 2)
        k = int(np.argmax(ratios))
        out.append(k + 1 if ratios[k] >= gap else 0)
    return tuple(out)


def betti_numbers(points: np.ndarray, *, maxdim: int = 2, seed: int = 0, floor: float = FLOOR, gap: float = GAP,
                  n_landmarks: int = 200, exact: bool = False) -> tuple[int, ...]:
    """(b0, …, b_maxdim) from long bars: a noisy circle → (1, 1, 0), a torus → (1, 2, 1), a sphere → (1, 0, 1)."""
    res = persistence(points, maxdim=maxdim, n_landmarks=n_landmarks, exact=exact, seed=seed)
    return count_long_bars(res, floor=floor, gap=gap)
