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
from .config import RunConfig, save_config, to_dict
from .data import make_dataset
from .errors import CheckpointError, ConfigError, NonFiniteError, Preempted
from .evaluate import SNAPSHOT_SEED, resolve_device, snapshot
from .io import clean_temp_files, run_lock, save_npz, truncate_jsonl
from .loggers import MetricLog, check_logger
from .memorizer import closed_form_scores
from .rundir import METRICS_REBUILD, RunDir, check_resume
from .score import accuracy_words, reference_scores
from .step import make_batch_loss, make_model, step_generator, update  # noqa: F401 - re-exported


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


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextlib.contextmanager
def stop_signals(signals: tuple = STOP_SIGNALS):
    """The signals (SIGTERM / SIGINT; a Slurm job adds SIGUSR2, its time-limit notice) set a flag; the loop
    checkpoints at the next step boundary (or within a reverse step of a snapshot) and exits."""
    flag = {"signal": None}
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, _frame):
        flag["signal"] = signum

    old = {s: signal.signal(s, handler) for s in signals}
    try:
        yield flag
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def snapshot_due(tc, step: int) -> bool:
    """Whether `step` takes a snapshot: the last step, and every snapshot_every steps, except that up to two
    thirds of train.steps only every early_snapshot_every when that is set (the window `final` reads is after)."""
    if step == tc.steps:
        return True
    early = tc.early_snapshot_every and 3 * step <= 2 * tc.steps
    return step % (tc.early_snapshot_every if early else tc.snapshot_every) == 0


