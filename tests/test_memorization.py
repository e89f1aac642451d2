"""The "memorize or compose?" probes (issue 48): known answers for the split-half statistics and the kernel
superposition fit, and both drivers on tiny runs."""

import json

import numpy as np
import pytest

from conftest import tiny
from factordiff.analysis.memorization import between, fit_superposition, kernel_weights, split_half
from factordiff.data import SOS, make_dataset, render_labels
from factordiff.errors import ConfigError
from factordiff.presets import preset


def _bumps(labels):
    cfg = preset("cpu").data
    return render_labels(np.asarray(labels, float), None, cfg)


def test_identical_renderers_agree_fully():
    labels = np.random.default_rng(0).uniform(3, 13, (40, 2))
    img = _bumps(labels)
    s = split_half(img, img, labels, labels, img, img, tolerance=1.0)
    assert s["agreement"] == pytest.approx(1.0) and s["label_agreement"] == 1.0
    assert s["nearest_a"] == pytest.approx(1.0)  # each image is its own nearest training image


def test_closed_form_memorizers_of_disjoint_halves_disagree_where_neither_saw():
    """Two closed-form memorizers of complementary halves of a bump lattice with a hole: on the hole's labels each
    copies one of its own training images (nearest correlation ≈ 1), and the two copies differ (their predicted
    labels agree far less often than two renderers of the truth do)."""
    from factordiff.memorizer import closed_form_images
    from factordiff.score import predict_labels

    over = ["data.holdout=box", "data.holdout_x=[6,10]", "data.holdout_y=[6,10]", "data.fraction=0.5",
            "data.subsample_scope=all"]
    cfg_a = preset("cpu", over)
    cfg_b = preset("cpu", [*over, "data.subsample_complement=true"])
    a, b = make_dataset(cfg_a.data), make_dataset(cfg_b.data)
    assert not set(map(tuple, a.labels)) & set(map(tuple, b.labels))  # disjoint
    assert len(a.labels) + len(b.labels) == len(make_dataset(preset("cpu", over[:3]).data).labels)
    hole = a.heldout_labels
    ma = closed_form_images(cfg_a, a.labels, a.kinds, hole, seed=0)
    mb = closed_form_images(cfg_b, b.labels, b.kinds, hole, seed=0)
    kinds = np.zeros(len(hole), dtype=int)
    pa, pb = predict_labels(ma, kinds)[0], predict_labels(mb, kinds)[0]
    s = split_half(ma, mb, pa, pb, render_labels(a.labels, a.kinds, cfg_a.data),
                   render_labels(b.labels, b.kinds, cfg_b.data), tolerance=1.0)
    assert s["nearest_a"] > 0.95 and s["nearest_b"] > 0.95, s  # copies
    assert s["label_agreement"] < 0.6 and s["agreement"] < 0.8, s  # of different images


def test_complement_needs_a_subsample():
    with pytest.raises(ConfigError, match="subsample_complement"):
        preset("cpu", ["data.subsample_complement=true"])


def _lattice(n=10):
    g = np.arange(n, dtype=float)
    return np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)


@pytest.mark.parametrize("kind,scales", [("factorized", (1.0, 2.0)), ("radial", 1.5)])
def test_superposition_recovers_the_kernel_and_its_length_scales(kind, scales):
    """Outputs at probe labels made as a known kernel's superposition of random outputs at the lattice labels:
    the fit names that kernel, with its length scales, at R² ≈ 1, and the other kernel fits worse."""
    rng = np.random.default_rng(1)
    train = _lattice()
    t_out = rng.normal(size=(len(train), 64))
    probe = rng.uniform(1, 8, (60, 2))
    p_out = kernel_weights(probe, train, kind, scales) @ t_out
    fit = fit_superposition(train, t_out, probe, p_out)
    assert fit["better"] == kind, fit
    if kind == "factorized":
        assert (fit["factorized"]["lx"], fit["factorized"]["ly"]) == scales
    else:
        assert fit["radial"]["l"] == scales
    assert fit[kind]["r2"] > 0.999
    other = "radial" if kind == "factorized" else "factorized"
    assert fit[other]["r2"] < fit[kind]["r2"] - 0.01, fit
    assert fit[kind]["edge"] is None and (fit["interval"][0] > 0.01) == (kind == "factorized"), fit


def test_superposition_calls_no_kernel_better_on_outputs_without_label_information():
    """Control: probe outputs unrelated to the training outputs (a model that learned nothing about the labels).
    Neither kernel may be called better: the R² difference's bootstrap interval straddles 0."""
    rng = np.random.default_rng(2)
    train = _lattice()
    fit = fit_superposition(train, rng.normal(size=(len(train), 64)), rng.uniform(1, 8, (60, 2)),
                            rng.normal(size=(60, 64)))
    assert fit["better"] == "neither" and fit["interval"][0] < 0 < fit["interval"][1], fit


