"""Sweeps: a spec (base presets + overrides, a grid over config keys, seeds) expands to runs with readable
directory names; launchers run them on a local process pool or on Slurm through submitit; finished runs are
skipped, so rerunning a sweep completes what is missing; `table.aggregate` turns the run directories into one table.

Spec (YAML):

    name: p1-increment
    presets: [cpu]                  # applied left to right
    overrides: {train.steps: 2500}  # on top of the presets
    grid: {data.increment: [0.25, 0.5, 1.0]}   # keys joined by "," vary together:
                                               # {"data.increment_x,data.increment_y": [[0.05, 0.5], [0.05, 0.25]]}
    seeds: [0]
    analyze: {grid: 0, topology: none}   # options of `factordiff analyze` for each finished run (or false)

Every run directory holds `status.json` (pending → running → done | failed, with the reason), written
atomically by the worker; a "running" run whose lock is free was interrupted and resumes from its checkpoint.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import ConfigError, RunConfig, parse_yaml, replace_path, to_dict
from .errors import FactordiffError, Preempted, RunLocked
from .io import atomic_write_text, lock_free
from .presets import PRESETS, preset
from .rundir import SWEEP_MAY_CHANGE, RunDir, SweepDir, check_resume
from .slurm import launch_slurm
from .worker import (  # noqa: F401 - re-exported
    STOPPED,
    _call_on_done,
    _stop_workers_on_signal,
    run_one,
    run_status,
    share_freed_cores,
    write_status,
)

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
ANALYZE_KEYS = {"grid", "grid_repeats", "topology", "methods", "layer", "umap_seeds"}


@dataclass(frozen=True)
class SweepSpec:
    name: str
    presets: tuple[str, ...] = ()
    overrides: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list] = field(default_factory=dict)
    seeds: tuple[int, ...] = (0,)
    analyze: dict[str, Any] | None = field(default_factory=lambda: {"grid": 0, "topology": "none"})


def parse_spec(obj: dict, source: str = "spec") -> SweepSpec:
    """Validate a spec dict; every error names the field, the value and what is allowed."""
    if not isinstance(obj, dict):
        raise ConfigError(source, obj, "a mapping with name, presets, overrides, grid, seeds, analyze")
    allowed = {"name", "presets", "overrides", "grid", "seeds", "analyze"}
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise ConfigError(f"{source}.{unknown[0]}", unknown[0], f"one of {sorted(allowed)}", None)
    name = obj.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ConfigError(f"{source}.name", name, "a name of letters, digits, '_', '.', '-' (≤ 80, no '/')")
    presets = obj.get("presets", [])
    presets = [presets] if isinstance(presets, str) else presets
    for p in presets:
        if p not in PRESETS:
            raise ConfigError(f"{source}.presets", p, "one of " + ", ".join(sorted(PRESETS)))
    overrides = obj.get("overrides", {}) or {}
    grid = obj.get("grid", {}) or {}
    if not isinstance(overrides, dict):
        raise ConfigError(f"{source}.overrides", overrides, "a mapping of dotted.key: value")
    if not isinstance(grid, dict):
        raise ConfigError(f"{source}.grid", grid, "a mapping of dotted.key: [values, …]")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{source}.grid.{key}", values, "a non-empty list of values")
        width = len(key.split(","))
        if width > 1 and not all(isinstance(v, list) and len(v) == width for v in values):
            raise ConfigError(f"{source}.grid.{key}", values, f"a list of [{width} values] (the keys vary together)")
    seeds = obj.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool)
                                                            and s >= 0 for s in seeds):
        raise ConfigError(f"{source}.seeds", seeds, "a non-empty list of non-negative integers")
    analyze = obj.get("analyze", {"grid": 0, "topology": "none"})
    analyze = False if analyze is None else analyze  # sweep.json of folders written before 2026-12-03 says null
    if analyze is not False and (not isinstance(analyze, dict) or set(analyze) - ANALYZE_KEYS):
        raise ConfigError(f"{source}.analyze", analyze, f"false or a mapping with keys from {sorted(ANALYZE_KEYS)}")
    return SweepSpec(name, tuple(presets), dict(overrides), {k: list(v) for k, v in grid.items()}, tuple(seeds),
                     analyze or None)


def load_spec(path: str | Path) -> SweepSpec:
    path = Path(path)
    if not path.is_file():
        raise ConfigError("SPEC", str(path), "an existing sweep spec YAML file")
    return parse_spec(parse_yaml(path.read_text(), str(path)), str(path))


def _fmt(value: Any) -> str:
    text = "-".join(_fmt(v) for v in value) if isinstance(value, list | tuple) else (
        f"{value:g}" if isinstance(value, float) else str(value))
    return re.sub(r"[^A-Za-z0-9.+-]", "-", text)[:40] or "x"


def run_name(assign: dict[str, Any], seed: int, keys: list[str]) -> str:
    """'increment=0.5_seed=0': the last part of each grid key (the whole key when two would collide)."""
    short = [k.split(".")[-1] for k in keys]
    parts = [f"{(s if short.count(s) == 1 else k.replace('.', '-'))}={_fmt(assign[k])}" for k, s in zip(keys, short)]
    return "_".join([*parts, f"seed={seed}"])


def expand(spec: SweepSpec) -> list[tuple[str, RunConfig, dict]]:
    """(run name, config, grid assignment) for every grid point × seed; every config validated up front."""
    base = preset(list(spec.presets)) if spec.presets else RunConfig()
    base = replace_path(base, spec.overrides)
    groups = list(spec.grid)
    keys = [k for g in groups for k in g.split(",")]
    runs = []
    for values in itertools.product(*(spec.grid[g] for g in groups)):
        assign = {}
        for g, v in zip(groups, values):
            assign |= dict(zip(g.split(","), v)) if "," in g else {g: v}
        for seed in spec.seeds:
            try:
                cfg = replace_path(base, {**assign, "seed": seed})
            except ConfigError as e:
                raise ConfigError(f"grid {assign}", e.value, e.allowed, f"grid point {assign}: {e}") from None
            runs.append((run_name(assign, seed, keys), cfg, assign))
    names = [r[0] for r in runs]
    if len(set(names)) != len(names):
        raise ConfigError("grid", spec.grid, "values that give distinct run names")
    return runs


def _prepare(spec: SweepSpec, sweep_dir: Path, write: bool = True) -> list[tuple[str, RunConfig, dict, Path]]:
    """The sweep's runs with their directories (checked to stay inside the sweep), and SWEEP/sweep.json written
    unless `write` is False (a dry run writes nothing)."""
    runs = expand(spec)  # fails before anything is written
    root = sweep_dir.resolve()
    out = []
    for name, cfg, assign in runs:
        run_dir = SweepDir(sweep_dir).run(name).path
        if not run_dir.resolve().is_relative_to(root):  # e.g. runs/ is a symlink to elsewhere
            raise ConfigError("run directory", str(run_dir), f"a path inside the sweep directory {root}, "
                              f"not outside it (it resolves to {run_dir.resolve()})")
        out.append((name, cfg, assign, run_dir))
    if not write:
        return out
    sweep_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(SweepDir(sweep_dir).spec, json.dumps(
        {"name": spec.name, "presets": spec.presets, "overrides": spec.overrides, "grid": spec.grid,
         "seeds": spec.seeds, "analyze": spec.analyze or False}, indent=1, default=list))
    return out


def complete_in(spec: SweepSpec, sweep_dir: str | Path) -> bool:
    """Whether every run of `spec` is already done in `sweep_dir` with exactly the config `spec` gives it (the
    same steps too): another sweep's runs that an experiment may read instead of training its own."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        return False
    for name, cfg, _assign in expand(spec):
        run = SweepDir(sweep_dir).run(name)
        st = run_status(run.path)
        if st["state"] != "done" or (st.get("step") != cfg.train.steps and st.get("stopped") is None) \
                or not run.config.exists():
            return False
        try:
            check_resume(run, cfg, ())
        except FactordiffError:
            return False
    return True


