"""factordiff: a laboratory for how diffusion models learn to represent, factorize and compose features
(Liang, Liu, Ostrow, Fiete: arXiv 2402.03305, 2408.13256).

    import factordiff
    cfg = factordiff.preset("cpu", {"train.steps": 500})   # a config: presets, then overrides (dict or key=value)
    run = factordiff.load_run("runs/demo")                  # config, metrics, analysis, snapshots, network
    out = run.sample([[8, 8], [4, 12]])                     # new images, scored at P1's tolerance
    factordiff.train_run(cfg, "runs/mine")                  # train (or resume) a run from Python

Names are imported on first use, so `import factordiff` stays cheap (no torch until it is needed)."""

from __future__ import annotations

import importlib

try:
    from importlib.metadata import PackageNotFoundError, version

    __version__ = version("factordiff")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

# name → (module, attribute). Training is `train_run`: a lazy `train` would be replaced by the submodule
# factordiff.train as soon as that is imported (the first call imports it), and then no longer be callable
_LAZY = {"load_run": ("api", "load_run"), "Run": ("api", "Run"), "compare": ("api", "compare"),
         "preset": ("presets", "preset"), "RunConfig": ("config", "RunConfig"), "train_run": ("train", "train"),
         "analyze_run": ("analyze", "analyze_run"), "make_dataset": ("data", "make_dataset"),
         "reproduce": ("experiments", "reproduce"), "split_half": ("probes", "split_half"),
         "kernel_superposition": ("probes", "kernel_superposition")}
__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f".{module}", __name__), attr)
    raise AttributeError(f"module 'factordiff' has no attribute {name!r}")
