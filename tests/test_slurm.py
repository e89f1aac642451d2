"""Slurm for real: a two-run sweep through `--launcher slurm` (submitit) on a running cluster.

Start a single-node cluster on this machine with `scripts/slurm-single-node.sh start` (Debian, root); `.ci/run`
does so and runs `pytest -m slurm`. Without a cluster this test is skipped."""

import json
import os
import shutil
import subprocess

import pytest

from conftest import TINY
from factordiff.cli import main
from factordiff.config import parse_overrides
from factordiff.sweep import load_spec, sweep_status
from factordiff.table import read_results


def cluster_up() -> bool:
    if shutil.which("sinfo") is None:
        return False
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return any(s.startswith(("idle", "mix", "alloc")) for s in out.split())


REQUIRED = os.environ.get("FACTORDIFF_REQUIRE_SLURM") == "1"  # .ci/run: a missing cluster is a failure


@pytest.mark.slurm
@pytest.mark.skipif(not REQUIRED and not cluster_up(), reason="no Slurm cluster (scripts/slurm-single-node.sh start)")
def test_two_run_sweep_through_real_slurm(tmp_path, capsys):
    assert cluster_up(), "FACTORDIFF_REQUIRE_SLURM=1 but sinfo shows no idle node"
    spec_file = tmp_path / "spec.yaml"
    base = parse_overrides([*TINY, "train.steps=4", "train.snapshot_every=2", "train.eval_samples=8"])
    spec_file.write_text(json.dumps({"name": "slurm", "overrides": base, "grid": {"data.sigma": [0.75, 1.0]},
                                     "seeds": [0], "analyze": {"grid": 0, "topology": "none", "methods": ["pca"]}}))
    out = tmp_path / "sw"
    assert main(["sweep", str(spec_file), "--out", str(out), "--launcher", "slurm", "--slurm", "timeout_min=10",
                 "cpus_per_task=1", "mem_gb=2"]) == 0
    printed = capsys.readouterr().out
    assert "2 runs ran, 0 failed" in printed
    assert all(r["state"] == "done" for r in sweep_status(load_spec(spec_file), out))
    rows = read_results(out / "results.csv")
    assert {r["run"] for r in rows} == {"sigma=0.75_seed=0", "sigma=1_seed=0"}
    logs = list((out / "slurm").rglob("*_log.out"))
    assert len(logs) == 2  # two Slurm jobs (one array) really ran


def _squeue() -> dict:
    """{array task: state} of the jobs in the queue ("123_0": "RUNNING")."""
    out = subprocess.run(["squeue", "-h", "-o", "%i %T"], capture_output=True, text=True, timeout=10).stdout
    return dict(line.split() for line in out.splitlines() if line.strip())


@pytest.mark.slurm
@pytest.mark.skipif(not REQUIRED and not cluster_up(), reason="no Slurm cluster (scripts/slurm-single-node.sh start)")
def test_requeued_and_timed_out_jobs_finish_bit_exact(tmp_path):
    """Two runs as one job array. Task 0 is requeued by `scontrol requeue` mid-training (Slurm sends SIGTERM: the
    run checkpoints and the job exits for its requeued attempt); task 1 gets SIGUSR2, the signal Slurm sends
    `signal_delay_s` before a job's time limit (what submitit's own `_interrupt(timeout=True)` sends): the run
    checkpoints and the job requeues itself. Both finish, and their weights equal a straight run's bit for bit."""
    import sys
    import time

    import torch

    from factordiff.checkpoint import list_checkpoints
    from factordiff.plan import resume_step
    from factordiff.sweep import SweepDir, expand
    from factordiff.train import train
    from test_train import assert_same_state, final_state

    assert cluster_up(), "FACTORDIFF_REQUIRE_SLURM=1 but sinfo shows no idle node"
    base = parse_overrides([*TINY, "train.steps=300", "train.snapshot_every=100", "train.checkpoint_every=20",
                            "train.eval_samples=8"])
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(json.dumps({"name": "requeue", "overrides": base, "grid": {"data.sigma": [0.75, 1.0]},
                                     "seeds": [0], "analyze": False}))
    out = tmp_path / "sw"
    sweep = subprocess.Popen([sys.executable, "-m", "factordiff", "sweep", str(spec_file), "--out", str(out),
                              "--launcher", "slurm", "--slurm", "timeout_min=10", "cpus_per_task=1", "mem_gb=2"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    runs_cfg = expand(load_spec(spec_file))
    names = [name for name, _cfg, _a in runs_cfg]  # array task i runs the i-th run
    runs = [SweepDir(out).run(n).path for n in names]
    sent, t0 = {}, time.time()
    while len(sent) < 2 and time.time() - t0 < 300:
        time.sleep(0.5)
        queue = _squeue()
        for i, run in enumerate(runs):
            task = next((t for t, st in queue.items() if t.endswith(f"_{i}") and st == "RUNNING"), None)
            if i in sent or task is None or not run.exists() or resume_step(run) < 40:
                continue
            if i == 0:
                subprocess.check_call(["scontrol", "requeue", task])
            else:
                subprocess.check_call(["scancel", "--signal=USR2", task])
            sent[i] = resume_step(run)
    assert len(sent) == 2, f"could not interrupt both runs mid-training (sent {sent})"
    try:
        printed, _ = sweep.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        sweep.kill()
        printed, _ = sweep.communicate()
        logs = "".join(p.read_text()[-1500:] for p in sorted((out / "slurm").glob("*_log.out")))
        pytest.fail(f"the sweep did not finish within 600 s of the interrupts; queue {_squeue()}\n{printed}\n{logs}")
    assert sweep.returncode == 0 and "2 runs ran, 0 failed" in printed, printed
    for i, run in enumerate(runs):
        assert sent[i] < 300 and resume_step(run) == 300
        logs = "".join(p.read_text() for p in (out / "slurm").glob(f"*_{i}_0_log.out"))  # array id_task_rank
        assert "exiting for the requeued attempt" in logs and f"{names[i]} at step" in logs, logs[-3000:]
    for (name, run_cfg, _), run in zip(runs_cfg, runs):
        straight = tmp_path / f"straight_{name}"
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # as the jobs (cpus_per_task=1): bit-exact holds at a fixed thread count
        try:
            train(run_cfg, straight, progress=False, log=lambda m: None)
        finally:
            torch.set_num_threads(threads)
        assert_same_state(final_state(straight), final_state(run))
        assert list_checkpoints(run / "checkpoints")

