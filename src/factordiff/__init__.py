"""factordiff: a laboratory for how diffusion models learn to represent, factorize and compose features
(Liang, Liu, Ostrow, Fiete: arXiv 2402.03305, 2408.13256).

    import factordiff
    cfg = factordiff.preset("cpu", {"train.steps": 500})   # a config: presets, then overrides (dict or key=value)
    run = factordiff.load_run("runs/demo")                  # config, metrics, analysis, snapshots, network
    out = run.sample([[8, 8], [4, 12]])                     # new images, scored at P1's tolerance

Names are imported on first use, so `import factordiff` stays cheap (no torch until it is needed)."""

from __future__ import annotations

import importlib

try:
    from importlib.metadata import PackageNotFoundError, version

    __version__ = version("factordiff")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

_LAZY = {"load_run": "api", "Run": "api", "compare": "api", "preset": "presets", "RunConfig": "config",
         "train": "train",
         "analyze_run": "analyze", "make_dataset": "data", "reproduce": "experiments"}
__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'factordiff' has no attribute {name!r}")
