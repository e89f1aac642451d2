"""`auto` performance options, chosen by measurement on this machine for this network and batch.

`train.channels_last`, `train.amp` and `train.compile` default to `auto`. Before a run's first step the
candidate settings are timed on the real training step (same network, batch and data), interleaved in rounds
so that a machine's drift hits them alike, and the fastest is kept only if it beats the plain setting (fp32,
default memory format, eager) by `MARGIN`; otherwise the run is plain. The choice is cached per machine and
network shape (`cache_path()`) and written into the run's config.yaml as concrete values, so the run is
reproducible and a resumed run keeps them (`settle`).

Candidates: channels_last on/off everywhere; bf16 autocast only where the hardware computes in bf16 (CPU flags
avx512_bf16 or amx_bf16; CUDA `is_bf16_supported`); torch.compile only on CUDA (on a CPU its compilation costs
minutes, longer than any probe should take), tried on the fastest eager setting, plain and in CUDA graphs
(`compile=graphs`: torch.compile's "reduce-overhead" mode), and dropped if it fails.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

import torch

from . import diffusion
from .config import RunConfig, replace_path, to_dict
from .data import make_dataset
from .hardware import device_name, machine
from .io import atomic_write_json
from .step import make_batch_loss, make_model, update

KEYS = ("channels_last", "amp", "compile")
PLAIN = {"channels_last": False, "amp": "none", "compile": False}
MARGIN = 1.03  # a candidate must be ≥ 3 % faster than plain: within noise, plain wins
ROUNDS = 3  # timed rounds per candidate, interleaved; the median counts
ROUND_S = 0.3  # aim for this many seconds of steps per candidate per round
DROP = 1.5  # after the first round, drop candidates this much slower than the best


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def cache_path() -> Path:
    """$FACTORDIFF_CACHE_DIR/tune.json, else $XDG_CACHE_HOME/factordiff/tune.json (~/.cache by default)."""
    root = os.environ.get("FACTORDIFF_CACHE_DIR")
    if not root:
        root = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "factordiff")
    return Path(root) / "tune.json"


def has_bf16(device: torch.device) -> bool:
    """Whether the hardware computes in bf16 (not merely emulates it)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool({"avx512_bf16", "amx_bf16"} & set(machine()["cpu_flags"]))


def is_auto(cfg: RunConfig) -> bool:
    return any(getattr(cfg.train, k) == "auto" for k in KEYS)


def candidates(cfg: RunConfig, device: torch.device) -> list[dict]:
    """Eager settings to time, plain (within what the user fixed) first."""
    tc = cfg.train
    cl = [False, True] if tc.channels_last == "auto" else [tc.channels_last]
    amp = (["none", "bf16"] if has_bf16(device) else ["none"]) if tc.amp == "auto" else [tc.amp]
    comp = False if tc.compile == "auto" else tc.compile
    return [{"channels_last": c, "amp": a, "compile": comp} for a in amp for c in cl]


def cache_key(cfg: RunConfig, device: torch.device) -> str:
    """What the choice depends on: machine (CPU model and flags, threads, GPU, torch), network, image size,
    batch, and the options the user fixed."""
    fixed = {k: getattr(cfg.train, k) for k in KEYS if getattr(cfg.train, k) != "auto"}
    return json.dumps({"machine": machine(), "device": device_name(device), "model": to_dict(cfg.model),
                       "image_size": cfg.data.image_size, "batch": cfg.train.batch_size, "fixed": fixed},
                      sort_keys=True)


def read_cache() -> dict:
    try:
        out = json.loads(cache_path().read_text(encoding="utf-8"))
        return out if isinstance(out, dict) else {}
    except (OSError, ValueError):  # missing, unreadable or damaged: measure again
        return {}


def _write_cache(key: str, entry: dict) -> None:
    try:
        cache = read_cache()
        cache[key] = entry
        cache_path().parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(cache_path(), cache)
    except OSError:  # a read-only home: the choice is still written into the run's config
        pass


