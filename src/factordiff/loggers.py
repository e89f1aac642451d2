"""Where a run's metric rows go besides RUN/metrics.jsonl (always written): `train.logger=tensorboard` adds
TensorBoard scalars under RUN/tensorboard (`pip install 'factordiff[tensorboard]'`; view with
`tensorboard --logdir RUN/tensorboard`). A resumed run purges the events after its checkpoint, as the jsonl
is truncated there, so both show one history."""

from __future__ import annotations

from pathlib import Path

from .config import RunConfig
from .errors import ConfigError
from .io import append_jsonl

SCALARS = {"train": ("loss", "sec_per_step"),
           "eval": ("acc", "acc_x", "acc_y", "acc_ceiling", "sec")}


def check_logger(cfg: RunConfig) -> None:
    """Before any work: the chosen logger's package is importable."""
    if cfg.train.logger == "tensorboard":
        try:
            import tensorboard  # noqa: F401
        except ImportError as e:
            raise ConfigError("train.logger", "tensorboard", "installed with `pip install "
                              "'factordiff[tensorboard]'` (or train.logger=none)") from e


class MetricLog:
    """append(row): one metrics.jsonl row, and the same numbers to TensorBoard when asked for."""

    def __init__(self, cfg: RunConfig, metrics: Path, tb_dir: Path, start: int):
        self.metrics, self.writer = metrics, None
        if cfg.train.logger == "tensorboard":
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(tb_dir), purge_step=start + 1 if start else None)

    def append(self, row: dict) -> None:
        append_jsonl(self.metrics, row)
        if self.writer is None:
            return
        for key in SCALARS.get(row.get("kind"), ()):
            if isinstance(row.get(key), (int, float)):
                self.writer.add_scalar(f"{row['kind']}/{key}", row[key], row["step"])
        for k, v in (row.get("counts") or {}).items() if row.get("kind") == "eval" else ():
            self.writer.add_scalar(f"eval/bumps_{k}", v, row["step"])
        if row.get("kind") == "eval":
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def __enter__(self) -> MetricLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