def launch(spec: SweepSpec, sweep_dir: str | Path, *, launcher: str = "local", jobs: int | None = None,
           slurm: dict | None = None, dry_run: bool = False, allow_slow: bool = False, log=print,
           skip: Collection[str] = (), on_done: Callable[[str, Path], None] | None = None, ensemble: int = 1) -> dict:
    """Run every run that is not done; returns {'runs', 'ran', 'failed', 'skipped'} (and 'plan' for a local
    launch: the estimate). A local launch is estimated first (`plan`): `dry_run` prints the plan and runs
    nothing; a CPU plan longer than plan.SLOW_HOURS is refused unless `allow_slow`. `skip`: run names done
    elsewhere (a campaign's recorded runs), not trained here; `on_done(name, run_dir)`: called as each run of a
    local launch finishes (an error in it is logged, never stops the sweep). `ensemble` > 1 (local only): runs that
    share a network, K at a time as one batched model (ensemble_sweep.py; the plan counts them as separate runs)."""
    if launcher not in ("local", "slurm"):
        raise ConfigError("--launcher", launcher, "local or slurm")
    if ensemble != 1:
        from .ensemble_sweep import groups

        groups([], ensemble)  # a K that is not a whole number ≥ 1 is refused before any work
        if launcher != "local":
            raise ConfigError("--ensemble", ensemble, "1 with --launcher slurm (batched models run on a local pool)")
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ConfigError("--jobs", jobs, "a positive whole number of parallel runs (default: one per core)")
    cluster = (slurm or {}).get("cluster")
    if launcher == "slurm" and cluster in (None, "slurm") and not shutil.which("sbatch"):
        # submitit's AutoExecutor would quietly run the jobs here instead (on a login node: heavy work there)
        raise ConfigError("--launcher", launcher, "used where Slurm is installed", "--launcher slurm: no Slurm "
                          "here (sbatch is not on PATH); run on this machine with --launcher local, or try the "
                          "submitit code path locally with --slurm cluster=local")
    sweep_dir = Path(sweep_dir)
    runs = _prepare(spec, sweep_dir, write=not dry_run)
    todo, elsewhere = [], []
    for name, cfg, _assign, run_dir in runs:
        if name in skip:
            continue
        check_resume(RunDir(run_dir), cfg, SWEEP_MAY_CHANGE)  # only train.steps may change, and only grow
        st = run_status(run_dir)
        if st["state"] == "done" and (st.get("step", cfg.train.steps) >= cfg.train.steps
                                      or st.get("stopped") is not None):  # or its stopping rule ended it
            continue
        if st["state"] == "running":
            log(f"{name}: running elsewhere ({st.get('host')}, pid {st.get('pid')}); skipped")
            elsewhere.append(name)
            continue
        todo.append((name, cfg, run_dir))
    skipped = len(runs) - len(todo)
    log(f"sweep {spec.name}: {len(runs)} runs, {skipped} done or running"
        + (f" ({len(set(skip) & {r[0] for r in runs})} of them recorded elsewhere)" if skip else "")
        + f", {len(todo)} to run ({launcher})")
    if not todo:
        _refuse_if_elsewhere(elsewhere, len(runs), dry_run)
        return {"runs": len(runs), "ran": 0, "failed": 0, "skipped": skipped}
    extra = {}
    if launcher == "local":
        from .plan import check_budget, check_floor, describe, floor_words, plan, training_floor

        if not dry_run and not allow_slow:  # a plan that cannot fit is refused in seconds, not after the estimate
            check_floor(training_floor(todo, jobs=min(jobs or os.cpu_count() or 1, len(todo))), allow_slow=False)
        elif dry_run:  # a number within seconds: the full plan can take minutes at the paper scale on a CPU
            floor = training_floor(todo, jobs=min(jobs or os.cpu_count() or 1, len(todo)))
            if floor:
                log(floor_words(floor))
        extra["plan"] = est = plan(todo, jobs=min(jobs or os.cpu_count() or 1, len(todo)), analyze=spec.analyze)
        for line in describe(est) if dry_run else describe(est, limit=0)[-1:]:
            log(line)
        if not dry_run:
            check_budget(est, allow_slow=allow_slow)
    elif dry_run:
        for name, cfg, _ in todo:
            log(f"  {name}: {cfg.train.steps} steps on a Slurm node (not estimated here: another machine)")
    if dry_run:
        return {"runs": len(runs), "ran": 0, "failed": 0, "skipped": skipped, "dry_run": True, **extra}
    _refuse_if_elsewhere(elsewhere, len(runs), dry_run)
    if launcher == "local" and ensemble != 1:
        from .ensemble_sweep import launch_ensembles
        failed = launch_ensembles(todo, spec, k=ensemble, jobs=jobs, log=log, on_done=on_done)
    elif launcher == "local":
        failed = _launch_local(todo, spec, jobs=jobs, slurm=slurm or {}, sweep_dir=sweep_dir, log=log, busy=elsewhere,
                               on_done=on_done)
    else:
        failed = launch_slurm(todo, spec, jobs=jobs, slurm=slurm or {}, sweep_dir=sweep_dir, log=log, busy=elsewhere)
    _refuse_if_elsewhere(elsewhere, len(runs), dry_run)  # runs another process took while this one waited
    return {"runs": len(runs), "ran": len(todo), "failed": failed, "skipped": skipped, **extra}


