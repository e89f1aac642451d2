"""The contract of every registered experiment: both scales expand to valid configs, `draw` writes its figures
and `judge` returns typed verdicts whose every claim reaches every outcome on synthetic tables."""

import pytest
from synthetic import CASES

from factordiff.data import make_dataset
from factordiff.errors import ConfigError
from factordiff.experiments import EXPERIMENTS, OUTCOMES, Verdict
from factordiff.sweep import expand, parse_spec


def test_every_experiment_has_synthetic_cases():
    assert set(CASES) == set(EXPERIMENTS)


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_both_scales_expand_to_valid_configs(name):
    exp = EXPERIMENTS[name]
    assert set(exp.specs) == {"cpu", "paper"}
    for scale, body in exp.specs.items():
        runs = expand(parse_spec({"name": f"{name}-{scale}", **body}))
        assert runs, (name, scale)
        for run_name, cfg, _ in runs:  # the dataset-level checks too (a λ that keeps no image, an empty hole)
            try:
                make_dataset(cfg.data)
            except ConfigError as e:
                pytest.fail(f"{name} at {scale} scale, run {run_name}: {e}")
        if scale == "paper":
            assert all(cfg.model.base == 64 and cfg.train.steps == 320_000 for _, cfg, _ in runs)
    assert exp.doc and "factordiff reproduce" in exp.doc and "Measured cpu time" in exp.doc


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_verdicts_reach_every_outcome_and_draw_writes(name, tmp_path):
    exp = EXPERIMENTS[name]
    reached: dict[str, set] = {}
    for outcome in OUTCOMES:
        rows, measured = CASES[name](outcome)
        verdicts = exp.judge(rows, measured)
        assert verdicts and all(isinstance(v, Verdict) for v in verdicts)
        for i, v in enumerate(verdicts):
            reached.setdefault(f"{i}: {v.statistic}", set()).add(v.outcome)
            assert v.outcome == outcome, (name, outcome, v.line())
            assert Verdict.from_dict(v.to_dict()) == v and v.line().startswith(f"[{v.outcome}]")
        paths = exp.draw(rows, measured, tmp_path / outcome, name)
        assert paths and all(p.exists() and p.stat().st_size > 1000 for p in paths), (name, outcome)
        assert all(len(exp.caption(p)) > 80 for p in paths), (name, [p.stem for p in paths])  # says how to read it
    assert all(s == set(OUTCOMES) for s in reached.values()), reached


def test_readme_experiment_table_is_generated_from_the_registry():
    from pathlib import Path

    from factordiff.experiments import readme_table

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split("<!-- experiments -->\n", 1)[1].split("\n<!-- /experiments -->", 1)[0]
    assert block == readme_table(), ("README's experiment table is stale: python -c 'from "
                                     "factordiff.experiments.records import update_readme; update_readme()'")


def test_tolerance_is_one_label_step_at_every_scale():
    """P1: |Δ| < 1 px at σ = 1, d = 1 is one label step. The cpu preset keeps P1's pixels (σ, d, tolerance) on a
    cropped canvas; a half-scale rendering (`data.pixel_scale=0.5`) halves the tolerance with N, σ and d. Ground
    truth scores 1 over its detectable labels at every scale; the all-label ceiling depends on the border's share
    (P1: 0.826 at N = 32; 0.678 at N = 16)."""
    from factordiff.config import RunConfig
    from factordiff.data import make_dataset
    from factordiff.presets import preset
    from factordiff.score import reference_scores

    full, cpu = RunConfig().data, preset("cpu").data
    half = preset("cpu", ["data.sigma=0.5", "data.increment=0.5", "data.pixel_scale=0.5"]).data
    assert (cpu.sigma, cpu.dx, cpu.tol_px) == (full.sigma, full.dx, full.tol_px) == (1.0, 1.0, 1.0)
    assert full.tol_px / full.dx == half.tol_px / half.dx == cpu.tol_px / cpu.dx == 1.0
    refs = [reference_scores(d.labels, d.kinds, d.config, d.labels)["ceiling"] for d in map(make_dataset,
                                                                                            (full, cpu, half))]
    assert [round(r["acc"], 3) for r in refs] == [0.826, 0.678, 0.827]
    assert all(r["detectable"]["acc"] == 1.0 for r in refs)
    old = preset("cpu", ["data.sigma=0.5", "data.increment=0.5", "data.pixel_scale=0.5",
                         "data.tolerance_frame=pixels"]).data  # the old absolute 1 px at half scale: two label steps
    assert old.tol_px / old.dx == 2.0


