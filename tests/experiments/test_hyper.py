"""Hyper-factorization is decidable (issue 43 item 3): the displacement statistics of a lookup table, an untrained
network and the code P2 describes, through `geometry.factorization` and p2-orthogonality's `hyper` verdict, each
land on their own outcome with the controls at realistic values."""

import numpy as np
import pytest

from factordiff.analysis.geometry import factorization
from factordiff.analysis.references import clifford_torus, grid_angles
from factordiff.experiments import NOT_SUPPORTED, SUPPORTED
from factordiff.experiments.p2_orthogonality import hyper

N = 12  # the probe grid's side at the cpu scale
SEEDS = range(100, 105)


def _bumps(sigma=1.0):
    """Periodic Gaussian bump images on the N × N grid, (N, N, N²)."""
    d = np.arange(N)

    def g(m):
        return np.exp(-np.minimum(abs(d - m), N - abs(d - m)) ** 2 / (4 * sigma**2))

    return np.array([[np.outer(g(x), g(y)).ravel() for y in range(N)] for x in range(N)])


def untrained(seed):
    """Random ReLU features of the bump images: what a network that learned nothing does with its input."""
    return np.maximum(_bumps() @ np.random.default_rng(seed).normal(size=(N * N, 256)), 0)


def lookup(seed):
    """A table of (x, y) cells: one one-hot vector per label (a memorizer's code)."""
    return np.eye(N * N).reshape(N, N, N * N) + 1e-3 * np.random.default_rng(seed).normal(size=(N, N, N * N))


def p2_code(seed):
    """The code P2 describes: r(x, y) = a(x) ⊕ b(y) in orthogonal subspaces (factorized), each a curve of three
    frequencies, so that different values of one feature are less aligned than on a circle (effective dimension
    12 > the Clifford torus's 4), randomly rotated into 64 dimensions, with noise."""
    th, ph = grid_angles(N, N)

    def curve(t):
        return np.stack([f(k * t) for k in (1, 2, 3) for f in (np.cos, np.sin)], -1) / np.sqrt(3)

    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(64, 12)))
    return np.concatenate([curve(th), curve(ph)], -1) @ q.T + 0.02 * rng.normal(size=(N, N, 64))


def _runs(model):
    """One run per seed with the results-table columns p2-orthogonality reads: the model's cloud, the Clifford
    torus and the untrained network (another draw of random features for every seed)."""
    runs = {}
    for s in SEEDS:
        row = {f"model_{k}": v for k, v in factorization(model(s), seed=s).items()}
        row |= {f"clifford_{k}": v for k, v in factorization(clifford_torus(N, N), seed=s).items()}
        row |= {f"untrained_{k}": v for k, v in factorization(untrained(1000 + s), seed=s).items()}
        runs[f"seed={s}"] = [{"run": f"seed={s}", "step": 0, **row}]
    return runs


@pytest.mark.parametrize("model, outcome", [(p2_code, SUPPORTED), (lookup, NOT_SUPPORTED),
                                            (untrained, NOT_SUPPORTED)])
def test_hyper_factorization_tells_the_three_codes_apart(model, outcome):
    v = hyper(_runs(model), "model", "untrained", "a synthetic code", [])
    calls = {c["rule"]: c["call"] for c in v.decision["calls"]}
    assert v.outcome == outcome, (v.outcome, calls)
    if model is lookup:  # its disjoint steps are orthogonal (the old rule's "best possible") …
        assert calls["Clifford − model x-on-x |cos|"] == "hit"
        # … but no step of x is shared across y: that is what refutes it
        assert calls["model − untrained x-on-x parallelism"] == "miss"
    if model is untrained:  # as parallel as another untrained draw: training made nothing
        assert calls["model − untrained y-on-y parallelism"] == "miss"


def test_hyper_without_the_untrained_network_is_inconclusive():
    runs = {k: [{c: v for c, v in rs[0].items() if not c.startswith("untrained_")}] for k, rs in _runs(p2_code).items()}
    v = hyper(runs, "model", "untrained", "a synthetic code", [])
    assert v.outcome == "inconclusive" and "not measured" in v.detail


def test_the_layer_reading_withholds_support_when_the_label_code_alone_passes():
    """A model that learned nothing from images, whose layer is its label code: the label-only response passes the
    same rule, so the layer's pass is not the model's (inconclusive, saying why); the image-part reading is not
    affected."""
    runs = _runs(p2_code)
    for rs in runs.values():
        rs[0] |= {f"label_only_{k}": rs[0][f"model_{k}"] for k in ("x_on_x_orth_mean", "y_on_y_orth_mean",
                                                                 "x_on_x_par_mean", "y_on_y_par_mean")}
    v = hyper(runs, "model", "untrained", "layer 4", [])
    assert v.outcome == "inconclusive" and "label-only response passes the same rule" in v.detail
