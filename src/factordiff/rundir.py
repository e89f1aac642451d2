"""The one module that names what is on disk: a run directory (`RunDir`) and a sweep directory (`SweepDir`).

Every other module asks these for paths (`RunDir(p).config`, `.snapshot(step)`, `.analysis`, …), lists
snapshots and steps through them, and reads the derived JSON lines through `io.read_jsonl`, which skips a
line cut by a crash. A run directory (EDM's one-folder-per-run, with its options saved beside the outputs):

    config.yaml            every field of the run's config (written before training starts)
    metrics.jsonl          training loss rows and one eval row per snapshot
    snapshots/step_*.npz   generated images, labels, predictions and recorded layer activations
    checkpoints/step_*/    safetensors + manifest.json (the commit marker), see checkpoint.py
    analysis.jsonl         `factordiff analyze`: one row per snapshot and a summary row
    probes/grid_step_*.npz the grid probe of the factorization analysis
    grid_accuracy.json     accuracy of the final model over the whole 2D label grid (cached)
    status.json            a sweep worker's state: pending → running → done | failed | interrupted
    figures/, report.html  `factordiff report`
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .config import RunConfig, load_config, to_dict
from .errors import CheckpointError, ConfigError, FactordiffError
from .io import read_jsonl

# Every file name of a run directory and of a sweep directory, in one place: RunDir(p).<key> is p / <name>.
RUN_FILES = {"config": "config.yaml", "metrics": "metrics.jsonl", "snapshots": "snapshots",
             "checkpoints": "checkpoints", "analysis": "analysis.jsonl", "probes": "probes",
             "grid_accuracy": "grid_accuracy.json", "status": "status.json", "figures": "figures",
             "report": "report.html", "samples": "samples"}
SWEEP_FILES = {"spec": "sweep.json", "results": "results.csv", "verdicts": "verdicts.json", "figures": "figures",
               "report": "report.html", "measured": "measured.json", "slurm": "slurm"}
_STEP = re.compile(r"^(?:grid_)?step_(\d+)$")


def step_of(path: str | Path) -> int:
    """The step number in a `step_00000100.npz`, `step_00000100/` or `grid_step_00000100.npz` name."""
    m = _STEP.match(Path(path).name.split(".")[0])
    if not m:
        raise ValueError(f"{path} is not named step_NNNNNNNN")
    return int(m.group(1))


def _steps(paths) -> list[tuple[int, Path]]:
    out = []
    for p in paths:
        try:
            out.append((step_of(p), p))
        except ValueError:
            continue  # a temporary or foreign file
    return sorted(out)


@dataclass(frozen=True)
class RunDir:
    path: Path

    def __init__(self, path: str | Path):
        object.__setattr__(self, "path", Path(path))

    @property
    def name(self) -> str:
        return self.path.name

    def snapshot(self, step: int) -> Path:
        return self.snapshots / f"step_{step:08d}.npz"

    def probe(self, step: int) -> Path:
        return self.probes / f"grid_step_{step:08d}.npz"

    def list_snapshots(self) -> list[tuple[int, Path]]:
        """(step, path) of every snapshot, by step."""
        return _steps(self.snapshots.glob("step_*.npz"))

    def list_probes(self) -> list[tuple[int, Path]]:
        return _steps(self.probes.glob("grid_step_*.npz"))

    def exists(self) -> bool:
        return self.config.exists()

    def load_config(self) -> RunConfig:
        """The run's saved config; a clear error when this is not a run directory."""
        if not self.config.exists():
            raise ConfigError("RUN", str(self.path), "a run directory", f"{self.path} is not a run directory (no "
                              f"{RUN_FILES['config']}); train one with `factordiff train --run-dir {self.path}`")
        if self.config.stat().st_size == 0 or not self.config.read_bytes().strip():
            raise ConfigError("RUN", str(self.config), "a saved config", f"{self.config} is empty: a damaged run "
                              "directory (its config was cut); the run cannot be read as any config")
        return load_config(self.config)

    def read_metrics(self, kind: str | None = None) -> list[dict]:
        return [r for r in read_jsonl(self.metrics) if kind is None or r.get("kind") == kind]

    def read_analysis(self, kind: str | None = "analysis", layer: str | None = None) -> list[dict]:
        """Rows of analysis.jsonl (a crash-cut last line is skipped) of that kind ('analysis', 'summary',
        None for all) and layer."""
        return [r for r in read_jsonl(self.analysis) if (kind is None or r.get("kind") == kind)
                and (layer is None or r.get("layer") == layer)]

    def summary(self, layer: str = "layer4") -> dict:
        """The last summary row of analysis.jsonl for `layer` ({} when there is none)."""
        rows = self.read_analysis("summary", layer)
        return rows[-1] if rows else {}


