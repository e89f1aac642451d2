import os
import tempfile

import pytest

from factordiff.config import RunConfig, apply_overrides

os.environ.setdefault("MPLBACKEND", "Agg")
# the `auto` performance probe's cache (tune.py): one per test session, never the user's own
os.environ["FACTORDIFF_CACHE_DIR"] = tempfile.mkdtemp(prefix="factordiff-tune-")


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False,
                     help="also run the tests marked slow (end-to-end subprocess runs; .ci/run runs them)")


def pytest_collection_modifyitems(config, items):
    """Tests marked slow run only with --runslow (the pattern of pytest's docs): the default suite stays fast."""
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow end-to-end test: run with --runslow (.ci/run does)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(12345)


TINY = ["data.image_size=16", "data.increment=2", "model.base=8", "model.pe_dim=16", "model.attention=[layer4]",
        "model.bottleneck=light", "diffusion.timesteps=50", "diffusion.sampler=ddim", "diffusion.sample_steps=5",
        "train.batch_size=8", "train.snapshot_every=10", "train.eval_samples=8", "train.log_every=5",
        "train.ema_start=3", "train.ema_decay=0.9",
        # fixed, so that the fault suite's bit-exact comparisons never hang on a timing (tests/test_tune.py tests auto)
        "train.channels_last=false", "train.amp=none", "train.compile=false"]


def tiny(steps: int, *extra: str) -> RunConfig:
    return apply_overrides(RunConfig(), [*TINY, f"train.steps={steps}", *extra])
