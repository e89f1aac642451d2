"""Fault injection: kill -9 anywhere (also inside checkpoint writes), full disks, racing processes and sweeps,
fuzzed and malicious configs, path escapes, absurd requests. Run alone with `python -m pytest -m faults`.

Every kill test ends by resuming and comparing weights, EMA, optimizer state and the metrics curve with an
uninterrupted run, bit for bit (CPU, same machine: tier A of RELIABILITY.md §2.9).
"""

import contextlib
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file

from conftest import TINY
from factordiff.checkpoint import list_checkpoints, load_checkpoint
from factordiff.config import RunConfig, apply_overrides, load_config, save_config, to_dict
from factordiff.errors import ConfigError, StorageError
from factordiff.io import read_jsonl
from factordiff.train import train

pytestmark = pytest.mark.faults

STEPS = 30
CFG = [*TINY, f"train.steps={STEPS}", "train.checkpoint_every=5"]
OVERRIDES = {k: yaml.safe_load(v) for k, v in (o.split("=", 1) for o in CFG)}  # typed, as a spec holds them
KILL_LOG = Path(os.environ.get("FACTORDIFF_FAULT_LOG", "/dev/null"))


def cfg(*extra):
    return apply_overrides(RunConfig(), [*CFG, *extra])


def quiet(*_):
    pass


def final_state(run):
    d = list_checkpoints(run / "checkpoints")[-1]
    return {p: load_file(str(d / f"{p}.safetensors")) for p in ("model", "ema", "optimizer")}


def curve(run):
    return [{k: v for k, v in r.items() if k not in ("sec", "sec_per_step")} for r in read_jsonl(run / "metrics.jsonl")]


def assert_same_run(a, b):
    sa, sb = final_state(a), final_state(b)
    for part in sa:
        assert sa[part].keys() == sb[part].keys()
        for k in sa[part]:
            assert torch.equal(sa[part][k], sb[part][k]), (part, k)
    assert curve(a) == curve(b)


def assert_intact(run):
    """After any fault: nothing half-written under a final name. Every committed checkpoint verifies,
    every snapshot loads, every metrics line but a cut last one parses."""
    for d in list_checkpoints(run / "checkpoints"):
        load_checkpoint(d)
    for f in (run / "snapshots").glob("step_*.npz"):
        with np.load(f, allow_pickle=False) as z:
            assert z["images"].dtype == np.uint8
    if (run / "metrics.jsonl").exists():
        lines = (run / "metrics.jsonl").read_text().splitlines()
        for line in lines[:-1]:
            json.loads(line)
    if (run / "config.yaml").exists():
        load_config(run / "config.yaml")


def no_debris(run):
    return [p for p in run.rglob(".tmp-*")]


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    run = tmp_path_factory.mktemp("straight") / "run"
    train(cfg(), run, log=quiet, progress=False)
    return run


PRELUDE = """
import os, signal, sys, time
import torch
torch.set_num_threads({threads})  # the parent's: bit-exact comparisons need the same reduction order
from factordiff.config import RunConfig, apply_overrides
from factordiff import train as T
from factordiff.errors import FactordiffError
def die():
    os.kill(os.getpid(), signal.SIGKILL)
def go(run):
    try:
        T.train(apply_overrides(RunConfig(), {cfg!r}), run, log=lambda m: None, progress=False)
    except FactordiffError as e:
        print(e); sys.exit(e.exit_code)
"""


def script(body: str, run: Path) -> list[str]:
    prelude = PRELUDE.format(cfg=CFG, threads=torch.get_num_threads())
    return [sys.executable, "-c", prelude + textwrap.dedent(body) + f"\ngo({str(run)!r})\n"]


def record(kind: str, n: int, **extra) -> None:
    """Tally for the README's numbers (FACTORDIFF_FAULT_LOG=path python -m pytest -m faults)."""
    if str(KILL_LOG) != "/dev/null":
        with open(KILL_LOG, "a") as f:
            f.write(json.dumps({"kind": kind, "n": n, **extra}) + "\n")


# ---- kill -9 ---------------------------------------------------------------------------------------------

def test_kill9_at_random_steps_then_resume_is_bit_exact(straight, tmp_path):
    """SIGKILL at five random step boundaries in a row (each kill in a fresh process), then finish."""
    run = tmp_path / "run"
    steps = sorted(np.random.default_rng(2026).choice(np.arange(1, STEPS), size=5, replace=False).tolist())
    for k in steps:
        body = f"""
        orig = T.EMA.update
        def update(self, model, step):
            orig(self, model, step)
            if step == {k}:
                die()
        T.EMA.update = update
        """
        res = subprocess.run(script(body, run), capture_output=True, text=True)
        assert res.returncode == -signal.SIGKILL, res.stderr[-2000:]
        assert_intact(run)
    train(cfg(), run, log=quiet, progress=False)
    assert_same_run(straight, run)
    assert no_debris(run) == []
    record("kill9-step", len(steps))


