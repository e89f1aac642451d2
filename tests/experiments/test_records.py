"""Frozen designs, confirmatory runs, records re-judged from their stored data alone, and the README's verdict
table generated from records/ (issue 42)."""

import dataclasses
import importlib
import json
from pathlib import Path

import pytest
from synthetic import CASES

from factordiff.cli import main
from factordiff.errors import ConfigError
from factordiff.experiments import EXPERIMENTS
from factordiff.experiments.design import SETTINGS, check_frozen, design_hash, design_settings, freeze, read_lock
from factordiff.experiments.records import VERDICTS_PAGE, rejudge, stored, summary_table, verdict_table

ROOT = Path(__file__).resolve().parents[2]
rp = importlib.import_module("factordiff.experiments.reproduce")  # the module (the package exports a function)


def test_every_design_is_frozen_as_declared():
    assert check_frozen(EXPERIMENTS) == [], "a design changed: a new version, then `factordiff designs --freeze`"


def test_a_changed_frozen_design_without_a_new_version_fails(tmp_path):
    exp = EXPERIMENTS["p2-rim"]
    lock = read_lock()
    wider = dataclasses.replace(exp, specs={**exp.specs, "cpu": {**exp.specs["cpu"], "grid": {
        "data.rim_width": [2.0, 0.0]}}})
    assert design_hash(wider) != design_hash(exp)
    problems = check_frozen({"p2-rim": wider}, lock)
    assert len(problems) == 1 and "changed since it was frozen" in problems[0] and "DESIGN.version = 2" in problems[0]
    # fewer confirmatory seeds is a change too
    fewer = dataclasses.replace(exp, design=dataclasses.replace(exp.design, seeds=(100, 101, 102)))
    assert check_frozen({"p2-rim": fewer}, lock)
    # a new version is not frozen until frozen; freezing refuses to overwrite a changed frozen version
    v2 = dataclasses.replace(wider, design=dataclasses.replace(exp.design, version=2))
    assert "not frozen yet" in check_frozen({"p2-rim": v2}, lock)[0]
    path = tmp_path / "lock.json"
    path.write_text(json.dumps(lock))
    assert freeze({"p2-rim": v2}, path) == ["p2-rim v2"]
    assert json.loads(path.read_text())["p2-rim"] == {"1": lock["p2-rim"]["1"], "2": design_hash(v2)}
    with pytest.raises(ConfigError, match="changed since it was frozen"):
        freeze({"p2-rim": wider}, path)


def test_a_preset_or_default_changed_under_a_frozen_design_fails(tmp_path, monkeypatch):
    """The hash covers the spec as written, which names presets; the stored settings cover what the presets and
    every config default resolve to. Changing the cpu preset's snapshot interval changes no frozen hash but every
    frozen design's runs: it is caught, naming the setting; a newly added option is not drift."""
    import factordiff.presets as presets

    lock, settings = read_lock(), read_lock(SETTINGS)
    now = design_settings(EXPERIMENTS["p2-rim"])
    assert {k: now[k] for k in settings["p2-rim"]["1"]} == settings["p2-rim"]["1"]  # options added since aside
    cpu = dict(presets.PRESETS["cpu"])
    monkeypatch.setitem(presets.PRESETS, "cpu", {**cpu, "train.snapshot_every": cpu["train.snapshot_every"] * 2})
    problems = check_frozen({"p2-rim": EXPERIMENTS["p2-rim"]}, lock, settings)
    assert design_hash(EXPERIMENTS["p2-rim"]) == lock["p2-rim"]["1"]  # the hash alone does not see it
    assert len(problems) == 1 and "other settings" in problems[0] and "train.snapshot_every" in problems[0]
    path = tmp_path / "lock.json"
    path.write_text(json.dumps(lock))
    (tmp_path / SETTINGS.name).write_text(json.dumps(settings))
    with pytest.raises(ConfigError, match="other settings"):
        freeze({"p2-rim": EXPERIMENTS["p2-rim"]}, path)
    monkeypatch.setitem(presets.PRESETS, "cpu", cpu)
    newer = {"p2-rim": {"1": {k: v for k, v in settings["p2-rim"]["1"].items() if k != "train.stop_when"}}}
    assert check_frozen({"p2-rim": EXPERIMENTS["p2-rim"]}, lock, newer) == []  # an option added since: not drift


