import json

import pytest
import torch

from conftest import TINY, tiny
from factordiff.bench import bench_sample, bench_train, forward_flops
from factordiff.cli import main
from factordiff.config import ConfigError
from factordiff.presets import preset
from factordiff.train import make_model
from factordiff.unet import count_parameters


def test_paper_preset_is_the_papers_network():
    cfg = preset("paper")
    assert count_parameters(make_model(cfg, torch.device("cpu"))) == 23_446_145
    assert 3.2e9 < forward_flops(cfg, torch.device("cpu")) < 4.0e9  # ≈ 3.7 GFLOP with norms/activations
    assert (cfg.diffusion.timesteps, cfg.train.steps, cfg.train.eval_samples) == (1000, 320_000, 500)


def test_presets_combine_left_to_right():
    cfg = preset(["cpu", "p2-torus"], ["train.steps=10"])
    assert cfg.data.periodic and cfg.model.base == 16 and cfg.train.steps == 10
    with pytest.raises(ConfigError, match="preset"):
        preset(["cpu", "nope"])


def test_bench_train_times_tuned_and_plain_on_the_same_work():
    out = bench_train(tiny(1), batch=4, device="cpu", steps=1, warmup=1)
    assert out["tuned_options"] == {"channels_last": False, "amp": "none", "compile": False}  # TINY fixes them
    assert out["tuned"]["images_per_s"] > 0 and out["plain"]["images_per_s"] > 0
    assert out["speedup"] == pytest.approx(out["tuned"]["images_per_s"] / out["plain"]["images_per_s"])
    assert out["gflop_per_image_forward"] > 0 and out["tuned"]["gflop_per_s"] > 0
    with pytest.raises(ConfigError, match="--batch"):
        bench_train(tiny(1), batch=0, device="cpu")


def test_bench_cli_prints_one_json_line(capsys):
    assert main(["bench", "sample", *TINY, "--batch", "3", "--device", "cpu", "--sample-steps", "2"]) == 0
    out = json.loads(capsys.readouterr().out.strip())
    assert out["bench"] == "sample" and out["steps"] == 2 and out["batch"] == 3 and out["images_per_s"] > 0
    assert bench_sample(tiny(1), batch=2, device="cpu")["steps"] == 5  # the config's own DDIM-5
