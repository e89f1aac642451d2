"""Manifold quality (P1 §3): reduce the recorded layer to 3-D with UMAP (or PCA) and ask how well a linear map
recovers the conditioning labels. An ordered 2-D manifold gives R² → 1; phases A/B give low R²."""

from __future__ import annotations

import contextlib
import sys
import types
import warnings

import numpy as np

UMAP_DEFAULTS = {"n_neighbors": 15, "min_dist": 0.1}  # umap-learn defaults, unstated in P1 (docs/papers.md §6 #13)


def _check_points(X: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or len(X) < 5:
        raise ValueError(f"points must be an (n ≥ 5, D) array, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("points contain NaN or inf")
    if labels is not None and len(labels) != len(X):
        raise ValueError(f"{len(labels)} labels for {len(X)} points")
    return X


def embed(X: np.ndarray, *, method: str = "umap", dim: int = 3, seed: int = 0, **umap_kw) -> np.ndarray:
    """(n, D) → (n, dim): UMAP with a fixed random_state (P1: umap-learn, 3-D) or PCA (deterministic)."""
    X = _check_points(X)
    if method == "pca":
        from sklearn.decomposition import PCA

        k = min(dim, X.shape[1], len(X))
        Y = PCA(n_components=k, svd_solver="full").fit_transform(X)
        return np.pad(Y, ((0, 0), (0, dim - k)))
    if method == "umap":
        return umap_many([(X, seed)], dim=dim, **umap_kw)[0]
    raise ValueError(f"method must be 'umap' or 'pca', got {method!r}")


def _umap_fit(X: np.ndarray, *, dim: int, seed: int, **umap_kw) -> np.ndarray:
    """One UMAP fit of checked points (the body of `embed`; safe to run in several threads at once: every
    random state is the fit's own, and the compiled kernels release the GIL)."""
    import umap

    kw = UMAP_DEFAULTS | umap_kw
    kw["n_neighbors"] = min(kw["n_neighbors"], len(X) - 1)
    if kw.get("metric", "euclidean") == "euclidean" and len(X) < SMALL_DATA:
        # umap-learn's own small-data path, with the distance matrix computed by a compiled loop instead of a
        # Python-level metric call per pair: the same numbers (umap.distances.euclidean on float32 input)
        kw["metric"], X = "precomputed", umap_distances(X)
    reducer = umap.UMAP(n_components=dim, random_state=seed, n_jobs=1, **kw)
    return np.asarray(reducer.fit_transform(X), dtype=np.float64)


@contextlib.contextmanager
def _quiet_umap():
    """Around UMAP fits (in the calling thread, not inside worker threads: both are process-wide): silence the
    precomputed-metric warning, and restore torch's thread count, which numba's parallel kernels reset through
    OpenMP (a 1-thread worker would otherwise train at 2)."""
    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch else None
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="using precomputed metric", category=UserWarning)
            yield
    finally:
        if torch and torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


def umap_many(jobs: list[tuple[np.ndarray, int]], *, threads: int = 1, dim: int = 3, **umap_kw) -> list[np.ndarray]:
    """3-D UMAP embeddings of several (points, seed) pairs, `threads` fits at a time in one process: each equal,
    bit for bit, to `embed(points, seed=seed)` alone (a fit's layout runs in one thread and releases the GIL).
    In order of `jobs`."""
    if not (isinstance(threads, int) and threads >= 1):
        raise ValueError(f"threads must be an integer ≥ 1, got {threads!r}")
    checked = [(_check_points(X), int(s)) for X, s in jobs]
    _cache_umap_kernels()  # compiled (or loaded) here, once, before any thread runs them
    with _quiet_umap():
        if threads == 1 or len(checked) <= 1:
            return [_umap_fit(X, dim=dim, seed=s, **umap_kw) for X, s in checked]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(threads, len(checked))) as pool:
            return list(pool.map(lambda job: _umap_fit(job[0], dim=dim, seed=job[1], **umap_kw), checked))


