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
    cores.json             the threads the local pool lets a running run take now (raised when a partner ends)
    figures/, report.html  `factordiff report`
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import RunConfig, load_config, to_dict
from .errors import CheckpointError, ConfigError, FactordiffError
from .io import read_jsonl

# Every file name of a run directory and of a sweep directory, in one place: RunDir(p).<key> is p / <name>.
RUN_FILES = {"config": "config.yaml", "metrics": "metrics.jsonl", "snapshots": "snapshots",
             "checkpoints": "checkpoints", "analysis": "analysis.jsonl", "probes": "probes",
             "grid_accuracy": "grid_accuracy.json", "status": "status.json", "cores": "cores.json",
             "figures": "figures", "report": "report.html", "samples": "samples"}
SWEEP_FILES = {"spec": "sweep.json", "results": "results.csv", "verdicts": "verdicts.json", "figures": "figures",
               "report": "report.html", "measured": "measured.json", "slurm": "slurm"}
METRICS_REBUILD = ("metrics.jsonl is training's own log and no command rebuilds it: remove the damaged line by "
                   "hand (the rows around it are intact); the snapshots keep every evaluation's images and scores")
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

    def check_tree(self) -> None:
        """The run directory and its folders are real directories (or absent): a symlink loop, a dangling link
        or a file where a folder belongs is one error naming it, before any work (a `snapshots` link to itself
        once let training run, then die writing its first snapshot)."""
        for p in (self.path, self.snapshots, self.checkpoints, self.probes, self.figures):
            if p.is_symlink() and not p.exists():
                raise ConfigError("RUN", str(p), "a directory", f"{p} is a symlink that loops or points nowhere; "
                                  "replace it with a directory (or remove it)")
            if p.exists() and not p.is_dir():
                raise ConfigError("RUN", str(p), "a directory", f"{p} is a file where a directory belongs; move it "
                                  "aside")

    def load_snapshot(self, path: str | Path) -> dict:
        """The arrays of one snapshot, checked: images (K, N, N) uint8 at the run's N, labels and pred (K, 2),
        kinds and counts (K,), act_* and lab_* (K, …), every K the same; anything else is one error naming the
        file and the array (a snapshot cut or mixed by hand would otherwise fail deep inside the scorer)."""
        from .io import load_npz

        path = Path(path)
        step = step_of(path)
        advice = (f"training writes each snapshot once, at its step, and does not go back to it: delete {path.name} "
                  f"and the analysis goes on without step {step}")
        if not path.exists():
            raise FactordiffError(f"{path}: missing (analysis.jsonl or the caller names step {step}, but its snapshot "
                                  f"is gone); rerun `factordiff analyze {self.path}` to analyse the snapshots that "
                                  "exist")
        z = load_npz(path, advice)
        need = {"images": 3, "labels": 2, "kinds": 1, "pred": 2, "counts": 1}
        missing = [k for k in need if k not in z]
        if missing:
            raise FactordiffError(f"{path}: not a snapshot (no {', '.join(missing)}); {advice}")
        lengths = [len(z[n]) for n in need if z[n].ndim]
        k = max(set(lengths), key=lengths.count)  # the count most arrays agree on: the odd one is named
        for name, arr in z.items():
            ndim = need.get(name)
            bad = (ndim is not None and arr.ndim != ndim) or arr.ndim == 0 or len(arr) != k
            bad = bad or (name in ("labels", "pred") and arr.shape[1:] != (2,))
            if name == "images" and not bad:
                n = self.load_config().data.image_size if self.config.exists() else arr.shape[1]
                bad = arr.dtype != np.uint8 or arr.shape[1:] != (n, n)
            if bad:
                raise FactordiffError(f"{path}: array {name!r} has shape {arr.shape} ({arr.dtype}), which does not "
                                      f"fit a snapshot of {k} labels; the file is damaged: {advice}")
        return z

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
        return [r for r in read_jsonl(self.metrics, METRICS_REBUILD) if kind is None or r.get("kind") == kind]

    def read_analysis(self, kind: str | None = "analysis", layer: str | None = None) -> list[dict]:
        """Rows of analysis.jsonl (a crash-cut last line is skipped) of that kind ('analysis', 'summary',
        None for all) and layer."""
        return [r for r in read_jsonl(self.analysis, f"delete it and rerun `factordiff analyze {self.path}` (it "
                                      "rewrites the file whole from the snapshots)")
                if (kind is None or r.get("kind") == kind)
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


def checkpoint_config(run: RunDir) -> tuple[dict | None, Path | None]:
    """(the config its newest committed checkpoint was trained with, that checkpoint's manifest), or (None, None)
    when no checkpoint records one. The checkpoints are the run's identity: config.yaml is only its copy."""
    import json

    from .checkpoint import list_checkpoints

    if not run.checkpoints.is_dir():
        return None, None
    for d in reversed(list_checkpoints(run.checkpoints)):
        try:
            manifest = json.loads((d / "manifest.json").read_text())
        except (OSError, ValueError):
            continue  # a damaged manifest: the checkpoint loader refuses it by name; look at the previous one
        if isinstance(manifest, dict) and isinstance(manifest.get("config"), dict):
            return manifest["config"], d / "manifest.json"
    return None, None


def restore_config(run_dir: str | Path) -> Path:
    """Write RUN/config.yaml from its newest checkpoint's manifest (the config it was trained with), when the
    file is missing or unreadable; refused when config.yaml is readable (nothing to restore) or no checkpoint
    records a config."""
    from .config import from_dict, save_config

    run = RunDir(run_dir)
    saved, where = checkpoint_config(run)
    if saved is None:
        raise CheckpointError(f"run {run.path} has no committed checkpoint that records its config: nothing to "
                              "restore config.yaml from; start a new run")
    if run.config.exists() and not run.config.is_symlink():
        try:
            load_config(run.config)
        except FactordiffError:
            pass
        else:
            raise CheckpointError(f"{run.config} is readable: nothing to restore (delete it first to replace it "
                                  f"with the config {where} records)")
    if run.config.is_symlink():
        run.config.unlink()
    save_config(from_dict(RunConfig, saved), run.config)
    return run.config


def _has_work(run: RunDir) -> str | None:
    """What a run directory already holds that a config belongs to ('checkpoints', 'snapshots', 'metrics'), or
    None for a fresh directory."""
    from .checkpoint import list_checkpoints

    if run.checkpoints.is_dir() and list_checkpoints(run.checkpoints):
        return "checkpoints"
    if run.snapshots.is_dir() and any(run.snapshots.glob("step_*.npz")):
        return "snapshots"
    if run.metrics.exists() and run.metrics.stat().st_size > 0:
        return "metrics"
    return None


def check_resume(run: RunDir, cfg: RunConfig, may_change: tuple[str, ...] = TRAIN_MAY_CHANGE) -> None:
    """Refuse to continue the run in `run` with a config that differs, in a field outside `may_change` (dotted
    keys or prefixes ending in '.'), from its saved config.yaml or from the config its newest checkpoint was
    trained with (the run's identity); train.steps may grow, never shrink. A run that holds work but no readable
    config.yaml is refused with how to restore it (`factordiff config restore RUN`): its config is never guessed
    from the command line."""
    from .config import from_dict

    if run.config.is_symlink() and not run.config.exists():
        raise CheckpointError(f"{run.config} is a broken or looping symlink; replace it with the run's config "
                              f"(`factordiff config restore {run.path}` writes the one its checkpoints record)")
    manifest, where = checkpoint_config(run)
    if not run.config.exists():
        work = _has_work(run)
        if work:
            how = (f"`factordiff config restore {run.path}` writes the config its checkpoint {where} records"
                   if manifest is not None else "no checkpoint records its config: start a new run directory")
            raise CheckpointError(f"run {run.path} holds {work} but no config.yaml: refusing to continue it under "
                                  f"a config read off the command line; {how}")
        return
    new = _flat(to_dict(cfg))
    refs = [("config.yaml", _flat(to_dict(load_config(run.config))))]
    if manifest is not None:
        try:
            refs.append((f"its checkpoint ({where})", _flat(to_dict(from_dict(RunConfig, manifest)))))
        except FactordiffError:
            pass  # a checkpoint from an older config format: config.yaml alone speaks for the run
    for what, old in refs:
        _compare(run, what, old, new, may_change)


def _compare(run: RunDir, what: str, old: dict, new: dict, may_change: tuple[str, ...]) -> None:
    free = lambda k: any(k == m or (m.endswith(".") and k.startswith(m)) for m in may_change)  # noqa: E731
    kept = lambda k: k in AUTO_KEYS and new[k] == "auto"  # noqa: E731 - `auto` keeps the run's measured choice
    changed = [k for k in new if old.get(k) != new[k] and not free(k) and not kept(k)]
    if changed:
        raise CheckpointError(f"run {run.path} was set up with a different config ({', '.join(changed)}; per "
                              f"{what}); "
                              "refusing to continue it with this one (only train.* options may change on resume, "
                              "only train.steps in a sweep; use a new run or sweep directory)")
    if new["train.steps"] < old["train.steps"] and may_change == SWEEP_MAY_CHANGE:
        from .errors import ConfigError

        raise ConfigError("train.steps", new["train.steps"], f"at least the {old['train.steps']} steps "
                          f"{run.path} was set up for (a sweep extends runs, never shortens them)")
