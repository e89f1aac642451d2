import json
import math

import pytest

from conftest import TINY
from factordiff.cli import main
from factordiff.config import ConfigError, parse_overrides
from factordiff.experiments import EXPERIMENTS, reproduce
from factordiff.experiments.base import onset, spearman
from factordiff.experiments.p1_phases import judge as judge_phases
from factordiff.sweep import expand, parse_spec


def rows(run, phases, **extra):
    return [{"run": run, "step": 100 * i, "phase": p, "acc": 0.1 * i, "r2_umap": 0.1 * i, **extra}
            for i, p in enumerate(phases)]


def test_onset_and_rank_statistics():
    assert onset(rows("a", "AABCC")) == 300
    assert onset(rows("a", "AACBC")) == 400  # a relapse postpones the onset
    assert math.isinf(onset(rows("a", "AAB")))
    assert spearman([0.1, 0.5, 1.0], [100, 200, math.inf]) == pytest.approx(1.0)  # never = slowest
    assert spearman([0.1, 0.5, 1.0], [300, 200, 100]) == pytest.approx(-1.0)
    three = lambda *ps: sum((rows(f"s{i}", p) for i, p in enumerate(ps)), [])  # noqa: E731 - one run per seed
    v = judge_phases(three("AABBCC", "AABBCC", "ABBCCC"), {})[0]
    assert v.supported and v.value == "3/3" and "s0: ABC, B from 200, C from 400" in v.detail
    assert judge_phases(three("AABBCC", "AACC", "AABBCC"), {})[0].outcome == "not supported"  # B never seen
    assert judge_phases(three("AABBCC", "AABB", "AABBCC"), {})[0].outcome == "inconclusive"  # C never reached
    assert judge_phases(rows("a", "AABBCC"), {})[0].outcome == "inconclusive"  # one seed decides nothing


def test_paper_increment_grid_has_thirty_runs():
    assert len(expand(parse_spec({"name": "x", **EXPERIMENTS["p1-increment"].specs["paper"]}))) == 30


def test_reproduce_increment_end_to_end_on_tiny_runs(tmp_path):
    over = parse_overrides([*TINY, "train.steps=4", "train.snapshot_every=2", "train.eval_samples=10"])
    out = reproduce("p1-increment", "cpu", out=tmp_path / "inc", overrides=over, jobs=2, seeds=[0], log=lambda m: None,
                    analyze={"methods": ["pca"]})  # no UMAP: its JIT costs each worker ≈ 11 s
    assert out["runs"] == 4 and out["failed"] == 0
    assert (tmp_path / "inc" / "figures" / "heatmaps.png").stat().st_size > 1000
    verdicts = json.loads((tmp_path / "inc" / "verdicts.json").read_text())
    assert {v["statistic"].split("(")[0] for v in verdicts} == {
        "each seed's Spearman ρ", "each seed's steps from accuracy's rise to the image-driven R²'s "}
    assert all(v["decision"]["calls"] for v in verdicts)  # each names its rule, interval and effect size
    # one seed can decide nothing: every verdict inconclusive, saying why (not merely one of the three outcomes)
    assert all(v["outcome"] == "inconclusive" and "per point; a verdict needs ≥ 3" in v["detail"] for v in verdicts)
    assert "50 % of the ceiling at" in verdicts[0]["detail"]
    page = (tmp_path / "inc" / "report.html").read_text()
    assert "Verdicts" in page and "<figcaption" in page and "rank correlation of d" in page
    with pytest.raises(ConfigError, match="EXPERIMENT"):
        reproduce("p9-nothing")


def test_reproduce_cli_rejects_a_bad_override(tmp_path, capsys):
    assert main(["reproduce", "p1-increment", "data.sigmma=1", "--out", str(tmp_path / "x")]) == 2
    assert "sigmma" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_reproduce_reads_an_analysis_cut_by_a_crash(tmp_path):
    """analysis.jsonl whose last line a crash cut: reproduce skips that line (io.read_jsonl) and still judges."""
    over = parse_overrides([*TINY, "train.steps=4", "train.snapshot_every=2", "train.eval_samples=30"])
    out = tmp_path / "phases"
    first = reproduce("p1-phases", out=out, overrides=over, seeds=[0], analyze={"methods": ["pca"], "grid": 0,
                                                                     "topology": "none"}, log=lambda m: None)
    analysis = next(out.glob("runs/*/analysis.jsonl"))
    with open(analysis, "a") as f:
        f.write('{"kind": "analysis", "step": 6, "layer": "lay')  # no newline: cut mid-row
    (out / "measured.json").unlink()  # measure again from the damaged file
    again = reproduce("p1-phases", out=out, overrides=over, seeds=[0], log=lambda m: None)
    assert again["ran"] == 0 and [v.to_dict() for v in again["verdicts"]] == [v.to_dict() for v in first["verdicts"]]
    assert json.loads((out / "measured.json").read_text())["measured"]
    assert list((out / "figures").glob("phases_*.png"))


