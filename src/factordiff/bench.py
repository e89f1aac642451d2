"""`factordiff bench train|sample`: images/s of the real training step and the real sampling loop.

`bench train` times the tuned step (the preset's performance options plus, unless told otherwise, the device's
recommended ones: channels_last on CPU; bf16 autocast + channels_last + torch.compile on CUDA) and, in the
same run, a plain reference step on the same network, batch and data (fp32 eager, default memory format), and
reports both and their ratio, with the achieved GFLOP/s of the tuned step (FLOPs counted by
torch.utils.flop_counter on one forward; a training step counts as 3 forwards)."""

from __future__ import annotations

import dataclasses
import time

import torch

from . import diffusion
from .config import RunConfig, check_number, replace_path
from .data import make_dataset
from .evaluate import resolve_device
from .train import hours, make_batch_loss, make_model, snapshots_of, update  # noqa: F401 - re-exported

RECOMMENDED = {"cpu": {"train.channels_last": True},
               "cuda": {"train.channels_last": True, "train.amp": "bf16", "train.compile": True}}
PLAIN = {"train.channels_last": False, "train.amp": "none", "train.compile": False}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def forward_flops(cfg: RunConfig, device: torch.device, batch: int = 1) -> int:
    """FLOPs of one forward pass of the network for `batch` images (torch.utils.flop_counter)."""
    from torch.utils.flop_counter import FlopCounterMode

    model = make_model(dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, compile=False)), device)
    n = cfg.data.image_size
    x = torch.zeros(batch, 1, n, n, device=device)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x, torch.zeros(batch, dtype=torch.long, device=device), torch.zeros(batch, 2, device=device))
    return int(counter.get_total_flops())


