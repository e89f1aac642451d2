"""The results table of a sweep: one row per (run, snapshot step). Its columns are declared where they are
produced: the config (every `data.*` field, `train.steps`, the seed and the grid keys), the dataset's image
counts, `score.table_columns` (accuracies, per region), `analyze.table_columns` / `summary_columns` (R², PCA,
phase, Betti, factorization) and the training loss. `aggregate` writes SWEEP/results.csv atomically."""

from __future__ import annotations

import csv
import io as _io
from pathlib import Path

from . import analyze, score
from .config import to_dict
from .data import make_dataset
from .io import atomic_write_text
from .rundir import RunDir, SweepDir


def _flat(d: dict, pre: str = "") -> dict:
    return {k2: v2 for k, v in d.items() for k2, v2 in
            (_flat(v, f"{pre}{k}.").items() if isinstance(v, dict) else [(pre + k, v)])}


def config_columns(run: RunDir, grid_keys: list[str]) -> dict:
    """Every data.* field, train.steps and the grid keys of a run (lists stay lists), and its seed."""
    flat = _flat(to_dict(run.load_config()))
    cols = {k: v for k, v in flat.items() if k.startswith("data.")}
    cols |= {k: flat[k] for k in ("train.steps", *grid_keys)}
    cols = {k: list(v) if isinstance(v, tuple) else v for k, v in cols.items()}
    return cols | {"seed": flat["seed"]}


def run_rows(run: RunDir, grid_keys: list[str] = ()) -> list[dict]:
    """The table rows of one run: its eval rows (metrics.jsonl) merged with its analysis rows, by step."""
    cfg_cols = config_columns(run, list(grid_keys))
    counts = make_dataset(run.load_config().data).counts()
    evals = {r["step"]: r for r in run.read_metrics("eval")}
    losses = {r["step"]: r["loss"] for r in run.read_metrics("train")}
    analysis = {r["step"]: r for r in run.read_analysis()}
    steps = sorted(set(evals) | set(analysis))
    summary = analyze.summary_columns(run.summary())
    rows = []
    for step in steps:
        src = {**evals.get(step, {}), **analysis.get(step, {})}  # analysis rescored the snapshot: it wins
        row = {"run": run.name, "run_dir": str(run.path.resolve()), **cfg_cols, "step": step,
               "n_train": counts["train"], "n_train_2d": counts["train_2d"]}
        row |= score.table_columns(src) | analyze.table_columns(src) | {"loss": losses.get(step)}
        rows.append(row | (summary if step == steps[-1] else {}))
    return rows


def by_run(rows: list[dict]) -> dict[str, list[dict]]:
    """The table's rows grouped by run, each run's rows by step."""
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["run"], []).append(r)
    return {k: sorted(v, key=lambda r: r["step"]) for k, v in out.items()}


def aggregate(sweep_dir: str | Path) -> dict:
    """One row per (run, snapshot step) of every run of the sweep; written to SWEEP/results.csv.
    Returns {'path', 'rows'}."""
    sweep = SweepDir(sweep_dir)
    meta = sweep.load_spec()
    keys = [k for g in meta["grid"] for k in g.split(",")]
    rows = [r for run in sweep.runs() for r in run_rows(run, keys)]
    header = list(dict.fromkeys(k for r in rows for k in r))
    buf = _io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header)
    writer.writeheader()
    writer.writerows(rows)
    path = atomic_write_text(sweep.results, buf.getvalue())
    return {"path": str(path), "rows": rows}


def read_results(path: str | Path) -> list[dict]:
    """results.csv back as dicts with numbers parsed."""
    with open(path, newline="") as f:
        return [{k: _num(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _num(v: str):
    if v == "":
        return None
    try:
        return int(v)
    except ValueError:
        try:
            return float(v)
        except ValueError:
            return v
