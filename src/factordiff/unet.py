"""The conditional UNet of P1 Fig 6 (P2 Fig 7): maps (x_t, t, (µx, µy)) → ε̂. It knows nothing about noise.

Layout as docs/papers.md §1.2 reconstructs it (dome272/Diffusion-Models-pytorch `modules.py`), with width `base`
(64 in the papers):

    inc   DoubleConv(1, b)                                   N
    layer0 Down(b, 2b)   + SelfAttention                     N/2
    layer1 Down(2b, 4b)  + SelfAttention                     N/4
    layer2 Down(4b, 4b)  + SelfAttention                     N/8
    bottleneck DoubleConv 4b→8b→8b→4b (P1 "big"; 4b→4b→4b "light")
    layer3 Up(8b, 2b)    + SelfAttention                     N/4
    layer4 Up(4b, b)     + SelfAttention   ← the papers' representation ("layer 4")
    layer5 Up(2b, b)     + SelfAttention                     N
    outc  Conv1×1(b, 1)

Every Down/Up adds SiLU→Linear of the embedding PE(t) ⊕ PE(µx) ⊕ PE(µy) (P1 Fig 6). Each stage is a named
submodule, so `diffusion.capture` can record any of them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .archs import UNET_LAYERS
from .config import ModelConfig

LAYERS = UNET_LAYERS  # the recordable layers, declared in the registry (archs.py)


def sinusoidal(values: torch.Tensor, dim: int, *, period: float | None = None,
               harmonics: int | None = None) -> torch.Tensor:
    """P1 Fig 6: PE(v, 2i) = sin(v / 10000^(2i/d)), PE(v, 2i+1) = cos(…), as [sin…, cos…] blocks (a
    permutation of the interleaved form). With `period`, frequencies 2πk/period, k = 1…dim/2, instead: periodic
    in v (model.label_encoding="periodic"; on integer labels of N ≤ dim these codes are exactly orthogonal, a
    one-hot code in disguise); with `harmonics` too, k cycles through 1…harmonics ("periodic_smooth": a smooth
    code on the circle, neighbours alike, its own Betti numbers a torus)."""
    half = dim // 2
    k = torch.arange(half, device=values.device, dtype=torch.float32)
    if period and harmonics:
        k = k % harmonics
    freqs = 2 * math.pi * (k + 1) / period if period else 10000.0 ** (-2 * k / dim)
    angles = values.float()[:, None] * freqs[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class DoubleConv(nn.Module):
    """Conv3×3 → GroupNorm(1) → GELU → Conv3×3 → GroupNorm(1); residual variant gelu(x + f(x)). `padding`
    "circular" wraps the convolutions round the image's edges (a torus)."""

    def __init__(self, c_in: int, c_out: int, c_mid: int | None = None, residual: bool = False,
                 padding: str = "zeros"):
        super().__init__()
        c_mid = c_mid or c_out
        self.residual = residual
        self.net = nn.Sequential(
            nn.Conv2d(c_in, c_mid, 3, padding=1, bias=False, padding_mode=padding), nn.GroupNorm(1, c_mid),
            nn.GELU(), nn.Conv2d(c_mid, c_out, 3, padding=1, bias=False, padding_mode=padding),
            nn.GroupNorm(1, c_out))

    def forward(self, x):
        return F.gelu(x + self.net(x)) if self.residual else self.net(x)


class SelfAttention(nn.Module):
    """LayerNorm → 4-head attention + residual → [LayerNorm → Linear → GELU → Linear] + residual."""

    def __init__(self, channels: int, heads: int = 4):
        super().__init__()
        self.ln = nn.LayerNorm(channels)
        self.mha = nn.MultiheadAttention(channels, heads, batch_first=True)
        self.ff = nn.Sequential(nn.LayerNorm(channels), nn.Linear(channels, channels), nn.GELU(),
                                nn.Linear(channels, channels))

    def forward(self, x):
        b, c, h, w = x.shape
        s = x.flatten(2).transpose(1, 2)
        q = self.ln(s)
        s = self.mha(q, q, q, need_weights=False)[0] + s
        s = self.ff(s) + s
        return s.transpose(1, 2).reshape(b, c, h, w)


class Down(nn.Module):
    def __init__(self, c_in: int, c_out: int, emb_dim: int, padding: str = "zeros"):
        super().__init__()
        self.conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(c_in, c_in, residual=True, padding=padding),
                                  DoubleConv(c_in, c_out, padding=padding))
        self.emb = nn.Sequential(nn.SiLU(), nn.Linear(emb_dim, c_out))

    def forward(self, x, emb):
        return self.conv(x) + self.emb(emb)[:, :, None, None]


class CircularUpsample(nn.Module):
    """×2 bilinear upsampling of a periodic image: pad one pixel round (wrapping), upsample with half-pixel
    centres (align_corners=False), crop the two pixels each side that came from the pad. Commutes with
    circular shifts, as zero-padded align_corners=True upsampling does not."""

    def forward(self, x):
        x = F.interpolate(F.pad(x, (1, 1, 1, 1), mode="circular"), scale_factor=2, mode="bilinear",
                          align_corners=False)
        return x[..., 2:-2, 2:-2]


