"""Everything that runs a trained network: load it from a checkpoint, sample images for given labels while
recording layers, and score them. Used by the trainer (snapshots), `analyze` (grid probe), `sample` and the
experiments' measurements (accuracy over the whole label grid, denoising losses).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import torch

from . import diffusion
from .archs import build as build_arch
from .checkpoint import latest_valid, list_checkpoints, load_checkpoint
from .config import RunConfig, check_number
from .data import make_dataset, render_labels_torch, visible_dims
from .errors import ConfigError, FactordiffError
from .io import save_npz
from .rundir import RunDir, step_of
from .score import detectable, period_of, predict_labels, reference_scores, score_predictions

SNAPSHOT_SEED = 12345  # offset of the sampling seed from the run's seed: the same noise at every snapshot


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device", name, "cpu or auto (no CUDA GPU is visible here)")
    return torch.device(name)


def load_network(run: str | Path | RunDir, step: int | None = None, device: str = "auto"):
    """(config, the network of that checkpoint (the newest valid one when step is None) with EMA weights when
    the run keeps an EMA, in eval mode, its step, the device)."""
    run = run if isinstance(run, RunDir) else RunDir(run)
    cfg = run.load_config()
    if step is None:
        ckpt = latest_valid(run.checkpoints)
        if ckpt is None:
            raise FactordiffError(f"{run.path} has no valid checkpoint (train it first)")
    else:
        kept = {step_of(p): p for p in list_checkpoints(run.checkpoints)}
        if step not in kept:
            raise ConfigError("--step", step, f"a step with a kept checkpoint: {sorted(kept)}")
        ckpt = load_checkpoint(kept[step])
    dev = resolve_device(device)
    net = build_arch(cfg.model, cfg.data.image_size).to(dev)
    net.load_state_dict(ckpt["ema"] if cfg.train.ema_decay > 0 else ckpt["model"])
    net.eval()
    return cfg, net, int(ckpt["manifest"]["step"]), dev


@torch.no_grad()
def sample_and_score(net: torch.nn.Module, labels: np.ndarray, kinds: np.ndarray, cfg: RunConfig, *, seed: int,
                     layers=(), diffusion_cfg=None, should_stop=None) -> dict:
    """Sample one image per label (the run's sampler unless `diffusion_cfg`), recording `layers` at the last
    reverse step; score them (P1 Alg. 1, eq. 1). {'images', 'pred', 'counts', 'acts': {layer: (n, D)},
    'metrics', 'seconds'}."""
    net.eval()
    dev = next(net.parameters()).device
    lab = torch.as_tensor(labels, dtype=torch.float32, device=dev)
    t0 = time.perf_counter()
    with diffusion.capture(net, list(layers)) as rec:
        images = diffusion.sample(net, lab, diffusion_cfg or cfg.diffusion, seed=seed,
                                  image_size=cfg.data.image_size, pixels=True, should_stop=should_stop).cpu().numpy()
    sec = time.perf_counter() - t0
    pred, counts = predict_labels(images, kinds, cfg.data.blob_rule, cfg.data.predictor, period_of(cfg.data))
    return {"images": images, "pred": pred, "counts": counts, "seconds": sec,
            "acts": {k: torch.cat(v).flatten(1).float().cpu().numpy() for k, v in rec.items()},
            "metrics": score_predictions(pred, counts, labels, cfg.data,
                                         detectable_mask=detectable(labels, kinds, cfg.data))}


@torch.no_grad()
def label_only(net: torch.nn.Module, labels: np.ndarray, layers, image_size: int, chunk: int = 512) -> dict:
    """The label-only response {layer: (n, D)}: the layers when the network sees a blank (white) image with
    these labels at t = 0, the timestep the snapshots record (docs/papers.md §7 #26: the control for every
    representation metric)."""
    net.eval()
    dev = next(net.parameters()).device
    out: dict[str, list] = {k: [] for k in layers}
    for start in range(0, len(labels), chunk):
        lab = torch.as_tensor(labels[start:start + chunk], dtype=torch.float32, device=dev)
        x = torch.ones(len(lab), 1, image_size, image_size, device=dev)  # white: the bumps' background
        with diffusion.capture(net, list(layers)) as rec:
            net(x, torch.zeros(len(lab), dtype=torch.long, device=dev), lab)
        for k in layers:
            out[k].append(torch.cat(rec[k]).flatten(1).float().cpu().numpy())
    return {k: np.concatenate(v) for k, v in out.items()}


def untrained_network(cfg: RunConfig, device: str = "auto") -> torch.nn.Module:
    """The run's network at step 0 (its seeded initialisation, as the trainer builds it), in eval mode."""
    torch.manual_seed(cfg.seed)
    net = build_arch(cfg.model, cfg.data.image_size).to(resolve_device(device))
    return net.eval()


def snapshot(cfg: RunConfig, net: torch.nn.Module, labels: np.ndarray, kinds: np.ndarray, should_stop=None) -> dict:
    """The arrays of one snapshot (images, labels, kinds, predictions, bump counts, act_<layer> and the
    label-only response lab_<layer>, both in fp16) and its scores: one image per evaluation label, with the
    same noise at every snapshot. `should_stop` as in `diffusion.sample` (raises diffusion.SamplingStopped)."""
    out = sample_and_score(net, labels, kinds, cfg, seed=cfg.seed + SNAPSHOT_SEED, layers=cfg.train.eval_layers,
                           should_stop=should_stop)
    arrays = {"images": out["images"], "labels": labels.astype(np.float32), "kinds": kinds,
              "pred": out["pred"].astype(np.float32), "counts": out["counts"]}
    arrays |= {f"act_{k}": v.astype(np.float16) for k, v in out["acts"].items()}
    lab = label_only(net, labels, cfg.train.eval_layers, cfg.data.image_size)
    arrays |= {f"lab_{k}": v.astype(np.float16) for k, v in lab.items()}
    return {"arrays": arrays, "metrics": out["metrics"]}


def grid_labels(cfg: RunConfig, k: int) -> tuple[np.ndarray, np.ndarray]:
    """k evenly spaced values per axis over the visible label range [0, N] (a torus: [0, N) periodic)."""
    n = cfg.data.image_size
    end = n * (k - 1) / k if cfg.data.periodic else float(n)
    return np.linspace(0.0, end, k), np.linspace(0.0, end, k)


def probe_grid(run: RunDir, layer: str, k: int, *, seed: int = 0, untrained: bool = False, repeats: int = 1) -> dict:
    """Sample the latest checkpoint (or, `untrained`, the step-0 network) `repeats` times per label of a k × k
    grid while recording `layer`; the (k, k, D) representation r(x, y) of P2 Fig 3, averaged over the repeats
    (each with its own noise: the mean response to the label, with the sampler's noise averaged down by
    √repeats), and the label-only response on the same grid (`reps_label`, the control). `images` holds the
    first repeat's samples."""
    check_number("repeats", repeats, 1, 64, integer=True)
    if untrained:
        cfg = run.load_config()
        net, step = untrained_network(cfg), 0
    else:
        cfg, net, step, _dev = load_network(run)
    xs, ys = grid_labels(cfg, k)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    labels = np.stack([gx.ravel(), gy.ravel()], 1)
    tiled = np.tile(labels, (repeats, 1))
    out = sample_and_score(net, tiled, np.zeros(len(tiled), np.int64), cfg, seed=cfg.seed + 777 + seed,
                           layers=[layer])
    n = cfg.data.image_size
    lab = label_only(net, labels, [layer], n)[layer]
    reps = out["acts"][layer].reshape(repeats, k, k, -1).mean(0)
    return {"step": step, "xs": xs, "ys": ys, "reps": reps, "repeats": repeats,
            "reps_label": lab.reshape(k, k, -1), "images": out["images"][:k * k].reshape(k, k, n, n)}


def dropped_by_subsampling(cfg: RunConfig):
    """The training-region images that subsampling (λ = data.fraction) left out: P2's validation set (Fig 14c)."""
    ds = make_dataset(cfg.data)
    full = make_dataset(dataclasses.replace(cfg.data, fraction=1.0))
    kept = {(float(x), float(y), int(k)) for (x, y), k in zip(ds.labels, ds.kinds)}
    mask = np.array([(float(x), float(y), int(k)) not in kept for (x, y), k in zip(full.labels, full.kinds)], bool)
    return ds, full.labels[mask], full.kinds[mask]


def grid_accuracy(run: str | Path | RunDir, *, n: int = 256, seed: int = 0, device: str = "auto") -> dict:
    """P2 Fig 5 / 6e: the terminal accuracy of a subsampled run over the whole 2D label grid of its training
    region, i.e. the labels λ kept *and* those it dropped, not only the labels it trained on (a model that
    memorizes 22 images scores 0.96 on those 22). Draws n of the 2D labels uniformly without replacement
    (all of them when fewer), samples one image each from the last checkpoint (EMA weights) with the run's
    sampler, and scores them (P1 eq. 1). 2D only: for bump+stripes this is the 2D-bump accuracy of Fig 5b.
    Returns acc (all drawn labels), acc_kept, acc_dropped (None when λ = 1) and their counts; acc_detectable
    over the labels whose ground truth the detector reads (ceiling 1 there; acc_ceiling is ground truth's score
    over all drawn labels, 0.68–0.69 on the cpu grids); acc_nearest and acc_nearest_detectable: what the
    nearest-2D-training-label memorizer scores on the same labels."""
    check_number("n", n, 1, 100_000, integer=True)
    cfg, net, step, _dev = load_network(run, device=device)
    ds, drop_labels, drop_kinds = dropped_by_subsampling(cfg)
    two = visible_dims(ds.labels, cfg.data) == 2
    two_drop = visible_dims(drop_labels, cfg.data) == 2
    labels = np.concatenate([ds.labels[two], drop_labels[two_drop]])
    kinds = np.concatenate([ds.kinds[two], drop_kinds[two_drop]])
    kept = np.arange(len(labels)) < int(two.sum())
    if not len(labels):
        raise FactordiffError(f"{run}: its training region holds no 2D label to measure grid accuracy on")
    idx = np.sort(np.random.default_rng(seed).choice(len(labels), size=min(n, len(labels)), replace=False))
    labels, kinds, kept = labels[idx], kinds[idx], kept[idx]
    out = sample_and_score(net, labels, kinds, cfg, seed=cfg.seed + SNAPSHOT_SEED)
    pred, counts = out["pred"], out["counts"]
    # the ceiling (ground truth through the detector) and the control: a memorizer that draws the 2D training
    # image nearest each label (no interpolation, no use of the stripes), on the same labels
    refs = reference_scores(labels, kinds, cfg.data, ds.labels[two])
    seen = detectable(labels, kinds, cfg.data)  # border-clipped bumps the detector misses even in ground truth

    def acc(mask: np.ndarray) -> float | None:
        return score_predictions(pred[mask], counts[mask], labels[mask], cfg.data)["acc"] if mask.any() else None

    return {"step": step, "n": int(len(idx)), "seed": seed, "acc": acc(np.ones(len(idx), bool)),
            "acc_kept": acc(kept), "acc_dropped": acc(~kept), "n_kept": int(kept.sum()),
            "n_dropped": int((~kept).sum()), "grid_2d": int(two.sum() + two_drop.sum()),
            "acc_detectable": acc(seen), "n_detectable": int(seen.sum()), "acc_ceiling": refs["ceiling"]["acc"],
            "acc_nearest": refs["nearest"]["acc"],
            "acc_nearest_detectable": refs["nearest"].get("detectable", {}).get("acc")}


@torch.no_grad()
def denoising_losses(run: str | Path | RunDir, *, n: int = 512, repeats: int = 4, seed: int = 0,
                     device: str = "auto") -> dict:
    """P2 Fig 14c: the ε-MSE (P1 eq. 2) of the last checkpoint (EMA weights) on the training images and on the
    images subsampling dropped (validation), up to n of each, with the same draws of t and ε for both sets.
    val_loss is None when λ = 1 (nothing was dropped)."""
    cfg, net, step, dev = load_network(run, device=device)
    sched = diffusion.make_schedule(cfg.diffusion)
    ds, val_labels, val_kinds = dropped_by_subsampling(cfg)
    rng = np.random.default_rng(seed)

    def mean_loss(labels: np.ndarray, kinds: np.ndarray) -> float | None:
        if not len(labels):
            return None
        idx = rng.choice(len(labels), size=min(n, len(labels)), replace=False)
        lab = torch.as_tensor(labels[idx], dtype=torch.float32, device=dev)
        x0 = (render_labels_torch(lab, torch.as_tensor(kinds[idx], device=dev), cfg.data) / 127.5 - 1.0).unsqueeze(1)
        gen = torch.Generator().manual_seed(seed)  # the same t and ε sequence for both sets
        return float(np.mean([diffusion.loss(net, x0, lab, sched, gen).item() for _ in range(repeats)]))

    return {"step": step, "train_loss": mean_loss(ds.labels, ds.kinds),
            "val_loss": mean_loss(val_labels, val_kinds), "n_train": len(ds), "n_val": len(val_labels)}


def sample_run(run_dir: str | Path, *, step: int | None = None, n: int = 25, sampler: str | None = None,
               steps: int | None = None, eta: float | None = None, seed: int = 0, out: str | Path | None = None,
               device: str = "auto") -> dict:
    """`factordiff sample RUN`: draw n images for training labels from a checkpoint (EMA weights), score
    them, and save images + labels + predictions (npz) and a 5×5-style grid (png). Times the sampling loop.
    Writing into the run (RUN/samples, no `out`) holds the run's lock, as every writer of a run does: while the
    run trains it is refused at once (RunLocked); an `out` elsewhere samples beside the training."""
    import contextlib

    from .io import run_lock

    RunDir(run_dir).load_config()  # not a run directory: said before the lock creates anything
    with run_lock(run_dir) if out is None else contextlib.nullcontext():
        return _sample_run(run_dir, step=step, n=n, sampler=sampler, steps=steps, eta=eta, seed=seed, out=out,
                           device=device)


def _sample_run(run_dir, *, step, n, sampler, steps, eta, seed, out, device) -> dict:
    from . import figures
    from .config import DiffusionConfig
    from .io import check_memory, save_figure

    run = RunDir(run_dir)
    cfg = run.load_config()
    check_number("--n", n, 1, 10_000_000, integer=True)
    size = cfg.data.image_size
    check_memory("--n", n, n * size * size * 2, " (images are kept as uint8; use a smaller --n and several seeds)")
    if not list_checkpoints(run.checkpoints):
        raise FactordiffError(f"{run.path} has no checkpoints to sample from")
    kw = {k: v for k, v in (("sampler", sampler), ("sample_steps", steps), ("eta", eta)) if v is not None}
    dcfg = DiffusionConfig(**(dataclasses.asdict(cfg.diffusion) | kw))  # validated like any config
    cfg, net, step_done, _dev = load_network(run, step, device)
    ds = make_dataset(cfg.data)
    idx = np.random.default_rng(seed).choice(len(ds), size=n, replace=n > len(ds))
    labels, kinds = ds.labels[idx], ds.kinds[idx]
    res = sample_and_score(net, labels, kinds, cfg, seed=seed, diffusion_cfg=dcfg)
    n_steps = len(diffusion.sampling_timesteps(dcfg))
    out = Path(out) if out else run.samples / f"step_{step_done:08d}_{dcfg.sampler}{n_steps}"
    save_npz(out.with_suffix(".npz"), images=res["images"], labels=labels, kinds=kinds, pred=res["pred"],
             counts=res["counts"])
    fig = figures.image_grid(res["images"][:25], labels[:25])
    save_figure(fig, out.with_suffix(".png"))
    figures.close(fig)
    return {"step": step_done, "sampler": dcfg.sampler, "steps": n_steps, "n": n, "seconds": res["seconds"],
            "images_per_s": n / res["seconds"], "path": str(out.with_suffix(".npz")), **res["metrics"]}
