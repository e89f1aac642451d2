import numpy as np
import pytest

from factordiff.analysis.percolation import (
    PercolationConfig,
    PercolationResult,
    largest_cluster_ratio,
    neighbour_pairs,
    offset_overlaps,
    simulate,
)

LAMS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0)


@pytest.fixture(scope="module")
def result():
    return simulate(PercolationConfig(sigmas=(0.1, 0.25, 0.5, 1.0, 1.5), thresholds=(0.005,), fractions=LAMS,
                                      draws=10, overlap="continuum"))


def test_sigma_0_1_never_percolates(result):
    assert result.neighbours[0, 0] == 0
    assert (result.mean[0, 0] < 0.05).all()


def test_wide_bumps_percolate_at_5_percent(result):
    assert (result.mean[3:, 0, 0] > 0.95).all()  # σ ≥ 1: ≈ 1 already at λ = 0.05 (docs/papers.md §2.4)


def test_mass_ratio_rises_with_lambda(result):
    m = result.mean[1, 0]  # σ = 0.25 jumps between λ = 0.1 and 0.3
    assert m[1] < 0.3 and m[3] > 0.8 and m[-1] == 1.0
    assert np.all(np.diff(m[1:]) > -0.05)


def test_neighbour_counts_are_the_lattice_points_inside_the_overlap_radius(result):
    """Known answer from the closed form, not from this code: P1's 4σ² bumps overlap as exp(−Δ²/(16σ²)), so a
    neighbour at lattice offset (i, j) counts when i² + j² < −16σ² ln(threshold); count those points directly."""
    import math

    for row, sigma in enumerate(result.config.sigmas):
        radius2 = -16 * sigma**2 * math.log(0.005)
        want = sum(1 for i in range(-30, 31) for j in range(-30, 31) if 0 < i * i + j * j < radius2)
        assert result.neighbours[row, 0] == want, (sigma, want)
    assert result.neighbours[1, 0] == 20 and result.neighbours[2, 0] == 68  # σ 0.25 and 0.5, by hand


def test_threshold_crossing():
    cfg = PercolationConfig(sigmas=(1.0,), thresholds=(0.005,), fractions=(0.1, 0.2, 0.3), draws=1)
    r = PercolationResult(cfg, np.array([[[0.0, 0.4, 0.8]]]), np.zeros((1, 1, 3)), np.zeros((1, 1)))
    assert r.threshold_crossing(0.5)[0, 0] == pytest.approx(0.225)


def test_square_lattice_site_percolation_threshold():
    # nearest neighbours only: square-lattice site percolation, p_c ≈ 0.593
    n = 80
    over = np.zeros((2 * n - 1, 2 * n - 1))
    c = n - 1
    over[c, c + 1] = over[c + 1, c] = over[c, c - 1] = over[c - 1, c] = 1.0
    pairs = neighbour_pairs(n, over, 0.5)
    assert len(pairs) == 2 * n * (n - 1)
    rng = np.random.default_rng(0)
    ratio = {p: np.mean([largest_cluster_ratio(rng.random(n * n) < p, pairs) for _ in range(5)])
             for p in (0.45, 0.75)}
    assert ratio[0.45] < 0.1 and ratio[0.75] > 0.9


def test_largest_cluster_small_case():
    over = np.zeros((5, 5))
    over[2, 3] = 1.0  # joins (i, j) and (i, j + 1)
    pairs = neighbour_pairs(3, over, 0.5)
    kept = np.array([1, 1, 0, 0, 1, 1, 1, 0, 0], dtype=bool)  # rows: [1 1 0] [0 1 1] [1 0 0]
    assert largest_cluster_ratio(kept, pairs) == pytest.approx(2 / 5)
    assert largest_cluster_ratio(np.zeros(9, dtype=bool), pairs) == 0.0


def test_pixel_and_continuum_overlaps_agree_for_wide_bumps():
    a = offset_overlaps(1.0, 1.0, 9, mode="pixel")
    b = offset_overlaps(1.0, 1.0, 9, mode="continuum")
    np.testing.assert_allclose(a, b, atol=2e-3)
    assert a[8, 8] == pytest.approx(1.0)
