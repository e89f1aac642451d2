"""The Slurm launcher: a job array through submitit, one job per run (worker.run_one), with requeue on
preemption and at the time limit."""

from __future__ import annotations

from pathlib import Path

from .config import to_dict
from .errors import FactordiffError, Preempted
from .rundir import SweepDir
from .worker import run_one


class SlurmRun:
    """submitit job: train + analyse one run; on preemption or timeout submitit requeues it and the trainer
    resumes from its last checkpoint."""

    def __init__(self, analyze: dict | None):
        self.analyze = analyze

    def __call__(self, cfg_dict: dict, run_dir: str) -> dict:
        """In the job: train with SIGUSR2 (submitit's time-limit / preemption notice, `signal_delay_s` before
        the end) as a stop signal too, so the run checkpoints at a step boundary. Stopped by it, the job requeues
        itself (when the attempt made progress) and exits with no result, so the submitter keeps waiting for the
        requeued attempt; stopped by SIGTERM (`scontrol requeue`, preemption with requeue, or scancel), it
        exits with no result too: Slurm has requeued it or reports it cancelled."""
        import os
        import signal

        from .plan import resume_step

        start = resume_step(run_dir)
        # the job's CPUs, not the node's: without cgroup/affinity binding (task/none) torch would start a thread
        # per node core in every job, and jobs sharing a node then wait on each other's spinning threads (measured
        # on a 2-CPU node with 2 one-CPU jobs: 2.5-3.4 s/step in place of 0.04)
        threads = int(os.environ.get("SLURM_CPUS_PER_TASK", "0") or 0) or None
        try:
            return run_one(cfg_dict, run_dir, self.analyze, threads=threads, echo=True,
                           stop_on=(signal.SIGTERM, signal.SIGINT, signal.SIGUSR2))
        except Preempted as e:
            if e.signum == signal.SIGUSR2:
                if e.stage == "analysis" and resume_step(run_dir) <= start:
                    raise FactordiffError(f"{Path(run_dir).name}: the analysis did not finish within the job's "
                                          "time limit; give the jobs more time (--slurm timeout_min=…)") from e
                if resume_step(run_dir) <= start:
                    raise FactordiffError(f"{Path(run_dir).name}: no checkpoint past step {start} within the job's "
                                          "time limit; give the jobs more time (--slurm timeout_min=…)") from e
                _requeue_this_job()
            print(f"{Path(run_dir).name}: {e}; exiting for the requeued attempt", flush=True)
            raise SystemExit(0) from None  # not an Exception: submitit writes no result for this attempt

    def checkpoint(self, cfg_dict: dict, run_dir: str):
        import submitit

        return submitit.helpers.DelayedSubmission(self, cfg_dict, run_dir)


def _requeue_this_job() -> None:
    import subprocess

    import submitit

    jid = submitit.JobEnvironment().job_id  # array jobs: "<array id>_<task>"
    subprocess.check_call(["scontrol", "requeue", jid], timeout=60)
    print(f"requeued job {jid}", flush=True)


def launch_slurm(todo, spec, *, jobs, slurm, sweep_dir, log, busy: list | None = None) -> int:
    try:
        import submitit
    except ImportError:
        raise FactordiffError("--launcher slurm needs submitit (pip install submitit)") from None
    # cluster "slurm" unless asked otherwise (launch checked sbatch): never the AutoExecutor's local fallback
    # one folder, files named by job id (submitit's `%j` in a folder name leaves a literal `%j` directory)
    executor = submitit.AutoExecutor(folder=str(SweepDir(sweep_dir).slurm),
                                     cluster=slurm.pop("cluster", "slurm"))
    params = {"timeout_min": 240, "cpus_per_task": 2, "slurm_array_parallelism": jobs or len(todo), **slurm}
    executor.update_parameters(name=f"factordiff-{spec.name}", **params)
    runs = [(to_dict(cfg), str(run_dir)) for _name, cfg, run_dir in todo]
    handles = executor.map_array(SlurmRun(spec.analyze), [r[0] for r in runs], [r[1] for r in runs])
    log(f"submitted {len(handles)} jobs: {handles[0].job_id.split('_')[0]} (array)")
    failed = 0
    for (name, _cfg, _d), job in zip(todo, handles):
        try:
            job.result()
            log(f"{name}: done (job {job.job_id})")
        except Exception as e:  # noqa: BLE001
            failed += 1
            log(f"{name}: FAILED (job {job.job_id}): {str(e).strip().splitlines()[-1][:300]}")
    return failed
