"""The inductive-bias bench (issue 48): each bias judged against P1's UNet per task, by the interval rule, gated by
both memorizers and by the room the baseline leaves below the ceiling."""

import json
import shutil

import pytest
from synthetic import CASES, run, seeded

from conftest import TINY
from factordiff.config import parse_overrides
from factordiff.experiments import bias_bench as bb
from factordiff.experiments import reproduce


def _case(values, memo=0.2, learned=0.9):
    """{variant: accuracy} on every task (missing variants at the baseline's), 3 seeds."""
    def case(_):
        rows, measured = [], {}
        for variant, (arch, coords, _) in bb.VARIANTS.items():
            a = values.get(variant, values[bb.BASELINE])
            for task, ((kind, holdout, hx, fraction, inc), _, _) in bb.TASKS.items():
                name = f"{variant}-{task}"
                rows += run(name, **{"model.arch": arch, "model.coords": coords, "data.kind": kind,
                                     "data.holdout": holdout, "data.holdout_x": hx, "data.fraction": fraction,
                                     "data.increment": inc, "acc": learned if variant != bb.BASELINE else 0.9,
                                     "acc_ceiling": 1.0, "acc_ood_detectable": a, "acc_nearest_ood_detectable": memo,
                                     "acc_closedform_ood_detectable": memo})
                measured[name] = {"grid": {"acc_detectable": a, "acc_nearest_detectable": memo}}
        return rows, measured
    return seeded(case)(None)


def _by_variant(verdicts):
    out = {}
    for v in verdicts:
        out.setdefault(v.claim.split(" (")[0], []).append(v)
    return out


def test_each_variant_is_judged_on_each_task_against_the_baseline():
    verdicts = bb.judge(*_case({bb.BASELINE: 0.5, "rendered": 0.8, "separate": 0.55}))
    assert len(verdicts) == (len(bb.VARIANTS) - 1) * len(bb.TASKS)
    got = _by_variant(verdicts)
    assert {v.outcome for v in got["rendered"]} == {"supported"}
    assert {v.outcome for v in got["separate"]} == {"not supported"}  # +0.05: below the 0.1 a gain must reach
    assert {v.outcome for v in got["dit"]} == {"not supported"}  # the baseline's own accuracy


def test_a_gain_that_copying_matches_is_not_support():
    """A variant 0.3 above the baseline but no better than the memorizers (which score 0.8 too) gets no support:
    the gain could be copying."""
    verdicts = bb.judge(*_case({bb.BASELINE: 0.5, "rendered": 0.8}, memo=0.8))
    assert all(v.outcome != "supported" for v in _by_variant(verdicts)["rendered"])


def test_no_room_below_the_ceiling_withholds_and_unlearned_runs_are_named():
    verdicts = bb.judge(*_case({bb.BASELINE: 0.95, "rendered": 0.5}))
    assert all(v.outcome == "inconclusive" and "no room" in v.detail for v in verdicts)
    verdicts = bb.judge(*_case({bb.BASELINE: 0.5, "rendered": 0.8}, learned=0.3))  # no variant learned
    v = _by_variant(verdicts)["rendered"][0]
    assert v.outcome == "inconclusive" and "left out" in v.detail and "not learned" in v.detail


def test_bench_figure_draws_each_task(tmp_path):
    rows, measured = CASES["bias-bench"]("supported")
    paths = bb.draw(rows, measured, tmp_path, "bench")
    assert [p.name for p in paths] == ["bench.png"] and paths[0].stat().st_size > 10_000


@pytest.mark.slow
def test_bench_end_to_end_on_tiny_runs(tmp_path):
    """Every variant trains on every task through the real sweep (one seed: every verdict inconclusive), measure
    counts each network's parameters and reads its step time, and the record re-judges from its files alone."""
    over = parse_overrides([*TINY, "train.steps=4", "train.snapshot_every=2", "train.eval_samples=12",
                            "train.eval_ood_samples=12", "model.attention=[]"])
    res = reproduce("bias-bench", out=tmp_path / "b", jobs=2, overrides=over, seeds=[0], log=lambda m: None)
    assert res["figures"]
    verdicts = json.loads((tmp_path / "b" / "verdicts.json").read_text())
    assert len(verdicts) == 12 and all(v["outcome"] == "inconclusive" for v in verdicts)
    import gzip

    measured = json.loads(gzip.open(tmp_path / "b" / "measured.json.gz").read())
    assert len(measured) == 15  # keyed by run: a campaign stores each run's part as it finishes
    params, speed = bb.costs(measured).values()
    assert set(params) == set(bb.VARIANTS) and all(n > 1000 for n in params.values())
    assert params["dit"] != params[bb.BASELINE]
    assert all(s and s > 0 for s in speed.values())
    assert sum("grid" in m for m in measured.values()) == len(bb.VARIANTS)  # the few-data runs, over the 2D grid
    from factordiff.experiments.records import rejudge

    shutil.rmtree(tmp_path / "b" / "runs")
    assert rejudge(tmp_path / "b")["same"]


