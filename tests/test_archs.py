"""The model registry (archs.py): `model.arch` builds a network through one table; adding one is a module, a
`register` line and a test: this one adds a toy network, trains it a few steps and records its layer."""

import numpy as np
import pytest
import torch
from torch import nn

from conftest import tiny
from factordiff.archs import ARCHS, Arch, build, get, register, unregister
from factordiff.config import ConfigError


class ToyNet(nn.Module):
    """A deliberately small denoiser: labels and t enter as a bias map; one named layer to record."""

    def __init__(self, cfg, image_size: int):
        super().__init__()
        self.cond = nn.Linear(3, 8)
        self.inc = nn.Conv2d(1, 8, 3, padding=1)
        self.middle = nn.Sequential(nn.GELU(), nn.Conv2d(8, 8, 3, padding=1))
        self.out = nn.Conv2d(8, 1, 1)

    def forward(self, x, t, labels):
        c = self.cond(torch.cat([t.float()[:, None] / 1000, labels.float() / 16], 1))[:, :, None, None]
        return self.out(self.middle(self.inc(x) + c))


@pytest.fixture
def toy():
    arch = register(Arch("toy", "test_archs:ToyNet", ("inc", "middle"), "a test's toy: two convolutions"))
    yield arch
    unregister("toy")


def test_a_registered_network_trains_and_records_its_layer(toy, tmp_path):
    from factordiff.api import load_run
    from factordiff.train import train

    cfg = tiny(4, "model.arch=toy", "train.eval_layers=[middle]", "train.snapshot_every=2", "train.eval_samples=8")
    assert isinstance(build(cfg.model, cfg.data.image_size), ToyNet)
    train(cfg, tmp_path / "r", log=lambda m: None)
    run = load_run(tmp_path / "r")
    assert run.config.model.arch == "toy" and run.steps == [0, 2, 4]
    snap = run.snapshot()
    assert snap["act_middle"].shape == (8, 8 * 16 * 16) and np.isfinite(snap["act_middle"]).all()  # flattened
    with pytest.raises(ConfigError, match="train.eval_layers: must be one of 'inc', 'middle'"):
        tiny(4, "model.arch=toy", "train.eval_layers=[layer4]")


def test_the_registry_names_what_it_holds():
    assert get("unet").layers[-2:] == ("layer4", "layer5") and "unet" in ARCHS
    with pytest.raises(ConfigError, match="unknown network 'unnet'; did you mean 'unet'"):
        tiny(4, "model.arch=unnet")
    with pytest.raises(ConfigError, match="a name not registered yet"):
        register(Arch("unet", "somewhere:Else", ("x",), "another network under a taken name"))


@pytest.mark.parametrize("variant", ["model.arch=unet-rendered", "model.arch=unet-rendered-learned",
                                     "model.arch=unet-separate", "model.coords=linear", "model.arch=dit"])
def test_each_inductive_bias_variant_trains_and_records_layer4(variant, tmp_path):
    """The bench's variants (variants.py) train through the same trainer and record the same layer."""
    from factordiff.api import load_run
    from factordiff.train import train

    cfg = tiny(2, variant, "train.snapshot_every=2", "train.eval_samples=8")
    train(cfg, tmp_path / "r", log=lambda m: None)
    snap = load_run(tmp_path / "r").snapshot()
    assert np.isfinite(snap["act_layer4"]).all() and len(snap["act_layer4"]) == 8


def test_rendered_conditioning_draws_each_label_where_the_data_does():
    """µx as a channel that peaks at column µx (constant along rows), µy at row µy: pixel centres 1..N as in
    data.render_labels, whose bump for (5, 9) is darkest at column 4, row 8 (0-based)."""
    from factordiff.data import render_labels

    cfg = tiny(2, "model.arch=unet-rendered")
    net = build(cfg.model, 16)
    x = torch.zeros(1, 1, 16, 16)
    maps = net.inputs(x, torch.tensor([[5.0, 9.0]]))[0, -2:]
    assert maps.shape == (2, 16, 16) and torch.all(maps[0] == maps[0][:1]) and torch.all(maps[1] == maps[1][:, :1])
    img = render_labels(np.array([[5.0, 9.0]]), None, cfg.data)[0]
    row, col = np.unravel_index(np.argmin(img), img.shape)
    assert int(maps[0, 0].argmax()) == col == 4 and int(maps[1, :, 0].argmax()) == row == 8


