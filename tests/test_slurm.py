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
