"""Networks that add one inductive bias each to P1's UNet (the inductive-bias bench, docs/extending.md): the same
blocks, widths and recordable layers, registered in archs.py, so the trainer, sampler and analyses run unchanged.

- `unet-rendered`: rendered conditioning. µx and µy are also drawn in image space, each as its own 1-D
  Gaussian profile (a channel constant along y that peaks at column µx, one constant along x that peaks at row
  µy), given to the network beside x_t: the "forced rendering of disentangled latents" idea (Liang, Qian, Ziyin,
  Fiete, ICML 2025, arXiv 2501.18797), tested there on decoders, here on a diffusion model.
- `unet-separate`: separate pathways. In every block the label embedding reaches disjoint channel groups: PE(µx)
  only the first half of the block's channels, PE(µy) only the second half (PE(t) all of them), so the network
  must keep x and y apart where they enter.
CoordConv (coordinate channels with the baseline's label codes) is the baseline with `model.coords=linear`."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize

from .config import ModelConfig
from .unet import Down, UNet, Up

RENDER_SIGMA = 1.0  # px: the rendered profiles' width (P1's σ; the network is not told the data's σ)


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
