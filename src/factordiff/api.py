"""The notebook face of the lab: `load_run(path)` gives one object with a run's config, metrics, analysis,
snapshots and trained network, and `Run.sample(labels)` draws and scores new images.

    import factordiff
    run = factordiff.load_run("runs/demo")
    out = run.sample([[8, 8], [4, 12]])           # images (uint8), predicted labels, accuracy at P1's tolerance
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from .config import RunConfig
from .errors import ConfigError, FactordiffError
from .rundir import RunDir


def _table(rows: list[dict]):
    """A pandas DataFrame when pandas is installed, else the list of row dicts."""
    try:
        import pandas as pd
    except ImportError:
        return rows
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

    def metrics(self, kind: str | None = "eval"):
        """metrics.jsonl rows of that kind ('eval', 'train', None for all) as a table (pandas when installed)."""
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
        from .data import BUMP, SOS
        from .evaluate import load_network, sample_and_score

        labels = np.asarray(labels, dtype=np.float64).reshape(-1, 2)
        if kinds is None:  # 2D images of the run's kind: bumps for bump / bump+stripes, SOS otherwise
            kinds = np.full(len(labels), BUMP if self.config.data.kind in ("bump", "bump+stripes") else SOS)
        cfg, net, _, _ = load_network(self.dir, step, device)
        return sample_and_score(net, labels, np.asarray(kinds), cfg, seed=seed, layers=tuple(layers))


def load_run(path: str | Path) -> Run:
    """The run in `path` (a `factordiff train` / `demo` / sweep run directory)."""
    run = Run(Path(path))
    run.config  # noqa: B018 - fail now, with the reason, if this is not a run directory
    return run
