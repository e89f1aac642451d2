"""Offline HTML pages: one page shell, embedded PNGs and one verdict table, for a run (`factordiff report RUN`:
RUN/figures/*.png and RUN/report.html), a sweep (`factordiff report SWEEP`) and an experiment (`reproduce`).

A run's page needs `factordiff analyze RUN` first (it reads RUN/analysis.jsonl); the embeddings and diagrams
its figures show are measured here (`analyze.phase_panels`, `probe_geometry`, `probe_diagrams`) with the same
seeds as the analysis, then drawn by `figures`."""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path

from . import figures
from .analyze import phase_panels, probe_diagrams, probe_geometry
from .errors import FactordiffError
from .io import atomic_write_text, run_lock
from .rundir import RunDir, SweepDir
from .score import accuracy_words

MARK = {"supported": "✔", "not supported": "✘", "inconclusive": "?"}
STYLE = ("body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse}"
         "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}")


def page(title: str, body: str) -> str:
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>")


def img(path: str | Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img src="data:image/png;base64,{data}" style="max-width:100%">'


def figure(path: str | Path, caption: str) -> str:
    """An embedded PNG with its caption under it."""
    return (f'<figure style="margin:0 0 1em 0">{img(path)}<figcaption style="font-size:13px;color:#333">'
            f"{html.escape(caption)}</figcaption></figure>")


figure_ = figure  # for callers with a parameter named `figure`


# What each figure of a run's page shows and how to read it (the definitions: docs/definitions.md).
CAPTIONS = {
    "phases": "Samples and a 3-D UMAP of layer 4 at one snapshot per phase reached (P1 Fig 3), coloured by x, with "
              "the embedding's R²_x, R²_y. Red dots: the conditioning label; a sample is correct when its one bump "
              "lies within the tolerance of it. In A the images hold no bump or several; the layer's UMAP can "
              "already look ordered, because layer 4 carries the label code (its response to a blank image with "
              "the same labels is itself an ordered sheet): the image-driven part, which the phase rule reads, has "
              "no order yet (curves, right). In B one bump, often misplaced; in C the bumps sit on their labels.",
    "curves": "Over training, top: accuracy at P1's tolerance with its ground-truth ceiling (dashed; the model "
              "can pass it on all labels by drawing border bumps the detector reads where the clipped ground "
              "truth is missed: the detectable accuracy's ceiling is 1); manifold R² by UMAP as P1 reads it, of "
              "layer 4, its image-driven part, the label-only control and shuffled labels (the floor); the k-NN "
              "probe R² of the same clouds (phase C reads the image-driven part's, ≥ 0.8). Bottom: the share of "
              "samples with 0, 1 or > 1 bumps (P1's failure modes), the TwoNN intrinsic dimension of layer 4 and "
              "of its image-driven part (phase B is P1's 'quasi-2-D' manifold) and the training loss. Dotted: "
              "the untrained network; the phase bands (A red, B yellow, C green).",
    "strip": "The same five evaluation labels (rows) at up to ten snapshots (columns: step and phase), sampled from "
             "the same noise every time: red dot, the label; blue cross, where P1's detector read the bump. Phase A "
             "shows speckle or several blobs, B one bump drifting towards its dot, C the bump on it.",
    "dimension": "PCA spectra of layer 4 at four snapshots and its effective dimension over training (P2 Fig 2c,d): "
                 "the participation ratio and the number of components for 90 % / 95 % of the variance. A "
                 "factorized 2-feature code concentrates its variance in a few components.",
    "geometry": "Displacement statistics on the label grid (P2 Fig 3): top, orthogonality (|cos| of x-steps vs "
                "y-steps, and of x-steps between different x values, y likewise); bottom, parallelism (the same "
                "step at another value of the other feature), for the model (layer 4), its image-driven part, the "
                "ground-truth images at the same labels and the ideal 3-D and Clifford tori. Near-zero x-on-y "
                "|cos| and x-on-x parallelism near 1 mean the features factorize.",
    "topology": "Persistence diagrams on the grid probe (P2 Fig 2b): the model, its image-driven part, the "
                "label-only response, the ground-truth images at the same labels and the ideal tori. Points far "
                "from the diagonal are features that persist: a torus has one H0, two H1 and one H2.",
}


def provenance(config_text: str | None = None, **extra) -> str:
    """The page's provenance block: factordiff version and commit, torch, the machine, the date, `extra`
    (e.g. wall time) and the full config."""
    import datetime
    import subprocess

    from . import __version__
    from .hardware import machine

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent,
                                capture_output=True, text=True, timeout=5).stdout.strip() or "not a git checkout"
    except (OSError, subprocess.SubprocessError):
        commit = "not a git checkout"
    m = machine()
    items = {"factordiff": f"{__version__} (commit {commit})", "torch": m["torch"],
             "machine": f"{m['cpu']}, {m['cores']} cores, {', '.join(m['cpu_flags']) or 'no AVX2'}"
                        + (f", GPU {m['gpu']}" if m["gpu"] else ", no GPU"),
             "written": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), **extra}
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in items.items())
    cfg = (f"<details><summary>config</summary><pre>{html.escape(config_text)}</pre></details>"
           if config_text else "")
    note = ("<p>The same config gives different numbers on another seed and, through the order of floating-point "
            "sums (CPU model, thread count, GPU), on another machine: phase onsets move by a few hundred steps and "
            "accuracies by a few points between runs (docs/phases.md). Compare runs made on one machine "
            "(<code>factordiff compare</code>), and judge a claim on the interval over seeds "
            "(<code>factordiff reproduce NAME</code>), never on one run's numbers.</p>")
    return f"<h2>Provenance</h2>{note}<table>{rows}</table>{cfg}"


