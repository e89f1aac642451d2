"""`factordiff analyze RUN`: read a run's snapshots, score them, measure the recorded layer, classify the
learning phases, probe the factorization on a label grid, and write RUN/analysis.jsonl (atomically, one row
per snapshot plus a summary row) and RUN/probes/grid_step_*.npz.

The analyses are the pure functions of `factordiff.analysis`; this module only reads and writes the run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from . import diffusion
from .analysis import (
    DEFAULT_RULE,
    PhaseRule,
    betti_numbers,
    classify,
    factorization,
    manifold_r2,
    onsets,
    references,
    spectrum,
)
from .analysis.embed import UMAP_DEFAULTS
from .checkpoint import latest_valid
from .config import RunConfig, check_number, load_config
from .data import render_labels, to_uint8
from .errors import ConfigError, FactordiffError
from .io import atomic_write_text, read_jsonl, save_npz
from .score import predict_labels, score_images, score_predictions
from .unet import LAYERS, UNet

METHODS = ("pca", "umap")


def list_snapshots(run_dir: Path) -> list[tuple[int, Path]]:
    return sorted((int(p.stem.split("_")[1]), p) for p in (Path(run_dir) / "snapshots").glob("step_*.npz"))


def load_run_config(run_dir: Path) -> RunConfig:
    path = Path(run_dir) / "config.yaml"
    if not path.exists():
        raise FactordiffError(f"{run_dir} is not a run directory (no config.yaml); train one with "
                              f"`factordiff train --run-dir {run_dir}`")
    return load_config(path)


def analyze_snapshot(path: Path, cfg: RunConfig, layer: str, *, methods=METHODS, topology: bool = False,
                     seed: int = 0, rule: PhaseRule = DEFAULT_RULE) -> dict:
    """All numbers of one snapshot: accuracy and bump counts, R² per method, PCA spectrum, phase, Betti."""
    z = np.load(path)
    key = f"act_{layer}"
    if key not in z.files:
        have = [k[4:] for k in z.files if k.startswith("act_")]
        raise ConfigError("--layer", layer, f"one of the recorded layers {have}")
    X = z[key].astype(np.float64)
    labels = z["labels"].astype(np.float64)
    row = {"kind": "analysis", "step": int(path.stem.split("_")[1]), "layer": layer}
    pred, counts = predict_labels(z["images"], z["kinds"])  # rescored: scorer fixes apply to old snapshots
    row |= score_predictions(pred, counts, labels, cfg.data)
    gt = to_uint8(render_labels(labels, z["kinds"], cfg.data))
    row["acc_ceiling"] = score_images(gt, labels, z["kinds"], cfg.data)["acc"]  # a perfect model's score
    for m in methods:
        r = manifold_r2(X, labels, method=m, seed=seed)
        row |= {f"{k}_{m}": v for k, v in r.items()}
    row |= spectrum(X)
    r2 = row.get("r2_umap", row.get("r2_pca", float("nan")))
    row["phase"] = classify(row["counts"], row["acc"], r2, rule)
    if topology:
        row["betti"] = list(betti_numbers(X, seed=seed))
    return row


def grid_labels(cfg: RunConfig, k: int) -> tuple[np.ndarray, np.ndarray]:
    """k evenly spaced values per axis over the visible label range [0, N] (a torus: [0, N) periodic)."""
    n = cfg.data.image_size
    end = n * (k - 1) / k if cfg.data.periodic else float(n)
    return np.linspace(0.0, end, k), np.linspace(0.0, end, k)


@torch.no_grad()
def probe_grid(run_dir: Path, cfg: RunConfig, layer: str, k: int, *, seed: int = 0) -> dict:
    """Sample the latest checkpoint (EMA weights) once per label of a k × k grid while recording `layer`;
    the (k, k, D) representation r(x, y) of P2 Fig 3."""
    ckpt = latest_valid(Path(run_dir) / "checkpoints")
    if ckpt is None:
        raise FactordiffError(f"{run_dir} has no valid checkpoint to probe (train it first, or pass --grid 0)")
    net = UNet(cfg.model, cfg.data.image_size)
    net.load_state_dict(ckpt["ema"] if cfg.train.ema_decay > 0 else ckpt["model"])
    net.eval()
    xs, ys = grid_labels(cfg, k)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    labels = torch.as_tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=torch.float32)
    with diffusion.capture(net, [layer]) as rec:
        x = diffusion.sample(net, labels, cfg.diffusion, seed=cfg.seed + 777 + seed, image_size=cfg.data.image_size)
    reps = torch.cat(rec[layer]).flatten(1).numpy().reshape(k, k, -1)
    return {"step": int(ckpt["manifest"]["step"]), "xs": xs, "ys": ys, "reps": reps,
            "images": diffusion.to_pixels(x).numpy().reshape(k, k, cfg.data.image_size, cfg.data.image_size)}


def _geometry_rows(probe: dict, *, seed: int, topology: bool) -> dict:
    """Factorization numbers of the model's grid and of the reference tori on the same grid; the references'
    Betti numbers use a 32 × 32 grid (a 3-D torus sampled coarser than that breaks into spurious loops)."""
    k = len(probe["xs"])
    clouds = {"model": probe["reps"], "torus3d": references.torus3d, "clifford": references.clifford_torus}
    out = {}
    for name, cloud in clouds.items():
        reps = cloud if isinstance(cloud, np.ndarray) else cloud(k, k)
        geo = factorization(reps, seed=seed)
        if topology:
            dense = reps if isinstance(cloud, np.ndarray) else cloud(max(k, 32), max(k, 32))
            geo["betti"] = list(betti_numbers(dense.reshape(-1, dense.shape[-1]), seed=seed))
        out[name] = geo
    return out


def _write_rows(path: Path, rows: list[dict]) -> None:
    import json

    atomic_write_text(path, "".join(json.dumps(r, allow_nan=True) + "\n" for r in rows))


def analyze_run(run_dir: str | Path, *, steps: list[int] | None = None, layer: str = "layer4",
                methods=METHODS, topology: str = "last", grid: int = 10, seed: int = 0,
                rule: PhaseRule = DEFAULT_RULE, log: Callable[[str], None] = lambda m: None) -> dict:
    """Analyse every (or the chosen) snapshot of a run; merge the rows into RUN/analysis.jsonl."""
    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir)
    if layer not in LAYERS:
        raise ConfigError("--layer", layer, f"one of {list(LAYERS)}")
    if topology not in ("none", "last", "all"):
        raise ConfigError("--topology", topology, "none, last or all")
    if not 0 <= grid <= 64:
        raise ConfigError("--grid", grid, "0 (no grid probe) or 2..64 labels per axis")
    snaps = list_snapshots(run_dir)
    if not snaps:
        raise FactordiffError(f"{run_dir} has no snapshots (snapshots/step_*.npz) to analyse; train it first")
    if steps:
        have = {s for s, _ in snaps}
        missing = sorted(set(steps) - have)
        if missing:
            raise ConfigError("--steps", missing, f"steps that have snapshots: {sorted(have)}")
        snaps = [(s, p) for s, p in snaps if s in set(steps)]
    rows = []
    for i, (step, path) in enumerate(snaps):
        last = i == len(snaps) - 1
        row = analyze_snapshot(path, cfg, layer, methods=methods, seed=seed, rule=rule,
                               topology=topology == "all" or (topology == "last" and last))
        rows.append(row)
        log(f"step {step}: phase {row['phase']}, acc {row['acc']:.2f}, "
            + ", ".join(f"R²[{m}] {row[f'r2_{m}']:.2f}" for m in methods) + f", PR {row['participation_ratio']:.1f}")
    out = run_dir / "analysis.jsonl"
    old = [r for r in read_jsonl(out) if r.get("kind") == "analysis"
           and not (r.get("layer") == layer and r["step"] in {x["step"] for x in rows})] if out.exists() else []
    merged = sorted(old + rows, key=lambda r: (r["layer"], r["step"]))
    mine = [r for r in merged if r["layer"] == layer]  # phase onsets over every analysed snapshot of the layer
    summary = {"kind": "summary", "layer": layer, "rule": dataclasses.asdict(rule), "umap": UMAP_DEFAULTS,
               "seed": seed, "onsets": onsets([r["step"] for r in mine], [r["phase"] for r in mine])}
    if grid >= 2:
        probe = probe_grid(run_dir, cfg, layer, grid, seed=seed)
        save_npz(run_dir / "probes" / f"grid_step_{probe['step']:08d}.npz", **probe)
        summary |= {"grid": grid, "grid_step": probe["step"],
                    "geometry": _geometry_rows(probe, seed=seed, topology=topology != "none")}
    _write_rows(out, [*merged, summary])
    return {"rows": rows, "summary": summary, "path": str(out)}


def dropped_by_subsampling(cfg: RunConfig):
    """The training-region images that subsampling (λ = data.fraction) left out: P2's validation set (Fig 14c)."""
    from .data import make_dataset

    ds = make_dataset(cfg.data)
    full = make_dataset(dataclasses.replace(cfg.data, fraction=1.0))
    kept = {(float(x), float(y), int(k)) for (x, y), k in zip(ds.labels, ds.kinds)}
    mask = np.array([(float(x), float(y), int(k)) not in kept for (x, y), k in zip(full.labels, full.kinds)], bool)
    return ds, full.labels[mask], full.kinds[mask]


