"""The registry of named experiments: each paper figure is one module here (its docstring, SPECS for the
`cpu` and `paper` scales, an optional `measure`, `draw` and `judge`), listed once below. The CLI's help and the
README's experiment table are generated from this list."""

from __future__ import annotations

from ..errors import ConfigError
from . import (
    bias_bench,
    bias_bench_factors,
    bias_bench_fewdata,
    bias_bench_learned,
    p1_holes,
    p1_imbalance,
    p1_increment,
    p1_increment_budget,
    p1_phases,
    p1_sigma,
    p1_sigma_seeds,
    p2_composition,
    p2_composition_budget,
    p2_lesion,
    p2_orthogonality,
    p2_percolation,
    p2_regions,
    p2_rim,
    p2_scaling,
    p2_torus,
    p2_torus_budget,
)
from .base import Experiment

MODULES = (p1_phases, p1_increment, p1_imbalance, p1_sigma, p1_holes, p2_torus, p2_orthogonality, p2_composition,
           p2_scaling, p2_percolation, p2_rim, p2_lesion, p2_regions, p2_torus_budget, p1_sigma_seeds,
           p2_composition_budget, p1_increment_budget, bias_bench, bias_bench_factors,
           bias_bench_learned, bias_bench_fewdata)
EXPERIMENTS: dict[str, Experiment] = {m.EXPERIMENT.name: m.EXPERIMENT for m in MODULES}


def get(name: str) -> Experiment:
    if name not in EXPERIMENTS:
        import difflib

        close = difflib.get_close_matches(name, list(EXPERIMENTS), n=1)
        raise ConfigError("EXPERIMENT", name, "one of " + ", ".join(EXPERIMENTS),
                          f"EXPERIMENT: unknown {name!r}" + (f"; did you mean {close[0]!r}?" if close else "")
                          + f" (one of {', '.join(EXPERIMENTS)})")
    return EXPERIMENTS[name]


def help_text() -> str:
    """One line per experiment, for `factordiff reproduce --help`."""
    width = max(map(len, EXPERIMENTS))
    return "\n".join(f"  {e.name:<{width}}  {e.figure}: {e.claim}" for e in EXPERIMENTS.values())


def readme_table() -> str:
    """The README's experiment table (between its <!-- experiments --> markers; a test keeps it in sync)."""
    lines = ["| experiment | paper figure | claim the verdicts test | runs (cpu scale) |", "|---|---|---|---|"]
    from ..sweep import expand, parse_spec

    for e in EXPERIMENTS.values():
        runs = str(len(expand(parse_spec({"name": e.name, **e.specs["cpu"]}))))
        runs += f" (`{e.sweep_of}`'s, when it has run)" if e.sweep_of else ""
        lines.append(f"| `{e.name}` | {e.figure} | {e.claim} | {runs} |")
    return "\n".join(lines)


