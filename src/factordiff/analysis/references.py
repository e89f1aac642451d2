"""Reference point clouds that go through the same analysis code as the model (P2 Fig 2b, Fig 3)."""

from __future__ import annotations

import numpy as np


def grid_angles(nx: int, ny: int) -> tuple[np.ndarray, np.ndarray]:
    """θ = 2πx/nx, φ = 2πy/ny on an nx × ny grid, indexed [x, y]."""
    theta = 2 * np.pi * np.arange(nx) / nx
    phi = 2 * np.pi * np.arange(ny) / ny
    return np.meshgrid(theta, phi, indexing="ij")


def torus3d(nx: int, ny: int, R: float = 2.0, r: float = 1.0) -> np.ndarray:
    """A torus of revolution in R³ on the label grid, (nx, ny, 3): x drives the tube angle θ, y the ring φ."""
    th, ph = grid_angles(nx, ny)
    return np.stack([(R + r * np.cos(th)) * np.cos(ph), (R + r * np.cos(th)) * np.sin(ph), r * np.sin(th)], -1)


def clifford_torus(nx: int, ny: int) -> np.ndarray:
    """The flat torus (cos θ, sin θ, cos φ, sin φ)/√2 in R⁴ on the label grid, (nx, ny, 4): x and y factorized."""
    th, ph = grid_angles(nx, ny)
    return np.stack([np.cos(th), np.sin(th), np.cos(ph), np.sin(ph)], -1) / np.sqrt(2)


def noisy_circle(n: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    t = rng.uniform(0, 2 * np.pi, n)
    return np.stack([np.cos(t), np.sin(t)], 1) + noise * rng.standard_normal((n, 2))


def sphere(n: int, rng: np.random.Generator) -> np.ndarray:
    v = rng.standard_normal((n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def blob(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    return rng.standard_normal((n, dim))