def _final_model(run_dir: str | Path, device: str = "auto"):
    """(config, the last valid checkpoint's network (EMA weights when the run keeps an EMA) in eval mode, its
    step, the device)."""
    from .train import resolve_device

    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir)
    ckpt = latest_valid(run_dir / "checkpoints")
    if ckpt is None:
        raise FactordiffError(f"{run_dir} has no valid checkpoint to measure (train it first)")
    dev = resolve_device(device)
    net = UNet(cfg.model, cfg.data.image_size).to(dev)
    net.load_state_dict(ckpt["ema"] if cfg.train.ema_decay > 0 else ckpt["model"])
    net.eval()
    return cfg, net, int(ckpt["manifest"]["step"]), dev


@torch.no_grad()
def grid_accuracy(run_dir: str | Path, *, n: int = 256, seed: int = 0, device: str = "auto") -> dict:
    """P2 Fig 5 / 6e: the terminal accuracy of a subsampled run over the whole 2D label grid of its training
    region, i.e. the labels λ kept *and* those it dropped, not only the labels it trained on (a model that
    memorizes 22 images scores 0.96 on those 22). Draws n of the 2D labels uniformly without replacement
    (all of them when fewer), samples one image each from the last checkpoint (EMA weights) with the run's
    sampler, and scores them (P1 eq. 1). 2D only: for bump+stripes this is the 2D-bump accuracy of Fig 5b.
    Returns acc (all drawn labels), acc_kept, acc_dropped (None when λ = 1) and their counts."""
    from .data import visible_dims

    check_number("n", n, 1, 100_000, integer=True)
    cfg, net, step, dev = _final_model(run_dir, device)
    ds, drop_labels, drop_kinds = dropped_by_subsampling(cfg)
    two = visible_dims(ds.labels, cfg.data) == 2
    two_drop = visible_dims(drop_labels, cfg.data) == 2
    labels = np.concatenate([ds.labels[two], drop_labels[two_drop]])
    kinds = np.concatenate([ds.kinds[two], drop_kinds[two_drop]])
    kept = np.arange(len(labels)) < int(two.sum())
    if not len(labels):
        raise FactordiffError(f"{run_dir}: its training region holds no 2D label to measure grid accuracy on")
    idx = np.sort(np.random.default_rng(seed).choice(len(labels), size=min(n, len(labels)), replace=False))
    labels, kinds, kept = labels[idx], kinds[idx], kept[idx]
    lab = torch.as_tensor(labels, dtype=torch.float32, device=dev)
    images = diffusion.sample(net, lab, cfg.diffusion, seed=cfg.seed + 12345, image_size=cfg.data.image_size,
                              pixels=True).cpu().numpy()
    pred, counts = predict_labels(images, kinds)

    def acc(mask: np.ndarray) -> float | None:
        return score_predictions(pred[mask], counts[mask], labels[mask], cfg.data)["acc"] if mask.any() else None

    return {"step": step, "n": int(len(idx)), "seed": seed, "acc": acc(np.ones(len(idx), bool)),
            "acc_kept": acc(kept), "acc_dropped": acc(~kept), "n_kept": int(kept.sum()),
            "n_dropped": int((~kept).sum()), "grid_2d": int(two.sum() + two_drop.sum())}


