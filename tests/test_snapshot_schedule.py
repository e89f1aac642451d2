"""Snapshots as cheap as their use (issue 45 item 4): `train.early_snapshot_every` thins the snapshots before the
last third of training, the window an experiment's `final` statistics read, and leaves that window as it was."""

import numpy as np
import pytest

from conftest import tiny
from factordiff.errors import ConfigError
from factordiff.experiments.base import final
from factordiff.rundir import RunDir
from factordiff.train import snapshot_due, snapshots_of, train


def _steps(cfg) -> list[int]:
    return [s for s in range(cfg.train.steps + 1) if snapshot_due(cfg.train, s)]


def test_the_schedule_is_sparse_before_the_last_third_and_dense_in_it():
    cfg = tiny(2000, "train.snapshot_every=100", "train.early_snapshot_every=500")
    assert _steps(cfg) == [0, 500, 1000] + list(range(1400, 2001, 100))
    assert snapshots_of(cfg) == 10 and snapshots_of(cfg, 1200) == 7
    uniform = tiny(2000, "train.snapshot_every=100")
    assert _steps(uniform) == list(range(0, 2001, 100)) and snapshots_of(uniform) == 21
    odd = tiny(2050, "train.snapshot_every=100", "train.early_snapshot_every=500")  # the last step always
    assert _steps(odd)[-2:] == [2000, 2050] and snapshots_of(odd) == len(_steps(odd))


def test_final_reads_the_same_window_whatever_came_before_it():
    rows = [{"step": s, "v": float(s)} for s in range(0, 2001, 100)]
    thinned = [r for r in rows if r["step"] % 500 == 0 or r["step"] > 1333]
    assert final(rows, "v") == final(thinned, "v") == np.mean(range(1400, 2001, 100))
    # evenly thinned to every 500, the window keeps its steps but holds two snapshots: 1,500 and 2,000
    assert final([r for r in rows if r["step"] % 500 == 0], "v") == 1750.0
    assert final(rows[:1], "v") == 0.0  # one snapshot: itself


def test_bad_schedules_are_refused_naming_the_field():
    with pytest.raises(ConfigError, match="train.early_snapshot_every.*multiple of train.snapshot_every"):
        tiny(20, "train.snapshot_every=4", "train.early_snapshot_every=6")
    with pytest.raises(ConfigError, match="train.early_snapshot_every.*stop_when=learned"):
        tiny(20, "train.snapshot_every=2", "train.early_snapshot_every=4", "train.stop_when=learned")


def test_a_thinned_run_trains_the_same_network_and_takes_the_same_last_snapshots(tmp_path):
    """Training draws its batches from (seed, step) alone, so skipping snapshots changes nothing it learns: the
    snapshots in the last third equal, array for array, those of the run that took every one."""
    common = ("train.snapshot_every=2", "train.eval_samples=8", "model.attention=[]", "train.checkpoint_every=4")
    train(tiny(12, *common), tmp_path / "all", log=lambda m: None)
    train(tiny(12, *common, "train.early_snapshot_every=4"), tmp_path / "thin", log=lambda m: None)
    every, thin = RunDir(tmp_path / "all"), RunDir(tmp_path / "thin")
    assert [s for s, _ in thin.list_snapshots()] == [0, 4, 8, 10, 12]
    assert [s for s, _ in every.list_snapshots()] == list(range(0, 13, 2))
    for step in (10, 12):
        a, b = np.load(every.snapshot(step)), np.load(thin.snapshot(step))
        for k in ("images", "act_layer4", "pred"):
            np.testing.assert_array_equal(a[k], b[k], err_msg=f"{k} at step {step}")
    evals = {r["step"]: r["acc"] for r in every.read_metrics("eval")}
    assert all(evals[r["step"]] == r["acc"] for r in thin.read_metrics("eval"))
