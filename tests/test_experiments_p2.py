"""P2 experiments: every verdict reaches both outcomes on synthetic tables, and every experiment runs end to
end (tiny runs) producing its figures, table and verdicts."""

import json
import math

import pytest

from conftest import TINY
from factordiff import experiments_p2 as P
from factordiff.config import parse_overrides
from factordiff.experiments import EXPERIMENTS, reproduce


def run(name, steps=3, **cols):
    """A synthetic run: `steps` rows with constant columns (the last row also carries any geometry columns)."""
    return [{"run": name, "step": 100 * i, **cols} for i in range(steps)]


def test_torus_verdicts_both_ways():
    good = run("a", model_betti="1,2,1", participation_ratio=7.2)
    bad = run("a", model_betti="1,0,0", participation_ratio=3.0)
    assert all(v["supported"] for v in P.judge_torus(good))
    assert not any(v["supported"] for v in P.judge_torus(bad))


def test_orthogonality_verdicts_both_ways():
    base = {"clifford_x_on_y_orth_mean": 0.0, "torus3d_x_on_y_orth_mean": 0.44, "clifford_x_on_x_orth_mean": 0.64,
            "clifford_y_on_y_orth_mean": 0.64}
    good = run("a", **base, model_x_on_y_orth_mean=0.1, model_x_on_x_orth_mean=0.3, model_y_on_y_orth_mean=0.3)
    bad = run("a", **base, model_x_on_y_orth_mean=0.4, model_x_on_x_orth_mean=0.7, model_y_on_y_orth_mean=0.3)
    assert [v["supported"] for v in P.judge_orthogonality(good)] == [True, True]
    assert [v["supported"] for v in P.judge_orthogonality(bad)] == [False, False]


def _arms(sos_v, sos_h, stripes):
    """sos_v/sos_h: (acc_x, acc_y) in the vertical / horizontal arm of the SOS-only run; stripes: worst acc."""
    cols = lambda v, h: {"acc_x_vertical": v[0], "acc_y_vertical": v[1], "acc_x_horizontal": h[0],  # noqa: E731
                         "acc_y_horizontal": h[1]}
    return (run("sos", **{"data.kind": "sos", "data.fraction": 1.0}, **cols(sos_v, sos_h)) +
            run("mix", **{"data.kind": "sos+stripes", "data.fraction": 1.0},
                **cols((stripes, stripes), (stripes, stripes))))


def test_composition_verdicts_both_ways():
    good = P.judge_composition(_arms((0.1, 0.9), (0.9, 0.1), 0.8))
    assert [v["supported"] for v in good] == [True, True]
    bad = P.judge_composition(_arms((0.5, 0.5), (0.5, 0.5), 0.3))
    assert [v["supported"] for v in bad] == [False, False]


def test_size_needed_interpolates_in_log_size():
    assert P.size_needed([(10, 0.2), (1000, 1.0)], 0.6) == pytest.approx(100.0)
    assert P.size_needed([(10, 0.7), (100, 0.9)]) == 10
    assert math.isinf(P.size_needed([(10, 0.1), (100, 0.5)]))


def _scaling(power_bump, power_mix):
    rows = []
    for kind, p in (("bump", power_bump), ("bump+stripes", power_mix)):
        for n in (8, 16, 32):
            need = 2.0 * n ** p  # accuracy 0.6 exactly at the needed size; 0.2 at half, 1.0 at double
            for size, acc in ((need / 2, 0.4), (need * 2, 0.8)):
                rows += run(f"{kind}{n}{size}", **{"data.kind": kind, "data.image_size": n, "n_train_2d": size,
                                                   P.GRID_ACC: acc})
    return rows


def test_scaling_verdict_recovers_slopes_both_ways():
    s = P.scaling_slopes(_scaling(2, 1))
    assert s["bump"]["slope"] == pytest.approx(2, abs=1e-6) and s["bump+stripes"]["slope"] == pytest.approx(1)
    assert P.judge_scaling(_scaling(2, 1))[0]["supported"]
    assert not P.judge_scaling(_scaling(1, 1))[0]["supported"]


def test_scaling_verdict_refuses_sizes_the_runs_do_not_bracket():
    assert P.censored([(10, 0.7), (100, 0.9)]) == "≤" and P.censored([(10, 0.1), (100, 0.5)]) == ">"
    assert P.censored([(10, 0.1), (100, 0.9)]) is None
    rows = [r for r in _scaling(2, 1) if not (r["data.kind"] == "bump" and r["data.image_size"] == 8
                                              and r[P.GRID_ACC] < 0.6)]  # bump N = 8: only the run above 60 % left
    v = P.judge_scaling(rows)[0]
    assert not v["supported"] and "N 8: ≤" in v["detail"]


