"""K runs of one network shape trained as one batched model (issue 49): the members' parameters stacked
(`torch.func.stack_module_state`), the network applied to each member's own batch by `torch.func.vmap`, and one
AdamW over the stacked tensors. AdamW's update and the EMA are elementwise, so member k's update is the update
its own run would make; its batch (labels, timesteps, noise) comes from its own (seed, step) generator exactly
as the separate trainer draws it (`step.step_generator`), so K members equal K separate runs up to the order of
floating-point sums in the batched convolutions (tests/test_ensemble.py).

On the 2-core CPU an ensemble is slower than its members one after another (0.71–0.94× for K = 1–4, measured
2026-12-06); it is meant for a GPU, where one member's step is launch-bound.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch.func import functional_call, stack_module_state, vmap

from . import diffusion
from .config import RunConfig
from .data import make_dataset, render_labels_torch
from .errors import ConfigError
from .step import make_model, step_generator

# what members of one ensemble must share: the network's shape, the batch and the optimizer's hyperparameters
# (one AdamW over the stacked tensors), the diffusion schedule; the seed and the data may differ
SHARED = ("model", "diffusion", "data.image_size", "train.batch_size", "train.lr", "train.weight_decay",
          "train.ema_decay", "train.ema_start", "train.steps", "train.snapshot_every", "train.checkpoint_every",
          "train.log_every", "train.device")


def _get(cfg: RunConfig, path: str):
    obj = cfg
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def check_members(cfgs: Sequence[RunConfig]) -> None:
    """Refuse members that cannot share one batched model, naming the first field that differs."""
    if len(cfgs) < 1:
        raise ConfigError("members", 0, "at least one run config")
    for path in SHARED:
        values = [_get(c, path) for c in cfgs]
        bad = next((i for i, v in enumerate(values) if v != values[0]), None)
        if bad is not None:
            raise ConfigError(path, values[bad], f"the same value in every member of an ensemble (member 0 has "
                                                 f"{values[0]!r}, member {bad} has {values[bad]!r})")


class Ensemble:
    """K members of one architecture: `params` and `buffers` are dicts of (K, …) tensors; `members[k]` are the
    members' own modules (built and initialised exactly as the separate trainer builds them: `torch.manual_seed
    (cfg.seed)`, then `make_model`), whose values are copied into the stacks and back (`member`)."""

    def __init__(self, cfgs: Sequence[RunConfig], device: torch.device | str = "cpu"):
        check_members(cfgs)
        self.cfgs, self.device = list(cfgs), torch.device(device)
        members = []
        for cfg in self.cfgs:
            torch.manual_seed(cfg.seed)  # as train._train_locked: the member's initialisation is its run's
            members.append(make_model(cfg, self.device).to(memory_format=torch.contiguous_format))
        self.params, self.buffers = stack_module_state(members)
        self.params = {k: v.detach().requires_grad_(True) for k, v in self.params.items()}
        self.skeleton = copy.deepcopy(members[0]).to("meta")  # the function vmap applies, without weights
        self._members = members

    @property
    def k(self) -> int:
        return len(self.cfgs)

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """ε̂ for every member: x (K, B, C, N, N), t (K, B), labels (K, B, 2) → (K, B, C, N, N)."""
        def one(params, buffers, x, t, labels):
            return functional_call(self.skeleton, (params, buffers), (x, t, labels))

        return vmap(one)(self.params, self.buffers, x, t, labels)

    def member(self, k: int) -> torch.nn.Module:
        """Member k as an ordinary module holding its current weights (for sampling, checkpoints, comparison)."""
        m = self._members[k]
        with torch.no_grad():
            for name, p in m.named_parameters():
                p.copy_(self.params[name][k])
            for name, b in m.named_buffers():
                b.copy_(self.buffers[name][k])
        return m

    def load_member(self, k: int, state: dict) -> None:
        """Copy a member's state dict (a checkpoint's `model` or `ema`) into slot k of the stacks."""
        with torch.no_grad():
            for name, v in state.items():
                target = self.params.get(name, self.buffers.get(name))
                if target is None:
                    raise ConfigError("state", name, f"a parameter or buffer of member {k}'s network")
                target[k].copy_(v)


class StackedEMA:
    """The EMA of every member at once (train.EMA's rule, elementwise on the stacks: copy until `start`, then
    decay)."""

    def __init__(self, ens: Ensemble):
        cfg = ens.cfgs[0].train
        self.decay, self.start = cfg.ema_decay, cfg.ema_start
        self.params = {k: v.detach().clone() for k, v in ens.params.items()}

    @torch.no_grad()
    def update(self, ens: Ensemble, step: int) -> None:
        src, dst = [ens.params[k] for k in self.params], list(self.params.values())
        if self.decay == 0 or step < self.start:
            torch._foreach_copy_(dst, src)
        else:
            torch._foreach_lerp_(dst, src, 1 - self.decay)

    def member_state(self, k: int) -> dict:
        return {name: v[k].detach().clone() for name, v in self.params.items()}


def make_ensemble_loss(ens: Ensemble):
    """loss(step) → (the sum of the members' ε-MSEs, each member's as a float). Member k's batch is drawn from
    its own generator in the order `step.make_batch_loss` draws it (label indices, then timesteps, then noise),
    so its gradient is the one its separate run computes; summing keeps each member's gradient its own."""
    sched = diffusion.make_schedule(ens.cfgs[0].diffusion)
    data = []
    for cfg in ens.cfgs:
        ds = make_dataset(cfg.data)
        data.append((torch.as_tensor(ds.labels, dtype=torch.float32, device=ens.device),
                     torch.as_tensor(ds.kinds, device=ens.device)))
    bs = ens.cfgs[0].train.batch_size

    def loss(step: int) -> tuple[torch.Tensor, list[float]]:
        xs, ts, labs, epss = [], [], [], []
        for cfg, (labels, kinds) in zip(ens.cfgs, data):
            gen = step_generator(cfg.seed, step)
            idx = torch.randint(0, len(labels), (bs,), generator=gen).to(ens.device)
            x0 = (render_labels_torch(labels[idx], kinds[idx], cfg.data) / 127.5 - 1.0).unsqueeze(1)
            t = torch.randint(0, sched.T, (bs,), generator=gen).to(ens.device)  # as diffusion.loss draws them
            eps = torch.randn(x0.shape, generator=gen, dtype=x0.dtype).to(ens.device)
            xs.append(diffusion.q_sample(x0, t, eps, sched))
            ts.append(t)
            labs.append(labels[idx])
            epss.append(eps)
        eps = torch.stack(epss)
        err = (ens.forward(torch.stack(xs), torch.stack(ts), torch.stack(labs)) - eps).pow(2)
        per = err.flatten(1).mean(1)  # each member's F.mse_loss
        return per.sum(), [float(v) for v in per.detach()]

    return loss


def make_optimizer(ens: Ensemble) -> torch.optim.AdamW:
    """One AdamW over the stacked parameters: elementwise, so each member's update is its own run's."""
    tc = ens.cfgs[0].train
    return torch.optim.AdamW(list(ens.params.values()), lr=tc.lr, weight_decay=tc.weight_decay)


def optimizer_member_state(ens: Ensemble, opt: torch.optim.AdamW, k: int) -> dict:
    """Member k's AdamW state in the layout its own run's `opt.state_dict()` has (parameters indexed in the
    order of the member network's `named_parameters`), so that its checkpoint resumes as a separate run."""
    sd = opt.state_dict()
    names = list(ens.params)
    state = {}
    for i, name in enumerate(names):
        s = opt.state.get(ens.params[name])
        if s:
            state[i] = {"step": s["step"].clone(), "exp_avg": s["exp_avg"][k].clone(),
                        "exp_avg_sq": s["exp_avg_sq"][k].clone()}
    groups = [dict(g, params=list(range(len(names)))) for g in sd["param_groups"]]
    return {"state": state, "param_groups": groups}


def load_optimizer_member(ens: Ensemble, opt: torch.optim.AdamW, k: int, member_state: dict) -> None:
    """Copy a member's AdamW state (its own run's `opt.state_dict()`) into slot k of the stacked optimizer. Every
    member must be at the same AdamW step (one step count drives the stacked update)."""
    names = list(ens.params)
    with torch.no_grad():
        for i, name in enumerate(names):
            src = member_state["state"].get(i)
            if src is None:
                continue
            p = ens.params[name]
            s = opt.state[p]
            if not s:
                s.update(step=src["step"].clone(), exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
            elif float(s["step"]) != float(src["step"]):
                raise ConfigError("optimizer step", float(src["step"]),
                                  f"member {k} at the ensemble's AdamW step {float(s['step']):g}")
            s["exp_avg"][k].copy_(src["exp_avg"])
            s["exp_avg_sq"][k].copy_(src["exp_avg_sq"])


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_ensemble(cfg: RunConfig, ks: Sequence[int] = (1, 2, 4), *, steps: int = 10, warmup: int = 3,
                  device: str = "cpu") -> list[dict]:
    """Seconds per training step of one run alone (the trainer's own step: `step.make_batch_loss` + AdamW) and
    of ensembles of K members (seeds cfg.seed … cfg.seed + K − 1), measured in one process one after another:
    per member and as images/s, and the ensemble's speed-up over its members trained one after another. The
    run's performance options apply to the separate step only (the ensemble runs plain fp32: vmap over
    channels_last, bf16 autocast and compile is not built)."""
    import time

    from .config import replace_path

    dev = torch.device(device)
    bs = cfg.train.batch_size
    torch.manual_seed(cfg.seed)
    model = make_model(cfg, dev)
    ds = make_dataset(cfg.data)
    loss = _separate_loss(cfg, model, ds, dev)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)

    def one(step):
        opt.zero_grad(set_to_none=True)
        loss(step).backward()
        opt.step()

    def timed(fn) -> float:
        for s in range(warmup):
            fn(s)
        _sync(dev)
        t0 = time.perf_counter()
        for s in range(warmup, warmup + steps):
            fn(s)
        _sync(dev)
        return (time.perf_counter() - t0) / steps

    alone = timed(one)
    rows = [{"what": "separate", "members": 1, "sec_per_step": alone, "images_per_s": bs / alone}]
    for k in ks:
        ens = Ensemble([replace_path(cfg, {"seed": cfg.seed + i}) for i in range(k)], dev)
        eopt, eloss = make_optimizer(ens), make_ensemble_loss(ens)

        def step_all(step, eopt=eopt, eloss=eloss):
            eopt.zero_grad(set_to_none=True)
            eloss(step)[0].backward()
            eopt.step()

        sec = timed(step_all)
        rows.append({"what": "ensemble", "members": k, "sec_per_step": sec, "sec_per_member_step": sec / k,
                     "images_per_s": k * bs / sec, "speedup_vs_one_after_another": alone * k / sec})
        del ens, eopt, eloss
    return rows


def _separate_loss(cfg: RunConfig, model: torch.nn.Module, ds, dev: torch.device):
    from .step import make_batch_loss

    return make_batch_loss(cfg, model, diffusion.make_schedule(cfg.diffusion),
                           torch.as_tensor(ds.labels, dtype=torch.float32, device=dev),
                           torch.as_tensor(ds.kinds, device=dev))
