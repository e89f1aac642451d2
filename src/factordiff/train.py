"""The training loop: batches rendered on the device, AdamW, EMA, snapshots with recorded layers, atomic
checkpoints and exact resume.

Randomness is counter-based: the batch indices, timesteps and noise of step s come from a generator seeded
with (seed, s), so a resumed run draws exactly what an uninterrupted run draws, with no generator state to save.
On CPU a run resumed from a checkpoint continues bit for bit.
"""

from __future__ import annotations

import contextlib
import copy
import math
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

from . import diffusion
from .checkpoint import latest_valid, save_checkpoint
from .config import RunConfig, load_config, save_config, to_dict
from .data import make_dataset, render_labels, render_labels_torch, to_uint8
from .errors import CheckpointError, FactordiffError, NonFiniteError, Preempted
from .io import append_jsonl, clean_temp_files, run_lock, save_npz, truncate_jsonl
from .score import predict_labels, score_images, score_predictions
from .unet import UNet

RESUME_CRITICAL = ("seed", "data", "model", "diffusion")  # a checkpoint from other values is refused


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise FactordiffError("train.device: 'cuda' was requested but no CUDA GPU is visible")
    return torch.device(name)


def step_generator(seed: int, step: int) -> torch.Generator:
    """The generator for one training step: a pure function of (seed, step)."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step * 7919 + 17) % (2**63 - 1))


class EMA:
    """Exponential moving average of the weights (dome272: copy until `start`, then decay)."""

    def __init__(self, model: torch.nn.Module, decay: float, start: int):
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.decay, self.start = decay, start

    @torch.no_grad()
    def update(self, model: torch.nn.Module, step: int) -> None:
        src, dst = list(model.parameters()), list(self.model.parameters())
        if self.decay == 0 or step < self.start:
            torch._foreach_copy_(dst, src)
        else:
            torch._foreach_lerp_(dst, src, 1 - self.decay)


@contextlib.contextmanager
def stop_signals():
    """SIGTERM / SIGINT set a flag; the loop checkpoints at the next step boundary and exits."""
    flag = {"signal": None}
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, _frame):
        flag["signal"] = signum

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield flag
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _check_resume(run_dir: Path, cfg: RunConfig) -> None:
    path = run_dir / "config.yaml"
    if not path.exists():
        return
    saved = to_dict(load_config(path))
    new = to_dict(cfg)
    changed = [k for k in RESUME_CRITICAL if saved[k] != new[k]]
    if changed:
        raise CheckpointError(f"run {run_dir} was trained with a different {', '.join(changed)} config; "
                              f"refusing to resume it with this one (use a new --run-dir)")


def _eval_set(cfg: RunConfig, ds) -> tuple[np.ndarray, np.ndarray]:
    """Fixed evaluation labels: P1 draws 500 from the training set; plus held-out labels when there are any."""
    rng = np.random.default_rng(cfg.seed + 1)
    n = cfg.train.eval_samples
    idx = rng.choice(len(ds), size=n, replace=n > len(ds))
    labels, kinds = [ds.labels[idx]], [ds.kinds[idx]]
    if len(ds.heldout_labels) and cfg.train.eval_ood_samples:
        m = cfg.train.eval_ood_samples
        jdx = rng.choice(len(ds.heldout_labels), size=m, replace=m > len(ds.heldout_labels))
        labels.append(ds.heldout_labels[jdx])
        kinds.append(ds.heldout_kinds[jdx])
    return np.concatenate(labels), np.concatenate(kinds)


def snapshot(cfg: RunConfig, net: torch.nn.Module, labels: np.ndarray, kinds: np.ndarray, device) -> dict:
    """Sample one image per label while recording the eval layers at the final reverse step; score them."""
    net.eval()
    lab = torch.as_tensor(labels, dtype=torch.float32, device=device)
    with diffusion.capture(net, cfg.train.eval_layers) as rec:
        images = diffusion.sample(net, lab, cfg.diffusion, seed=cfg.seed + 12345, image_size=cfg.data.image_size,
                                  pixels=True).cpu().numpy()
    pred, counts = predict_labels(images, kinds)
    arrays = {"images": images, "labels": labels.astype(np.float32), "kinds": kinds, "pred": pred.astype(np.float32),
              "counts": counts}
    arrays |= {f"act_{k}": torch.cat(v).flatten(1).numpy().astype(np.float16) for k, v in rec.items()}
    return {"arrays": arrays, "metrics": score_predictions(pred, counts, labels, cfg.data)}


def make_model(cfg: RunConfig, device: torch.device) -> torch.nn.Module:
    model = UNet(cfg.model, cfg.data.image_size).to(device)
    return model.to(memory_format=torch.channels_last if cfg.train.channels_last else torch.contiguous_format)


def make_batch_loss(cfg: RunConfig, model: torch.nn.Module, sched, labels_dev: torch.Tensor,
                    kinds_dev: torch.Tensor):
    """loss(step): the ε-MSE of step `step`'s batch, rendered on the device from the label set, with the
    run's performance options (channels_last, bf16 autocast, torch.compile). Used by the loop and the bench."""
    tc = cfg.train
    net = torch.compile(model) if tc.compile else model  # same parameters; checkpoints hold `model`
    fmt = torch.channels_last if tc.channels_last else torch.contiguous_format
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


