import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from conftest import TINY, tiny
from factordiff.checkpoint import list_checkpoints, load_checkpoint
from factordiff.errors import CheckpointError, FactordiffError, NonFiniteError
from factordiff.io import read_jsonl
from factordiff.train import train


def final_state(run_dir):
    d = list_checkpoints(run_dir / "checkpoints")[-1]
    return {name: load_file(str(d / f"{name}.safetensors")) for name in ("model", "ema", "optimizer")}


def assert_same_state(a, b):
    for part in ("model", "ema", "optimizer"):
        assert a[part].keys() == b[part].keys()
        for k in a[part]:
            assert torch.equal(a[part][k], b[part][k]), (part, k)


def quiet(*_):
    pass


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    run = tmp_path_factory.mktemp("straight") / "run"
    train(tiny(30), run, log=quiet)
    return run


def test_run_directory_contents(straight):
    rows = read_jsonl(straight / "metrics.jsonl")
    evals = [r for r in rows if r["kind"] == "eval"]
    assert [r["step"] for r in evals] == [0, 10, 20, 30]
    losses = [r["loss"] for r in rows if r["kind"] == "train"]
    assert len(losses) == 6 and all(np.isfinite(losses))
    snap = np.load(straight / "snapshots" / "step_00000030.npz", allow_pickle=False)
    assert snap["images"].dtype == np.uint8 and snap["images"].shape == (8, 16, 16)
    assert snap["act_layer4"].dtype == np.float16 and snap["act_layer4"].shape == (8, 8 * 8 * 8)
    assert snap["labels"].shape == (8, 2) and snap["pred"].shape == (8, 2)
    assert len(list_checkpoints(straight / "checkpoints")) == 2  # retention keeps the last two
    assert "train:" in (straight / "config.yaml").read_text()


def test_loss_falls(tmp_path):
    run = tmp_path / "r"
    train(tiny(60, "train.lr=0.002", "train.snapshot_every=60"), run, log=quiet)
    losses = [r["loss"] for r in read_jsonl(run / "metrics.jsonl") if r["kind"] == "train"]
    assert np.mean(losses[-3:]) < 0.6 * losses[0]


def test_resume_is_bit_exact(straight, tmp_path):
    run = tmp_path / "r"
    train(tiny(20), run, log=quiet)  # stop at 20 ...
    train(tiny(30), run, log=quiet)  # ... and continue to 30 (train.steps may change on resume)
    assert_same_state(final_state(straight), final_state(run))
    a = [r for r in read_jsonl(straight / "metrics.jsonl")]
    b = [r for r in read_jsonl(run / "metrics.jsonl")]
    strip = lambda rows: [{k: v for k, v in r.items() if k not in ("sec", "sec_per_step")} for r in rows]  # noqa
    assert strip(a) == strip(b)  # the whole loss curve and every evaluation, no duplicated rows


@pytest.mark.faults
def test_kill_between_checkpoints_loses_nothing_before_it(straight, tmp_path):
    run = tmp_path / "r"
    train(tiny(30), run, log=quiet)
    # simulate kill -9 after step 20's checkpoint: drop everything newer, then rerun
    shutil.rmtree(run / "checkpoints" / "step_00000030")
    (run / "snapshots" / "step_00000030.npz").unlink()
    train(tiny(30), run, log=quiet)
    assert_same_state(final_state(straight), final_state(run))


