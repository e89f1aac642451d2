"""`factordiff reproduce NAME --scale cpu|paper`: sweep → table → measure (once, cached) → draw → judge →
report. Rerunning skips finished runs and reuses the cached measurements while the runs are unchanged."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..config import ConfigError
from ..errors import FactordiffError, Preempted
from ..io import atomic_write_json, clean_temp_files, jsonable  # noqa: F401 - jsonable: re-exported
from ..report import write_experiment_report
from ..sweep import complete_in, expand, launch, parse_spec
from ..table import aggregate
from .base import CPU_NOTE, Experiment, Verdict, by_run, flag_reduced  # noqa: F401 - flag_reduced: re-exported
from .registry import get


def fingerprint(exp: Experiment, rows: list[dict]) -> str:
    """What the measurements depend on: the experiment, the source of its measure function (a changed measure
    is measured again) and each run's directory and last step."""
    import inspect

    last = sorted({(r["run"], r["run_dir"]) for r in rows})
    steps = {r["run"]: max(x["step"] for x in rows if x["run"] == r["run"]) for r in rows}
    try:
        source = inspect.getsource(exp.measure) if exp.measure else ""
    except (OSError, TypeError):
        source = getattr(exp.measure, "__qualname__", "")
    blob = json.dumps([exp.name, source, [(n, d, steps[n]) for n, d in last]])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def measure_cached(exp: Experiment, rows: list[dict], out: Path, log=print) -> dict:
    """exp.measure(rows), cached in OUT/measured.json for the same runs at the same steps. Always returned as
    its JSON round trip, so draw and judge see the same types cached or not."""
    if exp.measure is None:
        return {}
    path = out / "measured.json"
    key = fingerprint(exp, rows)
    if path.exists():
        try:
            cached = json.loads(path.read_text())
            if cached.get("fingerprint") == key:
                return cached["measured"]
        except (OSError, ValueError):
            pass  # a damaged cache is measured again
    measured = json.loads(json.dumps(jsonable(exp.measure(rows, log=log))))
    atomic_write_json(path, {"fingerprint": key, "measured": measured})
    return measured


def replace_grid(axes: dict, grid: dict) -> dict:
    """The scale's grid `axes` with the values of the axes `grid` names replaced; a key that is not an axis, or
    values that are not a non-empty list without repeats, is a ConfigError naming it."""
    out = dict(axes)
    for k, values in grid.items():
        if k not in axes:
            raise ConfigError("--grid", k, f"one of this experiment's grid axes ({', '.join(sorted(axes)) or 'none'})")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"--grid {k}", values, "a non-empty list of values, e.g. [0.1, 0.15, 0.2]")
        if len({json.dumps(v) for v in values}) < len(values):
            raise ConfigError(f"--grid {k}", values, "values without repeats")
        out[k] = list(values)
    return out


def budget_cut(full_body: dict, spec) -> str | None:
    """'train.steps 100 < the scale's 2000' when the runs of `spec` train fewer steps than the experiment's own
    spec at that scale (`full_body`), else None: a shorter budget may miss what the full one would see."""
    full = min(cfg.train.steps for _, cfg, _ in expand(parse_spec({"name": "full", **full_body})))
    got = min(cfg.train.steps for _, cfg, _ in expand(spec))
    return f"train.steps {got} < the scale's {full}" if got < full else None


def record_call(out: Path, name: str, scale: str, spec, summary: dict, wall_s: float) -> None:
    """OUT/record.json: what this call ran, on what, for how long (appended per call: a resumed experiment's
    time is the sum of its calls, a stopped call's included, with why it stopped)."""
    import datetime

    from .. import __version__
    from ..bench import machine

    path = out / "record.json"
    try:
        calls = json.loads(path.read_text())["calls"] if path.exists() else []
    except (OSError, ValueError, KeyError):
        calls = []
    calls.append({"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                  "wall_s": round(wall_s, 1), "runs": summary["runs"], "ran": summary["ran"],
                  "machine": machine(), "version": __version__,
                  **({"stopped": summary["stopped"]} if summary.get("stopped") else {})})
    atomic_write_json(path, {"experiment": name, "scale": scale, "seeds": list(spec.seeds), "grid": jsonable(spec.grid),
                             "overrides": jsonable(spec.overrides), "calls": calls,
                             "wall_s": round(sum(c["wall_s"] for c in calls), 1)})


def power_lines(verdicts: list[dict], design=None) -> list[str]:
    """What a recorded spread says the rule needs: per verdict, each undecided call's seeds needed at its recorded
    mean and spread (the plan's power estimate), beside the design's seed count."""
    out = []
    for v in verdicts:
        for c in (v.get("decision") or {}).get("calls", []):
            if "mean" not in c:
                continue
            need = c.get("seeds_needed")
            state = (f"decided ({c['call']}) with {c['n']} seeds" if c.get("call") != "undecided" else
                     f"undecided with {c['n']} seeds; ≈ {need} would decide it at this mean and spread" if need else
                     f"undecided with {c['n']} seeds; the mean sits on the effect size: no feasible number decides it")
            out.append(f"  power: {v['claim'][:70]}: {c['rule']}: {state}")
    if design is not None and out:
        out.append(f"  the frozen design runs {len(design.seeds)} seeds ({', '.join(map(str, design.seeds))})")
    return out