def test_kill9_at_random_times_from_outside(straight, tmp_path):
    """A real asynchronous kill -9 from another process at random moments: it lands wherever the trainer is
    (a step, a snapshot, a checkpoint write, a metrics append). Repeat until a process finishes."""
    run = tmp_path / "run"
    rng = np.random.default_rng(7)
    kills = 0
    for _ in range(12):
        proc = subprocess.Popen(script("", run), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while not (run / "config.yaml").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 1.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate()
        if proc.returncode == 0:
            break
        assert proc.returncode == -signal.SIGKILL, err[-2000:]
        kills += 1
        assert_intact(run)
    else:
        train(cfg(), run, log=quiet, progress=False)
    assert kills >= 3, f"only {kills} kills landed; the timing window is too short on this machine"
    assert_same_run(straight, run)
    assert no_debris(run) == []
    record("kill9-async", kills)


# where to land a SIGKILL inside the step-20 checkpoint (and the snapshot / metrics written beside it)
KILL_POINTS = {
    "mid-file": """
        import safetensors.torch as S
        real = S.save_file
        def save_file(tensors, path, *a, **k):
            real(tensors, path, *a, **k)
            if "step_00000020" in path and "ema" in path:
                with open(path, "r+b") as f:
                    f.truncate(os.path.getsize(path) // 2)
                die()
        S.save_file = save_file
    """,
    "before-rename": """
        real = os.replace
        def replace(src, dst):
            if str(dst).endswith("step_00000020/optimizer.safetensors"):
                die()
            real(src, dst)
        os.replace = replace
    """,
    "before-manifest": """
        real = os.replace
        def replace(src, dst):
            if str(dst).endswith("step_00000020/manifest.json"):
                die()
            real(src, dst)
        os.replace = replace
    """,
    "during-prune": """
        import shutil as sh
        from factordiff import checkpoint as C
        real = sh.rmtree
        class Sh:
            def __getattr__(self, name):
                return getattr(sh, name)
            def rmtree(self, path, *a, **k):
                if str(path).endswith("step_00000010"):
                    for f in sorted(os.listdir(path))[:1]:
                        os.unlink(os.path.join(path, f))
                    die()
                real(path, *a, **k)
        C.shutil = Sh()
    """,
    "mid-snapshot": """
        import numpy as np
        real = np.savez_compressed
        def savez(f, **arrays):
            real(f, **arrays)
            if "step_00000020" in getattr(f, "name", ""):
                f.flush()
                f.truncate(f.tell() // 2)
                die()
        np.savez_compressed = savez
    """,
    "mid-metrics-line": """
        from factordiff import loggers as L  # the loop's MetricLog writes the rows
        real = L.append_jsonl
        def append(path, row):
            if row.get("step") == 20 and row.get("kind") == "train":
                with open(path, "a") as f:
                    f.write('{"kind": "train", "st')
                die()
            real(path, row)
        L.append_jsonl = append
    """,
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_kill9_inside_a_write_then_resume_is_bit_exact(straight, tmp_path, point):
    run = tmp_path / "run"
    res = subprocess.run(script(KILL_POINTS[point], run), capture_output=True, text=True)
    assert res.returncode == -signal.SIGKILL, res.stderr[-2000:]
    assert_intact(run)  # committed checkpoints still verify; half-written files have no final name
    newest = list_checkpoints(run / "checkpoints")[-1]
    assert load_checkpoint(newest)["manifest"]["step"] in (15, 20)
    train(cfg(), run, log=quiet, progress=False)
    assert_same_run(straight, run)
    assert no_debris(run) == []
    record("kill9-in-write", 1)


# ---- full disk ----------------------------------------------------------------------------------------------

def test_injected_enospc_during_checkpoint_is_clear_and_keeps_previous(straight, tmp_path, monkeypatch):
    import safetensors.torch as S

    run = tmp_path / "run"
    real = S.save_file

    def full(tensors, path, *a, **k):
        if "step_00000020" in path and "optimizer" in path:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(tensors, path, *a, **k)

    monkeypatch.setattr(S, "save_file", full)
    with pytest.raises(StorageError, match=r"could not write .*step_00000020/optimizer.safetensors: No space left"):
        train(cfg(), run, log=quiet, progress=False)
    assert_intact(run)
    assert [d.name for d in list_checkpoints(run / "checkpoints")] == ["step_00000010", "step_00000015"]
    assert not (run / "checkpoints" / "step_00000020").exists() and no_debris(run) == []
    monkeypatch.setattr(S, "save_file", real)
    train(cfg(), run, log=quiet, progress=False)  # space freed: resume from 15
    assert_same_run(straight, run)


def _mount_tmpfs(path: Path, size: int) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    path.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    return res.returncode == 0


def test_real_full_disk_on_a_small_tmpfs(straight, tmp_path):
    one = sum(f.stat().st_size for f in list_checkpoints(straight / "checkpoints")[-1].iterdir())
    disk = tmp_path / "small"
    if not _mount_tmpfs(disk, int(3.5 * one)):
        pytest.skip("needs root and mount(8) for a real tmpfs; the injected ENOSPC test covers the same path")
    try:
        run = disk / "run"
        with pytest.raises(StorageError, match="free|No space") as err:
            train(cfg(), run, log=quiet, progress=False)
        assert str(run) in str(err.value)
        assert_intact(run)
        assert list_checkpoints(run / "checkpoints"), "the first checkpoint should have fitted"
        assert no_debris(run) == []
    finally:
        subprocess.run(["umount", str(disk)], check=False)


# ---- concurrency -----------------------------------------------------------------------------------------

SLOW = """
orig = T.EMA.update
def update(self, model, step):
    orig(self, model, step)
    time.sleep(0.05)
T.EMA.update = update
"""


def test_two_processes_on_one_run_one_trains_the_other_refuses(straight, tmp_path):
    run = tmp_path / "run"
    procs = [subprocess.Popen(script(SLOW, run), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [(p.wait(), p.communicate()) for p in procs]
    codes = sorted(code for code, _ in outs)
    assert codes == [0, 2], outs
    loser = next(o for code, o in outs if code == 2)
    assert "is locked by pid" in loser[0]
    assert_intact(run)
    assert_same_run(straight, run)


@pytest.mark.slow
def test_one_sweep_launched_twice_at_once(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"name": "race", "overrides": OVERRIDES,
                                    "grid": {"data.sigma": [1.0, 1.5]}, "analyze": False}))
    out = tmp_path / "sw"
    cmd = [sys.executable, "-m", "factordiff", "sweep", str(spec), "--out", str(out), "--jobs", "1"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outs = [(p.wait(), p.communicate()[0]) for p in procs]
    # a sweep that left runs to the other process says so and writes no table (before: "2 runs ran, 0 failed"
    # and a partial results.csv written while the other was still training)
    assert all(code in (0, 2) for code, _ in outs), outs
    for code, text in outs:
        if code == 2:
            assert "being trained by another process" in text and "no results table written" in text, text
    assert subprocess.run(cmd, capture_output=True, text=True).returncode == 0  # all done: aggregates
    from factordiff.table import read_results

    assert {r["run"] for r in read_results(out / "results.csv")} == {"sigma=1_seed=0", "sigma=1.5_seed=0"}
    for name in ("sigma=1_seed=0", "sigma=1.5_seed=0"):
        d = out / "runs" / name
        assert json.loads((d / "status.json").read_text())["state"] == "done"
        steps = [(r["kind"], r["step"]) for r in read_jsonl(d / "metrics.jsonl")]
        assert len(steps) == len(set(steps)), "a row was written twice"
        assert_intact(d)
        assert load_checkpoint(list_checkpoints(d / "checkpoints")[-1])["manifest"]["step"] == STEPS


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]


@pytest.mark.slow
@pytest.mark.parametrize("whom", ["sweep process", "process group"])
def test_sigterm_to_a_sweep_stops_its_workers_and_starts_nothing_new(tmp_path, whom):
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"name": "stop", "overrides": {**OVERRIDES, "train.steps": 100},
                                    "grid": {"data.sigma": [1.0, 1.5]}, "analyze": False}))
    out = tmp_path / "sw"
    cmd = [sys.executable, "-m", "factordiff", "sweep", str(spec), "--out", str(out), "--jobs", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    first = out / "runs" / "sigma=1_seed=0"
    deadline = time.time() + 120
    while not list_checkpoints(first / "checkpoints") and time.time() < deadline:
        time.sleep(0.1)
    assert list_checkpoints(first / "checkpoints"), "the first run never wrote a checkpoint"
    worker = json.loads((first / "status.json").read_text())["pid"]
    os.kill(proc.pid, signal.SIGTERM) if whom == "sweep process" else os.killpg(proc.pid, signal.SIGTERM)
    code, text = proc.wait(timeout=120), proc.communicate()[0]
    assert code == 143, text
    time.sleep(0.5)
    assert not _alive(worker), "a worker outlived its sweep"
    st = json.loads((first / "status.json").read_text())
    assert st["state"] == "interrupted" and "signal 15" in st["reason"], st
    for name in ("sigma=1.5_seed=0",):  # the queued run never started
        assert not (out / "runs" / name / "metrics.jsonl").exists()
    at_stop = load_checkpoint(list_checkpoints(first / "checkpoints")[-1])["manifest"]["step"]
    assert 0 < at_stop < 100
    assert_intact(first)
    record("sweep_sigterm", 1, whom=whom, step=at_stop)
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    for name in ("sigma=1_seed=0", "sigma=1.5_seed=0"):
        d = out / "runs" / name
        assert json.loads((d / "status.json").read_text())["state"] == "done"
        steps = [(r["kind"], r["step"]) for r in read_jsonl(d / "metrics.jsonl")]
        assert len(steps) == len(set(steps)) and max(s for _, s in steps) == 100


@pytest.mark.slow
def test_sigterm_while_a_sweep_worker_analyses_stops_it_within_seconds(tmp_path):
    """The stop signal is honoured in the analysis stage too (not only between training steps and reverse
    steps): the worker marks the run interrupted and exits within 5 s; the rerun redoes the analysis."""
    spec = tmp_path / "spec.yaml"
    # 12 × 12 × 8 latents for the last snapshot's persistent homology: ≈ 11 s on a 2-core Xeon (8 × 8 × 4 took
    # ≈ 3 s there and ended before the signal on a faster CI machine), so the signal lands inside it
    analyze = {"grid": 12, "grid_repeats": 8, "topology": "last", "methods": ["pca"]}
    spec.write_text(yaml.safe_dump({"name": "stop", "overrides": {**OVERRIDES, "train.steps": 10},
                                    "grid": {"data.sigma": [1.0]}, "analyze": analyze}))
    out = tmp_path / "sw"
    cmd = [sys.executable, "-m", "factordiff", "sweep", str(spec), "--out", str(out), "--jobs", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    run = out / "runs" / "sigma=1_seed=0"
    deadline, st = time.time() + 180, {}
    while time.time() < deadline and proc.poll() is None:
        try:
            st = json.loads((run / "status.json").read_text())
        except (OSError, ValueError):
            st = {}
        if st.get("stage") == "analysing":
            break
        time.sleep(0.05)
    assert st.get("stage") == "analysing", f"never saw the analysis stage: {st}"
    time.sleep(0.5)  # inside the analysis (it takes several seconds here)
    worker, t0 = st["pid"], time.time()
    os.kill(proc.pid, signal.SIGTERM)
    while _alive(worker) and time.time() - t0 < 30:
        time.sleep(0.02)
    took = time.time() - t0
    code, text = proc.wait(timeout=60), proc.communicate()[0]
    assert took <= 5, f"the worker took {took:.1f} s to stop"
    assert code == 143, text
    st = json.loads((run / "status.json").read_text())
    assert st["state"] != "done", f"the analysis ended before the signal came (under 0.5 s): lengthen it; {st}"
    assert st["state"] == "interrupted" and "signal 15" in st["reason"], st
    assert not (run / "analysis.jsonl").exists(), "a stopped analysis left its table"
    assert not list(run.rglob("*.tmp*")), "a stopped analysis left a temporary file"
    record("sweep_sigterm_in_analysis", 1, seconds=round(took, 2))
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads((run / "status.json").read_text())["state"] == "done"
    rows = [r for r in read_jsonl(run / "analysis.jsonl") if r.get("kind") != "summary"]
    snaps = sorted(int(f.stem.split("_")[1]) for f in (run / "snapshots").glob("step_*.npz"))
    assert snaps and sorted(r["step"] for r in rows) == snaps, (rows, snaps)


# ---- inputs: fuzzed, malicious, escaping, absurd ------------------------------------------------------------

def _fields(obj, prefix=""):
    import dataclasses

    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            yield from _fields(value, f"{prefix}{f.name}.")
        else:
            yield f"{prefix}{f.name}"


FIELDS = sorted(_fields(RunConfig()))
VALUES = st.one_of(
    st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(),
    st.text(max_size=12), st.lists(st.integers(-5, 40), max_size=4), st.sampled_from(
        ["ddim", "ddpm", "cpu", "bumps", "box", "none", "bf16", "../x", "1e-3", "layer4"]))
FUZZ = {"tried": 0, "refused": 0, "accepted": 0}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(FIELDS), value=VALUES)
def test_fuzzed_config_values_raise_config_error_naming_the_field_or_round_trip(key, value, tmp_path_factory):
    FUZZ["tried"] += 1
    try:
        cfg_ = apply_overrides(RunConfig(), {key: value})
    except ConfigError as e:
        FUZZ["refused"] += 1
        assert e.field.split(".")[-1] in str(e) or key in str(e), (key, value, str(e))
        return
    FUZZ["accepted"] += 1
    path = tmp_path_factory.mktemp("rt") / "config.yaml"
    save_config(cfg_, path)
    assert to_dict(load_config(path)) == to_dict(cfg_)


def test_fuzz_tally():
    """Runs after the fuzz test (file order): every example was either refused by name or round-tripped."""
    if FUZZ["tried"]:
        assert FUZZ["refused"] + FUZZ["accepted"] == FUZZ["tried"]
        record("config-fuzz", FUZZ["tried"], refused=FUZZ["refused"], accepted=FUZZ["accepted"])


def test_invalid_config_on_the_cli_fails_before_anything_is_written(tmp_path):
    run = tmp_path / "run"
    res = subprocess.run([sys.executable, "-m", "factordiff", "train", "--run-dir", str(run), "data.sigma=-1"],
                         capture_output=True, text=True)
    assert res.returncode == 2
    assert "data.sigma" in res.stderr and "-1" in res.stderr
    assert not run.exists()


def test_malicious_yaml_is_refused_and_runs_nothing(tmp_path):
    pwned = tmp_path / "pwned"
    evil = f"!!python/object/apply:os.system ['touch {pwned}']\n"
    nested = f"data:\n  sigma: !!python/object/apply:os.system ['touch {pwned}']\n"
    for text in (evil, nested):
        (tmp_path / "c.yaml").write_text(text)
        with pytest.raises(ConfigError):
            load_config(tmp_path / "c.yaml")
    from factordiff.sweep import load_spec

    (tmp_path / "s.yaml").write_text("name: x\noverrides: " + evil)
    with pytest.raises(ConfigError):
        load_spec(tmp_path / "s.yaml")
    assert not pwned.exists()


def test_pickle_bearing_checkpoint_is_refused(straight, tmp_path):
    import pickle

    run = tmp_path / "run"
    shutil.copytree(straight, run)
    pwned = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {pwned}",))

    d = list_checkpoints(run / "checkpoints")[-1]
    for name in ("model.safetensors", "ema.safetensors"):
        (d / name).write_bytes(pickle.dumps(Evil()))
    (d / "manifest.json").write_text(json.dumps({**json.loads((d / "manifest.json").read_text())}))
    from factordiff.errors import CheckpointError

    with pytest.raises(CheckpointError, match=str(d / "model.safetensors")):
        load_checkpoint(d)
    with pytest.raises(CheckpointError):
        load_checkpoint(d, verify=False)
    assert not pwned.exists()


@pytest.mark.parametrize("name", ["../escape", "/etc/x", "a/b", "", ".hidden", "x" * 81, "nul\x00"])
def test_names_that_could_escape_the_output_folder_are_refused(name, tmp_path):
    from factordiff.sweep import parse_spec

    with pytest.raises(ConfigError, match="name"):
        parse_spec({"name": name})


def test_grid_values_cannot_escape_and_symlinked_runs_are_refused(tmp_path):
    from factordiff.sweep import expand, launch, parse_spec

    spec = parse_spec({"name": "esc", "overrides": OVERRIDES,
                       "grid": {"train.device": ["cpu"], "diffusion.sampler": ["ddim"]}})
    for name, _cfg, _a in expand(spec):
        assert "/" not in name and not name.startswith(".")
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "sw").mkdir()
    (tmp_path / "sw" / "runs").symlink_to(outside)
    with pytest.raises(ConfigError, match="outside"):
        launch(spec, tmp_path / "sw", log=quiet)
    assert list(outside.iterdir()) == []


