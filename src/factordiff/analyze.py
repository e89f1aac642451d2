"""`factordiff analyze RUN`: read a run's snapshots, score them, measure the recorded layer, classify the
learning phases, probe the factorization on a label grid, and write RUN/analysis.jsonl (atomically, one row
per snapshot plus a summary row) and RUN/probes/grid_step_*.npz.

The analyses are the pure functions of `factordiff.analysis`; this module only reads and writes the run.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .analysis import (
    DEFAULT_RULE,
    PhaseRule,
    betti_numbers,
    classify,
    factorization,
    onsets,
    participation_ratio,
    references,
    spectrum,
)
from .analysis.controls import image_part, label_share
from .analysis.embed import UMAP_DEFAULTS, r2_columns
from .analysis.phases import control_r2, structure_r2  # noqa: F401 - re-exported (report, figures)
from .analysis.probe import order_columns
from .archs import get as get_arch
from .config import RunConfig
from .data import image_kind, make_dataset, render_labels
from .errors import ConfigError, FactordiffError
from .evaluate import probe_grid
from .io import atomic_write_text, load_npz, run_lock, save_npz
from .rundir import RunDir, step_of
from .score import accuracy_words, detectable, period_of, predict_labels, reference_scores, score_predictions

METHODS = ("pca", "umap")


def analyze_snapshot(path: Path, cfg: RunConfig, layer: str, *, methods=METHODS, topology: bool = False,
                     seed: int = 0, umap_seeds: int = 3, rule: PhaseRule = DEFAULT_RULE,
                     train_labels: np.ndarray | None = None, label_only_of: Callable | None = None,
                     refs_cache: dict | None = None, threads: int = 1) -> dict:
    """All numbers of one snapshot: accuracy at P1's tolerance and bump counts by P1's contours, the ground-truth
    ceiling and the nearest-training-label baseline; R² per method (mean over `umap_seeds` UMAP seeds, their
    spread, the shuffled-label floor) of the layer, of its label-only response (a blank image with the same
    labels: the control) and of its image-driven part (layer − label-only); the label-only share of the layer's
    variance; the PCA spectrum; the phase; Betti numbers. The label-only response comes from the snapshot
    (recorded since it exists) or from `label_only_of(step, labels)` (a kept checkpoint; None when none).
    `refs_cache`: a dict kept across one run's snapshots, so the ground-truth references of the same labels are
    scored once (they depend on the labels, kinds and data config only, not on the step). `threads`: UMAP fits
    run at once (the same numbers)."""
    arrays = RunDir(Path(path).parent.parent).load_snapshot(path)
    if f"act_{layer}" not in arrays:
        have = [k[4:] for k in arrays if k.startswith("act_")]
        raise ConfigError("--layer", layer, f"one of the recorded layers {have}")
    X = arrays[f"act_{layer}"].astype(np.float64)
    labels, kinds, step = arrays["labels"].astype(np.float64), arrays["kinds"], step_of(path)
    row = {"kind": "analysis", "step": step, "layer": layer}
    # rescored with the run's config: scorer fixes apply to old snapshots
    pred, counts = predict_labels(arrays["images"], kinds, cfg.data.blob_rule, cfg.data.predictor,
                                  period_of(cfg.data))
    row |= score_predictions(pred, counts, labels, cfg.data, detectable_mask=detectable(labels, kinds, cfg.data))
    row["tol_px"] = cfg.data.tol_px
    if train_labels is not None:
        key = (labels.tobytes(), np.asarray(kinds).tobytes())
        cache = refs_cache if refs_cache is not None else {}
        refs = cache[key] if key in cache else cache.setdefault(key, reference_scores(labels, kinds, cfg.data,
                                                                                        train_labels))
        row |= {"acc_ceiling": refs["ceiling"]["acc"], "references": copy.deepcopy(refs)}
    seeds = tuple(range(seed, seed + umap_seeds))
    X_lab = arrays.get(f"lab_{layer}")
    if X_lab is None and label_only_of is not None:
        X_lab = label_only_of(step, labels)
    img = None
    clouds = {"r2": (X, seed)}
    if X_lab is not None:
        X_lab = X_lab.astype(np.float64)
        img = image_part(X, X_lab)
        clouds |= {"r2_image": (img, None), "r2_label": (X_lab, None)}
    row |= r2_columns(clouds, labels, methods, seeds, threads)
    if X_lab is not None:
        row |= {"label_share": label_share(X, X_lab), "pr_image": participation_ratio(img),
                "pr_label": participation_ratio(X_lab)}
    row |= order_columns(X, labels, img, X_lab)  # the k-NN probe's R² (phase C's statistic), TwoNN dimensions
    row |= spectrum(X)
    row["phase"] = classify(row["counts"], row["acc"], structure_r2(row, rule), rule, row.get("acc_ceiling"),
                            control_r2(row, rule))
    if topology:
        row["betti"] = list(betti_numbers(X, seed=seed))
    return row


# the clouds whose topology carries a stability check (the others: the default measurement only)
STABLE_CLOUDS = ("model", "image_part", "label_only", "ground_truth")


def _geometry_rows(probe: dict, *, seed: int, topology: bool, untrained: dict | None = None,
                   truth: np.ndarray | None = None) -> dict:
    """Factorization numbers of the model's grid, of its controls (the label-only response on the same grid,
    the image-driven part, the untrained network's grid), of the ground-truth images at the grid's labels
    (`truth`, (k, k, N²): the data's own answer) and of the reference tori, all on the same k × k grid. With
    `topology`, each cloud's Betti numbers, top lifetimes and (STABLE_CLOUDS) stability check
    (analysis.topology.topology)."""
    from .analysis.topology import topology as measure_topology

    k = len(probe["xs"])
    clouds = {"model": probe["reps"], "torus3d": references.torus3d(k, k), "clifford": references.clifford_torus(k, k)}
    if "reps_label" in probe:
        clouds |= {"label_only": probe["reps_label"], "image_part": image_part(probe["reps"], probe["reps_label"])}
    if untrained is not None:
        clouds |= {"untrained": untrained["reps"],
                   "untrained_image_part": image_part(untrained["reps"], untrained["reps_label"])}
    if truth is not None:
        clouds["ground_truth"] = truth
    out = {}
    for name, reps in clouds.items():
        geo = factorization(reps, seed=seed)
        if topology:
            top = measure_topology(reps.reshape(-1, reps.shape[-1]), seed=seed, stability=name in STABLE_CLOUDS)
            geo |= {"betti": top.pop("betti"), "topology": top}
        out[name] = geo
    return out


def _write_rows(path: Path, rows: list[dict]) -> None:
    import json

    atomic_write_text(path, "".join(json.dumps(r, allow_nan=True) + "\n" for r in rows))


SCORING_FIELDS = ("data.pixel_scale", "data.tolerance", "data.tolerance_frame", "data.blob_rule", "data.predictor")


def with_scoring(cfg: RunConfig, scoring: dict) -> RunConfig:
    """The run's config with scoring fields replaced; any other key is refused (it would change the run)."""
    from .config import replace_path

    bad = sorted(set(scoring) - set(SCORING_FIELDS))
    if bad:
        raise ConfigError(bad[0], scoring[bad[0]], "a scoring field: " + ", ".join(SCORING_FIELDS)
                          + " (the others describe what was trained)")
    return replace_path(cfg, scoring) if scoring else cfg


def _label_only_from_checkpoints(run: RunDir, cfg: RunConfig, layer: str) -> Callable:
    """label_only_of(step, labels) for snapshots written before the label-only response was recorded: from
    the checkpoint of that step when one is kept (step 0: the seeded initialisation), else None."""
    from .checkpoint import list_checkpoints
    from .evaluate import label_only, load_network, untrained_network

    kept = {step_of(p) for p in list_checkpoints(run.checkpoints)}

    def of(step: int, labels: np.ndarray):
        if step == 0:
            net = untrained_network(cfg)
        elif step in kept:
            net = load_network(run, step)[1]
        else:
            return None
        return label_only(net, labels, [layer], cfg.data.image_size)[layer]

    return of


def analyze_run(run_dir: str | Path, *, steps: list[int] | None = None, layer: str = "layer4",
                methods=METHODS, topology: str = "last", grid: int = 10, grid_repeats: int = 1, seed: int = 0,
                umap_seeds: int = 3,
                rule: PhaseRule = DEFAULT_RULE, scoring: dict | None = None, threads: int | None = None,
                log: Callable[[str], None] = lambda m: None) -> dict:
    """Analyse every (or the chosen) snapshot of a run; merge the rows into RUN/analysis.jsonl. `scoring`
    ({"data.pixel_scale": 0.5, …}) re-reads the snapshots with other scoring fields (SCORING_FIELDS: they do
    not change what was trained), e.g. a half-scale run saved before data.pixel_scale existed. Holds the run's
    lock (another process training or analysing it: RunLocked, before any work); the rows and summaries of other
    layers are kept. `threads`: CPU threads it may use (default: the cores this process may run on), for UMAP fits
    at once; NumPy's BLAS runs on one thread throughout (its threads spin on a core another process trains on:
    a 300 × 1024 SVD took 5.9 s beside a training run against 0.08 s on one thread)."""
    if threads is None:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if not (isinstance(threads, int) and threads >= 1):
        raise ConfigError("threads", threads, "an integer ≥ 1 (CPU threads for the analysis)")
    RunDir(run_dir).check_tree()
    RunDir(run_dir).load_config()  # not a run directory: say so before the lock creates anything
    from threadpoolctl import threadpool_limits

    with run_lock(run_dir), threadpool_limits(limits=1, user_api="blas"):
        return _analyze_run(run_dir, steps=steps, layer=layer, methods=methods, topology=topology, grid=grid,
                            grid_repeats=grid_repeats, seed=seed, umap_seeds=umap_seeds, rule=rule, scoring=scoring,
                            threads=threads, log=log)


def _analyze_run(run_dir, *, steps, layer, methods, topology, grid, grid_repeats, seed, umap_seeds, rule, scoring,
                 threads, log) -> dict:
    run = RunDir(run_dir)
    cfg = with_scoring(run.load_config(), scoring or {})
    layers = get_arch(cfg.model.arch).layers
    if layer not in layers:
        raise ConfigError("--layer", layer, f"one of {list(layers)}")
    if topology not in ("none", "last", "all"):
        raise ConfigError("--topology", topology, "none, last or all")
    if not 0 <= grid <= 64:
        raise ConfigError("--grid", grid, "0 (no grid probe) or 2..64 labels per axis")
    if not (isinstance(grid_repeats, int) and 1 <= grid_repeats <= 64):
        raise ConfigError("--grid-repeats", grid_repeats, "an integer 1..64 (samples averaged per grid label)")
    if not (isinstance(umap_seeds, int) and 1 <= umap_seeds <= 20):
        raise ConfigError("--umap-seeds", umap_seeds, "an integer 1..20 (P1: R² of one UMAP; ≥ 3 for a verdict)")
    snaps = run.list_snapshots()
    if not snaps:
        raise FactordiffError(f"{run.path} has no snapshots (snapshots/step_*.npz) to analyse; train it first")
    if steps:
        have = {s for s, _ in snaps}
        missing = sorted(set(steps) - have)
        if missing:
            raise ConfigError("--steps", missing, f"steps that have snapshots: {sorted(have)}")
        snaps = [(s, p) for s, p in snaps if s in set(steps)]
    rows = []
    train_labels = make_dataset(cfg.data).labels
    label_only_of = _label_only_from_checkpoints(run, cfg, layer)
    refs_cache: dict = {}
    for i, (step, path) in enumerate(snaps):
        last = i == len(snaps) - 1
        row = analyze_snapshot(path, cfg, layer, methods=methods, seed=seed, umap_seeds=umap_seeds, rule=rule,
                               topology=topology == "all" or (topology == "last" and last),
                               train_labels=train_labels, label_only_of=label_only_of, refs_cache=refs_cache,
                               threads=threads)
        rows.append(row)
        image = ", ".join(f"image part {row[f'r2_image_{m}']:.2f}, label-only {row[f'r2_label_{m}']:.2f}"
                          for m in methods[-1:] if f"r2_image_{m}" in row)
        log(f"step {step}: phase {row['phase']}, "
            f"{accuracy_words(row['acc'], row.get('acc_ceiling'), (row.get('detectable') or {}).get('acc'))}, "
            + ", ".join(f"R²[{m}] {row[f'r2_{m}']:.2f}" for m in methods) + (f" ({image})" if image else "")
            + f", PR {row['participation_ratio']:.1f}")
    out = run.analysis
    everything = run.read_analysis(kind=None)
    redone = {x["step"] for x in rows}
    old = [r for r in everything
           if r.get("kind") == "analysis" and not (r.get("layer") == layer and r["step"] in redone)]
    other_summaries = [r for r in everything if r.get("kind") == "summary" and r.get("layer") != layer]
    merged = sorted(old + rows, key=lambda r: (r["layer"], r["step"]))
    mine = [r for r in merged if r["layer"] == layer]  # phase onsets over every analysed snapshot of the layer
    summary = {"kind": "summary", "layer": layer, "rule": dataclasses.asdict(rule), "umap": UMAP_DEFAULTS,
               "seed": seed, "umap_seeds": umap_seeds, "image_part": "minus_label_only", "tol_px": cfg.data.tol_px,
               "blob_rule": cfg.data.blob_rule, "predictor": cfg.data.predictor, "scoring": scoring or {},
               "onsets": onsets([r["step"] for r in mine], [r["phase"] for r in mine])}
    if grid >= 2:
        probe = probe_grid(run, layer, grid, seed=seed, repeats=grid_repeats)
        save_npz(run.probe(probe["step"]), **probe)
        untrained = probe_grid(run, layer, grid, seed=seed, untrained=True, repeats=grid_repeats)
        labels = np.stack(np.meshgrid(probe["xs"], probe["ys"], indexing="ij"), -1).reshape(-1, 2)
        truth = render_labels(labels, np.full(len(labels), image_kind(cfg.data)), cfg.data).reshape(grid, grid, -1)
        log(f"grid probe: {grid} × {grid} labels × {grid_repeats} samples at step {probe['step']}"
            + (", persistent homology of model, controls, ground truth, reference tori" if topology != "none" else ""))
        summary |= {"grid": grid, "grid_step": probe["step"], "grid_repeats": grid_repeats,
                    "geometry": _geometry_rows(probe, seed=seed, topology=topology != "none",
                                               untrained=untrained, truth=truth)}
    _write_rows(out, [*merged, *other_summaries, summary])
    return {"rows": rows, "summary": summary, "path": str(out)}



# ---- the results-table columns this module produces ------------------------------------------------------

TABLE_COLUMNS = tuple(f"{p}_{m}" for m in METHODS for p in ("r2", "r2_x", "r2_y", "r2_std", "r2_shuffled", "r2_image",
                                                             "r2_image_x", "r2_image_y", "r2_image_std", "r2_label",
                                                             "r2_label_x", "r2_label_y")) + (
    "r2_probe", "r2_image_probe", "r2_label_probe", "id_layer", "id_image",
    "label_share", "pr_image", "pr_label", "participation_ratio", "pcs_95", "evr_top4", "phase", "betti")
GEOMETRY_COLUMNS = ("x_on_y_orth_mean", "x_on_x_orth_mean", "y_on_y_orth_mean", "x_on_x_par_mean",
                    "y_on_y_par_mean", "interaction_share")


def table_columns(row: dict) -> dict:
    """The results-table columns of one analysis row (Betti numbers as 'b0,b1,b2')."""
    out = {k: row.get(k) for k in TABLE_COLUMNS}
    if isinstance(out["betti"], list):
        out["betti"] = ",".join(map(str, out["betti"]))
    return out


def summary_columns(summary: dict) -> dict:
    """The grid probe's factorization numbers (model and reference tori) and Betti numbers as flat columns
    (`model_x_on_y_orth_mean`, `clifford_betti`, …), for a run's last row."""
    out = {}
    for cloud, geo in (summary.get("geometry") or {}).items():
        out |= {f"{cloud}_{k}": geo.get(k) for k in GEOMETRY_COLUMNS if k in geo}
        if "betti" in geo:
            out[f"{cloud}_betti"] = ",".join(map(str, geo["betti"]))
            top = geo.get("topology") or {}
            if "agree" in top:
                out[f"{cloud}_betti_agree"] = top["agree"]
            if top.get("lifetimes"):
                # the longest H1 and H2 bars (shares of the diameter): how clearly the numbers were read
                out[f"{cloud}_h1_life"] = ",".join(f"{v:.3f}" for v in top["lifetimes"][1][:3])
                if len(top["lifetimes"]) > 2:
                    out[f"{cloud}_h2_life"] = ",".join(f"{v:.3f}" for v in top["lifetimes"][2][:2])
    return out

# ---- what the figures show, measured here so that figures only draw -----------------------------------------

def pick_phase_steps(rows: list[dict]) -> list[dict]:
    """One analysed snapshot per phase reached (the middle one of A and B, the last of C), else first /
    middle / last."""
    picks = []
    for p in "ABC":
        of = [r for r in rows if r["phase"] == p]
        if of:
            picks.append(of[len(of) // 2] if p != "C" else of[-1])
    if len(picks) < 3:
        picks = [rows[i] for i in sorted({0, len(rows) // 2, len(rows) - 1})]
    return picks


def _load_layer(path: Path, layer: str) -> tuple[np.ndarray, dict]:
    z = RunDir(Path(path).parent.parent).load_snapshot(path)
    return z[f"act_{layer}"].astype(np.float64), {k: v for k, v in z.items() if not k.startswith("act_")}


def phase_panels(run: RunDir, rows: list[dict], layer: str = "layer4", seed: int = 0) -> list[dict]:
    """P1 Fig 3's data: for each picked snapshot its first 25 samples and a 3-D UMAP of the layer."""
    from .analysis import embed

    out = []
    for r in pick_phase_steps(rows):
        X, z = _load_layer(run.snapshot(r["step"]), layer)
        out.append({"step": r["step"], "phase": r["phase"], "acc": r["acc"], "images": z["images"][:25],
                    "labels": z["labels"], "umap": embed(X, method="umap", seed=seed),
                    "r2_x": r.get("r2_x_umap"), "r2_y": r.get("r2_y_umap")})
    return out


def reference_clouds(reps: np.ndarray, k_min: int = 0) -> dict[str, np.ndarray]:
    """The model's (k, k, D) grid representation and the two reference tori on a k × k grid (at least
    k_min per axis)."""
    k = max(reps.shape[0], k_min)
    return {"model": reps, "3D torus": references.torus3d(k, k), "Clifford torus": references.clifford_torus(k, k)}


def probe_geometry(probe_path: Path, seed: int = 0, data=None) -> dict[str, dict]:
    """P2 Fig 3's data: the displacement statistics' samples of the model's grid probe, its image-driven part
    (when the probe kept the label-only response), the ground-truth images at the probe's labels (with `data`,
    the run's DataConfig) and the reference tori, all on the probe's own grid."""
    from .analysis import displacement_stats

    z = load_npz(probe_path)
    clouds = reference_clouds(z["reps"])
    if "reps_label" in z:
        clouds |= {"image part": image_part(z["reps"], z["reps_label"])}
    if data is not None:
        k = len(z["xs"])
        labels = np.stack(np.meshgrid(z["xs"], z["ys"], indexing="ij"), -1).reshape(-1, 2)
        clouds["ground truth"] = render_labels(labels, np.full(len(labels), image_kind(data)), data).reshape(k, k, -1)
    return {name: displacement_stats(c, seed=seed) for name, c in clouds.items()}


def probe_diagrams(probe_path: Path, seed: int = 0, data=None) -> dict[str, list]:
    """P2 Fig 2b's data: persistence diagrams of the model's grid probe, its image-driven part, the label-only
    response, the ground-truth images at the probe's labels (with `data`, the run's DataConfig) and the
    reference tori, all on the probe's own grid, measured as `analyze` measures their Betti numbers."""
    from .analysis import persistence

    z = load_npz(probe_path)
    reps = z["reps"]
    clouds = reference_clouds(reps)
    if "reps_label" in z:
        clouds |= {"image part": image_part(reps, z["reps_label"]), "label-only": z["reps_label"]}
    if data is not None:
        k = len(z["xs"])
        labels = np.stack(np.meshgrid(z["xs"], z["ys"], indexing="ij"), -1).reshape(-1, 2)
        clouds["ground truth"] = render_labels(labels, np.full(len(labels), image_kind(data)), data).reshape(k, k, -1)
    return {name: persistence(c.reshape(-1, c.shape[-1]), seed=seed)["dgms"] for name, c in clouds.items()}


def pca_views(run: RunDir, layer: str = "layer4", n: int = 3) -> list[dict]:
    """P2 Fig 2e–g's data: the layer projected on its first 3 PCs at the first, middle and last snapshot."""
    snaps = run.list_snapshots()
    out = []
    for step, path in [snaps[i] for i in sorted({0, len(snaps) // 2, len(snaps) - 1})][:n] if snaps else []:
        X, z = _load_layer(path, layer)
        X = X - X.mean(0)
        out.append({"step": step, "pca": X @ np.linalg.svd(X, full_matrices=False)[2][:3].T, "x": z["labels"][:, 0]})
    return out


def umap_2d(run: RunDir, layer: str = "layer4", seed: int = 0) -> dict | None:
    """A 2-D UMAP of the last snapshot's layer (P2 Fig 11, 15): {'Y', 'x'}; None with fewer than 10 samples."""
    from .analysis.embed import embed

    snaps = run.list_snapshots()
    if not snaps:
        return None
    X, z = _load_layer(snaps[-1][1], layer)
    if len(X) < 10:
        return None
    return {"Y": embed(X.astype(np.float32), method="umap", dim=2, seed=seed, n_neighbors=min(15, len(X) - 1)),
            "x": z["labels"][:, 0]}
