"""Presets: named sets of overrides (the same `key=value` strings a user types), applied left to right by
`preset(names, overrides)`: a scale (`paper`, `cpu`), then a dataset of P1 or P2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import ALL_LAYERS, RunConfig, apply_overrides, load_config, replace_path
from .errors import ConfigError

SCALES: dict[str, dict[str, Any]] = {
    # P1 §4 as docs/papers.md §1.2 reconstructs it: the full UNet, T = 1000, 500 evaluation samples, 320k steps,
    # a snapshot every 6,400 steps (50 snapshots), ancestral DDPM sampling.
    "paper": {"model.base": 64, "model.pe_dim": 128, "model.attention": ALL_LAYERS, "model.bottleneck": "big",
              "diffusion.timesteps": 1000, "diffusion.sampler": "ddpm", "diffusion.sample_steps": 0,
              "train.steps": 320000, "train.batch_size": 64, "train.eval_samples": 500,
              "train.snapshot_every": 6400},
    # The same design at a quarter of the width on P1's pixels (σ = 1, d = 1, tolerance 1 px: P1's geometry)
    # on a cropped canvas N = 16 (17 × 17 labels, P1's neighbour overlap), found by experiment (README "The cpu
    # preset"): all three phases by P1's criteria in about 3 minutes on a 2-core CPU. No self-attention, light
    # bottleneck, T = 200 with β scaled ×5, evaluation with 20-step stochastic DDIM (η = 1) on 300 samples.
    "cpu": {"data.image_size": 16, "data.sigma": 1.0, "data.increment": 1.0, "data.pixel_scale": 1.0,
            "model.base": 16, "model.pe_dim": 32, "model.attention": (), "model.bottleneck": "light",
            "diffusion.timesteps": 200, "diffusion.sampler": "ddim", "diffusion.sample_steps": 20,
            "diffusion.eta": 1.0, "train.steps": 2000, "train.batch_size": 64, "train.lr": 2e-3,
            "train.ema_decay": 0.99, "train.ema_start": 1000, "train.snapshot_every": 100,
            "train.checkpoint_every": 500, "train.eval_samples": 300, "train.eval_ood_samples": 50},
}

PRESETS: dict[str, dict[str, Any]] = {
    **SCALES,
    "p1-bump": {},  # P1 Fig 2/3: σ = 1, d = 1 (1,089 images)
    "p1-dense": {"data.increment": 0.1},  # P1 Fig 4 densest: 321² images
    "p1-imbalance-strong": {"data.increment_x": 0.1, "data.increment_y": 1.0},  # P1 Fig 5a
    "p1-imbalance-weak": {"data.increment_x": 0.1, "data.increment_y": 0.5},  # P1 Fig 5b
    "p1-hole-3.5": {"data.increment": 0.1, "data.holdout": "box",
                    "data.holdout_x": (13.0, 19.0), "data.holdout_y": (13.0, 19.0)},  # P1 Fig 9 (~3.5 %)
    "p1-hole-10": {"data.increment": 0.1, "data.holdout": "box",
                   "data.holdout_x": (11.0, 21.0), "data.holdout_y": (11.0, 21.0)},  # P1 Fig 9 (~10 %)
    "p2-torus": {"data.periodic": True},  # P2 Fig 2
    "p2-sos-cross": {"data.kind": "sos", "data.holdout": "cross"},  # P2 Fig 4a
    "p2-stripes": {"data.kind": "stripes"},  # P2 Fig 4b / 10 (with rim SOS)
    "p2-stripes-norim": {"data.kind": "stripes", "data.rim_width": 0.0},  # P2 Fig 10 ablation
    "p2-sos-stripes-cross": {"data.kind": "sos+stripes", "data.holdout": "cross"},  # P2 Fig 4 (c)
    "p2-bump-stripes": {"data.kind": "bump+stripes", "data.stripe_offsets": "one"},  # P2 Fig 5b (docs/papers.md §6 #19)
    "p2-lesion": {"data.holdout": "band_x", "data.holdout_x": (14.25, 17.75)},  # P2 Fig 11, width 3.5
}


def preset(names: str | list[str] | tuple[str, ...],
           overrides: list[str] | tuple[str, ...] | dict[str, Any] = ()) -> RunConfig:
    """The named preset(s), applied left to right (e.g. ["cpu", "p2-torus"]: a scale, then a dataset), then
    overrides on top: `key=value` strings or a {dotted.key: value} dict."""
    names = [names] if isinstance(names, str) else list(names)
    scales = [n for n in names if n in SCALES]
    if len(scales) > 1:
        raise ConfigError("--preset", scales, "at most one scale preset (they set the same fields to different "
                          "values: a hybrid would run neither scale)",
                          f"--preset: {' and '.join(scales)} are both scale presets; use one (a hybrid would run "
                          "neither scale), then dataset presets and key=value overrides")
    cfg, set_by = RunConfig(), {}
    for name in names:
        if name not in PRESETS:
            close = __import__("difflib").get_close_matches(str(name), list(PRESETS), n=1)
            raise ConfigError("preset", name, "one of " + ", ".join(sorted(PRESETS)),
                              f"preset: unknown {name!r}" + (f"; did you mean {close[0]!r}?" if close else "")
                              + f" (one of {', '.join(sorted(PRESETS))}; `factordiff config presets` lists them)")
        for key, value in PRESETS[name].items():
            if key in set_by and set_by[key][1] != value and set_by[key][0] not in SCALES:
                first, old = set_by[key]
                raise ConfigError(key, value, "one value", f"{key}: preset {first!r} sets {old!r} and preset "
                                  f"{name!r} sets {value!r}; use one of them, or set {key}=… explicitly")
            set_by[key] = (name, value)
        try:
            cfg = replace_path(cfg, PRESETS[name])
        except ConfigError as e:
            section = e.field.split(".")[0] + "."
            sides = {}
            for k, (n, v) in set_by.items():
                if k.startswith(section) and n not in SCALES:
                    sides.setdefault(n, []).append(f"{k}={v!r}")
            who = "; ".join(f"preset {n!r} sets {', '.join(ks)}" for n, ks in sides.items())
            raise ConfigError(e.field, e.value, e.allowed, f"{e}: {who}") from None
    return apply_overrides(cfg, overrides)


def resolve_run_config(items: list[str], preset_name: str | list[str] | None) -> RunConfig:
    """A YAML path (at most one) and key=value overrides, on top of a preset or the defaults. An existing file is
    a path even with '=' in it: sweep run directories are named like `sigma=0.5_seed=0`."""
    paths = [i for i in items if "=" not in i or Path(i).is_file()]
    overrides = [i for i in items if i not in paths]
    for item in paths:
        if not Path(item).is_file():
            raise ConfigError(item, item, "an existing CONFIG.yaml file or a key=value override (e.g. data.sigma=0.5)",
                              f"{item!r} is neither an existing CONFIG.yaml file nor a key=value override "
                              "(e.g. data.sigma=0.5)")
    if len(paths) > 1:
        raise ConfigError("CONFIG", paths, "at most one YAML file (the other arguments must be key=value)")
    if paths and preset_name:
        raise ConfigError("--preset", preset_name, "absent when a CONFIG file is given")
    if paths:
        return apply_overrides(load_config(paths[0]), overrides)
    return preset(preset_name, overrides) if preset_name else apply_overrides(RunConfig(), overrides)
