"""Plan before spending: what a train / sweep / reproduce call would run and how long it would take here,
estimated from a few-step benchmark on the device (`bench.estimate_run`), with the analysis of each snapshot
timed on the benchmark's own snapshot and the worker's start-up. A local launch whose estimate on a
CPU exceeds `SLOW_HOURS` is refused unless the caller allows it (`--allow-slow`), with the estimate in the
message; `--dry-run` prints the plan and runs nothing."""

from __future__ import annotations

from pathlib import Path

from .config import RunConfig
from .errors import ConfigError
from .rundir import RunDir, step_of

SLOW_HOURS = 24.0  # a local CPU launch estimated above this is refused without --allow-slow


def resume_step(run_dir: str | Path) -> int:
    """The step a run would resume from: its newest committed checkpoint's (0 when it has none)."""
    from .checkpoint import list_checkpoints

    kept = list_checkpoints(RunDir(run_dir).checkpoints)
    return step_of(kept[-1]) if kept else 0


def startup_seconds() -> float:
    """Seconds a run takes to start before it trains: a fresh interpreter importing the trainer (timed once per
    process; the analysis's imports and UMAP kernels load once per worker, inside the analysis estimate)."""
    global _STARTUP
    if _STARTUP is None:
        import subprocess
        import sys
        import time

        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import factordiff.worker"], check=False,
                       capture_output=True, timeout=300)
        _STARTUP = time.perf_counter() - t0
    return _STARTUP


_STARTUP: float | None = None


