"""Diffusion as tensor math that takes the model as an argument: schedule, q_sample, the ε-MSE loss (P1 eq. 2),
DDPM and DDIM steps in one explicit sampling loop, and `capture` for recording UNet layers while sampling.

Timesteps are 0-based: t ∈ {0, …, T−1} indexes β; the model sees the integer t.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .config import DiffusionConfig


@dataclass(frozen=True)
class Schedule:
    betas: torch.Tensor  # (T,) float64
    alphas: torch.Tensor
    alpha_bar: torch.Tensor

    @property
    def T(self) -> int:  # noqa: N802 - the papers' symbol
        return len(self.betas)


def make_schedule(cfg: DiffusionConfig) -> Schedule:
    T = cfg.timesteps
    if cfg.schedule == "linear":  # Ho et al. 2020: β linear from 1e-4 to 0.02 at T = 1000
        scale = 1000.0 / T if cfg.scale_betas else 1.0
        betas = torch.linspace(cfg.beta_start * scale, cfg.beta_end * scale, T, dtype=torch.float64)
    else:  # Nichol & Dhariwal 2021 eq. 17, s = 0.008
        s = 0.008
        f = torch.cos((torch.arange(T + 1, dtype=torch.float64) / T + s) / (1 + s) * math.pi / 2) ** 2
        betas = (1 - f[1:] / f[:-1]).clamp(max=0.999)
    alphas = 1 - betas
    return Schedule(betas, alphas, torch.cumprod(alphas, 0))


def _at(values: torch.Tensor, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """values[t] shaped to broadcast over x (B, C, H, W), in x's dtype and device."""
    return values.to(x.device)[t].to(x.dtype).view(-1, *([1] * (x.ndim - 1)))


def q_sample(x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor, sched: Schedule) -> torch.Tensor:
    """x_t = √ᾱ_t x0 + √(1 − ᾱ_t) ε (Ho et al. eq. 4)."""
    ab = _at(sched.alpha_bar, t, x0)
    return ab.sqrt() * x0 + (1 - ab).sqrt() * eps


def loss(model: nn.Module, x0: torch.Tensor, labels: torch.Tensor, sched: Schedule,
         generator: torch.Generator | None = None) -> torch.Tensor:
    """P1 eq. 2: E_{t, x0, ε} ‖ε − ε_θ(x_t, t, c)‖², t uniform over {0, …, T−1}."""
    t = torch.randint(0, sched.T, (x0.shape[0],), generator=generator, device=generator.device
                      if generator is not None else "cpu").to(x0.device)
    eps = torch.randn(x0.shape, generator=generator, device=generator.device if generator is not None else "cpu",
                      dtype=x0.dtype).to(x0.device)
    return F.mse_loss(model(q_sample(x0, t, eps, sched), t, labels), eps)


def ddpm_step(x: torch.Tensor, eps_hat: torch.Tensor, t: int, sched: Schedule, z: torch.Tensor, *,
              clip_x0: bool = False) -> torch.Tensor:
    """Ho et al. Alg. 2: x_{t−1} = (x_t − β_t/√(1−ᾱ_t) ε̂)/√α_t + σ_t z, σ_t² = β_t, no noise at t = 0.

    With `clip_x0`, the same mean written as the posterior q(x_{t−1} | x_t, x̂0) (Ho et al. eq. 7) with x̂0
    clamped to [−1, 1] (improved-diffusion's clip_denoised); without clamping the two forms are equal."""
    beta, alpha, ab = (float(v[t]) for v in (sched.betas, sched.alphas, sched.alpha_bar))
    if clip_x0:
        ab_prev = float(sched.alpha_bar[t - 1]) if t > 0 else 1.0
        x0 = ((x - math.sqrt(1 - ab) * eps_hat) / math.sqrt(ab)).clamp(-1, 1)
        mean = math.sqrt(ab_prev) * beta / (1 - ab) * x0 + math.sqrt(alpha) * (1 - ab_prev) / (1 - ab) * x
    else:
        mean = (x - beta / math.sqrt(1 - ab) * eps_hat) / math.sqrt(alpha)
    return mean + math.sqrt(beta) * z if t > 0 else mean


def ddim_step(x: torch.Tensor, eps_hat: torch.Tensor, t: int, t_prev: int, sched: Schedule, z: torch.Tensor,
              *, eta: float = 0.0, clip_x0: bool = True) -> torch.Tensor:
    """Song et al. 2021 eq. 12: x_prev = √ᾱ_prev x̂0 + √(1 − ᾱ_prev − σ²) ε̂ + σ z (t_prev = −1: ᾱ = 1)."""
    ab = float(sched.alpha_bar[t])
    ab_prev = float(sched.alpha_bar[t_prev]) if t_prev >= 0 else 1.0
    x0 = (x - math.sqrt(1 - ab) * eps_hat) / math.sqrt(ab)
    if clip_x0:
        x0 = x0.clamp(-1, 1)
        eps_hat = (x - math.sqrt(ab) * x0) / math.sqrt(1 - ab)
    sigma = eta * math.sqrt((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev))
    out = math.sqrt(ab_prev) * x0 + math.sqrt(max(1 - ab_prev - sigma**2, 0.0)) * eps_hat
    return out + sigma * z if sigma > 0 else out