def test_confirm_runs_the_frozen_design_on_fresh_seeds_and_refuses_changes(tmp_path):
    lines: list[str] = []
    res = rp.reproduce("p2-rim", out=tmp_path / "c", launcher="slurm", slurm={"cluster": "local"}, dry_run=True,
                       confirm=True, log=lines.append)
    named = [ln.split(":")[0].strip() for ln in lines if "steps on a Slurm node" in ln]
    assert res["runs"] == 2 * 5 and all(int(n.rsplit("seed=", 1)[1]) >= 100 for n in named), named
    for kw in ({"overrides": {"train.steps": 10}}, {"grid": {"data.rim_width": [3.0]}}, {"seeds": [0, 1, 2]}):
        with pytest.raises(ConfigError, match="--confirm with"):
            rp.reproduce("p2-rim", out=tmp_path / "x", confirm=True, **kw)
    with pytest.raises(ConfigError, match="cpu"):
        rp.reproduce("p2-rim", "paper", out=tmp_path / "x", confirm=True)
    assert not (tmp_path / "x").exists()


def _fake_run(monkeypatch, name: str, outcome: str) -> None:
    """reproduce without training: the sweep 'done', the table and measurements those of a synthetic case."""
    rows, measured = CASES[name](outcome)
    monkeypatch.setattr(rp, "launch", lambda spec, *_a, **_k: {"runs": 6, "ran": 6, "failed": 0, "skipped": 0})
    monkeypatch.setattr(rp, "aggregate", lambda _out: {"rows": rows})
    monkeypatch.setattr(rp, "measure_cached", lambda *_a, **_k: json.loads(json.dumps(rp.jsonable(measured))))


def test_a_confirmatory_record_is_stored_and_rejudged_from_its_data_alone(tmp_path, monkeypatch, capsys):
    _fake_run(monkeypatch, "p2-rim", "supported")
    records = tmp_path / "records"
    res = rp.reproduce("p2-rim", out=tmp_path / "o", confirm=True, records=records, log=lambda *_: None)
    folder = records / "p2-rim"
    assert res["record"] == str(folder) and stored(records) == [folder]
    rec = json.loads((folder / "record.json").read_text())
    assert rec["kind"] == "confirmatory" and rec["design_version"] == 1
    assert rec["design_hash"] == design_hash(EXPERIMENTS["p2-rim"]) and rec["seeds"] == [100, 101, 102, 103, 104]
    assert rec["judge_version"] and rec["calls"][0]["machine"]
    monkeypatch.undo()  # rejudge needs nothing of the runs: they never existed
    again = rejudge(folder, figures=True)
    assert again["same"] and [v.outcome for v in again["verdicts"]] == ["supported"]
    assert all(Path(p).exists() for p in again["figures"])
    assert main(["rejudge", str(folder)]) == 0
    # a stored verdict that no longer follows from the stored data is caught
    v = json.loads((folder / "verdicts.json").read_text())
    v[0]["outcome"] = "not supported"
    (folder / "verdicts.json").write_text(json.dumps(v))
    assert not rejudge(folder)["same"]
    capsys.readouterr()
    assert main(["rejudge", str(folder)]) == 1
    assert "CHANGED" in capsys.readouterr().err
    # and so is a stored number; a reworded detail is not a change of verdict
    v[0]["outcome"] = "supported"
    v[0]["decision"]["calls"][0]["lo"] += 0.01
    (folder / "verdicts.json").write_text(json.dumps(v))
    assert "changed: call" in rejudge(folder)["diffs"][0]
    v[0]["decision"]["calls"][0]["lo"] -= 0.01
    v[0]["detail"] = "reworded"
    (folder / "verdicts.json").write_text(json.dumps(v))
    assert rejudge(folder)["same"]


def test_the_verdict_table_shows_confirmatory_records_with_holm(tmp_path, monkeypatch):
    _fake_run(monkeypatch, "p2-rim", "supported")
    records = tmp_path / "records"
    rp.reproduce("p2-rim", out=tmp_path / "o", confirm=True, records=records, log=lambda *_: None)
    table = verdict_table(records)
    row = next(ln for ln in table.splitlines() if ln.startswith("| `p2-rim`"))
    assert "✔ supported" in row and "confirmatory, design v1" in row and "95%" in row and "[" in row
    assert "not yet recorded" in next(ln for ln in table.splitlines() if ln.startswith("| `p1-sigma`"))
    import shutil

    shutil.copytree(records / "p2-rim", records / "p2-rim-v0")  # an earlier design version's record, kept
    again = verdict_table(records)
    assert sum(ln.startswith("| `p2-rim`") for ln in again.splitlines()) == 1  # only the current one is a row
    assert again.splitlines()[-1].startswith("Records of earlier design versions") and "p2-rim-v0" in again


def test_readme_verdict_table_is_generated_from_records():
    page = (ROOT / VERDICTS_PAGE).read_text()
    block = page.split("<!-- verdicts -->\n", 1)[1].split("\n<!-- /verdicts -->", 1)[0]
    assert block == verdict_table(ROOT / "records", base="../../"), \
        "README's verdict table is stale: python -c 'from factordiff.experiments.records import update_readme; " \
        "update_readme()'"


