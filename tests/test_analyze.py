import json
import os

import numpy as np
import pytest
import torch

from conftest import TINY, tiny
from factordiff.analyze import analyze_run
from factordiff.cli import main
from factordiff.errors import ConfigError, FactordiffError
from factordiff.evaluate import sample_run
from factordiff.io import read_jsonl
from factordiff.report import write_report
from factordiff.train import train


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run = tmp_path_factory.mktemp("analyze") / "run"
    train(tiny(20, "train.eval_samples=24"), run, log=lambda *_: None)
    return run


def test_analyze_writes_a_row_for_every_snapshot(run):
    out = analyze_run(run, grid=4, methods=("pca", "umap"))
    rows = read_jsonl(run / "analysis.jsonl")
    analysis = [r for r in rows if r["kind"] == "analysis"]
    assert [r["step"] for r in analysis] == [0, 10, 20]
    for r in analysis:
        assert r["phase"] in "ABC" and 0 <= r["acc"] <= 1
        assert np.isfinite(r["r2_pca"]) and r["r2_pca"] <= 1 and "r2_umap" in r
        assert len(r["evr"]) == 15 and r["participation_ratio"] >= 1
    assert "betti" in analysis[-1] and "betti" not in analysis[0]  # topology on the last snapshot only
    summary = rows[-1]
    assert summary["kind"] == "summary" and summary["onsets"]["A"] == 0
    geo = summary["geometry"]
    assert set(geo) == {"model", "torus3d", "clifford", "label_only", "image_part", "untrained",
                        "untrained_image_part", "ground_truth"}
    assert {"betti", "topology"} <= set(geo["ground_truth"]) and "agree" in geo["model"]["topology"]
    assert "agree" not in geo["torus3d"]["topology"] and len(geo["model"]["topology"]["lifetimes"]) == 3
    for r in analysis:  # the controls, from the label-only response the snapshots recorded
        assert 0 <= r["r2_label_pca"] <= 1 and "r2_image_umap" in r and r["label_share"] <= 1
        assert r["tol_px"] == 1.0 and r["references"]["ceiling"]["acc"] == r["acc_ceiling"]
        assert "r2_shuffled_umap" in r and np.isfinite(r["r2_std_umap"])
    assert geo["clifford"]["interaction_share"] < 1e-9 and geo["clifford"]["x_on_y_orth_mean"] < 1e-6
    probe = np.load(run / "probes" / "grid_step_00000020.npz")
    assert probe["reps"].shape[:2] == (4, 4) and probe["images"].shape == (4, 4, 16, 16)
    assert probe["reps_label"].shape == probe["reps"].shape
    assert out["summary"] == summary


def test_probe_geometry_draws_the_clouds_the_verdicts_read(run):
    """P2 Fig 3's histograms come from the same probe and statistics as the summary numbers the verdicts read:
    the image-driven part and the ground-truth images included, their means equal to the summary's."""
    from factordiff.analyze import probe_geometry
    from factordiff.rundir import RunDir

    analyze_run(run, steps=[20], grid=4, methods=("pca",), topology="none")  # the last step only: the module's
    # other tests read the earlier rows as the first analysis wrote them
    geo = read_jsonl(run / "analysis.jsonl")[-1]["geometry"]
    rd = RunDir(run)
    stats = probe_geometry(rd.list_probes()[-1][1], data=rd.load_config().data)
    assert set(stats) == {"model", "3D torus", "Clifford torus", "image part", "ground truth"}
    for cloud, col in (("model", "model"), ("image part", "image_part"), ("ground truth", "ground_truth")):
        for stat in ("x_on_y_orth", "x_on_x_orth", "y_on_y_orth"):
            assert stats[cloud][stat].mean() == pytest.approx(geo[col][f"{stat}_mean"], abs=1e-6), (cloud, stat)
    assert "ground truth" not in probe_geometry(rd.list_probes()[-1][1])  # without the data config: no images


