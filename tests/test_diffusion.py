import math

import pytest
import torch

from factordiff.config import ConfigError, DiffusionConfig
from factordiff.diffusion import (
    ddim_step,
    ddpm_step,
    loss,
    make_schedule,
    q_sample,
    sample,
    sampling_timesteps,
    to_pixels,
)


def test_linear_schedule_invariants():
    s = make_schedule(DiffusionConfig())
    assert s.T == 1000 and s.betas[0] == pytest.approx(1e-4) and s.betas[-1] == pytest.approx(0.02)
    assert torch.all(s.alpha_bar[1:] < s.alpha_bar[:-1]) and 0 < s.alpha_bar[-1] < 1e-4
    short = make_schedule(DiffusionConfig(timesteps=200))  # ends scaled ×5: same total noise
    assert short.betas[-1] == pytest.approx(0.1) and short.alpha_bar[-1] < 1e-4
    cos = make_schedule(DiffusionConfig(schedule="cosine"))
    assert torch.all(cos.alpha_bar[1:] < cos.alpha_bar[:-1]) and cos.alpha_bar[-1] < 1e-3
    with pytest.raises(ConfigError, match="diffusion.timesteps"):
        DiffusionConfig(timesteps=10)  # scaled beta_end would be 2


class Oracle(torch.nn.Module):
    """ε̂ computed from the known x0: the exact denoiser for a one-point data distribution."""

    def __init__(self, x0, sched):
        super().__init__()
        self.x0, self.sched = x0, sched

    def forward(self, x, t, labels):
        ab = self.sched.alpha_bar[t].float().view(-1, 1, 1, 1)
        return (x - ab.sqrt() * self.x0) / (1 - ab).sqrt()


@pytest.mark.parametrize("sampler, steps, eta", [("ddpm", 0, 0.0), ("ddim", 20, 0.0), ("ddim", 50, 1.0)])
def test_sampling_with_oracle_recovers_x0(sampler, steps, eta):
    cfg = DiffusionConfig(timesteps=200, sampler=sampler, sample_steps=steps, eta=eta)
    x0 = torch.rand(3, 1, 8, 8) * 1.6 - 0.8
    model = Oracle(x0, make_schedule(cfg))
    out = sample(model, torch.zeros(3, 2), cfg, seed=1, image_size=8)
    torch.testing.assert_close(out, x0, atol=1e-4, rtol=0)


def test_single_steps_with_exact_eps():
    s = make_schedule(DiffusionConfig())
    x0, eps = torch.randn(2, 1, 4, 4), torch.randn(2, 1, 4, 4)
    xt = q_sample(x0, torch.tensor([0, 0]), eps, s)
    torch.testing.assert_close(ddpm_step(xt, eps, 0, s, torch.zeros_like(x0)), x0, atol=1e-5, rtol=0)
    xt = q_sample(x0, torch.tensor([500, 500]), eps, s)
    torch.testing.assert_close(ddim_step(xt, eps, 500, -1, s, eps, clip_x0=False), x0, atol=1e-4, rtol=0)


def test_clipped_ddpm_mean_is_the_posterior_mean_of_the_unclipped_step():
    s = make_schedule(DiffusionConfig())
    x0 = torch.rand(2, 1, 4, 4) * 1.8 - 0.9  # inside [−1, 1]: clamping changes nothing
    eps = torch.randn(2, 1, 4, 4)
    for t in (1, 10, 400, 999):
        xt = q_sample(x0, torch.tensor([t, t]), eps, s)
        z = torch.zeros_like(x0)
        torch.testing.assert_close(ddpm_step(xt, eps, t, s, z, clip_x0=True), ddpm_step(xt, eps, t, s, z),
                                   atol=1e-5, rtol=1e-5)
    wild = torch.full((1, 1, 2, 2), 5.0)  # an ε̂ implying x̂0 far outside the data range is reined in
    assert ddpm_step(wild, -wild, 500, s, torch.zeros_like(wild), clip_x0=True).abs().max() < \
        ddpm_step(wild, -wild, 500, s, torch.zeros_like(wild)).abs().max()


def test_timesteps_and_pixels():
    assert sampling_timesteps(DiffusionConfig(timesteps=100)) == list(range(99, -1, -1))
    ts = sampling_timesteps(DiffusionConfig(timesteps=100, sampler="ddim", sample_steps=10))
    assert len(ts) == 10 and ts[0] == 99 and ts[-1] == 0
    assert to_pixels(torch.tensor([[[[-1.0, 0.0, 1.0]]]])).tolist() == [[[0, 128, 255]]]


def test_loss_is_seeded_and_finite():
    cfg = DiffusionConfig(timesteps=50)
    s = make_schedule(cfg)
    model = torch.nn.Conv2d(1, 1, 1)
    wrapped = lambda x, t, c: model(x)  # noqa: E731
    a = loss(wrapped, torch.zeros(4, 1, 8, 8), torch.zeros(4, 2), s, torch.Generator().manual_seed(0))
    b = loss(wrapped, torch.zeros(4, 1, 8, 8), torch.zeros(4, 2), s, torch.Generator().manual_seed(0))
    assert a.item() == b.item() and math.isfinite(a.item())


def test_sampling_is_deterministic_for_a_seed():
    cfg = DiffusionConfig(timesteps=50, sampler="ddim", sample_steps=5)
    model = Oracle(torch.zeros(2, 1, 8, 8), make_schedule(cfg))
    seen = []
    a = sample(model, torch.zeros(2, 2), cfg, seed=3, image_size=8, callback=lambda i, t, x: seen.append(t))
    b = sample(model, torch.zeros(2, 2), cfg, seed=3, image_size=8)
    assert torch.equal(a, b) and seen == sampling_timesteps(cfg)
