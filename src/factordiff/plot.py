"""Figures. Plots compute nothing: data in, Axes out. matplotlib is imported lazily (Agg backend)."""

from __future__ import annotations

import numpy as np


def _mpl():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def new_figure(nrows: int = 1, ncols: int = 1, *, size: tuple[float, float] | None = None, **kw):
    plt = _mpl()
    size = size or (4.0 * ncols, 3.2 * nrows)
    return plt.subplots(nrows, ncols, figsize=size, squeeze=False, **kw)


def color(i: int) -> str:
    """The i-th colour of matplotlib's default cycle (tab10)."""
    return f"C{i % 10}"


def close(fig) -> None:
    _mpl().close(fig)


def plot_image(ax, image: np.ndarray, label=None, pred=None, title: str | None = None):
    """One image in gray; red dot at the ground-truth label, blue cross at a prediction (label frame:
    pixel centres at 1..N, so a label µ sits at imshow coordinate µ − 1). Hidden / NaN coordinates are not
    drawn as points: a stripe label is drawn as a dotted line across the frame instead."""
    n = image.shape[-1]
    ax.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    if label is not None:
        x, y = float(label[0]), float(label[1])
        x_in, y_in = 0 <= x <= n, 0 <= y <= n
        if x_in and y_in:
            ax.plot(x - 1, y - 1, "o", color="red", ms=3)
        elif x_in:
            ax.axvline(x - 1, color="red", lw=0.8, ls=":")
        elif y_in:
            ax.axhline(y - 1, color="red", lw=0.8, ls=":")
    if pred is not None and np.all(np.isfinite(pred)):
        ax.plot(pred[0] - 1, pred[1] - 1, "x", color="tab:blue", ms=4)
    ax.set_xlim(-0.5, n - 0.5)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=7)
    return ax


def plot_image_grid(axes, images: np.ndarray, labels: np.ndarray | None = None,
                    preds: np.ndarray | None = None, titles: list[str] | None = None):
    """A grid of images (P1 Fig 3 top row: 5×5 with red ground-truth dots); extra axes are switched off."""
    flat = np.asarray(axes).ravel()
    for i, ax in enumerate(flat):
        if i >= len(images):
            ax.axis("off")
            continue
        plot_image(ax, images[i], None if labels is None else labels[i], None if preds is None else preds[i],
                   None if titles is None else titles[i])
    return axes


def plot_label_map(ax, train: np.ndarray, heldout: np.ndarray, image_size: int):
    """The label plane (P2 Fig 4f / 9): training labels in gray, held-out labels in red, the visible frame
    [0, N]² as a box; stripe labels in the hidden canvas margin lie outside the box."""
    size = float(np.clip(3000 / max(1, len(train) + len(heldout)), 2, 14))  # sparse grids get bigger dots
    for pts, color, name, z in ((train, "0.45", "train", 1), (heldout, "tab:red", "held out", 2)):
        if len(pts):
            step = max(1, len(pts) // 6000)  # thin dense grids for legibility; the counts stay in the legend
            ax.scatter(pts[::step, 0], pts[::step, 1], s=size, c=color, lw=0, zorder=z,
                       label=f"{name} ({len(pts):,})")
    ax.add_patch(_mpl().Rectangle((0, 0), image_size, image_size, fill=False, ec="k", lw=0.8, zorder=3))
    ax.set_aspect("equal")
    ax.invert_yaxis()
    ax.set_xlabel("µx")
    ax.set_ylabel("µy")
    ax.legend(fontsize=7, loc="upper right", markerscale=3)
    return ax


def plot_overlap_curves(ax, increments, overlaps: np.ndarray, sigmas):
    """P1 Fig 7b / P2 Fig 6b: normalised L2 overlap of neighbouring bumps vs increment, one curve per σ."""
    for s, row in zip(sigmas, overlaps):
        ax.plot(increments, row, marker=".", label=f"σ = {s:g}")
    ax.set_xlabel("increment d (pixels)")
    ax.set_ylabel("overlap ‖√(a∗b)‖ / ‖a‖")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    return ax


def plot_percolation(ax, fractions, mean: np.ndarray, std: np.ndarray, sigmas, threshold: float):
    """P2 Fig 6c / 13 / 14b: largest connected mass ratio vs λ, one curve per σ (or per label given as text), at one
    overlap threshold."""
    for s, m, e in zip(sigmas, mean, std):
        line, = ax.plot(fractions, m, marker=".", label=s if isinstance(s, str) else f"σ = {s:g}")
        ax.fill_between(fractions, np.clip(m - e, 0, 1), np.clip(m + e, 0, 1), color=line.get_color(), alpha=0.15)
    ax.set_xlabel("λ (fraction of data in training set)")
    ax.set_ylabel("largest connected mass ratio")
    ax.set_title(f"overlap threshold {threshold:g}", fontsize=9)
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return ax


PHASE_COLORS = {"A": "#f4cccc", "B": "#fff2cc", "C": "#d9ead3"}


def plot_phase_bands(ax, steps, phases):
    """Shade the step axis by phase (P1 Fig 3): A red, B yellow, C green."""
    steps = np.asarray(steps, dtype=float)
    if len(steps) == 0:
        return ax
    edges = np.concatenate([[steps[0]], (steps[1:] + steps[:-1]) / 2, [steps[-1]]])
    for i, p in enumerate(phases):
        ax.axvspan(edges[i], edges[i + 1], color=PHASE_COLORS.get(p, "white"), lw=0, zorder=0)
    for p, c in PHASE_COLORS.items():
        ax.plot([], [], "s", color=c, label=f"phase {p}")
    return ax


def plot_curves(ax, steps, series: dict, *, phases=None, ylabel: str = "", ylim=(0, 1.02)):
    """Lines over training steps (accuracy, R², …) with optional phase bands."""
    if phases is not None:
        plot_phase_bands(ax, steps, phases)
    for name, values in series.items():
        ax.plot(steps, values, marker=".", label=name)
    ax.set_xlabel("training step")
    ax.set_ylabel(ylabel)
    if ylim:
        ax.set_ylim(*ylim)
    ax.legend(fontsize=7, loc="best")
    return ax


def plot_loss(ax, steps, loss):
    """The training loss (ε-MSE per logged step), log scale."""
    ax.plot(steps, loss, lw=0.8, color="tab:blue")
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("training loss (ε-MSE)")
    return ax


def plot_count_shares(ax, steps, counts: list[dict]):
    """The failure-mode histogram over steps: shares of 0, 1 and > 1 bumps (stacked)."""
    shares = np.array([[c.get(k, 0.0) for k in ("0", "1", ">1")] for c in counts]).T
    ax.stackplot(steps, shares, labels=["0 bumps", "1 bump", "> 1 bumps"],
                 colors=["0.8", "tab:green", "tab:red"], alpha=0.8)
    ax.set_xlabel("training step")
    ax.set_ylabel("share of samples")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, loc="best")
    return ax


