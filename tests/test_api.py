"""The notebook API: `import factordiff`, `preset()` with a dict, `load_run` on a tiny run, `Run.sample`."""

import subprocess
import sys

import numpy as np
import pytest

import factordiff
from conftest import tiny
from factordiff.config import ConfigError
from factordiff.errors import FactordiffError


def test_version_and_lazy_import():
    assert factordiff.__version__ and factordiff.__version__[0].isdigit()
    code = "import sys, factordiff; factordiff.__version__; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
    with pytest.raises(AttributeError):
        factordiff.nothing  # noqa: B018


def test_preset_accepts_a_dict_and_refuses_a_hybrid_scale():
    assert factordiff.preset("cpu", {"train.steps": 10}).train.steps == 10
    assert factordiff.preset("cpu", ["train.steps=10"]) == factordiff.preset("cpu", {"train.steps": 10})
    with pytest.raises(ConfigError, match="cpu and paper are both scale presets"):
        factordiff.preset(["cpu", "paper"])
    with pytest.raises(ConfigError, match="preset 'p2-torus' sets data.periodic=True; preset 'p1-hole-10'"):
        factordiff.preset(["p2-torus", "p1-hole-10"])


def test_load_run_reads_a_tiny_run_and_samples(tmp_path):
    from factordiff.train import train

    cfg = tiny(4, "train.snapshot_every=2", "train.eval_samples=8")
    train(cfg, tmp_path / "r", log=lambda m: None)
    run = factordiff.load_run(tmp_path / "r")
    assert run.config == cfg and run.steps == [0, 2, 4]
    evals = run.metrics()  # a DataFrame (pandas is a dependency: `m.shape` failed on a fresh install)
    assert evals.shape[0] == 3 and list(evals["step"]) == [0, 2, 4] and "detectable.acc" in evals.columns
    snap = run.snapshot()
    assert snap["images"].dtype == np.uint8 and len(snap["labels"]) == 8 and "act_layer4" in snap
    out = run.sample([[8, 8], [4, 12]], seed=1, layers=["layer4"])
    assert out["images"].shape == (2, 16, 16) and out["images"].dtype == np.uint8
    assert out["acts"]["layer4"].shape[0] == 2 and 0.0 <= out["metrics"]["acc"] <= 1.0
    again = run.sample([[8, 8], [4, 12]], seed=1)
    assert (again["images"] == out["images"]).all()  # seeded
    with pytest.raises(ConfigError, match="a step with a snapshot"):
        run.snapshot(3)
    with pytest.raises(FactordiffError, match="not a run directory"):
        factordiff.load_run(tmp_path / "nothing")


def test_summary_repr_and_compare(tmp_path):
    """`Run.summary()` says what the run is and where it stands (no parsing of analysis.jsonl); the repr says it in
    one line; `compare` puts two runs side by side as a table and a figure."""
    from factordiff.analyze import analyze_run
    from factordiff.train import train

    for name, sigma in (("a", 1.0), ("b", 0.75)):
        train(tiny(4, "train.snapshot_every=2", "train.eval_samples=8", f"data.sigma={sigma}"), tmp_path / name,
              log=lambda m: None)
    analyze_run(tmp_path / "a", methods=("pca",), topology="none", grid=0)
    a = factordiff.load_run(tmp_path / "a")
    s = a.summary()
    assert s["step"] == 4 and s["steps"] == 4 and s["analysed"] and set(s["onsets"]) == {"A", "B", "C"}
    assert "bump N 16, σ 1" in s["what"] and 0 <= s["acc"] <= 1 and s["acc_ceiling"] > 0
    text = repr(a)
    assert text.startswith(f"Run({str(tmp_path / 'a')!r}: bump N 16") and "step 4 of 4" in text \
        and "of 1 where the ground truth is detectable" in text
    table, fig = factordiff.compare([tmp_path / "a", tmp_path / "b"], out=tmp_path / "cmp.png")
    assert list(table["path"]) == [str(tmp_path / "a"), str(tmp_path / "b")] and not table["analysed"].iloc[1]
    assert (tmp_path / "cmp.png").stat().st_size > 5000 and len(fig.axes[0].lines) == 4
    with pytest.raises(ConfigError, match="one or more run"):
        factordiff.compare([])
    from factordiff.cli import main

    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "cmp")]) == 0
    csv = (tmp_path / "cmp" / "compare.csv").read_text().splitlines()
    assert len(csv) == 3 and csv[0].startswith("path,") and (tmp_path / "cmp" / "compare.png").exists()
    assert main(["compare", str(tmp_path / "nothing")]) == 2


def test_factordiff_train_run_is_the_function_before_and_after_the_module_is_imported():
    """The tutorial's second `factordiff.train(...)` failed ('module' object is not callable): the first call
    imported the submodule factordiff.train, which replaced the package's lazy name. The function is
    `train_run`; `factordiff.train` is the module (as tests monkeypatch it)."""
    import importlib

    import factordiff

    first = factordiff.train_run
    importlib.import_module("factordiff.train")
    assert callable(first) and factordiff.train_run is first and first.__name__ == "train"
    assert hasattr(factordiff.train, "snapshot")  # the module
