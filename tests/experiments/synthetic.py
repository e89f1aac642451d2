"""Synthetic results tables (and measurements) for every registered experiment, one per outcome: what the
contract test feeds each experiment's `judge` and `draw`. A new experiment adds its entry to CASES."""

from __future__ import annotations

import numpy as np

from factordiff.experiments import INCONCLUSIVE as INC
from factordiff.experiments import NOT_SUPPORTED as NOT
from factordiff.experiments import SUPPORTED as SUP

RNG = np.random.default_rng(0)


def run(name, steps=3, **cols):
    """A synthetic run: `steps` rows (step 0, 100, …) with constant columns."""
    return [{"run": name, "run_dir": f"/nowhere/{name}", "step": 100 * i, **cols} for i in range(steps)]


def curve(name, reach, steps=6, r2=True, **cols):
    """Accuracy rising to 0.9, crossing 0.5 at step `reach` (never when None); the image-driven R² follows
    accuracy, the label-only R² wobbles around 0.5."""
    rows = []
    for i in range(steps):
        s = 100 * i
        acc = 0.9 if reach is not None and s >= reach else 0.1 + 0.05 * i
        rows.append({"run": name, "run_dir": f"/nowhere/{name}", "step": s, "acc": acc, "acc_x": acc, "acc_y": acc,
                     "r2_umap": acc if r2 else None, "r2_image_umap": acc if r2 else None,
                     "r2_label_umap": (0.5 + 0.1 * (-1) ** i) if r2 else None,
                     "phase": "C" if acc > 0.5 else "A", **cols})
    return rows


def analysis_rows(phases):
    return [{"step": 100 * i, "phase": p, "acc": 0.1 * i, "acc_x": 0.1 * i, "acc_y": 0.1 * i, "acc_ceiling": 0.9,
             "r2_umap": 0.1 * i, "r2_pca": 0.1 * i, "counts": {"0": 0.2, "1": 0.7, ">1": 0.1},
             "evr": list(np.linspace(0.3, 0.0, 15)), "evr_top4": 0.8, "participation_ratio": 5.0 + i,
             "pcs_90": 4, "pcs_95": 6} for i, p in enumerate(phases)]


def panel(step, phase, n=30):
    return {"step": step, "phase": phase, "acc": 0.5, "images": RNG.integers(0, 255, (25, 16, 16)),
            "labels": RNG.uniform(0, 16, (n, 2)), "umap": RNG.normal(size=(n, 3)), "r2_x": 0.5, "r2_y": None}


def p1_phases(outcome):
    """Supported: A → B → C with a quasi-2-D layer at B (TwoNN 3; the untrained network's 40); not supported: B
    relapses to A before C, and the layer at B is 8-dimensional; inconclusive: never C, no dimension recorded."""
    phases, dim = {SUP: ("AABBCC", 3.0), NOT: ("ABACCC", 8.0), INC: ("AABBBB", None)}[outcome]
    rows = [{"run": "r", "run_dir": "/nowhere/r", **r,  # phase A after step 0 at 8: not the label code's sheet
             "id_layer": dim and (40.0 if r["step"] == 0 else 8.0 if r["phase"] == "A" else dim)}
            for r in analysis_rows(phases)]
    return rows, {"r": {"analysis": analysis_rows(phases), "panels": [panel(0, "A"), panel(300, "B")]}}


def _increments(outcome, col, values, reaches):
    if outcome == INC:
        return sum((curve(f"v{v}", None, r2=False, **{col: v}) for v in values), []), {}
    return sum((curve(f"v{v}", r, **{col: v}) for v, r in zip(values, reaches)), []), {}


def lagging(rows):
    """The image-driven R² rises only at the last snapshot, hundreds of steps after accuracy: the R² claim
    fails too (a pooled Pearson r would still read them as going together)."""
    last = max(r["step"] for r in rows)
    return [r | {"r2_image_umap": 0.9 if r["step"] >= last else 0.1} for r in rows]


def p1_increment(outcome):
    reaches = {SUP: (100, 200, 300, 400), NOT: (400, 300, 200, 100)}.get(outcome)
    rows, m = _increments(outcome, "data.increment", (0.125, 0.25, 0.375, 0.5), reaches)
    return (lagging(rows) if outcome == NOT else rows), m