def _perc(onset_small_sigma, onset_big_sigma):
    rows = []
    for sigma, on in ((0.25, onset_small_sigma), (0.5, onset_big_sigma)):
        for lam in (0.1, 0.3, 0.6, 1.0):
            rows += run(f"s{sigma}l{lam}", **{"data.sigma": sigma, "data.fraction": lam,
                                              P.GRID_ACC: 0.9 if lam >= on else 0.05})
    return rows


def test_percolation_verdict_both_ways():
    lam_c = {0.25: 0.25, 0.5: 0.08}  # a smaller σ percolates later
    assert P.judge_percolation(_perc(0.3, 0.1), lambda_c=lam_c)[0]["supported"]
    assert not P.judge_percolation(_perc(0.1, 0.6), lambda_c=lam_c)[0]["supported"]  # reversed order
    assert not P.judge_percolation(_perc(2.0, 2.0), lambda_c=lam_c)[0]["supported"]  # never learns
    v = P.judge_percolation(_perc(2.0, 0.1), lambda_c=lam_c)[0]  # σ 0.25 percolates at λ ≥ 0.25, never learns
    assert not v["supported"] and "σ 0.25 never does" in v["detail"]
    assert P.judge_percolation(_perc(2.0, 0.1), lambda_c={0.25: float("inf"), 0.5: 0.08})[0]["supported"]


def test_percolation_thresholds_follow_sigma():
    rows = run("a", **{"data.sigma": 0.25, "data.image_size": 16, "data.increment": 1.0}) + \
        run("b", **{"data.sigma": 0.5, "data.image_size": 16, "data.increment": 1.0})
    lam = P.percolation_thresholds(rows)
    assert lam[0.5] < lam[0.25] < 1.0  # wider bumps overlap more neighbours: they percolate at smaller λ


def test_rim_lesion_regions_verdicts_both_ways():
    rim = lambda a, b: run("r", **{"data.rim_width": 1.0, "acc_ood": a}) + run("n", **{"data.rim_width": 0.0,  # noqa
                                                                                     "acc_ood": b})
    assert P.judge_rim(rim(0.8, 0.2))[0]["supported"] and not P.judge_rim(rim(0.5, 0.45))[0]["supported"]
    lesion = lambda accs: sum((run(f"w{w}", **{"data.holdout_x": [8 - w / 2, 8 + w / 2], "acc_ood": a})  # noqa
                               for w, a in zip((0.5, 1.75, 4.0), accs)), [])
    assert P.judge_lesion(lesion((0.9, 0.6, 0.1)))[0]["supported"]
    assert not P.judge_lesion(lesion((0.1, 0.6, 0.9)))[0]["supported"]

    def regions(interior, exterior, sos_bonus):
        rows = []
        for kind in ("bump", "sos"):
            for w, drop in ((2, 0.0), (4, 0.3)):
                add = sos_bonus if kind == "sos" else 0.0
                rows += run(f"{kind}i{w}", **{"data.kind": kind, "data.holdout_x": [8 - w / 2, 8 + w / 2],
                                              "acc_ood": interior - drop + add})
                rows += run(f"{kind}e{w}", **{"data.kind": kind, "data.holdout_x": [0.0, float(w)],
                                              "acc_ood": exterior - drop + add})
        return rows

    assert [v["supported"] for v in P.judge_regions(regions(0.9, 0.5, 0.05))] == [True, True, True]
    assert [v["supported"] for v in P.judge_regions(regions(0.5, 0.9, -0.1))][1:] == [False, False]


def test_seed_mean_averages_runs_that_share_a_key():
    from factordiff.claims import seed_mean

    rows = (run("a_seed=0", k=1, acc=0.2) + run("a_seed=1", k=1, acc=0.6) + run("b_seed=0", k=2, acc=0.9)
            + run("c_seed=0", k=3, acc=None) + run("a_seed=2", k=1, acc=None))
    got = seed_mean(rows, lambda rs: rs[0]["k"], "acc")
    assert got[1] == pytest.approx(0.4) and got[2] == pytest.approx(0.9) and math.isnan(got[3])