def _campaign(exp: Experiment, spec, runs_at: Path, records: Path, log) -> dict:
    """A confirmatory call's campaign (campaign.py): the design hash, the runs stored under records/NAME/runs for
    it, those of them not done here (`elsewhere`: not trained again) and the hook that stores each run as it
    finishes."""
    from ..rundir import RunDir, SweepDir
    from ..table import run_rows
    from ..worker import run_status
    from .campaign import recorded_runs, store_run
    from .design import design_hash

    h = design_hash(exp)
    stored = recorded_runs(records, exp.name, h, log)
    elsewhere = {n: p for n, p in stored.items()
                 if run_status(SweepDir(runs_at).run(n).path)["state"] != "done"}
    keys = [k for g in spec.grid for k in g.split(",")]
    if stored:
        log(f"{exp.name}: {len(stored)} run(s) of design {h} already in {records / exp.name / 'runs'}; "
            f"{len(elsewhere)} of them not on this machine: not trained again")

    def on_done(run: str, run_dir: Path) -> None:
        path = store_run(exp, records, run, run_rows(RunDir(run_dir), keys), run_dir, h, log)
        stored[run] = {}
        log(f"{run}: stored in {path} (commit it: it outlives this machine)")

    return {"hash": h, "stored": stored, "elsewhere": elsewhere, "on_done": on_done}


def confirm_body(exp: Experiment, overrides, grid, seeds, scale: str) -> dict:
    """The frozen design's sweep: the cpu spec with the design's fresh seeds; anything that would change it is
    refused (ConfigError naming it) before any work."""
    if exp.design is None:
        raise ConfigError("--confirm", exp.name, "an experiment with a frozen design (DESIGN in its module)")
    for flag, value in (("overrides", overrides), ("--grid", grid), ("--seeds", seeds)):
        if value:
            raise ConfigError(f"--confirm with {flag}", value, "nothing: a confirmatory run is the frozen design "
                              f"(v{exp.design.version}) as declared; change the design, with a new version, instead")
    if scale != "cpu":
        raise ConfigError("--confirm with --scale", scale, "cpu (the frozen designs are at cpu scale)")
    return {**exp.specs["cpu"], "seeds": list(exp.design.seeds)}


