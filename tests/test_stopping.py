"""The stopping rule (issue 45 item 3): a run may stop once it has learned, is recorded as stopped, counts as done
for a sweep, and is not trained again when rerun."""

import json
from types import SimpleNamespace

import pytest

from conftest import tiny
from factordiff import train as train_module
from factordiff.errors import ConfigError
from factordiff.train import stop_step


def _evals(*accs, every=100):
    return [{"step": i * every, "detectable": {"acc": a}} for i, a in enumerate(accs)]


RULE = SimpleNamespace(stop_when="learned", stop_level=0.9, stop_patience=3)


def test_stop_step_needs_patience_snapshots_in_a_row_after_step_0():
    assert stop_step(_evals(0.95, 0.95, 0.95, 0.5, 0.95, 0.91, 0.92), RULE) == 600  # step 0 never counts
    assert stop_step(_evals(0.1, 0.95, 0.95, 0.95), RULE) == 300
    assert stop_step(_evals(0.1, 0.95, 0.89, 0.95, 0.95), RULE) is None  # a dip restarts the count
    assert stop_step(_evals(0.1, 0.95, None, 0.95), RULE) is None  # a snapshot without the reading breaks it
    assert stop_step(_evals(0.1, 0.99, 0.99, 0.99), SimpleNamespace(stop_when="never")) is None


def test_stopping_config_is_checked():
    with pytest.raises(ConfigError, match="train.stop_when"):
        tiny(4, "train.stop_when=sometimes")
    with pytest.raises(ConfigError, match="train.stop_patience"):
        tiny(4, "train.stop_patience=0")


def test_a_stopped_run_is_done_and_not_trained_again(tmp_path, monkeypatch):
    """With the rule met at the second snapshot (step 2 of 8), training stops there, writes its checkpoint and a
    'stop' row; the sweep worker records it done and stopped; a rerun trains nothing more."""
    from factordiff.config import to_dict
    from factordiff.rundir import RunDir
    from factordiff.worker import run_one, run_status

    met = lambda evals, tc: 2 if any(r["step"] >= 2 for r in evals) else None  # noqa: E731
    monkeypatch.setattr(train_module, "stop_step", met)
    monkeypatch.setattr("factordiff.worker.STOPPED", [])  # a worker stopped by an earlier test in this process
    cfg = tiny(8, "train.snapshot_every=2", "train.eval_samples=8", "model.attention=[]", "train.stop_when=learned")
    out = run_one(to_dict(cfg), str(tmp_path / "r"))
    st = run_status(tmp_path / "r")
    assert out["step"] == 2 and st["state"] == "done" and st["step"] == 2 and st["stopped"] == 2, st
    run = RunDir(tmp_path / "r")
    assert [r["step"] for r in run.read_metrics("stop")] == [2]
    assert [s for s, _ in run.list_snapshots()] == [0, 2]
    lines = []
    again = train_module.train(cfg, tmp_path / "r", log=lines.append)
    assert again["step"] == 2 and again["stopped"] == 2 and any("nothing more to train" in x for x in lines)
    assert json.loads((tmp_path / "r" / "status.json").read_text())["stopped"] == 2