def step_timer(cfg: RunConfig, device: torch.device):
    """time(k) → seconds for k real training steps of `cfg` (its own model, optimizer and data)."""
    torch.manual_seed(cfg.seed)
    ds = make_dataset(cfg.data)
    model = make_model(cfg, device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    labels = torch.as_tensor(ds.labels, dtype=torch.float32, device=device)
    kinds = torch.as_tensor(ds.kinds, device=device)
    batch_loss = make_batch_loss(cfg, model, diffusion.make_schedule(cfg.diffusion), labels, kinds)
    state = {"step": 0}

    def run(k: int) -> float:
        sync(device)
        t0 = time.perf_counter()
        for _ in range(k):
            update(opt, batch_loss(state["step"]))
            state["step"] += 1
        sync(device)
        return time.perf_counter() - t0

    return run


def measure(cfg: RunConfig, device: torch.device, cands: list[dict], *, rounds: int = ROUNDS,
            round_s: float = ROUND_S, warmup: int | None = None, drop: bool = True, log=None) -> list[dict]:
    """Seconds per step of each candidate: `warmup` steps (default 1, 2 with compile), one step to size the
    rounds, then `rounds` interleaved rounds of k steps; the median round counts. Candidates that fail are
    dropped, and (`drop`) those DROP× slower than the best after the first round."""
    timers, out = [], []
    for c in cands:
        sub = replace_path(cfg, {f"train.{k}": v for k, v in c.items()})
        try:
            t = step_timer(sub, device)
            if warmup or warmup is None:
                t(warmup if warmup is not None else 2 if c["compile"] is True else 3 if c["compile"] == "graphs" else 1)
            first = t(1)
        except Exception as e:  # noqa: BLE001 - a candidate that cannot run (compile, bf16 kernels) is dropped
            if log:
                log(f"tune: {c} failed ({type(e).__name__}: {e}); dropped")
            continue
        timers.append(t)
        out.append({"options": c, "rounds": [first], "k": max(1, min(50, round(round_s / max(first, 1e-6))))})
    k = min((o["k"] for o in out), default=1)  # the same number of steps for every candidate
    live = list(range(len(out)))
    for r in range(rounds):
        for i in live:
            out[i]["rounds"].append(timers[i](k) / k)
        if drop and r == 0 and len(live) > 1:  # the first is plain: always kept as the reference
            best = min(out[i]["rounds"][-1] for i in live)
            live = [i for i in live if i == 0 or out[i]["rounds"][-1] <= DROP * best]
    for o in out:
        o["sec_per_step"] = statistics.median(o["rounds"][1:] or o["rounds"])
        o["images_per_s"] = cfg.train.batch_size / o["sec_per_step"]
    return out


def choose(measured: list[dict]) -> dict:
    """The fastest candidate if it beats the first (plain) by MARGIN, else the first."""
    if not measured:
        return dict(PLAIN)
    plain = measured[0]
    best = min(measured, key=lambda o: o["sec_per_step"])
    return dict(best["options"] if best["sec_per_step"] * MARGIN <= plain["sec_per_step"] else plain["options"])


def probe(cfg: RunConfig, device: torch.device, log=None) -> dict:
    """Time the candidates (eager, then compile of the fastest on CUDA) and choose; not cached."""
    t0 = time.perf_counter()
    cands = candidates(cfg, device)
    measured = measure(cfg, device, cands, log=log)
    pick = choose(measured)
    if cfg.train.compile == "auto" and device.type == "cuda":
        # against its eager form: compiled, and compiled into CUDA graphs (the step is launch-bound on a GPU)
        paired = measure(cfg, device, [pick, {**pick, "compile": True}, {**pick, "compile": "graphs"}], log=log)
        pick = choose(paired)
        measured += paired[1:]
    plain = measured[0]["sec_per_step"] if measured else float("nan")
    for o in measured:
        o["vs_plain"] = plain / o["sec_per_step"]
    return {"choice": pick, "candidates": measured, "probe_s": time.perf_counter() - t0,
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}


def resolve(cfg: RunConfig, device: torch.device, *, log=None, refresh: bool = False) -> tuple[RunConfig, dict]:
    """`cfg` with every `auto` option replaced by the measured choice (cached per machine and shape)."""
    if not is_auto(cfg):
        return cfg, {}
    key = cache_key(cfg, device)
    entry = None if refresh else read_cache().get(key)
    if not (isinstance(entry, dict) and isinstance(entry.get("choice"), dict)
            and set(entry["choice"]) == set(KEYS)):
        entry = probe(cfg, device, log=log)
        _write_cache(key, entry)
        entry = {**entry, "cached": False}
    else:
        entry = {**entry, "cached": True}
    tc = cfg.train
    chosen = {f"train.{k}": entry["choice"][k] for k in KEYS if getattr(tc, k) == "auto"}
    try:
        return replace_path(cfg, chosen), entry
    except Exception:  # noqa: BLE001 - a damaged cache entry: measure again
        return resolve(cfg, device, log=log, refresh=True) if not refresh else (replace_path(cfg, {
            f"train.{k}": PLAIN[k] for k in KEYS if getattr(tc, k) == "auto"}), entry)


def describe(entry: dict) -> str:
    """One line: the choice and what it was measured against."""
    if not entry:
        return "performance options fixed by the config"
    c = entry["choice"]
    rates = ", ".join(f"{name(o['options'])} {o['images_per_s']:.1f} img/s" for o in entry["candidates"])
    src = "cached" if entry.get("cached") else f"measured in {entry['probe_s']:.1f} s"
    return f"auto performance options: {name(c)} ({src}, {entry.get('date', '?')}: {rates})"


def name(o: dict) -> str:
    parts = [p for p, on in (("channels_last", o["channels_last"]), ("bf16", o["amp"] == "bf16"),
                             ("compile", o["compile"] is True), ("graphs", o["compile"] == "graphs")) if on]
    return "+".join(parts) or "plain"


def settle(cfg: RunConfig, saved: RunConfig | None, device: torch.device, log=None) -> RunConfig:
    """A run's concrete options: those of its saved config where the run exists (a resumed run keeps what it
    started with), else the measured choice."""
    if not is_auto(cfg):
        return cfg
    if saved is not None:
        kept = {f"train.{k}": getattr(saved.train, k) for k in KEYS if getattr(cfg.train, k) == "auto"}
        if all(v != "auto" for v in kept.values()):
            return replace_path(cfg, kept)
    out, entry = resolve(cfg, device, log=log)
    if log:
        log(describe(entry))
    return out
