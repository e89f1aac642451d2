"""What one snapshot costs, part by part (issue 45 item 4): sampling with the layers recorded, P1's scorer, the
label-only response, writing the npz; and DDIM sampling in fp32 against bf16 autocast (channels_last). Runs the
preset's untrained network on its evaluation labels, on one thread, `--repeats` times.

    python scripts/snapshot-cost.py cpu
    python scripts/snapshot-cost.py cpu --preset-extra p2-lesion --repeats 3
"""

import argparse
import tempfile
import time
from pathlib import Path

import torch

from factordiff import diffusion, evaluate
from factordiff.data import make_dataset
from factordiff.io import save_npz
from factordiff.presets import preset
from factordiff.score import period_of, predict_labels
from factordiff.train import _eval_set


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("preset", nargs="?", default="cpu")
    ap.add_argument("--preset-extra", action="append", default=[])
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = preset([args.preset, *args.preset_extra])
    net = evaluate.untrained_network(cfg, "cpu")
    labels, kinds = _eval_set(cfg, make_dataset(cfg.data))
    layers = cfg.train.eval_layers
    print(f"{len(labels)} labels, layers {layers}, {cfg.diffusion.sampler}-{cfg.diffusion.sample_steps}")
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            out = evaluate.sample_and_score(net, labels, kinds, cfg, seed=1, layers=layers)
            t1 = time.perf_counter()
            predict_labels(out["images"], kinds, cfg.data.blob_rule, cfg.data.predictor, period_of(cfg.data))
            t2 = time.perf_counter()
            evaluate.label_only(net, labels, layers, cfg.data.image_size)
            t3 = time.perf_counter()
            snap = evaluate.snapshot(cfg, net, labels, kinds)
            t4 = time.perf_counter()
            save_npz(Path(tmp) / "snap.npz", **snap["arrays"])
            t5 = time.perf_counter()
            print(f"snapshot {t4 - t3:.2f} s: sampling {out['seconds']:.2f} (with scoring {t1 - t0:.2f}), scorer "
                  f"{t2 - t1:.3f}, label-only {t3 - t2:.3f}, write {t5 - t4:.3f}")
    cl = net.to(memory_format=torch.channels_last)
    lab = torch.as_tensor(labels, dtype=torch.float32)

    def sample(bf16: bool) -> float:
        t = time.perf_counter()
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            diffusion.sample(cl, lab, cfg.diffusion, seed=1, image_size=cfg.data.image_size, pixels=True)
        return time.perf_counter() - t

    sample(False), sample(True)  # warm-up
    for _ in range(args.repeats):
        print(f"channels_last sampling: fp32 {sample(False):.2f} s, bf16 {sample(True):.2f} s")


if __name__ == "__main__":
    main()
