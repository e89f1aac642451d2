"""K members trained as one batched model equal K separate runs (issue 49): same initialisation, same batches,
the same AdamW and EMA updates, to the tolerance of the batched convolutions' summation order; resumed from
the separate runs' states too."""

import pytest
import torch

from conftest import TINY
from factordiff import diffusion
from factordiff.config import replace_path
from factordiff.data import make_dataset
from factordiff.ensemble import (
    Ensemble,
    StackedEMA,
    check_members,
    load_optimizer_member,
    make_ensemble_loss,
    make_optimizer,
    optimizer_member_state,
)
from factordiff.errors import ConfigError
from factordiff.presets import preset
from factordiff.step import make_batch_loss, make_model, update
from factordiff.train import EMA


def _cfgs():
    base = preset("cpu", TINY)
    assert base.train.lr == LR
    return [replace_path(base, {"seed": 3}), replace_path(base, {"seed": 4, "data.sigma": 0.75})]


def _separate(cfg, steps, start_state=None):
    """The separate trainer's own pieces (train._train_locked's order): init, AdamW, loss, update, EMA."""
    torch.manual_seed(cfg.seed)
    model = make_model(cfg, torch.device("cpu"))
    ema = EMA(model, cfg.train.ema_decay, cfg.train.ema_start)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    first = 0
    if start_state is not None:
        model.load_state_dict(start_state["model"])
        ema.model.load_state_dict(start_state["ema"])
        opt.load_state_dict(start_state["opt"])
        first = start_state["step"]
    ds = make_dataset(cfg.data)
    loss = make_batch_loss(cfg, model, diffusion.make_schedule(cfg.diffusion),
                           torch.as_tensor(ds.labels, dtype=torch.float32), torch.as_tensor(ds.kinds))
    for step in range(first, steps):
        update(opt, loss(step))
        ema.update(model, step + 1)
    return {"model": model.state_dict(), "ema": ema.model.state_dict(), "opt": opt.state_dict(), "step": steps}


LR = 0.002  # the cpu preset's


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: tiny networks gain nothing from two, and lose 8× beside another process's training."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def alone(one_thread):
    """Each member's separate run, to 3 and to 6 steps (past ema_start = 3: both EMA branches)."""
    return {n: [_separate(c, n) for c in _cfgs()] for n in (3, 6)}


def _close(a: dict, b: dict, what: str):
    """Equal to the batched convolutions' summation order, as AdamW amplifies it: 99.9 % of the elements within
    1e-5 (a separate run of another seed differs by ≈ 1e-2 after a few steps), and none more than a quarter of one
    AdamW step (lr): an element whose gradient is ≈ 0 takes a step of ≈ ±lr whose sign is the rounding's."""
    diff = torch.cat([(a[n] - b[n]).abs().flatten() for n in a])
    worst = (what, float(diff.quantile(0.999)), float(diff.max()))
    assert diff.quantile(0.999) < 1e-5 and diff.max() < 0.25 * LR, worst


def _ensemble_steps(ens, opt, ema, first, steps):
    loss = make_ensemble_loss(ens)
    for step in range(first, steps):
        total, _ = loss(step)
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        ema.update(ens, step + 1)


def test_members_equal_separate_runs(alone):
    cfgs = _cfgs()
    steps = 6
    ens = Ensemble(cfgs)
    opt, ema = make_optimizer(ens), StackedEMA(ens)
    _ensemble_steps(ens, opt, ema, 0, steps)
    for k, run in enumerate(alone[steps]):
        _close(ens.member(k).state_dict(), run["model"], f"member {k} weights")
        _close(ema.member_state(k), run["ema"], f"member {k} EMA")
        mine = optimizer_member_state(ens, opt, k)
        assert set(mine["state"]) == set(run["opt"]["state"])
        assert all(float(mine["state"][i]["step"]) == float(s["step"]) for i, s in run["opt"]["state"].items())
        _close({i: mine["state"][i]["exp_avg"] for i in mine["state"]},
               {i: s["exp_avg"] for i, s in run["opt"]["state"].items()}, f"member {k} AdamW moments")
    other = _separate(replace_path(cfgs[0], {"seed": 5}), steps)["model"]  # the comparison can fail
    with pytest.raises(AssertionError):
        _close(ens.member(0).state_dict(), other, "another seed")


def test_initialisation_is_each_runs_own_and_members_differ():
    cfgs = _cfgs()
    ens = Ensemble(cfgs)
    for k, cfg in enumerate(cfgs):
        torch.manual_seed(cfg.seed)
        ref = make_model(cfg, torch.device("cpu")).state_dict()
        assert all(torch.equal(ens.member(k).state_dict()[n], v) for n, v in ref.items())
    a, b = ens.member(0).state_dict(), ens.member(1).state_dict()
    assert not all(torch.equal(a[n], b[n]) for n in a)


def test_resumed_from_separate_runs_states(alone):
    """Members loaded from their runs' step-3 states (weights, EMA, AdamW) and trained to 6 equal the runs
    trained to 6 alone: what a checkpointed ensemble needs to resume."""
    cfgs = _cfgs()
    half = alone[3]
    ens = Ensemble(cfgs)
    opt, ema = make_optimizer(ens), StackedEMA(ens)
    for k, st in enumerate(half):
        ens.load_member(k, st["model"])
        load_optimizer_member(ens, opt, k, st["opt"])
        with torch.no_grad():
            for name, v in st["ema"].items():
                ema.params[name][k].copy_(v)
    _ensemble_steps(ens, opt, ema, 3, 6)
    for k, run in enumerate(alone[6]):
        _close(ens.member(k).state_dict(), run["model"], f"member {k} weights after resume")
        _close(ema.member_state(k), run["ema"], f"member {k} EMA after resume")


