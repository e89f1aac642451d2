"""Known answers of the closed-form memorizer (memorizer.py) at the resolution it is used (the cpu preset)."""

import numpy as np
import torch

from conftest import tiny
from factordiff.config import apply_overrides
from factordiff.data import make_dataset, render_labels
from factordiff.diffusion import sample
from factordiff.memorizer import closed_form_images, closed_form_scores, denoiser
from factordiff.presets import resolve_run_config
from factordiff.score import detectable, reference_scores


def _cpu(*extra):
    return apply_overrides(resolve_run_config([], ["cpu"]), list(extra))


def test_one_training_image_is_returned_exactly():
    cfg = _cpu()
    lab = np.array([[8.0, 8.0]])
    net = denoiser(cfg, lab, np.zeros(1, np.int64))
    x = sample(net, torch.tensor([[3.0, 12.0]] * 4), cfg.diffusion, seed=1, image_size=cfg.data.image_size)
    want = torch.as_tensor(render_labels(lab, None, cfg.data) / 127.5 - 1.0, dtype=torch.float32)
    assert float((x[:, 0] - want).abs().max()) <= 1e-5  # whatever the label asked for: it can only copy


def test_at_training_labels_it_copies_their_own_image():
    """With the default label kernel (a quarter increment) ≥ 99 % of its samples at training labels are the
    training image of that label (nearest in pixels among all training images), and every sample is a copy of a
    training image (within the uint8 rounding); with a kernel of one increment it copies neighbours' images."""
    cfg = _cpu()
    ds = make_dataset(cfg.data)
    rng = np.random.default_rng(0)
    idx = rng.choice(len(ds), 200, replace=False)
    imgs = closed_form_images(cfg, ds.labels, ds.kinds, ds.labels[idx], seed=3).astype(np.float64)
    train = render_labels(ds.labels, ds.kinds, cfg.data)
    d = ((imgs.reshape(200, 1, -1) - train.reshape(1, len(ds), -1)) ** 2).sum(-1)
    assert (d.argmin(1) == idx).mean() >= 0.99
    assert np.sqrt(d.min(1)).max() < 0.05 * np.sqrt(((train[0] - train[1]) ** 2).sum())  # a copy, not a blend
    wide = apply_overrides(cfg, ["train.memorizer_bandwidth=1"])
    imgs = closed_form_images(wide, ds.labels, ds.kinds, ds.labels[idx], seed=3).astype(np.float64)
    d = ((imgs.reshape(200, 1, -1) - train.reshape(1, len(ds), -1)) ** 2).sum(-1)
    assert (d.argmin(1) == idx).mean() < 0.5  # the kernel's width is what the option says


def test_on_held_out_labels_it_does_no_better_than_the_label_memorizer():
    """Inside P1's held-out square nothing it can do beats copying the nearest training label's image by more
    than 0.05 (and the ground truth scores its ceiling there)."""
    cfg = _cpu("data.holdout=box", "data.holdout_x=[5,11]", "data.holdout_y=[5,11]")
    ds = make_dataset(cfg.data)
    lab, kinds = ds.heldout_labels, ds.heldout_kinds
    closed = closed_form_scores(cfg, ds.labels, ds.kinds, lab, kinds, seed=5)
    refs = reference_scores(lab, kinds, cfg.data, ds.labels)
    assert closed["acc"] <= refs["nearest"]["acc"] + 0.05
    assert refs["ceiling"]["acc"] >= 0.95 and detectable(lab, kinds, cfg.data).mean() > 0.9


def test_a_run_records_the_closed_form_control(tmp_path):
    from factordiff.io import read_jsonl
    from factordiff.train import train

    cfg = tiny(10, "data.holdout=box", "data.holdout_x=[6,10]", "data.holdout_y=[6,10]", "train.eval_ood_samples=8")
    train(cfg, tmp_path / "r", progress=False, log=lambda *_: None)
    rows = read_jsonl(tmp_path / "r" / "metrics.jsonl")
    snap = [r for r in rows if r.get("kind") == "eval"]
    assert snap and all(0 <= r["references"]["closedform"]["ood"]["acc"] <= 1 for r in snap)
    off = tiny(10, "train.memorizer=none")
    train(off, tmp_path / "s", progress=False, log=lambda *_: None)
    assert not any("closedform" in (r.get("references") or {}) for r in read_jsonl(tmp_path / "s" / "metrics.jsonl"))
