"""Two probes that ask a trained model "memorize or compose?" directly (the inductive-bias bench, issue 48).

Split-half (Kadkhodaie, Guth, Simoncelli, Mallat, "Generalization in diffusion models arises from geometry-adaptive
harmonic representations", ICLR 2024): two models trained on complementary halves of the training labels, sampled
from identical noise and labels. Models that generalize draw nearly the same image (they learned the same density);
models that memorize each draw something close to one of their own training images, so they disagree, most of all
on labels neither saw.

Kernel superposition (Liang, Qian, Ziyin, Fiete, ICML 2025, arXiv 2501.18797, their `kernel_exps`): a model's output
at a probe label, fitted as a kernel-weighted average (Nadaraya–Watson) of its outputs at the training labels. A
factorized kernel k(Δx)·k(Δy) and a radial one k(‖Δ‖) are both fitted over a grid of length scales; which fits
better, and with what length scales, says whether the model superposes what it saw along each feature apart or
by distance in the label plane. The 1-D factor is Laplacian, exp(−|Δ|/ℓ): a product of Gaussians with equal
length scales is itself radial and could not be told apart.

Pure functions on arrays; the drivers that sample runs are `factordiff.api.split_half` and
`factordiff.api.kernel_superposition`.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

KERNELS = ("factorized", "radial")
SCALES = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)  # label units; the grid both kernels are fitted over


def _flat(images) -> np.ndarray:
    a = np.asarray(images, dtype=np.float64)
    return a.reshape(len(a), -1)


def row_correlations(a, b) -> np.ndarray:
    """Pearson r of each image in `a` with the image at the same index in `b` (a constant image: 0)."""
    a, b = _flat(a), _flat(b)
    if a.shape != b.shape:
        raise ConfigError("images", f"{a.shape} and {b.shape}", "two stacks of the same shape")
    a = a - a.mean(1, keepdims=True)
    b = b - b.mean(1, keepdims=True)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.divide((a * b).sum(1), den, out=np.zeros(len(a)), where=den > 0)


def nearest_correlation(images, train_images) -> np.ndarray:
    """Each image's largest Pearson r with any training image: 1 for an exact copy of one."""
    a, t = _flat(images), _flat(train_images)
    a = a - a.mean(1, keepdims=True)
    t = t - t.mean(1, keepdims=True)
    a /= np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    t /= np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-12)
    return (a @ t.T).max(1)


def split_half(images_a, images_b, pred_a, pred_b, train_a, train_b, tolerance: float) -> dict:
    """The split-half statistics of two models' samples at the same labels and noise: the mean image correlation
    between them (`agreement`), the share of samples whose predicted labels agree within `tolerance` in both
    coordinates (`label_agreement`; NaN predictions, no single bump read, disagree), and each model's mean
    correlation with its own nearest training image (`nearest_a`, `nearest_b`: copying reads 1)."""
    pa, pb = np.asarray(pred_a, float), np.asarray(pred_b, float)
    close = np.all(np.abs(pa - pb) < tolerance, axis=1)  # NaN compares False: no bump read, no agreement
    return {"agreement": float(np.clip(row_correlations(images_a, images_b).mean(), -1, 1)),  # rounding: 1 + 2e-16
            "label_agreement": float(close.mean()),
            "nearest_a": float(nearest_correlation(images_a, train_a).mean()),
            "nearest_b": float(nearest_correlation(images_b, train_b).mean()),
            "n": int(len(pa))}


def kernel_weights(probe, train, kind: str, scales) -> np.ndarray:
    """(P, T) row-normalised weights of the training labels for each probe label: factorized
    exp(−|Δx|/ℓx − |Δy|/ℓy) with `scales` = (ℓx, ℓy), or radial exp(−‖Δ‖/ℓ) with `scales` = ℓ."""
    p, t = np.asarray(probe, float), np.asarray(train, float)
    d = p[:, None, :] - t[None, :, :]
    if kind == "factorized":
        lx, ly = scales
        logw = -np.abs(d[..., 0]) / lx - np.abs(d[..., 1]) / ly
    elif kind == "radial":
        logw = -np.linalg.norm(d, axis=-1) / float(scales)
    else:
        raise ConfigError("kernel", kind, "one of " + ", ".join(KERNELS))
    logw -= logw.max(1, keepdims=True)  # stable at small length scales
    w = np.exp(logw)
    return w / w.sum(1, keepdims=True)


def _r2(pred: np.ndarray, target: np.ndarray) -> float:
    ss = ((target - target.mean(0)) ** 2).sum()
    return float(1 - ((target - pred) ** 2).sum() / ss) if ss > 0 else float("nan")