def test_members_that_cannot_share_a_model_are_refused():
    a, b = _cfgs()
    with pytest.raises(ConfigError, match="model"):
        check_members([a, replace_path(b, {"model.base": 16})])
    with pytest.raises(ConfigError, match="train.lr"):
        check_members([a, replace_path(b, {"train.lr": 1e-3})])


def _loop_cfgs(steps):
    return [replace_path(c, {"train.steps": steps, "train.snapshot_every": 5, "train.checkpoint_every": 5})
            for c in _cfgs()]


def _weights(run_dir, step):
    from factordiff.checkpoint import load_checkpoint

    ck = load_checkpoint(run_dir / "checkpoints" / f"step_{step:08d}")
    return ck["model"], ck["ema"]


def test_the_loop_writes_each_members_run_as_its_separate_run(tmp_path):
    """Run directories from train_ensemble against the same runs trained alone by train.train: the same
    snapshots, metrics rows and checkpoints, the weights equal to the batched sums' order; a member resumed
    alone by the separate trainer continues from the ensemble's checkpoint."""
    from factordiff.ensemble_train import train_ensemble
    from factordiff.io import read_jsonl
    from factordiff.train import train

    cfgs = _loop_cfgs(10)
    ens_dirs = [tmp_path / f"ens{k}" for k in range(2)]
    out = train_ensemble(_loop_cfgs(5), ens_dirs, log=lambda m: None)  # to 5, then resumed to 10
    assert [o["step"] for o in out] == [5, 5]
    train_ensemble(cfgs, ens_dirs, log=lambda m: None)
    for k, cfg in enumerate(cfgs):
        alone = tmp_path / f"alone{k}"
        train(cfg, alone, log=lambda m: None, progress=False)
        snaps = lambda d: sorted(p.name for p in (d / "snapshots").iterdir())  # noqa: E731
        assert snaps(ens_dirs[k]) == snaps(alone) == ["step_00000000.npz", "step_00000005.npz", "step_00000010.npz"]
        rows = lambda d: [(r["kind"], r["step"]) for r in read_jsonl(d / "metrics.jsonl")]  # noqa: E731
        assert rows(ens_dirs[k]) == rows(alone)
        for mine, theirs in zip(_weights(ens_dirs[k], 10), _weights(alone, 10)):
            _close(mine, theirs, f"member {k} checkpoint")
    longer = replace_path(cfgs[0], {"train.steps": 15})
    assert train(longer, ens_dirs[0], log=lambda m: None, progress=False)["resumed_from"] == 10


def test_the_loop_refuses_members_at_different_steps(tmp_path):
    from factordiff.ensemble_train import train_ensemble
    from factordiff.train import train

    a, b = _loop_cfgs(10)
    train(replace_path(a, {"train.steps": 5}), tmp_path / "a", log=lambda m: None, progress=False)
    with pytest.raises(ConfigError, match="same step"):
        train_ensemble([a, b], [tmp_path / "a", tmp_path / "b"], log=lambda m: None)


def test_a_sweep_with_ensembles_gives_the_runs_a_plain_sweep_gives(tmp_path):
    """`launch(..., ensemble=2)`: the 4 runs (2 σ × 2 seeds share a network) in 2 batched models; every run
    done, analysed and aggregated like the plain sweep's, its weights equal to the summation order; a bad K and
    a Slurm launch refused before any work."""
    from factordiff.config import parse_overrides
    from factordiff.ensemble_sweep import groups
    from factordiff.sweep import expand, launch, parse_spec, run_status
    from factordiff.table import aggregate

    base = parse_overrides([*TINY, "train.steps=4", "train.snapshot_every=2", "train.eval_samples=8"])
    spec = parse_spec({"name": "e", "overrides": base, "grid": {"data.sigma": [0.75, 1.0]}, "seeds": [0, 1],
                       "analyze": {"grid": 0, "topology": "none", "methods": ["pca"]}})
    todo = [(n, c, tmp_path / n) for n, c, _ in expand(spec)]
    assert [len(g) for g in groups(todo, 2)] == [2, 2] and [len(g) for g in groups(todo, 3)] == [3, 1]
    lines = []
    got = launch(spec, tmp_path / "ens", jobs=1, ensemble=2, log=lines.append)
    assert got["ran"] == 4 and got["failed"] == 0, lines
    assert any("in 2 batched models" in x for x in lines)
    launch(spec, tmp_path / "plain", jobs=1, log=lambda m: None)
    for name, _cfg, _ in expand(spec):
        a, b = tmp_path / "ens" / "runs" / name, tmp_path / "plain" / "runs" / name
        assert run_status(a)["state"] == "done" and run_status(a)["ensemble"] == 2
        for mine, theirs in zip(_weights(a, 4), _weights(b, 4)):
            _close(mine, theirs, f"{name} checkpoint")
    ens_rows, plain_rows = aggregate(tmp_path / "ens")["rows"], aggregate(tmp_path / "plain")["rows"]
    assert [(r["run"], r["step"]) for r in ens_rows] == [(r["run"], r["step"]) for r in plain_rows]
    with pytest.raises(ConfigError, match="--ensemble"):
        launch(spec, tmp_path / "bad", ensemble=0, log=lambda m: None)
    with pytest.raises(ConfigError, match="--ensemble"):
        launch(spec, tmp_path / "bad", ensemble=2, launcher="slurm", slurm={"cluster": "local"}, log=lambda m: None)
    assert not (tmp_path / "bad").exists()