def test_the_verdict_matrix_has_a_cell_per_variant_and_task():
    """The bench's one table: rows the biases, columns the tasks, each cell the verdict and the gain's interval;
    the same from the verdicts as judged and as stored (dicts)."""
    rows, measured = _case({bb.BASELINE: 0.5, "rendered": 0.8})
    verdicts = bb.judge(rows, measured)
    table = bb.verdict_matrix(verdicts)
    assert table == bb.verdict_matrix([v.to_dict() for v in verdicts])
    lines = table.splitlines()
    assert lines[0].endswith("| compose | interpolate | few-data |") and len(lines) == 2 + len(bb.VARIANTS) - 1
    rendered = next(x for x in lines if x.startswith("| rendered:"))
    assert rendered.count("✔ +0.30 [") == 3, rendered  # a gain of 0.3 on every task
    separate = next(x for x in lines if x.startswith("| separate:"))
    assert "✔" not in separate and separate.count("✘") == 3, separate  # no gain: below 0.1 on its interval


def test_the_learned_renderer_bench_judges_its_one_variant_by_the_bench_rule(tmp_path):
    """bias-bench-learned: P1's UNet and the learned renderer only, task by task, by the bench's own rule; its
    table has the learned renderer's row alone, and a run of a variant it does not name is not mistaken for one."""
    from factordiff.experiments import bias_bench_learned as bl

    rows, measured = CASES["bias-bench-learned"]("supported")
    verdicts = bl.judge(rows, measured)
    assert [v.claim.split(" (")[0] for v in verdicts] == ["learned"] * len(bb.TASKS)
    assert {v.outcome for v in verdicts} == {"supported"}
    table = bl.verdict_matrix(verdicts).splitlines()
    assert len(table) == 3 and table[2].startswith("| learned: ") and "✔ +0.30" in table[2]
    assert bb.variant_of([{"model.arch": "unet-rendered", "model.coords": "none"}], bl.VARIANTS) == \
        "unet-rendered/none"
    rows, measured = CASES["bias-bench-learned"]("not supported")
    assert {v.outcome for v in bl.judge(rows, measured)} == {"not supported"}
    assert [p.name for p in bl.draw(rows, measured, tmp_path, "learned")] == ["bench.png"]


@pytest.mark.slow
def test_the_learned_renderer_bench_end_to_end_on_tiny_runs(tmp_path):
    """bias-bench-learned through the real sweep: its two variants on the three tasks (one seed: inconclusive),
    measured with its own variant names (the learned renderer's MLPs counted), re-judged from the record alone."""
    import gzip

    from factordiff.experiments import bias_bench_learned as bl
    from factordiff.experiments.records import rejudge

    over = parse_overrides([*TINY, "train.steps=4", "train.snapshot_every=2", "train.eval_samples=12",
                            "train.eval_ood_samples=12", "model.attention=[]"])
    reproduce("bias-bench-learned", out=tmp_path / "l", jobs=2, overrides=over, seeds=[0], log=lambda m: None)
    verdicts = json.loads((tmp_path / "l" / "verdicts.json").read_text())
    assert [v["claim"].split(" (")[0] for v in verdicts] == ["learned"] * 3
    assert all(v["outcome"] == "inconclusive" for v in verdicts)
    params = bb.costs(json.loads(gzip.open(tmp_path / "l" / "measured.json.gz").read()))["params"]
    assert set(params) == set(bl.VARIANTS)
    assert params["learned"] > params[bb.BASELINE]  # the two renderer MLPs
    shutil.rmtree(tmp_path / "l" / "runs")
    assert rejudge(tmp_path / "l")["same"]


def test_costs_per_variant_come_from_the_runs_parts():
    """Each variant's size and step time from the per-run entries `measure` stores (the median of its runs'
    medians; None where no run logged a step time); entries without a variant (a few-data grid alone) ignored."""
    measured = {"a1": {"variant": "a", "params": 10, "sec_per_step": 0.1},
                "a2": {"variant": "a", "params": 10, "sec_per_step": 0.3},
                "a3": {"variant": "a", "params": 10, "sec_per_step": 0.2},
                "b1": {"variant": "b", "params": 20, "sec_per_step": None},
                "c1": {"grid": {"acc_detectable": 0.5}}}
    assert bb.costs(measured) == {"params": {"a": 10, "b": 20}, "sec_per_step": {"a": 0.2, "b": None}}