def p1_sigma(outcome):
    reaches = {SUP: (100, 300, 300, 100), NOT: (100, 200, 300, 400)}.get(outcome)
    rows, m = _increments(outcome, "data.sigma", (0.3125, 0.375, 0.4375, 0.5), reaches)
    return (lagging(rows) if outcome == NOT else rows), m


def p1_sigma_seeds(outcome):
    """p1-sigma's case at both increments (each decided apart)."""
    rows = []
    for inc in (1.0, 0.5):
        rows += [r | {"run": f"{r['run']}_d{inc}", "data.increment": inc} for r in p1_sigma(outcome)[0]]
    return rows, {}


def p1_imbalance(outcome):
    """Coupled (SUP): R²_x and R²_y rise together around step 500 and y-accuracy ≥ x; factorized (NOT): x's R²
    rises around 300, y's around 700 (800-step ramps: the curves still correlate, r 0.89) and x-accuracy > y;
    INC: nothing recorded."""
    ax, ay, on_x, on_y = {SUP: (0.8, 0.9, 500, 500), NOT: (0.9, 0.8, 300, 700),
                          INC: (None, None, None, None)}[outcome]
    rise = lambda s, on: None if on is None else min(0.9, max(0.1, 0.1 + 0.8 * (s - on + 400) / 800))  # noqa: E731
    rows = []
    for name, dy in (("a", 0.5), ("b", 0.25)):
        rows += [{"run": name, "run_dir": "/x", "step": 100 * i, "acc": ax, "acc_x": ax, "acc_y": ay,
                  "data.increment_x": 0.05, "data.increment_y": dy, "r2_x_umap": rise(100 * i, on_x),
                  "r2_y_umap": rise(100 * i, on_y), "r2_image_x_umap": rise(100 * i, on_x),
                  "r2_image_y_umap": rise(100 * i, on_y), "phase": "C"} for i in range(11)]
    return rows, {}


def p1_holes(outcome):
    i, o = {SUP: (0.9, 0.85), NOT: (0.9, 0.3), INC: (0.2, 0.1)}[outcome]
    return run("h", acc=i, acc_x=i, acc_y=i, acc_id=i, acc_ood=o, acc_nearest_ood=0.5, acc_ceiling_ood=0.9,
               phase="C", **{"data.holdout_x": [6.5, 9.5]}), {}


def p2_torus(outcome):
    """P2's network and the three ablations: every reading of the model's clouds is (1, 2, 1) (supported),
    (1, 0, 0) (not supported) or missing (inconclusive); the ideal tori and ground truth on the grid read (1, 2, 1),
    the controls (label-only, untrained) (1, 0, 0), every reading stable."""
    betti, pr = {SUP: ("1,2,1", 7.2), NOT: ("1,0,0", 3.0), INC: (None, None)}[outcome]
    sure = {"torus3d_betti": "1,2,1", "clifford_betti": "1,2,1", "ground_truth_betti": "1,2,1",
            "ground_truth_betti_agree": 1.0, "label_only_betti": "1,0,0", "untrained_betti": "1,0,0",
            "untrained_image_part_betti": "1,0,0", "model_betti_agree": 1.0, "image_part_betti_agree": 1.0,
            "model_h1_life": "0.300,0.280,0.050", "model_h2_life": "0.200,0.020"}
    rows, measured = [], {}
    dgm = [np.array([[0, 0.1], [0, np.inf]]), np.array([[0.1, 0.5]]), np.zeros((0, 2))]
    for code, pad, coords in (("sinusoidal", "zeros", "none"), ("periodic_smooth", "zeros", "none"),
                              ("sinusoidal", "circular", "none"), ("periodic_smooth", "circular", "none"),
                              ("sinusoidal", "circular", "periodic"), ("periodic_smooth", "circular", "periodic")):
        name = f"{code}-{pad}-{coords}"
        rs = run(name, acc=0.8, model_betti=betti, image_part_betti=betti, participation_ratio=pr,
                 pr_label=6.0 if outcome == NOT else 3.0, **sure,
                 **{"model.label_encoding": code, "model.padding": pad, "model.coords": coords})
        rs[0] = rs[0] | {"participation_ratio": 1.0}  # step 0: the untrained network
        rows += rs
        samples = {"betti": [1, 2, 1], "lifetimes": [[1.0], [0.4, 0.38, 0.04], [0.3, 0.02]]}
        measured[name] = {"analysis": analysis_rows("ABC"), "diagrams": {"model": dgm, "3D torus": dgm},
                          "samples": samples,
                          "pca": [{"step": 0, "pca": RNG.normal(size=(20, 3)), "x": RNG.uniform(0, 16, 20)}]}
    return rows, measured