def _umap_words(k: int) -> str:
    return "one UMAP, as P1 reads it" if k == 1 else f"mean of {k} UMAP seeds"


def _show(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "nan" if math.isnan(v) else "never" if math.isinf(v) else f"{v:.3f}"
    if isinstance(v, dict):
        return ", ".join(f"{k} {_show(x)}" for k, x in v.items())
    return str(v)


def verdict_table(verdicts: list[dict]) -> str:
    """The verdicts (Verdict.to_dict() rows) as one HTML table: outcome, claim, statistic, value, detail and
    the values it was compared with."""
    rows = "".join(f"<tr><td>{MARK.get(v['outcome'], '')} {html.escape(v['outcome'])}</td>"
                   f"<td>{html.escape(v['claim'])}</td><td>{html.escape(v['statistic'])}</td>"
                   f"<td>{html.escape(_show(v['value']))}</td><td>{html.escape(v.get('detail', ''))}</td>"
                   f"<td>{html.escape(_show(v.get('controls') or {}))}</td></tr>" for v in verdicts)
    head = "".join(f"<th>{h}</th>" for h in ("outcome", "claim", "statistic", "value", "detail", "compared with"))
    return f"<table><tr>{head}</tr>{rows}</table>"


COLUMN_NAMES = {  # results-table column → what a reader sees in a report's header (the column name on hover)
    "acc": "accuracy (all labels)", "acc_ceiling": "ground-truth ceiling", "acc_detectable": "accuracy (detectable)",
    "acc_x": "x accuracy", "acc_y": "y accuracy", "r2_umap": "R² layer 4 (UMAP)", "r2_pca": "R² layer 4 (PCA)",
    "r2_image_umap": "R² image part (UMAP)", "r2_image_pca": "R² image part (PCA)",
    "r2_label_umap": "R² label-only (UMAP)", "r2_shuffled_umap": "R² shuffled labels (UMAP)",
    "r2_image_probe": "k-NN probe R² image part (phase C)", "id_layer": "dimension layer 4 (TwoNN)",
    "label_share": "label-only share of variance", "participation_ratio": "participation ratio",
    "pr_image": "participation ratio image part", "interaction_share": "interaction share",
    "x_on_y_orth_mean": "x-on-y |cos|", "x_on_x_par_mean": "x-on-x parallelism",
    "principal_cos_max": "largest principal cos", "betti": "Betti numbers"}


def table(rows: list[dict], cols: list[str]) -> str:
    cols = [c for c in cols if any(c in r for r in rows)]
    head = "".join(f'<th title="{html.escape(c)}">{html.escape(COLUMN_NAMES.get(c, c))}</th>' for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_show(r.get(c)))}</td>" for c in cols) + "</tr>"
                   for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _counts(r: dict) -> str:
    c = r.get("counts") or {}
    return "/".join(f"{c.get(k, float('nan')):.2f}" for k in ("0", "1", ">1"))


def write_report(run_dir: str | Path, *, layer: str = "layer4", seed: int = 0) -> dict:
    """RUN/figures and RUN/report.html from the run's analysis, under the run's lock."""
    RunDir(run_dir).check_tree()
    RunDir(run_dir).load_config()  # not a run directory: said before the lock creates anything
    with run_lock(run_dir):
        return _write_report(RunDir(run_dir), layer=layer, seed=seed)


def _strip_frames(run: RunDir, rows: list[dict], labels: int = 5, columns: int = 10) -> list[dict]:
    """The first `labels` samples of up to `columns` analysed snapshots, evenly spaced (the last always): every
    snapshot samples the same labels from the same noise, so a row follows one label through training."""
    at = {r["step"]: r.get("phase") or "–" for r in rows}
    snaps = [(s, p) for s, p in run.list_snapshots() if s in at]
    n = min(columns, len(snaps))
    pick = sorted({snaps[round(i * (len(snaps) - 1) / max(1, n - 1))] for i in range(n)})
    out = []
    for step, path in pick:
        z = run.load_snapshot(path)
        out.append({"step": step, "phase": at[step], "images": z["images"][:labels], "labels": z["labels"][:labels],
                    "pred": z["pred"][:labels]})
    return out