@dataclass(frozen=True)
class SweepDir:
    path: Path

    def __init__(self, path: str | Path):
        object.__setattr__(self, "path", Path(path))

    def run(self, name: str) -> RunDir:
        return RunDir(self.path / "runs" / name)

    def runs(self) -> list[RunDir]:
        """Every run directory that holds a config, by name."""
        root = self.path / "runs"
        return [r for r in map(RunDir, sorted(root.glob("*"))) if r.exists()] if root.exists() else []

    def exists(self) -> bool:
        return self.spec.exists()

    def load_spec(self) -> dict:
        import json

        if not self.spec.exists():
            raise FactordiffError(f"{self.path} is not a sweep directory (no sweep.json)")
        try:
            return json.loads(self.spec.read_text())
        except (OSError, ValueError) as e:
            raise FactordiffError(f"{self.spec} is unreadable: {e}") from None


def _name_paths(cls, files: dict[str, str]) -> None:
    for attr, fname in files.items():
        setattr(cls, attr, property(lambda self, f=fname: self.path / f, doc=f"PATH/{fname}"))


_name_paths(RunDir, RUN_FILES)
_name_paths(SweepDir, SWEEP_FILES)


# ---- resume: one rule, two policies -------------------------------------------------------------------------

TRAIN_MAY_CHANGE = ("train.",)  # `factordiff train` on an existing run: optimisation and speed options may change
SWEEP_MAY_CHANGE = ("train.steps",)  # a sweep spec may only let a run train longer
AUTO_KEYS = ("train.channels_last", "train.amp", "train.compile")  # `auto` resolves to the saved run's values


def _flat(d: dict, pre: str = "") -> dict:
    return {k2: v2 for k, v in d.items() for k2, v2 in
            (_flat(v, f"{pre}{k}.").items() if isinstance(v, dict) else [(pre + k, v)])}


def check_resume(run: RunDir, cfg: RunConfig, may_change: tuple[str, ...] = TRAIN_MAY_CHANGE) -> None:
    """Refuse to continue the run in `run` with a config that differs from its saved one in a field outside
    `may_change` (dotted keys or prefixes ending in '.'); train.steps may grow, never shrink."""
    if not run.config.exists():
        return
    old, new = _flat(to_dict(load_config(run.config))), _flat(to_dict(cfg))
    free = lambda k: any(k == m or (m.endswith(".") and k.startswith(m)) for m in may_change)  # noqa: E731
    kept = lambda k: k in AUTO_KEYS and new[k] == "auto"  # noqa: E731 - `auto` keeps the run's measured choice
    changed = [k for k in new if old.get(k) != new[k] and not free(k) and not kept(k)]
    if changed:
        raise CheckpointError(f"run {run.path} was set up with a different config ({', '.join(changed)}); "
                              "refusing to continue it with this one (only train.* options may change on resume, "
                              "only train.steps in a sweep; use a new run or sweep directory)")
    if new["train.steps"] < old["train.steps"] and may_change == SWEEP_MAY_CHANGE:
        from .errors import ConfigError

        raise ConfigError("train.steps", new["train.steps"], f"at least the {old['train.steps']} steps "
                          f"{run.path} was set up for (a sweep extends runs, never shortens them)")
