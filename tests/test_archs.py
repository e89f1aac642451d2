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
