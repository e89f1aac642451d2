"""Composed figures: data in, a matplotlib Figure out, built on the Axes primitives of `plot`. Nothing here
computes (no UMAP, SVD, homology, inference or simulation): the callers measure first and pass the numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import plot
from .io import save_figure

close = plot.close


def save(fig, out_dir: Path, name: str, title: str | None = None, *, tight: bool = True) -> Path:
    """Title (optional), tight layout (off for figures with nested grids), atomic PNG at OUT_DIR/NAME.png,
    figure closed."""
    if title:
        fig.suptitle(title, fontsize=9)
    if tight:
        fig.tight_layout()
    path = save_figure(fig, Path(out_dir) / f"{name}.png")
    plot.close(fig)
    return path


def image_grid(images: np.ndarray, labels: np.ndarray | None = None, preds: np.ndarray | None = None):
    """A near-square grid of images with red dots at their labels (and blue crosses at predictions)."""
    m = max(1, len(images))
    cols = int(np.ceil(np.sqrt(m)))
    rows = int(np.ceil(m / cols))
    fig, axes = plot.new_figure(rows, cols, size=(1.3 * cols, 1.3 * rows))
    plot.plot_image_grid(axes, images, labels, preds)
    return fig


def phases(panels: list[dict], layer: str):
    """P1 Fig 3: per panel (one snapshot per phase) 5×5 samples with red ground-truth dots and the 3-D UMAP of
    the layer coloured by x and by y. A panel: step, phase, acc, images, labels, umap (n, 3), r2_x, r2_y."""
    fig = plot.new_figure(size=(4.2 * len(panels), 12.0))[0]
    fig.clf()
    outer = fig.add_gridspec(3, len(panels), hspace=0.15, height_ratios=[1.1, 1, 1])
    for j, p in enumerate(panels):
        axes = outer[0, j].subgridspec(5, 5, wspace=0.05, hspace=0.05).subplots(squeeze=False)
        plot.plot_image_grid(axes, np.asarray(p["images"])[:25], np.asarray(p["labels"])[:25])
        axes[0, 2].set_title(f"step {p['step']}: phase {p['phase']}, acc {p['acc']:.2f}", fontsize=9)
        Y, labels = np.asarray(p["umap"]), np.asarray(p["labels"])
        for i, name in enumerate("xy"):
            ax = fig.add_subplot(outer[1 + i, j], projection="3d")
            plot.plot_embedding(ax, Y, labels[:, i], title=f"UMAP of {layer}, coloured by {name} "
                                f"(R²_{name} {_num(p.get(f'r2_{name}'))})", colorbar=f"label {name} (px)")
    return fig


def label_strip(frames: list[dict]):
    """The same few labels across training (P1 Fig 3's behaviour at a glance): one row per label, one column per
    snapshot. A frame: step, phase, images (k, N, N), labels (k, 2), pred (k, 2); red dot: the label, blue cross:
    where the detector read the bump."""
    k = min(len(f["images"]) for f in frames)
    fig, ax = plot.new_figure(k, len(frames), size=(1.25 * len(frames), 1.3 * k + 0.4))
    for j, f in enumerate(frames):
        for i in range(k):
            plot.plot_image(ax[i, j], f["images"][i], f["labels"][i], f["pred"][i])
            ax[i, j].set_xticks([]), ax[i, j].set_yticks([])
        ax[0, j].set_title(f"{f['step']:,} ({f['phase']})", fontsize=8)
    return fig


def _num(v) -> str:
    return "–" if v is None or not np.isfinite(v) else f"{v:.2f}"


def run_curves(rows: list[dict], loss: tuple[list, list] | None = None):
    """Two rows over training: accuracy (with the ground-truth ceiling), manifold R² (UMAP, as P1 reads it) and
    the k-NN probe R² that decides phase C; the 0/1/>1 bump shares, the TwoNN dimension of the layer and its
    image-driven part (P1's "quasi-2-D" phase B) and, given (steps, losses) of the logged training rows, the loss."""
    steps = [r["step"] for r in rows]
    phase = [r["phase"] for r in rows]
    fig, ax = plot.new_figure(2, 3, size=(15, 7.6))
    plot.plot_curves(ax[0, 0], steps, {"accuracy": [r["acc"] for r in rows], "x": [r["acc_x"] for r in rows],
                                       "y": [r["acc_y"] for r in rows]}, phases=phase, ylabel="accuracy")
    if "acc_ceiling" in rows[-1]:
        ax[0, 0].axhline(rows[-1]["acc_ceiling"], color="k", ls="--", lw=0.8, label="ground-truth images")
        ax[0, 0].legend(fontsize=8)
    m = "umap" if "r2_umap" in rows[0] else "pca"
    for j, (meth, what) in enumerate(((m, f"manifold R² ({m.upper()}, P1's reading)"),
                                      ("probe", "k-NN probe R² (phase C reads the image-driven part)"))):
        r2 = {name: [_nan(r.get(f"{col}_{meth}")) for r in rows] for name, col in (
            ("layer", "r2"), ("image-driven part", "r2_image"), ("label-only (control)", "r2_label"),
            ("shuffled labels (floor)", "r2_shuffled")) if any(r.get(f"{col}_{meth}") is not None for r in rows)}
        if r2:  # a probe R² below 0 (worse than the mean) is drawn, not clipped
            low = min([-0.05, *(v for vs in r2.values() for v in vs if np.isfinite(v))])
            plot.plot_curves(ax[0, 1 + j], steps, r2, phases=phase, ylabel=what, ylim=(max(low, -1.0) - 0.02, 1.02))
        if rows[0]["step"] == 0 and rows[0].get(f"r2_image_{meth}") is not None:
            ax[0, 1 + j].axhline(rows[0][f"r2_image_{meth}"], color="0.4", ls=":", lw=0.8, label="untrained (step 0)")
            ax[0, 1 + j].legend(fontsize=7)
    plot.plot_count_shares(ax[1, 0], steps, [r["counts"] for r in rows])
    ids = {name: [_nan(r.get(col)) for r in rows] for name, col in (("layer", "id_layer"), ("image-driven part",
                                                                                             "id_image"))
           if any(r.get(col) is not None for r in rows)}
    if ids:
        plot.plot_curves(ax[1, 1], steps, ids, phases=phase, ylabel="intrinsic dimension (TwoNN)", ylim=None)
        ax[1, 1].set_yscale("log")
    if loss:
        plot.plot_loss(ax[1, 2], *loss)
    for a in ax.flat:
        if not a.has_data():
            a.set_axis_off()
    return fig


def _nan(v) -> float:
    return np.nan if v is None else v


def dimension(rows: list[dict]):
    """P2 Fig 2c,d: PCA spectra at four snapshots and the effective dimension over training."""
    steps = [r["step"] for r in rows]
    fig, ax = plot.new_figure(1, 2, size=(10, 3.6))
    idx = sorted({0, len(rows) // 3, 2 * len(rows) // 3, len(rows) - 1})
    plot.plot_spectra(ax[0, 0], {f"step {rows[i]['step']} (acc {rows[i]['acc']:.2f}, top-4 "
                                 f"{rows[i]['evr_top4']:.2f})": rows[i]["evr"] for i in idx})
    plot.plot_curves(ax[0, 1], steps, {"participation ratio": [r["participation_ratio"] for r in rows],
                                       "PCs for 90 %": [r["pcs_90"] for r in rows],
                                       "PCs for 95 %": [r["pcs_95"] for r in rows]},
                     phases=[r["phase"] for r in rows], ylabel="effective dimension", ylim=None)
    return fig


GEOMETRY_PAIRS = ("x_on_y", "x_on_x", "y_on_y")  # P2 Fig 3's rows (here columns), each with orth and par


def geometry(stats: dict[str, dict]):
    """P2 Fig 3: histograms of the orthogonality (top) and parallelism (bottom) statistics for x-on-y, x-on-x and
    y-on-y, one overlay per point cloud, {cloud: {stat: samples}}."""
    fig, ax = plot.new_figure(2, len(GEOMETRY_PAIRS), size=(3.8 * len(GEOMETRY_PAIRS), 5.6))
    for i, kind in enumerate(("orth", "par")):
        bins = np.linspace(0, 1, 41) if kind == "orth" else np.linspace(-1, 1, 41)
        for j, pair in enumerate(GEOMETRY_PAIRS):
            stat = f"{pair}_{kind}"
            plot.plot_stat_histograms(ax[i, j], {n: np.asarray(s[stat]) for n, s in stats.items() if stat in s},
                                      title=f"{pair.replace('_', '-')} {'|cos|' if kind == 'orth' else 'cos'}"
                                      f" ({'orthogonality' if kind == 'orth' else 'parallelism'})", bins=bins)
    return fig


def orthogonality_means(means: dict[str, dict[str, list]],
                        stats: tuple[str, ...] = ("x_on_y_orth", "x_on_x_orth", "y_on_y_orth")):
    """P2 Fig 3's displacement statistics side by side as seed dots and their mean (a bar) per point cloud:
    {cloud: {stat: [per seed mean]}}, a stat named as in the results table ("x_on_x_orth": mean |cos| of
    disjoint x-steps, "x_on_x_par": mean cos of the same x-step at two y). The verdict's cloud is compared with
    its controls and the two tori."""
    fig, ax = plot.new_figure(1, len(stats), size=(3.9 * len(stats), 3.8), sharey=True)
    names = list(means)
    for j, stat in enumerate(stats):
        a = ax[0, j]
        for i, name in enumerate(names):
            v = np.asarray([x for x in means[name].get(stat, []) if x is not None and np.isfinite(x)], float)
            if len(v):
                a.bar(i, v.mean(), width=0.6, color=plot.color(i), alpha=0.35)
                a.scatter(np.full(len(v), i), v, s=16, color=plot.color(i), zorder=3)
        a.set_xticks(range(len(names)), names, rotation=35, ha="right", fontsize=8)
        axes, kind = stat.rsplit("_", 1)
        a.set_title(f"{axes.replace('_', '-')} {'parallelism' if kind == 'par' else 'orthogonality'}", fontsize=10)
        a.set_ylim(0, 1)
    ax[0, 0].set_ylabel("mean |cos| or cos (dots: seeds)")
    return fig


def topology(diagrams: dict[str, list]):
    """P2 Fig 2b: a persistence diagram per point cloud, {cloud: [H0, H1, H2 arrays of (birth, death)]}."""
    fig, ax = plot.new_figure(1, len(diagrams), size=(3.8 * len(diagrams), 3.6))
    for j, (name, dgms) in enumerate(diagrams.items()):
        plot.plot_persistence(ax[0, j], [np.asarray(d, float).reshape(-1, 2) for d in dgms], title=name)
    return fig


def torus_readings(panels: list[dict]):
    """The topology readings of p2-torus side by side, one panel per variant: for each cloud (x) and seed (dots),
    the second-longest H1 bar (a torus needs two loops, ●) and the longest H2 bar (its void, ▲), as shares of
    the cloud's diameter, with the Betti numbers each seed read written above. A panel: {title, clouds: [name],
    h1: {cloud: [per seed]}, h2: {…}, betti: {cloud: [per seed]}}."""
    cols = min(2, len(panels))
    rows = -(-len(panels) // cols)
    fig, ax = plot.new_figure(rows, cols, size=(5.2 * cols, 3.9 * rows), sharey=True)
    for j, p in enumerate(panels):
        a = ax[j // cols, j % cols]
        for i, c in enumerate(p["clouds"]):
            for d, (key, marker) in enumerate((("h1", "o"), ("h2", "^"))):
                v = [x for x in p[key].get(c, []) if x is not None]
                a.scatter(np.full(len(v), i + (d - 0.5) * 0.25), v, marker=marker, s=22, color=plot.color(d),
                          label=("2nd H1 bar" if d == 0 else "1st H2 bar") if i == 0 else None)
            reads = [b for b in p["betti"].get(c, []) if b]
            a.text(i, 0.02, "\n".join(reads), ha="center", va="bottom", fontsize=6)
        a.set_xticks(range(len(p["clouds"])), [c.replace("_", " ") for c in p["clouds"]], rotation=35,
                     ha="right", fontsize=7)
        a.set_title(p["title"], fontsize=8)
        a.set_ylim(0, 0.6)
    ax[0, 0].set_ylabel("bar lifetime / diameter")
    ax[0, 0].legend(fontsize=7, loc="upper right")
    return fig


def pca_views(views: list[dict]):
    """P2 Fig 2e–g: 3-D PCA views of the layer at a few snapshots, {step, pca (n, 3), x}."""
    fig, ax = plot.new_figure(1, len(views), size=(3.7 * len(views), 3.6), subplot_kw={"projection": "3d"})
    for j, v in enumerate(views):
        plot.plot_embedding(ax[0, j], np.asarray(v["pca"]), np.asarray(v["x"]),
                            title=f"PCA, step {v['step']} (coloured by x)")
    return fig


def scatter2d(ax, emb: dict | None, title: str) -> None:
    """A 2-D embedding {'Y': (n, 2), 'x': (n,)} coloured by x (P2 Fig 11, 15); an empty panel without one."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=7)
    if emb:
        Y = np.asarray(emb["Y"])
        ax.scatter(Y[:, 0], Y[:, 1], c=np.asarray(emb["x"]), s=4, cmap="viridis")


def _relative_acc(r: dict):
    """Accuracy as a fraction of the ground-truth ceiling (what the onset reads); raw where no ceiling."""
    acc, ceil = r.get("acc"), r.get("acc_ceiling")
    return acc / ceil if acc is not None and ceil else acc


def heatmaps(rows: list[dict], col: str, title: str, onsets: dict | None = None):
    """P1 Fig 4 / 8 over (grid value × training step), seeds averaged: accuracy ÷ the ground-truth ceiling, the
    layer's UMAP R² as P1 records it and, where analysed, its image-driven part's R². `onsets` {grid value:
    [steps to 50 % of the ceiling, one per seed; inf when never]} draws each seed's onset as a white tick on the
    accuracy panel (the points the rank verdict reads); a seed that never got there gets an arrow at the end."""
    values = sorted({r[col] for r in rows})
    steps = sorted({r["step"] for r in rows})
    panels = [(_relative_acc, "accuracy ÷ ground-truth ceiling"),
              (lambda r: r.get("r2_umap"), "R² of the layer (UMAP, as P1 records it)")]
    if any(r.get("r2_image_umap") is not None for r in rows):
        panels.append((lambda r: r.get("r2_image_umap"), "R² of its image-driven part (UMAP)"))
    fig, axes = plot.new_figure(1, len(panels), size=(5.6 * len(panels), 0.5 * len(values) + 2.6))
    for j, (metric, label) in enumerate(panels):
        m = np.full((len(values), len(steps)), np.nan)
        for a, v in enumerate(values):
            for b, s in enumerate(steps):
                xs = [metric(r) for r in rows if r[col] == v and r["step"] == s and metric(r) is not None]
                m[a, b] = np.mean(xs) if xs else np.nan
        plot.plot_heatmap(axes[0, j], m, values, steps, title=label, xlabel="training step",
                          ylabel=col.split(".")[-1])
    for a, v in enumerate(values):
        seeds = (onsets or {}).get(v, [])
        for k, at in enumerate(seeds):
            y = a + (k - (len(seeds) - 1) / 2) * 0.6 / max(1, len(seeds))
            if np.isfinite(at):
                axes[0, 0].plot(int(np.searchsorted(steps, at)), y, marker="|", color="white", markersize=9, mew=2)
            else:
                axes[0, 0].plot(len(steps) - 1, y, marker=">", color="white", markersize=5)
    if onsets:
        axes[0, 0].set_title("accuracy ÷ ground-truth ceiling (ticks: each seed's 50 % step)", fontsize=9)
    fig.suptitle(title, fontsize=9)
    return fig


def sweep_curves(runs: dict[str, list[dict]], title: str):
    """Accuracy (overall / x / y / ID / OOD) and R²_x, R²_y over steps, one column per run (P1 Fig 5, 9)."""
    fig, axes = plot.new_figure(2, len(runs), size=(4.5 * len(runs), 6.4))
    for j, (name, rs) in enumerate(runs.items()):
        steps = [r["step"] for r in rs]
        acc = {k: [r.get(k) for r in rs] for k in ("acc", "acc_x", "acc_y", "acc_id", "acc_ood")
               if any(r.get(k) is not None for r in rs)}
        plot.plot_curves(axes[0, j], steps, acc, phases=[r.get("phase") or "A" for r in rs], ylabel="accuracy")
        axes[0, j].set_title(name, fontsize=8)
        r2 = {k: [r.get(k) for r in rs] for k in ("r2_x_umap", "r2_y_umap", "r2_image_x_umap", "r2_image_y_umap")
              if any(r.get(k) is not None for r in rs)}  # the layer, and its image-driven part where analysed
        plot.plot_curves(axes[1, j], steps, r2, ylabel="R² (UMAP)", ylim=(-0.05, 1.02))
    fig.suptitle(title, fontsize=9)
    return fig
