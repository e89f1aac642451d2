"""The "memorize or compose?" probes run on trained models (analysis/memorization.py holds the statistics):

    import factordiff
    factordiff.split_half("runs/half-a", "runs/half-b")      # two runs on complementary halves of the labels
    factordiff.kernel_superposition("runs/demo")              # factorized or radial superposition of what it saw

The two halves are two runs with the same config apart from `data.subsample_complement` (false in one, true in
the other) at `data.fraction=0.5`: the second trains on exactly the labels the first's subsample drops.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .errors import ConfigError


def _count(field: str, n) -> None:
    if not (isinstance(n, int) and n >= 1):
        raise ConfigError(field, n, "an integer ≥ 1 (labels to sample)")


def _run(r):
    from .api import Run, load_run

    return r if isinstance(r, Run) else load_run(r)


def _halves(a, b):
    """Check that two runs are complementary halves and return their datasets."""
    from .data import make_dataset

    da, db = a.config.data, b.config.data
    if replace(da, subsample_complement=False) != replace(db, subsample_complement=False) \
            or da.subsample_complement == db.subsample_complement or da.fraction >= 1:
        raise ConfigError("runs", f"{a.path}, {b.path}", "two runs with the same data config at data.fraction < 1, "
                          "one with data.subsample_complement=true (the other half of the labels)")
    return make_dataset(da), make_dataset(db)


def _probe_labels(ds_a, ds_b, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Up to n labels seen by one of the two runs and, where a holdout leaves some, up to n seen by neither."""
    rng = np.random.default_rng(seed)
    seen = np.concatenate([ds_a.labels, ds_b.labels])
    neither = ds_a.heldout_labels
    pick = lambda pool: pool[rng.choice(len(pool), size=min(n, len(pool)), replace=False)]  # noqa: E731
    return pick(seen), (pick(neither) if len(neither) else np.zeros((0, 2)))


def split_half(run_a, run_b, *, n: int = 200, seed: int = 0, step: int | None = None) -> dict:
    """Kadkhodaie et al.'s split-half test on two runs trained on complementary halves of the labels: both sampled
    at the same labels from the same noise (`seed`), {region: statistics} for the labels one of them saw (`seen`) and
    those neither saw (`unseen`, where a holdout leaves some), each with the same statistics of two closed-form
    memorizers of the same halves (`memorizers`: the control of a model that only copies) and of the ground-truth
    images (`ground truth`: what two models that draw every label right score: agreement 1, label agreement the
    detector's ceiling, and the nearest-training-image correlation of images that are not copies)."""
    from .analysis.memorization import split_half as stats
    from .data import render_labels, to_uint8
    from .memorizer import closed_form_images
    from .score import period_of, predict_labels

    _count("n", n)
    a, b = _run(run_a), _run(run_b)
    ds_a, ds_b = _halves(a, b)
    cfg = a.config
    train_a = render_labels(ds_a.labels, ds_a.kinds, cfg.data)
    train_b = render_labels(ds_b.labels, ds_b.kinds, cfg.data)
    tol = cfg.data.tol_px
    out = {}
    for region, labels in zip(("seen", "unseen"), _probe_labels(ds_a, ds_b, n, seed)):
        if not len(labels):
            continue
        sa, sb = a.sample(labels, seed=seed, step=step), b.sample(labels, seed=seed, step=step)
        kinds = np.full(len(labels), ds_a.kinds[0])
        ma = closed_form_images(cfg, ds_a.labels, ds_a.kinds, labels, seed)
        mb = closed_form_images(cfg, ds_b.labels, ds_b.kinds, labels, seed)
        pa = predict_labels(ma, kinds, cfg.data.blob_rule, cfg.data.predictor, period_of(cfg.data))[0]
        pb = predict_labels(mb, kinds, cfg.data.blob_rule, cfg.data.predictor, period_of(cfg.data))[0]
        truth = to_uint8(render_labels(labels, kinds, cfg.data))
        pt = predict_labels(truth, kinds, cfg.data.blob_rule, cfg.data.predictor, period_of(cfg.data))[0]
        out[region] = {"models": stats(sa["images"], sb["images"], sa["pred"], sb["pred"], train_a, train_b, tol),
                       "memorizers": stats(ma, mb, pa, pb, train_a, train_b, tol),
                       "ground truth": stats(truth, truth, pt, pt, train_a, train_b, tol)}
    return out


def outputs_at(run, labels, *, seed: int = 0, step: int | None = None) -> np.ndarray:
    """(K, N, N) float images: the run's sample at each label from one and the same noise (initial and per step),
    so that they differ only through the label (one label at a time: the sampler draws noise per batch)."""
    import torch

    from .diffusion import sample
    from .evaluate import load_network

    cfg, net, _, _ = load_network(_run(run).dir, step, "cpu")
    net.eval()
    lab = torch.as_tensor(np.asarray(labels, float).reshape(-1, 2), dtype=torch.float32)
    with torch.no_grad():
        return np.stack([sample(net, lab[i:i + 1], cfg.diffusion, seed=seed, image_size=cfg.data.image_size)
                         [0, 0].numpy() for i in range(len(lab))])