@pytest.mark.faults
def test_sigterm_checkpoints_then_resume_is_exact(straight, tmp_path):
    run = tmp_path / "r"
    script = textwrap.dedent(f"""
        import os, signal, sys
        import torch
        torch.set_num_threads({torch.get_num_threads()})  # the parent's, for a bit-exact comparison
        from factordiff.config import RunConfig, apply_overrides
        from factordiff import train as T
        orig = T.EMA.update
        def update(self, model, step):
            orig(self, model, step)
            if step == 13:
                os.kill(os.getpid(), signal.SIGTERM)
        T.EMA.update = update
        try:
            T.train(apply_overrides(RunConfig(), {TINY + ['train.steps=30']!r}), {str(run)!r}, log=lambda m: None)
        except T.Preempted as e:
            print(e); sys.exit(e.exit_code)
    """)
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert res.returncode == 143, res.stderr
    assert "at step 13" in res.stdout
    assert load_checkpoint(list_checkpoints(run / "checkpoints")[-1])["manifest"]["step"] == 13
    train(tiny(30), run, log=quiet)
    assert_same_state(final_state(straight), final_state(run))


@pytest.mark.faults
@pytest.mark.parametrize("at_step, reverse_step", [(0, 2), (20, 3), (30, 4)])
def test_sigterm_during_a_snapshot_exits_within_seconds_and_resumes_exactly(straight, tmp_path, at_step,
                                                                            reverse_step):
    """The stop flag is read after every reverse step of a snapshot's sampler: the snapshot is abandoned (the
    resumed run takes it, with the same noise), a checkpoint of that step is written, and the process exits
    143 within 5 s of the signal; the resumed run ends bit-identical to a straight one, every snapshot
    included. A sleep in each reverse step stands for a paper-scale snapshot (hours of sampling)."""
    run = tmp_path / "r"
    script = textwrap.dedent(f"""
        import os, signal, sys, time
        import torch
        torch.set_num_threads({torch.get_num_threads()})
        from factordiff.config import RunConfig, apply_overrides
        from factordiff import diffusion, train as T
        orig, calls = diffusion.ddim_step, {{"n": 0, "snap": -1}}
        orig_snapshot = T.snapshot
        def snapshot(*a, **k):
            calls["snap"] += 1
            calls["n"] = 0
            return orig_snapshot(*a, **k)
        def step(*a, **k):
            calls["n"] += 1
            time.sleep(0.3)
            if calls["snap"] == {at_step // 10} and calls["n"] == {reverse_step}:
                print("signal", time.time(), flush=True)
                os.kill(os.getpid(), signal.SIGTERM)
            return orig(*a, **k)
        diffusion.ddim_step, T.snapshot = step, snapshot
        try:
            T.train(apply_overrides(RunConfig(), {TINY + ['train.steps=30']!r}), {str(run)!r}, log=lambda m: None)
        except T.Preempted as e:
            print(e); print("exit", time.time(), flush=True); sys.exit(e.exit_code)
    """)
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert res.returncode == 143, res.stderr
    times = dict(line.split()[:2] for line in res.stdout.splitlines() if line.split()[0] in ("signal", "exit"))
    assert float(times["exit"]) - float(times["signal"]) < 5.0
    assert not (run / "snapshots" / f"step_{at_step:08d}.npz").exists()  # abandoned, not half-written
    assert load_checkpoint(list_checkpoints(run / "checkpoints")[-1])["manifest"]["step"] == at_step
    train(tiny(30), run, log=quiet)
    assert_same_state(final_state(straight), final_state(run))
    for k in (0, 10, 20, 30):
        a, b = (np.load(r / "snapshots" / f"step_{k:08d}.npz") for r in (straight, run))
        assert all((a[f] == b[f]).all() for f in a.files), k


