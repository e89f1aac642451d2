"""The bias bench's factorization arm (issue 48): each bias's image-driven code against P1's UNet's on the same seed,
by the interval rule on the per-seed drop, withheld where the baseline leaves no room above 0."""

import json
import shutil

import pytest
from synthetic import run, seeded
from test_bias_bench import _by_variant

from conftest import TINY
from factordiff.config import parse_overrides
from factordiff.experiments import bias_bench as bb
from factordiff.experiments import bias_bench_factors as bf
from factordiff.experiments import reproduce


def _case(values, learned=0.9, untrained=0.6):
    """{variant: the image-driven part's statistic} (both statistics alike; missing variants at the baseline's),
    3 seeds; `learned`: the accuracy of every variant but the baseline (0.9)."""
    def case(_):
        rows = []
        for variant, (arch, coords, _) in bb.VARIANTS.items():
            a = values.get(variant, values[bb.BASELINE])
            cols = {f"{c}_{col}": v for col, _ in bf.STATS.values()
                    for c, v in ((bf.CLOUD, a), ("untrained_image_part", untrained), ("label_only", 0.0),
                                 ("ground_truth", 0.4))}
            rows += run(variant, **{"model.arch": arch, "model.coords": coords, "acc_ceiling": 1.0,
                                    "acc": learned if variant != bb.BASELINE else 0.9}, **cols)
        return rows, {}
    return seeded(case)(None)


def test_each_variant_is_judged_on_each_statistic_against_the_baseline():
    verdicts = bf.judge(*_case({bb.BASELINE: 0.5, "rendered": 0.2, "separate": 0.45, "dit": 0.7}))
    assert len(verdicts) == (len(bb.VARIANTS) - 1) * len(bf.STATS)
    got = _by_variant(verdicts)
    assert {v.outcome for v in got["rendered"]} == {"supported"}  # a drop of 0.3
    assert {v.outcome for v in got["separate"]} == {"not supported"}  # 0.05: below the 0.1 a drop must reach
    assert {v.outcome for v in got["dit"]} == {"not supported"}  # more interaction, not less
    assert "untrained network" in " ".join(got["rendered"][0].controls)


def test_a_drop_the_untrained_network_has_too_is_not_support():
    """A variant 0.3 below the baseline, but its untrained network as low (0.2): the architecture alone gives any
    input that code, so the bias is not credited with making it (withheld, not refuted)."""
    verdicts = bf.judge(*_case({bb.BASELINE: 0.5, "rendered": 0.2}, untrained=0.2))
    assert {v.outcome for v in _by_variant(verdicts)["rendered"]} == {"inconclusive"}


def test_no_room_above_zero_withholds_and_unlearned_runs_are_named():
    verdicts = bf.judge(*_case({bb.BASELINE: 0.05, "rendered": 0.0}))
    assert all(v.outcome == "inconclusive" and "no room" in v.detail for v in verdicts)
    verdicts = bf.judge(*_case({bb.BASELINE: 0.5, "rendered": 0.2}, learned=0.3))  # no variant learned
    v = _by_variant(verdicts)["rendered"][0]
    assert v.outcome == "inconclusive" and "left out" in v.detail and "not learned" in v.detail


def test_factors_figure_draws_each_statistic(tmp_path):
    rows, measured = _case({bb.BASELINE: 0.5, "rendered": 0.2})
    paths = bf.draw(rows, measured, tmp_path, "factors")
    assert [p.name for p in paths] == ["factors.png"] and paths[0].stat().st_size > 10_000


@pytest.mark.slow
def test_factors_end_to_end_on_tiny_runs(tmp_path):
    """Every variant trains through the real sweep and its final grid probe is analysed (one seed: every verdict
    inconclusive); each run's last row carries both statistics of the image-driven part and of the controls the
    judge and the figure read, and the record re-judges from its files alone."""
    over = parse_overrides([*TINY, "train.steps=4", "train.snapshot_every=2", "train.eval_samples=12",
                            "model.attention=[]"])
    res = reproduce("bias-bench-factors", out=tmp_path / "f", jobs=2, overrides=over, seeds=[0], log=lambda m: None)
    assert res["figures"]
    verdicts = json.loads((tmp_path / "f" / "verdicts.json").read_text())
    assert len(verdicts) == 8 and all(v["outcome"] == "inconclusive" for v in verdicts)
    import pandas as pd

    table = pd.read_csv(tmp_path / "f" / "results.csv")
    last = table.sort_values("step").groupby("run").tail(1)
    assert len(last) == len(bb.VARIANTS)
    for col, _ in bf.STATS.values():
        for cloud in (bf.CLOUD, *bf.CONTROLS):
            assert last[f"{cloud}_{col}"].notna().all(), (cloud, col)
    from factordiff.experiments.records import rejudge

    shutil.rmtree(tmp_path / "f" / "runs")
    assert rejudge(tmp_path / "f")["same"]