def _write_report(run: RunDir, *, layer: str, seed: int) -> dict:
    cfg = run.load_config()
    rows = run.read_analysis(layer=layer)
    if not rows:
        raise FactordiffError(f"{run.path} has no analysis of {layer}; run `factordiff analyze {run.path}` first")
    summary = run.summary(layer)
    figs = {"phases": figures.phases(phase_panels(run, rows, layer, seed), layer),
            "strip": figures.label_strip(_strip_frames(run, rows)),
            "curves": figures.run_curves(rows, _loss(run)), "dimension": figures.dimension(rows)}
    probe = run.probe(summary.get("grid_step", -1))
    if probe.exists():
        figs |= {"geometry": figures.geometry(probe_geometry(probe, seed, cfg.data)),
                 "topology": figures.topology(probe_diagrams(probe, seed, cfg.data))}
    paths = {name: figures.save(fig, run.figures, name, tight=name != "phases") for name, fig in figs.items()}
    last = rows[-1]
    geometry = ""
    if "geometry" in paths:
        geo = [{"cloud": n, **g} for n, g in summary.get("geometry", {}).items()]
        geometry = ("<h2>Factorization on a label grid (P2 Fig 3)</h2>"
                    + table(geo, ["cloud", "interaction_share", "x_on_y_orth_mean", "x_on_x_par_mean",
                                  "principal_cos_max", "betti"])
                    + f"{figure(paths['geometry'], CAPTIONS['geometry'])}<h2>Persistent homology (P2 Fig 2b)</h2>"
                    + figure(paths["topology"], CAPTIONS["topology"]))
    d = cfg.data
    rule = summary.get("rule", {})
    onsets = ", ".join(f"{p} from step {s}" if s is not None else f"{p} never" for p, s in
                       summary.get("onsets", {}).items())
    last_acc = accuracy_words(last["acc"], last.get("acc_ceiling"), (last.get("detectable") or {}).get("acc"))
    body = f"""<h1>Run {html.escape(str(run.path))}</h1>
<p>Data: {html.escape(d.kind)}, N = {d.image_size}, σ = {d.sigma}, d = ({d.dx}, {d.dy});
model base width {cfg.model.base}; T = {cfg.diffusion.timesteps}; sampler {cfg.diffusion.sampler}.</p>
<p><b>Last snapshot</b> (step {last['step']}): phase {last['phase']}, {html.escape(last_acc)},
R² (UMAP) {_show(last.get('r2_umap'))},
participation ratio {last['participation_ratio']:.2f}, Betti {last.get('betti', 'not computed')}.
<b>Phase onsets</b>: {html.escape(onsets)}.</p>
<h2>Three learning phases (P1 Fig 3)</h2>{figure(paths['phases'], CAPTIONS['phases'])}
<h2>The same labels across training</h2>{figure(paths['strip'], CAPTIONS['strip'])}
<h2>Accuracy, R², failure modes and the training loss</h2>{figure(paths['curves'], CAPTIONS['curves'])}
<h2>Effective dimension (P2 Fig 2c,d)</h2>{figure(paths['dimension'], CAPTIONS['dimension'])}
{geometry}
<h2>All snapshots</h2>
<p>Accuracy at P1's tolerance (|Δ| &lt; {cfg.data.tol_px:g} px here: one P1 pixel at this scale) beside the
ground-truth ceiling (what perfect images score through the same detector) and the accuracy over the labels
whose ground truth the detector reads (border-clipped bumps are missed: ceiling 1 there); bump counts 0 / 1 /
&gt;1 by P1 Algorithm 1's contours; manifold R² ({_umap_words(summary.get('umap_seeds', 1))}) of layer 4 as
P1 records it, of its image-driven part (layer 4 minus its response to a blank image with the same labels) and of
that label-only response (the control); the cross-validated k-NN probe R² of the image-driven part (phase C's
statistic, steadier than one UMAP) and the TwoNN intrinsic dimension of layer 4 (P1's "quasi-2-D" phase B); the
label-only share of layer 4's variance. Step 0 is the untrained network. {_rule_text(rule)}</p>
{table([r | {"bumps 0/1/>1": _counts(r), "acc_detectable": (r.get("detectable") or {}).get("acc")} for r in rows],
       ["step", "phase", "acc", "acc_ceiling", "acc_detectable", "bumps 0/1/>1", "r2_umap", "r2_image_umap",
        "r2_label_umap", "r2_shuffled_umap", "r2_image_probe", "id_layer", "label_share", "r2_pca", "r2_image_pca",
        "participation_ratio", "pr_image"])}"""
    metrics = run.read_metrics()
    train_s = sum(r.get("sec_per_step", 0) * cfg.train.log_every for r in metrics if r.get("kind") == "train")
    snap_s = sum(r.get("sec", 0) for r in metrics if r.get("kind") == "eval")
    body += provenance(run.config.read_text(), **{"training (steps, as logged)": f"{train_s / 60:.1f} min",
                                                  "snapshots (sampling + scoring)": f"{snap_s / 60:.1f} min"})
    out = atomic_write_text(run.report, page(f"factordiff report: {run.name}", body))
    return {"report": str(out), "figures": {k: str(v) for k, v in paths.items()}}


