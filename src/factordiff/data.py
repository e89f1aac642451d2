"""Datasets of both papers: renderers (numpy and torch), label sets, held-out regions, the overlap measure.

Frames: an image is N×N, pixel (row j, column i) has its centre at (x, y) = (i, j) with i, j ∈ 1..N (P1 §2:
"the top-left pixel is (1,1)"); x is the column, y the row, increasing downwards [INFERRED]. Labels live in
this image frame. Stripes come from P2's extended canvas (Fig 9): a stripe label may lie in the hidden margin
[-canvas_margin, 0) ∪ (N, N + canvas_margin], where its image is cropped away (only its tail can show).
Cropping the canvas equals rendering the visible pixels with image-frame labels, which is what we do.

Every image is separable: with the 1D profiles gx(i) = exp(−(i−µx)²/(c σx²)), gy(j) likewise (c = 4 in P1,
2 in P3), a bump is 255·(1 − gy gxᵀ) (P1 §2 formula) and an SOS is 255·(1 − (gy + gxᵀ)/2) (P2, [INFERRED]
normalisation). Renderers compute the two profiles and one outer product or sum.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .config import ConfigError, DataConfig

BUMP, SOS = 0, 1  # per-image kind codes
KIND_NAMES = {BUMP: "bump", SOS: "sos"}
_EPS = 1e-9  # grid rounding tolerance (in units of the increment)


def variance_factor(convention: str) -> float:
    """c in exp(−Δ²/(c σ²)): 4 for P1's stated formula, 2 for the usual Gaussian (P3)."""
    return {"4sigma2": 4.0, "2sigma2": 2.0}[convention]


# --------------------------------------------------------------------------------------------------------
# Renderers


def _profile(mu, centres, sigma: float, c: float, period: float | None, exp: Callable):
    """(K, N) 1D Gaussian profiles g(i) = exp(−Δ²/(c σ²)); Δ wrapped onto the torus when `period` is set."""
    delta = centres[None, :] - mu[:, None]
    if period is not None:
        delta = (delta + period / 2) % period - period / 2  # P2 Fig 2: periodic boundaries
    return exp(-(delta * delta) / (c * sigma * sigma))


def _render_core(mu_x, mu_y, is_sos, centres, *, sigmas, c, period, sos_norm, exp):
    """Images in [0, 255] for labels (µx, µy); is_sos is None (all bumps) or a 0/1 float vector."""
    gx = _profile(mu_x, centres, sigmas[0], c, period, exp)[:, None, :]  # varies along columns (x)
    gy = _profile(mu_y, centres, sigmas[1], c, period, exp)[:, :, None]  # varies along rows (y)
    dark = gx * gy  # P1 §2: v = 255(1 − exp(−Δx²/4σx² − Δy²/4σy²)) = 255(1 − gx·gy)
    if is_sos is not None:
        s = gx + gy  # P2: sum of two perpendicular stripes
        sos = s / 2 if sos_norm == "mean" else s - (s - 1).clip(min=0)  # mean, or min(s, 1)
        dark = dark + is_sos[:, None, None] * (sos - dark)
    return 255.0 * (1.0 - dark)


def _render_args(cfg: DataConfig) -> dict:
    return dict(sigmas=cfg.sigmas, c=variance_factor(cfg.variance_convention),
                period=float(cfg.image_size) if cfg.periodic else None, sos_norm=cfg.sos_norm)


def image_kind(cfg: DataConfig) -> int:
    """The 2D kind a model of this data draws from a label alone: bumps for bump and bump+stripes data, sums of
    stripes otherwise (`render_labels` with kinds=None draws bumps whatever the data)."""
    return BUMP if cfg.kind in ("bump", "bump+stripes") else SOS


def render_labels(labels: np.ndarray, kinds: np.ndarray | None, cfg: DataConfig) -> np.ndarray:
    """(K, N, N) float64 images in [0, 255] for labels (K, 2) = (µx, µy) and kinds (K,) of BUMP / SOS."""
    labels = np.asarray(labels, dtype=np.float64).reshape(-1, 2)
    centres = np.arange(1, cfg.image_size + 1, dtype=np.float64)
    is_sos = None
    if kinds is not None and np.any(np.asarray(kinds) == SOS):
        is_sos = (np.asarray(kinds) == SOS).astype(np.float64)
    return _render_core(labels[:, 0], labels[:, 1], is_sos, centres, exp=np.exp, **_render_args(cfg))


