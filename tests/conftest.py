import os

import pytest

from factordiff.config import RunConfig, apply_overrides

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(12345)


TINY = ["data.image_size=16", "data.increment=2", "model.base=8", "model.pe_dim=16", "model.attention=[layer4]",
        "model.bottleneck=light", "diffusion.timesteps=50", "diffusion.sampler=ddim", "diffusion.sample_steps=5",
        "train.batch_size=8", "train.snapshot_every=10", "train.eval_samples=8", "train.log_every=5",
        "train.ema_start=3", "train.ema_decay=0.9"]


def tiny(steps: int, *extra: str) -> RunConfig:
    return apply_overrides(RunConfig(), [*TINY, f"train.steps={steps}", *extra])
