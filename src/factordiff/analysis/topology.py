"""Persistent homology of the representation (P2 Fig 2b) with ripser: Vietoris–Rips up to H2.

Preprocessing (docs/papers.md §6 #17, adapted): centre, PCA to at most `pca_dims` dimensions, scale by the overall RMS
radius (one factor for all axes: per-axis z-scoring would blow tiny noise directions up to full size).

Distances (`metric`): "geodesic" (the default) is the shortest-path length through the symmetrised graph of
each point's `neighbors` nearest neighbours (Isomap's distance; Gardner et al. 2022 read grid-cell tori with a
graph distance of the same kind); "euclidean" is the straight line. On a label grid as coarse as the probe's
(16 × 16) a torus of revolution in R³ has its outer rim sampled 3× sparser than its tube, and Euclidean Rips
fills the tube before the rim's gaps close: (1, 17, 1) or (1, 0, 0) where it is a torus. Through the graph
the way across the tube is the way round it, so the void lives long enough to be seen (tests/test_analysis.py:
ideal 3-D and Clifford tori with noise at 16 × 16 and 20 × 20 → (1, 2, 1), a sheet → (1, 0, 0), a cylinder →
(1, 1, 0)). Clouds with more than `n_landmarks` points keep that many greedy farthest-point landmarks
(ripser's n_perm) of the full distance matrix; `exact=True` uses every point.

Betti numbers count "long" bars per dimension with a gap rule: sort the lifetimes (as shares of the cloud's
diameter, the infinite H0 bar capped at 1); among the bars longer than `floor`, find the largest ratio between
one bar and the next (a next bar shorter than floor/2 counts as floor/2, the noise level); the bars up to
that gap are long if the ratio is at least `gap`, else there are none.
"""

from __future__ import annotations

import signal

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


METRICS = ("geodesic", "euclidean")
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
NEIGHBORS = 14  # graph neighbours of the geodesic distance: ≈ 2 label steps on a 2-D grid
LANDMARKS = 400  # clouds up to this size are used whole (a 16 × 16 or 20 × 20 probe)


def distances(points: np.ndarray, *, metric: str = "geodesic", neighbors: int = NEIGHBORS,
              pca_dims: int = 10) -> np.ndarray:
    """The (n, n) distance matrix of the prepared cloud; a graph in pieces gets 2 × its largest finite
    distance between the pieces (each piece then shows as its own long H0 bar)."""
    from scipy.spatial.distance import pdist, squareform

    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    X = prepare(points, pca_dims=pca_dims)
    D = squareform(pdist(X))
    if metric == "euclidean":
        return D
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import shortest_path

    k = int(min(max(neighbors, 1), len(X) - 1))
    nearest = np.argsort(D, axis=1)[:, 1:k + 1]
    rows = np.repeat(np.arange(len(X)), k)
    G = csr_matrix((D[rows, nearest.ravel()], (rows, nearest.ravel())), shape=D.shape)
    G = G.maximum(G.T)
    out = shortest_path(G, directed=False)
    finite = np.isfinite(out)
    if not finite.all():
        out[~finite] = 2 * out[finite].max()
    return out


def _ripser_child(conn, D: np.ndarray, kw: dict, parent: int) -> None:
    import os

    for s in STOP_SIGNALS:  # the parent's handlers raise; here a stop just ends the process
        signal.signal(s, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # blocked by the parent around the fork
    try:  # Linux: end with the parent (a kill -9 of it would otherwise leave this computing to no one)
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)
    try:
        from ripser import ripser

        res = ripser(D, **kw)
        conn.send({"dgms": res["dgms"], "idx_perm": res["idx_perm"]})
    except BaseException as e:  # noqa: BLE001 — handed to the parent, which raises it
        conn.send(e)
    finally:
        conn.close()