def test_p2_verdicts_average_over_seeds():
    """At paper scale every grid point has three seeds: a verdict must use their mean, not the last seed."""
    rim = (run("r_seed=0", **{"data.rim_width": 1.0, "acc_ood": 0.9}) +
           run("r_seed=1", **{"data.rim_width": 1.0, "acc_ood": 0.3}) +
           run("n_seed=0", **{"data.rim_width": 0.0, "acc_ood": 0.2}))
    v = P.judge_rim(rim)[0]  # mean with rim 0.6: gap 0.4; the last seed alone would give 0.1
    assert v["value"] == pytest.approx(0.4) and v["supported"]
    rows = []
    for kind in ("bump", "sos"):
        for w in (2, 4):
            for seed, acc in ((0, 1.0 - 0.1 * w), (1, 0.1 * w)):  # seed 0 falls with W, seed 1 rises; mean 0.5
                rows += run(f"{kind}i{w}_seed={seed}", **{"data.kind": kind, "data.holdout_x": [8 - w / 2, 8 + w / 2],
                                                          "acc_ood": acc})
    assert "bump interior W 2: 0.50; bump interior W 4: 0.50" in P.judge_regions(rows)[0]["detail"]
    # scaling: two seeds at each subsampled size are averaged before the 60 % size is interpolated
    rows = []
    for n, sizes in ((8, (5, 20)), (16, (10, 40))):
        for size, accs in zip(sizes, ((0.2, 0.6), (0.8, 0.8))):
            for seed, a in enumerate(accs):
                rows += run(f"N{n}_{size}_seed={seed}", **{"data.kind": "bump", "data.image_size": n,
                                                           "n_train_2d": size, P.GRID_ACC: a})
    s = P.scaling_slopes(rows)["bump"]
    assert s["curves"][8] == [(5.0, pytest.approx(0.4)), (20.0, pytest.approx(0.8))]
    assert s["size"][0] == pytest.approx(math.exp(math.log(5) + 0.5 * math.log(4)))  # 0.6 halfway: 10


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in EXPERIMENTS if n.startswith("p2-")])
def test_p2_experiment_end_to_end_on_tiny_runs(name, tmp_path):
    over = parse_overrides([*TINY, "train.steps=4", "train.snapshot_every=2", "train.eval_samples=12",
                            "train.eval_ood_samples=12", "model.attention=[]",
                         *(["data.increment=0.5"] if name == "p2-scaling" else [])])  # λ = 0.005 keeps an image
    res = reproduce(name, out=tmp_path / name, jobs=2, overrides=over, analyze={"methods": ["pca"]},
                    log=lambda m: None)
    assert res["figures"] and all(p.endswith(".png") for p in res["figures"])
    verdicts = json.loads((tmp_path / name / "verdicts.json").read_text())
    assert verdicts and all(isinstance(v["supported"], bool) for v in verdicts)
    assert (tmp_path / name / "report.html").stat().st_size > 1000
    runs_at = tmp_path / ("p2-torus-cpu" if name == "p2-orthogonality" else name)
    assert (runs_at / "results.csv").exists()
    if EXPERIMENTS[name].measure is not None:  # scaling, percolation: scored over the whole 2D grid, cached
        cached = [json.loads(p.read_text()) for p in sorted(runs_at.glob("runs/*/grid_accuracy.json"))]
        assert len(cached) == len(list(runs_at.glob("runs/*/config.yaml"))) and all(c["step"] == 4 for c in cached)
        assert all(0 <= c["acc"] <= 1 and c["n"] == min(256, c["grid_2d"]) for c in cached)


@pytest.mark.slow
def test_percolation_figures_with_several_seeds(tmp_path):
    """Paper scale has three seeds per (σ, λ): the curves average them and each UMAP panel draws one run."""
    from factordiff.sweep import aggregate

    over = parse_overrides([*TINY, "train.steps=4", "train.snapshot_every=2", "train.eval_samples=12",
                            "model.attention=[]"])
    reproduce("p2-percolation", out=tmp_path / "p", jobs=2, overrides=over, log=lambda m: None)
    rows = P.measure_grid_accuracy(aggregate(tmp_path / "p")["rows"], log=lambda m: None)
    twin = [{**r, "run": r["run"].replace("seed=0", "seed=1"), P.GRID_ACC: 1.0} for r in rows]
    paths = P.draw_percolation(rows + twin, "data.sigma", tmp_path / "figs", "two seeds")
    assert [p.name for p in paths] == ["percolation.png", "embeddings.png"]
    onsets = P.accuracy_onsets(rows + twin, level=0.5)
    one = {s: a for s, a in P.seed_mean(rows, lambda rs: float(rs[0]["data.sigma"]), P.GRID_ACC).items()}
    assert all(a < 0.5 for a in one.values()) and all(math.isfinite(v) for v in onsets.values())