def p2_torus_budget(outcome):
    """p2-torus's case, P2's network only (the design runs no ablations), its rows carrying p2-orthogonality's
    probe columns of the same outcome (design v2 judges both on the same runs)."""
    rows, measured = p2_torus(outcome)
    keep = {r["run"] for r in rows
            if r.get("model.padding") == "zeros" and r.get("model.label_encoding") == "sinusoidal"}
    orth = {k: v for k, v in p2_orthogonality(outcome)[0][-1].items() if k not in ("run", "run_dir", "step", "acc")}
    return [r | orth for r in rows if r["run"] in keep], {n: m for n, m in measured.items() if n in keep}


def p2_orthogonality(outcome):
    """Controls at the values the v1 confirmation measured: the Clifford torus (x-on-x |cos| 0.64, parallelism 1),
    the untrained network (parallelism 0.1–0.2, disjoint steps ≈ 0.09: random features of bump images)."""
    base = {"clifford_x_on_y_orth_mean": 0.0, "torus3d_x_on_y_orth_mean": 0.44, "untrained_x_on_y_orth_mean": 0.4,
            "untrained_image_part_x_on_y_orth_mean": 0.4, "label_only_x_on_y_orth_mean": 0.0}
    for a in "xy":
        base |= {f"clifford_{a}_on_{a}_orth_mean": 0.64, f"clifford_{a}_on_{a}_par_mean": 1.0,
                 f"untrained_{a}_on_{a}_orth_mean": 0.1, f"untrained_{a}_on_{a}_par_mean": 0.2,
                 f"untrained_image_part_{a}_on_{a}_orth_mean": 0.09,
                 f"untrained_image_part_{a}_on_{a}_par_mean": 0.12}
    xy, orth, par = {SUP: (0.1, 0.45, 0.9), NOT: (0.4, 0.75, 0.15), INC: (None, None, None)}[outcome]
    cols = {f"{c}_x_on_y_orth_mean": xy for c in ("model", "image_part")}
    cols |= {f"{c}_{a}_on_{a}_{s}_mean": v for c in ("model", "image_part") for a in "xy"
             for s, v in (("orth", orth), ("par", par))}
    rows = run("t", acc=0.8, **base, **cols)
    stats = {k: RNG.uniform(0, 1, 50) for k in ("x_on_y_orth", "x_on_x_par", "x_on_x_orth", "y_on_y_par")}
    return rows, {"t": {"model": stats, "Clifford torus": stats}}


def p2_composition(outcome):
    (v, h, i, s) = {SUP: ((0.1, 0.9), (0.9, 0.1), (0.1, 0.2), 0.8), NOT: ((0.5, 0.5), (0.5, 0.5), (0.6, 0.6), 0.3),
                    INC: ((None, None), (None, None), (None, None), None)}[outcome]
    cols = lambda v, h, i=i: {"acc_x_vertical": v[0], "acc_y_vertical": v[1], "acc_x_horizontal": h[0],  # noqa: E731
                              "acc_x_intersection": i[0], "acc_y_intersection": i[1],
                              "acc_y_horizontal": h[1], "acc_ood": v[0], "acc_x_nearest_vertical": 0.5,
                         "acc_y_nearest_vertical": 0.5, "acc_x_nearest_horizontal": 0.5,
                         "acc_y_nearest_horizontal": 0.5}
    rows = (run("sos", **{"data.kind": "sos", "data.fraction": 1.0, "n_train_2d": 600}, **cols(v, h))
            + run("mix", **{"data.kind": "sos+stripes", "data.fraction": 1.0, "n_train_2d": 600},
                  **cols((s, s), (s, s), (s, s))))
    return rows, {"sos": {"labels": RNG.uniform(0, 16, (40, 2)), "heldout": RNG.uniform(6, 10, (10, 2)),
                          "image_size": 16}}