def _refuse_if_elsewhere(names: list[str], total: int, dry_run: bool) -> None:
    """Runs of this sweep that another process is training: say so and stop, before any results table is
    written (a table aggregated now would be partial, and stay so if the other process died)."""
    if names and not dry_run:
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        raise RunLocked(f"{len(names)} of {total} runs are being trained by another process ({shown}): left to it, "
                        "and no results table written; rerun this command when that process has finished")


HEARTBEAT_S = 60.0  # while runs go on, a line every this many seconds: runs done, and where each running one is


def _completed_with_heartbeat(futures: dict, todo, t0: float, log):
    """The futures as they finish (as `as_completed`); meanwhile every HEARTBEAT_S a line with the runs done and,
    for each running run, its stage and last progress line from its status.json (step s/S, loss, s/step)."""
    from concurrent.futures import FIRST_COMPLETED, wait

    dirs = {name: run_dir for name, _cfg, run_dir in todo}
    pending, beat = set(futures), time.time()
    while pending:
        done, pending = wait(pending, timeout=max(0.05, beat + HEARTBEAT_S - time.time()),
                             return_when=FIRST_COMPLETED)
        yield from done
        if pending and time.time() >= beat + HEARTBEAT_S:
            beat = time.time()
            running = []
            for fut in pending:
                st = run_status(dirs[futures[fut]])
                if st["state"] == "running":
                    running.append(f"{futures[fut]} ({st.get('stage', 'running')}: {st.get('last', '')[:70]})"
                                   .replace(": )", ")"))
            log(f"  … {len(futures) - len(pending)}/{len(futures)} runs done, {time.time() - t0:.0f} s; "
                + (f"running: {'; '.join(running)}" if running else "waiting for a worker"))