def test_unknown_experiment_name_is_refused(tmp_path):
    from factordiff.experiments import reproduce

    with pytest.raises(ConfigError, match="EXPERIMENT"):
        reproduce("../../etc", out=tmp_path / "x")


def test_absurd_sample_request_is_refused_before_work(straight, monkeypatch):
    from factordiff import evaluate, io

    monkeypatch.setattr(io, "available_memory", lambda: 2**30)
    with pytest.raises(ConfigError, match=r"--n.*GiB"):
        evaluate.sample_run(straight, n=5_000_000)


def test_sampling_is_chunked_with_bounded_memory():
    from factordiff import diffusion
    from factordiff.config import DiffusionConfig
    from factordiff.unet import UNet

    c = cfg()
    net = UNet(c.model, c.data.image_size).eval()
    labels = torch.rand(7, 2) * 16
    dcfg = DiffusionConfig(**{**to_dict(c)["diffusion"]})
    seen = []
    whole = diffusion.sample(net, labels[:3], dcfg, seed=5, image_size=16)
    parts = diffusion.sample(net, labels, dcfg, seed=5, image_size=16, chunk=3,
                             callback=lambda i, t, x: seen.append(x.shape[0]))
    assert parts.shape == (7, 1, 16, 16)
    assert max(seen) == 3  # never more than one chunk in flight
    assert torch.equal(parts[:3], whole)  # chunk 0 is the plain pass with the same seed
    pix = diffusion.sample(net, labels, dcfg, seed=5, image_size=16, chunk=3, pixels=True)
    assert pix.dtype == torch.uint8 and torch.equal(pix, diffusion.to_pixels(parts))


