"""Seconds per training step: one run alone against K runs trained as one batched model (factordiff.ensemble),
measured one after another in one process. Prints one JSON object per line (BENCHMARKS.md, issue 49).

    python scripts/bench-ensemble.py --preset cpu --members 1 2 4                 # the 2-core CPU
    python scripts/bench-ensemble.py --preset paper --device cuda --members 1 4 8 16   # a lent GPU (gpu-check.sh)
"""

import argparse
import json

import torch

from factordiff.ensemble import time_ensemble
from factordiff.hardware import device_name
from factordiff.presets import preset

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--preset", default="cpu")
p.add_argument("--device", default="cpu")
p.add_argument("--members", type=int, nargs="+", default=[1, 2, 4])
p.add_argument("--steps", type=int, default=10)
p.add_argument("--warmup", type=int, default=3)
p.add_argument("--threads", type=int, default=0, help="torch threads on a CPU (default: torch's)")
p.add_argument("overrides", nargs="*", help="config overrides, e.g. train.batch_size=64")
a = p.parse_args()
if a.threads:
    torch.set_num_threads(a.threads)
cfg = preset(a.preset, ["train.channels_last=false", "train.amp=none", "train.compile=false", *a.overrides])
info = {"machine": device_name(torch.device(a.device)), "preset": a.preset,
        "batch": cfg.train.batch_size, "threads": torch.get_num_threads()}
for row in time_ensemble(cfg, a.members, steps=a.steps, warmup=a.warmup, device=a.device):
    print(json.dumps(info | row), flush=True)