def test_superposition_flags_a_nearest_neighbour_copy_at_the_grids_lower_edge():
    """A memorizer's outputs: each probe gets its nearest training label's output. Both kernels fit best at the
    smallest length scale, flagged 'lower' (the grid cannot resolve how local the copy is)."""
    rng = np.random.default_rng(3)
    train = _lattice()
    t_out = rng.normal(size=(len(train), 64))
    probe = train[rng.choice(len(train), 40, replace=False)] + rng.uniform(-0.2, 0.2, (40, 2))
    near = np.argmin(((probe[:, None] - train[None]) ** 2).sum(-1), 1)
    fit = fit_superposition(train, t_out, probe, t_out[near])
    assert fit["factorized"]["edge"] == "lower" and fit["radial"]["edge"] == "lower", fit
    assert fit["factorized"]["r2"] > 0.9 and fit["radial"]["r2"] > 0.9, fit


def test_superposition_needs_the_margin_not_just_an_interval_off_zero():
    """Probes half a step off a lattice weigh the same four neighbours under both kernels: the R² difference is
    tiny but its interval tight. It is not called a difference unless it passes the margin."""
    rng = np.random.default_rng(4)
    train = _lattice()
    t_out = rng.normal(size=(len(train), 64))
    probe = _lattice(9) + 0.5
    fit = fit_superposition(train, t_out, probe, kernel_weights(probe, train, "factorized", (0.25, 0.25)) @ t_out)
    assert abs(fit["delta_r2"]) < 0.01 and fit["better"] == "neither", fit
    assert fit_superposition(train, t_out, probe, kernel_weights(probe, train, "factorized", (0.25, 0.25)) @ t_out,
                             margin=0.0)["better"] == "factorized"


def test_between_places_a_fit_from_the_truth_to_the_copy_and_refuses_when_they_do_not_separate():
    assert between(0.64, 0.64, 0.82) == {"position": 0.0, "nearer": "the ground truth", "gap": 0.82 - 0.64,
                                         "min_gap": 0.05}
    assert between(0.82, 0.64, 0.82)["position"] == pytest.approx(1.0)
    assert between(0.80, 0.64, 0.82)["nearer"] == "the memorizer"
    assert between(0.99, 0.99, 0.97)["position"] is None  # within 0.05: R² cannot tell composing from copying


def test_the_superposition_controls_separate_composing_from_copying_on_the_bench_compose_task():
    """On the bench's compose data (2D SOS at the cpu scale, the central cross held out), a generator that draws
    every label right sits at the ground truth (position 0) and one that copies the nearest training label at the
    memorizer (position 1), on the cross and in distribution: the two controls are apart there (by ≥ 0.05), so
    the probe can say either. Out of distribution the truth fits worse: a stripe at an unseen column is no
    superposition of seen ones."""
    from scipy.spatial import cKDTree

    from factordiff.probes import superposition

    cfg = preset("cpu", {"data.kind": "sos", "data.holdout": "cross", "data.holdout_x": [6.5, 9.5],
                         "data.holdout_y": [6.5, 9.5], "data.canvas_margin": 3}).data
    labels = make_dataset(cfg).labels
    tree = cKDTree(labels)
    truth = lambda x: render_labels(x, np.full(len(x), SOS), cfg)  # noqa: E731 - the SOS images this data shows
    copy = lambda x: truth(labels[tree.query(x)[1]])  # noqa: E731
    res = {name: superposition(cfg, gen, n_train=150, n_probe=60) for name, gen in (("truth", truth),
                                                                                   ("copy", copy))}
    for region in ("id", "ood"):
        for kind in ("factorized", "radial"):
            assert res["truth"][region]["between"][kind]["position"] == pytest.approx(0.0, abs=1e-9)
            assert res["copy"][region]["between"][kind]["position"] == pytest.approx(1.0, abs=1e-9)
            assert abs(res["truth"][region]["between"][kind]["gap"]) >= 0.05
    c = res["truth"]["ood"]["controls"]
    assert c["ground truth"]["factorized"]["r2"] < c["nearest-label memorizer"]["factorized"]["r2"] - 0.05
    # new images in the wrong places are no superposition either: beyond the truth, away from the copy
    assert res["truth"]["ood"]["between"]["factorized"]["wrong_place"] < 0


