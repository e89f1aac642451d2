"""Networks that add one inductive bias each to P1's UNet (the inductive-bias bench, docs/extending.md): the same
blocks, widths and recordable layers, registered in archs.py, so the trainer, sampler and analyses run unchanged.

- `unet-rendered`: rendered conditioning. µx and µy are also drawn in image space, each as its own 1-D
  Gaussian profile (a channel constant along y that peaks at column µx, one constant along x that peaks at row
  µy), given to the network beside x_t: the "forced rendering of disentangled latents" idea (Liang, Qian, Ziyin,
  Fiete, ICML 2025, arXiv 2501.18797), tested there on decoders, here on a diffusion model.
- `unet-separate`: separate pathways. In every block the label embedding reaches disjoint channel groups: PE(µx)
  only the first half of the block's channels, PE(µy) only the second half (PE(t) all of them), so the network
  must keep x and y apart where they enter.
- `unet-rendered-learned`: learned rendering. The same two profile channels, but each profile is learned: an MLP
  maps PE(µx) to a row of image width (broadcast down the columns), another PE(µy) to a column (broadcast along the
  rows). The structure is forced (a channel that varies only along x and depends only on µx), its shape is not
  handed over: `unet-rendered`'s Gaussians are, at the data's own σ, the images' own factors (docs/extending.md).
  Liang et al. pair their architectural rendering with a low-rank regularization of the embedding: not added here.
CoordConv (coordinate channels with the baseline's label codes) is the baseline with `model.coords=linear`."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

from .config import ModelConfig
from .unet import Down, UNet, Up

RENDER_SIGMA = 1.0  # px: the rendered profiles' width (P1's σ; the network is not told the data's σ)
RENDER_HIDDEN = 128  # [CHOSEN] the learned renderer's hidden width (one SiLU layer); Liang et al.'s is not stated here


class RenderedUNet(UNet):
    """P1's UNet with the labels rendered as two 1-D Gaussian profile channels beside x_t (and still embedded)."""

    def extra_channels(self) -> int:
        return super().extra_channels() + 2

    def inputs(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        n_i, n_j = x.shape[-2:]
        centres_j = torch.arange(1, n_j + 1, device=x.device, dtype=x.dtype)  # columns: x, as data.py renders
        centres_i = torch.arange(1, n_i + 1, device=x.device, dtype=x.dtype)  # rows: y
        mu = labels.to(x.dtype)
        gx = torch.exp(-(centres_j[None, :] - mu[:, :1]) ** 2 / (4 * RENDER_SIGMA**2))  # data.py's 4σ² form
        gy = torch.exp(-(centres_i[None, :] - mu[:, 1:]) ** 2 / (4 * RENDER_SIGMA**2))
        maps = torch.stack([gx[:, None, :].expand(-1, n_i, -1), gy[:, :, None].expand(-1, -1, n_j)], dim=1)
        return torch.cat([super().inputs(x, labels), 2 * maps - 1], dim=1)  # in [−1, 1], as x_t's scale


class LearnedRenderUNet(UNet):
    """P1's UNet with two learned 1-D profile channels beside x_t: MLP(PE(µx)) along the columns, constant down
    them; MLP(PE(µy)) along the rows, constant along them (and the labels still embedded as P1's)."""

    def __init__(self, cfg: ModelConfig, image_size: int = 32):
        super().__init__(cfg, image_size)
        d = cfg.pe_dim

        def mlp() -> nn.Sequential:  # PE(µ) → one value per pixel along the axis, in [−1, 1] as x_t's scale
            return nn.Sequential(nn.Linear(d, RENDER_HIDDEN), nn.SiLU(), nn.Linear(RENDER_HIDDEN, image_size),
                                 nn.Tanh())

        self.render_x, self.render_y = mlp(), mlp()

    def extra_channels(self) -> int:
        return super().extra_channels() + 2

    def inputs(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        n_i, n_j = x.shape[-2:]
        if (n_i, n_j) != (self.image_size, self.image_size):
            raise ValueError(f"unet-rendered-learned: built for {self.image_size} × {self.image_size} images, "
                             f"given {n_i} × {n_j}")
        px = self.render_x(self.label_pe(labels[:, 0]).to(x.dtype))  # (B, n_j): a row, indexed by column
        py = self.render_y(self.label_pe(labels[:, 1]).to(x.dtype))  # (B, n_i): a column, indexed by row
        maps = torch.stack([px[:, None, :].expand(-1, n_i, -1), py[:, :, None].expand(-1, -1, n_j)], dim=1)
        return torch.cat([super().inputs(x, labels), maps], dim=1)


class _Mask(nn.Module):
    def __init__(self, mask: torch.Tensor):
        super().__init__()
        self.register_buffer("mask", mask)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight * self.mask


class SeparateUNet(UNet):
    """P1's UNet whose label embedding reaches disjoint channel groups: PE(µx) the first half of each block's
    channels, PE(µy) the second half, PE(t) all (the embedding Linear's weights masked: `torch.nn.utils.
    parametrize`, so the masked weights stay zero through training)."""

    def __init__(self, cfg: ModelConfig, image_size: int = 32):
        super().__init__(cfg, image_size)
        d = cfg.pe_dim  # the embedding is PE(t) ⊕ PE(µx) ⊕ PE(µy), d each
        for block in self.modules():
            if isinstance(block, Down | Up):
                linear = block.emb[1]
                c = linear.out_features
                mask = torch.ones_like(linear.weight)
                mask[c // 2:, d:2 * d] = 0  # µx: first half only
                mask[: c // 2, 2 * d:] = 0  # µy: second half only
                parametrize.register_parametrization(linear, "weight", _Mask(mask))