def scaling(power_bump, power_mix, drop_small=False):
    rows, grid = [], {}
    for kind, p in (("bump", power_bump), ("bump+stripes", power_mix)):
        for n in (8, 16, 32):
            need = 2.0 * n ** p  # accuracy 0.6 exactly at the needed size; 0.4 at half, 0.8 at double
            for size, acc in ((need / 2, 0.4), (need * 2, 0.8)):
                if drop_small and kind == "bump" and n == 8 and acc < 0.6:
                    continue  # only the run above 60 % left: the size needed is only a bound
                name = f"{kind}{n}_{size:g}"
                rows += run(name, **{"data.kind": kind, "data.image_size": n, "n_train_2d": size})
                memo = min(0.5, 0.5 * size / (4.0 * n ** 2))  # the memorizer: ≈ λ, below 60 % at every size here
                grid[name] = {"acc": acc, "acc_kept": 1.0, "acc_dropped": acc, "acc_nearest": memo}
    return rows, grid


def p2_scaling(outcome):
    return {SUP: scaling(2, 1), NOT: scaling(1, 1), INC: scaling(2, 1, drop_small=True)}[outcome]


CELLS = ((0.25, 0.8), (0.3, 0.8), (0.3, 1.25), (0.35, 1.25))  # the cpu design's (σ, d) cells and their λ_c
LAMBDA_C = {"σ=0.25,d=0.8": 0.178, "σ=0.3,d=0.8": 0.092, "σ=0.3,d=1.25": 0.239, "σ=0.35,d=1.25": 0.131}
SIGMAS = (0.25, 0.3, 0.35, 0.4)  # v2's σ at d = 1: λ_c in σ's exact order
LAMBDA_C_V2 = {"σ=0.25,d=1": 0.25, "σ=0.3,d=1": 0.16, "σ=0.35,d=1": 0.11, "σ=0.4,d=1": 0.056}


def percolation(*onsets, lambda_c=None, lams=(0.05, 0.1, 0.15, 0.2, 0.3, 0.4), cells=CELLS):
    """Runs at each (σ, d, λ); accuracy 0.9 from λ = onset of that cell on (2.0: never), 0.05 below; the memorizer
    scores ≈ λ (never 0.5). λ_c from `lambda_c` (default: the design's)."""
    rows, grid, losses, umap = [], {}, {}, {}
    for (sigma, d), on in zip(cells, onsets):
        for lam in lams:
            name = f"s{sigma}d{d}l{lam}"
            rows += run(name, **{"data.sigma": sigma, "data.fraction": lam, "data.image_size": 16,
                                 "data.increment": d})
            acc = 0.9 if lam >= on else 0.05
            grid[name] = {"acc": acc, "acc_kept": acc, "acc_dropped": acc, "acc_detectable": acc,
                          "acc_nearest_detectable": lam}
            losses[name] = {"train_loss": 0.1, "val_loss": None if lam == 1.0 else 0.2}
            umap[name] = {"Y": RNG.normal(size=(12, 2)), "x": RNG.uniform(0, 16, 12)}
    fr = list(np.linspace(0.02, 1, 5))
    keys = [f"σ={s:g},d={d:g}" for s, d in cells[:len(onsets)]]
    sim = {thr: {"fractions": fr, "cells": keys, "mean": np.tile(np.linspace(0, 1, 5), (len(onsets), 1)),
                 "std": np.zeros((len(onsets), 5))} for thr in ("0.005", "0.05")}
    return rows, {"grid": grid, "losses": losses, "umap": umap, "simulation": sim,
                  "lambda_c": {k: v for k, v in (lambda_c or LAMBDA_C).items() if k in keys}}


def percolation_v2(*onsets, **kw):
    """v2's design: four σ at d = 1, λ_c falling with σ."""
    return percolation(*onsets, lambda_c=LAMBDA_C_V2, cells=tuple((s, 1.0) for s in SIGMAS), **kw)


def p2_percolation(outcome):  # supported: onsets near λ_c; not: onsets against λ_c's order
    return {SUP: percolation(0.2, 0.1, 0.3, 0.15), NOT: percolation(0.15, 0.3, 0.1, 0.2),
            INC: percolation(2.0, 2.0, 2.0, 2.0)}[outcome]