def reproduce(name: str, scale: str = "cpu", *, out: str | Path | None = None, launcher: str = "local",
              jobs: int | None = None, slurm: dict | None = None, overrides: dict | None = None,
              analyze: dict | None = None, seeds: list[int] | None = None, grid: dict | None = None,
              dry_run: bool = False, allow_slow: bool = False, confirm: bool = False,
              records: str | Path = "records", log=print) -> dict:
    """Run (or complete) the experiment's sweep, aggregate it, measure, draw its figures, judge its claims,
    write OUT/report.html. `overrides` ({dotted.key: value}) apply to every run; `analyze` (e.g.
    {"methods": ["pca"]}) adjusts the per-run analysis of experiments that analyse; `seeds` replaces the scale's
    seeds (fewer than three make every verdict inconclusive: for trying an experiment out); `grid`
    ({dotted.key: [values]}) replaces the values of the scale's grid axes named (e.g. a finer λ around an onset;
    the runs OUT already holds are reused, and every run in OUT is aggregated and judged); `dry_run` and
    `allow_slow` as in `sweep.launch`. `confirm`: run the experiment's frozen design on its fresh seeds (nothing
    else may change), then store the record under RECORDS/NAME (records.py); every call writes its record files
    in OUT, so `factordiff rejudge OUT` re-judges it without the runs."""
    import time

    from .records import git_commit

    t_start = time.time()
    commit = git_commit()  # the code this call runs (HEAD may move while a long call goes on)
    exp = get(name)
    if scale not in exp.specs:
        raise ConfigError("--scale", scale, "cpu or paper")
    base = confirm_body(exp, overrides, grid, seeds, scale) if confirm else exp.specs[scale]
    sweep_name = f"{name}-confirm-v{exp.design.version}" if confirm else f"{name}-{scale}"
    body = {**base, "overrides": {**base.get("overrides", {}), **(overrides or {})}}
    if seeds is not None:
        body["seeds"] = list(seeds)
    if grid:
        body["grid"] = replace_grid(body.get("grid") or {}, grid)
    if analyze and body.get("analyze") is not False:
        body["analyze"] = {**(body.get("analyze") or {}), **analyze}
    spec = parse_spec({"name": sweep_name, **body})
    out = Path(out) if out else Path("experiments") / sweep_name
    runs_at = out
    campaign = _campaign(exp, spec, runs_at, Path(records), log) if confirm else {}
    sibling = out.parent / f"{exp.sweep_of}-{scale}" if exp.sweep_of and not confirm else None
    try:
        if sibling and complete_in(spec, sibling):  # its runs are done in the sibling's sweep: read them there
            runs_at, n = sibling, len(expand(spec))
            log(f"{name}: reading the {n} runs it needs from {sibling} ({exp.sweep_of}'s sweep): nothing to train")
            summary = {"runs": n, "ran": 0, "failed": 0, "skipped": n}
        else:
            summary = launch(spec, runs_at, launcher=launcher, jobs=jobs, slurm=slurm, dry_run=dry_run,
                             allow_slow=allow_slow, log=log, skip=set(campaign.get("elsewhere", {})),
                             on_done=campaign.get("on_done"))
    except Preempted as e:  # a stopped call's training time counts too: the experiment's time sums its calls
        if not dry_run:
            out.mkdir(parents=True, exist_ok=True)
            record_call(out, exp.name, scale, spec, {"runs": None, "ran": None, "stopped": str(e)},
                        time.time() - t_start)
        raise
    if dry_run:
        prior = next((p for p in (out / "verdicts.json", Path(records) / name / "verdicts.json") if p.exists()), None)
        if prior is not None:
            try:
                for line in power_lines(json.loads(prior.read_text()), exp.design):
                    log(line)
            except (OSError, ValueError):
                pass  # a damaged earlier verdicts.json only costs the estimate
        return {"out": str(out), **summary}
    if summary["failed"]:
        raise FactordiffError(f"{summary['failed']} of {summary['runs']} runs failed; their reasons: `factordiff "
                              f"sweep status` on {runs_at} (or RUN/status.json); rerun to retry only those")
    out.mkdir(parents=True, exist_ok=True)
    for d in {runs_at, out, out / "figures"}:  # a call killed mid-write left these (never under a final name);
        if d.is_dir():  # the runs' own debris is cleaned by their trainer, under their lock
            clean_temp_files(d, recursive=False)
    rows = aggregate(runs_at)["rows"]
    rows = [r for r in rows if r["run"] not in campaign.get("elsewhere", {})]  # recorded whole elsewhere
    measured = measure_cached(exp, rows, out, log) if rows else {}
    if confirm:  # every finished run stored (those an earlier call or another launcher finished too), then the
        # runs recorded on other machines joined in
        from .campaign import merge_measured, store_run

        done = {r["run"] for r in rows} - set(campaign["stored"])
        for run, rs in by_run([r for r in rows if r["run"] in done]).items():
            store_run(exp, Path(records), run, rs, Path(rs[0]["run_dir"]), campaign["hash"], log)
        elsewhere = campaign["elsewhere"]
        rows += [r for p in elsewhere.values() for r in p["rows"]]
        measured = merge_measured(exp, measured, elsewhere)
        if elsewhere:
            log(f"{len(elsewhere)} run(s) from the campaign's record (trained elsewhere): "
                + ", ".join(f"{n} on {p['machine']['cpu']}" for n, p in sorted(elsewhere.items())[:4]))
    n_seeds = f"{len(spec.seeds)} seed{'s' if len(spec.seeds) != 1 else ''}"
    title = f"{exp.figure} ({CPU_NOTE}, {n_seeds})" if scale == "cpu" else f"{exp.figure} (paper scale, {n_seeds})"
    figures = exp.draw(rows, measured, out / "figures", title)
    cut = budget_cut(base, spec)
    verdicts: list[Verdict] = flag_reduced(exp.judge(rows, measured), cut)
    atomic_write_json(out / "verdicts.json", [v.to_dict() for v in verdicts])
    note = (f"{CPU_NOTE}, {n_seeds}" if scale == "cpu" else "paper scale: the papers' grids, seeds and budgets")
    if overrides:
        note += "; overrides " + ", ".join(f"{k}={v}" for k, v in overrides.items())
    if grid:
        note += "; grid " + ", ".join(f"{k}={v}" for k, v in grid.items())
    if cut:
        note += f"; REDUCED BUDGET ({cut}): a 'not supported' here is reported as inconclusive"
    report = write_experiment_report(out, exp.name, exp.figure, exp.claim, scale, note, figures,
                                     [v.to_dict() for v in verdicts], summary["runs"],
                                     captions=[exp.caption(p) for p in figures])
    for v in verdicts:
        log(v.line())
    record_call(out, exp.name, scale, spec, summary, time.time() - t_start)
    from .records import store, write_record

    write_record(out, exp, {"name": sweep_name, **body}, rows, measured,
                 kind="confirmatory" if confirm else "exploratory", reduced=cut, commit=commit)
    stored_at = None
    if confirm:
        from .campaign import clear

        stored_at = store(out, name, Path(records))
        clear(Path(records), name)  # the finished record holds every run's rows now
        log(f"stored the confirmatory record in {stored_at} (`factordiff rejudge {stored_at}` re-judges it)")
    return {"out": str(out), "figures": [str(p) for p in figures], "verdicts": verdicts, "report": str(report),
            "record": str(stored_at) if stored_at else None, **summary}
