"""`factordiff bench train|sample`: images/s of the real training step and the real sampling loop.

`bench train` measures every candidate performance setting this machine offers for the network and batch
(tune.py: channels_last, bf16 autocast where the hardware has bf16, torch.compile on CUDA) beside the plain
reference (fp32 eager, default memory format) in the same run, interleaved, and reports each one's images/s
and ratio to plain, the one `auto` picks (the cache is refreshed with it), a paired confirmation of that pick
against plain, and the achieved GFLOP/s (FLOPs counted by torch.utils.flop_counter on one forward; a training
step counts as 3 forwards)."""

from __future__ import annotations

import dataclasses
import time

import torch

from . import diffusion, tune
from .config import RunConfig, check_number, replace_path
from .data import make_dataset
from .evaluate import resolve_device
from .hardware import device_name, machine  # noqa: F401 - re-exported
from .step import make_model
from .train import hours, snapshots_of  # noqa: F401 - re-exported

PLAIN = {f"train.{k}": v for k, v in tune.PLAIN.items()}


def forward_flops(cfg: RunConfig, device: torch.device, batch: int = 1) -> int:
    """FLOPs of one forward pass of the network for `batch` images (torch.utils.flop_counter)."""
    from torch.utils.flop_counter import FlopCounterMode

    model = make_model(dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, compile=False)), device)
    n = cfg.data.image_size
    x = torch.zeros(batch, 1, n, n, device=device)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x, torch.zeros(batch, dtype=torch.long, device=device), torch.zeros(batch, 2, device=device))
    return int(counter.get_total_flops())


def bench_train(cfg: RunConfig, *, batch: int, device: str = "auto", steps: int = 5, warmup: int = 2,
                tuned: dict | None = None, reference: bool = True) -> dict:
    """`tuned` ({dotted key: value}) fixes the setting to compare with plain; by default it is what `auto`
    measures and picks now (every candidate is reported)."""
    check_number("--batch", batch, 1, 65536, integer=True)
    check_number("--steps", steps, 1, 10000, integer=True)
    check_number("--warmup", warmup, 0, 10000, integer=True)
    dev = resolve_device(device)
    base = replace_path(cfg, {"train.batch_size": batch, "train.device": dev.type})
    out = {"bench": "train", "device": dev.type, "device_name": device_name(dev), "batch": batch,
           "params": sum(p.numel() for p in make_model(base, torch.device("cpu")).parameters()),
           "gflop_per_image_forward": forward_flops(base, dev) / 1e9}
    if tuned is None:
        tuned_cfg, entry = tune.resolve(base, dev, refresh=True)
        if entry:
            out["candidates"] = [{"options": tune.name(o["options"]), "images_per_s": o["images_per_s"],
                                  "vs_plain": o["vs_plain"]} for o in entry["candidates"]]
            out["auto_picks"] = tune.name(entry["choice"])
            out["probe_s"] = entry["probe_s"]
    else:
        tuned_cfg = replace_path(base, tuned)
    opts = {k: getattr(tuned_cfg.train, k) for k in tune.KEYS}
    out["tuned_options"] = opts
    plain_cfg = replace_path(base, PLAIN)
    pair = tune.measure(plain_cfg, dev, ([tune.PLAIN] if reference else []) + [opts], rounds=steps,
                        warmup=warmup, drop=False)
    timed = {("plain" if reference and i == 0 else "tuned"): {"sec_per_step": o["sec_per_step"],
                                                             "images_per_s": o["images_per_s"]}
             for i, o in enumerate(pair)}
    out.update(timed)
    if "tuned" not in out and reference and opts == tune.PLAIN:
        out["tuned"] = dict(out["plain"])
    out["tuned"]["gflop_per_s"] = 3 * out["gflop_per_image_forward"] * out["tuned"]["images_per_s"]
    if reference:
        out["speedup"] = out["tuned"]["images_per_s"] / out["plain"]["images_per_s"]
    return out


