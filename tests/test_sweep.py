import json
import os
import socket
from pathlib import Path

import pytest

from conftest import TINY
from factordiff.cli import main
from factordiff.config import ConfigError, parse_overrides
from factordiff.errors import FactordiffError
from factordiff.sweep import complete_in, expand, launch, parse_spec, run_status, sweep_status
from factordiff.table import aggregate, read_results

BASE = parse_overrides([*TINY, "train.steps=4", "train.snapshot_every=2", "train.eval_samples=8"])


def spec(**kw):
    obj = {"name": "t", "overrides": BASE, "grid": {"data.sigma": [0.75, 1.0]}, "seeds": [0, 1],
           "analyze": {"grid": 0, "topology": "none", "methods": ["pca"]}}
    return parse_spec({**obj, **kw})


def quiet(*_):
    pass


def test_expand_names_and_validates_every_config_up_front(tmp_path):
    runs = expand(spec())
    assert [r[0] for r in runs] == ["sigma=0.75_seed=0", "sigma=0.75_seed=1", "sigma=1_seed=0", "sigma=1_seed=1"]
    assert runs[1][1].seed == 1 and runs[2][1].data.sigma == 1.0
    with pytest.raises(ConfigError, match="sigmma"):
        launch(spec(grid={"data.sigmma": [1.0]}), tmp_path / "bad", log=quiet)
    with pytest.raises(ConfigError, match="non-empty list"):
        spec(grid={"data.sigma": []})
    with pytest.raises(ConfigError, match="data.image_size"):
        launch(spec(grid={"data.image_size": [16, 30]}), tmp_path / "bad", log=quiet)
    with pytest.raises(ConfigError, match="name"):
        spec(name="../escape")
    with pytest.raises(ConfigError, match="seeds"):
        spec(seeds=[])
    assert not (tmp_path / "bad").exists()  # nothing launched, nothing written


def test_local_sweep_completes_then_skips_finished_runs(tmp_path, monkeypatch):
    import factordiff.sweep

    out = tmp_path / "sw"
    monkeypatch.setattr(factordiff.sweep, "HEARTBEAT_S", 0.3)  # 60 s by default
    lines = []
    first = launch(spec(seeds=[0]), out, jobs=2, log=lines.append)  # 2 of the 4 runs
    beats = [x for x in lines if " runs done, " in x]
    assert beats and any("running: sigma=" in x for x in beats), lines  # progress between finished runs
    assert first.pop("plan")["runs"][0]["steps"] == 4  # the estimate every local launch makes (test_plan.py)
    assert first == {"runs": 2, "ran": 2, "failed": 0, "skipped": 0}
    done_ckpt = out / "runs" / "sigma=1_seed=0" / "checkpoints"
    before = {p: p.stat().st_mtime_ns for p in done_ckpt.rglob("*")}
    second = launch(spec(), out, jobs=2, log=quiet)  # the full spec: only the missing seed-1 runs run
    assert {k: v for k, v in second.items() if k != "plan"} == {"runs": 4, "ran": 2, "failed": 0, "skipped": 2}
    assert {p: p.stat().st_mtime_ns for p in done_ckpt.rglob("*")} == before
    assert all(r["state"] == "done" for r in sweep_status(spec(), out))
    # another experiment may read these runs instead of training its own (p2-orthogonality from p2-torus's)
    assert complete_in(spec(), out) and complete_in(spec(seeds=[1], grid={"data.sigma": [1.0]}), out)
    assert not complete_in(spec(grid={"data.sigma": [0.5]}), out)  # a run that is not there
    assert not complete_in(spec(overrides={**BASE, "train.steps": 6}), out)  # there, but for other steps
    assert not complete_in(spec(overrides={**BASE, "data.increment": 0.5}), out)  # there, with another config
    assert not complete_in(spec(), tmp_path / "nothing")
    table = aggregate(out)
    rows = read_results(table["path"])
    assert len(rows) == 4 * 3  # 4 runs × snapshots at steps 0, 2, 4
    assert {r["data.sigma"] for r in rows} == {0.75, 1.0} and {r["seed"] for r in rows} == {0, 1}
    assert all(r["r2_pca"] is not None and r["phase"] in ("A", "B", "C") for r in rows)
    assert main(["report", str(out)]) == 0
    page = (out / "report.html").read_text()
    assert "sigma=0.75_seed=1" in page and (out / "figures" / "heatmaps.png").exists()


