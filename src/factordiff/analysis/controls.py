"""What a representation holds beyond its label code (docs/papers.md §7 #26). The UNet adds SiLU→Linear(PE(t) ⊕ PE(µx)
⊕ PE(µy)) after every block, so the recorded layer contains a term that depends on the labels alone. The
label-only response X_lab is the layer's response to a blank image with the same labels at the same timestep;
the image-driven part is X − X_lab (config: `analyze --image-part minus_label_only`). Subtracting the whole
label-only response, rather than taking the block's output before its own conditioning term, also removes what
the labels contribute through the earlier blocks and the skip connections."""

from __future__ import annotations

import numpy as np


def _ss(X: np.ndarray) -> float:
    X = np.asarray(X, dtype=np.float64)
    return float(((X - X.mean(0)) ** 2).sum())


def label_share(X: np.ndarray, X_lab: np.ndarray) -> float:
    """The share of the layer's variance the label-only response reproduces: 1 − SS(X − X_lab) / SS(X), with
    SS the sum of squares about the mean (1: the layer is its label code; 0: the labels explain nothing; < 0:
    subtracting the label code adds variance)."""
    total = _ss(X)
    return float("nan") if total == 0 else 1.0 - _ss(np.asarray(X, float) - np.asarray(X_lab, float)) / total


def image_part(X: np.ndarray, X_lab: np.ndarray) -> np.ndarray:
    """The image-driven part of the layer: X − X_lab."""
    return np.asarray(X, dtype=np.float64) - np.asarray(X_lab, dtype=np.float64)