def _loss(run: RunDir) -> tuple[list, list] | None:
    """(steps, losses) of the run's logged training rows; None when it has none."""
    rows = [r for r in run.read_metrics("train") if isinstance(r.get("loss"), (int, float))]
    return ([r["step"] for r in rows], [r["loss"] for r in rows]) if rows else None


def _rule_text(rule: dict) -> str:
    """The phase rule in words (PhaseRule as the analysis summary recorded it)."""
    acc = f"accuracy ≥ {rule.get('acc_c', 0.5)}" + (" × the ceiling" if rule.get("acc_of") == "ceiling" else "")
    what = {"probe": "the k-NN probe R² of the image-driven part ≥ {r2}",
            "image": "the R² of the image-driven part ≥ {r2}",
            "control": "layer 4's R² ≥ {r2} and ≥ its label-only response's + {m}"}.get(
        rule.get("structure"), "layer 4's R² ≥ {r2}")
    return f"Phase C: {acc} and " + what.format(r2=rule.get("r2_c", 0.8), m=rule.get("margin_c")) + \
        "; B: ≥ {:.0%} single-bump samples; else A.".format(rule.get("single_b", 0.5))


def write_sweep_report(sweep_dir: str | Path) -> dict:
    """`factordiff report SWEEP`: aggregate the runs, draw accuracy / R² curves per run and a heat map over the
    first grid key, and write SWEEP/report.html with the table of final values (and the verdicts, when the
    sweep is a `reproduce` experiment)."""
    from .table import aggregate, by_run

    sweep = SweepDir(sweep_dir)
    rows = aggregate(sweep.path)["rows"]
    if not rows:
        raise FactordiffError(f"{sweep.path} has no finished snapshots yet; run the sweep first")
    meta = sweep.load_spec()
    keys = [k for g in meta["grid"] for k in g.split(",")]
    runs = by_run(rows)
    figs = [figures.save(figures.sweep_curves(runs, meta["name"]), sweep.figures, "curves")]
    if keys and all(isinstance(r.get(keys[0]), int | float) for r in rows):
        figs.append(figures.save(figures.heatmaps(rows, keys[0], meta["name"]), sweep.figures, "heatmaps"))
    finals = [rs[-1] for rs in runs.values()]
    ver = f"<h2>Verdicts</h2>{verdict_table(json.loads(sweep.verdicts.read_text()))}" if sweep.verdicts.exists() \
        else ""
    body = (f"<h1>Sweep {html.escape(meta['name'])}</h1><p>{len(finals)} runs; grid "
            f"{html.escape(json.dumps(meta['grid']))}; table: <code>results.csv</code>.</p>{ver}"
            f"<h2>Last snapshot of each run</h2>"
            + table(finals, ["run", *keys, "seed", "step", "phase", "acc", "acc_x", "acc_y", "acc_ceiling", "r2_umap",
                             "participation_ratio"])
            + f"<h2>Figures</h2>{''.join(img(p) for p in figs)}")
    out = atomic_write_text(sweep.report, page(f"sweep {meta['name']}", body))
    return {"report": str(out), "figures": [str(p) for p in figs]}


def write_experiment_report(out: Path, name: str, figure: str, claim: str, scale: str, note: str, paths,
                            verdicts: list[dict], n_runs: int, captions: list[str] | None = None) -> Path:
    """`captions`: one per figure in `paths` (what it shows, how to read it), shown under it."""
    captions = captions or [""] * len(paths)
    body = (f"<h1>{html.escape(figure)}: {html.escape(name)} ({scale} scale)</h1>"
            f"<p><b>Claim</b>: {html.escape(claim)}.</p><p>{html.escape(note)}. {n_runs} runs; table: "
            f"<code>results.csv</code>.</p><h2>Verdicts (computed from the runs)</h2>{verdict_table(verdicts)}"
            f"<h2>Figures</h2>{''.join(figure_(p, c) if c else img(p) for p, c in zip(paths, captions))}")
    spec = Path(out) / "sweep.json"
    body += provenance(spec.read_text() if spec.exists() else None)
    return atomic_write_text(Path(out) / "report.html", page(f"{name} ({scale})", body))