def test_a_memorizer_gets_no_supported_ood_verdict():
    """A model that draws the nearest training label's image inside the hole / lesion: its OOD accuracy is the
    memorizer baseline itself, so no OOD verdict may say it interpolates."""
    from synthetic import run

    from factordiff.data import make_dataset
    from factordiff.experiments import p1_holes, p2_lesion
    from factordiff.presets import preset
    from factordiff.score import reference_scores

    rows, lesion = [], []
    for w in (2.0, 2.5, 3.0, 5.0):  # the cpu widths; the memorizer scores 0.44 / 0.55 / 0.62 / 0.38 there
        ds = make_dataset(preset("cpu", ["data.holdout=band_x", f"data.holdout_x=[{8 - w / 2}, {8 + w / 2}]",
                                         "data.increment=0.25", "data.canvas_margin=3"]).data)
        ref = reference_scores(ds.heldout_labels, ds.heldout_kinds, ds.config, ds.labels)
        memo = ref["nearest"]["detectable"]["acc"]  # the model *is* the memorizer (on the detectable labels)
        for k in range(3):
            lesion += run(f"w{w}_seed={k}", **{"data.holdout_x": [8 - w / 2, 8 + w / 2], "acc_ood_detectable": memo,
                                               "acc_id": 0.9, "acc_nearest_ood_detectable": memo})
    v = p2_lesion.judge(lesion, {})[0]
    assert v.outcome != "supported", v.line()
    ds = make_dataset(preset("cpu", ["data.holdout=box", "data.holdout_x=[6.5, 9.5]", "data.holdout_y=[6.5, 9.5]",
                                     "data.increment=0.25"]).data)
    ref = reference_scores(ds.heldout_labels, ds.heldout_kinds, ds.config, ds.labels)
    for k in range(3):
        rows += run(f"h_seed={k}", **{"data.holdout_x": [6.5, 9.5], "acc_id": ref["ceiling"]["acc"],
                                      "acc_ood": ref["nearest"]["acc"], "acc_nearest_ood": ref["nearest"]["acc"]})
    assert p1_holes.judge(rows, {})[0].outcome != "supported"


def test_a_label_code_alone_gets_no_supported_factorization_verdict():
    """A layer that is its label code (additive in x and y, so factorized by construction): the image-driven
    part is zero and neither factorization verdict may be supported."""
    import numpy as np
    from synthetic import run

    from factordiff.analyze import _geometry_rows, summary_columns
    from factordiff.experiments import p2_orthogonality

    k = 8
    t = np.linspace(0, 2 * np.pi, k, endpoint=False)
    code = np.concatenate([np.broadcast_to(np.stack([np.cos(t), np.sin(t)], -1)[:, None, :], (k, k, 2)),
                           np.broadcast_to(np.stack([np.cos(t), np.sin(t)], -1)[None, :, :], (k, k, 2))], -1)
    probe = {"xs": t, "ys": t, "reps": code, "reps_label": code.copy()}
    geo = _geometry_rows(probe, seed=0, topology=False, untrained={"reps": code, "reps_label": code * 0.5})
    cols = summary_columns({"geometry": geo})
    rows = sum((run(f"t_seed={s}", acc=0.9, **cols) for s in range(3)), [])  # a model that has learned
    assert all(v.outcome != "supported" for v in p2_orthogonality.judge(rows, {})), \
        [v.line() for v in p2_orthogonality.judge(rows, {})]


