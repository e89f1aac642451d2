"""The closed-form memorizer: the exact denoiser of the training set's empirical distribution, run through the
same sampler and scorer as a trained network (issue 43). A network that learned nothing beyond its training
images can do at most what this does: it copies training images and superposes them, and nothing else.

For a training set {x_i} (labels l_i), the minimum-MSE prediction of x_0 from x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε is
the posterior mean over the training images (Kadkhodaie et al. 2023; Gu et al. 2023, "On memorization in
diffusion models"):

    x̂_0(x_t, t) = Σ_i w_i x_i,   w = softmax_i( −‖x_t − √ᾱ_t x_i‖² / (2 (1 − ᾱ_t)) + log k(l, l_i) )

and ε̂ = (x_t − √ᾱ_t x̂_0) / √(1 − ᾱ_t). The conditional version weights each training image by a label kernel
k(l, l_i) = exp(−‖l − l_i‖² / (2 h²)): as h → 0 it is the nearest-training-label memorizer made stochastic
(equidistant training labels are mixed by the noise), as h → ∞ the unconditional empirical denoiser. h is the
named option `train.memorizer_bandwidth`, in units of the label increment (default 0.25: at a training label it
copies that label's own image); `train.memorizer: none` turns the control off (its cost: one sampling of the
evaluation labels per run, at its start). Hidden coordinates of 1D stripes are compared only where both labels
have them visible, as `score.nearest_training_labels` does."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .config import RunConfig
from .diffusion import make_schedule, sample


class ClosedFormDenoiser(nn.Module):
    """ε̂(x_t, t, labels) of the empirical training distribution with a label kernel of width `bandwidth` (label
    units; None: unconditional). `images`: (M, 1, N, N) in [−1, 1]; `labels`: (M, 2). Exact in float64: memory
    M × N² × 8 bytes for the images (cpu scale: ≤ 23 MB) and B × M for the weights."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, alpha_bar: torch.Tensor,
                 bandwidth: float | None) -> None:
        super().__init__()
        if images.ndim != 4 or images.shape[0] != labels.shape[0] or images.shape[0] == 0:
            raise ValueError(f"images (M, 1, N, N) and labels (M, 2) with M ≥ 1 (got {tuple(images.shape)}, "
                             f"{tuple(labels.shape)})")
        self.register_buffer("flat", images.reshape(images.shape[0], -1).double())
        self.register_buffer("labels", labels.double())
        self.register_buffer("alpha_bar", alpha_bar.double())
        self.bandwidth = bandwidth

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        xf = x.reshape(b, -1).double()
        ab = self.alpha_bar[t].reshape(b, 1)
        # squared distances ‖x_t − √ᾱ x_i‖² = ‖x_t‖² − 2√ᾱ x_t·x_i + ᾱ ‖x_i‖², exact in float64
        cross = xf @ self.flat.T  # (B, M)
        d2 = (xf ** 2).sum(1, keepdim=True) - 2 * ab.sqrt() * cross + ab * (self.flat ** 2).sum(1)[None, :]
        logw = -d2.clamp_min(0) / (2 * (1 - ab))
        if self.bandwidth is not None:
            diff = torch.nan_to_num(labels.double()[:, None, :] - self.labels[None, :, :], nan=0.0)
            logw = logw - (diff ** 2).sum(-1) / (2 * self.bandwidth ** 2)
        w = torch.softmax(logw, dim=1)
        x0 = (w @ self.flat).reshape(x.shape)
        return ((x.double() - ab.sqrt().reshape(b, 1, 1, 1) * x0) / (1 - ab).sqrt().reshape(b, 1, 1, 1)).to(x.dtype)


def denoiser(cfg: RunConfig, train_labels: np.ndarray, train_kinds: np.ndarray) -> ClosedFormDenoiser:
    """The closed-form memorizer of a run's training set (rendered exactly as training renders it)."""
    from .data import render_labels

    imgs = render_labels(train_labels, train_kinds, cfg.data) / 127.5 - 1.0
    h = cfg.train.memorizer_bandwidth * cfg.data.increment
    return ClosedFormDenoiser(torch.as_tensor(imgs, dtype=torch.float64).unsqueeze(1),
                              torch.as_tensor(np.asarray(train_labels, float).reshape(-1, 2)),
                              make_schedule(cfg.diffusion).alpha_bar, h)


def closed_form_images(cfg: RunConfig, train_labels: np.ndarray, train_kinds: np.ndarray, labels: np.ndarray,
                       seed: int) -> np.ndarray:
    """uint8 (K, N, N): the closed-form memorizer's samples for `labels`, with the sampler and noise seed a
    network's snapshot uses."""
    net = denoiser(cfg, train_labels, train_kinds)
    lab = torch.as_tensor(np.asarray(labels, float).reshape(-1, 2), dtype=torch.float32)
    return sample(net, lab, cfg.diffusion, seed=seed, image_size=cfg.data.image_size, pixels=True).numpy()


def closed_form_scores(cfg: RunConfig, train_labels: np.ndarray, train_kinds: np.ndarray, labels: np.ndarray,
                       kinds: np.ndarray, seed: int) -> dict:
    """What the closed-form memorizer scores on these labels (the scorer a snapshot uses), per region, in the
    form of `score.reference_scores` (no counts)."""
    from .score import detectable, score_images

    imgs = closed_form_images(cfg, train_labels, train_kinds, labels, seed)
    sc = score_images(imgs, np.asarray(labels, float).reshape(-1, 2), kinds, cfg.data,
                      detectable_mask=detectable(labels, kinds, cfg.data))
    return {r: v for r, v in sc.items() if r != "counts"}