def test_grid_probe_averages_repeats(run):
    from factordiff.evaluate import probe_grid
    from factordiff.rundir import RunDir

    one, two = (probe_grid(RunDir(run), "layer4", 3, repeats=r) for r in (1, 2))
    assert one["reps"].shape == two["reps"].shape and two["repeats"] == 2 and two["images"].shape == (3, 3, 16, 16)
    assert not np.allclose(one["reps"], two["reps"])  # the second sample moved the mean
    with pytest.raises(ConfigError, match="--grid-repeats"):
        analyze_run(run, grid=3, grid_repeats=0)


def test_reanalysis_replaces_rows_instead_of_duplicating(run):
    analyze_run(run, steps=[10], grid=0, methods=("pca",), topology="none")
    rows = [r for r in read_jsonl(run / "analysis.jsonl") if r["kind"] == "analysis"]
    assert [r["step"] for r in rows] == [0, 10, 20]
    assert "r2_umap" not in rows[1] and "r2_umap" in rows[0]


def test_report_writes_html_and_figures(run):
    analyze_run(run, grid=4, methods=("pca", "umap"))
    out = write_report(run)
    html = (run / "report.html").read_text()
    assert "Three learning phases" in html and "data:image/png;base64," in html and "Factorization" in html
    for name in ("phases", "strip", "curves", "dimension", "geometry", "topology"):
        assert (run / "figures" / f"{name}.png").stat().st_size > 1000, name
    assert len(out["figures"]) == 6
    # provenance: version and commit, torch, the machine, the time spent, the full config; the phase rule in words
    assert "Provenance" in html and "factordiff</th><td>" in html and "torch</th>" in html and "cores" in html
    assert "training (steps, as logged)" in html and "<summary>config</summary>" in html and "sigma:" in html
    assert "Phase C: accuracy ≥ 0.8 × the ceiling" in html
    # every figure has a caption under it that says how to read it
    assert html.count("<figcaption") == 6 and "phase bands (A red, B yellow, C green)" in html


def _chromium():
    import shutil

    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


@pytest.mark.browser
@pytest.mark.skipif(_chromium() is None and os.environ.get("FACTORDIFF_REQUIRE_CHROMIUM") != "1",
                    reason="no Chromium (apt-get install chromium; .ci/run installs it for its browser stage)")
def test_report_renders_in_headless_chromium(run, tmp_path):
    """The run report as a browser shows it: the DOM after load has every section, each figure decodes to a
    real image (naturalWidth > 0), and a full-page screenshot is not blank."""
    import subprocess

    assert _chromium(), "FACTORDIFF_REQUIRE_CHROMIUM=1 but no chromium on PATH"

    import matplotlib.image as mpimg

    analyze_run(run, grid=4, methods=("pca",))
    write_report(run)
    page = (run / "report.html").resolve().as_uri()
    probe = tmp_path / "probe.html"  # the report in an iframe, then a line per image: decoded width × height
    probe.write_text(f"""<iframe id=f src="{page}" style="width:1400px;height:1000px"></iframe><pre id=o></pre>
<script>document.getElementById('f').onload = () => {{ const d = document.getElementById('f').contentDocument;
document.getElementById('o').textContent = [...d.images].map(i => i.naturalWidth + 'x' + i.naturalHeight)
.join(' ') + ' | ' + [...d.querySelectorAll('h2')].map(h => h.textContent).join(' | '); }};</script>""")
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
             "--virtual-time-budget=5000"]
    dom = subprocess.run([_chromium(), *flags, "--dump-dom", probe.as_uri()], capture_output=True, text=True,
                         timeout=120).stdout
    sizes = dom.split('<pre id="o">')[1].split(" | ")[0].split()
    assert len(sizes) >= 5 and all(int(s.split("x")[0]) > 100 for s in sizes), sizes
    assert "Three learning phases" in dom and "training loss" in dom and "Persistent homology" in dom
    shot = tmp_path / "report.png"
    subprocess.run([_chromium(), *flags, f"--screenshot={shot}", "--window-size=1400,3000", page],
                   capture_output=True, timeout=120, check=True)
    img = mpimg.imread(shot)
    assert img.shape[0] >= 3000 and img[..., :3].std() > 0.05  # not a blank page