@pytest.mark.parametrize("folder", stored(ROOT / "records"), ids=lambda p: p.name)
def test_every_stored_record_still_follows_from_its_data(folder):
    """CI re-judges every stored record: its verdicts must follow from its stored table and measurements."""
    res = rejudge(folder)
    assert res["same"], res["diffs"]


def test_update_readme_regenerates_both_blocks(tmp_path):
    from factordiff.experiments.records import update_readme

    readme = tmp_path / "README.md"
    readme.write_text("# x\n<!-- verdicts -->\nSTALE\n<!-- /verdicts -->\n\n<!-- experiments -->\nSTALE\n"
                      "<!-- /experiments -->\n")
    assert update_readme(readme, tmp_path / "records") and not update_readme(readme, tmp_path / "records")
    text = readme.read_text()
    assert "STALE" not in text and "not yet recorded" in text and "| `p2-rim` | P2 Fig 10 |" in text
    assert summary_table(tmp_path / "records") in text and (tmp_path / VERDICTS_PAGE).is_file()
    readme_block = (ROOT / "README.md").read_text().split("<!-- verdicts -->\n", 1)[1].split("\n<!-- /verdicts", 1)[0]
    assert readme_block == summary_table(ROOT / "records")  # the README's glance, from the records
    readme.write_text("# no markers\n")
    with pytest.raises(ConfigError, match="markers"):
        update_readme(readme, tmp_path / "records")


def test_a_campaign_outlives_its_machine(tmp_path, monkeypatch):
    """Machine A stores each run as it finishes (records/NAME/runs/RUN.json.gz), then is cut off; machine B,
    with none of A's runs on disk, trains only the others and judges all of them together; the finished record
    replaces the per-run files (issue 47)."""
    from factordiff import table
    from factordiff.errors import Preempted
    from factordiff.experiments.campaign import recorded_runs

    rows, measured = CASES["p2-rim"]("supported")
    names = sorted({r["run"] for r in rows})
    first, rest = names[:3], names[3:]
    of = lambda ns: [r for r in rows if r["run"] in ns]  # noqa: E731
    monkeypatch.setattr(table, "run_rows", lambda run, keys=(): of({run.path.name}))
    exp = dataclasses.replace(EXPERIMENTS["p2-rim"],  # its measure, per run, from the synthetic case
                              measure=lambda rs, log=print: {r["run"]: measured[r["run"]] for r in rs})
    monkeypatch.setitem(EXPERIMENTS, "p2-rim", exp)
    records = tmp_path / "records"

    def machine_a(spec, runs_at, **kw):
        assert not kw["skip"]
        for n in first:
            (runs_at / "runs" / n).mkdir(parents=True, exist_ok=True)
            kw["on_done"](n, runs_at / "runs" / n)
        raise Preempted("the session was cut off")

    monkeypatch.setattr(rp, "launch", machine_a)
    with pytest.raises(Preempted):
        rp.reproduce("p2-rim", out=tmp_path / "a", confirm=True, records=records, log=lambda *_: None)
    kept = recorded_runs(records, "p2-rim", design_hash(exp))
    assert sorted(kept) == first and all(p["rows"] == of({n}) for n, p in kept.items())

    seen = {}

    def machine_b(spec, runs_at, **kw):
        seen["skip"] = set(kw["skip"])
        return {"runs": len(names), "ran": len(rest), "failed": 0, "skipped": len(first)}

    monkeypatch.setattr(rp, "launch", machine_b)
    monkeypatch.setattr(rp, "aggregate", lambda _out: {"rows": of(set(rest))})
    as_stored = lambda e, rs, *_a, **_k: json.loads(json.dumps(rp.jsonable(e.measure(rs))))  # noqa: E731
    monkeypatch.setattr(rp, "measure_cached", as_stored)
    (tmp_path / "b" / "runs").mkdir(parents=True)
    res = rp.reproduce("p2-rim", out=tmp_path / "b", confirm=True, records=records, log=lambda *_: None)
    assert seen["skip"] == set(first)
    assert [v.outcome for v in res["verdicts"]] == ["supported"]
    assert not (records / "p2-rim" / "runs").exists()  # the finished record holds them
    assert rejudge(records / "p2-rim")["same"]