def run_ripser(D: np.ndarray, **kw) -> dict:
    """ripser(D, **kw)'s diagrams and landmark indices, computed in a forked child process: ripser holds the
    GIL through one call (16 s for 400 landmarks of a noisy 1,152-point cloud up to H2 on a 2-core Xeon), so a
    stop signal's handler could run only after it; here the parent waits in a pipe read, which the handler
    interrupts at once, and the child is killed. Where fork is unavailable (Windows) or this process may not
    have children (a daemonic one), ripser runs here."""
    import multiprocessing as mp
    import os

    from ripser import ripser  # here, not in the child: the import takes 1.6 s (scikit-learn), the fork inherits it

    if "fork" not in mp.get_all_start_methods() or mp.current_process().daemon:
        res = ripser(D, **kw)
        return {"dgms": res["dgms"], "idx_perm": res["idx_perm"]}
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_ripser_child, args=(send, D, kw, os.getpid()), daemon=True, name="ripser")
    try:  # a stop signal may land anywhere in here; during the fork it waits (see below)
        # blocked across the fork: one landing there ran the handler inside the fork's at-fork callbacks (logging's
        # lock release), whose exceptions Python prints and drops, so the stop was lost (CI, stop 59)
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            child.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a stop that came meanwhile is handled here
        send.close()  # the child's end: the parent's read sees EOF if the child dies
        out = recv.recv()
    except EOFError:
        child.join()
        raise RuntimeError(f"ripser's child process ended without a result (exit code {child.exitcode}; "
                           "a negative code is the signal that ended it, -9 often the out-of-memory killer)") from None
    finally:
        send.close()
        recv.close()
        if child.pid is not None:
            if child.is_alive():
                child.kill()
            child.join()
    if isinstance(out, BaseException):
        raise out
    return out


def persistence(points: np.ndarray, *, maxdim: int = 2, n_landmarks: int = LANDMARKS, exact: bool = False,
                pca_dims: int = 10, seed: int = 0, metric: str = "geodesic", neighbors: int = NEIGHBORS) -> dict:
    """Persistence diagrams [(birth, death), ...] per dimension 0..maxdim, plus the scale used for 'long'."""
    D = distances(points, metric=metric, neighbors=neighbors, pca_dims=pca_dims)
    if len(D) > n_landmarks and not exact:
        # ripser's greedy permutation starts at index 0; a seeded shuffle makes the start point explicit
        order = np.random.default_rng(seed).permutation(len(D))
        D = D[np.ix_(order, order)]
        res = run_ripser(D, maxdim=maxdim, distance_matrix=True, n_perm=n_landmarks)
        used = res["idx_perm"]
    else:
        res = run_ripser(D, maxdim=maxdim, distance_matrix=True)
        used = np.arange(len(D))
    diam = float(D[np.ix_(used, used)].max())
    return {"dgms": [np.asarray(d) for d in res["dgms"]], "diameter": diam, "n_points": len(used),
            "metric": metric, "neighbors": neighbors}


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
                  n_landmarks: int = LANDMARKS, exact: bool = False, metric: str = "geodesic",
                  neighbors: int = NEIGHBORS) -> tuple[int, ...]:
    """(b0, …, b_maxdim) from long bars: a noisy circle → (1, 1, 0), a torus → (1, 2, 1), a sphere → (1, 0, 1)."""
    res = persistence(points, maxdim=maxdim, n_landmarks=n_landmarks, exact=exact, seed=seed, metric=metric,
                      neighbors=neighbors)
    return count_long_bars(res, floor=floor, gap=gap)


def top_lifetimes(result: dict, n: int = 3) -> list[list[float]]:
    """The n longest bars per dimension as shares of the cloud's diameter (H0's infinite bar counts as 1)."""
    scale = result["diameter"]
    return [[round(float(v), 4) for v in np.sort(lifetimes(d, scale) / scale)[::-1][:n]] for d in result["dgms"]]


# The stability check: the same cloud through other neighbour counts and through landmark subsets.
# (k = 10 is not among them: it misreads the ideal 3-D torus at 16 × 16 as (1, 0, 0), where 14 and 20 read
# (1, 2, 1); a variant that cannot see the known answer would only add noise to the agreement.)
STABILITY = {"k20": {"neighbors": 20},
             "landmarks200_seed0": {"n_landmarks": 200, "seed": 0},
             "landmarks200_seed1": {"n_landmarks": 200, "seed": 1}}


def topology(points: np.ndarray, *, seed: int = 0, stability: bool = True, **kw) -> dict:
    """Betti numbers with their evidence: the default measurement's Betti numbers and top lifetimes, and
    (`stability`) the Betti numbers under each STABILITY variant and the share of the variants that agree
    with the default (1.0: every variant reads the same numbers)."""
    res = persistence(points, seed=seed, **kw)
    out = {"betti": list(count_long_bars(res)), "lifetimes": top_lifetimes(res), "metric": res["metric"],
           "neighbors": res["neighbors"], "n_points": res["n_points"]}
    if stability:
        variants = {name: ",".join(map(str, betti_numbers(points, **({"seed": seed} | kw | v))))
                    for name, v in STABILITY.items()}
        default = ",".join(map(str, out["betti"]))
        out |= {"variants": variants, "agree": sum(b == default for b in variants.values()) / len(variants)}
    return out