# ---- kill -9 in the analysis side: analyze and reproduce -------------------------------------------------------

ANALYZE_ARGS = ["--methods", "pca", "--topology", "last", "--grid", "4", "--umap-seeds", "1"]


def _analysis(run: Path) -> list[dict]:
    """analysis.jsonl without wall-clock fields; every line must parse (the file is rewritten atomically)."""
    rows = [json.loads(line) for line in (run / "analysis.jsonl").read_text().splitlines()]
    return [json.dumps({k: v for k, v in r.items() if "sec" not in k and k != "date"}, sort_keys=True)
            for r in rows]  # as text: NaN == NaN


def _probes(run: Path) -> dict:
    out = {}
    for f in sorted((run / "probes").glob("*.npz")):
        with np.load(f, allow_pickle=False) as z:
            out[f.name] = {k: z[k].copy() for k in z.files}
    return out


def _kill_at_random(cmd: list[str], rng, lo: float, hi: float, cwd=None) -> int | None:
    """Start `cmd` in its own process group and SIGKILL the whole group after U(lo, hi) s; its return code
    (None when it finished first, i.e. the kill did not land)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                            start_new_session=True)
    try:
        proc.wait(timeout=rng.uniform(lo, hi))
        return None
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return proc.returncode


def test_kill9_in_analyze_then_rerun_gives_the_same_tables(straight, tmp_path):
    """SIGKILL at random moments of `factordiff analyze` (snapshot rows, the grid probe, persistent homology, the
    atomic rewrite of analysis.jsonl): after every kill the run directory is intact (the analysis is the old one
    or none, never half-written), and a rerun writes the same rows and probe as an uninterrupted analysis."""
    ref = tmp_path / "ref"
    shutil.copytree(straight, ref)
    cmd = [sys.executable, "-m", "factordiff", "analyze"]
    t0 = time.monotonic()
    proc = subprocess.Popen([*cmd, str(ref), *ANALYZE_ARGS], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    stamps = [time.monotonic() for _ in proc.stdout]  # when each line came: the work lies from the first to the last
    assert proc.wait() == 0 and stamps
    took, work = time.monotonic() - t0, stamps[-1] - stamps[0]
    run = tmp_path / "run"
    shutil.copytree(straight, run)
    rng, kills = np.random.default_rng(11), 0
    for _ in range(5):
        rc = _kill_at_random([*cmd, str(run), *ANALYZE_ARGS], rng, 0.2 * took, 0.95 * took)
        if rc is None:
            continue
        kills += 1
        assert rc == -signal.SIGKILL
        assert_intact(run)
        if (run / "analysis.jsonl").exists():
            _analysis(run)  # whole lines only
        _probes(run)  # every probe under its final name loads
    # SIGTERM (not -9) at random moments of the work (between the first line and the last: after it the command
    # has restored the default handler and is tearing down, where SIGTERM ends it as -15 with its work all written):
    # the command exits 143 within 5 s with one line, nothing half-written
    waits, lines = [], []
    for _ in range(3):
        proc = subprocess.Popen([*cmd, str(run), *ANALYZE_ARGS], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        first = proc.stdout.readline()  # the first snapshot's row: the analysis is under way (imports done)
        try:
            proc.wait(timeout=rng.uniform(0, 0.8 * work))
            continue  # finished first
        except subprocess.TimeoutExpired:
            pass
        assert first, "analyze printed nothing"
        t1 = time.monotonic()
        proc.terminate()
        err = proc.communicate(timeout=60)[1]
        waits.append(time.monotonic() - t1)
        assert proc.returncode == 143, err
        lines.append(err.strip().splitlines()[-1])
        assert_intact(run)
        assert no_debris(run) == []
    assert waits and max(waits) <= 5, waits
    assert all("stopped by signal 15 during `factordiff analyze`" in line for line in lines), lines
    subprocess.run([*cmd, str(run), *ANALYZE_ARGS], check=True, capture_output=True)
    assert kills >= 3, f"only {kills} kills landed ({took:.1f} s per analysis)"
    assert _analysis(run) == _analysis(ref)
    p, q = _probes(run), _probes(ref)
    assert p.keys() == q.keys() and all(np.array_equal(p[f][k], q[f][k]) for f in p for k in p[f])
    assert no_debris(run) == []
    record("kill9-analyze", kills)
    record("sigterm-analyze", len(waits), max_seconds=round(max(waits), 2))


REPRODUCE = """
from factordiff.config import parse_overrides
from factordiff.experiments import reproduce
over = parse_overrides({over!r})
reproduce("p1-holes", out={out!r}, overrides=over, seeds=[0], jobs=1, log=lambda m: None,
          analyze={{"methods": ["pca"], "grid": 0, "topology": "none", "umap_seeds": 1}})