@torch.inference_mode()
def bench_sample(cfg: RunConfig, *, batch: int, device: str = "auto", sample_steps: int | None = None) -> dict:
    """images/s of diffusion.sample (the real loop, fp32) with the preset's sampler, or DDIM with
    `sample_steps`, for the network in the memory format a run would train it in (`auto` resolved as a run
    resolves it) beside the plain format, in the same run."""
    check_number("--batch", batch, 1, 65536, integer=True)
    dev = resolve_device(device)
    if sample_steps is not None:
        cfg = replace_path(cfg, {"diffusion.sampler": "ddim", "diffusion.sample_steps": sample_steps})
    cfg = tune.resolve(replace_path(cfg, {"train.device": dev.type}), dev)[0]
    labels = torch.rand(batch, 2, generator=torch.Generator().manual_seed(0)).to(dev) * cfg.data.image_size
    warm = replace_path(cfg, {"diffusion.sampler": "ddim", "diffusion.sample_steps": 2})
    n_steps = len(diffusion.sampling_timesteps(cfg.diffusion))
    out = {"bench": "sample", "device": dev.type, "device_name": device_name(dev), "batch": batch,
           "sampler": cfg.diffusion.sampler, "steps": n_steps, "channels_last": cfg.train.channels_last}
    variants = {"run": cfg} if cfg.train.channels_last is not True else {"run": cfg,
                                                                        "plain": replace_path(cfg, PLAIN)}
    for name, c in variants.items():
        model = make_model(c, dev).eval()
        diffusion.sample(model, labels, warm.diffusion, image_size=cfg.data.image_size)
        tune.sync(dev)
        t0 = time.perf_counter()
        diffusion.sample(model, labels, c.diffusion, image_size=cfg.data.image_size)
        tune.sync(dev)
        sec = time.perf_counter() - t0
        out[name] = {"seconds": sec, "images_per_s": batch / sec, "network_evals_per_s": batch * n_steps / sec}
    out.update({k: out["run"][k] for k in ("seconds", "images_per_s", "network_evals_per_s")})
    if "plain" in out:
        out["vs_plain"] = out["run"]["images_per_s"] / out["plain"]["images_per_s"]
    return out


def _shape(cfg: RunConfig) -> tuple:
    """What the cost of a step and of a snapshot depends on (not the data's values, the grid or the seed)."""
    t = cfg.train
    return (cfg.model, cfg.data.image_size, cfg.diffusion, t.batch_size, t.eval_samples, t.eval_ood_samples,
            t.eval_layers, t.channels_last, t.amp, t.compile, t.device)