def _launch_local(todo, spec, *, jobs, slurm, sweep_dir, log, busy: list | None = None, on_done=None) -> int:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    cores = os.cpu_count() or 1
    jobs = max(1, min(jobs or cores, len(todo)))
    threads = max(1, cores // jobs)
    failed = 0
    dirs = {name: run_dir for name, _cfg, run_dir in todo}
    for run_dir in dirs.values():  # an earlier launch's share: each run starts on this launch's `threads`
        if lock_free(run_dir):
            RunDir(run_dir).cores.unlink(missing_ok=True)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool, \
            _stop_workers_on_signal(pool):
        futures = {pool.submit(run_one, to_dict(cfg), str(run_dir), spec.analyze, threads): name
                   for name, cfg, run_dir in todo}
        t0 = time.time()
        for k, fut in enumerate(_completed_with_heartbeat(futures, todo, t0, log), 1):
            name = futures[fut]
            left = (time.time() - t0) / k * (len(futures) - k)
            name = f"[{k}/{len(futures)} runs, {time.time() - t0:.0f} s, ≈ {left:.0f} s left] {name}"
            try:
                out = fut.result()
                if out.get("busy") and busy is not None:
                    busy.append(futures[fut])
                log(f"{name}: running in another process; left to it" if out.get("busy")
                    else f"{name}: done at step {out['step']}")
                if on_done is not None and not out.get("busy"):
                    _call_on_done(on_done, futures[fut], dirs[futures[fut]], log)
                left = [dirs[futures[f]] for f in futures if not f.done()]
                if 0 < len(left) < jobs:
                    share_freed_cores(left, cores, log)
            except Preempted as e:
                if e.stage == "sweep":  # the sweep's own stop (its handler ran in this loop's body): not a run's
                    raise
                failed += 1
                log(f"{name}: interrupted ({e}); the next launch resumes it from its checkpoint")
            except Exception as e:  # noqa: BLE001 - reported per run; the sweep goes on
                failed += 1
                log(f"{name}: FAILED: {type(e).__name__}: {e}")
    return failed


# ---- status and aggregation -----------------------------------------------------------------------------

def sweep_status(spec: SweepSpec, sweep_dir: str | Path) -> list[dict]:
    out = []
    for name, cfg, assign in expand(spec):
        path = SweepDir(sweep_dir).run(name).path
        st = run_status(path)
        if st["state"] == "done" and st.get("step", cfg.train.steps) < cfg.train.steps \
                and st.get("stopped") is None:  # `launch` reruns it
            st = {**st, "state": "pending", "reason": f"done at step {st['step']}; the spec now asks for "
                                                      f"{cfg.train.steps} (a run resumes from its checkpoint)"}
        if st.get("step") is None and st["state"] in ("running", "interrupted"):
            from .plan import resume_step  # the newest checkpoint: how far a running run has got

            st["step"] = resume_step(path) or None
        out.append({"run": name, **assign, "state": st["state"], "reason": st.get("reason", ""),
                    "step": st.get("step"), "stage": st.get("stage", ""), "last": st.get("last", "")})
    return out


def status_lines(rows: list[dict]) -> list[str]:
    """`factordiff sweep status`: one line per run (state, name, reason or step, a running run's stage and last
    progress line), then the counts."""
    out = []
    for r in rows:
        extra = f"  {r['reason']}" if r["reason"] else (f"  step {r['step']}" if r["step"] else "")
        if r["state"] == "running" and r.get("stage"):
            extra += f"  {r['stage']}" + (f": {r['last']}" if r.get("last") else "")
        out.append(f"{r['state']:<12} {r['run']}{extra}")
    counts = {s: sum(r["state"] == s for r in rows) for s in dict.fromkeys(r["state"] for r in rows)}
    return out + [f"{len(rows)} runs: " + ", ".join(f"{n} {s}" for s, n in counts.items())]