@torch.no_grad()
def denoising_losses(run_dir: str | Path, *, n: int = 512, repeats: int = 4, seed: int = 0,
                     device: str = "auto") -> dict:
    """P2 Fig 14c: the ε-MSE (P1 eq. 2) of the last checkpoint (EMA weights) on the training images and on the
    images subsampling dropped (validation), up to n of each, with the same draws of t and ε for both sets.
    val_loss is None when λ = 1 (nothing was dropped)."""
    from .data import render_labels_torch

    cfg, net, step, dev = _final_model(run_dir, device)
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


@torch.no_grad()
def sample_run(run_dir: str | Path, *, step: int | None = None, n: int = 25, sampler: str | None = None,
               steps: int | None = None, eta: float | None = None, seed: int = 0, out: str | Path | None = None,
               device: str = "auto") -> dict:
    """`factordiff sample RUN`: draw n images for training labels from a checkpoint (EMA weights), score
    them, and save images + labels + predictions (npz) and a 5×5-style grid (png). Times the sampling loop."""
    import time

    from . import plot
    from .checkpoint import list_checkpoints, load_checkpoint
    from .config import DiffusionConfig, check_memory, check_number
    from .data import make_dataset
    from .io import save_figure
    from .score import predict_labels
    from .train import resolve_device

    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir)
    check_number("--n", n, 1, 10_000_000, integer=True)
    size = cfg.data.image_size
    check_memory("--n", n, n * size * size * 2, " (images are kept as uint8; use a smaller --n and several seeds)")
    ckpts = {int(p.name.split("_")[1]): p for p in list_checkpoints(run_dir / "checkpoints")}
    if not ckpts:
        raise FactordiffError(f"{run_dir} has no checkpoints to sample from")
    if step is None:
        ckpt = latest_valid(run_dir / "checkpoints")
    elif step not in ckpts:
        raise ConfigError("--step", step, f"a step with a kept checkpoint: {sorted(ckpts)}")
    else:
        ckpt = load_checkpoint(ckpts[step])
    kw = {k: v for k, v in (("sampler", sampler), ("sample_steps", steps), ("eta", eta)) if v is not None}
    dcfg = DiffusionConfig(**(dataclasses.asdict(cfg.diffusion) | kw))  # validated like any config
    dev = resolve_device(device)
    net = UNet(cfg.model, cfg.data.image_size).to(dev)
    net.load_state_dict(ckpt["ema"] if cfg.train.ema_decay > 0 else ckpt["model"])
    net.eval()
    ds = make_dataset(cfg.data)
    idx = np.random.default_rng(seed).choice(len(ds), size=n, replace=n > len(ds))
    labels, kinds = ds.labels[idx], ds.kinds[idx]
    t0 = time.perf_counter()
    images = diffusion.sample(net, torch.as_tensor(labels, dtype=torch.float32, device=dev), dcfg, seed=seed,
                              image_size=cfg.data.image_size, pixels=True).cpu().numpy()
    sec = time.perf_counter() - t0
    pred, counts = predict_labels(images, kinds)
    metrics = score_predictions(pred, counts, labels, cfg.data)
    step_done = int(ckpt["manifest"]["step"])
    n_steps = len(diffusion.sampling_timesteps(dcfg))
    out = Path(out) if out else run_dir / "samples" / f"step_{step_done:08d}_{dcfg.sampler}{n_steps}"
    save_npz(out.with_suffix(".npz"), images=images, labels=labels, kinds=kinds, pred=pred, counts=counts)
    m = min(n, 25)
    cols = int(np.ceil(np.sqrt(m)))
    fig, axes = plot.new_figure(int(np.ceil(m / cols)), cols, size=(1.3 * cols, 1.3 * np.ceil(m / cols)))
    plot.plot_image_grid(axes, images[:m], labels[:m])
    save_figure(fig, out.with_suffix(".png"))
    plot.close(fig)
    return {"step": step_done, "sampler": dcfg.sampler, "steps": n_steps,
            "n": n, "seconds": sec, "images_per_s": n / sec, "path": str(out.with_suffix(".npz")), **metrics}
