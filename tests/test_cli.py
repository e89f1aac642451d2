import json
import subprocess
import sys

import pytest

from factordiff.cli import main


def test_preview_writes_png_and_counts(tmp_path, capsys):
    out = tmp_path / "p"
    assert main(["data", "preview", "--preset", "p1-hole-3.5", "--out", str(out), "--n", "9"]) == 0
    text = capsys.readouterr().out
    assert "train (ID) images: 99,320" in text and "held-out (OOD) images: 3,721" in text
    assert (out / "preview.png").stat().st_size > 10_000 and str(out / "preview.png") in text
    assert json.loads((out / "preview.json").read_text())["counts"]["heldout"] == 3721
    assert "holdout: box" in (out / "config.yaml").read_text()


def test_preview_from_yaml_and_overrides(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("data:\n  kind: stripes\n  rim_width: 0\n")
    assert main(["data", "preview", str(cfg), "data.sigma=0.8", "--out", str(tmp_path / "o"), "--n", "4"]) == 0
    assert "train (ID) images: 792" in capsys.readouterr().out
    run = tmp_path / "runs" / "data.kind=stripes_seed=0"  # a sweep's run directory: '=' in the path
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(cfg.read_text())
    assert main(["data", "preview", str(run / "config.yaml"), "--out", str(tmp_path / "o2"), "--n", "4"]) == 0
    assert "train (ID) images: 792" in capsys.readouterr().out


@pytest.mark.parametrize("args, needle", [
    (["data.sigma=0"], "data.sigma: must be a finite number > 0 and <= 32 (got 0.0)"),
    (["data.increment=-1"], "data.increment: must be a finite number > 0"),
    (["data.increment=64"], "(got 64.0)"),
    (["data.image_size=20"], "data.image_size: must be a multiple of 8"),
    (["data.fraction=2"], "data.fraction: must be a finite number > 0 and <= 1 (got 2.0)"),
    (["data.kind=torus"], "data.kind: must be one of 'bump', 'sos'"),
    (["data.holdout=box", "data.holdout_x=[30,40]"], "data.holdout_x: must be an interval"),
    (["nonsense.yaml"], "'nonsense.yaml' is neither an existing CONFIG.yaml file nor a key=value override"),
    (["data.sigma"], "'data.sigma' is neither"),
])
def test_bad_input_exit_code_and_message(tmp_path, capsys, args, needle):
    code = main(["data", "preview", *args, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and err.startswith("factordiff: error:")
    assert not (tmp_path / "o").exists()  # nothing written before validation passed


def test_overlap_and_percolation_commands(tmp_path, capsys):
    assert main(["data", "overlap", "--sigmas", "0.5", "1", "--increments", "0.5", "1", "--out",
                 str(tmp_path / "ov")]) == 0
    assert "σ=1: 0.939" in capsys.readouterr().out
    assert main(["percolation", "--sigmas", "0.1", "1", "--thresholds", "0.005", "--fractions", "0.05", "0.5",
                 "--draws", "2", "--out", str(tmp_path / "pc")]) == 0
    out = capsys.readouterr().out
    assert "σ = 0.1: λ_c (mass ratio ≥ 0.5) thr 0.005: never" in out
    table = json.loads((tmp_path / "pc" / "percolation.json").read_text())
    assert table["mean"][1][0][0] > 0.95 and (tmp_path / "pc" / "percolation.png").exists()
    assert main(["percolation", "--thresholds", "0", "--out", str(tmp_path / "bad")]) == 2
    assert "percolation.thresholds" in capsys.readouterr().err


def test_config_show_round_trips(tmp_path, capsys):
    assert main(["config", "show", "--preset", "p2-torus", "data.sigma=0.5"]) == 0
    text = capsys.readouterr().out
    (tmp_path / "c.yaml").write_text(text)
    assert main(["config", "show", str(tmp_path / "c.yaml")]) == 0
    assert capsys.readouterr().out == text and "periodic: true" in text


def test_overrides_after_an_option_are_kept(capsys):
    """`factordiff reproduce p1-sigma --out X train.steps=4000` once failed with "unrecognized arguments":
    key=value items after an option belong to the command's overrides; anything else is still an error."""
    assert main(["config", "show", "data.sigma=0.5", "--preset", "cpu", "train.steps=7"]) == 0
    text = capsys.readouterr().out
    assert "sigma: 0.5" in text and "steps: 7" in text
    with pytest.raises(SystemExit) as e:
        main(["config", "show", "--preset", "cpu", "train.steps=7", "--bogus"])
    assert e.value.code == 2 and "--bogus" in capsys.readouterr().err


def test_console_script_help_has_examples():
    res = subprocess.run([sys.executable, "-m", "factordiff.cli", "data", "preview", "--help"],
                         capture_output=True, text=True, check=True)
    assert "examples:" in res.stdout and "factordiff data preview --preset" in res.stdout


def test_train_command_runs_and_resumes(tmp_path, capsys):
    args = ["train", "--run-dir", str(tmp_path / "run"), "data.image_size=16", "data.increment=4", "model.base=8",
            "model.pe_dim=16", "model.attention=[]", "diffusion.timesteps=40", "diffusion.sampler=ddim",
            "diffusion.sample_steps=4", "train.steps=6", "train.batch_size=4", "train.snapshot_every=3",
            "train.eval_samples=4"]
    assert main(args) == 0
    assert "to step 6 (resumed from step 0)" in capsys.readouterr().out
    assert main(args[:-3] + ["train.steps=9", *args[-2:]]) == 0
    assert "to step 9 (resumed from step 6)" in capsys.readouterr().out
    assert main(["train", "--run-dir", str(tmp_path / "r2"), "train.batch_size=0"]) == 2
    assert "train.batch_size: must be" in capsys.readouterr().err and not (tmp_path / "r2").exists()


def test_every_readme_quickstart_command_parses():
    """The Quickstart block, as written, is accepted by the CLI's parser (scripts/quickstart.sh runs it all)."""
    import re
    import shlex
    from pathlib import Path

    from factordiff.cli import build_parser

    text = (Path(__file__).parents[1] / "README.md").read_text()
    block = re.search(r"## Quickstart\n+```bash\n(.*?)```", text, re.S).group(1)
    commands = [re.sub(r"\s+#.*$", "", line).strip() for line in block.splitlines()]
    commands = [c for c in commands if c]
    assert len(commands) >= 10 and all(c.startswith("factordiff ") for c in commands)
    parser = build_parser()
    for cmd in commands:
        argv = shlex.split(cmd.split(" > ")[0])[1:]
        args = parser.parse_args(argv)
        assert callable(args.func), cmd


def test_names_get_a_did_you_mean_and_presets_are_listed(capsys):
    """Issue 46: `reproduce p1-phase` listed the names without a suggestion; a misspelt preset got argparse's
    list; nothing listed the presets with what they set."""
    from factordiff.cli import main

    assert main(["reproduce", "p1-phase", "--dry-run"]) == 2
    assert "did you mean 'p1-phases'?" in capsys.readouterr().err
    assert main(["config", "show", "--preset", "p2-torrus"]) == 2
    assert "did you mean 'p2-torus'?" in capsys.readouterr().err
    assert main(["config", "presets"]) == 0
    out = capsys.readouterr().out
    assert "p2-torus" in out and "data.periodic=True" in out and out.count("\n") >= 10


def test_one_output_convention_and_steps_that_mean_one_thing(capsys):
    """Every command writes to --out (train's --run-dir stays an alias); --steps means snapshot steps only
    (sample: --ddim-steps, bench: --timed-steps, their old spelling still read); `sweep status --help` is the
    status action's own help (issue 46)."""
    from factordiff.cli import build_parser

    p = build_parser()
    assert p.parse_args(["train", "--out", "r"]).run_dir == p.parse_args(["train", "--run-dir", "r"]).run_dir
    assert p.parse_args(["sample", "r", "--ddim-steps", "20"]).steps == 20
    assert p.parse_args(["sample", "r", "--steps", "20"]).steps == 20
    assert p.parse_args(["bench", "train", "--timed-steps", "3"]).steps == 3
    assert p.parse_args(["bench", "train"]).steps == 5
    assert p.parse_args(["analyze", "r", "--steps", "0", "100"]).steps == [0, 100]
    for action, words in (("status", "one line per run"), ("aggregate", "results.csv")):
        assert main(["sweep", action, "--help"]) == 0
        assert words in capsys.readouterr().out