def test_sweep_status_reads_a_sweep_or_experiment_folder(tmp_path, capsys):
    """`sweep status DIR` takes the folder's own sweep.json (a `reproduce` output folder has one); a running
    or interrupted run shows the step of its newest checkpoint."""
    out = tmp_path / "sw"
    launch(spec(seeds=[0]), out, jobs=1, log=quiet)
    (out / "runs" / "sigma=1_seed=0" / "status.json").write_text('{"state": "interrupted", "reason": "test"}')
    capsys.readouterr()
    assert main(["sweep", "status", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "done         sigma=0.75_seed=0  step 4" in printed and "interrupted  sigma=1_seed=0" in printed
    assert "2 runs: 1 done, 1 interrupted" in printed
    grown = parse_spec({**json.loads((out / "sweep.json").read_text()), "overrides": {**BASE, "train.steps": 6}})
    rows = {r["run"]: r for r in sweep_status(grown, out)}  # train.steps grew: the done run is behind again
    assert rows["sigma=0.75_seed=0"]["state"] == "pending" and "done at step 4" in rows["sigma=0.75_seed=0"]["reason"]


def test_interrupted_run_resumes_and_failures_are_reported(tmp_path, capsys):
    out = tmp_path / "sw"
    s = spec(grid={"data.sigma": [1.0]}, seeds=[0])
    run_dir = out / "runs" / "sigma=1_seed=0"
    run_dir.mkdir(parents=True)
    (run_dir / "status.json").write_text(json.dumps({"state": "running", "host": socket.gethostname(),
                                                     "pid": os.getpid()}))
    assert run_status(run_dir)["state"] == "interrupted"  # nobody holds its lock
    assert launch(s, out, log=quiet)["ran"] == 1 and run_status(run_dir)["state"] == "done"
    # a run that fails records why, and the sweep reports it without stopping the others
    bad = spec(grid={"data.sigma": [0.75, 1.0]}, seeds=[0])
    broken = tmp_path / "bad" / "runs" / "sigma=1_seed=0"
    broken.mkdir(parents=True)
    (broken / "snapshots").write_text("a file where the snapshot folder should be")
    summary = launch(bad, tmp_path / "bad", jobs=1, log=quiet)
    assert summary["failed"] == 1 and summary["ran"] == 2
    rows = {r["run"]: r for r in sweep_status(bad, tmp_path / "bad")}
    assert rows["sigma=0.75_seed=0"]["state"] == "done"
    assert rows["sigma=1_seed=0"]["state"] == "failed" and "snapshots" in rows["sigma=1_seed=0"]["reason"]


def test_cli_sweep_status_and_slurm_code_path_via_submitit_local(tmp_path, capsys):
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(json.dumps({"name": "cli", "overrides": BASE, "grid": {"data.sigma": [1.0]},
                                     "seeds": [0, 1], "analyze": False}))
    out = tmp_path / "sw"
    assert main(["sweep", str(spec_file), "--out", str(out), "--launcher", "slurm", "--slurm", "cluster=local",
                 "timeout_min=10"]) == 0
    assert "2 runs ran, 0 failed" in capsys.readouterr().out
    assert not list(out.rglob("%j")), "a literal %j folder"
    logs = sorted((out / "slurm").glob("*_log.out"))
    assert len(logs) == 2 and all("_seed=" in p.read_text() and ": step 0: acc" in p.read_text() for p in logs)
    assert main(["sweep", "status", str(spec_file), "--out", str(out)]) == 0
    assert "2 done" in capsys.readouterr().out
    assert main(["sweep", "aggregate", str(spec_file), "--out", str(out)]) == 0
    assert (out / "results.csv").exists()


def test_preempted_worker_marks_its_run_interrupted_not_failed(tmp_path, monkeypatch):
    import factordiff.train
    from factordiff.config import to_dict
    from factordiff.errors import Preempted
    from factordiff.sweep import run_one

    def preempted(*_a, **_k):
        raise Preempted("SIGTERM at step 3; checkpoint written")

    import factordiff.worker as W

    monkeypatch.setattr(W, "STOPPED", [])  # the worker's 'stopped' mark ends with the test
    monkeypatch.setattr(factordiff.train, "train", preempted)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with pytest.raises(Preempted):
        run_one(to_dict(expand(spec())[0][1]), str(run_dir))
    st = run_status(run_dir)
    assert st["state"] == "interrupted" and "SIGTERM at step 3" in st["reason"]


def test_a_worker_starts_no_run_once_the_code_changed_on_disk(tmp_path, monkeypatch):
    """A long-lived pool worker holds the modules it imported; with the package's code changed on disk since, its
    next run would import the rest from the new code. It marks the run failed, naming the file, and trains nothing."""
    import factordiff.train
    import factordiff.worker as W
    from factordiff.config import to_dict
    from factordiff.errors import CodeChanged
    from factordiff.sweep import run_one

    assert W.code_changed() == []  # nothing changed since this process imported it
    trained = []
    monkeypatch.setattr(W, "STOPPED", [])
    monkeypatch.setattr(factordiff.train, "train", lambda *a, **k: trained.append(1))
    monkeypatch.setitem(W.SOURCES, "unet.py", W.SOURCES["unet.py"] - 1)  # as if unet.py was saved since
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with pytest.raises(CodeChanged, match="unet.py"):
        run_one(to_dict(expand(spec())[0][1]), str(run_dir))
    st = run_status(run_dir)
    assert st["state"] == "failed" and "unet.py" in st["reason"] and "rerun" in st["reason"] and not trained


def test_slurm_launcher_refuses_to_run_locally_without_slurm(tmp_path, monkeypatch, capsys):
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)  # no sbatch on PATH
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(json.dumps({"name": "s", "overrides": BASE, "seeds": [0], "analyze": False}))
    assert main(["sweep", str(spec_file), "--out", str(tmp_path / "sw"), "--launcher", "slurm"]) == 2
    err = capsys.readouterr().err
    assert "no Slurm here (sbatch is not on PATH)" in err and "--launcher local" in err
    assert not (tmp_path / "sw").exists()  # refused before anything was written


def test_status_json_follows_the_running_run(tmp_path, monkeypatch):
    """While a worker trains, status.json holds the trainer's latest log line (the step); while it analyses,
    the stage and the step trained to."""
    import factordiff.analyze
    import factordiff.train
    import factordiff.worker
    from factordiff.config import to_dict
    from factordiff.sweep import run_one

    seen = {}

    def fake_train(cfg, run_dir, *, progress=None, log=print):
        log("step 600/2000 (30 %), loss 0.041, ≈ 2 min left")
        seen["training"] = run_status(Path(run_dir))
        return {"step": 2000}

    def fake_analyze(run_dir, **_k):
        seen["analysing"] = run_status(Path(run_dir))

    monkeypatch.setattr(factordiff.train, "train", fake_train)
    monkeypatch.setattr(factordiff.analyze, "analyze_run", fake_analyze)
    monkeypatch.setattr(factordiff.worker, "STOPPED", [])  # a worker stopped by an earlier test starts nothing
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    run_one(to_dict(expand(spec())[0][1]), str(run_dir), analyze={})
    assert seen["training"]["stage"] == "training" and "step 600/2000" in seen["training"]["last"]
    assert seen["analysing"]["stage"] == "analysing" and seen["analysing"]["step"] == 2000
    assert run_status(run_dir)["state"] == "done"


def test_raising_train_steps_extends_finished_runs_bit_exactly(tmp_path):
    from factordiff.checkpoint import latest_valid

    short, long = (spec(grid={"data.sigma": [1.0]}, seeds=[0], overrides={**BASE, "train.steps": n})
                   for n in (4, 6))
    assert launch(short, tmp_path / "ext", log=quiet)["ran"] == 1
    out = launch(long, tmp_path / "ext", log=quiet)
    assert out["plan"]["runs"][0]["start"] == 4  # resumed: the estimate starts from the checkpoint
    assert {k: v for k, v in out.items() if k != "plan"} == {"runs": 1, "ran": 1, "failed": 0, "skipped": 0}
    assert launch(long, tmp_path / "fresh", log=quiet)["ran"] == 1
    run = "runs/sigma=1_seed=0"
    assert run_status(tmp_path / "ext" / run)["step"] == 6
    a, b = (latest_valid(tmp_path / d / run / "checkpoints")["model"] for d in ("ext", "fresh"))
    assert all((a[k] == b[k]).all() for k in a)  # 4 + 2 steps == 6 steps
    assert launch(long, tmp_path / "ext", log=quiet)["ran"] == 0
    with pytest.raises(ConfigError, match="train.steps.*never shortens"):
        launch(short, tmp_path / "ext", log=quiet)
    with pytest.raises(FactordiffError, match=r"different config \(data.increment"):
        launch(spec(grid={"data.sigma": [1.0]}, seeds=[0], overrides={**BASE, "train.steps": 6,
                                                                       "data.increment": 1.0}), tmp_path / "ext",
               log=quiet)


def test_sweep_status_reads_a_folder_whose_spec_turns_analysis_off(tmp_path, capsys):
    """A spec with `analyze: false` (p2-regions, p2-rim) is written back as false, and `sweep status` reads it;
    folders written before the fix say null there, which reads as off too (it failed with 'must be false or a
    mapping … (got None)')."""
    from factordiff.sweep import _prepare

    out = tmp_path / "sw"
    _prepare(spec(seeds=[0], analyze=False), out)
    written = json.loads((out / "sweep.json").read_text())
    assert written["analyze"] is False
    for stored in (False, None):
        (out / "sweep.json").write_text(json.dumps({**written, "analyze": stored}))
        capsys.readouterr()
        assert main(["sweep", "status", str(out)]) == 0
        assert "2 runs: 2 pending" in capsys.readouterr().out


def test_a_stop_to_the_sweep_during_a_finished_run_s_hook_stops_the_sweep():
    """The sweep's stop handler raises Preempted wherever the parent is: inside a finished run's hook (storing its
    record), whose errors are reported and the sweep goes on, it was reported as the hook's failure and the sweep
    ran on. Now it stops the sweep, its workers shut down; a hook's real error is still only reported."""
    import signal
    import time

    from factordiff.errors import Preempted
    from factordiff.worker import _call_on_done, _stop_workers_on_signal

    class Pool:
        down = 0

        def shutdown(self, **_kw):
            self.down += 1

    def hook(_name, _dir):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)

    pool, said = Pool(), []
    with pytest.raises(Preempted) as stop:
        with _stop_workers_on_signal(pool):
            _call_on_done(hook, "r", Path("."), said.append)
    assert stop.value.stage == "sweep" and pool.down and not said

    def broken(_name, _dir):
        raise OSError("disk full")

    _call_on_done(broken, "r", Path("."), said.append)
    assert "disk full" in said[0]


def test_a_sweep_stop_swallowed_on_the_way_still_stops_the_sweep():
    import signal
    import time

    from factordiff.errors import Preempted
    from factordiff.worker import _stop_workers_on_signal

    class Pool:
        down = 0

        def shutdown(self, **_kw):
            self.down += 1

    pool = Pool()
    with pytest.raises(Preempted) as stop:
        with _stop_workers_on_signal(pool):
            try:  # where Python drops a handler's exception (an at-fork hook, a __del__)
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)
            except Preempted:
                pass
    assert stop.value.stage == "sweep" and pool.down
