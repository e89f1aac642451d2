"""Plan before spending: the estimate of a run against the run itself, --dry-run runs nothing, a long CPU
plan is refused without --allow-slow."""

import pytest

from conftest import TINY, tiny
from factordiff import plan as plan_mod
from factordiff.bench import snapshots_of
from factordiff.cli import main
from factordiff.config import ConfigError, parse_overrides
from factordiff.rundir import RunDir
from factordiff.sweep import launch, parse_spec
from factordiff.train import train


def test_snapshot_count():
    assert snapshots_of(tiny(30, "train.snapshot_every=10")) == 4  # 0, 10, 20, 30
    assert snapshots_of(tiny(25, "train.snapshot_every=10")) == 4  # 0, 10, 20 and the last, 25
    assert snapshots_of(tiny(30, "train.snapshot_every=10"), start=10) == 3  # resumed: 10 is re-sampled if missing


def test_estimate_is_within_twice_the_measured_run(tmp_path):
    """The estimate (steps × s/step + snapshots × s/snapshot from a few-step benchmark) against the same
    config's real training loop, timed by the trainer itself (train rows' s/step, eval rows' seconds)."""
    cfg = tiny(60, "train.snapshot_every=20", "train.eval_samples=32", "train.log_every=10")
    est = plan_mod.plan([("r", cfg, tmp_path / "r")])
    train(cfg, tmp_path / "r", log=lambda m: None)
    rows = RunDir(tmp_path / "r").read_metrics()
    steps = [r for r in rows if r["kind"] == "train"]
    measured = sum(r["sec_per_step"] for r in steps) * 60 / len(steps) + sum(r["sec"] for r in rows
                                                                               if r["kind"] == "eval")
    assert est["runs"][0]["snapshots"] == 4 and est["runs"][0]["steps"] == 60
    trained = est["runs"][0]["train_s"] + est["runs"][0]["snapshot_s"]  # the start-up is not in the trainer's rows
    assert 0.5 < trained / measured < 2.0, (est["runs"][0], measured)


def test_dry_run_runs_nothing_and_a_long_cpu_plan_is_refused(tmp_path, monkeypatch, capsys):
    spec = parse_spec({"name": "t", "overrides": parse_overrides([*TINY, "train.steps=4", "train.snapshot_every=2",
                                                                  "train.eval_samples=8"]),
                       "grid": {"data.sigma": [0.75, 1.0]}, "seeds": [0], "analyze": False})
    lines = []
    out = launch(spec, tmp_path / "s", dry_run=True, log=lines.append)
    assert out["dry_run"] and out["ran"] == 0 and len(out["plan"]["runs"]) == 2
    assert any("estimate on" in line for line in lines) and any("sigma=0.75_seed=0: steps 0→4" in x for x in lines)
    quick = next(i for i, x in enumerate(lines) if x.startswith("quick estimate"))  # a number before the full plan
    assert quick < next(i for i, x in enumerate(lines) if "estimate on" in x) and "8 steps" in lines[quick]
    assert not (tmp_path / "s").exists()  # a dry run writes nothing, not even sweep.json (issue 46)
    monkeypatch.setattr(plan_mod, "SLOW_HOURS", 1e-9)
    with pytest.raises(ConfigError, match="--allow-slow"):
        launch(spec, tmp_path / "s", log=lines.append)
    assert not any((tmp_path / "s" / "runs").glob("*/checkpoints"))
    assert main(["train", "--run-dir", str(tmp_path / "t"), *TINY, "train.steps=4"]) == 2  # refused, exit 2
    assert "--allow-slow" in capsys.readouterr().err and not (tmp_path / "t").exists()
    assert main(["train", "--run-dir", str(tmp_path / "t"), *TINY, "train.steps=4", "--dry-run"]) == 0
    assert "steps 0→4" in capsys.readouterr().out and not (tmp_path / "t").exists()
    out = launch(spec, tmp_path / "s", allow_slow=True, log=lines.append)
    assert out["ran"] == 2 and out["failed"] == 0


