"""Damaged run directories and bad arguments: one line naming the file or the field and what is wrong, with
README's exit codes (2: config or usage), never a traceback."""

import shutil

import pytest
import torch

from conftest import TINY, tiny
from factordiff.cli import main
from factordiff.train import train


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    path = tmp_path_factory.mktemp("runs") / "r"
    train(tiny(2, "train.snapshot_every=2", "train.eval_samples=8"), path, log=lambda m: None)
    return path


def copy(trained, tmp_path):
    out = tmp_path / "r"
    shutil.copytree(trained, out)
    return out


def run_cli(capsys, *argv) -> tuple[int, str]:
    code = main(list(argv))
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize("damage, expect", [
    (lambda c: c.write_text(""), "is empty"),
    (lambda c: c.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00"), "not a text file"),
    (lambda c: c.unlink(), "is not a run directory"),
])
def test_a_damaged_config_is_one_line(trained, tmp_path, capsys, damage, expect):
    run = copy(trained, tmp_path)
    damage(run / "config.yaml")
    for argv in (["analyze", str(run), "--grid", "0", "--methods", "pca"], ["report", str(run)],
                 ["sample", str(run), "--n", "2"]):
        code, err = run_cli(capsys, *argv)
        assert code == 2 and expect in err and "Traceback" not in err, (argv, err)
        assert len(err.strip().splitlines()) == 1


def test_a_truncated_snapshot_names_its_file(trained, tmp_path, capsys):
    run = copy(trained, tmp_path)
    snap = run / "snapshots" / "step_00000002.npz"
    snap.write_bytes(snap.read_bytes()[:200])
    code, err = run_cli(capsys, "analyze", str(run), "--grid", "0", "--methods", "pca")
    assert code == 1 and "step_00000002.npz" in err and "damaged or truncated" in err and "Traceback" not in err


def test_bad_run_dirs_and_jobs_are_refused_before_work(tmp_path, capsys):
    afile = tmp_path / "README.md"
    afile.write_text("not a run")
    code, err = run_cli(capsys, "train", "--run-dir", str(afile), *TINY, "train.steps=2")
    assert code == 2 and "is a file, not a directory" in err
    spec = tmp_path / "s.yaml"
    spec.write_text("name: s\noverrides: {data.image_size: 16, model.base: 8, train.steps: 2}\n")
    for jobs in ("0", "-2"):
        code, err = run_cli(capsys, "sweep", str(spec), "--jobs", jobs, "--out", str(tmp_path / "sw"))
        assert code == 2 and "--jobs" in err, err
    assert not (tmp_path / "sw" / "runs").exists()
    if not torch.cuda.is_available():
        code, err = run_cli(capsys, "train", "--run-dir", str(tmp_path / "g"), *TINY, "train.device=cuda")
        assert code == 2 and "train.device" in err and not (tmp_path / "g").exists()