def plan(todo: list[tuple[str, RunConfig, Path]], *, jobs: int = 1, device: str | None = None,
         analyze: dict | None = None) -> dict:
    """Per run (name, config, run directory) still to run: the step it starts from, its steps, snapshots and
    estimated seconds (training, sampling, the analysis of its snapshots with the sweep's `analyze` options, and
    the worker's start-up); and the totals (serial, and divided over `jobs` parallel workers). On a CPU with `jobs`
    workers the benchmark runs at the threads each worker gets (cores // jobs, as the local pool sets them):
    two 1-thread runs side by side are not twice as fast as one 2-thread run (measured: p2-lesion's dry run
    said 15 min at 2 threads ÷ 2 workers, the sweep took 42). On CUDA, runs that share a GPU are counted as one at
    a time: measured on an H200 (BENCHMARKS.md "GPU"), 4 paper-scale runs sharing it trained ≈ 1.4× the images/s
    of one, 8 ≈ 1.9×, far from 4× and 8×; the wall time is the serial time over min(jobs, GPUs)."""
    import os

    import torch

    from .bench import estimate_run
    from .evaluate import resolve_device
    from .tune import KEYS, is_auto, name, settle

    jobs = max(1, min(jobs, len(todo) or 1))
    cache: dict = {}
    rows = []
    threads = torch.get_num_threads()
    per_worker = max(1, (os.cpu_count() or 1) // jobs)
    try:
        for run_name, cfg, run_dir in todo:
            dev = resolve_device(device or cfg.train.device)
            if dev.type == "cpu" and jobs > 1:
                torch.set_num_threads(per_worker)
            start = resume_step(run_dir)
            if is_auto(cfg):  # the options the run will train with: its saved ones, else measured (and cached) now
                saved = RunDir(run_dir)
                cfg = settle(cfg, saved.load_config() if saved.config.exists() else None, dev)
            est = estimate_run(cfg, start=start, device=device, cache=cache, analyze=analyze)
            est["startup_s"] = startup_seconds()
            est["total_s"] += est["startup_s"]
            rows.append({"run": run_name, "start": start, "options": name({k: getattr(cfg.train, k) for k in KEYS}),
                         "threads": torch.get_num_threads() if dev.type == "cpu" else None,
                         "stops": cfg.train.stop_when != "never", **est})
    finally:
        torch.set_num_threads(threads)
    total = sum(r["total_s"] for r in rows)
    gpu = bool(rows) and rows[0]["device"] == "cuda"
    parallel = min(jobs, max(1, torch.cuda.device_count())) if gpu else jobs
    parts = {k: sum(r.get(k, 0.0) for r in rows) for k in ("train_s", "snapshot_s", "analysis_s", "startup_s")}
    return {"runs": rows, "total_s": total, **parts, "jobs": jobs, "wall_s": total / parallel, "parallel": parallel,
            "device": rows[0]["device"] if rows else None, "device_name": rows[0]["device_name"] if rows else None,
            "threads": rows[0]["threads"] if rows else None}


def describe(p: dict, limit: int = 12) -> list[str]:
    """The plan in lines: one per run (the first `limit`), then the totals."""
    from .bench import hours

    out = [f"  {r['run']}: steps {r['start']}→{r['start'] + r['steps']}, {r['snapshots']} snapshots, "
           f"≈ {hours(r['total_s'])} ({r['sec_per_step']:.3g} s/step, {r['sec_per_snapshot']:.3g} s/snapshot, "
           f"{r.get('options', 'plain')})"
           for r in p["runs"][:limit]]
    if len(p["runs"]) > limit:
        out.append(f"  … and {len(p['runs']) - limit} more runs")
    split = ", ".join(f"{what} {hours(p.get(k, 0.0))}" for what, k in (
        ("training", "train_s"), ("sampling", "snapshot_s"), ("analysis", "analysis_s"), ("start-up", "startup_s"))
        if p.get(k))
    out.append(f"estimate on {p['device_name']} (per run): {len(p['runs'])} runs, ≈ {hours(p['total_s'])} one after "
               f"another ({split})" + (f", ≈ {hours(p['wall_s'])} with {p['jobs']} at a time"
                                       if p["jobs"] > 1 and len(p["runs"]) > 1 else "")
               + (f" on {p['parallel']} GPU{'s' if p['parallel'] > 1 else ''} (runs sharing a GPU counted as one at a "
                  f"time: measured ≤ 2× together)" if p["device"] == "cuda" and p["jobs"] > 1 and len(p["runs"]) > 1
                  else "")
               + "; checkpoints not counted")
    stops = sum(bool(r.get("stops")) for r in p["runs"])
    if stops:  # a stopping rule ends a run when its evidence says so, which no benchmark can know in advance
        out.append(f"  at most: {stops} of {len(p['runs'])} runs carry a stopping rule (train.stop_when) and are "
                   "counted to their full steps; they end sooner once it is met")
    return out


FLOOR_SPEEDUP = 2.0  # the most the `auto` performance options may beat plain eager by, in the floor
FLOOR_MARGIN = 4.0  # the floor refuses only plans this far over SLOW_HOURS; nearer ones get the full estimate
FLOOR_BATCH = 8  # samples per timed step in the floor, scaled to the run's batch


def training_floor(todo: list[tuple[str, RunConfig, Path]], *, jobs: int = 1) -> dict | None:
    """A quick estimate of a CPU plan's training time, before the full plan (which benchmarks the `auto` options,
    snapshots and the analysis: minutes at the paper scale on a CPU): one plain step of the first run's network
    on FLOOR_BATCH samples, timed after one warm-up and scaled to the run's batch, × every run's remaining steps,
    ÷ FLOOR_SPEEDUP (the most the performance options could win; measured ≤ 1.13× on these CPUs) ÷ the runs at
    a time; sampling, analysis and start-up left out. None when the runs are not on a CPU."""
    import time

    import torch

    from .config import replace_path
    from .evaluate import resolve_device
    from .tune import step_timer

    if not todo:
        return None
    name, cfg, _ = todo[0]
    dev = resolve_device(cfg.train.device)
    if dev.type != "cpu":
        return None
    batch = min(cfg.train.batch_size, FLOOR_BATCH)
    plain = replace_path(cfg, {"train.channels_last": False, "train.amp": "none", "train.compile": False,
                               "train.batch_size": batch})
    t0 = time.perf_counter()
    timer = step_timer(plain, dev)
    timer(1)  # warm-up
    step_s = timer(1) * cfg.train.batch_size / batch
    steps = sum(max(c.train.steps - resume_step(d), 0) for _, c, d in todo)
    wall = step_s * steps / FLOOR_SPEEDUP / max(1, min(jobs, len(todo)))
    return {"sec_per_step": step_s, "steps": steps, "wall_s": wall, "measured_s": time.perf_counter() - t0,
            "threads": torch.get_num_threads(), "run": name, "jobs": max(1, min(jobs, len(todo)))}


def floor_words(floor: dict) -> str:
    """The training floor as the first line of a CPU dry run, before the full plan is measured."""
    from .bench import hours

    return (f"quick estimate (one plain step timed, {floor['measured_s']:.0f} s): training alone ≈ "
            f"{hours(floor['wall_s'])} or more, {floor['jobs']} at a time ({floor['steps']:,} steps at ≈ "
            f"{floor['sec_per_step']:.3g} s/step plain, counted at {FLOOR_SPEEDUP:g}× faster); measuring the full "
            "plan (the performance options, snapshots, analysis: minutes at the paper scale on a CPU) …")


def check_floor(floor: dict | None, *, allow_slow: bool) -> None:
    """Refuse at once a plan whose training floor (`training_floor`) is over FLOOR_MARGIN × SLOW_HOURS, unless
    `allow_slow`: so far over that no option or batch-size effect could bring it under; a plan nearer the limit
    gets the full estimate, which decides (`check_budget`)."""
    from .bench import hours
    from .hardware import device_name

    if floor is None or allow_slow or floor["wall_s"] <= FLOOR_MARGIN * SLOW_HOURS * 3600:
        return
    import torch

    raise ConfigError("--allow-slow", False, "given to start a CPU job this long",
                      f"its training alone would take ≈ {hours(floor['wall_s'])} or more on this CPU "
                      f"({device_name(torch.device('cpu'))}; {floor['steps']:,} steps at ≈ "
                      f"{floor['sec_per_step']:.3g} s/step plain, counted at {FLOOR_SPEEDUP:g}× faster; measured "
                      f"in {floor['measured_s']:.0f} s): use a GPU (train.device=cuda, or --launcher slurm), the cpu "
                      "scale, or pass --allow-slow to start it anyway; --dry-run shows the full plan")


def check_budget(p: dict, *, allow_slow: bool) -> None:
    """Refuse a CPU plan estimated above SLOW_HOURS unless `allow_slow`; the message carries the estimate."""
    from .bench import hours

    if p["device"] == "cpu" and p["wall_s"] > SLOW_HOURS * 3600 and not allow_slow:
        raise ConfigError("--allow-slow", False, "given to start a CPU job this long",
                          f"this would take ≈ {hours(p['wall_s'])} on this CPU ({p['device_name']}; "
                          f"{len(p['runs'])} runs, ≈ {hours(p['total_s'] / max(len(p['runs']), 1))} each): use a "
                          "GPU (train.device=cuda, or --launcher slurm), the cpu scale, or pass --allow-slow to "
                          "start it anyway; --dry-run shows the plan")
