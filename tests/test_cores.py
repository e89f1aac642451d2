"""A worker takes the cores its partners free: when fewer runs are left than workers, the local pool writes each
running run's cores.json, and the run's trainer (at its next logged step) and its analysis use that many threads."""

import json
import os

import pytest
import torch

from conftest import TINY
from factordiff.config import parse_overrides, to_dict
from factordiff.rundir import RunDir
from factordiff.sweep import launch, parse_spec
from factordiff.train import train
from factordiff.worker import cores_now, run_one


def _threads_rows(run_dir):
    return [(r["step"], r["threads"]) for r in RunDir(run_dir).read_metrics("train")]


def test_a_worker_takes_the_threads_its_cores_file_grants_from_the_next_logged_step(tmp_path, monkeypatch):
    from conftest import tiny

    monkeypatch.setattr("factordiff.worker.STOPPED", [])
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    before = torch.get_num_threads()
    try:
        assert cores_now(run_dir, 1) == 1  # no file: the launch's share
        (run_dir / "cores.json").write_text("{not json")
        assert cores_now(run_dir, 1) == 1  # a damaged file changes nothing
        (run_dir / "cores.json").write_text(json.dumps({"threads": 0}))
        assert cores_now(run_dir, 1) == 1  # nor does a nonsensical one
        (run_dir / "cores.json").write_text(json.dumps({"threads": 2}))
        run_one(to_dict(tiny(10, "model.attention=[]")), str(run_dir), threads=1)
        rows = _threads_rows(run_dir)
        assert rows == [(5, 1), (10, 2)], rows  # 1 thread, then 2 from the first logged step on
    finally:
        torch.set_num_threads(before)


def test_train_without_a_threads_callable_keeps_its_threads(tmp_path):
    from conftest import tiny

    before = torch.get_num_threads()
    train(tiny(10, "model.attention=[]"), tmp_path / "r", log=lambda *_: None)
    assert {n for _, n in _threads_rows(tmp_path / "r")} == {before}


def test_freed_cores_go_only_to_this_pools_running_runs(tmp_path):
    """share_freed_cores grants cores // runs left to a run one of this process's workers is training; a run
    another process trains (a second sweep on the same folder) or one not started gets nothing."""
    import multiprocessing as mp
    import socket
    import time

    from factordiff.io import run_lock
    from factordiff.worker import share_freed_cores

    child = mp.get_context("fork").Process(target=time.sleep, args=(60,))
    child.start()
    try:
        dirs = [tmp_path / n for n in ("ours", "theirs", "pending")]
        for d, pid in zip(dirs, (child.pid, os.getpid(), None)):
            d.mkdir()
            if pid:
                (d / "status.json").write_text(json.dumps({"state": "running", "pid": pid,
                                                           "host": socket.gethostname()}))
        lines = []
        with run_lock(dirs[0]), run_lock(dirs[1]):
            share_freed_cores(dirs, 6, lines.append)
            share_freed_cores(dirs, 6, lines.append)  # the same share again: nothing rewritten, nothing said
        assert cores_now(dirs[0], 1) == 2 and len(lines) == 1 and "ours: 2 threads" in lines[0]
        assert not (dirs[1] / "cores.json").exists() and not (dirs[2] / "cores.json").exists()
    finally:
        child.terminate()
        child.join()


@pytest.mark.slow
def test_the_last_run_of_a_round_takes_the_core_its_partner_freed(tmp_path, monkeypatch):
    """Two runs on two workers of a 2-core machine, one 4 steps long, one 150: once the short one is done the
    long one trains on 2 threads (and an earlier launch's cores.json is not inherited)."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    base = parse_overrides([*TINY, "train.eval_samples=8", "model.attention=[]", "train.snapshot_every=50"])
    spec = parse_spec({"name": "c", "overrides": base, "grid": {"train.steps": [4, 150]}, "seeds": [0],
                       "analyze": None})
    out = tmp_path / "sw"
    stale = out / "runs" / "steps=150_seed=0"
    stale.mkdir(parents=True)
    (stale / "cores.json").write_text(json.dumps({"threads": 7}))  # a stale grant from another launch
    lines = []
    assert launch(spec, out, jobs=2, log=lines.append)["failed"] == 0
    rows = _threads_rows(stale)
    assert rows[0][1] == 1 and rows[-1][1] == 2, rows  # never 7; 1 beside its partner, 2 after
    assert any("steps=150_seed=0: 2 threads from its next logged step" in x for x in lines), lines