@pytest.mark.faults
@pytest.mark.parametrize("damage", ["truncate", "empty", "bitflip"])
def test_corrupt_checkpoint_is_named_and_previous_is_used(straight, tmp_path, damage, capsys):
    run = tmp_path / "r"
    shutil.copytree(straight, run)
    (run / ".lock").unlink()
    newest = list_checkpoints(run / "checkpoints")[-1] / "model.safetensors"
    data = bytearray(newest.read_bytes())
    if damage == "truncate":
        newest.write_bytes(bytes(data[: len(data) // 2]))
    elif damage == "empty":
        newest.write_bytes(b"")
    else:
        data[len(data) // 2] ^= 0x01
        newest.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=str(newest)):
        load_checkpoint(newest.parent)
    train(tiny(30), run, log=quiet)  # resumes from step 20 and redoes 20 → 30
    assert "trying the previous checkpoint" in capsys.readouterr().err
    assert_same_state(final_state(straight), final_state(run))


@pytest.mark.faults
def test_config_change_is_refused(straight, tmp_path):
    run = tmp_path / "r"
    shutil.copytree(straight, run)
    with pytest.raises(CheckpointError, match=r"different config \(model.base"):
        train(tiny(30, "model.base=12"), run, log=quiet)


@pytest.mark.faults
def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    run = tmp_path / "r"
    from factordiff import diffusion

    real = diffusion.loss
    calls = {"n": 0}

    def bad_loss(*a, **k):
        calls["n"] += 1
        out = real(*a, **k)
        return out * float("nan") if calls["n"] == 15 else out

    monkeypatch.setattr(diffusion, "loss", bad_loss)
    with pytest.raises(NonFiniteError, match="at step 15"):
        train(tiny(30), run, log=quiet)
    assert json.loads((list_checkpoints(run / "checkpoints")[-1] / "manifest.json").read_text())["step"] == 10
    load_checkpoint(list_checkpoints(run / "checkpoints")[-1])


@pytest.mark.faults
def test_second_process_on_same_run_is_refused(tmp_path):
    run = tmp_path / "r"
    run.mkdir()
    import fcntl

    with open(run / ".lock", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        f.write("pid 1 on elsewhere")
        f.flush()
        with pytest.raises(FactordiffError, match="locked by pid 1 on elsewhere"):
            train(tiny(10), run, log=quiet)


@pytest.mark.faults
def test_foreign_file_is_not_unpickled(tmp_path, straight):
    run = tmp_path / "r"
    shutil.copytree(straight, run)
    d = list_checkpoints(run / "checkpoints")[-1]
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    (d / "optimizer.safetensors").write_bytes(pickle.dumps(Evil()))
    with pytest.raises(CheckpointError):
        load_checkpoint(d, verify=False)
    assert not (tmp_path / "pwned").exists()


def test_progress_lines_without_a_terminal(tmp_path):
    """No tty (nohup, Slurm): a progress line every 10 % of the run with the time left, snapshots included."""
    lines = []
    train(tiny(40, "train.log_every=2"), tmp_path / "r", progress=False, log=lines.append)
    prog = [m for m in lines if "/40: loss" in m]
    assert [m.split("/")[0] for m in prog] == [f"step {s}" for s in range(4, 41, 4)], prog
    assert all("left (snapshots included)" in m for m in prog) and prog[-1].split("≈ ")[1].startswith("0 s")


def test_tensorboard_logger_writes_the_metrics_and_purges_them_on_resume(tmp_path, monkeypatch):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    import factordiff.loggers as loggers
    from factordiff.config import ConfigError

    run = tmp_path / "r"
    train(tiny(10, "train.logger=tensorboard", "train.checkpoint_every=5"), run, progress=False, log=lambda s: None)
    train(tiny(20, "train.logger=tensorboard", "train.checkpoint_every=5"), run, progress=False, log=lambda s: None)
    acc = EventAccumulator(str(run / "tensorboard"))
    acc.Reload()
    loss = acc.Scalars("train/loss")
    assert [e.step for e in loss] == [5, 10, 15, 20]  # one history across the resume
    rows = [r for r in read_jsonl(run / "metrics.jsonl") if r["kind"] == "train"]
    assert [e.value for e in loss] == pytest.approx([r["loss"] for r in rows], rel=1e-6)
    assert [e.step for e in acc.Scalars("eval/acc")] == [0, 10, 20]
    # not installed: refused before any work, naming the field and the fix
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    with pytest.raises(ConfigError, match="train.logger.*pip install"):
        loggers.check_logger(tiny(1, "train.logger=tensorboard"))