def kernel_superposition(run, *, n_train: int = 200, n_probe: int = 100, seed: int = 0,
                         step: int | None = None) -> dict:
    """Liang et al. (2025)'s kernel view of one run: its outputs (same noise at every label) at up to `n_probe`
    probe labels fitted as a kernel-weighted average of its outputs at up to `n_train` training labels, with a
    factorized and a radial kernel (`analysis.memorization.fit_superposition`). Probes in distribution: labels
    half a lattice step off the training labels, outside any holdout (`id`); out of distribution: held-out labels
    (`ood`, where the run holds some out). Beside each fit, two controls fitted the same way on the same labels:
    the ground-truth images (what drawing every label right scores) and each probe's nearest training label's image
    (what copying scores); `between` places the run's R² between them, per kernel (`memorization.between`), with
    the position of a third control, the truth drawn at shuffled probe labels (`wrong_place`: new images in the
    wrong places, which no superposition explains either)."""
    _count("n_train", n_train)
    _count("n_probe", n_probe)
    r = _run(run)
    return superposition(r.config.data, lambda labels: outputs_at(r, labels, seed=seed, step=step),
                         n_train=n_train, n_probe=n_probe, seed=seed, score=_scorer(r.config.data))


def _scorer(data):
    """The run's accuracy on the probe labels from the very outputs the kernels are fitted to (in [−1, 1]): P1's
    criterion, over every probe label and over those whose ground truth the detector reads (ceiling 1 there)."""
    from .data import image_kind
    from .score import detectable, score_images

    def score(labels, outputs) -> dict:
        images = np.clip(np.rint((np.clip(outputs, -1, 1) + 1) * 127.5), 0, 255).astype(np.uint8)
        kinds = np.full(len(labels), image_kind(data))
        det = detectable(labels, kinds, data)
        m = score_images(images, labels, kinds, data, detectable_mask=det)
        return {"acc": m["acc"], "acc_detectable": m.get("detectable", {}).get("acc"), "n": int(len(labels)),
                "n_detectable": int(det.sum())}
    return score


def superposition(data, outputs, *, n_train: int = 200, n_probe: int = 100, seed: int = 0, score=None) -> dict:
    """`kernel_superposition` for any generator: `outputs(labels)` → one image per label, on the data config
    `data`'s training and held-out labels; with `score(labels, outputs)` → dict, also `accuracy` per region (the
    reading the position needs beside it)."""
    from scipy.spatial import cKDTree

    from .analysis.memorization import KERNELS, between, fit_superposition
    from .data import image_kind, in_holdout, make_dataset, render_labels

    ds = make_dataset(data)
    rng = np.random.default_rng(seed)
    train = ds.labels[rng.choice(len(ds.labels), size=min(n_train, len(ds.labels)), replace=False)]
    half = ds.labels + 0.5 * data.increment
    lo, hi = ds.labels.min(0), ds.labels.max(0)
    half = half[np.all((half >= lo) & (half <= hi), axis=1) & ~in_holdout(half, data)]
    t_out = outputs(train)
    truth = lambda labels: render_labels(labels, np.full(len(labels), image_kind(data)), data)  # noqa: E731
    tree = cKDTree(ds.labels)
    shuffle = np.random.default_rng([seed, 1])  # its own stream: the labels drawn above and below stay as they were
    out = {"n_train": int(len(train))}
    for region, pool in (("id", half), ("ood", ds.heldout_labels)):
        if len(pool):
            probe = pool[rng.choice(len(pool), size=min(n_probe, len(pool)), replace=False)]
            p_out = outputs(probe)
            fit = fit_superposition(train, t_out, probe, p_out)
            # the controls, fitted the same way on the same labels: the images themselves (a model that draws every
            # label right), each probe's nearest training label's image (a model that copies), and the images of
            # the probe labels shuffled among themselves (a model that draws new images, in the wrong places)
            controls = {"ground truth": fit_superposition(train, truth(train), probe, truth(probe)),
                        "nearest-label memorizer": fit_superposition(
                            train, truth(train), probe, truth(ds.labels[tree.query(probe)[1]])),
                        "wrong-place truth": fit_superposition(
                            train, truth(train), probe, truth(probe[shuffle.permutation(len(probe))]))}
            line = {kind: [controls[c][kind]["r2"] for c in ("ground truth", "nearest-label memorizer")]
                    for kind in KERNELS}
            out[region] = fit | {"controls": controls, "between": {
                kind: between(fit[kind]["r2"], *line[kind])
                | {"wrong_place": between(controls["wrong-place truth"][kind]["r2"], *line[kind])["position"]}
                for kind in KERNELS}} | ({"accuracy": score(probe, p_out)} if score else {})
    return out