def snapshots_of(cfg: RunConfig, start: int = 0) -> int:
    """How many snapshots a run from `start` to train.steps writes (`snapshot_due`)."""
    tc = cfg.train
    every, steps = tc.snapshot_every, tc.steps
    grid = range(-(-start // every) * every, steps + 1, every)
    n = len(grid) if not tc.early_snapshot_every else sum(snapshot_due(tc, s) for s in grid)
    return n + (steps % every != 0 and steps >= start)


def hours(seconds: float) -> str:
    """A duration in words: 45 s, 12 min, 3.4 h, 26 days."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h" if seconds < 3 * 86400 else f"{seconds / 86400:.0f} days"


class Clock:
    """Time left in a run, snapshots included (tqdm's own ETA counts only steps): mean seconds per step and per
    snapshot so far × what remains; `due(step)` every 10 % of the run, for progress lines without a terminal."""

    def __init__(self, cfg: RunConfig, start: int):
        self.cfg, self.train_s, self.n_steps, self.snap_s, self.n_snaps = cfg, 0.0, 0, 0.0, 0
        self.every = max(cfg.train.log_every, cfg.train.steps // 10)

    def steps_took(self, n: int, seconds: float) -> None:
        self.train_s, self.n_steps = self.train_s + seconds, self.n_steps + n

    def snapshot_took(self, seconds: float) -> None:
        self.snap_s, self.n_snaps = self.snap_s + seconds, self.n_snaps + 1

    def due(self, step: int) -> bool:
        return step % self.every < self.cfg.train.log_every

    def left(self, step: int) -> str:
        tc = self.cfg.train
        per_step = self.train_s / max(self.n_steps, 1)
        per_snap = self.snap_s / max(self.n_snaps, 1)
        return hours((tc.steps - step) * per_step + max(snapshots_of(self.cfg, step) - 1, 0) * per_snap)


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


def train(cfg: RunConfig, run_dir: str | Path, *, progress: bool | None = None, log=print,
          stop_on: tuple = STOP_SIGNALS, threads_now=None) -> dict:
    """Train (or resume) the run in `run_dir`; returns a summary. Raises NonFiniteError / Preempted (on one
    of the `stop_on` signals, after a checkpoint). `threads_now` (a sweep worker's): a callable asked at every
    logged step for the threads to use from there (the local pool raises them when a partner run ends)."""
    run = RunDir(run_dir)
    if run.path.exists() and not run.path.is_dir():
        raise ConfigError("--run-dir", str(run.path), "a directory (new or an earlier run's)",
                          f"--run-dir: {run.path} is a file, not a directory; choose a new path or a run directory")
    run.check_tree()  # symlink loops and files where folders belong: refused before any work
    ds = make_dataset(cfg.data)  # validates the data config before anything is written
    check_logger(cfg)
    device = resolve_device(cfg.train.device)
    check_resume(run, cfg)  # seed, data, model and diffusion must match a run that exists
    from .tune import settle

    saved = run.load_config() if run.config.exists() else None
    cfg = settle(cfg, saved, device, log)  # `auto` options: the saved run's, else measured here (tune.py)
    run.path.mkdir(parents=True, exist_ok=True)
    with run_lock(run.path), stop_signals(stop_on) as stop, contextlib.ExitStack() as closing:
        return _train_locked(cfg, run, ds, device, stop, progress, log, closing, threads_now)


def _resume(run: RunDir, model, ema: EMA, opt, log, first_checkpoint: int = 1) -> int:
    """Load the newest valid checkpoint into model, EMA and optimizer and drop what was logged after it;
    the step to continue from (0 and a clean slate when there is none). Refused when there is no usable
    checkpoint but the run holds work past `first_checkpoint` (the step of its first checkpoint): its
    checkpoints were lost or damaged, and restarting would delete that work without a word."""
    ckpt = latest_valid(run.checkpoints, warn=lambda m: print(m, file=sys.stderr))
    if ckpt is None:
        done = max([s for s, _ in run.list_snapshots()] + [int(r.get("step", 0)) for r in run.read_metrics()],
                   default=0)
        if done > first_checkpoint:
            raise CheckpointError(f"run {run.path} holds snapshots and metrics up to step {done} but no usable "
                                  f"checkpoint in {run.checkpoints} (missing, uncommitted or corrupt): refusing to "
                                  "restart it from step 0, which would delete them; train in a new run directory, "
                                  "or move this one's snapshots/ and metrics.jsonl aside to retrain it from scratch")
    start = 0
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        ema.model.load_state_dict(ckpt["ema"])
        opt.load_state_dict(ckpt["optimizer"])
        start = ckpt["manifest"]["step"]
        log(f"resumed {run.path} at step {start}")
    # rows and snapshots after the checkpoint (all of them on a fresh start) are redone identically
    truncate_jsonl(run.metrics, start if ckpt is not None else -1, METRICS_REBUILD)
    for step, path in run.list_snapshots():
        if ckpt is None or step > start:
            path.unlink()
    return start


def _train_locked(cfg: RunConfig, run: RunDir, ds, device, stop, progress, log, closing, threads_now=None) -> dict:
    tc = cfg.train
    debris = clean_temp_files(run.path)  # temp files of a process killed mid-write (never under a final name)
    if debris:
        log(f"removed {debris} unfinished temporary file(s) left by an interrupted write")
    torch.manual_seed(cfg.seed)
    model = make_model(cfg, device)
    ema = EMA(model, tc.ema_decay, tc.ema_start)
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    start = _resume(run, model, ema, opt, log, first_checkpoint=tc.checkpoint_every or tc.snapshot_every)
    save_config(cfg, run.config)  # only once the resume is accepted (check_resume, then the weights loaded)
    metrics = closing.enter_context(MetricLog(cfg, run.metrics, run.path / "tensorboard", start))

    sched = diffusion.make_schedule(cfg.diffusion)
    labels_dev = torch.as_tensor(ds.labels, dtype=torch.float32, device=device)
    kinds_dev = torch.as_tensor(ds.kinds, device=device)
    batch_loss = make_batch_loss(cfg, model, sched, labels_dev, kinds_dev)
    eval_labels, eval_kinds = _eval_set(cfg, ds)
    # what two reference models score on the same labels: ground-truth images (the ceiling: P1 Alg. 1 misses
    # bumps clipped at the border, so this is below 1 on the full grid) and the nearest-training-label memorizer
    refs = reference_scores(eval_labels, eval_kinds, cfg.data, ds.labels)
    if cfg.train.memorizer == "closed_form":  # and the closed-form memorizer: copies and superposes training images
        refs["closedform"] = closed_form_scores(cfg, ds.labels, ds.kinds, eval_labels, eval_kinds,
                                                seed=cfg.seed + SNAPSHOT_SEED)
    ceiling = refs["ceiling"]["acc"]
    ckpt_every = tc.checkpoint_every or tc.snapshot_every
    meta = {"config": to_dict(cfg)}

    from tqdm import tqdm

    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(total=tc.steps, initial=start, disable=not show, desc="train", dynamic_ncols=True)
    if show and log is print:
        log = bar.write  # lines above the bar, not through it
    clock = Clock(cfg, start)
    model.train()
    step, running, n_run, t_log = start, 0.0, 0, time.perf_counter()
    history = [r for r in run.read_metrics("eval") if r["step"] <= start]  # the stopping rule's evidence so far
    stopped = stop_step(history, tc)
    if stopped is not None:
        log(f"the stopping rule ({tc.stop_when}) was met at step {stopped}: nothing more to train")
    while True:
        done = step >= tc.steps or stop["signal"] is not None or stopped is not None

        # Save a snapshot (sampled with the EMA weights of this step; taken before its checkpoint, so a
        # resumed run finds every snapshot up to its checkpoint on disk).
        # A stop signal during the sampling abandons the snapshot (the resumed run takes it, with the same
        # noise) and goes on to the checkpoint.
        due = snapshot_due(tc, step) and not run.snapshot(step).exists()
        out = None
        if due and stop["signal"] is None:
            t0 = time.perf_counter()
            try:
                out = snapshot(cfg, ema.model if tc.ema_decay > 0 else model, eval_labels, eval_kinds,
                               should_stop=lambda: stop["signal"] is not None)
            except diffusion.SamplingStopped:
                done = True
        if out is not None:
            save_npz(run.snapshot(step), **out["arrays"])
            m = out["metrics"]
            clock.snapshot_took(time.perf_counter() - t0)
            metrics.append({"kind": "eval", "step": step, "sec": round(time.perf_counter() - t0, 3),
                                       **m, "acc_ceiling": ceiling, "tol_px": cfg.data.tol_px,
                                       "references": refs})
            model.train()
            history.append({"step": step, **m})
            stopped = stop_step(history, tc)
            if stopped is not None:
                done = True
                metrics.append({"kind": "stop", "step": step, "rule": tc.stop_when, "level": tc.stop_level,
                                "patience": tc.stop_patience})
            det = m.get("detectable", {}).get("acc", float("nan"))
            log(f"step {step}: {accuracy_words(m['acc'], ceiling, det)} (x {m['acc_x']:.2f}, y {m['acc_y']:.2f}), "
                f"bumps 0/1/>1 = {m['counts']['0']:.2f}/{m['counts']['1']:.2f}/{m['counts']['>1']:.2f}")

        # Save a checkpoint (on the cadence, at the end, and when a stop signal arrived).
        if done or (step > start and step % ckpt_every == 0):
            save_checkpoint(run.checkpoints, step, model, ema.model, opt, meta, keep=tc.keep_checkpoints)

        if done:
            break

        # Take one optimisation step.
        loss = batch_loss(step)
        value = loss.item()
        if not math.isfinite(value):
            bar.close()
            raise NonFiniteError(f"non-finite loss {value} at step {step + 1}; the last good checkpoint "
                                 f"in {run.checkpoints} is kept")
        update(opt, loss)
        step += 1
        ema.update(model, step)

        # Log the running loss.
        running, n_run = running + value, n_run + 1
        bar.update(1)
        if step % tc.log_every == 0 or step == tc.steps:
            dt = time.perf_counter() - t_log
            metrics.append({"kind": "train", "step": step, "loss": running / n_run, "lr": tc.lr,
                            "sec_per_step": round(dt / n_run, 5), "threads": torch.get_num_threads()})
            clock.steps_took(n_run, dt)
            bar.set_postfix(loss=f"{running / n_run:.4f}", left=clock.left(step))
            if not show and clock.due(step):  # no terminal (nohup, Slurm): a progress line every 10 %
                log(f"step {step}/{tc.steps}: loss {running / n_run:.4f}, {dt / n_run:.3g} s/step, "
                    f"≈ {clock.left(step)} left (snapshots included)")
            running, n_run, t_log = 0.0, 0, time.perf_counter()
            n = threads_now() if threads_now is not None else None
            if n and n != torch.get_num_threads():
                log(f"step {step}: {n} threads from here, {torch.get_num_threads()} before (a partner run ended)")
                torch.set_num_threads(n)
    bar.close()
    if stop["signal"] is not None and (step < tc.steps or not run.snapshot(step).exists()):
        raise Preempted(f"stopped by signal {stop['signal']} at step {step}; checkpoint written, "
                        f"rerun the same command to resume", signum=stop["signal"])
    if stopped is not None:
        log(f"stopped at step {step} of {tc.steps}: the accuracy over the detectable labels reached "
            f"{tc.stop_level:g} at {tc.stop_patience} snapshots in a row (train.stop_when={tc.stop_when})")
    return {"run_dir": str(run.path), "step": step, "resumed_from": start, "stopped": stopped}


def stop_step(evals: list[dict], tc) -> int | None:
    """The step at which a run's stopping rule is met, from its evaluation rows in step order, or None: with
    `train.stop_when=learned`, the first snapshot after step 0 that completes `stop_patience` snapshots in a row
    whose accuracy over the detectable labels is at least `stop_level`."""
    if tc.stop_when == "never":
        return None
    streak = 0
    for r in sorted((r for r in evals if r.get("step", 0) > 0), key=lambda r: r["step"]):
        det = (r.get("detectable") or {}).get("acc")
        streak = streak + 1 if det is not None and det >= tc.stop_level else 0
        if streak >= tc.stop_patience:
            return int(r["step"])
    return None
