"""The CUDA path: training, snapshots, resume, bf16 autocast, torch.compile and the `auto` probe on a GPU.

Marked `gpu`: skipped where torch sees no CUDA device (CI has none). Run on a GPU machine with
`pytest -m gpu tests/test_gpu.py`. Each test prints what it measured (run with -s to see it)."""

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from conftest import tiny
from factordiff import diffusion
from factordiff.bench import bench_train
from factordiff.checkpoint import list_checkpoints
from factordiff.config import load_config, replace_path
from factordiff.data import make_dataset
from factordiff.io import read_jsonl
from factordiff.train import make_batch_loss, make_model, train, update

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]
CUDA = torch.device("cuda")


def quiet(*_):
    pass


def weights(run):
    d = list_checkpoints(run / "checkpoints")[-1]
    return load_file(str(d / "model.safetensors"))


def rel_diff(a: dict, b: dict) -> float:
    num = sum(float((a[k].double() - b[k].double()).norm() ** 2) for k in a)
    den = sum(float(a[k].double().norm() ** 2) for k in a)
    return (num / den) ** 0.5


def test_cuda_run_trains_snapshots_and_resumes_where_it_stopped(tmp_path):
    straight, resumed = tmp_path / "a", tmp_path / "b"
    train(tiny(30, "train.device=cuda"), straight, log=quiet)
    train(tiny(20, "train.device=cuda"), resumed, log=quiet)
    train(tiny(30, "train.device=cuda"), resumed, log=quiet)
    assert load_config(straight / "config.yaml").train.device == "cuda"
    evals = [r for r in read_jsonl(straight / "metrics.jsonl") if r["kind"] == "eval"]
    assert [r["step"] for r in evals] == [0, 10, 20, 30]
    snap = np.load(straight / "snapshots" / "step_00000030.npz", allow_pickle=False)
    assert snap["images"].shape == (8, 16, 16) and np.isfinite(snap["act_layer4"].astype(np.float32)).all()
    a, b = weights(straight), weights(resumed)
    d = rel_diff(a, b)
    exact = all(torch.equal(a[k], b[k]) for k in a)
    print(f"cuda resume: relative weight difference {d:.2e}, bit-exact {exact}")
    # cuDNN's convolution backward may sum in another order from run to run; a lost optimizer state, RNG state
    # or data order would move the weights by far more than that rounding
    assert d < 1e-3
    la = [r["loss"] for r in read_jsonl(straight / "metrics.jsonl") if r["kind"] == "train"]
    lb = [r["loss"] for r in read_jsonl(resumed / "metrics.jsonl") if r["kind"] == "train"]
    assert np.allclose(la, lb, rtol=1e-3)


def _losses(cfg, steps=20):
    torch.manual_seed(0)
    ds = make_dataset(cfg.data)
    model = make_model(cfg, CUDA)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.train.lr)
    loss = make_batch_loss(cfg, model, diffusion.make_schedule(cfg.diffusion),
                           torch.as_tensor(ds.labels, dtype=torch.float32, device=CUDA),
                           torch.as_tensor(ds.kinds, device=CUDA))
    out = []
    for s in range(steps):
        v = loss(s)
        out.append(v.item())
        update(opt, v)
    return np.array(out)


@pytest.mark.parametrize("option", [{"train.amp": "bf16"}, {"train.compile": True}, {"train.compile": "graphs"},
                                    {"train.channels_last": True}], ids=["bf16", "compile", "graphs", "channels_last"])
def test_each_speed_option_follows_plain_fp32_on_cuda(option):
    base = replace_path(tiny(20, "train.batch_size=32", "train.device=cuda"), {})
    a, b = _losses(base), _losses(replace_path(base, option))
    worst = float(np.max(np.abs(a - b) / a))
    print(f"{option}: worst relative loss difference over 20 steps {worst:.2e}")
    assert a[-5:].mean() < 0.6 * a[:3].mean()  # it learns at all (so the comparison means something)
    assert worst < 0.02


def test_bench_train_on_cuda_times_compile_beside_plain():
    out = bench_train(tiny(1, "train.channels_last=auto", "train.amp=auto", "train.compile=auto"),
                      batch=8, device="cuda", steps=2, warmup=1)
    print(out)
    names = {c["options"] for c in out["candidates"]}
    assert "plain" in names and any("bf16" in n for n in names)  # an H100/H200 computes in bf16
    assert any("compile" in n for n in names)  # a compile that fails is dropped from the candidates
    print("CUDA graphs among the candidates:", any("graphs" in n for n in names))
    assert out["device"] == "cuda" and out["tuned"]["images_per_s"] > 0 and out["plain"]["images_per_s"] > 0


def test_ensemble_members_follow_their_separate_runs_on_cuda(tmp_path):
    """`sweep --ensemble`'s loop on a GPU: two members trained as one batched model against the same runs
    trained alone (tests/test_ensemble.py checks this bit-closely on a CPU; on a GPU, TF32 and the batched
    kernels' sums move more, so the weights are compared as a relative norm)."""
    from factordiff.ensemble_train import train_ensemble

    cfgs = [replace_path(tiny(10, "train.device=cuda"), {"seed": s, "train.snapshot_every": 5}) for s in (3, 4)]
    train_ensemble(cfgs, [tmp_path / f"e{k}" for k in range(2)], log=quiet)
    for k, cfg in enumerate(cfgs):
        train(cfg, tmp_path / f"a{k}", log=quiet, progress=False)
        d = rel_diff(weights(tmp_path / f"a{k}"), weights(tmp_path / f"e{k}"))
        print(f"member {k}: relative weight difference after 10 steps {d:.2e}")
        assert d < 1e-2