def test_onsets_censored_by_the_budget_are_inconclusive_not_a_refutation():
    """p1-sigma at 2,000 steps (2026-12-01): σ 0.5, 0.625, 0.75 each had a seed that never reached 50 % of the
    ceiling; their order is unknown, so ρ = −0.775 over those lower bounds decides nothing."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from synthetic import curve

    from factordiff.experiments.p1_increment import onset_verdicts
    from factordiff.experiments.p1_sigma import NO_STRONG_EFFECT

    reach = {0.5: (400, None, 500), 0.625: (300, None, None), 0.75: (200, None, 500), 1.0: (100, 300, 300)}
    rows = [r | {"seed": s} for v, rs in reach.items() for s, at in enumerate(rs)
            for r in curve(f"sigma={v}_seed={s}", at, **{"data.sigma": v})]
    v = onset_verdicts(rows, "data.sigma", NO_STRONG_EFFECT)[0]
    assert v.outcome == "inconclusive" and "3 of 4 points" in v.detail and "budget is too short" in v.detail
    reach[0.625], reach[0.75] = (300, 400, 400), (200, 300, 350)  # one censored point: it ranks slowest
    rows = [r | {"seed": s} for v, rs in reach.items() for s, at in enumerate(rs)
            for r in curve(f"sigma={v}_seed={s}", at, **{"data.sigma": v})]
    assert onset_verdicts(rows, "data.sigma", NO_STRONG_EFFECT)[0].outcome != "inconclusive"


def test_co_movement_is_timed_not_correlated():
    """Two rising curves correlate whether they rise together or not: a factorized learner (x's R² up around
    step 300, y's around 700) has Pearson r 0.89 > 0.5, which the first version of the verdict called coupled. The
    half-rise lag tells them apart; an untrained network (flat R²) leaves it inconclusive."""
    from synthetic import p1_imbalance, seeded

    from factordiff.experiments import NOT_SUPPORTED, SUPPORTED
    from factordiff.experiments import p1_imbalance as imb
    from factordiff.experiments.base import pearson

    rows, _ = seeded(p1_imbalance)(NOT_SUPPORTED)
    one = [r for r in rows if r["run"] == "a_seed=0"]
    assert pearson([r["r2_image_x_umap"] for r in one], [r["r2_image_y_umap"] for r in one]) > 0.5
    co = [v for v in imb.judge(rows, {}) if "co-move" in v.claim]
    assert co and all(v.outcome == "not supported" and v.value <= -200 for v in co)
    rows, _ = seeded(p1_imbalance)(SUPPORTED)
    assert all(v.supported for v in imb.judge(rows, {}) if "co-move" in v.claim)
    flat = [dict(r, r2_image_x_umap=0.3, r2_image_y_umap=0.31) for r in rows]
    assert all(v.outcome == "inconclusive" for v in imb.judge(flat, {}) if "co-move" in v.claim)
    assert imb.half_rise([0, 100, 200, 300], [0.1, 0.2, 0.8, 0.9]) == 200


def test_rise_lag_times_a_shift_and_shrugs_off_one_outlier():
    """At the recorded resolution (a snapshot every 100 steps over 3,000): two logistic R² curves shifted by τ
    read τ; one UMAP outlier on the way up (p1-imbalance's recorded seed 2, (0.1, 1): R²_x 0.54 at step 1,000
    between 0.06 and 0.20) moves the half-rise difference by hundreds of steps and `rise_lag` by < 70; and under
    snapshot noise as large as UMAP's (sd 0.05) `rise_lag` varies less from draw to draw."""
    import numpy as np

    from factordiff.experiments import p1_imbalance as imb

    steps = list(range(0, 3001, 100))
    curve = lambda mid: [0.02 + 0.8 / (1 + np.exp(-(s - mid) / 120)) for s in steps]  # noqa: E731
    for tau in (0, 300, -500):
        assert abs(imb.rise_lag(steps, curve(1500 + tau), curve(1500)) - tau) < 15
    x, y = curve(1500), curve(1500)
    spiked = list(x)
    spiked[10] = 0.54
    half = imb.half_rise(steps, spiked) - imb.half_rise(steps, y)
    assert half <= -300 and abs(imb.rise_lag(steps, spiked, y)) < 70
    rng = np.random.default_rng(0)
    noisy = lambda c: list(np.clip(np.array(c) + rng.normal(0, 0.05, len(c)), 0, 1))  # noqa: E731
    area = [imb.rise_lag(steps, noisy(x), noisy(y)) for _ in range(200)]
    halves = [imb.half_rise(steps, a) - imb.half_rise(steps, b) for a, b in
              ((noisy(x), noisy(y)) for _ in range(200))]
    assert abs(np.mean(area)) < 20 and np.std(area) < 0.7 * np.std(halves)
    assert np.isnan(imb.rise_lag(steps, [0.3] * len(steps), y))  # a curve that never rose: nothing to time


def test_heatmaps_draw_what_the_onset_verdict_reads():
    """The P1 Fig 4 / 8 heat map shows accuracy ÷ the ceiling (the onset's measure: a σ = 1 run at 0.73 of a 0.73
    ceiling is full), the image-driven R² beside the layer's, and one tick per seed at its 50 % step (an arrow
    for a seed that never got there)."""
    import matplotlib

    matplotlib.use("Agg")
    from factordiff import figures
    from factordiff.experiments.p1_increment import onset_steps

    rows = [{"run": f"sigma={v}_seed={k}", "seed": k, "data.sigma": v, "step": s, "acc_ceiling": 0.73,
             "acc": 0.73 * (s >= at), "r2_umap": 0.8, "r2_image_umap": 0.7 * (s >= at)}
            for v, ats in ((0.5, (200, 300)), (1.0, (100, 10**6))) for k, at in enumerate(ats)
            for s in (0, 100, 200, 300)]
    on = onset_steps(rows, "data.sigma")
    assert on[0.5] == [200, 300] and on[1.0][0] == 100 and on[1.0][1] == float("inf")
    fig = figures.heatmaps(rows, "data.sigma", "t", on)
    acc_ax = fig.axes[0]
    assert [ax.get_title() for ax in fig.axes if ax.get_title()][1:] == [
        "R² of the layer (UMAP, as P1 records it)", "R² of its image-driven part (UMAP)"]
    assert acc_ax.images[0].get_array()[0, -1] == 1.0  # 0.73 of a 0.73 ceiling reads full
    assert [ln.get_marker() for ln in acc_ax.lines] == ["|", "|", "|", ">"]
    assert [ln.get_xdata()[0] for ln in acc_ax.lines] == [2, 3, 1, 3]


def test_reproduce_grid_replaces_an_axis_and_names_a_bad_one(tmp_path, capsys):
    """`--grid key=[values]` replaces one axis of the scale's grid (a finer λ around an onset) and keeps the other
    axes; a key that is not an axis, or a value that is not a list, is refused before any work, naming it."""
    lines: list[str] = []
    res = reproduce("p2-percolation", out=tmp_path / "p", launcher="slurm", slurm={"cluster": "local"}, dry_run=True,
                    log=lines.append, grid={"data.fraction": [0.1, 0.125, 0.15]})  # no Slurm needed here
    assert res["runs"] == 4 * 3 * 3  # four (σ, d) cells kept × three λ × three seeds
    named = [ln.split(":")[0].strip() for ln in lines if "steps on a Slurm node" in ln]
    assert "sigma=0.25_increment=0.8_fraction=0.125_seed=0" in named and not any("fraction=0.05" in n for n in named)
    with pytest.raises(ConfigError, match=r"grid axes \(data\.fraction, data\.sigma,data\.increment\).*data\.fractoin"):
        reproduce("p2-percolation", out=tmp_path / "q", grid={"data.fractoin": [0.1]})
    with pytest.raises(ConfigError, match="non-empty list"):
        reproduce("p2-percolation", out=tmp_path / "q", grid={"data.fraction": 0.1})
    with pytest.raises(ConfigError, match="without repeats"):
        reproduce("p2-percolation", out=tmp_path / "q", grid={"data.fraction": [0.1, 0.1]})
    assert main(["reproduce", "p2-percolation", "--grid", "data.sigmma=[1]", "--out", str(tmp_path / "r")]) == 2
    assert "data.sigmma" in capsys.readouterr().err
    assert not (tmp_path / "q").exists() and not (tmp_path / "r").exists()


def test_an_r2_that_rises_after_accuracy_does_not_go_with_it():
    """Issue 43: an image-driven R² that rises 500 steps after accuracy still read "supported" by a pooled Pearson
    r (0.52). Timed per seed, it is not supported; rising together it is."""
    from synthetic import curve

    from factordiff.experiments.p1_increment import SPEED, onset_verdicts

    def rows(shift):
        out = []
        for s in range(3):
            for v, reach in zip((0.25, 0.5, 0.75, 1.0), (100, 200, 300, 400)):
                rs = curve(f"d={v}_seed={s}", reach, steps=31, **{"data.increment": v, "seed": s})
                out += [r | {"r2_image_umap": 0.9 if r["step"] >= reach + shift else 0.1} for r in rs]
        return out

    late = onset_verdicts(rows(500), "data.increment", SPEED)[1]
    assert late.outcome == "not supported" and late.value == pytest.approx(500, abs=60), late.line()
    pooled = next(v for k, v in late.controls.items() if k.startswith("pooled Pearson r"))
    assert pooled > 0.3  # what the old rule read as "goes with"
    together = onset_verdicts(rows(0), "data.increment", SPEED)[1]
    assert together.outcome == "supported" and abs(together.value) < 60, together.line()
