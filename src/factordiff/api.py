"""The notebook face of the lab: `load_run(path)` gives one object with a run's config, metrics, analysis,
snapshots, summary and trained network, `Run.sample(labels)` draws and scores new images, and `compare(runs)`
puts several runs side by side (a table and a figure).

    import factordiff
    run = factordiff.load_run("runs/demo")
    run.summary()                                 # what it is, how far it trained, accuracy, phase onsets
    out = run.sample([[8, 8], [4, 12]])           # images (uint8), predicted labels, accuracy at P1's tolerance
    table, fig = factordiff.compare(["runs/a", "runs/b"])
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from .config import RunConfig
from .errors import ConfigError, FactordiffError
from .rundir import RunDir
from .score import accuracy_words


def _table(rows: list[dict]):
    """The rows as a pandas DataFrame (nested dicts flattened to dotted columns)."""
    import pandas as pd

    return pd.json_normalize(rows) if rows else pd.DataFrame()


@dataclass(frozen=True)
class Run:
    """A trained (or training) run directory, read lazily; nothing here writes to it."""

    path: Path

    @cached_property
    def dir(self) -> RunDir:
        return RunDir(self.path)

    @cached_property
    def config(self) -> RunConfig:
        return self.dir.load_config()

    @property
    def steps(self) -> list[int]:
        """The steps with a snapshot on disk."""
        return [s for s, _ in self.dir.list_snapshots()]

    def __repr__(self) -> str:
        try:
            s = self.summary()
        except FactordiffError as e:
            return f"Run({str(self.path)!r}: unreadable: {e})"
        acc = "not evaluated yet" if s["acc"] is None else accuracy_words(s["acc"], s["acc_ceiling"],
                                                                          s["acc_detectable"])
        phases = ", ".join(f"{p} from {v:,}" for p, v in (s.get("onsets") or {}).items() if v is not None)
        return (f"Run({str(self.path)!r}: {s['what']}, seed {s['seed']}, step {s['step']:,} of {s['steps']:,}, {acc}"
                + (f"; phases {phases}" if phases else "") + ")")

    def summary(self, layer: str = "layer4") -> dict:
        """What the run is and where it stands: its data and network in a few words, seed, step reached of the
        steps asked, the last evaluation's accuracy beside its ground-truth ceiling (and over the detectable
        labels), and from `factordiff analyze` the phase onsets, the phase rule and the grid geometry."""
        cfg = self.config
        d, m = cfg.data, cfg.model
        evals = self.dir.read_metrics("eval")
        last = evals[-1] if evals else {}
        analysed = self.dir.summary(layer)
        what = (f"{d.kind} N {d.image_size}, σ {d.sigma:g}, d {d.increment:g}" + (", periodic" if d.periodic else "")
                + (f", holdout {d.holdout}" if d.holdout != "none" else "") + f", UNet base {m.base}")
        return {"path": str(self.path), "what": what, "seed": cfg.seed, "steps": cfg.train.steps,
                "step": int(last.get("step", 0)), "acc": last.get("acc"), "acc_ceiling": last.get("acc_ceiling"),
                "acc_detectable": (last.get("detectable") or {}).get("acc"),
                "onsets": analysed.get("onsets"), "rule": analysed.get("rule"),
                "geometry": analysed.get("geometry"), "analysed": bool(analysed)}

    def metrics(self, kind: str | None = "eval"):
        """metrics.jsonl rows of that kind ('eval', 'train', None for all) as a pandas DataFrame."""
        return _table(self.dir.read_metrics(kind))

    def analysis(self, layer: str = "layer4"):
        """analysis.jsonl's per-snapshot rows for `layer` (`factordiff analyze`) as a table."""
        return _table(self.dir.read_analysis("analysis", layer))

    def snapshot(self, step: int | None = None) -> dict[str, np.ndarray]:
        """The arrays of one snapshot (the last when step is None): images, labels, kinds, pred, counts,
        act_<layer> and lab_<layer>."""
        have = dict(self.dir.list_snapshots())
        if not have:
            raise FactordiffError(f"{self.path} has no snapshot yet")
        step = max(have) if step is None else step
        if step not in have:
            raise ConfigError("step", step, f"a step with a snapshot: {sorted(have)}")
        return self.dir.load_snapshot(have[step])

    def network(self, step: int | None = None, device: str = "auto"):
        """The trained UNet (EMA weights when the run keeps an EMA) of a kept checkpoint, in eval mode."""
        from .evaluate import load_network

        return load_network(self.dir, step, device)[1]

    def sample(self, labels, kinds=None, *, seed: int = 0, step: int | None = None, layers=(),
               device: str = "auto") -> dict:
        """Draw one image per label with the run's sampler and score it (P1 Alg. 1, eq. 1): {'images' (uint8),
        'pred', 'counts', 'acts': {layer: (n, D)}, 'metrics', 'seconds'}. `kinds` defaults to the run's image
        kind (bumps, or SOS for the stripe datasets' 2D images)."""
        from .data import image_kind
        from .evaluate import load_network, sample_and_score

        labels = np.asarray(labels, dtype=np.float64).reshape(-1, 2)
        if kinds is None:  # 2D images of the run's kind: bumps for bump / bump+stripes, SOS otherwise
            kinds = np.full(len(labels), image_kind(self.config.data))
        cfg, net, _, _ = load_network(self.dir, step, device)
        return sample_and_score(net, labels, np.asarray(kinds), cfg, seed=seed, layers=tuple(layers))


def compare(runs, out: str | Path | None = None):
    """Several runs side by side: (a DataFrame with one row per run: `Run.summary()`'s numbers, and a figure of
    their accuracy curves over training, each beside its ceiling). `runs`: paths or `Run`s; `out`: also save the
    figure there (PNG)."""
    import pandas as pd

    from . import plot
    from .io import save_figure

    runs = [r if isinstance(r, Run) else load_run(r) for r in runs]
    if not runs:
        raise ConfigError("runs", runs, "one or more run directories")
    rows = []
    for r in runs:
        s = r.summary()
        rows.append({k: v for k, v in s.items() if k not in ("geometry", "rule", "onsets")}
                    | {f"onset_{p}": v for p, v in (s.get("onsets") or {}).items()})
    fig, ax = plot.new_figure(1, 1, size=(7, 4))
    for i, r in enumerate(runs):
        ev = r.dir.read_metrics("eval")
        steps = [e["step"] for e in ev]
        ax[0, 0].plot(steps, [e.get("acc") for e in ev], "-", color=plot.color(i), label=str(r.path))
        ax[0, 0].plot(steps, [e.get("acc_ceiling") for e in ev], ":", color=plot.color(i))
    ax[0, 0].set_xlabel("training step")
    ax[0, 0].set_ylabel("accuracy (dotted: its ground-truth ceiling)")
    ax[0, 0].set_ylim(0, 1.02)
    ax[0, 0].legend(fontsize=7)
    if out is not None:
        save_figure(fig, out)
    return pd.DataFrame(rows), fig


def load_run(path: str | Path) -> Run:
    """The run in `path` (a `factordiff train` / `demo` / sweep run directory)."""
    run = Run(Path(path))
    run.config  # noqa: B018 - fail now, with the reason, if this is not a run directory
    return run
