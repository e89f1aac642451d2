"""The training step, shared by the loop (train.py), the `auto` probe (tune.py) and the benchmarks: the network in
the run's memory format, the ε-MSE of one batch rendered on the device, the optimizer update."""

from __future__ import annotations

import torch

from . import diffusion
from .archs import build
from .config import RunConfig
from .data import render_labels_torch
from .errors import ConfigError


def step_generator(seed: int, step: int) -> torch.Generator:
    """The generator for one training step: a pure function of (seed, step)."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step * 7919 + 17) % (2**63 - 1))


def make_model(cfg: RunConfig, device: torch.device) -> torch.nn.Module:
    model = build(cfg.model, cfg.data.image_size).to(device)  # model.arch, through the registry (archs.py)
    # "auto" left unresolved (an untrained reference network, a tool) means plain; train() resolves it first
    return model.to(memory_format=torch.channels_last if cfg.train.channels_last is True else torch.contiguous_format)


def make_batch_loss(cfg: RunConfig, model: torch.nn.Module, sched, labels_dev: torch.Tensor,
                    kinds_dev: torch.Tensor):
    """loss(step): the ε-MSE of step `step`'s batch, rendered on the device from the label set, with the
    run's performance options (channels_last, bf16 autocast, torch.compile). Used by the loop and the bench."""
    tc = cfg.train
    # same parameters (checkpoints hold `model`); static shapes: a recompile with another batch must not go dynamic
    # (inductor failed on the backward's dynamic shapes on an H200, torch 2.11)
    if tc.compile == "graphs" and labels_dev.device.type != "cuda":
        raise ConfigError("train.compile", "graphs", "true, false or auto on a CPU (graphs: CUDA graphs, a GPU only)")
    net = torch.compile(model, dynamic=False, mode="reduce-overhead" if tc.compile == "graphs" else None) \
        if tc.compile in (True, "graphs") else model
    fmt = torch.channels_last if tc.channels_last is True else torch.contiguous_format
    device = labels_dev.device

    def batch_loss(step: int) -> torch.Tensor:
        gen = step_generator(cfg.seed, step)
        idx = torch.randint(0, len(labels_dev), (tc.batch_size,), generator=gen).to(device)
        x0 = render_labels_torch(labels_dev[idx], kinds_dev[idx], cfg.data) / 127.5 - 1.0
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=tc.amp == "bf16"):
            return diffusion.loss(net, x0.unsqueeze(1).contiguous(memory_format=fmt), labels_dev[idx], sched, gen)

    return batch_loss


def update(opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
