"""How well a layer's point cloud orders the labels, without an embedding, and how many dimensions it has.

P1 reads order as the R² of a linear regression of µx, µy on a 3-D UMAP of 300 points (embed.manifold_r2): the
faithful reading, kept and drawn. As a decision statistic it moves ±0.04–0.1 between adjacent snapshots (the UMAP
layout over few points), so phase C is decided on a steadier one: the cross-validated R² of a k-nearest-neighbour
regression of the labels from the cloud (`probe_r2`: high when points with nearby labels are neighbours, a locally
ordered manifold of any shape; deterministic for a given cloud). Measured on three p1-holes runs
(`scripts/phase-statistic.py`, docs/phases.md): over the last third of training its snapshot-to-snapshot change
on the image-driven part is 0.006–0.011 against UMAP's 0.012–0.039.

`intrinsic_dimension` is the TwoNN estimate (Facco et al. 2017, scikit-dimension): ≈ 2 for a 2-D manifold in
any ambient dimension, ≈ 50 for the untrained network's noise-driven part; P1's phase B is a "quasi-2D" manifold.
"""

from __future__ import annotations

import numpy as np

PROBE_K = 10  # neighbours of the k-NN regression (≈ 3 % of a 350-point snapshot)
PROBE_FOLDS = 5  # cross-validation folds (shuffled with a fixed seed: deterministic)


def probe_r2(X: np.ndarray, labels: np.ndarray, *, k: int = PROBE_K, folds: int = PROBE_FOLDS, seed: int = 0) -> dict:
    """Cross-validated R² of a k-NN regression of each label from the points X (n, D): {'r2_x', 'r2_y', 'r2'
    (their mean)}. Labels with NaN (a coordinate a 1-D stripe does not have) are left out of that coordinate's
    fit; a coordinate with fewer than `folds` × 2 points or no variance gives NaN. 1 for a cloud that is a smooth
    injective function of the labels, ≈ 0 or below for one unrelated to them."""
    from sklearn.model_selection import KFold, cross_val_predict
    from sklearn.neighbors import KNeighborsRegressor

    X, labels = np.asarray(X, dtype=np.float64), np.asarray(labels, dtype=np.float64)
    if X.ndim != 2 or labels.shape != (len(X), 2):
        raise ValueError(f"probe_r2: X must be (n, D) and labels (n, 2), got {X.shape} and {labels.shape}")
    out = {}
    if np.isfinite(labels).all() and len(X) >= 2 * folds and (labels.var(0) > 0).all():  # both at once (one fit)
        cv = KFold(folds, shuffle=True, random_state=seed)
        pred = cross_val_predict(KNeighborsRegressor(min(k, len(X) - len(X) // folds - 1)), X, labels, cv=cv)
        r2 = 1.0 - ((labels - pred) ** 2).mean(0) / labels.var(0)
        out = {"r2_x": float(r2[0]), "r2_y": float(r2[1]), "r2": float(r2.mean())}
        return out
    for name, col in (("r2_x", 0), ("r2_y", 1)):
        ok = np.isfinite(labels[:, col])
        y = labels[ok, col]
        if ok.sum() < 2 * folds or y.var() == 0:
            out[name] = float("nan")
            continue
        cv = KFold(folds, shuffle=True, random_state=seed)
        pred = cross_val_predict(KNeighborsRegressor(min(k, ok.sum() - ok.sum() // folds - 1)), X[ok], y, cv=cv)
        out[name] = float(1.0 - ((y - pred) ** 2).mean() / y.var())
    vals = [out["r2_x"], out["r2_y"]]
    out["r2"] = float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")
    return out


def intrinsic_dimension(X: np.ndarray) -> float:
    """The TwoNN intrinsic dimension of the point cloud X (n ≥ 10, D) (scikit-dimension, its defaults: the 10 %
    largest neighbour-distance ratios discarded); NaN when duplicate points make it undefined."""
    import skdim

    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or len(X) < 10:
        raise ValueError(f"intrinsic_dimension: X must be (n ≥ 10, D), got {X.shape}")
    with np.errstate(divide="ignore", invalid="ignore"):
        d = skdim.id.TwoNN().fit(X).dimension_
    return float(d) if np.isfinite(d) else float("nan")


def order_columns(X: np.ndarray, labels: np.ndarray, image: np.ndarray | None = None,
                  label_only: np.ndarray | None = None) -> dict:
    """The analysis row's probe columns: `r2_probe` (+ _x, _y) of the layer, `r2_image_probe` of its image-driven
    part and `r2_label_probe` of its label-only response (when given), and the TwoNN dimension of the layer
    (`id_layer`) and of the image-driven part (`id_image`)."""
    from threadpoolctl import threadpool_limits

    def dim(cloud):  # a tiny run's snapshot (< 10 samples) has no TwoNN estimate
        return intrinsic_dimension(cloud) if len(cloud) >= 10 else float("nan")

    # scikit-learn's neighbour searches on one OpenMP thread: on 300-point clouds its threads only spin, and beside
    # a training process they spin on its core (3 clouds of 300 × 1024 beside a two-run sweep: 1,147 ms with
    # OpenMP's default threads, 68 ms on one; the same numbers)
    with threadpool_limits(limits=1, user_api="openmp"):
        out = {f"{k}_probe": v for k, v in probe_r2(X, labels).items()}
        out["id_layer"] = dim(X)
        for prefix, cloud in (("r2_image", image), ("r2_label", label_only)):
            if cloud is not None:
                out |= {f"{k.replace('r2', prefix, 1)}_probe": v for k, v in probe_r2(cloud, labels).items()}
        if image is not None:
            out["id_image"] = dim(image)
    return out