def render_labels_torch(labels, kinds, cfg: DataConfig, *, dtype=None):
    """The same images as `render_labels`, as a torch tensor on the labels' device (no host round trip)."""
    import torch

    dtype = dtype or torch.float32
    labels = torch.as_tensor(labels).to(dtype).reshape(-1, 2)
    centres = torch.arange(1, cfg.image_size + 1, dtype=dtype, device=labels.device)
    is_sos = None
    if kinds is not None:
        kinds = torch.as_tensor(kinds, device=labels.device)
        if bool((kinds == SOS).any()):
            is_sos = (kinds == SOS).to(dtype)
    return _render_core(labels[:, 0], labels[:, 1], is_sos, centres, exp=torch.exp, **_render_args(cfg))


def render_bump(mu_x: float, mu_y: float, *, sigma: float, size: int = 32, periodic: bool = False,
                variance_convention: str = "4sigma2") -> np.ndarray:
    """One P1 bump image (size×size, float64, 0..255, dark bump on white)."""
    cfg = DataConfig(image_size=size, sigma=sigma, periodic=periodic, variance_convention=variance_convention)
    return render_labels(np.array([[mu_x, mu_y]]), None, cfg)[0]


def render_sos(mu_x: float, mu_y: float, *, sigma: float, size: int = 32, sos_norm: str = "mean",
               variance_convention: str = "4sigma2") -> np.ndarray:
    """One P2 sum-of-stripes image; a label outside [0, N] is a hidden stripe (a 1D image)."""
    cfg = DataConfig(kind="sos", image_size=size, sigma=sigma, sos_norm=sos_norm,
                     variance_convention=variance_convention)
    return render_labels(np.array([[mu_x, mu_y]]), np.array([SOS]), cfg)[0]