def test_a_parallel_cpu_plan_is_timed_at_each_workers_threads(tmp_path):
    """The local pool gives each of `jobs` workers cores // jobs threads; the plan benchmarks at that count
    (two 1-thread runs side by side are not twice as fast as one 2-thread run) and restores the caller's."""
    import os

    import torch

    before = torch.get_num_threads()
    est = plan_mod.plan([("a", tiny(4), tmp_path / "a"), ("b", tiny(4), tmp_path / "b")], jobs=2)
    assert est["threads"] == max(1, (os.cpu_count() or 1) // 2) and torch.get_num_threads() == before
    assert est["jobs"] == 2 and est["wall_s"] == pytest.approx(est["total_s"] / 2)
    assert f"{est['threads']} threads (per run)" in plan_mod.describe(est)[-1]


def test_runs_sharing_one_gpu_are_not_planned_as_parallel(tmp_path, monkeypatch):
    """16 workers on one GPU do not train 16× as fast (an H200: 8 paper-scale runs together ≈ 1.9× one), so a
    CUDA plan divides the serial time by the GPUs, not by the workers."""
    import factordiff.bench as bench

    fake = {"steps": 4, "snapshots": 1, "sec_per_step": 1.0, "sec_per_snapshot": 1.0, "total_s": 5.0,
            "device": "cuda", "device_name": "a GPU"}
    monkeypatch.setattr(bench, "estimate_run", lambda cfg, **kw: dict(fake))
    monkeypatch.setattr(plan_mod, "startup_seconds", lambda: 0.0)
    est = plan_mod.plan([(n, tiny(4), tmp_path / n) for n in "abcd"], jobs=4, device="cpu")
    assert est["total_s"] == 20 and est["parallel"] == 1 and est["wall_s"] == 20
    assert "counted as one at a time" in plan_mod.describe(est)[-1]
    fake["device"] = "cpu"
    est = plan_mod.plan([(n, tiny(4), tmp_path / n) for n in "abcd"], jobs=4, device="cpu")
    assert est["parallel"] == 4 and est["wall_s"] == 5
    assert not any("stopping rule" in line for line in plan_mod.describe(est))
    todo = [("a", tiny(4, "train.stop_when=learned"), tmp_path / "a"), ("b", tiny(4), tmp_path / "b")]
    stopping = plan_mod.plan(todo, jobs=2, device="cpu")  # counted to its full steps, and said to be an upper bound
    assert stopping["total_s"] == 10 and "at most: 1 of 2 runs carry a stopping rule" in plan_mod.describe(stopping)[-1]


def test_the_plan_counts_analysis_and_start_up(tmp_path):
    """A sweep that analyses its runs plans the analysis of every snapshot (timed on the benchmark's own
    snapshot, as `analyze_run` will do it) and each run's start-up; one that does not, plans none."""
    cfg = tiny(20, "train.snapshot_every=10", "train.eval_samples=32")
    bare = plan_mod.plan([("r", cfg, tmp_path / "r")])
    analysed = plan_mod.plan([("r", cfg, tmp_path / "r")], analyze={"grid": 0, "topology": "none"})
    assert bare["analysis_s"] == 0 and analysed["analysis_s"] > 0 and analysed["startup_s"] > 0
    run = analysed["runs"][0]
    assert run["analysis_s"] == pytest.approx(3 * run["sec_analysis_per_snapshot"])  # 0, 10, 20
    assert run["sec_probe"] == 0  # no grid probe, no topology
    assert run["total_s"] == pytest.approx(run["train_s"] + run["snapshot_s"] + run["analysis_s"] + run["startup_s"])
    assert "analysis" in plan_mod.describe(analysed)[-1] and "start-up" in plan_mod.describe(analysed)[-1]


def test_the_plan_counts_the_grid_probe_and_topology_once_per_run(tmp_path):
    """A 6 × 6 grid probe samples 36 labels × 2 repeats with the trained and the untrained network: at least that
    many samples at the benchmark snapshot's rate; topology adds persistent homology on top; both once per run."""
    cfg = tiny(20, "train.snapshot_every=10", "train.eval_samples=32")
    probe = {"grid": 6, "grid_repeats": 2, "topology": "none"}
    sampled = plan_mod.plan([("r", cfg, tmp_path / "r")], analyze=probe)["runs"][0]
    per_sample = sampled["sec_per_snapshot"] / 32
    assert sampled["sec_probe"] == pytest.approx(2 * 36 * 2 * per_sample)
    assert sampled["analysis_s"] == pytest.approx(3 * sampled["sec_analysis_per_snapshot"] + sampled["sec_probe"])
    homology = plan_mod.plan([("r", cfg, tmp_path / "r")], analyze=probe | {"topology": "last"})["runs"][0]
    assert homology["sec_probe"] > 2 * 36 * 2 * homology["sec_per_snapshot"] / 32


def test_a_plan_far_over_the_limit_is_refused_by_the_training_floor_before_the_full_estimate(tmp_path, monkeypatch):
    """The floor (one small plain step, scaled to the batch and the steps, counted 2× faster) refuses a plan far
    over the limit without the full estimate (minutes at the paper scale on a CPU); a plan within FLOOR_MARGIN of
    the limit goes on to the full estimate, which decides."""
    import factordiff.tune as tune

    cfg = tiny(4000)
    todo = [("r", cfg, tmp_path / "r")]
    floor = plan_mod.training_floor(todo)  # the real network's step
    assert floor["steps"] == 4000 and floor["sec_per_step"] > 0
    assert floor["wall_s"] == pytest.approx(floor["sec_per_step"] * 4000 / plan_mod.FLOOR_SPEEDUP)
    timed = []

    def fake_timer(c, dev):  # 0.25 s per step on the batch it was given
        timed.append(c.train.batch_size)
        return lambda k: 0.25 * k

    with monkeypatch.context() as m:
        m.setattr(tune, "step_timer", fake_timer)
        two = plan_mod.training_floor(todo * 2, jobs=2)
    batch = cfg.train.batch_size
    assert timed == [min(batch, plan_mod.FLOOR_BATCH)]  # one network timed, on a small batch
    assert two["sec_per_step"] == pytest.approx(0.25 * batch / min(batch, plan_mod.FLOOR_BATCH))
    assert two["wall_s"] == pytest.approx(two["sec_per_step"] * 8000 / plan_mod.FLOOR_SPEEDUP / 2)

    spec = parse_spec({"name": "t", "overrides": parse_overrides([*TINY, "train.steps=4000"]), "seeds": [0],
                       "analyze": False})
    asked = []
    monkeypatch.setattr(plan_mod, "plan", lambda *a, **k: asked.append(1) or (_ for _ in ()).throw(AssertionError))
    monkeypatch.setattr(plan_mod, "SLOW_HOURS", floor["wall_s"] / 3600 / (plan_mod.FLOOR_MARGIN * 20))
    with pytest.raises(ConfigError, match="training alone would take"):
        launch(spec, tmp_path / "s", log=lambda m: None)
    assert not asked and not any((tmp_path / "s" / "runs").glob("*/checkpoints"))
    # within the margin: the floor lets it through to the full estimate (here a stand-in that refuses)
    monkeypatch.setattr(plan_mod, "SLOW_HOURS", floor["wall_s"] / 3600)
    with pytest.raises(AssertionError):
        launch(spec, tmp_path / "s", log=lambda m: None)
    assert asked
    plan_mod.check_floor({**floor, "wall_s": 1e12}, allow_slow=True)  # --allow-slow: never refused