def p2_rim(outcome):
    a, b = {SUP: (0.8, 0.2), NOT: (0.5, 0.45), INC: (None, None)}[outcome]
    rows = (run("r", **{"data.rim_width": 1.0, "acc_ood": a, "acc": a, "acc_nearest_ood": 0.05})
            + run("n", **{"data.rim_width": 0.0, "acc_ood": b, "acc": b, "acc_nearest_ood": 0.05}))
    samples = {"images": RNG.integers(0, 255, (3, 16, 16)), "labels": RNG.uniform(0, 16, (3, 2)),
               "pred": RNG.uniform(0, 16, (3, 2))}
    return rows, {"r": samples, "n": None}


def p2_lesion(outcome):
    accs = {SUP: (0.9, 0.6, 0.4, 0.1), NOT: (0.9, 0.6, 0.7, 0.95), INC: (0.5, 0.5, 0.5, 0.5)}[outcome]
    memorizer = (0.95, 0.4, 0.3, 0.2)  # the narrowest lesion is solved by the memorizer (as cpu width 1 is)
    rows = sum((run(f"w{w}", **{"data.holdout_x": [8 - w / 2, 8 + w / 2], "acc_ood_detectable": a, "acc_id": 0.9,
                                "acc": 0.85, "acc_ceiling": 0.87, "acc_nearest_ood_detectable": m})
                for w, a, m in zip((1.0, 2.0, 2.5, 5.0), accs, memorizer)), [])
    return rows, {"w1.0": {"Y": RNG.normal(size=(12, 2)), "x": RNG.uniform(0, 16, 12)}, "w2.0": None}


def regions(interior, exterior, sos_bonus, drop=0.3, kinds=("bump", "sos"), widths=(4, 8), positions=("i", "e"),
            memo=0.0):
    """OOD accuracy (detectable labels) per square; the model learned (accuracy 0.85 of a 0.87 ceiling)."""
    rows = []
    learned = {"acc": 0.85, "acc_ceiling": 0.87, "acc_nearest_ood_detectable": memo}
    for kind in kinds:
        for w, d in zip(widths, (0.0, drop)):
            add = sos_bonus if kind == "sos" else 0.0
            if "i" in positions:
                rows += run(f"{kind}i{w}", **{"data.kind": kind, "data.holdout_x": [8 - w / 2, 8 + w / 2],
                                              "acc_ood_detectable": interior - d + add, **learned})
            if "e" in positions:
                rows += run(f"{kind}e{w}", **{"data.kind": kind, "data.holdout_x": [0.0, float(w)],
                                              "acc_ood_detectable": exterior - d + add, **learned})
    return rows


def p2_regions(outcome):
    return {SUP: regions(0.9, 0.5, 0.05), NOT: regions(0.5, 0.9, -0.3, drop=-0.3),
            INC: regions(0.9, 0.5, 0.0, kinds=("bump",), widths=(4,), positions=("i",))}[outcome], {}


JITTER = 0.004  # seed i moves every accuracy, R² and |cos| by (i − 1) × JITTER: the seeds differ, as real ones do


def _jitter(row: dict, i: int) -> dict:
    """A seed's copy of a row: accuracy, R² and orthogonality columns moved by (i − 1) × JITTER (so that every
    interval over the seeds has a width; identical seeds made every spread 0 and every interval a point)."""
    moved = {k: v + (i - 1) * JITTER for k, v in row.items()
             if isinstance(v, float) and (k.startswith(("acc", "r2")) or "orth" in k) and 0 < v < 1}
    return row | moved


def seeded(case, k=3):
    """The case with every run repeated over k seeds (run names `NAME_seed=i`, measurements keyed alike), each
    seed's values a little apart (`_jitter`)."""
    def make(outcome):
        rows, measured = case(outcome)
        names = {r["run"] for r in rows}
        out = [_jitter(r, i) | {"run": f"{r['run']}_seed={i}", "seed": i} for i in range(k) for r in rows]

        def rekey(d):
            if isinstance(d, dict) and d and set(d) <= names:
                return {f"{n}_seed={i}": v for i in range(k) for n, v in d.items()}
            return {kk: rekey(v) for kk, v in d.items()} if isinstance(d, dict) else d

        return out, rekey(measured)
    return make