def to_uint8(images) -> np.ndarray:
    """[0, 255] floats → uint8 (rounded, clipped), the format the scorer and snapshots use."""
    return np.clip(np.rint(np.asarray(images)), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------------------------
# Label sets


def grid(start: float, lo: float, hi: float, step: float) -> np.ndarray:
    """All values start + k·step inside [lo, hi] (k may be negative): P1's tiling at increment d."""
    k_lo = int(np.ceil((lo - start) / step - _EPS))
    k_hi = int(np.floor((hi - start) / step + _EPS))
    return np.round(start + step * np.arange(k_lo, k_hi + 1), 10)


def _axis_grid(cfg: DataConfig, step: float, canvas: bool) -> np.ndarray:
    start, hi = cfg.label_range
    if cfg.periodic:  # the torus identifies 0 and N: labels in [0, N)
        values = grid(start, 0.0, hi, step)
        return values[values < hi - _EPS * step]
    margin = cfg.canvas_margin if canvas else 0
    return grid(start, -float(margin), hi + margin, step)


def visible_coords(labels: np.ndarray, cfg: DataConfig) -> np.ndarray:
    """(K, 2) bools: which coordinates lie in the visible label range (the rest are hidden stripes)."""
    lo, hi = cfg.label_range
    labels = np.asarray(labels, dtype=np.float64).reshape(-1, 2)
    return (labels >= lo - _EPS) & (labels <= hi + _EPS)


def visible_dims(labels: np.ndarray, cfg: DataConfig) -> np.ndarray:
    """0, 1 or 2: how many of a label's coordinates lie in the visible range (P2 Fig 9: 0D / 1D / 2D)."""
    return visible_coords(labels, cfg).sum(axis=1)


def in_holdout(labels: np.ndarray, cfg: DataConfig) -> np.ndarray:
    """Mask of labels inside the held-out region (closed intervals: a label on the boundary is held out)."""
    x, y = labels[:, 0], labels[:, 1]
    in_x = (x >= cfg.holdout_x[0] - _EPS) & (x <= cfg.holdout_x[1] + _EPS)
    in_y = (y >= cfg.holdout_y[0] - _EPS) & (y <= cfg.holdout_y[1] + _EPS)
    region = {"none": np.zeros_like(in_x), "box": in_x & in_y, "cross": in_x | in_y,
              "band_x": in_x, "band_y": in_y}[cfg.holdout]
    dims = visible_dims(labels, cfg)
    if cfg.holdout_scope == "2d":
        region = region & (dims == 2)
    if cfg.kind == "stripes":  # P2 Fig 4b / 10: 1D stripes; 2D SOS only on the rim ([INFERRED] band width)
        lo, hi = cfg.label_range
        dist_edge = np.minimum(labels - lo, hi - labels).min(axis=1)
        region = region | ((dims == 2) & (dist_edge > cfg.rim_width + _EPS if cfg.rim_width > 0 else True))
    return region


def label_regions(labels: np.ndarray, cfg: DataConfig) -> dict[str, np.ndarray]:
    """Named masks for per-region accuracy: id / ood, and for the P2 Fig 4 cross its three sections."""
    labels = np.asarray(labels, dtype=np.float64).reshape(-1, 2)
    if cfg.holdout == "none" and cfg.kind != "stripes":
        return {"all": np.ones(len(labels), dtype=bool)}
    ood = in_holdout(labels, cfg)
    regions = {"id": ~ood, "ood": ood}
    if cfg.holdout == "cross":  # P2 Fig 4(f): vertical arm, horizontal arm, intersection
        x, y = labels[:, 0], labels[:, 1]
        in_x = (x >= cfg.holdout_x[0] - _EPS) & (x <= cfg.holdout_x[1] + _EPS)
        in_y = (y >= cfg.holdout_y[0] - _EPS) & (y <= cfg.holdout_y[1] + _EPS)
        regions |= {"vertical": ood & in_x & ~in_y, "horizontal": ood & in_y & ~in_x,
                    "intersection": ood & in_x & in_y}
    return regions


@dataclass(frozen=True)
class Dataset:
    """A training label set and its held-out (OOD) complement; images are rendered on demand."""

    config: DataConfig
    labels: np.ndarray  # (K, 2) float64, image frame, x then y
    kinds: np.ndarray  # (K,) uint8, BUMP or SOS
    heldout_labels: np.ndarray  # (H, 2): grid labels removed by the holdout (the OOD evaluation set)
    heldout_kinds: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def images(self, index=None) -> np.ndarray:
        index = slice(None) if index is None else index
        return render_labels(self.labels[index], self.kinds[index], self.config)

    def counts(self) -> dict[str, int]:
        """Image counts: train / held-out, by kind and by visible dimension."""
        dims = visible_dims(self.labels, self.config)
        out = {"train": len(self), "heldout": len(self.heldout_labels)}
        out |= {f"train_{KIND_NAMES[k]}": int((self.kinds == k).sum()) for k in (BUMP, SOS)}
        out |= {f"train_{d}d": int((dims == d).sum()) for d in (0, 1, 2)}
        return out


def _candidates(cfg: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    """Every grid label the dataset kind draws from, with its image kind, before holdout and subsampling."""
    canvas = cfg.has_stripes
    gx, gy = _axis_grid(cfg, cfg.dx, canvas), _axis_grid(cfg, cfg.dy, canvas)
    xx, yy = np.meshgrid(gx, gy, indexing="xy")
    labels = np.stack([xx.ravel(), yy.ravel()], axis=1)
    dims = visible_dims(labels, cfg)
    keep_2d = dims == 2
    one_d = dims == 1
    if canvas and cfg.stripe_offsets == "one":  # one image per stripe: the hidden coordinate at the canvas edge
        x_seen = visible_coords(labels, cfg)[:, 0]
        one_d &= np.where(x_seen, labels[:, 1] == gy.min(), labels[:, 0] == gx.min())
    keep = keep_2d | one_d if canvas else keep_2d  # kind=stripes: interior 2D SOS are held out (OOD)
    if canvas and cfg.include_blank:
        keep |= dims == 0
    labels, dims = labels[keep], dims[keep]
    kinds = np.full(len(labels), SOS, dtype=np.uint8)
    if cfg.kind == "bump" or cfg.kind == "bump+stripes":
        kinds[dims == 2] = BUMP
    return labels, kinds


def make_dataset(cfg: DataConfig) -> Dataset:
    """Enumerate the grid (P1 §2: all bumps tiling the canvas at dx, dy), hold out, subsample (λ)."""
    labels, kinds = _candidates(cfg)
    held = in_holdout(labels, cfg)
    train_labels, train_kinds = labels[~held], kinds[~held]
    if cfg.fraction < 1.0:  # P2: uniform subsample without replacement, seeded
        pool = np.flatnonzero(visible_dims(train_labels, cfg) == 2) if cfg.subsample_scope == "2d" \
            else np.arange(len(train_labels))
        rng = np.random.default_rng(cfg.subsample_seed)
        n_keep = int(round(cfg.fraction * len(pool)))
        drop = np.setdiff1d(pool, rng.choice(pool, size=n_keep, replace=False))
        mask = np.ones(len(train_labels), dtype=bool)
        mask[drop] = False
        if cfg.subsample_complement:  # the other half: what the subsample dropped, plus what it never drew from
            mask[pool] = ~mask[pool]
        train_labels, train_kinds = train_labels[mask], train_kinds[mask]
    if len(train_labels) == 0:
        raise ConfigError("data.fraction" if cfg.fraction < 1 else "data.holdout", cfg.fraction
                          if cfg.fraction < 1 else cfg.holdout, "a setting that leaves at least one training image")
    if cfg.holdout != "none" and not held.any():
        raise ConfigError("data.holdout_x", list(cfg.holdout_x),
                          "a region that contains at least one grid label (none is held out)")
    return Dataset(cfg, train_labels, train_kinds, labels[held], kinds[held])


# --------------------------------------------------------------------------------------------------------
# Overlap (P1 A.5, Fig 7b; P2 Fig 6b)


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """P1 A.5: ‖√(a∗b)‖₂ / ‖a‖₂ for two inverted (bright-bump) images a, b."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.sqrt(np.sum(a * b)) / np.sqrt(np.sum(a * a)))


def neighbour_overlap(sigma: float, increment: float, *, size: int = 32,
                      variance_convention: str = "4sigma2") -> float:
    """Overlap of a bump at the centre pixel with its neighbour one increment away in x (P1 Fig 7b)."""
    c = size / 2
    kw = dict(sigma=sigma, size=size, variance_convention=variance_convention)
    a = 255.0 - render_bump(c, c, **kw)
    b = 255.0 - render_bump(c + increment, c, **kw)
    return overlap(a, b)


def overlap_curves(sigmas, increments, *, size: int = 32, variance_convention: str = "4sigma2") -> np.ndarray:
    """(len(sigmas), len(increments)) neighbour overlaps: the curves of P1 Fig 7b / P2 Fig 6b."""
    return np.array([[neighbour_overlap(s, d, size=size, variance_convention=variance_convention)
                      for d in increments] for s in sigmas])


def shift_overlap_1d(sigma: float, shifts: np.ndarray, *, variance_convention: str = "4sigma2",
                     length: int = 256) -> np.ndarray:
    """The 1D factor of the pixel overlap: bump images are separable, so the overlap of two bumps displaced
    by (Δx, Δy) is shift_overlap_1d(Δx)·shift_overlap_1d(Δy) (up to border clipping)."""
    c = variance_factor(variance_convention)
    centres = np.arange(1, length + 1, dtype=np.float64)
    mu0 = float(length // 2)
    g0 = np.exp(-((centres - mu0) ** 2) / (c * sigma**2))
    g = np.exp(-((centres[None, :] - mu0 - np.asarray(shifts, dtype=np.float64)[:, None]) ** 2) / (c * sigma**2))
    return np.sqrt((g * g0).sum(axis=1) / (g0 * g0).sum())