def _time_train(cfg: RunConfig, device: torch.device, steps: int, warmup: int) -> dict:
    torch.manual_seed(cfg.seed)
    ds = make_dataset(cfg.data)
    model = make_model(cfg, device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    labels = torch.as_tensor(ds.labels, dtype=torch.float32, device=device)
    kinds = torch.as_tensor(ds.kinds, device=device)
    batch_loss = make_batch_loss(cfg, model, diffusion.make_schedule(cfg.diffusion), labels, kinds)
    t_compile = time.perf_counter()
    for s in range(warmup):
        update(opt, batch_loss(s))
    _sync(device)
    t0 = time.perf_counter()
    for s in range(warmup, warmup + steps):
        update(opt, batch_loss(s))
    _sync(device)
    sec = (time.perf_counter() - t0) / steps
    return {"sec_per_step": sec, "images_per_s": cfg.train.batch_size / sec, "warmup_s": t0 - t_compile}


def bench_train(cfg: RunConfig, *, batch: int, device: str = "auto", steps: int = 5, warmup: int = 2,
                tuned: dict | None = None, reference: bool = True) -> dict:
    check_number("--batch", batch, 1, 65536, integer=True)
    check_number("--steps", steps, 1, 10000, integer=True)
    dev = resolve_device(device)
    base = replace_path(cfg, {"train.batch_size": batch, "train.device": dev.type})
    tuned_cfg = replace_path(base, RECOMMENDED[dev.type] if tuned is None else tuned)
    out = {"bench": "train", "device": dev.type, "device_name": device_name(dev), "batch": batch,
           "params": sum(p.numel() for p in make_model(base, torch.device("cpu")).parameters()),
           "gflop_per_image_forward": forward_flops(base, dev) / 1e9,
           "tuned_options": {k: v for k, v in dataclasses.asdict(tuned_cfg.train).items()
                             if k in ("channels_last", "amp", "compile")}}
    out["tuned"] = _time_train(tuned_cfg, dev, steps, warmup)
    out["tuned"]["gflop_per_s"] = 3 * out["gflop_per_image_forward"] * out["tuned"]["images_per_s"]
    if reference:
        out["plain"] = _time_train(replace_path(base, PLAIN), dev, steps, warmup)
        out["speedup"] = out["tuned"]["images_per_s"] / out["plain"]["images_per_s"]
    return out


@torch.inference_mode()
def bench_sample(cfg: RunConfig, *, batch: int, device: str = "auto", sample_steps: int | None = None) -> dict:
    """images/s of diffusion.sample (the real loop) with the preset's sampler, or DDIM with `sample_steps`."""
    check_number("--batch", batch, 1, 65536, integer=True)
    dev = resolve_device(device)
    if sample_steps is not None:
        cfg = replace_path(cfg, {"diffusion.sampler": "ddim", "diffusion.sample_steps": sample_steps})
    cfg = replace_path(cfg, {"train.device": dev.type})
    model = make_model(cfg, dev).eval()
    labels = torch.rand(batch, 2, generator=torch.Generator().manual_seed(0)).to(dev) * cfg.data.image_size
    warm = replace_path(cfg, {"diffusion.sampler": "ddim", "diffusion.sample_steps": 2})
    diffusion.sample(model, labels, warm.diffusion, image_size=cfg.data.image_size)
    _sync(dev)
    t0 = time.perf_counter()
    diffusion.sample(model, labels, cfg.diffusion, image_size=cfg.data.image_size)
    _sync(dev)
    sec = time.perf_counter() - t0
    n_steps = len(diffusion.sampling_timesteps(cfg.diffusion))
    return {"bench": "sample", "device": dev.type, "device_name": device_name(dev), "batch": batch,
            "sampler": cfg.diffusion.sampler, "steps": n_steps, "seconds": sec, "images_per_s": batch / sec,
            "network_evals_per_s": batch * n_steps / sec}


def device_name(dev: torch.device) -> str:
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    return f"{machine()['cpu']}, {torch.get_num_threads()} threads"


def _shape(cfg: RunConfig) -> tuple:
    """What the cost of a step and of a snapshot depends on (not the data's values, the grid or the seed)."""
    t = cfg.train
    return (cfg.model, cfg.data.image_size, cfg.diffusion, t.batch_size, t.eval_samples, t.eval_ood_samples,
            t.eval_layers, t.channels_last, t.amp, t.compile, t.device)


def estimate_run(cfg: RunConfig, *, start: int = 0, device: str | None = None, cache: dict | None = None) -> dict:
    """The wall time of training `cfg` from step `start`, from a few-step benchmark on the device: seconds
    per training step (2 timed after 1 warm-up) × steps, plus seconds per snapshot (the real `snapshot` with
    1- and 2-step samplers, extrapolated to the run's sampler steps) × snapshots. Checkpoints, analysis and
    start-up are not counted. `cache` (shape → timings) shares the benchmark between runs of the same shape."""
    from .evaluate import snapshot
    from .train import _eval_set

    dev = resolve_device(device or cfg.train.device)
    key = _shape(cfg)
    if cache is None or key not in cache:
        step_s = _time_train(cfg, dev, steps=2, warmup=1)["sec_per_step"]
        ds = make_dataset(cfg.data)
        labels, kinds = _eval_set(cfg, ds)
        net = make_model(cfg, dev).eval()
        times = []
        for k in (1, 1, 2):  # the first 1-step run warms the sampler up
            small = replace_path(cfg, {"diffusion.sampler": "ddim", "diffusion.sample_steps": k,
                                       "diffusion.timesteps": cfg.diffusion.timesteps})
            _sync(dev)
            t0 = time.perf_counter()
            snapshot(small, net, labels, kinds)
            _sync(dev)
            times.append(time.perf_counter() - t0)
        per_step = max(times[2] - times[1], times[1] / 2)
        n_sampler = len(diffusion.sampling_timesteps(cfg.diffusion))
        timing = {"sec_per_step": step_s, "sec_per_snapshot": max(times[1] - per_step, 0.0) + per_step * n_sampler}
        if cache is not None:
            cache[key] = timing
    timing = cache[key] if cache is not None else timing
    steps, snaps = max(cfg.train.steps - start, 0), snapshots_of(cfg, start)
    train_s, snap_s = steps * timing["sec_per_step"], snaps * timing["sec_per_snapshot"]
    return {**timing, "steps": steps, "snapshots": snaps, "train_s": train_s, "snapshot_s": snap_s,
            "total_s": train_s + snap_s, "device": dev.type, "device_name": device_name(dev)}


def machine() -> dict:
    """What a number was measured on: CPU model, cores, the vector extensions that matter for speed, the GPU,
    torch's version and threads (every benchmark and recording names its machine)."""
    import os
    import platform

    info: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                k, _, v = line.partition(":")
                info.setdefault(k.strip(), v.strip())
                if k.strip() == "flags":
                    break
    except OSError:
        pass
    model = info.get("model name") or platform.processor() or platform.machine()
    if "cpu family" in info:
        model += f" (family {info['cpu family']} model {info.get('model', '?')})"
    flags = set(info.get("flags", "").split())
    wanted = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile")
    return {"cpu": model, "cores": os.cpu_count(), "cpu_flags": [f for f in wanted if f in flags],
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "torch": torch.__version__, "threads": torch.get_num_threads()}