def bias_bench(outcome, variants=None, tasks=None):
    """Every variant on every task: the baseline at 0.5 and the others at 0.8 (supported: a gain of 0.3), all at
    0.5 (not supported: no gain), or the baseline at 0.95 (inconclusive: no room for a gain of 0.1 below the
    ceiling 1); the memorizers at 0.2; the few-data task scored through `measure`'s grid accuracy."""
    from factordiff.experiments import bias_bench as bb

    variants = variants or bb.VARIANTS
    base, other = {SUP: (0.5, 0.8), NOT: (0.5, 0.5), INC: (0.95, 0.97)}[outcome]
    rows, measured = [], {}
    for variant, (arch, coords, _) in variants.items():
        a = base if variant == bb.BASELINE else other
        for task, ((kind, holdout, hx, fraction, inc), _, _) in (tasks or bb.TASKS).items():
            name = f"{variant}-{task}"
            rows += run(name, **{"model.arch": arch, "model.coords": coords, "data.kind": kind,
                                 "data.holdout": holdout, "data.holdout_x": hx, "data.fraction": fraction,
                                 "data.increment": inc, "acc": 0.9, "acc_ceiling": 1.0, "acc_ood_detectable": a,
                                 "acc_nearest_ood_detectable": 0.2, "acc_closedform_ood_detectable": 0.2})
            measured[name] = {"variant": variant, "params": 1_000_000, "sec_per_step": 0.05} | (
                {"grid": {"acc_detectable": a, "acc_nearest_detectable": 0.2}} if task == "few-data" else {})
    return rows, measured


def bias_bench_learned(outcome):
    """The bias bench's case with its two variants: P1's UNet and the learned renderer."""
    from factordiff.experiments import bias_bench_learned as bl

    return bias_bench(outcome, bl.VARIANTS)


def bias_bench_fewdata(outcome):
    """The bias bench's case on its one few-data task at σ 0.3, with every variant and the learned renderer."""
    from factordiff.experiments import bias_bench_fewdata as bf

    return bias_bench(outcome, bf.VARIANTS, bf.TASKS)


def bias_bench_factors(outcome):
    """Every variant's image-driven part on the grid probe: the baseline at 0.5 and the others at 0.2 (supported: a
    drop of 0.3), all at 0.5 (not supported: no drop), or the baseline at 0.05 (inconclusive: no room for a drop of
    0.1 above 0); the controls (untrained image part, label-only response, ground truth) beside them."""
    from factordiff.experiments import bias_bench as bb
    from factordiff.experiments import bias_bench_factors as bf

    base, other = {SUP: (0.5, 0.2), NOT: (0.5, 0.5), INC: (0.05, 0.02)}[outcome]
    rows = []
    for variant, (arch, coords, _) in bb.VARIANTS.items():
        a = base if variant == bb.BASELINE else other
        cols = {f"{c}_{col}": v for col, _ in bf.STATS.values()
                for c, v in ((bf.CLOUD, a), ("untrained_image_part", 0.6), ("label_only", 0.0), ("ground_truth", 0.4))}
        rows += run(variant, **{"model.arch": arch, "model.coords": coords, "acc": 0.9, "acc_ceiling": 1.0}, **cols)
    return rows, {v: {"variant": v, "params": 1_000_000, "sec_per_step": 0.05} for v in bb.VARIANTS}


CASES = {"p1-phases": p1_phases, "p1-increment": p1_increment, "p1-sigma": p1_sigma, "p1-imbalance": p1_imbalance,
         "p1-holes": p1_holes, "p2-torus": p2_torus, "p2-orthogonality": p2_orthogonality,
         "p2-composition": p2_composition, "p2-scaling": p2_scaling, "p2-percolation": p2_percolation,
         "p2-rim": p2_rim, "p2-lesion": p2_lesion, "p2-regions": p2_regions, "p2-torus-budget": p2_torus_budget,
         "p1-sigma-seeds": p1_sigma_seeds, "p2-composition-budget": p2_composition,
         "p1-increment-budget": p1_increment, "bias-bench": bias_bench,
         "bias-bench-factors": bias_bench_factors, "bias-bench-learned": bias_bench_learned,
         "bias-bench-fewdata": bias_bench_fewdata}
CASES = {name: seeded(case) for name, case in CASES.items()}