"""


@pytest.mark.slow
def test_kill9_in_reproduce_then_rerun_gives_the_same_verdicts(tmp_path):
    """SIGKILL to the whole `reproduce` (sweep workers included) at random moments of sweep → aggregate → measure →
    draw → judge → report; a rerun completes with the same results table and verdicts as an uninterrupted call,
    and no temporary file is left."""
    import csv

    over = [*TINY, "train.steps=4", "train.snapshot_every=2", "train.eval_samples=16"]

    def call(out: Path) -> list[str]:
        return [sys.executable, "-c", REPRODUCE.format(over=over, out=str(out))]

    def table(out: Path) -> list[dict]:
        with open(out / "results.csv", newline="") as f:
            return [{k: v for k, v in r.items() if k != "run_dir"} for r in csv.DictReader(f)]

    ref = tmp_path / "ref"
    t0 = time.monotonic()
    subprocess.run(call(ref), check=True, capture_output=True)
    took = time.monotonic() - t0
    rng, kills = np.random.default_rng(5), 0
    for i, frac in enumerate((0.3, 0.6, 0.85)):  # a fresh call each: the kill lands early, midway, late
        out = tmp_path / f"out{i}"
        rc = _kill_at_random(call(out), rng, (frac - 0.1) * took, (frac + 0.1) * took)
        if rc is not None:
            kills += 1
            for run in (out / "runs").glob("*") if (out / "runs").exists() else ():
                assert_intact(run)
        for d in (out, out / "figures"):  # what a kill mid-save leaves (seen in CI: a figure's temp file)
            d.mkdir(parents=True, exist_ok=True)
            (d / ".tmp-curves.png.x1y2z3.png").write_bytes(b"half a png")
        subprocess.run(call(out), check=True, capture_output=True)
        verdicts = [json.dumps(json.loads((d / "verdicts.json").read_text()), sort_keys=True) for d in (out, ref)]
        assert verdicts[0] == verdicts[1]
        assert table(out) == table(ref)
        assert (out / "report.html").exists() and no_debris(out) == []
    assert kills >= 2, f"only {kills} of 3 kills landed ({took:.1f} s per reproduce)"
    record("kill9-reproduce", kills)


def test_a_stop_signal_a_library_turned_into_its_own_error_still_stops_the_analysis():
    """The analysis stops by raising from the signal handler; code that catches what it calls may re-raise it as
    its own error (numpy's shape discovery of a torch storage: a sweep worker was marked "failed" with "ValueError:
    could not determine the shape …" instead of "interrupted"). Once a stop signal arrived, the error is the stop;
    without one, an error passes through unchanged."""
    from factordiff.errors import Preempted, raise_on_signals

    with pytest.raises(Preempted) as stop:
        with raise_on_signals():
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)
            except Exception:  # noqa: BLE001  what such a library does
                raise ValueError("could not determine the shape of object type 'UntypedStorage'") from None
    assert stop.value.signum == signal.SIGTERM and stop.value.stage == "analysis"
    with pytest.raises(ValueError):
        with raise_on_signals():
            raise ValueError("a real error")



def test_a_stop_whose_exception_was_swallowed_still_ends_the_analysis():
    """Python prints and drops an exception raised in some callbacks (at-fork hooks, __del__): a SIGTERM that landed
    in logging's at-fork lock release was lost and `factordiff analyze` finished with exit 0 (CI, stop 59). The
    stop still ends the block, as Preempted, when the work comes back."""
    from factordiff.errors import Preempted, raise_on_signals

    with pytest.raises(Preempted) as stop:
        with raise_on_signals():
            try:  # what such a callback does with the handler's exception
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)
            except Preempted:
                pass
    assert stop.value.signum == signal.SIGTERM


def test_persistence_forks_its_child_with_the_stop_signals_blocked():
    """A stop signal during the fork would run the handler inside an at-fork callback, which drops its exception;
    blocked across the fork, it waits and is handled after it, in the caller's code."""
    from factordiff.analysis.topology import run_ripser

    seen, mine = [], [True]

    def hook():
        if mine and mine[0]:
            seen.append(signal.pthread_sigmask(signal.SIG_BLOCK, []))

    os.register_at_fork(after_in_parent=hook)  # cannot be unregistered: it records only while `mine` says so
    try:
        run_ripser(np.random.default_rng(0).normal(size=(20, 2)), maxdim=0)
    finally:
        mine[0] = False
    assert seen, "no fork happened"
    assert {signal.SIGTERM, signal.SIGINT} <= set(seen[0])
    assert signal.SIGTERM not in signal.pthread_sigmask(signal.SIG_BLOCK, [])  # and unblocked again after

# ---- a run's identity (issue 44) ----------------------------------------------------------------------------

@pytest.mark.parametrize("damage", ["deleted", "self-symlink"])
def test_a_run_without_its_config_is_not_resumed_under_another(straight, tmp_path, damage):
    """Before: `rm r/config.yaml; train ... data.sigma=0.5 seed=7` resumed the σ 1 checkpoint as σ 0.5 / seed 7
    (exit 0), and with another model.base wrote the new config.yaml, crashed, and left the run stuck. Now it is
    refused before anything is written, the message says how to restore the config, and restoring it resumes."""
    from factordiff.cli import main
    from factordiff.errors import CheckpointError

    run = tmp_path / "r"
    shutil.copytree(straight, run)
    (run / "config.yaml").unlink()
    if damage == "self-symlink":
        (run / "config.yaml").symlink_to(run / "config.yaml")
    before = sorted(p.name for p in run.rglob("*"))
    for extra in (("data.sigma=0.5", "seed=7"), ("model.base=16",)):
        with pytest.raises(CheckpointError, match="config restore"):
            train(cfg("train.steps=40", *extra), run, log=quiet, progress=False)
    assert sorted(p.name for p in run.rglob("*")) == before  # nothing written, nothing deleted
    assert main(["config", "restore", str(run)]) == 0
    assert load_config(run / "config.yaml") == load_config(straight / "config.yaml")
    train(cfg("train.steps=40"), run, log=quiet, progress=False)
    assert load_checkpoint(list_checkpoints(run / "checkpoints")[-1])["manifest"]["step"] == 40


def test_a_config_yaml_that_disagrees_with_the_checkpoints_is_refused(straight, tmp_path):
    """config.yaml rewritten to σ 0.5 (by hand, or by the old bug): the checkpoints were trained at σ 1, so a
    σ 0.5 resume is refused, naming the checkpoint; `config restore` will not overwrite a readable config."""
    from factordiff.errors import CheckpointError
    from factordiff.rundir import restore_config

    run = tmp_path / "r"
    shutil.copytree(straight, run)
    save_config(cfg("data.sigma=0.5"), run / "config.yaml")
    with pytest.raises(CheckpointError, match=r"data\.sigma.*checkpoint"):
        train(cfg("data.sigma=0.5", "train.steps=40"), run, log=quiet, progress=False)
    with pytest.raises(CheckpointError, match="readable: nothing to restore"):
        restore_config(run)


def test_analysing_one_layer_keeps_the_other_layers_summary(tmp_path):
    """Before: analyze --layer layer3, then --layer layer4, left no layer3 summary row (phase onsets, grid
    geometry were dropped). Now every layer keeps its rows and its summary."""
    from factordiff.analyze import analyze_run
    from factordiff.rundir import RunDir

    run = tmp_path / "r"
    train(cfg("train.steps=10", "train.snapshot_every=5", "train.eval_layers=[layer3,layer4]"), run, log=quiet,
          progress=False)
    for layer in ("layer3", "layer4", "layer3"):
        analyze_run(run, layer=layer, methods=("pca",), topology="none", grid=0)
    rd = RunDir(run)
    assert rd.summary("layer3") and rd.summary("layer4")
    assert {r["layer"] for r in rd.read_analysis()} == {"layer3", "layer4"}
    assert len(rd.read_analysis("summary")) == 2 and len(rd.read_analysis(layer="layer3")) == 3  # steps 0, 5, 10


@contextlib.contextmanager
def lock_held_elsewhere(run: Path):
    """Another process holding RUN's lock (as a training or analysing process would) for the block."""
    holder = subprocess.Popen([sys.executable, "-c", "import time\nfrom factordiff.io import run_lock\n"
                               f"with run_lock({str(run)!r}):\n    print('held', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.kill()
        holder.wait()


def test_analyze_takes_the_run_lock(straight, tmp_path):
    """Two writers of one run at once lost rows; analyze now refuses, before any work, while another process
    holds the run (training or analysing it)."""
    from factordiff.analyze import analyze_run
    from factordiff.errors import RunLocked

    run = tmp_path / "r"
    shutil.copytree(straight, run)
    with lock_held_elsewhere(run):
        with pytest.raises(RunLocked, match="training or analysing"):
            analyze_run(run, methods=("pca",), topology="none", grid=0)
        assert not (run / "analysis.jsonl").exists()


def test_a_damaged_middle_line_is_an_error_not_a_dropped_row(straight, tmp_path):
    """Before: a garbage middle line in analysis.jsonl silently dropped a row (the report drew 3 figures of 5);
    a line `42` crashed with AttributeError. Now only a crash-cut last line is skipped; any other damaged line
    is one error naming the file, the line and how to rebuild it."""
    from factordiff.analyze import analyze_run
    from factordiff.api import load_run
    from factordiff.errors import DamagedFileError
    from factordiff.io import read_jsonl

    run = tmp_path / "r"
    shutil.copytree(straight, run)
    analyze_run(run, methods=("pca",), topology="none", grid=0)
    path = run / "analysis.jsonl"
    good = path.read_text().splitlines()
    assert len(good) >= 3
    path.write_text("\n".join(good) + '\n{"kind": "analysis", "st')  # a crash-cut append: tolerated
    assert len(read_jsonl(path)) == len(good)
    for bad in ("garbage", "42"):
        path.write_text("\n".join([good[0], bad, *good[1:]]) + "\n")
        with pytest.raises(DamagedFileError, match=r"analysis\.jsonl, line 2: .*rerun `factordiff analyze"):
            load_run(run).analysis()
    metrics = run / "metrics.jsonl"
    lines = metrics.read_text().splitlines()
    metrics.write_text("\n".join([lines[0], "{oops", *lines[1:]]) + "\n")
    with pytest.raises(DamagedFileError, match=r"metrics\.jsonl, line 2"):
        train(cfg("train.steps=40"), run, log=quiet, progress=False)


def test_lost_checkpoints_do_not_silently_restart_a_run(straight, tmp_path):
    """Before: with every checkpoint's manifest gone, `train` restarted from step 0 and deleted every snapshot
    and metrics row without a word. Now it refuses, says what it holds and what to do; nothing is deleted."""
    from factordiff.errors import CheckpointError

    run = tmp_path / "r"
    shutil.copytree(straight, run)
    for d in list_checkpoints(run / "checkpoints"):
        (d / "manifest.json").unlink()
    before = sorted(p.name for p in run.rglob("*"))
    with pytest.raises(CheckpointError, match=f"up to step {STEPS} but no usable checkpoint"):
        train(cfg("train.steps=40"), run, log=quiet, progress=False)
    assert sorted(p.name for p in run.rglob("*")) == before


def test_a_snapshot_with_mismatched_arrays_is_one_clear_error(straight, tmp_path):
    """Before: labels cut to 15 rows gave an IndexError in the scorer, images cut to 8 × 8 a ValueError in
    analyze and `load_run(...).snapshot()` returned them without complaint. Now each is one error naming the
    file and the array, with advice that is true (training does not rewrite a past snapshot)."""
    from factordiff.analyze import analyze_run
    from factordiff.api import load_run
    from factordiff.errors import FactordiffError
    from factordiff.io import load_npz, save_npz

    run = tmp_path / "r"
    shutil.copytree(straight, run)
    path = sorted((run / "snapshots").glob("step_*.npz"))[-1]
    z = load_npz(path)
    for name, bad in (("labels", z["labels"][:5]), ("images", z["images"][:, :8, :8].copy())):
        save_npz(path, **(z | {name: bad}))
        with pytest.raises(FactordiffError, match=rf"{path.name}: array '{name}' has shape .*does not go back"):
            load_run(run).snapshot()
        with pytest.raises(FactordiffError, match=rf"array '{name}'"):
            analyze_run(run, methods=("pca",), topology="none", grid=0)
    path.write_bytes(path.read_bytes()[:100])  # truncated
    with pytest.raises(FactordiffError, match="damaged or truncated: training writes each snapshot once"):
        load_run(run).snapshot()


BOMB = "".join(f"{c}: &{c} [" + ",".join([f"*{p}"] * 9 if p else ['"lol"'] * 9) + "]\n"
               for p, c in zip(["", *"abcdefgh"], "abcdefghi"))


def test_an_alias_bomb_is_refused_at_once_with_a_bounded_message(tmp_path):
    """Before: a billion-laughs YAML in a config value or a sweep override ran for 16–41 s to a MemoryError
    (1.6–3.7 GB: ConfigError formatted the whole expansion). Now the loader refuses any document whose aliases
    expand past 100,000 nodes, and every ConfigError's message is bounded."""
    from factordiff.config import parse_overrides
    from factordiff.errors import ConfigError as CE
    from factordiff.errors import short_repr
    from factordiff.sweep import load_spec

    (tmp_path / "c.yaml").write_text(BOMB)
    (tmp_path / "s.yaml").write_text("name: s\noverrides:\n  data.sigma: [*i]\n" + BOMB.replace("\n", "\n", 1))
    t0 = time.time()
    for call in (lambda: load_config(tmp_path / "c.yaml"),
                 lambda: parse_overrides(["data.sigma=" + BOMB.replace("\n", ", ").join("{}")]),
                 lambda: load_spec(tmp_path / "s.yaml")):
        with pytest.raises(CE) as e:
            call()
        assert len(str(e.value)) < 1000, len(str(e.value))
    assert time.time() - t0 < 10
    huge = [[["x" * 10**6] * 10**3] * 10]
    assert len(str(CE("field", huge, "small"))) < 500 and len(short_repr("y" * 10**6)) < 200


def test_nan_and_inf_are_named_as_such():
    for v in ("nan", "inf", "-inf", ".nan"):
        with pytest.raises(ConfigError, match="finite number"):
            apply_overrides(RunConfig(), [f"data.sigma={v}"])


@pytest.mark.parametrize("where", ["snapshots", "checkpoints", "run"])
def test_symlink_loops_are_refused_before_any_work(straight, tmp_path, where):
    """Before: `snapshots` a symlink to itself made analyze say "train it first" and train run, then die with
    FileExistsError, losing the steps; a run directory that was a symlink to itself did the same."""
    from factordiff.analyze import analyze_run
    from factordiff.report import write_report

    run = tmp_path / "r"
    if where == "run":
        run.symlink_to(run)
    else:
        shutil.copytree(straight, run)
        shutil.rmtree(run / where)
        (run / where).symlink_to(run / where)
    for call in (lambda: train(cfg("train.steps=40"), run, log=quiet, progress=False),
                 lambda: analyze_run(run, methods=("pca",), topology="none", grid=0),
                 lambda: write_report(run)):
        with pytest.raises(ConfigError, match="symlink that loops or points nowhere"):
            call()


def test_report_on_a_run_whose_snapshots_are_gone_says_so(straight, tmp_path):
    """Before: "damaged or truncated: delete it" for a file that did not exist."""
    from factordiff.analyze import analyze_run
    from factordiff.errors import FactordiffError
    from factordiff.report import write_report

    run = tmp_path / "r"
    shutil.copytree(straight, run)
    analyze_run(run, methods=("pca",), topology="none", grid=0)
    shutil.rmtree(run / "snapshots")
    with pytest.raises(FactordiffError, match="missing .*its snapshot is gone.*rerun `factordiff analyze"):
        write_report(run)


def test_small_faults_name_what_they_should(tmp_path, straight):
    """An invalid value in config.yaml names the file too; checkpoint files get the same permissions as every
    other file (they were 0600)."""
    bad = tmp_path / "c.yaml"
    bad.write_text("data:\n  sigma: -3\n")
    with pytest.raises(ConfigError, match=rf"{bad}: data\.sigma"):
        load_config(bad)
    mode = lambda p: p.stat().st_mode & 0o777  # noqa: E731
    ckpt = next((straight / "checkpoints").glob("step_*/model.safetensors"))
    assert mode(ckpt) == mode(straight / "config.yaml")


def test_a_failed_first_write_leaves_no_empty_folder(tmp_path, monkeypatch):
    """Before: a full disk in analyze / report left an empty probes/ or figures/ behind. A folder created for a
    file whose write fails is removed again while empty; an existing folder is kept."""
    import numpy as np

    from factordiff.io import save_npz

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez_compressed", full)
    with pytest.raises(StorageError, match="No space left"):
        save_npz(tmp_path / "probes" / "grid_step_00000010.npz", a=np.zeros(3))
    assert not (tmp_path / "probes").exists()
    (tmp_path / "figures").mkdir()
    with pytest.raises(StorageError):
        save_npz(tmp_path / "figures" / "x.npz", a=np.zeros(3))
    assert (tmp_path / "figures").is_dir() and not any((tmp_path / "figures").iterdir())


def test_sample_into_a_run_takes_its_lock_and_beside_it_does_not(straight, tmp_path):
    """Every writer of a run holds its lock: `sample` into RUN/samples is refused while another process holds
    the run; with --out elsewhere it samples beside it."""
    from factordiff.errors import RunLocked
    from factordiff.evaluate import sample_run

    run = tmp_path / "r"
    shutil.copytree(straight, run)
    with lock_held_elsewhere(run):
        with pytest.raises(RunLocked):
            sample_run(run, n=4)
        assert not (run / "samples").exists()
        out = sample_run(run, n=4, out=tmp_path / "beside" / "s")
        assert Path(out["path"]).exists()


def test_a_stop_signal_ends_a_long_persistence_computation_at_once():
    """ripser holds the GIL through one call (≈ 16 s for this cloud's 400 landmarks up to H2 on a 2-core Xeon),
    so the stop handler could run only after it; computed in a child process, the stop lands within a second
    and leaves no child behind. A ripser error in the child reaches the caller as itself."""
    import multiprocessing as mp

    from factordiff.analysis.topology import persistence, run_ripser
    from factordiff.errors import Preempted, raise_on_signals

    rng = np.random.default_rng(0)
    cloud = rng.normal(size=(1152, 24))
    t0 = time.time()
    with pytest.raises(Preempted):
        with raise_on_signals((signal.SIGALRM,)):
            signal.setitimer(signal.ITIMER_REAL, 0.5)
            try:
                persistence(cloud)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    took = time.time() - t0
    assert took < 3, f"the stop took {took:.1f} s"
    assert mp.active_children() == []
    with pytest.raises(ValueError, match="square"):
        run_ripser(np.zeros((3, 4)), distance_matrix=True)


def test_persistence_s_child_ends_with_its_parent(tmp_path):
    """A kill -9 of the process computing persistent homology ends its ripser child too (Linux's parent-death
    signal), instead of leaving it computing for no one."""
    script = tmp_path / "ph.py"
    script.write_text("import numpy as np\nfrom factordiff.analysis.topology import persistence\n"
                      "print('go', flush=True)\npersistence(np.random.default_rng(0).normal(size=(1152, 24)))\n")
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "go"
    children, deadline = [], time.time() + 30
    while not children and time.time() < deadline:
        time.sleep(0.1)
        try:
            children = (Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split())
        except OSError:
            pytest.skip("no /proc/PID/task/PID/children here")
    assert children, "no ripser child appeared"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    def alive(pid):
        try:
            return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] not in "ZX"
        except OSError:
            return False

    deadline = time.time() + 5
    while alive(children[0]) and time.time() < deadline:
        time.sleep(0.05)
    assert not alive(children[0])