def test_measure_cache_is_keyed_by_the_measure_function(tmp_path):
    """A changed `measure` (new fields) is measured again instead of read from a stale OUT/measured.json."""
    import dataclasses

    from factordiff.experiments.reproduce import measure_cached

    def m1(rows, log=print):
        return {"v": 1}

    def m2(rows, log=print):
        return {"v": 2}

    exp = dataclasses.replace(EXPERIMENTS["p2-torus"], measure=m1)
    rows = [{"run": "a", "run_dir": "/x/a", "step": 0}]
    assert measure_cached(exp, rows, tmp_path) == {"v": 1}
    assert measure_cached(dataclasses.replace(exp, measure=m2), rows, tmp_path) == {"v": 2}
    assert measure_cached(dataclasses.replace(exp, measure=m2), rows, tmp_path) == {"v": 2}  # cached now


def test_a_reduced_budget_turns_not_supported_into_inconclusive():
    from factordiff.experiments import NOT_SUPPORTED, SUPPORTED
    from factordiff.experiments.reproduce import budget_cut, flag_reduced
    from factordiff.sweep import parse_spec

    body = EXPERIMENTS["p1-increment"].specs["cpu"]
    assert budget_cut(body, parse_spec({"name": "x", **body})) is None
    cut = budget_cut(body, parse_spec({"name": "x", **body, "overrides": {"train.steps": 100}}))
    assert cut == "train.steps 100 < the scale's 2000"
    vs = flag_reduced([Verdict("c", "s", 1, NOT_SUPPORTED, "why"), Verdict("c", "s", 1, SUPPORTED)], cut)
    assert [v.outcome for v in vs] == ["inconclusive", "supported"]
    assert vs[0].detail.startswith("reduced budget (train.steps 100") and vs[0].detail.endswith("; why")


def test_record_sums_every_call_a_stopped_one_included(tmp_path, monkeypatch):
    """OUT/record.json appends each call; a call stopped by a signal (its runs resumable) records its time and
    why, so the experiment's wall time is the sum of every call (a stopped call was left out before)."""
    import importlib
    import json

    from factordiff.errors import Preempted

    rp = importlib.import_module("factordiff.experiments.reproduce")  # the module (the package exports a function)

    def stopped(*_a, **_k):
        raise Preempted("sweep stopped by signal 15; rerun it to resume", signum=15)

    monkeypatch.setattr(rp, "launch", stopped)
    out = tmp_path / "o"
    with pytest.raises(Preempted):
        rp.reproduce("p2-rim", out=out, log=lambda *_: None)
    calls = json.loads((out / "record.json").read_text())["calls"]
    assert len(calls) == 1 and calls[0]["stopped"].startswith("sweep stopped by signal 15") and calls[0]["ran"] is None
    spec = parse_spec({"name": "p2-rim-cpu", **EXPERIMENTS["p2-rim"].specs["cpu"]})
    rp.record_call(out, "p2-rim", "cpu", spec, {"runs": 6, "ran": 6}, 100.0)
    rec = json.loads((out / "record.json").read_text())
    assert len(rec["calls"]) == 2 and "stopped" not in rec["calls"][1]
    assert rec["wall_s"] == pytest.approx(calls[0]["wall_s"] + 100.0)


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_every_verdict_comes_from_a_declared_claim(name):
    """Each judge declares its claims as data (`claims.Claim`: statistic, tests with their effect sizes, gates)
    and every verdict is written by `Claim.verdict`, so each records the calls it rests on."""
    import inspect

    from factordiff.experiments.claims import Claim

    exp = EXPERIMENTS[name]
    module = inspect.getmodule(exp.judge)
    declared = [v for v in vars(module).values() if isinstance(v, Claim)]
    assert declared or "Claim(" in inspect.getsource(module), name
    rows, measured = CASES[name]("supported")
    for v in exp.judge(rows, measured):
        assert v.decision.get("calls"), (name, v.claim)


@pytest.mark.parametrize("name", [n for n, e in EXPERIMENTS.items() if e.measure_by_run])
def test_a_per_run_measure_is_keyed_by_run(name):
    """An experiment whose campaign stores each run's part of the measurements as it finishes (`measure_by_run`)
    must measure {run: …}: the campaign unions the parts (campaign.merge_measured), so a key shared by all runs
    (e.g. {"grid": {…}}) would keep only the last run's."""
    rows, measured = CASES[name]("supported")
    assert measured and set(measured) <= {r["run"] for r in rows}, sorted(measured)[:5]