def test_probes_on_tiny_complementary_runs(tmp_path, capsys):
    """The drivers end to end: two tiny runs on complementary halves, split-half on seen and unseen labels beside
    two closed-form memorizers, and the kernel fit of one run in and out of distribution."""
    import factordiff
    from factordiff.train import train

    common = ["train.snapshot_every=4", "train.eval_samples=8", "model.attention=[]",
              "data.holdout=box", "data.holdout_x=[6,10]", "data.holdout_y=[6,10]", "data.fraction=0.5",
              "data.subsample_scope=all", "diffusion.sample_steps=3"]
    train(tiny(4, *common), tmp_path / "a", log=lambda m: None)
    train(tiny(4, *common, "data.subsample_complement=true"), tmp_path / "b", log=lambda m: None)
    res = factordiff.split_half(tmp_path / "a", tmp_path / "b", n=12)
    assert set(res) == {"seen", "unseen"} and res["unseen"]["models"]["n"] == len(
        make_dataset(factordiff.load_run(tmp_path / "a").config.data).heldout_labels[:12])
    for region in res.values():
        for s in region.values():
            assert -1 <= s["agreement"] <= 1 and 0 <= s["label_agreement"] <= 1
        truth = region["ground truth"]  # the generalizer's reference: itself exactly, and no copy of either half
        assert truth["agreement"] == pytest.approx(1.0) and 0 < truth["label_agreement"] <= 1
    unseen = res["unseen"]["ground truth"]  # labels neither half trained on: no training image is the truth's copy
    assert max(unseen["nearest_a"], unseen["nearest_b"]) < 0.999, unseen
    with pytest.raises(ConfigError, match="complement"):
        factordiff.split_half(tmp_path / "a", tmp_path / "a")
    fit = factordiff.kernel_superposition(tmp_path / "a", n_train=20, n_probe=8)
    assert set(fit) == {"n_train", "id", "ood"} and fit["id"]["better"] in ("factorized", "radial", "neither")
    for region in ("id", "ood"):  # scored from the very outputs the kernels were fitted to
        acc = fit[region]["accuracy"]
        assert acc["n"] == 8 and 0 <= acc["n_detectable"] <= 8 and 0 <= acc["acc"] <= 1
    # the same through the command line: one line per region, JSON on request, bad counts refused before any work
    from factordiff.cli import main

    assert main(["probe", "kernel", str(tmp_path / "a"), "--n-train", "20", "--n-probe", "8"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("id: factorized R² ") and "\nood: " in out and "of the nearest-label memorizer" in out
    assert main(["probe", "split-half", str(tmp_path / "a"), str(tmp_path / "b"), "--n", "6", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"seen", "unseen"}
    assert main(["probe", "kernel", str(tmp_path / "a"), "--n-probe", "0"]) == 2
    assert "n_probe" in capsys.readouterr().err
    # several runs: one block each; a missing one is named before any run is sampled
    assert main(["probe", "kernel", str(tmp_path / "a"), str(tmp_path / "b"), "--n-train", "20", "--n-probe", "8"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{tmp_path / 'a'}:\n  id: ") and f"\n{tmp_path / 'b'}:\n  id: " in out
    assert main(["probe", "kernel", str(tmp_path / "a"), str(tmp_path / "nowhere")]) == 2
    captured = capsys.readouterr()
    assert "nowhere" in captured.err and captured.out == ""


def test_the_kernel_probe_scores_its_own_outputs_at_the_ceiling_for_the_truth():
    """The accuracy beside the position is P1's criterion on the very outputs fitted: a generator that draws the
    truth (in the sampler's [−1, 1]) scores 1 on the labels the detector reads, in distribution and on the cross;
    one that copies the nearest training label scores far less on the cross."""
    from scipy.spatial import cKDTree

    from factordiff.probes import _scorer, superposition

    cfg = preset("cpu", {"data.kind": "sos", "data.holdout": "cross", "data.holdout_x": [6.5, 9.5],
                         "data.holdout_y": [6.5, 9.5], "data.canvas_margin": 3}).data
    labels = make_dataset(cfg).labels
    tree = cKDTree(labels)
    truth = lambda x: render_labels(x, np.full(len(x), SOS), cfg) / 127.5 - 1  # noqa: E731
    copy = lambda x: truth(labels[tree.query(x)[1]])  # noqa: E731
    got = {name: superposition(cfg, gen, n_train=60, n_probe=40, score=_scorer(cfg))
           for name, gen in (("truth", truth), ("copy", copy))}
    for region in ("id", "ood"):
        assert got["truth"][region]["accuracy"]["acc_detectable"] == 1.0
    assert got["copy"]["ood"]["accuracy"]["acc_detectable"] < 0.5
