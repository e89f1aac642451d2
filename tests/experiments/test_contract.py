"""The contract of every registered experiment: both scales expand to valid configs, `draw` writes its figures
and `judge` returns typed verdicts whose every claim reaches every outcome on synthetic tables."""

import pytest
from synthetic import CASES

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
    assert all(s == set(OUTCOMES) for s in reached.values()), reached


def test_readme_experiment_table_is_generated_from_the_registry():
    from pathlib import Path

    from factordiff.experiments import readme_table

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split("<!-- experiments -->\n", 1)[1].split("\n<!-- /experiments -->", 1)[0]
    assert block == readme_table(), "README's experiment table is stale: paste factordiff.experiments.readme_table()"