def test_sample_scores_and_saves(run, capsys):
    assert main(["sample", str(run), "--n", "6", "--sampler", "ddim", "--steps", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 6 and out["steps"] == 3 and out["step"] == 20 and out["images_per_s"] > 0
    z = np.load(out["path"])
    assert z["images"].shape == (6, 16, 16) and z["images"].dtype == np.uint8
    with pytest.raises(ConfigError, match="--step"):
        sample_run(run, step=7)


def test_bad_inputs_fail_before_work(run, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["analyze", str(empty)]) != 0
    assert "no config.yaml" in capsys.readouterr().err
    cfg_only = tmp_path / "cfg_only"
    cfg_only.mkdir()
    (cfg_only / "config.yaml").write_text((run / "config.yaml").read_text())
    with pytest.raises(FactordiffError, match="no snapshots"):
        analyze_run(cfg_only)
    with pytest.raises(ConfigError, match="--layer"):
        analyze_run(run, layer="layer9")
    with pytest.raises(ConfigError, match="recorded layers"):
        analyze_run(run, layer="layer3", grid=0)
    with pytest.raises(ConfigError, match="--steps"):
        analyze_run(run, steps=[5])
    assert main(["report", str(cfg_only)]) != 0
    assert "analyze" in capsys.readouterr().err


def test_demo_runs_end_to_end_on_a_tiny_override(tmp_path, capsys):
    over = [t for t in TINY if not t.startswith("train.snapshot_every")]
    out_dir = tmp_path / "demo"
    assert main(["demo", "--out", str(out_dir), *over, "train.steps=10", "train.snapshot_every=5",
                 "train.eval_samples=12", "train.ema_start=3"]) == 0
    printed = capsys.readouterr().out
    assert "phase A from step 0" in printed and "report.html" in printed
    rows = read_jsonl(out_dir / "analysis.jsonl")
    assert [r["step"] for r in rows if r["kind"] == "analysis"] == [0, 5, 10]
    assert (out_dir / "report.html").exists() and (out_dir / "figures" / "geometry.png").exists()
    from factordiff.rundir import RunDir

    assert RunDir(out_dir).load_config().train.stop_when == "learned"  # the demo stops once learned
    # P1's reading, one UMAP per snapshot (a spread of one seed is 0), recorded in the summary the report reads
    summary = next(r for r in rows if r["kind"] == "summary")
    assert summary["umap_seeds"] == 1 and all(r["r2_std_umap"] == 0 for r in rows if r["kind"] == "analysis")


def test_denoising_losses_split_kept_and_dropped_images(tmp_path):
    import dataclasses

    from factordiff.data import make_dataset
    from factordiff.evaluate import denoising_losses, dropped_by_subsampling

    cfg = tiny(2, "data.fraction=0.5", "data.subsample_scope=all")
    run = tmp_path / "half"
    train(cfg, run, log=lambda *_: None)
    ds, val, _ = dropped_by_subsampling(cfg)
    full = make_dataset(dataclasses.replace(cfg.data, fraction=1.0)).labels
    assert len(ds) + len(val) == len(full) and not {tuple(v) for v in val} & {tuple(v) for v in ds.labels}
    out = denoising_losses(run, n=16, repeats=2)
    assert out["step"] == 2 and out["n_train"] == len(ds) and out["n_val"] == len(val)
    assert 0 < out["train_loss"] < 10 and 0 < out["val_loss"] < 10
    assert denoising_losses(run, n=16, repeats=2) == out  # fixed draws: the same numbers again
    assert dropped_by_subsampling(tiny(2))[1].shape == (0, 2)  # λ = 1 drops nothing → val_loss None


def test_grid_accuracy_scores_kept_and_dropped_labels(tmp_path, monkeypatch):
    from factordiff import diffusion
    from factordiff.data import BUMP, render_labels, to_uint8, visible_dims
    from factordiff.evaluate import dropped_by_subsampling, grid_accuracy
    from factordiff.score import score_images

    cfg = tiny(2, "data.fraction=0.5", "data.kind=bump+stripes")
    run = tmp_path / "half"
    train(cfg, run, log=lambda *_: None)
    ds, val, _ = dropped_by_subsampling(cfg)
    dropped = {tuple(v) for v in val}

    def oracle(net, labels, dcfg, **kw):
        """A model that draws every kept label right and every dropped one 8 px off in x."""
        lab = labels.numpy().copy()
        moved = [tuple(v) in dropped for v in labels.numpy()]
        lab[moved, 0] = (lab[moved, 0] + 8) % 16
        return torch.as_tensor(to_uint8(render_labels(lab, np.full(len(lab), BUMP, np.uint8), cfg.data)))

    monkeypatch.setattr(diffusion, "sample", oracle)
    out = grid_accuracy(run, n=10_000)
    n2d = int((visible_dims(ds.labels, cfg.data) == 2).sum())  # the stripes are not scored
    assert out["n_kept"] == n2d and out["n_dropped"] == len(val) and out["n"] == n2d + len(val) == out["grid_2d"]
    two = ds.labels[visible_dims(ds.labels, cfg.data) == 2]
    kinds = np.full(len(two), BUMP, np.uint8)
    ceiling = score_images(to_uint8(render_labels(two, kinds, cfg.data)), two, kinds, cfg.data)["acc"]
    assert 0.5 < ceiling and out["acc_kept"] == ceiling and out["acc_dropped"] == 0.0  # the detector's ceiling
    assert out["acc"] == pytest.approx(ceiling * n2d / (n2d + len(val)))
    assert out["step"] == 2 and grid_accuracy(run, n=10_000) == out
    assert grid_accuracy(run, n=5)["n"] == 5
    with pytest.raises(ConfigError, match="n"):
        grid_accuracy(run, n=0)


def test_label_only_control_of_an_untrained_network_matches_its_step0_layer(run):
    """At step 0 the network is its seeded initialisation: its label-only response, recorded in the snapshot,
    is reproduced from the config alone, and the analysis' label-only R² at step 0 is that network's. (It is
    higher than the layer's own step-0 R²: the noise image adds variance the labels do not explain; the demo
    measured 0.79 against 0.35.)"""
    from factordiff.analysis.embed import manifold_r2_seeds
    from factordiff.evaluate import label_only, untrained_network
    from factordiff.rundir import RunDir

    cfg = RunDir(run).load_config()
    with np.load(run / "snapshots" / "step_00000000.npz") as z:
        recorded, labels = z["lab_layer4"].astype(np.float32), z["labels"]
    again = label_only(untrained_network(cfg), labels, ["layer4"], cfg.data.image_size)["layer4"]
    assert np.allclose(recorded, again, atol=2e-2 * np.abs(again).max())  # fp16 storage
    analyze_run(run, grid=0, methods=("pca",), topology="none")
    step0 = next(r for r in read_jsonl(run / "analysis.jsonl") if r.get("step") == 0)
    assert step0["r2_label_pca"] == pytest.approx(manifold_r2_seeds(again, labels, method="pca")["r2"], abs=0.02)


def test_analyze_rescores_with_other_scoring_fields_only(run):
    out = analyze_run(run, grid=0, methods=("pca",), topology="none", scoring={"data.pixel_scale": 0.5})
    assert all(r["tol_px"] == 0.5 for r in out["rows"]) and out["summary"]["scoring"] == {"data.pixel_scale": 0.5}
    with pytest.raises(ConfigError, match="scoring field"):
        analyze_run(run, grid=0, scoring={"data.sigma": 2.0})  # would change what was trained
    assert main(["analyze", str(run), "data.blob_rule=relative", "--grid", "0", "--methods", "pca",
                 "--topology", "none", "--umap-seeds", "1"]) == 0
