"""`factordiff report RUN`: the figures of a run (three phases, curves, effective dimension, topology,
factorization) in RUN/figures/*.png and one offline HTML page, RUN/report.html, with the key numbers.

Needs `factordiff analyze RUN` first (it reads RUN/analysis.jsonl); embeddings and diagrams for the figures
are recomputed here from the snapshots with the same seeds, so the page matches the table."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np

from . import plot
from .analysis import displacement_stats, embed, persistence, references
from .analyze import list_snapshots, load_run_config
from .errors import FactordiffError
from .io import atomic_write_text, read_jsonl, save_figure

GEOMETRY_STATS = ("x_on_y_orth", "x_on_x_par", "x_on_x_orth", "y_on_y_par")


def _pick_phase_steps(rows: list[dict]) -> list[dict]:
    """One snapshot per phase reached (its last snapshot before the next phase), else first/middle/last."""
    picks = []
    for p in "ABC":
        of = [r for r in rows if r["phase"] == p]
        if of:
            picks.append(of[len(of) // 2] if p != "C" else of[-1])
    if len(picks) < 3:
        idx = sorted({0, len(rows) // 2, len(rows) - 1})
        picks = [rows[i] for i in idx]
    return picks


def figure_phases(run_dir: Path, rows: list[dict], layer: str, seed: int = 0):
    """P1 Fig 3: 5×5 samples with red ground-truth dots (top) and the UMAP-3D of the layer coloured by x and
    by y (below), one column per phase."""
    picks = _pick_phase_steps(rows)
    snaps = dict(list_snapshots(run_dir))
    fig = plot.new_figure(size=(4.2 * len(picks), 12.0))[0]
    fig.clf()
    outer = fig.add_gridspec(3, len(picks), hspace=0.15, height_ratios=[1.1, 1, 1])
    for j, r in enumerate(picks):
        z = np.load(snaps[r["step"]])
        axes = outer[0, j].subgridspec(5, 5, wspace=0.05, hspace=0.05).subplots(squeeze=False)
        plot.plot_image_grid(axes, z["images"][:25], z["labels"][:25])
        axes[0, 2].set_title(f"step {r['step']}: phase {r['phase']}, acc {r['acc']:.2f}", fontsize=9)
        Y = embed(z[f"act_{layer}"].astype(np.float64), method="umap", seed=seed)
        for i, (axis, name) in enumerate(((0, "x"), (1, "y"))):
            ax = fig.add_subplot(outer[1 + i, j], projection="3d")
            plot.plot_embedding(ax, Y, z["labels"][:, axis], title=f"UMAP of {layer}, coloured by {name} "
                                f"(R²_{name} {r.get(f'r2_{name}_umap', float('nan')):.2f})")
    return fig


def figure_curves(rows: list[dict]):
    steps = [r["step"] for r in rows]
    phases = [r["phase"] for r in rows]
    fig, ax = plot.new_figure(1, 3, size=(15, 3.6))
    plot.plot_curves(ax[0, 0], steps, {"accuracy": [r["acc"] for r in rows], "x": [r["acc_x"] for r in rows],
                                       "y": [r["acc_y"] for r in rows]}, phases=phases, ylabel="accuracy")
    if "acc_ceiling" in rows[-1]:
        ax[0, 0].axhline(rows[-1]["acc_ceiling"], color="k", ls="--", lw=0.8, label="ground-truth images")
        ax[0, 0].legend(fontsize=7)
    r2 = {f"R² {m}": [r.get(f"r2_{m}", np.nan) for r in rows] for m in ("umap", "pca") if f"r2_{m}" in rows[0]}
    plot.plot_curves(ax[0, 1], steps, r2, phases=phases, ylabel="manifold R²", ylim=(-0.05, 1.02))
    plot.plot_count_shares(ax[0, 2], steps, [r["counts"] for r in rows])
    fig.tight_layout()
    return fig


def figure_dimension(rows: list[dict]):
    steps = [r["step"] for r in rows]
    fig, ax = plot.new_figure(1, 2, size=(10, 3.6))
    idx = sorted({0, len(rows) // 3, 2 * len(rows) // 3, len(rows) - 1})
    plot.plot_spectra(ax[0, 0], {f"step {rows[i]['step']} (acc {rows[i]['acc']:.2f}, top-4 "
                                 f"{rows[i]['evr_top4']:.2f})": rows[i]["evr"] for i in idx})
    plot.plot_curves(ax[0, 1], steps, {"participation ratio": [r["participation_ratio"] for r in rows],
                                       "PCs for 90 %": [r["pcs_90"] for r in rows],
                                       "PCs for 95 %": [r["pcs_95"] for r in rows]},
                     phases=[r["phase"] for r in rows], ylabel="effective dimension", ylim=None)
    fig.tight_layout()
    return fig


def _grid_clouds(probe_path: Path) -> dict:
    z = np.load(probe_path)
    k = len(z["xs"])
    return {"model": z["reps"], "3D torus": references.torus3d(k, k), "Clifford torus": references.clifford_torus(k, k)}


def figure_geometry(probe_path: Path, seed: int = 0):
    """P2 Fig 3: orthogonality / parallelism statistics, model vs the two reference tori on the same grid."""
    stats = {name: displacement_stats(reps, seed=seed) for name, reps in _grid_clouds(probe_path).items()}
    fig, ax = plot.new_figure(1, len(GEOMETRY_STATS), size=(3.6 * len(GEOMETRY_STATS), 3.2))
    for j, key in enumerate(GEOMETRY_STATS):
        bins = np.linspace(0, 1, 41) if key.endswith("orth") else np.linspace(-1, 1, 41)
        plot.plot_stat_histograms(ax[0, j], {n: s[key] for n, s in stats.items()}, title=key.replace("_", " "),
                                  bins=bins)
    fig.tight_layout()
    return fig


def figure_topology(probe_path: Path, seed: int = 0):
    """P2 Fig 2b: persistence diagrams of the model's grid representation and of the reference tori (these on
    at least a 32 × 32 grid, as in `analyze`)."""
    clouds = _grid_clouds(probe_path)
    k = max(32, clouds["model"].shape[0])
    clouds |= {"3D torus": references.torus3d(k, k), "Clifford torus": references.clifford_torus(k, k)}
    fig, ax = plot.new_figure(1, len(clouds), size=(3.8 * len(clouds), 3.6))
    for j, (name, reps) in enumerate(clouds.items()):
        res = persistence(reps.reshape(-1, reps.shape[-1]), seed=seed)
        plot.plot_persistence(ax[0, j], res["dgms"], title=name)
    fig.tight_layout()
    return fig


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img src="data:image/png;base64,{data}" style="max-width:100%">'


def _table(rows: list[dict]) -> str:
    cols = ["step", "phase", "acc", "acc_x", "acc_y", "r2_umap", "r2_pca", "participation_ratio", "pcs_95"]
    cols = [c for c in cols if c in rows[0]]
    head = "".join(f"<th>{c}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{r[c]:.3f}</td>" if isinstance(r[c], float) else f"<td>{r[c]}</td>"
                                    for c in cols) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def write_report(run_dir: str | Path, *, layer: str = "layer4", seed: int = 0) -> dict:
    run_dir = Path(run_dir)
    cfg = load_run_config(run_dir)
    path = run_dir / "analysis.jsonl"
    all_rows = read_jsonl(path) if path.exists() else []
    rows = [r for r in all_rows if r.get("kind") == "analysis" and r.get("layer") == layer]
    if not rows:
        raise FactordiffError(f"{run_dir} has no analysis of {layer}; run `factordiff analyze {run_dir}` first")
    summary = next((r for r in reversed(all_rows) if r.get("kind") == "summary" and r["layer"] == layer), {})
    figs = {"phases": figure_phases(run_dir, rows, layer, seed), "curves": figure_curves(rows),
            "dimension": figure_dimension(rows)}
    probe = run_dir / "probes" / f"grid_step_{summary.get('grid_step', -1):08d}.npz"
    if probe.exists():
        figs |= {"geometry": figure_geometry(probe, seed), "topology": figure_topology(probe, seed)}
    paths = {}
    for name, fig in figs.items():
        paths[name] = save_figure(fig, run_dir / "figures" / f"{name}.png")
        plot.close(fig)
    last = rows[-1]
    geo = summary.get("geometry", {})
    geo_html = "".join(f"<tr><td>{html.escape(n)}</td><td>{g['interaction_share']:.3f}</td>"
                       f"<td>{g['x_on_y_orth_mean']:.3f}</td><td>{g['x_on_x_par_mean']:.3f}</td>"
                       f"<td>{g['principal_cos_max']:.3f}</td><td>{g.get('betti', '')}</td></tr>"
                       for n, g in geo.items())
    geometry = ""
    if "geometry" in paths:
        head = "".join(f"<th>{h}</th>" for h in ("cloud", "interaction share", "x-on-y |cos|",
                                                   "x-on-x parallel cos", "max principal cos", "Betti"))
        geometry = (f"<h2>Factorization on a label grid (P2 Fig 3)</h2><table><tr>{head}</tr>{geo_html}</table>"
                    f"{_img(paths['geometry'])}<h2>Persistent homology (P2 Fig 2b)</h2>{_img(paths['topology'])}")
    d = cfg.data
    title = html.escape(run_dir.name)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>factordiff report: {title}</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 6px;font-size:13px}}</style></head><body>
<h1>Run {html.escape(str(run_dir))}</h1>
<p>Data: {html.escape(d.kind)}, N = {d.image_size}, σ = {d.sigma}, d = ({d.dx}, {d.dy});
model base width {cfg.model.base}; T = {cfg.diffusion.timesteps}; sampler {cfg.diffusion.sampler}.</p>
<p><b>Last snapshot</b> (step {last['step']}): phase {last['phase']}, accuracy {last['acc']:.3f},
R² (UMAP) {last.get('r2_umap', float('nan')):.3f}, participation ratio {last['participation_ratio']:.2f},
Betti {last.get('betti', 'not computed')}. <b>Phase onsets</b>: {summary.get('onsets', {})}.</p>
<h2>Three learning phases (P1 Fig 3)</h2>{_img(paths['phases'])}
<h2>Accuracy, R² and failure modes</h2>{_img(paths['curves'])}
<h2>Effective dimension (P2 Fig 2c,d)</h2>{_img(paths['dimension'])}
{geometry}
<h2>All snapshots</h2>{_table(rows)}
</body></html>"""
    out = atomic_write_text(run_dir / "report.html", page)
    return {"report": str(out), "figures": {k: str(v) for k, v in paths.items()}}