def train(cfg: RunConfig, run_dir: str | Path, *, progress: bool | None = None, log=print) -> dict:
    """Train (or resume) the run in `run_dir`; returns a summary. Raises NonFiniteError / Preempted."""
    run_dir = Path(run_dir)
    ds = make_dataset(cfg.data)  # validates the data config before anything is written
    device = resolve_device(cfg.train.device)
    _check_resume(run_dir, cfg)
    run_dir.mkdir(parents=True, exist_ok=True)
    with run_lock(run_dir), stop_signals() as stop:
        return _train_locked(cfg, run_dir, ds, device, stop, progress, log)


def _train_locked(cfg, run_dir, ds, device, stop, progress, log) -> dict:
    tc = cfg.train
    debris = clean_temp_files(run_dir)  # temp files of a process killed mid-write (never under a final name)
    if debris:
        log(f"removed {debris} unfinished temporary file(s) left by an interrupted write")
    save_config(cfg, run_dir / "config.yaml")
    ckpt_dir, snap_dir, metrics = run_dir / "checkpoints", run_dir / "snapshots", run_dir / "metrics.jsonl"
    torch.manual_seed(cfg.seed)
    model = make_model(cfg, device)
    ema = EMA(model, tc.ema_decay, tc.ema_start)
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)

    # --- resume --------------------------------------------------------------------------------------
    start = 0
    ckpt = latest_valid(ckpt_dir, warn=lambda m: print(m, file=sys.stderr))
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        ema.model.load_state_dict(ckpt["ema"])
        opt.load_state_dict(ckpt["optimizer"])
        start = ckpt["manifest"]["step"]
        truncate_jsonl(metrics, start)
        for f in snap_dir.glob("step_*.npz"):
            if int(f.stem.split("_")[1]) > start:
                f.unlink()
        log(f"resumed {run_dir} at step {start}")
    else:  # a fresh start, or a run killed before its first checkpoint: its metrics and snapshots are stale
        truncate_jsonl(metrics, -1)
        for f in snap_dir.glob("step_*.npz"):
            f.unlink()

    sched = diffusion.make_schedule(cfg.diffusion)
    labels_dev = torch.as_tensor(ds.labels, dtype=torch.float32, device=device)
    kinds_dev = torch.as_tensor(ds.kinds, device=device)
    batch_loss = make_batch_loss(cfg, model, sched, labels_dev, kinds_dev)
    eval_labels, eval_kinds = _eval_set(cfg, ds)
    # the scorer on ground-truth images of the same labels: what a perfect model would score (P1 Alg. 1
    # misses bumps clipped at the border, so this is below 1 on the full grid)
    ceiling = score_images(to_uint8(render_labels(eval_labels, eval_kinds, cfg.data)), eval_labels, eval_kinds,
                           cfg.data)["acc"]
    ckpt_every = tc.checkpoint_every or tc.snapshot_every
    meta = {"config": to_dict(cfg)}

    def do_snapshot(step: int) -> None:
        t0 = time.perf_counter()
        out = snapshot(cfg, ema.model if tc.ema_decay > 0 else model, eval_labels, eval_kinds, device)
        save_npz(snap_dir / f"step_{step:08d}.npz", **out["arrays"])
        append_jsonl(metrics, {"kind": "eval", "step": step, "sec": round(time.perf_counter() - t0, 3),
                               **out["metrics"], "acc_ceiling": ceiling})
        model.train()
        m = out["metrics"]
        log(f"step {step}: acc {m['acc']:.2f} of {ceiling:.2f} possible (x {m['acc_x']:.2f}, y {m['acc_y']:.2f}), "
            f"bumps 0/1/>1 = {m['counts']['0']:.2f}/{m['counts']['1']:.2f}/{m['counts']['>1']:.2f}")

    def do_checkpoint(step: int) -> None:
        save_checkpoint(ckpt_dir, step, model, ema.model, opt, meta, keep=tc.keep_checkpoints)

    # --- loop ----------------------------------------------------------------------------------------
    from tqdm import tqdm

    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(total=tc.steps, initial=start, disable=not show, desc="train", dynamic_ncols=True)
    model.train()
    step, running, n_run, t_log = start, 0.0, 0, time.perf_counter()
    snapped = start if ckpt is not None else -1  # a checkpoint is written after its step's snapshot
    while True:
        if step % tc.snapshot_every == 0 and step != snapped or step == tc.steps:
            if not (snap_dir / f"step_{step:08d}.npz").exists():
                do_snapshot(step)
            snapped = step
        if step >= tc.steps:
            break
        loss = batch_loss(step)
        value = loss.item()
        if not math.isfinite(value):
            bar.close()
            raise NonFiniteError(f"non-finite loss {value} at step {step + 1}; the last good checkpoint "
                                 f"in {ckpt_dir} is kept")
        update(opt, loss)
        step += 1
        ema.update(model, step)
        running, n_run = running + value, n_run + 1
        bar.update(1)
        if step % tc.log_every == 0 or step == tc.steps:
            dt = time.perf_counter() - t_log
            append_jsonl(metrics, {"kind": "train", "step": step, "loss": running / n_run, "lr": tc.lr,
                                   "sec_per_step": round(dt / n_run, 5)})
            bar.set_postfix(loss=f"{running / n_run:.4f}")
            running, n_run, t_log = 0.0, 0, time.perf_counter()
        if step % ckpt_every == 0 and step < tc.steps:
            if step % tc.snapshot_every == 0:
                do_snapshot(step)
                snapped = step
            do_checkpoint(step)
        if stop["signal"] is not None:
            do_checkpoint(step)
            bar.close()
            raise Preempted(f"stopped by signal {stop['signal']} at step {step}; checkpoint written, "
                            f"rerun the same command to resume")
    bar.close()
    do_checkpoint(step)
    return {"run_dir": str(run_dir), "step": step, "resumed_from": start}