def sampling_timesteps(cfg: DiffusionConfig) -> list[int]:
    """T−1 … 0 for DDPM; `sample_steps` evenly spaced (descending, ending at 0) for DDIM."""
    T = cfg.timesteps
    if cfg.sampler == "ddpm" or cfg.sample_steps in (0, T):
        return list(range(T - 1, -1, -1))
    return sorted({int(round(v)) for v in torch.linspace(0, T - 1, cfg.sample_steps).tolist()}, reverse=True)


SAMPLE_CHUNK = 1024  # images per reverse-diffusion pass: bounds memory for any number of samples


def _chunk_generator(seed: int, i: int) -> torch.Generator:
    """Noise of chunk i: chunk 0 uses `seed` itself, so a call with ≤ SAMPLE_CHUNK labels is one plain pass."""
    if i == 0:
        return torch.Generator().manual_seed(seed)
    import numpy as np

    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, i]).generate_state(1, np.uint64)[0] >> 1))


class SamplingStopped(Exception):
    """`should_stop()` said yes between two reverse steps: the sample was abandoned (nothing returned)."""


@torch.inference_mode()
def sample(model: nn.Module, labels: torch.Tensor, cfg: DiffusionConfig, *, seed: int = 0,
           image_size: int = 32, callback: Callable[[int, int, torch.Tensor], None] | None = None,
           chunk: int = SAMPLE_CHUNK, pixels: bool = False,
           should_stop: Callable[[], bool] | None = None) -> torch.Tensor:
    """Generate one image per label (B, 2) → (B, 1, N, N) in [−1, 1] (or uint8 (B, N, N) with `pixels`,
    which keeps only bytes between chunks).

    Labels are processed `chunk` at a time. Noise comes from a CPU generator per chunk (chunk 0: `seed`), then
    moves to the model's device, so a fixed seed gives the same noise on every device. `callback(i, t, x)`
    sees every intermediate of every chunk. `should_stop()` is asked after every reverse step; when it says yes
    sampling raises SamplingStopped (a stop signal during a long snapshot is honoured within one network call).
    """
    if chunk < 1:
        raise ValueError(f"chunk: must be ≥ 1 (got {chunk})")
    sched = make_schedule(cfg)
    steps = sampling_timesteps(cfg)
    outs = []
    for c, start in enumerate(range(0, labels.shape[0], chunk)):
        lab = labels[start:start + chunk]
        x = _sample_chunk(model, lab, cfg, sched, steps, _chunk_generator(seed, c), image_size, callback,
                          should_stop)
        outs.append(to_pixels(x) if pixels else x)
    if not outs:
        return torch.empty((0, image_size, image_size) if pixels else (0, 1, image_size, image_size),
                           dtype=torch.uint8 if pixels else torch.float32, device=labels.device)
    return outs[0] if len(outs) == 1 else torch.cat(outs)


def _sample_chunk(model, labels, cfg, sched, steps, gen, image_size, callback, should_stop=None) -> torch.Tensor:
    device = labels.device
    shape = (labels.shape[0], 1, image_size, image_size)
    x = torch.randn(shape, generator=gen).to(device)
    for i, t in enumerate(steps):
        tt = torch.full((shape[0],), t, device=device, dtype=torch.long)
        eps_hat = model(x, tt, labels).float()
        z = torch.randn(shape, generator=gen).to(device) if t > 0 else torch.zeros_like(x)
        if cfg.sampler == "ddpm":
            x = ddpm_step(x, eps_hat, t, sched, z, clip_x0=cfg.clip_x0)
        else:
            t_prev = steps[i + 1] if i + 1 < len(steps) else -1
            x = ddim_step(x, eps_hat, t, t_prev, sched, z, eta=cfg.eta, clip_x0=cfg.clip_x0)
        if callback is not None:
            callback(i, t, x)
        if should_stop is not None and should_stop():
            raise SamplingStopped(f"stopped at reverse step {i + 1} of {len(steps)}")
    return x.clamp(-1, 1)


def to_pixels(x: torch.Tensor) -> torch.Tensor:
    """[−1, 1] → uint8 [0, 255] (B, N, N)."""
    return ((x.squeeze(1).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


class Recording(dict):
    """{layer: [tensor per recorded step, …]}, filled by `capture`; tensors on the CPU."""


@contextlib.contextmanager
def capture(model: nn.Module, layers: list[str] | tuple[str, ...], timesteps: set[int] | None = None
            ) -> Iterator[Recording]:
    """Record the outputs of named submodules (e.g. "layer4") when the model runs at one of `timesteps`
    (default {0}: the final reverse step). Hooks are always removed, also when the body raises."""
    timesteps = {0} if timesteps is None else set(timesteps)
    modules = dict(model.named_modules())
    missing = [name for name in layers if name not in modules]
    if missing:
        raise KeyError(f"no layer named {missing} (available: {[n for n in modules if n and '.' not in n]})")
    rec, state = Recording({name: [] for name in layers}), {"t": None}

    def pre(_module, args):
        state["t"] = int(args[1].flatten()[0])

    def make_hook(name):
        def hook(_module, _inputs, output):
            if state["t"] in timesteps:
                rec[name].append(output.detach().float().cpu())
        return hook

    handles = [model.register_forward_pre_hook(pre)]
    handles += [modules[name].register_forward_hook(make_hook(name)) for name in layers]
    try:
        yield rec
    finally:
        for h in handles:
            h.remove()