SMALL_DATA = 4096  # umap-learn computes all pairwise distances below this many points (its `_small_data` path)
_PAIRWISE = None


def umap_distances(X: np.ndarray) -> np.ndarray:
    """The (n, n) Euclidean distance matrix exactly as umap-learn's small-data path computes it
    (`pairwise_distances(X32, metric=umap.distances.euclidean)`: float32 input and output, float64 sums), by one
    compiled loop (numba, cached on disk) instead of a Python call per pair."""
    global _PAIRWISE
    if _PAIRWISE is None:
        import numba
        from umap.distances import euclidean

        @numba.njit(cache=True, nogil=True)
        def pairwise(x):
            n = x.shape[0]
            out = np.zeros((n, n))
            for i in range(n):
                for j in range(i + 1, n):
                    out[i, j] = out[j, i] = euclidean(x[i], x[j])
            return out

        _PAIRWISE = pairwise
    return _PAIRWISE(np.ascontiguousarray(X, dtype=np.float32)).astype(np.float32)  # sklearn's output dtype


_CACHED = False


def _cache_umap_kernels() -> None:
    """umap-learn compiles its kernels with numba in every process (≈ 13–17 s per process on 2 cores: none is
    declared `cache=True`). Recompile the ones a small-data fit runs with `cache=True`, once per process, so that
    every later process loads them from numba's on-disk cache: the same functions and options, compiled once,
    and declared `nogil` so that fits in several threads run at once (`umap_many`; the GIL changes no number)."""
    global _CACHED
    if _CACHED:
        return
    import numba
    import umap.layouts as layouts
    import umap.umap_ as umap_

    def cached(d):
        opts = {k: v for k, v in d.targetoptions.items() if k not in ("nopython", "boundscheck")}
        # numba's on-disk cache is keyed by the function's qualified name and signature, not by options such as
        # nogil: under its own name, so that a copy cached without nogil (an earlier version) is never loaded
        f = d.py_func
        g = types.FunctionType(f.__code__, f.__globals__, f.__name__, f.__defaults__, f.__closure__)
        g.__qualname__, g.__module__, g.__doc__ = f"{f.__qualname__}_nogil", f.__module__, f.__doc__
        return numba.njit(cache=True, nogil=True, locals=dict(d.locals), **opts)(g)

    for module, name in ((umap_, "fast_knn_indices"), (umap_, "smooth_knn_dist"),
                         (umap_, "compute_membership_strengths"),
                         (layouts, "_nb_optimize_layout_euclidean_single_epoch")):
        fn = getattr(module, name, None)
        if isinstance(fn, numba.core.registry.CPUDispatcher) and not fn.targetoptions.get("cache"):
            setattr(module, name, cached(fn))
    _CACHED = True


def linear_r2(Y: np.ndarray, target: np.ndarray) -> float:
    """R² of the least-squares linear regression (with intercept) of a scalar target on Y (P1 §3)."""
    target = np.asarray(target, dtype=np.float64)
    var = target.var()
    if var == 0:
        return float("nan")
    A = np.column_stack([Y, np.ones(len(Y))])
    coef, *_ = np.linalg.lstsq(A, target, rcond=None)
    resid = target - A @ coef
    return float(1.0 - resid.var() / var)


def manifold_r2(X: np.ndarray, labels: np.ndarray, *, method: str = "umap", seed: int = 0, dim: int = 3,
                **umap_kw) -> dict:
    """P1: R²_x, R²_y of linear regressions of µx and µy on the 3-D embedding, and their mean `r2`.

    Labels with NaN (a coordinate a 1-D stripe does not have) are left out of that coordinate's fit."""
    labels = np.asarray(labels, dtype=np.float64)
    X = _check_points(X, labels)
    Y = embed(X, method=method, dim=dim, seed=seed, **umap_kw)
    out = {}
    for name, col in (("r2_x", 0), ("r2_y", 1)):
        ok = np.isfinite(labels[:, col])
        out[name] = linear_r2(Y[ok], labels[ok, col]) if ok.sum() >= 3 else float("nan")
    out["r2"] = float(np.nanmean([out["r2_x"], out["r2_y"]])) if np.isfinite([out["r2_x"], out["r2_y"]]).any() \
        else float("nan")
    return out


