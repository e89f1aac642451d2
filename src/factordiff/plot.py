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
    for pts, color, name, z in ((train, "0.45", "train", 1), (heldout, "tab:red", "held out", 2)):
        if len(pts):
            step = max(1, len(pts) // 6000)  # thin dense grids for legibility; the counts stay in the legend
            ax.scatter(pts[::step, 0], pts[::step, 1], s=2, c=color, lw=0, zorder=z, label=f"{name} ({len(pts):,})")
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
    """P2 Fig 6c / 13 / 14b: largest connected mass ratio vs λ, one curve per σ, at one overlap threshold."""
    for s, m, e in zip(sigmas, mean, std):
        line, = ax.plot(fractions, m, marker=".", label=f"σ = {s:g}")
        ax.fill_between(fractions, np.clip(m - e, 0, 1), np.clip(m + e, 0, 1), color=line.get_color(), alpha=0.15)
    ax.set_xlabel("λ (fraction of data in training set)")
    ax.set_ylabel("largest connected mass ratio")
    ax.set_title(f"overlap threshold {threshold:g}", fontsize=9)
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return ax
