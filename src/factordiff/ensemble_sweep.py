"""A sweep's runs trained K at a time as one batched model (issue 49; `factordiff sweep SPEC --ensemble K`): the
runs to do that share a network shape and their training settings (`ensemble.SHARED`) are grouped in K's, each
group one task of the local pool (`ensemble_train.train_ensemble`); every member's directory, status.json and
analysis are those of its run trained alone, so status, aggregation, records and a later plain launch read them as
ordinary runs. On the 2-core CPU an ensemble is slower than separate runs (BENCHMARKS.md "Ensemble trainer"): a
GPU option, to be chosen by measurement (`scripts/gpu-check.sh`)."""

from __future__ import annotations

import contextlib
import json
import os
import traceback
from pathlib import Path

from .config import RunConfig, from_dict, to_dict
from .ensemble import SHARED, _get
from .errors import ConfigError, Preempted
from .io import run_lock
from .worker import STOPPED, _call_on_done, _stop_workers_on_signal, write_status


def groups(todo: list[tuple], k: int) -> list[list[tuple]]:
    """The (name, cfg, run_dir) items in groups of at most k that can share one batched model, in sweep order."""
    if not (isinstance(k, int) and not isinstance(k, bool) and k >= 1):
        raise ConfigError("--ensemble", k, "a whole number ≥ 1 of runs per batched model (1: separate runs)")
    buckets: dict[str, list[tuple]] = {}
    for item in todo:
        key = json.dumps({p: _get(item[1], p) for p in SHARED}, sort_keys=True, default=str)
        buckets.setdefault(key, []).append(item)
    return [b[i:i + k] for b in buckets.values() for i in range(0, len(b), k)]


def run_group(cfg_dicts: list[dict], run_dirs: list[str], analyze: dict | None = None,
              threads: int | None = None) -> list[dict]:
    """The worker of one group: under every member's lock, train them as one model, analyse each, mark each
    done; an error marks every member failed with the reason, a stop signal marks them interrupted."""
    import torch

    from .analyze import analyze_run
    from .ensemble_train import train_ensemble

    if STOPPED:
        raise Preempted(f"not starting {len(run_dirs)} runs: this worker was stopped ({STOPPED[0]})")
    if threads:
        torch.set_num_threads(threads)
    dirs = [Path(d) for d in run_dirs]
    with contextlib.ExitStack() as locks:
        for d in dirs:
            locks.enter_context(run_lock(d))
        for d in dirs:
            write_status(d, "running", stage="training", ensemble=len(dirs))
        try:
            cfgs = [from_dict(RunConfig, c) for c in cfg_dicts]

            def log(m):
                for d in dirs:
                    write_status(d, "running", stage="training", ensemble=len(dirs), last=str(m)[:300])

            out = train_ensemble(cfgs, dirs, log=log)
            for d, summary in zip(dirs, out):
                if analyze is not None:
                    write_status(d, "running", stage="analysing", step=summary["step"])
                    analyze_run(d, **({"threads": threads} if threads else {}) | analyze)
                write_status(d, "done", step=summary["step"], ensemble=len(dirs),
                             **({"stopped": summary["stopped"]} if summary.get("stopped") is not None else {}))
        except (Preempted, KeyboardInterrupt) as e:
            for d in dirs:
                write_status(d, "interrupted", reason=f"{type(e).__name__}: {e}")
            STOPPED.append(f"{type(e).__name__}: {e}")
            raise
        except BaseException as e:  # noqa: BLE001 - recorded, then re-raised
            for d in dirs:
                write_status(d, "failed", reason=f"{type(e).__name__}: {e}", traceback=traceback.format_exc()[-2000:])
            raise
    return [{"run_dir": str(d), "step": s["step"]} for d, s in zip(dirs, out)]


def launch_ensembles(todo: list[tuple], spec, *, k: int, jobs: int | None, log, on_done=None) -> int:
    """Run the groups of `todo` on a local pool of `jobs` processes (default: one); the number of runs that
    failed or were interrupted."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    grouped = groups(todo, k)
    jobs = max(1, min(jobs or 1, len(grouped)))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    log(f"ensembles: {len(todo)} runs in {len(grouped)} batched models of at most {k}, {jobs} at a time")
    failed = 0
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool, \
            _stop_workers_on_signal(pool):
        futures = {pool.submit(run_group, [to_dict(c) for _, c, _ in g], [str(d) for _, _, d in g], spec.analyze,
                               threads): g for g in grouped}
        for fut in as_completed(futures):
            g = futures[fut]
            names = ", ".join(n for n, _, _ in g)
            try:
                for (name, _cfg, run_dir), out in zip(g, fut.result()):
                    log(f"{name}: done at step {out['step']} (in an ensemble of {len(g)})")
                    if on_done is not None:
                        _call_on_done(on_done, name, Path(run_dir), log)
            except Preempted as e:
                if e.stage == "sweep":  # the sweep's own stop (its handler ran in this loop's body): not a run's
                    raise
                failed += len(g)
                log(f"{names}: interrupted ({e}); the next launch resumes them from their checkpoints")
            except Exception as e:  # noqa: BLE001 - reported per group; the sweep goes on
                failed += len(g)
                log(f"{names}: FAILED: {type(e).__name__}: {e}")
    return failed