def test_a_new_design_versions_record_keeps_the_old_one(tmp_path):
    """Confirming design v3 where a v1 record is stored moves v1's files to NAME-v1 (both stay re-judgeable and in
    the verdict table); storing v3 again replaces v3 in place."""
    import json

    from factordiff.experiments.records import FILES, store

    def out(version, tag):
        d = tmp_path / f"out{version}{tag}"
        d.mkdir()
        for f in FILES:
            (d / f).write_text(json.dumps({"design_version": version, "tag": tag}) if f == "record.json" else tag)
        return d

    root = tmp_path / "records"
    store(out(1, "a"), "exp", root)
    (root / "exp" / "runs").mkdir()  # a campaign's per-run files stay where the campaign keeps them
    store(out(3, "b"), "exp", root)
    assert json.loads((root / "exp-v1" / "record.json").read_text())["tag"] == "a"
    assert json.loads((root / "exp" / "record.json").read_text())["tag"] == "b" and (root / "exp" / "runs").is_dir()
    store(out(3, "c"), "exp", root)
    assert json.loads((root / "exp" / "record.json").read_text())["tag"] == "c"
    assert sorted(p.name for p in root.iterdir()) == ["exp", "exp-v1"]


def test_the_judge_version_covers_the_experiment_a_judge_borrows_its_rule_from(monkeypatch):
    """bias-bench-learned judges by bias-bench's rule: an edit to bias_bench.py changes its recorded judge version
    (and an edit to an experiment it does not borrow from does not)."""
    import inspect

    from factordiff.experiments import bias_bench, p2_rim
    from factordiff.experiments.design import judge_version

    exp = EXPERIMENTS["bias-bench-learned"]
    before, source = judge_version(exp), inspect.getsource

    def edited(target):
        return lambda m: source(m) + ("\n# edited" if m is target else "")

    monkeypatch.setattr(inspect, "getsource", edited(p2_rim))
    assert judge_version(exp) == before
    monkeypatch.setattr(inspect, "getsource", edited(bias_bench))
    assert judge_version(exp) != before


def test_backfill_gives_stored_runs_their_measured_part_from_their_folders(tmp_path, monkeypatch, capsys):
    """scripts/backfill-measured.py: a stored run without its part of a per-run measure gets it, measured from its
    folder here, every other field kept; one whose folder is gone is named and left; another design's is not
    touched."""
    import gzip
    import importlib.util

    from factordiff.experiments.campaign import run_file, store_run

    spec = importlib.util.spec_from_file_location("backfill", Path(__file__).parents[2] / "scripts" /
                                                  "backfill-measured.py")
    backfill = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(backfill)
    exp = dataclasses.replace(EXPERIMENTS["bias-bench"], measure=lambda rs, log=print: {
        r["run"]: {"folder": Path(r["run_dir"]).name} for r in rs}, measure_by_run=False)
    records, runs = tmp_path / "records", tmp_path / "runs"
    for name in ("a", "b"):
        (runs / name).mkdir(parents=True)
        store_run(exp, records, name, [{"run": name, "run_dir": f"/elsewhere/{name}", "step": 0}], runs / name,
                  design_hash(exp))
    (runs / "b").rmdir()
    monkeypatch.setitem(EXPERIMENTS, "bias-bench", dataclasses.replace(exp, measure_by_run=True))
    assert backfill.main(["bias-bench", "--records", str(records), "--runs", str(runs)]) == 0
    read = lambda n: json.load(gzip.open(run_file(records, "bias-bench", n), "rt"))  # noqa: E731
    assert read("a")["measured"] == {"a": {"folder": "a"}} and read("a")["rows"][0]["run_dir"] == "/elsewhere/a"
    assert read("b")["measured"] is None and "b: no run folder" in capsys.readouterr().out
    monkeypatch.setitem(EXPERIMENTS, "bias-bench", exp)  # a measure that is not per run: refused
    assert backfill.main(["bias-bench", "--records", str(records)]) == 2


def test_designs_say_how_far_each_confirmation_is(tmp_path, capsys):
    """`factordiff designs`: 'not started (N runs)' with N the confirmatory sweep's size, 'K of N runs stored' once
    a campaign stored runs of this design (another design's files not counted), 'recorded' once its record is."""
    from factordiff.experiments.campaign import progress, store_run
    from factordiff.sweep import expand, parse_spec

    exp, records = EXPERIMENTS["p2-rim"], tmp_path / "records"
    n = len(expand(parse_spec({"name": "x", **rp.confirm_body(exp, None, None, None, "cpu")})))
    assert progress(exp, records) == f"not started ({n} runs)"
    bare = dataclasses.replace(exp, measure=None)  # stored rows only: nothing here to measure
    store_run(bare, records, "r1", [{"run": "r1", "step": 0}], tmp_path, design_hash(exp))
    store_run(bare, records, "r2", [{"run": "r2", "step": 0}], tmp_path, "another design")
    assert progress(exp, records) == f"1 of {n} runs stored"
    (records / "p2-rim" / "record.json").write_text(json.dumps({"design_hash": design_hash(exp)}))
    assert progress(exp, records) == "recorded"
    main(["designs", "--records", str(records)])
    assert "p2-rim" in (line := next(x for x in capsys.readouterr().out.splitlines() if x.startswith("p2-rim "))) \
        and line.endswith("recorded")
