"""The ensemble's loop (issue 49): K runs of one network shape trained as one batched model (`ensemble.py`), each
member writing its own run directory as its separate run would (config, metrics.jsonl, snapshots, checkpoints in
the separate trainer's layout), so that every reader, `analyze`, a sweep's table and a later separate resume
treat it as an ordinary run. Each member's snapshot and checkpoint are taken at the same steps and with the same
noise as its run alone; its weights equal that run's to the summation order of the batched convolutions
(tests/test_ensemble.py).

Members train in fp32 and the plain memory format (vmap over channels_last, bf16 autocast or compile is not
built), and their saved configs say so. A member that meets its stopping rule stops writing (its run directory is
then exactly a stopped run's) while the others go on; the batched model keeps its slot until every member is done.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from .checkpoint import save_checkpoint
from .config import RunConfig, replace_path, save_config, to_dict
from .data import make_dataset
from .ensemble import (
    Ensemble,
    StackedEMA,
    check_members,
    load_optimizer_member,
    make_ensemble_loss,
    make_optimizer,
    optimizer_member_state,
)
from .errors import ConfigError, NonFiniteError, Preempted
from .evaluate import SNAPSHOT_SEED, resolve_device, snapshot
from .io import clean_temp_files, run_lock, save_npz
from .loggers import MetricLog, check_logger
from .memorizer import closed_form_scores
from .rundir import RunDir, check_resume
from .score import reference_scores
from .train import EMA, _eval_set, _resume, snapshot_due, stop_signals, stop_step

PLAIN = {"train.channels_last": False, "train.amp": "none", "train.compile": False}


class _MemberOptimizer:
    """What `save_checkpoint` reads from an optimizer: member k's AdamW state in its own run's layout."""

    def __init__(self, ens: Ensemble, opt: torch.optim.AdamW, k: int):
        self.ens, self.opt, self.k = ens, opt, k

    def state_dict(self) -> dict:
        return optimizer_member_state(self.ens, self.opt, self.k)


def train_ensemble(cfgs: Sequence[RunConfig], run_dirs: Sequence[str | Path], *, log=print) -> list[dict]:
    """Train (or resume) the runs `run_dirs` with configs `cfgs` as one batched model; one summary per member
    (as `train.train` returns). Members must share the network and optimizer settings (`ensemble.SHARED`) and,
    when resumed, stand at the same step."""
    if len(cfgs) != len(run_dirs) or not cfgs:
        raise ConfigError("run_dirs", len(run_dirs), f"one run directory per config ({len(cfgs)} configs)")
    cfgs = [replace_path(c, PLAIN) for c in cfgs]
    check_members(cfgs)
    runs = [RunDir(d) for d in run_dirs]
    if len({r.path.resolve() for r in runs}) != len(runs):
        raise ConfigError("run_dirs", [str(r.path) for r in runs], "distinct run directories")
    devices = {resolve_device(c.train.device) for c in cfgs}
    if len(devices) != 1:
        raise ConfigError("train.device", sorted(map(str, devices)), "one device for every member")
    device = devices.pop()
    for cfg, run in zip(cfgs, runs):
        if run.path.exists() and not run.path.is_dir():
            raise ConfigError("run_dir", str(run.path), "a directory (new or an earlier run's)")
        run.check_tree()
        make_dataset(cfg.data)
        check_logger(cfg)
        check_resume(run, cfg)
    with contextlib.ExitStack() as stack:
        for run in runs:
            run.path.mkdir(parents=True, exist_ok=True)
            stack.enter_context(run_lock(run.path))
        flag = stack.enter_context(stop_signals())
        return _loop(cfgs, runs, device, flag, stack, log)


def _loop(cfgs, runs, device, flag, stack, log) -> list[dict]:
    k_all = range(len(cfgs))
    ens = Ensemble(cfgs, device)
    opt, ema = make_optimizer(ens), StackedEMA(ens)
    ema_modules = [copy.deepcopy(ens.member(k)).eval().requires_grad_(False) for k in k_all]
    starts = []
    for k, (cfg, run) in enumerate(zip(cfgs, runs)):  # each member resumed as its separate run resumes
        removed = clean_temp_files(run.path)
        if removed:
            log(f"{run.path}: removed {removed} unfinished temporary file(s)")
        model, own_ema = ens.member(k), EMA(ens.member(k), cfg.train.ema_decay, cfg.train.ema_start)
        own_opt = torch.optim.AdamW(model.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
        tc = cfg.train
        starts.append(_resume(run, model, own_ema, own_opt, log, first_checkpoint=tc.checkpoint_every or
                              tc.snapshot_every))
        ens.load_member(k, model.state_dict())
        with torch.no_grad():
            for name, v in own_ema.model.state_dict().items():
                ema.params[name][k].copy_(v)
        if own_opt.state:
            load_optimizer_member(ens, opt, k, own_opt.state_dict())
        save_config(cfg, run.config)
    if len(set(starts)) != 1:
        raise ConfigError("resume", starts, "members at the same step (resume the lagging runs alone first)")
    step = start = starts[0]
    tc = cfgs[0].train
    members = []
    for cfg, run in zip(cfgs, runs):
        ds = make_dataset(cfg.data)
        labels, kinds = _eval_set(cfg, ds)
        refs = reference_scores(labels, kinds, cfg.data, ds.labels)
        if cfg.train.memorizer == "closed_form":
            refs["closedform"] = closed_form_scores(cfg, ds.labels, ds.kinds, labels, kinds,
                                                    seed=cfg.seed + SNAPSHOT_SEED)
        history = [r for r in run.read_metrics("eval") if r["step"] <= start]
        members.append({"cfg": cfg, "run": run, "labels": labels, "kinds": kinds, "refs": refs,
                        "metrics": stack.enter_context(MetricLog(cfg, run.metrics, run.path / "tensorboard", start)),
                        "history": history, "stopped": stop_step(history, cfg.train), "running": 0.0})
    loss_fn = make_ensemble_loss(ens)
    n_run, t_log = 0, time.perf_counter()
    log(f"ensemble of {len(cfgs)} runs from step {start}: " + ", ".join(str(r.path) for r in runs))
    while True:
        live = [k for k in k_all if members[k]["stopped"] is None]
        done = step >= tc.steps or flag["signal"] is not None or not live
        for k in live:
            _snapshot(members[k], step, ens, ema, ema_modules[k], k, flag)
            m = members[k]
            if m["stopped"] is not None or done or (step > start and step % (tc.checkpoint_every or
                                                                            tc.snapshot_every) == 0):
                _sampled_weights(ens, ema, ema_modules[k], k, use_ema=True)
                save_checkpoint(m["run"].checkpoints, step, ens.member(k), ema_modules[k],
                                _MemberOptimizer(ens, opt, k), {"config": to_dict(m["cfg"])},
                                keep=m["cfg"].train.keep_checkpoints)
        if done or all(members[k]["stopped"] is not None for k in k_all):
            break
        total, per = loss_fn(step)
        bad = [k for k, v in enumerate(per) if not math.isfinite(v) and members[k]["stopped"] is None]
        if bad:
            raise NonFiniteError(f"non-finite loss in member {bad[0]} ({runs[bad[0]].path}) at step {step + 1}; "
                                 "the last good checkpoints are kept")
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        step += 1
        ema.update(ens, step)
        for k, v in enumerate(per):
            members[k]["running"] += v
        n_run += 1
        if step % tc.log_every == 0 or step == tc.steps:
            dt = time.perf_counter() - t_log
            for k in k_all:
                m = members[k]
                if m["stopped"] is None:
                    m["metrics"].append({"kind": "train", "step": step, "loss": m["running"] / n_run,
                                         "lr": tc.lr, "sec_per_step": round(dt / n_run, 5),
                                         "threads": torch.get_num_threads(), "ensemble": len(cfgs)})
                m["running"] = 0.0
            n_run, t_log = 0, time.perf_counter()
    if flag["signal"] is not None and step < tc.steps:
        raise Preempted(f"stopped by signal {flag['signal']} at step {step}; checkpoints written, rerun to resume",
                        signum=flag["signal"])
    return [{"run_dir": str(m["run"].path), "step": m["stopped"] if m["stopped"] is not None else step,
             "resumed_from": start, "stopped": m["stopped"]} for m in members]


def _sampled_weights(ens: Ensemble, ema: StackedEMA, module: torch.nn.Module, k: int, *, use_ema: bool) -> None:
    """Load member k's EMA weights (or, without an EMA, its trained weights) into `module`."""
    module.load_state_dict(ema.member_state(k) if use_ema else ens.member(k).state_dict())