def analysis_seconds(cfg: RunConfig, arrays: dict, analyze: dict, threads: int = 1) -> float:
    """Seconds `analyze_run` (with the sweep's `analyze` options) spends on one snapshot of this shape, timed on a
    benchmark snapshot's arrays as the analysis runs them (`threads` UMAP fits at once, BLAS on one thread): the
    R² of the layer, its image-driven part and its label-only response by each method over the UMAP seeds, the
    spectrum and the rescoring (the grid probe and topology, once per run: `probe_seconds`). A first small
    fit loads (or compiles) the UMAP kernels, untimed."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from .analysis.controls import image_part
    from .analysis.dimension import spectrum
    from .analysis.embed import r2_columns
    from .analyze import METHODS
    from .score import period_of, predict_labels

    layer, methods = analyze.get("layer", "layer4"), tuple(analyze.get("methods", METHODS))
    seeds = tuple(range(int(analyze.get("umap_seeds", 3))))
    if f"act_{layer}" not in arrays:
        return 0.0
    X, labels = arrays[f"act_{layer}"].astype(np.float64), arrays["labels"].astype(np.float64)
    with threadpool_limits(limits=1, user_api="blas"):
        r2_columns({"r2": (X[:30], 0)}, labels[:30], methods, seeds[:1])  # warm-up: the kernels
        t0 = time.perf_counter()
        clouds = {"r2": (X, 0)}
        if f"lab_{layer}" in arrays:
            lab = arrays[f"lab_{layer}"].astype(np.float64)
            clouds |= {"r2_image": (image_part(X, lab), None), "r2_label": (lab, None)}
        r2_columns(clouds, labels, methods, seeds, threads)
        spectrum(X)
        predict_labels(arrays["images"], arrays["kinds"], cfg.data.blob_rule, cfg.data.predictor, period_of(cfg.data))
        return time.perf_counter() - t0


def probe_seconds(cfg: RunConfig, arrays: dict, analyze: dict, sec_per_sample: float) -> float:
    """Seconds `analyze_run`'s once-per-run work takes: the grid probe (k × k labels × repeats, sampled by the
    trained and by the untrained network, at `sec_per_sample`, the benchmark snapshot's own rate) and persistent
    homology (the last snapshot's cloud, and each grid cloud: the model, its controls, the ground truth and two
    reference tori, four of them with the stability variants), timed here with one persistence computation of
    each size on the benchmark's activations. Topology "all" computes the snapshot cloud's at every snapshot."""
    import inspect

    import numpy as np

    from .analysis.topology import STABILITY, persistence
    from .analyze import STABLE_CLOUDS, analyze_run

    defaults = {k: p.default for k, p in inspect.signature(analyze_run).parameters.items()}
    opt = {k: analyze.get(k, defaults[k]) for k in ("layer", "grid", "grid_repeats", "topology")}
    k, reps = int(opt["grid"]), int(opt["grid_repeats"])
    seconds = 2 * k * k * reps * sec_per_sample if k >= 2 else 0.0
    X = arrays.get(f"act_{opt['layer']}")
    if opt["topology"] == "none" or X is None:
        return seconds
    X = X.astype(np.float64)

    def timed(points) -> float:
        t0 = time.perf_counter()
        persistence(points)
        return time.perf_counter() - t0

    per_snapshot = timed(X)
    snaps = snapshots_of(cfg, 0) if opt["topology"] == "all" else 1
    seconds += snaps * per_snapshot
    if k >= 2:
        rng = np.random.default_rng(0)  # a k × k cloud of the layer's width (the benchmark holds eval_samples points)
        grid_cloud = X[rng.choice(len(X), size=k * k, replace=k * k > len(X))]
        grid_cloud = grid_cloud + 1e-3 * rng.standard_normal(grid_cloud.shape) * grid_cloud.std()
        clouds = 8  # model, label_only, image_part, untrained, untrained_image_part, ground_truth, torus3d, clifford
        seconds += timed(grid_cloud) * (clouds + len(STABLE_CLOUDS) * len(STABILITY))
    return seconds


def estimate_run(cfg: RunConfig, *, start: int = 0, device: str | None = None, cache: dict | None = None,
                 analyze: dict | None = None) -> dict:
    """The wall time of training `cfg` from step `start`, from a few-step benchmark on the device: seconds
    per training step (2 timed after 1 warm-up) × steps, plus seconds per snapshot (the real `snapshot` with
    1- and 2-step samplers, extrapolated to the run's sampler steps) × snapshots, plus, with `analyze` (the
    sweep's analysis options), the analysis of each snapshot (`analysis_seconds`). Checkpoints and start-up are
    not counted here (plan.py adds start-up). `cache` (shape → timings) shares the benchmark between runs of the
    same shape."""
    from .evaluate import snapshot
    from .train import _eval_set

    dev = resolve_device(device or cfg.train.device)
    cfg = tune.resolve(cfg, dev)[0]  # `auto` options as the run will have them (measured once, cached)
    key = _shape(cfg)
    if cache is None or key not in cache:
        timer = tune.step_timer(cfg, dev)
        timer(1)  # warm-up
        step_s = timer(2) / 2
        ds = make_dataset(cfg.data)
        labels, kinds = _eval_set(cfg, ds)
        net = make_model(cfg, dev).eval()
        times, arrays = [], {}
        for k in (1, 1, 2):  # the first 1-step run warms the sampler up
            small = replace_path(cfg, {"diffusion.sampler": "ddim", "diffusion.sample_steps": k,
                                       "diffusion.timesteps": cfg.diffusion.timesteps})
            tune.sync(dev)
            t0 = time.perf_counter()
            arrays = snapshot(small, net, labels, kinds)["arrays"]
            tune.sync(dev)
            times.append(time.perf_counter() - t0)
        per_step = max(times[2] - times[1], times[1] / 2)
        n_sampler = len(diffusion.sampling_timesteps(cfg.diffusion))
        timing = {"sec_per_step": step_s, "sec_per_snapshot": max(times[1] - per_step, 0.0) + per_step * n_sampler}
        timing["arrays"] = arrays
        if cache is not None:
            cache[key] = timing
    timing = dict(cache[key] if cache is not None else timing)
    arrays = timing.pop("arrays")
    akey = (key, repr(sorted((analyze or {}).items())), torch.get_num_threads())
    if analyze is None:
        timing["sec_analysis_per_snapshot"] = timing["sec_probe"] = 0.0
    elif cache is not None and akey in cache:
        timing["sec_analysis_per_snapshot"], timing["sec_probe"] = cache[akey]
    else:
        # the analysis runs at the worker's threads (plan.py sets torch's to them on a CPU)
        threads = int(analyze.get("threads") or (torch.get_num_threads() if dev.type == "cpu" else 1))
        timing["sec_analysis_per_snapshot"] = analysis_seconds(cfg, arrays, analyze, threads=threads)
        timing["sec_probe"] = probe_seconds(cfg, arrays, analyze, timing["sec_per_snapshot"] / max(len(
            arrays["labels"]), 1))
        if cache is not None:
            cache[akey] = (timing["sec_analysis_per_snapshot"], timing["sec_probe"])
    steps, snaps = max(cfg.train.steps - start, 0), snapshots_of(cfg, start)
    train_s, snap_s = steps * timing["sec_per_step"], snaps * timing["sec_per_snapshot"]
    # a resumed run is analysed whole
    analysis_s = snapshots_of(cfg, 0) * timing["sec_analysis_per_snapshot"] + timing["sec_probe"]
    return {**timing, "steps": steps, "snapshots": snaps, "train_s": train_s, "snapshot_s": snap_s,
            "analysis_s": analysis_s, "total_s": train_s + snap_s + analysis_s, "device": dev.type,
            "device_name": device_name(dev)}