def manifold_r2_seeds(X: np.ndarray, labels: np.ndarray, *, method: str = "umap", seeds=(0, 1, 2),
                      shuffle_seed: int | None = 0, dim: int = 3, threads: int = 1, **umap_kw) -> dict:
    """`manifold_r2` averaged over UMAP seeds (PCA is deterministic: one), with the seed-to-seed spread
    (`r2_std`, the population std of the mean R²) and, on the same embeddings, the shuffled-label floor
    `r2_shuffled` (labels permuted with `shuffle_seed`; what an embedding that knows nothing of the labels
    scores). `threads`: UMAP fits run at once (`umap_many`; the same numbers)."""
    labels = np.asarray(labels, dtype=np.float64)
    X = _check_points(X, labels)
    Ys = umap_many([(X, s) for s in seeds], threads=threads, dim=dim, **umap_kw) if method == "umap" \
        else [embed(X, method=method, dim=dim)]  # PCA is deterministic: one (another method: embed refuses it)
    return r2_over_embeddings(Ys, labels, shuffle_seed=shuffle_seed)


def r2_over_embeddings(embeddings: list[np.ndarray], labels: np.ndarray, *, shuffle_seed: int | None = 0) -> dict:
    """The numbers of `manifold_r2_seeds` from embeddings already made (one per UMAP seed) of the same points:
    mean R², R²_x, R²_y over the embeddings, `r2_std` and (with `shuffle_seed`) the shuffled-label floor."""
    labels = np.asarray(labels, dtype=np.float64)
    perm = np.random.default_rng(shuffle_seed).permutation(len(labels)) if shuffle_seed is not None else None
    per, floor = [], []
    for Y in embeddings:
        if len(Y) != len(labels):
            raise ValueError(f"{len(labels)} labels for an embedding of {len(Y)} points")
        one = {}
        for name, col in (("r2_x", 0), ("r2_y", 1)):
            ok = np.isfinite(labels[:, col])
            one[name] = linear_r2(Y[ok], labels[ok, col]) if ok.sum() >= 3 else float("nan")
            if perm is not None:
                sh = labels[perm]
                ok2 = np.isfinite(sh[:, col])
                floor.append(linear_r2(Y[ok2], sh[ok2, col]) if ok2.sum() >= 3 else float("nan"))
        one["r2"] = float(np.nanmean([one["r2_x"], one["r2_y"]])) if np.isfinite(list(one.values())).any() \
            else float("nan")
        per.append(one)
    out = {k: float(np.nanmean([p[k] for p in per])) for k in ("r2", "r2_x", "r2_y")}
    out["r2_std"] = float(np.nanstd([p["r2"] for p in per]))
    if perm is not None:
        out["r2_shuffled"] = float(np.nanmean(floor))
    return out


def r2_columns(clouds: dict, labels: np.ndarray, methods, seeds, threads: int = 1) -> dict:
    """R² columns of several clouds of the same points (`manifold_r2_seeds` each): {prefix: (points, shuffle seed
    or None)} → columns `{prefix}_{method}`, `{prefix}_x_{method}`, …; every cloud's UMAP fits at once,
    `threads` at a time (the same numbers as one after another)."""
    out = {}
    fits = {}
    if "umap" in methods:
        jobs = [(X, s) for X, _ in clouds.values() for s in seeds]
        made = iter(umap_many(jobs, threads=threads))
        fits = {prefix: [next(made) for _ in seeds] for prefix in clouds}
    for prefix, (X, shuffle) in clouds.items():
        for m in methods:
            if m == "umap":
                r = r2_over_embeddings(fits[prefix], labels, shuffle_seed=shuffle)
            else:
                r = manifold_r2_seeds(X, labels, method=m, seeds=seeds, shuffle_seed=shuffle)
            out |= {f"{k.replace('r2', prefix, 1)}_{m}": v for k, v in r.items()}
    return out
