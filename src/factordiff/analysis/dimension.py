"""Effective dimension (P2 Fig 2c,d): PCA spectrum, participation ratio, components for a share of variance."""

from __future__ import annotations

import numpy as np


def pca_eigenvalues(X: np.ndarray) -> np.ndarray:
    """Eigenvalues of the covariance of the (n, D) point cloud, largest first."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or len(X) < 2:
        raise ValueError(f"points must be an (n ≥ 2, D) array, got shape {X.shape}")
    Xc = X - X.mean(0)
    s = np.linalg.svd(Xc, compute_uv=False)
    return s**2 / (len(X) - 1)


def participation_ratio(X: np.ndarray) -> float:
    """PR = (Σλ)² / Σλ² of the PCA eigenvalues (docs/papers.md §6 #14 default): d for an isotropic d-dim Gaussian,
    4 for a Clifford torus, k for rank-k data with equal variances."""
    return _pr(pca_eigenvalues(X))


def _pr(lam: np.ndarray) -> float:
    total = lam.sum()
    return float(total**2 / (lam**2).sum()) if total > 0 else 0.0


def components_for(X: np.ndarray, share: float) -> int:
    """The number of principal components that explain at least `share` of the variance."""
    return _components(pca_eigenvalues(X), share)


def _components(lam: np.ndarray, share: float) -> int:
    if lam.sum() == 0:
        return 0
    cum = np.cumsum(lam) / lam.sum()
    return int(np.searchsorted(cum, share - 1e-12) + 1)


def spectrum(X: np.ndarray, k: int = 15) -> dict:
    """P2 Fig 2d: the explained-variance ratios of the first k PCs, the share of the top 4, PR and the PC
    counts for 90 % / 95 % of the variance."""
    lam = pca_eigenvalues(X)
    ratio = lam / lam.sum() if lam.sum() > 0 else lam
    ratio = np.pad(ratio[:k], (0, max(0, k - len(ratio))))
    return {"evr": [float(v) for v in ratio], "evr_top4": float(ratio[:4].sum()),
            "participation_ratio": _pr(lam), "pcs_90": _components(lam, 0.90),
            "pcs_95": _components(lam, 0.95)}  # one decomposition for every number
