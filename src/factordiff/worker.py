"""The sweep worker: one run under its lock (train, resuming, then analyse) with its status.json kept current;
used by the local process pool (sweep.py) and by Slurm jobs (slurm.py)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
import traceback
from pathlib import Path

from .config import RunConfig, from_dict
from .errors import CodeChanged, Preempted, RunLocked, raise_on_signals
from .io import atomic_write_json, lock_free, run_lock
from .rundir import RunDir

# ---- status ----------------------------------------------------------------------------------------------

def write_status(run_dir: Path, state: str, **extra) -> None:
    atomic_write_json(RunDir(run_dir).status, {"state": state, "host": socket.gethostname(), "pid": os.getpid(),
                                                "time": time.strftime("%Y-%m-%dT%H:%M:%S"), **extra})


def run_status(run_dir: Path) -> dict:
    """{'state': pending | running | interrupted | done | failed, …} of one run directory."""
    path = RunDir(run_dir).status
    if not path.exists():
        return {"state": "pending"}
    try:
        st = json.loads(path.read_text())
    except (OSError, ValueError):
        return {"state": "pending"}
    if st.get("state") == "running" and lock_free(run_dir) and st.get("host") == socket.gethostname():
        st["state"] = "interrupted"
    return st


def cores_now(run_dir: Path, default: int | None) -> int | None:
    """The threads this run may use now: what the local pool wrote to its cores.json when a partner run ended
    and fewer runs than workers were left (`share_freed_cores`), else `default`."""
    try:
        n = int(json.loads(RunDir(run_dir).cores.read_text())["threads"])
    except (OSError, ValueError, KeyError, TypeError):
        return default
    return n if n >= 1 else default


def share_freed_cores(run_dirs: list, cores: int, log) -> None:
    """Fewer runs left than workers: the cores of the runs that ended go to those still running (each worker's
    trainer reads its run's cores.json at every logged step, its analysis when it starts). Without this, the
    last run of a two-core round trained on one thread beside an idle core (BENCHMARKS.md "A whole reproduce")."""
    import multiprocessing as mp

    ours = {p.pid for p in mp.active_children()}
    n = max(1, cores // len(run_dirs))
    for run_dir in run_dirs:
        st = run_status(run_dir)
        if st.get("state") != "running" or st.get("pid") not in ours:  # not started yet, or another sweep's
            continue
        path = RunDir(run_dir).cores
        try:
            had = json.loads(path.read_text()).get("threads")
        except (OSError, ValueError, AttributeError):
            had = None
        if had != n:
            atomic_write_json(path, {"threads": n, "why": f"{len(run_dirs)} run(s) left on {cores} cores"})
            log(f"  {Path(run_dir).name}: {n} threads from its next logged step ({len(run_dirs)} run(s) left)")


STOPPED: list[str] = []  # in a worker process: why a stop signal ended one of its runs


def _sources() -> dict[str, int]:
    root = Path(__file__).parent
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*.py")}


SOURCES = _sources()  # the package's code as this process found it when it imported the worker


def code_changed() -> list[str]:
    """The package's source files added, removed or modified on disk since this process imported the worker. A
    long-lived pool worker keeps the modules it has imported and imports the others (lazy imports: a variant's
    network, an analysis) from the disk as it finds it then: under changed code its next run would mix the two
    (bias-bench's DiT runs failed at their start on a method the new `dit.py` needed of the old `unet`)."""
    now = _sources()
    return sorted(k for k in set(now) | set(SOURCES) if now.get(k) != SOURCES.get(k))


def run_one(cfg_dict: dict, run_dir: str, analyze: dict | None = None, threads: int | None = None,
            echo: bool = False, stop_on: tuple | None = None) -> dict:
    """The worker: under the run's lock, train (resuming), analyse, mark done; an error marks the run failed
    with its reason, a stop signal marks it interrupted. A worker that was stopped starts no further run (the
    pool may have queued more). A run locked by another process (a second sweep on it) is left alone. `echo`
    (Slurm jobs) also prints the trainer's lines, so the job's log shows the run's progress."""
    import torch

    from .analyze import analyze_run
    from .train import STOP_SIGNALS, train

    run_dir = Path(run_dir)
    if STOPPED:
        raise Preempted(f"not starting {run_dir.name}: this worker was stopped ({STOPPED[0]})")
    from threadpoolctl import threadpool_limits

    if threads:
        torch.set_num_threads(threads)
    try:
        # NumPy's BLAS to the worker's share of the cores too: its idle threads spin on a core that another
        # worker trains on (a 300 × 1024 SVD: 5.9 s beside a training run, 0.08 s on one thread)
        with run_lock(run_dir), threadpool_limits(limits=threads or None, user_api="blas"):
            changed = code_changed()
            if changed:  # marked failed before any work: a rerun of the sweep starts it in a fresh process
                reason = (f"not starting {run_dir.name}: factordiff's code changed on disk since this worker "
                          f"started ({', '.join(changed[:5])}{' …' if len(changed) > 5 else ''}); rerun the sweep, "
                          "whose new workers import the new code (its finished runs keep the commit they ran)")
                write_status(run_dir, "failed", reason=f"CodeChanged: {reason}")
                raise CodeChanged(reason)
            write_status(run_dir, "running", stage="training")
            try:
                cfg = from_dict(RunConfig, cfg_dict)
                # the trainer's log lines (progress every 10 %, snapshots) keep status.json current
                def log(m):
                    write_status(run_dir, "running", stage="training", last=str(m)[:300])
                    if echo:
                        print(f"{run_dir.name}: {m}", flush=True)

                summary = train(cfg, run_dir, progress=False, log=log, **({"stop_on": stop_on} if stop_on else {}),
                                **({"threads_now": lambda: cores_now(run_dir, threads)} if threads else {}))
                if analyze is not None:
                    write_status(run_dir, "running", stage="analysing", step=summary["step"])
                    n = cores_now(run_dir, threads)  # a partner that ended hands its core on to this analysis
                    with raise_on_signals(stop_on or STOP_SIGNALS):  # stops within one library call
                        analyze_run(run_dir, **({"threads": n} if n else {}) | analyze)
            except (Preempted, KeyboardInterrupt) as e:  # a checkpoint is on disk: the next launch resumes it
                write_status(run_dir, "interrupted", reason=f"{type(e).__name__}: {e}")
                STOPPED.append(f"{type(e).__name__}: {e}")
                raise
            except BaseException as e:  # noqa: BLE001 - recorded, then re-raised
                write_status(run_dir, "failed", reason=f"{type(e).__name__}: {e}",
                              traceback=traceback.format_exc()[-2000:])
                raise
            write_status(run_dir, "done", step=summary["step"],
                         **({"stopped": summary["stopped"]} if summary.get("stopped") is not None else {}))
    except RunLocked:
        return {"run_dir": str(run_dir), "step": None, "busy": True}
    return {"run_dir": str(run_dir), "step": summary["step"]}


# ---- launchers ---------------------------------------------------------------------------------------------


# ---- what the local pools share (sweep.py, ensemble_sweep.py) -------------------------------------------------

@contextlib.contextmanager
def _stop_workers_on_signal(pool):
    """SIGTERM / SIGINT to the sweep: cancel the runs not started, pass SIGTERM on to the workers (each
    checkpoints its run, marks it interrupted and starts nothing else), then raise Preempted. Without this a
    SIGTERM to the sweep process alone would leave its workers training orphaned."""
    import multiprocessing as mp
    import threading

    got: list[int] = []

    def stopped(signum) -> Preempted:
        return Preempted(f"sweep stopped by signal {signum}; rerun it to resume", signum=signum, stage="sweep")

    def stop(signum, _frame):
        got.append(signum)
        raise stopped(signum)

    main = threading.current_thread() is threading.main_thread()
    old = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)} if main else {}
    try:
        yield
        if got:  # the handler's exception was swallowed on the way (see errors.raise_on_signals): stop now
            raise stopped(got[0])
    except (Preempted, KeyboardInterrupt):
        for s in old:
            signal.signal(s, signal.SIG_IGN)  # the workers' own signals must not interrupt the cleanup
        pool.shutdown(wait=False, cancel_futures=True)
        for p in mp.active_children():
            p.terminate()
        pool.shutdown(wait=True)
        raise
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _call_on_done(on_done, name: str, run_dir: Path, log) -> None:
    try:
        on_done(name, Path(run_dir))
    except Preempted:  # a stop signal to the sweep while the hook ran is the sweep's stop, not the hook's failure
        raise
    except Exception as e:  # noqa: BLE001 - a hook's failure is reported; the sweep goes on
        log(f"{name}: could not complete what follows a finished run ({type(e).__name__}: {e})")