def test_learned_rendering_keeps_each_profile_on_its_own_axis_and_coordinate_through_training():
    """The x channel varies only along columns and only with µx, the y channel only along rows and only with µy,
    before and after optimizer steps; training moves the profiles (they are learned, not drawn)."""
    cfg = tiny(2, "model.arch=unet-rendered-learned")
    net = build(cfg.model, 16)
    x, t = torch.zeros(3, 1, 16, 16), torch.tensor([10, 10, 10])
    labels = torch.tensor([[3.0, 7.0], [3.0, 12.0], [11.0, 7.0]])  # 0 → 1: y differs; 0 → 2: x differs
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    before = net.inputs(x, labels)[:, -2:].detach()
    for _ in range(2):
        maps = net.inputs(x, labels)[:, -2:].detach()
        assert torch.all(maps[:, 0] == maps[:, 0, :1]) and torch.all(maps[:, 1] == maps[:, 1, :, :1])
        assert torch.equal(maps[0, 0], maps[1, 0]) and not torch.equal(maps[0, 0], maps[2, 0])
        assert torch.equal(maps[0, 1], maps[2, 1]) and not torch.equal(maps[0, 1], maps[1, 1])
        loss = net(torch.randn(3, 1, 16, 16), t, labels).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert not torch.allclose(net.inputs(x, labels)[:, -2:], before)
    with pytest.raises(ValueError, match="built for 16 × 16 images, given 8 × 8"):
        net.inputs(torch.zeros(1, 1, 8, 8), labels[:1])


def test_separate_pathways_keep_x_and_y_apart_through_training():
    """In every block PE(µx) moves only the first half of the channels and PE(µy) only the second, before and
    after an optimizer step (the mask is a parametrization: the masked weights stay zero)."""
    from factordiff.unet import Down, Up

    cfg = tiny(2, "model.arch=unet-separate")
    net = build(cfg.model, 16)
    t = torch.tensor([10, 10])
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2)
    for _ in range(2):
        e_x = net.embed(t, torch.tensor([[3.0, 7.0], [11.0, 7.0]]))  # x differs
        e_y = net.embed(t, torch.tensor([[3.0, 7.0], [3.0, 12.0]]))  # y differs
        for block in (m for m in net.modules() if isinstance(m, Down | Up)):
            c = block.emb[1].out_features
            dx, dy = (block.emb(e)[0] - block.emb(e)[1] for e in (e_x, e_y))
            assert torch.all(dx[c // 2:] == 0) and dx[: c // 2].abs().max() > 0
            assert torch.all(dy[: c // 2] == 0) and dy[c // 2:].abs().max() > 0
        loss = net(torch.randn(2, 1, 16, 16), t, torch.tensor([[3.0, 7.0], [11.0, 12.0]])).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_the_transformer_maps_each_patch_back_where_it_came_from():
    """DiT's unpatchify inverts its patch embedding's token order: with the patch embedding and the output layer
    set to copy a patch's pixels (and every block at its adaLN-Zero start, the identity), ε̂ = x_t exactly; a
    wrong token or pixel order would scramble the image. At initialisation ε̂ = 0 (adaLN-Zero)."""
    import torch

    from factordiff.dit import PATCH, DiT
    from factordiff.presets import preset

    cfg = preset("cpu", {"model.arch": "dit"})
    net = DiT(cfg.model, 16)
    x, t, lab = torch.randn(2, 1, 16, 16), torch.tensor([3, 7]), torch.tensor([[4.0, 9.0], [12.0, 2.0]])
    assert torch.equal(net(x, t, lab), torch.zeros_like(x))
    with torch.no_grad():
        net.pos.zero_()
        net.inc.weight.zero_(), net.inc.bias.zero_()
        for k in range(PATCH * PATCH):  # token channel k = pixel k of its patch, row-major
            net.inc.weight[k, 0, k // PATCH, k % PATCH] = 1.0
        net.out.weight.zero_()
        net.out.weight[:, : PATCH * PATCH] = torch.eye(PATCH * PATCH)
        net.norm = torch.nn.Identity()
    assert torch.allclose(net(x, t, lab), x)
