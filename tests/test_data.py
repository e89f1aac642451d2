import numpy as np
import pytest
import torch

from factordiff.config import ConfigError, DataConfig
from factordiff.data import (
    BUMP,
    SOS,
    in_holdout,
    label_regions,
    make_dataset,
    neighbour_overlap,
    overlap,
    overlap_curves,
    render_bump,
    render_labels,
    render_labels_torch,
    render_sos,
    shift_overlap_1d,
    to_uint8,
    visible_dims,
)
from factordiff.presets import preset


def test_bump_formula_and_frame():
    img = render_bump(16, 16, sigma=1.0)
    assert img.shape == (32, 32)
    assert np.unravel_index(img.argmin(), img.shape) == (15, 15)  # pixel (16, 16) in 1-based coordinates
    assert img.min() == 0.0 and img.max() <= 255.0
    # P1: v = 255(1 − exp(−Δx²/4σ² − Δy²/4σy²)); pixel (x=18, y=15) is column 17, row 14 (0-based)
    img = render_bump(16.3, 15.2, sigma=0.7)
    expected = 255 * (1 - np.exp(-((18 - 16.3) ** 2) / (4 * 0.49) - ((15 - 15.2) ** 2) / (4 * 0.49)))
    assert img[14, 17] == pytest.approx(expected, abs=1e-9)
    img2 = render_bump(16.3, 15.2, sigma=0.7, variance_convention="2sigma2")
    expected2 = 255 * (1 - np.exp(-((18 - 16.3) ** 2) / (2 * 0.49) - ((15 - 15.2) ** 2) / (2 * 0.49)))
    assert img2[14, 17] == pytest.approx(expected2, abs=1e-9)


def test_periodic_bump_wraps_around():
    a = render_bump(0.0, 16.0, sigma=1.0, periodic=True)
    b = render_bump(16.0, 16.0, sigma=1.0, periodic=True)
    np.testing.assert_allclose(a, np.roll(b, 16, axis=1), atol=1e-12)
    flat = render_bump(0.0, 16.0, sigma=1.0)
    assert a[15, 31] < 100 and flat[15, 31] > 250  # only the torus darkens the far edge


def test_sos_and_stripes():
    img = render_sos(10, 20, sigma=1.0)
    assert img[19, 9] == pytest.approx(0.0)  # the crossing
    assert img[2, 9] == pytest.approx(127.5, abs=0.5)  # one stripe alone is half dark (mean norm)
    img = render_sos(10, -6, sigma=1.0)  # horizontal stripe hidden in the canvas margin: a 1D image
    assert img[:, 9].max() - img[:, 9].min() < 1e-3 and img[5, 9] == pytest.approx(127.5, abs=1e-3)
    clip = render_sos(10, 20, sigma=1.0, sos_norm="clip")
    assert clip[2, 9] == pytest.approx(0.0, abs=1e-9) and clip[19, 9] == 0.0


@pytest.mark.parametrize("inc, incx, incy, n", [(1.0, None, None, 33**2), (0.1, None, None, 321**2),
                                                (1.0, 0.1, 1.0, 321 * 33), (1.0, 0.1, 0.5, 321 * 65),
                                                (0.5, None, None, 65**2), (0.3, None, None, 107**2)])
def test_dataset_sizes(inc, incx, incy, n):
    assert len(make_dataset(DataConfig(increment=inc, increment_x=incx, increment_y=incy))) == n


def test_label_start_one_and_torus_sizes():
    assert len(make_dataset(DataConfig(label_start=1))) == 32**2
    ds = make_dataset(DataConfig(periodic=True))
    assert len(ds) == 32**2 and ds.labels.max() == 31


@pytest.mark.parametrize("name, frac", [("p1-hole-3.5", 0.035), ("p1-hole-10", 0.10)])
def test_hole_fractions(name, frac):
    ds = make_dataset(preset(name).data)
    share = len(ds.heldout_labels) / (len(ds) + len(ds.heldout_labels))
    assert share == pytest.approx(frac, abs=0.003)
    assert not in_holdout(ds.labels, ds.config).any() and in_holdout(ds.heldout_labels, ds.config).all()


def test_cross_sections():
    ds = make_dataset(preset("p2-sos-cross").data)
    assert len(ds) == 26 * 26 and (ds.kinds == SOS).all()
    r = label_regions(ds.heldout_labels, ds.config)
    assert (r["vertical"].sum(), r["horizontal"].sum(), r["intersection"].sum()) == (7 * 26, 7 * 26, 49)
    v = ds.heldout_labels[r["vertical"]]
    assert ((v[:, 0] >= 13) & (v[:, 0] <= 19)).all() and ((v[:, 1] < 13) | (v[:, 1] > 19)).all()


def test_stripes_canvas_dims_and_rim():
    cfg = DataConfig(kind="stripes", rim_width=0.0)
    ds = make_dataset(cfg)
    dims = visible_dims(ds.labels, cfg)
    assert (dims == 1).all() and len(ds) == 2 * 33 * 12  # 44-canvas: 12 hidden values per visible one
    assert ds.labels.min() == -6 and ds.labels.max() == 38
    rim = make_dataset(DataConfig(kind="stripes", rim_width=2.0))
    two_d = rim.labels[visible_dims(rim.labels, cfg) == 2]
    assert len(two_d) == 33**2 - 27**2
    assert (np.minimum(two_d, 32 - two_d).min(axis=1) <= 2).all()
    blank = make_dataset(DataConfig(kind="stripes", rim_width=0.0, include_blank=True))
    assert (visible_dims(blank.labels, cfg) == 0).sum() == 12 * 12


