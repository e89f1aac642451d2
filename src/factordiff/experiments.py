"""Named experiments: each paper figure as a sweep spec at two scales, a figure drawn from the aggregated
table, and verdicts computed from the numbers. `factordiff reproduce NAME --scale cpu|paper`.

`cpu` scale runs on 2 cores in about half an hour per experiment: the `cpu` preset (P1's data at half scale,
N = 16, σ and d halved), fewer grid points, one seed; every caption says so. `paper` scale uses the papers'
grids, seeds and budgets (the `paper` preset) and is meant for GPUs and clusters (`--launcher slurm`).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from . import plot
from .claims import Experiment, by_run, final, first_reached, onset, pearson, spearman  # noqa: F401
from .config import ConfigError
from .errors import FactordiffError
from .io import atomic_write_json, atomic_write_text, save_figure
from .sweep import aggregate, launch, parse_spec

CPU_NOTE = ("cpu scale: the cpu preset (P1 data at half scale: N = 16, σ, d halved, where the grid does not set them), "
            "few grid points, one seed")
PAPER_STEPS = 320_000


def judge_onset_vs(key: str, claim_sign: int, what: str, strong: float = 0.8):
    """Rank correlation between a grid value and the learning speed (steps to 50 % accuracy; the phase-C
    onset is listed too). Supported when |ρ| ≥ `strong` with the claimed sign (claim_sign 0: |ρ| < 0.5)."""
    def judge(rows: list[dict]) -> list[dict]:
        runs = by_run(rows)
        xs = [rs[0][key] for rs in runs.values()]
        speed = [first_reached(rs) for rs in runs.values()]
        c_onset = [onset(rs) for rs in runs.values()]
        rho = spearman(xs, speed)
        show = lambda v: "never" if np.isinf(v) else str(int(v))  # noqa: E731
        table = "; ".join(f"{key.split('.')[-1]} {x:g}: 50 % at {show(o)}, phase C from {show(c)}"
                          for x, o, c in sorted(zip(xs, speed, c_onset)))
        ok = (np.isfinite(rho) and np.sign(rho) == claim_sign and abs(rho) >= strong) if claim_sign \
            else (not np.isfinite(rho) or abs(rho) < 0.5)
        out = [{"claim": what, "statistic": f"Spearman ρ({key.split('.')[-1]}, steps to 50 % accuracy)",
                "value": rho, "supported": bool(ok), "detail": table}]
        r = pearson([x["acc"] for x in rows], [x.get("r2_umap") for x in rows])
        out.append({"claim": "high R² goes with high accuracy (P1 Fig 4)", "statistic": "Pearson r(acc, R²) over "
                    "all snapshots", "value": r, "supported": bool(np.isfinite(r) and r > 0.5), "detail": ""})
        return out
    return judge


def judge_phases(rows: list[dict]) -> list[dict]:
    (run,) = by_run(rows).values()
    a, b, c = onset(run, "A"), onset(run, "B"), onset(run, "C")
    seen = [p for p in "ABC" if any(r.get("phase") == p for r in run)]
    return [{"claim": "three phases A → B → C in order (P1 Fig 3)", "statistic": "phases seen; onsets of B, C",
             "value": f"{''.join(seen)}; B {b:g}, C {c:g}", "supported": seen == ["A", "B", "C"] and a <= b < c,
             "detail": f"A from {a:g}, B from {b:g}, C from {c:g}"}]


def judge_imbalance(rows: list[dict]) -> list[dict]:
    out = []
    for name, rs in by_run(rows).items():
        ax, ay = final(rs, "acc_x"), final(rs, "acc_y")
        out.append({"claim": f"{name}: y-accuracy ≥ x-accuracy although x has the finer data (P1 Fig 5)",
                    "statistic": "final acc_y − acc_x", "value": ay - ax, "supported": bool(ay >= ax),
                    "detail": f"acc_x {ax:.2f}, acc_y {ay:.2f}"})
        r = pearson([x.get("r2_x_umap") for x in rs], [x.get("r2_y_umap") for x in rs])
        out.append({"claim": f"{name}: R²_x and R²_y co-move, so the code is coupled (P1 Fig 5)",
                    "statistic": "Pearson r(R²_x, R²_y) over steps", "value": r,
                    "supported": bool(np.isfinite(r) and r > 0.5), "detail": ""})
    return out


def judge_holes(rows: list[dict]) -> list[dict]:
    out = []
    for name, rs in by_run(rows).items():
        i, o = final(rs, "acc_id"), final(rs, "acc_ood")
        out.append({"claim": f"{name}: OOD accuracy in the hole only slightly below ID (P1 Fig 9)",
                    "statistic": "final acc_id − acc_ood", "value": i - o,
                    "supported": bool(np.isfinite(o) and i - o < 0.2), "detail": f"ID {i:.2f}, OOD {o:.2f}"})
    return out


# ---- figures -----------------------------------------------------------------------------------------------

def draw_heatmaps(rows: list[dict], key: str, out_dir: Path, title: str) -> list[Path]:
    """P1 Fig 4 / 8: accuracy and R² over (grid value × training step), seeds averaged."""
    values = sorted({r[key] for r in rows})
    steps = sorted({r["step"] for r in rows})
    paths = []
    fig, axes = plot.new_figure(1, 2, size=(12, 0.5 * len(values) + 2.6))
    for j, (metric, label) in enumerate((("acc", "accuracy"), ("r2_umap", "averaged R² (UMAP)"))):
        m = np.full((len(values), len(steps)), np.nan)
        for a, v in enumerate(values):
            for b, s in enumerate(steps):
                xs = [r[metric] for r in rows if r[key] == v and r["step"] == s and r.get(metric) is not None]
                m[a, b] = np.mean(xs) if xs else np.nan
        plot.plot_heatmap(axes[0, j], m, values, steps, title=label, xlabel="training step",
                          ylabel=key.split(".")[-1])
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    paths.append(save_figure(fig, out_dir / "heatmaps.png"))
    plot.close(fig)
    return paths


def draw_curves(rows: list[dict], key: str | None, out_dir: Path, title: str) -> list[Path]:
    """Accuracy (overall / x / y / ID / OOD) and R²_x, R²_y over steps, one panel per run (P1 Fig 5, 9)."""
    runs = by_run(rows)
    fig, axes = plot.new_figure(2, len(runs), size=(4.5 * len(runs), 6.4))
    for j, (name, rs) in enumerate(runs.items()):
        steps = [r["step"] for r in rs]
        acc = {k: [r.get(k) for r in rs] for k in ("acc", "acc_x", "acc_y", "acc_id", "acc_ood")
               if any(r.get(k) is not None for r in rs)}
        plot.plot_curves(axes[0, j], steps, acc, phases=[r.get("phase") or "A" for r in rs], ylabel="accuracy")
        axes[0, j].set_title(name, fontsize=8)
        r2 = {k: [r.get(k) for r in rs] for k in ("r2_x_umap", "r2_y_umap") if any(r.get(k) is not None for r in rs)}
        plot.plot_curves(axes[1, j], steps, r2, ylabel="R² (UMAP)", ylim=(-0.05, 1.02))
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path = save_figure(fig, out_dir / "curves.png")
    plot.close(fig)
    return [path]


def draw_grid_or_curves(rows, key, out_dir, title):
    return draw_heatmaps(rows, key, out_dir, title) + draw_curves(rows, key, out_dir, title)


def draw_phases(rows, key, out_dir, title):
    from .report import figure_curves, figure_phases

    (name,) = by_run(rows)
    run_dir = out_dir.parent / "runs" / name
    analysis = [json.loads(line) for line in (run_dir / "analysis.jsonl").read_text().splitlines()]
    arows = [r for r in analysis if r.get("kind") == "analysis"]
    paths = []
    for fname, fig in (("phases", figure_phases(run_dir, arows, "layer4")), ("curves", figure_curves(arows))):
        fig.suptitle(title, fontsize=9)
        paths.append(save_figure(fig, out_dir / f"{fname}.png"))
        plot.close(fig)
    return paths


def _spec(cpu: dict, paper: dict) -> dict[str, dict]:
    return {"cpu": {"presets": ["cpu"], **cpu}, "paper": {"presets": ["paper"], "seeds": [0, 1, 2], **paper}}


ANALYZE_FAST = {"grid": 0, "topology": "none"}
EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in [
    Experiment("p1-phases", "P1 Fig 3", "training passes through phases A (no structure), B (one bump, wrong "
               "place; disordered manifold) and C (ordered manifold, correct bumps)",
               _spec({"analyze": {"grid": 10, "topology": "last"}}, {"seeds": [0]}), None, draw_phases,
               judge_phases),
    Experiment("p1-increment", "P1 Fig 4", "smaller increments (more, denser data) learn the ordered manifold "
               "faster; high R² goes with high accuracy",
               _spec({"grid": {"data.increment": [0.125, 0.25, 0.5]}, "analyze": ANALYZE_FAST},
                     {"grid": {"data.increment": [round(0.1 * k, 1) for k in range(1, 11)]}, "analyze": ANALYZE_FAST}),
               "data.increment", draw_heatmaps, judge_onset_vs("data.increment", +1,
                                                               "smaller increments learn faster (P1 Fig 4)")),
    Experiment("p1-sigma", "P1 Fig 8", "no strong correlation between σ and how fast the manifold emerges",
               _spec({"grid": {"data.sigma": [0.25, 0.375, 0.5]}, "analyze": ANALYZE_FAST},
                     {"grid": {"data.sigma": [round(0.1 * k, 1) for k in range(1, 11)],
                               "data.increment": [0.1, 0.5, 1.0]}, "analyze": ANALYZE_FAST}),
               "data.sigma", draw_heatmaps, judge_onset_vs("data.sigma", 0,
                                                           "σ does not strongly change the onset (P1 Fig 8)")),
    Experiment("p1-imbalance", "P1 Fig 5", "imbalanced increments give coupled, not factorized, learning: "
               "y-accuracy ≥ x-accuracy and R²_x, R²_y co-move",
               _spec({"grid": {"data.increment_x,data.increment_y": [[0.05, 0.5], [0.05, 0.25]]},
                      "overrides": {"train.steps": 3000}, "analyze": ANALYZE_FAST},
                     {"grid": {"data.increment_x,data.increment_y": [[0.1, 1.0], [0.1, 0.5]]},
                      "analyze": ANALYZE_FAST}),
               "data.increment_y", draw_curves, judge_imbalance),
    Experiment("p1-holes", "P1 Fig 9", "models trained with a held-out centre square still generate there: OOD "
               "accuracy only slightly below ID",
               _spec({"grid": {"data.holdout_x,data.holdout_y": [[[6.5, 9.5], [6.5, 9.5]], [[5.5, 10.5], [5.5, 10.5]]]},
                      "overrides": {"data.holdout": "box", "data.holdout_x": [6.5, 9.5], "data.holdout_y": [6.5, 9.5],
                                    "data.increment": 0.25, "train.steps": 3000},
                      "analyze": ANALYZE_FAST},
                     {"grid": {"data.holdout_x,data.holdout_y": [[[13, 19], [13, 19]], [[11, 21], [11, 21]]]},
                      "overrides": {"data.holdout": "box", "data.increment": 0.1}, "analyze": ANALYZE_FAST}),
               "data.holdout_x", draw_curves, judge_holes),
]}


def _register_p2() -> None:
    from .experiments_p2 import P2_EXPERIMENTS  # P2's figures; imports this module's helpers lazily

    EXPERIMENTS.update(P2_EXPERIMENTS)


_register_p2()


def reproduce(name: str, scale: str = "cpu", *, out: str | Path | None = None, launcher: str = "local",
              jobs: int | None = None, slurm: dict | None = None, overrides: dict | None = None,
              analyze: dict | None = None, log=print) -> dict:
    """Run (or complete) the experiment's sweep, aggregate it, draw its figures, judge its claims, write
    OUT/report.html. Rerunning skips finished runs. `overrides` ({dotted.key: value}) apply to every run;
    `analyze` (e.g. {"methods": ["pca"]}) adjusts the per-run analysis of experiments that analyse."""
    if name not in EXPERIMENTS:
        raise ConfigError("EXPERIMENT", name, "one of " + ", ".join(sorted(EXPERIMENTS)))
    exp = EXPERIMENTS[name]
    if scale not in exp.specs:
        raise ConfigError("--scale", scale, "cpu or paper")
    base = exp.specs[scale]
    sweep_name = f"{exp.sweep_of or name}-{scale}"
    body = {**base, "overrides": {**base.get("overrides", {}), **(overrides or {})}}
    if analyze and body.get("analyze") is not False:
        body["analyze"] = {**(body.get("analyze") or {}), **analyze}
    spec = parse_spec({"name": sweep_name, **body})
    out = Path(out) if out else Path("experiments") / f"{name}-{scale}"
    runs_at = out.parent / sweep_name if exp.sweep_of else out  # shared runs: the sibling experiment's sweep
    summary = launch(spec, runs_at, launcher=launcher, jobs=jobs, slurm=slurm, log=log)
    rows = aggregate(runs_at)["rows"]
    if summary["failed"]:
        raise FactordiffError(f"{summary['failed']} of {summary['runs']} runs failed; their reasons: `factordiff "
                              f"sweep status` on {runs_at} (or RUN/status.json); rerun to retry only those")
    if exp.measure is not None:
        rows = exp.measure(rows, log=log)
    title = f"{exp.figure} ({CPU_NOTE})" if scale == "cpu" else f"{exp.figure} (paper scale)"
    (out / "figures").mkdir(parents=True, exist_ok=True)
    figures = exp.draw(rows, exp.row_key, out / "figures", title)
    verdicts = exp.judge(rows)
    atomic_write_json(out / "verdicts.json", verdicts)
    report = write_experiment_report(out, exp, scale, figures, verdicts, summary)
    for v in verdicts:
        log(f"[{'supported' if v['supported'] else 'NOT supported'}] {v['claim']}: {v['statistic']} = "
            f"{_show(v['value'])} {v['detail']}")
    return {"out": str(out), "figures": [str(p) for p in figures], "verdicts": verdicts, "report": str(report),
            **summary}


def _show(v) -> str:
    return "" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def write_experiment_report(out: Path, exp: Experiment, scale: str, figures, verdicts, summary) -> Path:
    import base64

    imgs = "".join(f'<img src="data:image/png;base64,{base64.b64encode(Path(p).read_bytes()).decode()}" '
                   f'style="max-width:100%">' for p in figures)
    ver = "".join(f"<tr><td>{'✔' if v['supported'] else '✘'}</td><td>{html.escape(v['claim'])}</td>"
                  f"<td>{html.escape(v['statistic'])}</td><td>{html.escape(_show(v['value']))}</td>"
                  f"<td>{html.escape(v['detail'])}</td></tr>" for v in verdicts)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{exp.name} ({scale})</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 6px;font-size:13px}}</style></head><body>
<h1>{html.escape(exp.figure)}: {html.escape(exp.name)} ({scale} scale)</h1>
<p><b>Claim</b>: {html.escape(exp.claim)}.</p>
<p>{html.escape(CPU_NOTE if scale == "cpu" else "paper scale: the papers' grids, seeds and budgets")}.
{summary['runs']} runs; table: <code>results.csv</code>.</p>
<h2>Verdicts (computed from the runs)</h2><table><tr><th></th><th>claim</th><th>statistic</th><th>value</th>
<th>detail</th></tr>{ver}</table>
<h2>Figures</h2>{imgs}</body></html>"""
    return atomic_write_text(out / "report.html", page)