def write_sweep_report(sweep_dir: str | Path) -> dict:
    """`factordiff report SWEEP`: aggregate the runs, draw accuracy / R² curves per run and a heat map over the
    first grid key, and write SWEEP/report.html with the table of final values (and the verdicts, when the
    sweep is a `reproduce` experiment)."""
    import json

    from .experiments import _show, by_run, draw_curves, draw_heatmaps
    from .sweep import aggregate

    sweep_dir = Path(sweep_dir)
    rows = aggregate(sweep_dir)["rows"]
    if not rows:
        raise FactordiffError(f"{sweep_dir} has no finished snapshots yet; run the sweep first")
    meta = json.loads((sweep_dir / "sweep.json").read_text())
    keys = [k for g in meta["grid"] for k in g.split(",")]
    figs = draw_curves(rows, None, sweep_dir / "figures", meta["name"])
    if keys and all(isinstance(r.get(keys[0]), int | float) for r in rows):
        figs += draw_heatmaps(rows, keys[0], sweep_dir / "figures", meta["name"])
    finals = [rs[-1] for rs in by_run(rows).values()]
    cols = ["run", *keys, "seed", "step", "phase", "acc", "acc_x", "acc_y", "r2_umap", "participation_ratio"]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_show(r.get(c)))}</td>" for c in cols) + "</tr>"
                   for r in finals)
    verdicts = sweep_dir / "verdicts.json"
    ver = ""
    if verdicts.exists():
        ver = "<h2>Verdicts</h2><ul>" + "".join(
            f"<li>{'✔' if v['supported'] else '✘'} {html.escape(v['claim'])}: {html.escape(v['statistic'])} = "
            f"{html.escape(_show(v['value']))} {html.escape(v['detail'])}</li>"
            for v in json.loads(verdicts.read_text())) + "</ul>"
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>sweep {html.escape(meta['name'])}</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 6px;font-size:13px}}</style></head><body>
<h1>Sweep {html.escape(meta['name'])}</h1><p>{len(finals)} runs; grid {html.escape(json.dumps(meta['grid']))};
table: <code>results.csv</code>.</p>{ver}<h2>Last snapshot of each run</h2><table><tr>{head}</tr>{body}</table>
<h2>Figures</h2>{''.join(_img(Path(p)) for p in figs)}</body></html>"""
    out = atomic_write_text(sweep_dir / "report.html", page)
    return {"report": str(out), "figures": [str(p) for p in figs]}