def test_mixtures():
    ds = make_dataset(DataConfig(kind="bump+stripes"))
    assert (ds.kinds == BUMP).sum() == 33**2 and (ds.kinds == SOS).sum() == 2 * 33 * 12
    assert (visible_dims(ds.labels[ds.kinds == SOS], ds.config) == 1).all()
    ds = make_dataset(preset("p2-sos-stripes-cross").data)
    assert (ds.kinds == SOS).all() and len(ds) == 26 * 26 + 2 * 33 * 12  # stripes keep the full range


def test_one_image_per_stripe_position():
    cfg = DataConfig(kind="bump+stripes", stripe_offsets="one")  # docs/papers.md §6 #19: 2·(N/d + 1) stripes
    ds = make_dataset(cfg)
    stripes = ds.labels[ds.kinds == SOS]
    assert (ds.kinds == BUMP).sum() == 33**2 and len(stripes) == 2 * 33
    seen = stripes[:, 0] >= 0
    assert sorted(stripes[seen, 0]) == list(range(33)) and (stripes[seen, 1] == -6).all()  # hidden at the edge
    assert sorted(stripes[~seen, 1]) == list(range(33)) and (stripes[~seen, 0] == -6).all()
    img = render_labels(stripes[:1], np.array([SOS], np.uint8), cfg)[0]  # a clean stripe: no tail of the other
    assert np.ptp(img, axis=0).max() < 1e-3 * 255 or np.ptp(img, axis=1).max() < 1e-3 * 255
    assert preset("p2-bump-stripes").data.stripe_offsets == "one"
    with pytest.raises(ConfigError, match="data.stripe_offsets"):
        DataConfig(stripe_offsets="some")


def test_lesion_and_regions():
    ds = make_dataset(preset("p2-lesion").data)  # x in [14.25, 17.75] removed: x = 15, 16, 17
    assert set(np.unique(ds.heldout_labels[:, 0])) == {15.0, 16.0, 17.0}
    ext = make_dataset(DataConfig(holdout="box", holdout_x=(0.0, 7.0), holdout_y=(0.0, 7.0)))
    assert len(ext.heldout_labels) == 64 and ext.heldout_labels.max() == 7.0


def test_subsampling():
    cfg = DataConfig(fraction=0.3, subsample_seed=1)
    a, b = make_dataset(cfg), make_dataset(cfg)
    assert len(a) == round(0.3 * 33**2)
    np.testing.assert_array_equal(a.labels, b.labels)
    c = make_dataset(DataConfig(fraction=0.3, subsample_seed=2))
    assert not np.array_equal(a.labels, c.labels)
    mixed = make_dataset(DataConfig(kind="bump+stripes", fraction=0.1))  # P2 Fig 5b: stripes all kept
    assert (mixed.kinds == SOS).sum() == 2 * 33 * 12 and (mixed.kinds == BUMP).sum() == round(0.1 * 33**2)


def test_empty_results_are_config_errors():
    with pytest.raises(ConfigError, match="data.fraction"):
        make_dataset(DataConfig(fraction=1e-6))
    with pytest.raises(ConfigError, match="data.holdout_x"):
        make_dataset(DataConfig(holdout="box", holdout_x=(13.2, 13.8), holdout_y=(13.2, 13.8)))


@pytest.mark.parametrize("name", ["p2-bump-stripes", "p2-torus", "p2-sos-stripes-cross"])
def test_numpy_and_torch_renderers_agree(name, rng):
    ds = make_dataset(preset(name, ["data.sigma=0.8", "data.sos_norm=clip"] if "sos" in name
                                else ["data.sigma=0.8"]).data)
    idx = rng.choice(len(ds), 200, replace=False)
    ref = ds.images(idx)
    labels = torch.from_numpy(ds.labels[idx])
    kinds = torch.from_numpy(ds.kinds[idx])
    t64 = render_labels_torch(labels, kinds, ds.config, dtype=torch.float64).numpy()
    t32 = render_labels_torch(labels, kinds, ds.config).numpy()
    np.testing.assert_allclose(t64, ref, atol=1e-9)
    assert np.abs(t32 - ref).max() / 255 < 1e-5  # within 1e-5 of the full intensity range


def test_to_uint8():
    assert to_uint8(np.array([-3.0, 0.4, 127.5, 300.0])).tolist() == [0, 0, 128, 255]


def test_overlap_known_values():
    # docs/papers.md §5.1 item 3 [COMPUTED]: at d = 1, 0.94 (σ=1), 0.77 (σ=0.5), 0.19 (σ=0.25), ~5e-6 (σ=0.1)
    got = overlap_curves([1.0, 0.5, 0.25, 0.1], [1.0])[:, 0]
    np.testing.assert_allclose(got[:3], [0.94, 0.77, 0.19], atol=0.005)
    assert 1e-6 < got[3] < 1e-5
    a = 255 - render_bump(16, 16, sigma=1.0)
    assert overlap(a, a) == pytest.approx(1.0)
    assert neighbour_overlap(1.0, 1.0) == pytest.approx(shift_overlap_1d(1.0, [1.0])[0], abs=1e-9)
    curve = overlap_curves([0.5], np.arange(0.1, 3.0, 0.1))[0]
    assert curve[0] > curve[-1] and np.all(np.diff(curve[::5]) < 0)  # decays with the increment


def test_render_rejects_nothing_silently():
    images = render_labels(np.array([[16.0, 16.0], [3.0, 40.0]]), np.array([BUMP, SOS]), DataConfig(kind="sos"))
    assert images.shape == (2, 32, 32) and np.isfinite(images).all()