def _snapshot(m: dict, step: int, ens: Ensemble, ema: StackedEMA, module: torch.nn.Module, k: int,
              flag: dict) -> None:
    """Member k's snapshot at `step` when due (the separate loop's rule), sampled with its EMA weights."""
    cfg, run = m["cfg"], m["run"]
    tc = cfg.train
    due = snapshot_due(tc, step) and not run.snapshot(step).exists()
    if not due or flag["signal"] is not None:
        return
    _sampled_weights(ens, ema, module, k, use_ema=tc.ema_decay > 0)
    t0 = time.perf_counter()
    out = snapshot(cfg, module, m["labels"], m["kinds"])
    save_npz(run.snapshot(step), **out["arrays"])
    m["metrics"].append({"kind": "eval", "step": step, "sec": round(time.perf_counter() - t0, 3), **out["metrics"],
                         "acc_ceiling": m["refs"]["ceiling"]["acc"], "tol_px": cfg.data.tol_px,
                         "references": m["refs"]})
    m["history"].append({"step": step, **out["metrics"]})
    stopped = stop_step(m["history"], tc)
    if stopped is not None:
        m["stopped"] = stopped
        m["metrics"].append({"kind": "stop", "step": step, "rule": tc.stop_when, "level": tc.stop_level,
                             "patience": tc.stop_patience})
