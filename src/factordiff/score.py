"""Reading labels back from images, and accuracy (P1 §3, Algorithm 1, eq. 1; P2 per-section x / y accuracy).

All predictors take uint8 images (K, N, N) and return label-frame coordinates (pixel centres at 1..N),
x (column) first. NaN means "no prediction" (a blank image, or a stripe that is absent).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.signal import find_peaks

from .config import ConfigError, DataConfig
from .data import SOS, label_regions, visible_coords


def _as_uint8_stack(images) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ConfigError("images", str(images.dtype), "uint8 images in [0, 255] (use data.to_uint8)")
    if images.ndim == 2:
        images = images[None]
    if images.ndim != 3:
        raise ConfigError("images", images.shape, "an array of shape (K, N, N)")
    return images


def darkness_centroid(image: np.ndarray) -> tuple[float, float]:
    """Intensity-weighted centroid of the darkness 255 − img, label frame ([INFERRED] P1 Alg. 1 fallback)."""
    dark = 255.0 - image.astype(np.float64)
    total = dark.sum()
    if total <= 0:
        return float("nan"), float("nan")
    idx = np.arange(1, image.shape[0] + 1, dtype=np.float64)
    return float(dark.sum(axis=0) @ idx / total), float(dark.sum(axis=1) @ idx / total)


MIN_DARK = 64  # blob_rule "min_dark": a blob counts as a bump when its darkest pixel reaches this (25 % of full
# darkness). P1 counts Otsu's external contours instead ("contours", the default): on a nearly blank, speckled
# image Otsu then finds several blobs, which is P1's phase-A failure mode. "relative": a blob counts when its
# darkest pixel stands RELATIVE_K robust standard deviations (1.4826 · MAD) above the image's median darkness
# and at least a quarter of the darkest blob's: faint blobs relative to this image's own background
RELATIVE_K = 6.0
BLOB_RULES = ("contours", "min_dark", "relative")
PREDICTORS = ("bbox", "subpixel")  # P1 Alg. 1's bounding-box centre (0.5 px steps); a log-parabola peak of the blob's
# row and column darkness profiles (exact for a Gaussian bump)


def _blob_peaks(image: np.ndarray, binary: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The darkness (255 − img) of each pixel and the peak darkness of each 8-connected blob of the mask."""
    n, labels = cv2.connectedComponents(binary, connectivity=8)
    dark = 255 - image.astype(np.int32)
    peak = np.zeros(max(n, 1), dtype=np.int32)
    np.maximum.at(peak, labels.ravel(), dark.ravel())
    return dark, peak[1:]


def _count(image: np.ndarray, binary: np.ndarray, contours, blob_rule: str) -> int:
    if int(image.min()) == int(image.max()):
        return 0  # a uniform image: Otsu's mask is all or nothing, no bump either way
    if blob_rule == "contours":
        return len(contours)
    dark, peak = _blob_peaks(image, binary)
    if blob_rule == "min_dark":
        return int((peak >= MIN_DARK).sum())
    med = float(np.median(dark))
    mad = 1.4826 * float(np.median(np.abs(dark - med)))
    keep = (peak >= med + RELATIVE_K * max(mad, 1.0)) & (peak >= 0.25 * peak.max(initial=0))
    return int(keep.sum())


def period_of(cfg: DataConfig) -> float | None:
    """The label period of periodic (torus) data, None on the open canvas."""
    return float(cfg.image_size) if cfg.periodic else None