class Up(nn.Module):
    def __init__(self, c_in: int, c_out: int, emb_dim: int, padding: str = "zeros"):
        super().__init__()
        self.up = (CircularUpsample() if padding == "circular"
                   else nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True))
        self.conv = nn.Sequential(DoubleConv(c_in, c_in, residual=True, padding=padding),
                                  DoubleConv(c_in, c_out, c_in // 2, padding=padding))
        self.emb = nn.Sequential(nn.SiLU(), nn.Linear(emb_dim, c_out))

    def forward(self, x, skip, emb):
        x = self.conv(torch.cat([skip, self.up(x)], dim=1))
        return x + self.emb(emb)[:, :, None, None]


class Stage(nn.Module):
    """A Down or Up block followed by its self-attention (or identity): one named, recordable layer."""

    def __init__(self, block: nn.Module, channels: int, attention: bool):
        super().__init__()
        self.block = block
        self.attn = SelfAttention(channels) if attention else nn.Identity()

    def forward(self, *args):
        return self.attn(self.block(*args))


class UNet(nn.Module):
    def __init__(self, cfg: ModelConfig, image_size: int = 32):
        super().__init__()
        self.cfg, self.image_size = cfg, image_size
        b, e = cfg.base, 3 * cfg.pe_dim  # P1 Fig 6: Time PE ⊕ X PE ⊕ Y PE
        att, pad = set(cfg.attention), cfg.padding
        self.inc = DoubleConv(1 + self.extra_channels(), b, padding=pad)
        self.layer0 = Stage(Down(b, 2 * b, e, pad), 2 * b, "layer0" in att)
        self.layer1 = Stage(Down(2 * b, 4 * b, e, pad), 4 * b, "layer1" in att)
        self.layer2 = Stage(Down(4 * b, 4 * b, e, pad), 4 * b, "layer2" in att)
        wide = 8 * b if cfg.bottleneck == "big" else 4 * b
        self.bottleneck = nn.Sequential(DoubleConv(4 * b, wide, padding=pad), DoubleConv(wide, wide, padding=pad),
                                        DoubleConv(wide, 4 * b, padding=pad))
        self.layer3 = Stage(Up(8 * b, 2 * b, e, pad), 2 * b, "layer3" in att)
        self.layer4 = Stage(Up(4 * b, b, e, pad), b, "layer4" in att)
        self.layer5 = Stage(Up(2 * b, b, e, pad), b, "layer5" in att)
        self.outc = nn.Conv2d(b, 1, 1)

    def embed(self, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return torch.cat([sinusoidal(t, self.cfg.pe_dim), self.label_pe(labels[:, 0]), self.label_pe(labels[:, 1])],
                         dim=1)

    def label_pe(self, values: torch.Tensor) -> torch.Tensor:
        """PE(µ) of one coordinate, in the code `model.label_encoding` names."""
        enc = self.cfg.label_encoding
        period = float(self.image_size) if enc in ("periodic", "periodic_smooth") else None
        harmonics = self.cfg.label_harmonics if enc == "periodic_smooth" else None
        return sinusoidal(values, self.cfg.pe_dim, period=period, harmonics=harmonics)

    def extra_channels(self) -> int:
        """Input channels beside x_t: coordinate channels (model.coords); variants add their own."""
        return {"none": 0, "periodic": 4, "linear": 2}[self.cfg.coords]

    def inputs(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """x_t with the extra input channels (`extra_channels`) concatenated."""
        return self.coordinates(x) if self.cfg.coords != "none" else x

    def coordinates(self, x: torch.Tensor) -> torch.Tensor:
        """model.coords = "periodic": cos/sin(2πi/N) and cos/sin(2πj/N) as 4 channels beside the image. With
        circular padding the network is shift-equivariant and its conditioning a spatially uniform bias, so
        without these it cannot know where a label's bump belongs (zero padding's border is that map).
        "linear": the row and column index scaled to [−1, 1] as 2 channels (CoordConv, Liu et al. 2018)."""
        n_i, n_j = x.shape[-2:]
        if self.cfg.coords == "linear":
            i = torch.linspace(-1, 1, n_i, device=x.device, dtype=x.dtype)
            j = torch.linspace(-1, 1, n_j, device=x.device, dtype=x.dtype)
            ii, jj = torch.meshgrid(i, j, indexing="ij")
            return torch.cat([x, torch.stack([ii, jj]).expand(len(x), -1, -1, -1)], dim=1)
        i = 2 * math.pi * torch.arange(n_i, device=x.device, dtype=x.dtype) / n_i
        j = 2 * math.pi * torch.arange(n_j, device=x.device, dtype=x.dtype) / n_j
        ii, jj = torch.meshgrid(i, j, indexing="ij")
        grid = torch.stack([ii.cos(), ii.sin(), jj.cos(), jj.sin()])
        return torch.cat([x, grid.expand(len(x), -1, -1, -1)], dim=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        emb = self.embed(t, labels).to(x.dtype)
        x1 = self.inc(self.inputs(x, labels))
        x2 = self.layer0(x1, emb)
        x3 = self.layer1(x2, emb)
        x4 = self.layer2(x3, emb)
        h = self.bottleneck(x4)
        h = self.layer3(h, x3, emb)
        h = self.layer4(h, x2, emb)
        h = self.layer5(h, x1, emb)
        return self.outc(h)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