def plot_embedding(ax, Y: np.ndarray, color: np.ndarray, *, title: str = "", cmap: str = "viridis",
                   colorbar: str | None = None):
    """A 3-D embedding (UMAP/PCA) coloured by a label coordinate (P1 Fig 3 bottom), with a colour bar
    labelled `colorbar` when given. `ax` is a 3-D Axes."""
    sc = ax.scatter(Y[:, 0], Y[:, 1], Y[:, 2], c=color, cmap=cmap, s=4, depthshade=False)
    if colorbar:
        ax.figure.colorbar(sc, ax=ax, fraction=0.035, pad=0.02).set_label(colorbar, fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_zticks([])
    ax.set_title(title, fontsize=8)
    return ax


def plot_spectra(ax, spectra: dict):
    """P2 Fig 2d: explained-variance ratio of the first PCs, one line per labelled snapshot."""
    for name, evr in spectra.items():
        ax.plot(np.arange(1, len(evr) + 1), evr, marker=".", label=name)
    ax.set_xlabel("principal component")
    ax.set_ylabel("explained variance ratio")
    ax.legend(fontsize=7)
    return ax


def plot_persistence(ax, dgms: list, *, title: str = ""):
    """A persistence diagram (birth vs death) for H0..H2; the infinite H0 bar is drawn at the top edge."""
    finite = [d[np.isfinite(d[:, 1])] for d in dgms if len(d)]
    top = max((float(d[:, 1].max()) for d in finite if len(d)), default=1.0) * 1.1
    for dim, d in enumerate(dgms):
        if len(d):
            death = np.where(np.isfinite(d[:, 1]), d[:, 1], top)
            ax.scatter(d[:, 0], death, s=8, label=f"H{dim}")
    ax.plot([0, top], [0, top], color="0.5", lw=0.8)
    ax.set_xlabel("birth")
    ax.set_ylabel("death")
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=7)
    return ax


def plot_stat_histograms(ax, samples: dict, *, title: str = "", bins=41):
    """P2 Fig 3: one statistic for several point clouds (model vs references) as overlaid histograms."""
    for name, values in samples.items():
        ax.hist(values, bins=bins, density=True, histtype="stepfilled", alpha=0.45, label=name)
    ax.set_title(title, fontsize=8)
    if samples:
        ax.legend(fontsize=6)
    return ax


def plot_heatmap(ax, matrix: np.ndarray, rows, cols, *, title: str = "", xlabel: str = "", ylabel: str = "",
                 vmin: float = 0.0, vmax: float = 1.0, cmap: str = "viridis"):
    """A phase diagram (P1 Fig 4/8): matrix[row, col] with labelled ticks and a colour bar."""
    im = ax.imshow(matrix, aspect="auto", origin="lower", vmin=vmin, vmax=vmax, cmap=cmap, interpolation="nearest")
    ax.set_yticks(range(len(rows)), [f"{r:g}" if isinstance(r, float) else str(r) for r in rows])
    step = max(1, len(cols) // 8)
    ax.set_xticks(range(0, len(cols), step), [str(c) for c in cols[::step]])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.figure.colorbar(im, ax=ax, fraction=0.046)
    return ax