def _bump_one(image: np.ndarray, blob_rule: str = "contours", predictor: str = "bbox",
              periodic: bool = False) -> tuple[float, float, int]:
    if periodic:  # a bump split across the edges is one bump: roll its darkest pixel to the centre, read it there,
        n = image.shape[0]  # and roll the reading back (P1's detector would count the pieces as several bumps)
        r, c = np.unravel_index(int(np.argmin(image)), image.shape)
        sy, sx = n // 2 - int(r), n // 2 - int(c)
        x, y, count = _bump_one(np.ascontiguousarray(np.roll(image, (sy, sx), axis=(0, 1))), blob_rule, predictor)
        return float((x - sx) % n), float((y - sy) % n), count
    # P1 Algorithm 1: Otsu threshold, inverted binary, external contours, bounding-rect centre
    _, binary = cv2.threshold(image, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    count = _count(image, binary, contours, blob_rule)
    if len(contours) != 1:  # "no bumps or more than one bump": fall back to the centroid
        return (*darkness_centroid(image), count)
    x, y, w, h = cv2.boundingRect(contours[0])
    if predictor == "subpixel":  # the blob's darkness profiles (rows and columns of its box, 2 px wider)
        dark = 255.0 - image.astype(np.float64)
        n = image.shape[0]
        rows, cols = slice(max(y - 2, 0), min(y + h + 2, n)), slice(max(x - 2, 0), min(x + w + 2, n))
        px, py = dark[rows].sum(axis=0), dark[:, cols].sum(axis=1)
        return _peak_position(px, int(np.argmax(px))), _peak_position(py, int(np.argmax(py))), count
    # OpenCV's frame has pixel k spanning [k, k+1); labels put pixel centres at 1..N: add half a pixel
    return x + w / 2 + 0.5, y + h / 2 + 0.5, count


def analyze_bumps(images, blob_rule: str = "contours", predictor: str = "bbox",
                  period: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """P1 Algorithm 1 on each image: centres (K, 2) in the label frame and bump counts (K,) by `blob_rule`;
    `predictor` "subpixel" replaces the bounding-box centre by the peaks of the blob's darkness profiles;
    `period` (torus data): wrap-aware, centres in [0, period)."""
    if blob_rule not in BLOB_RULES:
        raise ConfigError("blob_rule", blob_rule, "one of " + ", ".join(BLOB_RULES))
    if predictor not in PREDICTORS:
        raise ConfigError("predictor", predictor, "one of " + ", ".join(PREDICTORS))
    images = _as_uint8_stack(images)
    out = np.array([_bump_one(np.ascontiguousarray(img), blob_rule, predictor, period is not None) for img in images],
                   dtype=np.float64).reshape(-1, 3)
    return out[:, :2], out[:, 2].astype(np.int64)


def predict_bump_centers(images_uint8) -> np.ndarray:
    """(K, 2) predicted bump centres, label frame, x then y (P1 Algorithm 1)."""
    return analyze_bumps(images_uint8)[0]


def count_bumps(images_uint8, blob_rule: str = "contours") -> np.ndarray:
    """(K,) number of separate dark blobs (P1: external contours of the Otsu mask): 0 / 1 / >1 are the
    papers' failure modes (P1 Fig 3)."""
    return analyze_bumps(images_uint8, blob_rule)[1]


# --------------------------------------------------------------------------------------------------------
# Stripes and SOS ([INFERRED] docs/papers.md §2.4 / §6 #6: row and column darkness profiles)


def _peak_position(h: np.ndarray, k: int) -> float:
    """Sub-pixel peak near index k: vertex of the parabola through log h at three neighbours (exact for a
    Gaussian profile, also at the border, where it extrapolates); centroid of the ±2 window otherwise."""
    m = min(max(k, 1), len(h) - 2)
    y = h[m - 1:m + 2]
    if np.all(y > 0):
        ly = np.log(y)
        curv = ly[0] - 2 * ly[1] + ly[2]
        if curv < 0:
            return m + 0.5 * (ly[0] - ly[2]) / curv + 1.0  # +1: index → 1-based pixel centre
    lo, hi = max(k - 2, 0), min(k + 3, len(h))
    w = np.clip(h[lo:hi], 0, None)
    return float(np.arange(lo, hi) @ w / w.sum()) + 1.0 if w.sum() > 0 else k + 1.0


def _profile_peaks(profile: np.ndarray, min_peak: float) -> tuple[float, int]:
    h = profile - np.median(profile)
    padded = np.concatenate([[h.min() - 1.0], h, [h.min() - 1.0]])  # let find_peaks see border maxima
    peaks, _ = find_peaks(padded, height=min_peak, prominence=min_peak / 2)
    if len(peaks) == 0:
        return float("nan"), 0
    best = peaks[np.argmax(padded[peaks])] - 1
    return _peak_position(h, int(best)), len(peaks)


@dataclass(frozen=True)
class StripePrediction:
    centers: np.ndarray  # (K, 2): x of the vertical stripe, y of the horizontal one; NaN = absent
    counts: np.ndarray  # (K, 2): number of vertical / horizontal stripes found


def predict_stripes(images_uint8, *, min_peak: float = 0.15) -> StripePrediction:
    """Each visible stripe coordinate of stripe / SOS images, or NaN where that stripe is absent.

    The column profile c(x) = mean_y (255 − img)/255 peaks at µx (a horizontal stripe only lifts its
    baseline); likewise the row profile for µy. A peak counts if it stands `min_peak` above the median.
    """
    images = _as_uint8_stack(images_uint8)
    dark = (255.0 - images.astype(np.float64)) / 255.0
    centers = np.full((len(images), 2), np.nan)
    counts = np.zeros((len(images), 2), dtype=np.int64)
    for i, d in enumerate(dark):
        for axis, profile in enumerate((d.mean(axis=0), d.mean(axis=1))):
            centers[i, axis], counts[i, axis] = _profile_peaks(profile, min_peak)
    return StripePrediction(centers, counts)


def predict_labels(images_uint8, kinds: np.ndarray, blob_rule: str = "contours",
                   predictor: str = "bbox", period: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Predicted labels for mixed datasets: Algorithm 1 on bump images (wrap-aware with a `period`), profiles
    on SOS / stripe images.

    Returns centres (K, 2) and a per-image object count: bumps for bump images, stripes for the others.
    """
    images = _as_uint8_stack(images_uint8)
    kinds = np.asarray(kinds).reshape(-1)
    centers, counts = np.full((len(images), 2), np.nan), np.zeros(len(images), dtype=np.int64)
    is_sos = kinds == SOS
    if (~is_sos).any():
        centers[~is_sos], counts[~is_sos] = analyze_bumps(images[~is_sos], blob_rule, predictor, period)
    if is_sos.any():
        stripes = predict_stripes(images[is_sos])
        centers[is_sos], counts[is_sos] = stripes.centers, stripes.counts.sum(axis=1)
    return centers, counts


# --------------------------------------------------------------------------------------------------------
# Accuracy


def coordinate_correct(pred: np.ndarray, true: np.ndarray, *, tol: float = 1.0,
                       visible: np.ndarray | None = None, period: float | None = None) -> np.ndarray:
    """(K, 2) bools: |µ − µ̂| < tol per coordinate (P1 eq. 1), the distance taken around the torus with a
    `period`. A hidden coordinate (visible False, a stripe outside the frame) is also correct when it is
    predicted absent."""
    pred, true = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        d = np.abs(pred - true)
        if period is not None:
            d = np.minimum(d % period, period - d % period)
        ok = d < tol  # NaN → False
    if visible is not None:
        ok |= ~visible & np.isnan(pred)
    return ok


def accuracy(pred: np.ndarray, true: np.ndarray, *, tol: float = 1.0, visible: np.ndarray | None = None,
             period: float | None = None) -> dict:
    """Joint, x-only and y-only accuracy (P1 eq. 1 and its one-indicator variants)."""
    ok = coordinate_correct(pred, true, tol=tol, visible=visible, period=period)
    n = len(ok)
    if n == 0:
        return {"acc": float("nan"), "acc_x": float("nan"), "acc_y": float("nan"), "n": 0}
    return {"acc": float(ok.all(axis=1).mean()), "acc_x": float(ok[:, 0].mean()),
            "acc_y": float(ok[:, 1].mean()), "n": n}


def count_histogram(counts: np.ndarray) -> dict[str, float]:
    """Shares of images with 0, 1 and more than 1 object (P1 Fig 3 failure modes)."""
    counts = np.asarray(counts)
    n = max(len(counts), 1)
    return {"0": float((counts == 0).sum() / n), "1": float((counts == 1).sum() / n),
            ">1": float((counts > 1).sum() / n)}


def detectable(labels: np.ndarray, kinds: np.ndarray, cfg: DataConfig, *, tol: float | None = None) -> np.ndarray:
    """Mask of the labels whose ground-truth image the detector reads within the tolerance (P1 Algorithm 1
    misses bumps clipped by the border: labels 0, 1 and N at σ = 1): where accuracy can reach 1."""
    from .data import render_labels, to_uint8

    labels = np.asarray(labels, dtype=np.float64).reshape(-1, 2)
    pred, _ = predict_labels(to_uint8(render_labels(labels, kinds, cfg)), kinds, cfg.blob_rule, cfg.predictor,
                             period_of(cfg))
    ok = coordinate_correct(pred, labels, tol=cfg.tol_px if tol is None else tol, visible=visible_coords(labels, cfg),
                            period=period_of(cfg))
    return ok.all(axis=1)


def score_predictions(pred: np.ndarray, counts: np.ndarray, labels: np.ndarray, cfg: DataConfig, *,
                      tol: float | None = None, detectable_mask: np.ndarray | None = None) -> dict:
    """Accuracy overall and per named region, and the 0 / 1 / >1 count histogram, from predictions; `tol`
    (label units) defaults to P1's 1 px in P1's pixels (`cfg.tol_px`). With `detectable_mask` (`detectable`)
    also the accuracy over the labels whose ground truth is detectable, as the region "detectable"."""
    tol = cfg.tol_px if tol is None else tol
    labels = np.asarray(labels, dtype=np.float64).reshape(-1, 2)
    visible = visible_coords(labels, cfg)
    out = accuracy(pred, labels, tol=tol, visible=visible, period=period_of(cfg))
    regions = label_regions(labels, cfg)
    if detectable_mask is not None:
        regions["detectable"] = np.asarray(detectable_mask, dtype=bool)
        if "ood" in regions and (regions["ood"] & regions["detectable"]).any():  # held-out labels ground truth
            regions["ood_detectable"] = regions["ood"] & regions["detectable"]  # is read on (ceiling 1 there)
    for name, mask in regions.items():
        if name != "all":
            out[name] = accuracy(pred[mask], labels[mask], tol=tol, visible=visible[mask], period=period_of(cfg))
    out["counts"] = count_histogram(counts)
    return out


def score_images(images_uint8, labels: np.ndarray, kinds: np.ndarray, cfg: DataConfig, *,
                 tol: float | None = None, detectable_mask: np.ndarray | None = None) -> dict:
    """Everything one evaluation reports: accuracy overall and per named region, and the count histogram."""
    pred, counts = predict_labels(images_uint8, kinds, cfg.blob_rule, cfg.predictor, period_of(cfg))
    return score_predictions(pred, counts, labels, cfg, tol=tol, detectable_mask=detectable_mask)


def nearest_training_labels(labels: np.ndarray, train_labels: np.ndarray) -> np.ndarray:
    """For each label, the nearest training label (Euclidean in the label plane; hidden coordinates of stripes
    are compared only where both are visible)."""
    a, b = np.asarray(labels, float).reshape(-1, 2), np.asarray(train_labels, float).reshape(-1, 2)
    d = np.nan_to_num(a[:, None, :] - b[None, :, :], nan=0.0)
    return b[np.argmin((d ** 2).sum(-1), axis=1)]


def reference_scores(labels: np.ndarray, kinds: np.ndarray, cfg: DataConfig, train_labels: np.ndarray) -> dict:
    """What two reference models score on these labels: the ground-truth images (the ceiling: a perfect model,
    through the detector) and the nearest-training-label memorizer (draws the training image nearest to each
    label: a model that never interpolates). {'ceiling': scores, 'nearest': scores}, per region (no counts)."""
    from .data import render_labels, to_uint8

    labels = np.asarray(labels, float).reshape(-1, 2)
    near, mask = nearest_training_labels(labels, train_labels), detectable(labels, kinds, cfg)
    out = {"ceiling": score_images(to_uint8(render_labels(labels, kinds, cfg)), labels, kinds, cfg,
                                   detectable_mask=mask),
           "nearest": score_images(to_uint8(render_labels(near, kinds, cfg)), labels, kinds, cfg,
                                   detectable_mask=mask)}
    return {k: {r: v for r, v in sc.items() if r != "counts"} for k, sc in out.items()}


def table_columns(row: dict) -> dict:
    """The results-table columns of a scored row (`score_predictions` output, possibly with `acc_ceiling` and
    `references` from `reference_scores`): acc, acc_x, acc_y, acc_ceiling, acc / acc_x / acc_y of each named
    region as `acc_ood`, `acc_x_ood`, …, and the references' per region as `acc_ceiling_ood`, `acc_nearest_ood`."""
    out = {k: row.get(k) for k in ("acc", "acc_x", "acc_y", "acc_ceiling", "tol_px")}
    for region, sub in row.items():
        if isinstance(sub, dict) and "acc" in sub:
            out |= {f"acc_{region}": sub["acc"], f"acc_x_{region}": sub["acc_x"], f"acc_y_{region}": sub["acc_y"]}
    for ref, scores in (row.get("references") or {}).items():
        out[f"acc_{ref}"] = scores.get("acc")
        for region, sub in scores.items():
            if isinstance(sub, dict) and "acc" in sub:
                out |= {f"acc_{ref}_{region}": sub["acc"], f"acc_x_{ref}_{region}": sub["acc_x"],
                        f"acc_y_{ref}_{region}": sub["acc_y"]}
    return out


def accuracy_words(acc: float, ceiling: float | None, detectable: float | None) -> str:
    """An accuracy as logs and reprs say it, never above its ceiling: over the labels whose ground truth the
    detector reads (ceiling 1) first, then over all labels beside what ground-truth images score there (which a
    model can pass: it may draw a border bump the detector reads where the clipped ground truth is missed)."""
    fin = lambda v: v is not None and math.isfinite(v)  # noqa: E731
    if fin(detectable):
        return (f"acc {detectable:.2f} of 1 where the ground truth is detectable (all labels {acc:.2f}"
                + (f", ground truth {ceiling:.2f})" if fin(ceiling) else ")"))
    return f"acc {acc:.2f}" + (f" (ground-truth images score {ceiling:.2f} here)" if fin(ceiling) else "")