def _edge(values, scales) -> str | None:
    """'lower' / 'upper' when a best length scale sits on the grid's first / last value (the fit is censored
    there: at the lower edge each probe is a superposition of its nearest training outputs, which is how a memorizer
    fits, and also the ground truth at a lattice's half steps: read it beside the controls), else None."""
    return "lower" if min(values) == scales[0] else "upper" if max(values) == scales[-1] else None


def fit_superposition(train_labels, train_outputs, probe_labels, probe_outputs, scales=SCALES, *,
                      level: float = 0.95, margin: float = 0.01, n_boot: int = 2000, seed: int = 0) -> dict:
    """Fit the outputs at the probe labels as a kernel-weighted average of the outputs at the training labels, for
    each kernel over its length-scale grid (factorized: every (ℓx, ℓy) pair; radial: every ℓ): per kernel the best
    length scales, the R² of the fit and `edge` (a best scale on the grid's edge, see `_edge`). Which kernel fits
    better is decided on an interval, not on the larger R²: `delta_r2` = R²(factorized) − R²(radial) at their best
    scales, with its `level` bootstrap interval over the probe labels (`n_boot` resamples, the scales held fixed);
    `better` names a kernel only when the interval lies beyond ±`margin` (the smallest R² difference taken to
    matter: at a lattice's half steps both kernels weigh the same four neighbours, and a 0.001 difference comes
    out with a tight interval), else 'neither'."""
    t_out, p_out = _flat(train_outputs), _flat(probe_outputs)
    if len(t_out) != len(train_labels) or len(p_out) != len(probe_labels):
        raise ConfigError("outputs", f"{len(t_out)} / {len(p_out)}", "one output per training / probe label")
    best: dict = {}
    pred: dict = {}
    for kind, grid in (("factorized", [(lx, ly) for lx in scales for ly in scales]), ("radial", list(scales))):
        for sc in grid:
            fit = kernel_weights(probe_labels, train_labels, kind, sc) @ t_out
            r2 = _r2(fit, p_out)
            if r2 > best.get(kind, {}).get("r2", -np.inf):
                best[kind] = ({"lx": sc[0], "ly": sc[1]} if kind == "factorized" else {"l": sc}) | {"r2": r2}
                pred[kind] = fit
        vals = [best[kind]["lx"], best[kind]["ly"]] if kind == "factorized" else [best[kind]["l"]]
        best[kind]["edge"] = _edge(vals, scales)
    # per-probe squared errors at the chosen scales; R² over a resample = 1 − Σ sse / Σ sst
    sst = ((p_out - p_out.mean(0)) ** 2).sum(1)
    sse_f = ((p_out - pred["factorized"]) ** 2).sum(1)
    sse_r = ((p_out - pred["radial"]) ** 2).sum(1)
    idx = np.random.default_rng(seed).integers(0, len(p_out), (n_boot, len(p_out)))
    tot = sst[idx].sum(1)
    boot = np.divide((sse_r[idx] - sse_f[idx]).sum(1), tot, out=np.zeros(n_boot), where=tot > 0)
    lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    best["delta_r2"] = best["factorized"]["r2"] - best["radial"]["r2"]
    best["interval"] = [float(lo), float(hi)]
    best["level"], best["margin"] = level, margin
    best["better"] = "factorized" if lo > margin else "radial" if hi < -margin else "neither"
    return best


def between(model: float, truth: float, copy: float, *, min_gap: float = 0.05) -> dict:
    """Where a model's superposition R² lies between two controls fitted the same way: the ground truth's (what a
    model that draws every label right scores) and the nearest-training-label memorizer's (what copying scores).
    `position` = (model − truth) / (copy − truth): 0 at the truth, 1 at the copy (outside [0, 1] beyond either),
    `nearer` the control it is nearer; both None when the controls lie within `min_gap` of each other, since the R²
    then cannot tell composing from copying (as at a lattice's half steps, where a superposition of the four
    neighbours is close to the truth). Whole-image R² weighs every pixel: where most of an image is a part the
    training data show (an SOS image's seen stripe), the controls lie close and the position is coarse. And a low R²
    says only "no superposition of the training outputs", true of the truth and of a new image in the wrong place
    alike: read the position beside the run's accuracy on the same labels (docs/extending.md)."""
    gap = copy - truth
    pos = (model - truth) / gap if abs(gap) >= min_gap else None
    nearer = None if pos is None else "the ground truth" if pos < 0.5 else "the memorizer"
    return {"position": pos, "nearer": nearer, "gap": gap, "min_gap": min_gap}

