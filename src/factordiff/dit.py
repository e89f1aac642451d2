"""A small diffusion transformer (DiT: Peebles & Xie 2023, "Scalable Diffusion Models with Transformers") as a
non-convolutional reference for the inductive-bias bench (docs/extending.md): no convolution, no locality
beyond the patch, position only through a learned embedding per patch.

    x_t (N × N) → 2 × 2 patches → tokens (N²/4, width) + learned position embedding
    6 blocks (layer0 … layer5), each: adaLN-Zero(LayerNorm → self-attention) + adaLN-Zero(LayerNorm → MLP ×4)
    final adaLN LayerNorm → Linear → 2 × 2 patches → ε̂

The conditioning is the baseline's embedding PE(t) ⊕ PE(µx) ⊕ PE(µy) (unet.UNet.embed, every label encoding),
mapped by an MLP to the vector that modulates every block (adaLN-Zero: shift, scale and a gate per sub-block,
the gates initialised at 0 so each block starts as the identity). Width = 4 × model.base (64 at the cpu preset),
4 heads. The blocks are named layer0 … layer5 so that the analyses' "layer4" (the papers' layer) is the fifth
block's tokens, recorded as (tokens × width) per sample."""

from __future__ import annotations

import torch
from torch import nn

from .config import ModelConfig
from .unet import UNet

PATCH = 2  # pixels per patch side
DEPTH = 6  # blocks: layer0 … layer5
HEADS = 4


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale[:, None]) + shift[:, None]


class Block(nn.Module):
    """One DiT block with adaLN-Zero conditioning."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(approximate="tanh"), nn.Linear(4 * width, width))
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(width, 6 * width))
        nn.init.zeros_(self.ada[1].weight)
        nn.init.zeros_(self.ada[1].bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        s1, g1, a1, s2, g2, a2 = self.ada(c).chunk(6, dim=1)
        h = modulate(self.norm1(x), s1, g1)
        x = x + a1[:, None] * self.attn(h, h, h, need_weights=False)[0]
        return x + a2[:, None] * self.mlp(modulate(self.norm2(x), s2, g2))


class DiT(nn.Module):
    """(x_t, t, (µx, µy)) → ε̂ with transformer blocks; the UNet's conditioning code and input channels."""

    embed = UNet.embed  # PE(t) ⊕ PE(µx) ⊕ PE(µy), every model.label_encoding
    label_pe = UNet.label_pe
    extra_channels = UNet.extra_channels  # model.coords works here too
    inputs = UNet.inputs
    coordinates = UNet.coordinates

    def __init__(self, cfg: ModelConfig, image_size: int = 32):
        super().__init__()
        self.cfg, self.image_size = cfg, image_size
        width, self.side = 4 * cfg.base, image_size // PATCH
        self.inc = nn.Conv2d(1 + self.extra_channels(), width, PATCH, stride=PATCH)  # patch embedding
        self.pos = nn.Parameter(torch.randn(1, self.side**2, width) * 0.02)
        self.cond = nn.Sequential(nn.Linear(3 * cfg.pe_dim, width), nn.SiLU(), nn.Linear(width, width))
        for i in range(DEPTH):
            setattr(self, f"layer{i}", Block(width, HEADS))
        self.norm = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(width, 2 * width))
        self.out = nn.Linear(width, PATCH * PATCH)
        for m in (self.ada[1], self.out):  # the final layer starts at 0: ε̂ = 0 before training (adaLN-Zero)
            nn.init.zeros_(m.weight)
            nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        c = self.cond(self.embed(t, labels).to(x.dtype))
        h = self.inc(self.inputs(x, labels)).flatten(2).transpose(1, 2) + self.pos  # (B, tokens, width)
        for i in range(DEPTH):
            h = getattr(self, f"layer{i}")(h, c)
        shift, scale = self.ada(c).chunk(2, dim=1)
        h = self.out(modulate(self.norm(h), shift, scale))  # (B, tokens, PATCH²)
        b, s = len(x), self.side
        return h.reshape(b, s, s, PATCH, PATCH).permute(0, 1, 3, 2, 4).reshape(b, 1, s * PATCH, s * PATCH)
