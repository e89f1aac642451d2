"""A confirmatory campaign that outlives machines (docs/decisions.md "Records"): while `factordiff reproduce NAME
--confirm` runs, each finished run is stored at once as `records/NAME/runs/RUN.json.gz`: its table rows, its
part of the experiment's measurements (for experiments whose `measure` is per run), the machine, its training
time and the design hash. Nothing under `runs/` survives a change of machine; these files do (commit them). A
later call, on any machine, trains only the runs not yet recorded for the same design hash, and judges the
recorded and the new runs together; the finished record (records/NAME/*.json*) then replaces them."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

from ..errors import FactordiffError
from ..io import atomic_path, jsonable

RUNS = "runs"  # records/NAME/runs/RUN.json.gz


def run_file(root: Path, name: str, run: str) -> Path:
    return Path(root) / name / RUNS / f"{run}.json.gz"


def store_run(exp, root: Path, run: str, rows: list[dict], run_dir: Path, design: str, log=print) -> Path:
    """Store one finished run of a confirmatory campaign (whole file: temp, then rename): its rows, its measured
    part when the experiment's measure is per run (`Experiment.measure_by_run`), machine and time."""
    from ..hardware import machine
    from ..worker import run_status

    measured = None
    if exp.measure is not None and exp.measure_by_run:
        measured = json.loads(json.dumps(jsonable(exp.measure(rows, log=log))))
    m = machine()
    payload = {"run": run, "experiment": exp.name, "design_hash": design, "rows": rows, "measured": measured,
               "machine": {k: m[k] for k in ("cpu", "cores", "cpu_flags", "gpu", "torch")},
               "finished": run_status(Path(run_dir)).get("time"), "stored": time.strftime("%Y-%m-%dT%H:%M:%S")}
    path = run_file(root, exp.name, run)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, gzip.open(tmp, "wt", encoding="utf-8") as f:
        json.dump(payload, f, sort_keys=True, default=str)
    return path


def recorded_runs(root: Path, name: str, design: str, log=print) -> dict[str, dict]:
    """{run: payload} of the runs stored for this design hash; files of another design (a changed design) are
    named and left out; a damaged file is named and left out (its run is trained again)."""
    out = {}
    for path in sorted((Path(root) / name / RUNS).glob("*.json.gz")):
        try:
            with gzip.open(path, "rt", encoding="utf-8") as f:
                payload = json.load(f)
        except (OSError, ValueError, EOFError) as e:
            log(f"{path}: unreadable ({type(e).__name__}); its run is trained again")
            continue
        if payload.get("design_hash") != design:
            log(f"{path}: recorded under design {payload.get('design_hash')}, not {design}: left out")
            continue
        out[payload["run"]] = payload
    return out


def merge_measured(exp, local: dict, recorded: dict[str, dict]) -> dict:
    """The experiment's measurements over local and recorded runs: for a per-run measure, the union of the
    local measure and each recorded run's part; otherwise every run must be on this machine."""
    if not recorded or exp.measure is None:
        return local
    if not exp.measure_by_run:
        raise FactordiffError(
            f"{exp.name}: its measurements need every run on one machine (its `measure` is not per run), and "
            f"{len(recorded)} run(s) are only in the campaign's record ({', '.join(sorted(recorded)[:3])}…): finish "
            "the campaign on one machine, or delete records/NAME/runs/ to retrain them here")
    out = dict(local)
    for payload in recorded.values():
        out |= payload.get("measured") or {}
    return out


def clear(root: Path, name: str) -> None:
    """Remove the campaign's per-run files once the finished record holds them."""
    import shutil

    shutil.rmtree(Path(root) / name / RUNS, ignore_errors=True)


def progress(exp, root: Path) -> str:
    """Where the confirmation of `exp`'s frozen design stands under ROOT: 'recorded' (a finished record of this
    design), 'K of N runs stored' (a campaign under way), or 'not started'."""
    from ..sweep import expand, parse_spec
    from .design import design_hash

    h = design_hash(exp)
    record = Path(root) / exp.name / "record.json"
    if record.exists() and json.loads(record.read_text()).get("design_hash") == h:
        return "recorded"
    n = len(expand(parse_spec({"name": exp.name, **exp.specs["cpu"], "seeds": list(exp.design.seeds)})))
    k = len(recorded_runs(root, exp.name, h, log=lambda *_: None))
    return f"{k} of {n} runs stored" if k else f"not started ({n} runs)"

