"""Typed errors and the exit codes the CLI maps them to (RELIABILITY.md §2)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_CONFIG = 2  # bad config or usage
EXIT_NONFINITE = 3  # NaN/inf in the numerics
EXIT_CHECKPOINT = 4  # checkpoint unreadable or incompatible
EXIT_STORAGE = 5  # disk full, permission


class FactordiffError(Exception):
    """Base class: every error the lab raises on purpose."""

    exit_code = 1


class ConfigError(FactordiffError, ValueError):
    """A config field or CLI argument is invalid; raised before any work starts."""

    exit_code = EXIT_CONFIG

    def __init__(self, field: str, value: object, allowed: str, message: str | None = None):
        self.field, self.value, self.allowed, self.message = field, value, allowed, message
        super().__init__(message or f"{field}: must be {allowed} (got {value!r})")

    def __reduce__(self):  # picklable, so a sweep worker's error reaches the parent intact
        return type(self), (self.field, self.value, self.allowed, self.message)


class StorageError(FactordiffError, OSError):
    """Writing a file failed (disk full, permission); nothing half-written is left behind."""

    exit_code = EXIT_STORAGE


class RunLocked(FactordiffError):
    """Another process holds the run directory's lock (it is training or analysing that run)."""

    exit_code = EXIT_CONFIG


class CheckpointError(FactordiffError):
    """A checkpoint is unreadable, corrupt or belongs to a different config."""

    exit_code = EXIT_CHECKPOINT


class NonFiniteError(FactordiffError, FloatingPointError):
    """The loss became NaN or inf; the last good checkpoint is kept."""

    exit_code = EXIT_NONFINITE


class Preempted(FactordiffError):
    """SIGTERM / SIGINT arrived; a checkpoint was written at the step boundary. `signum`: the signal."""

    exit_code = 143

    def __init__(self, *args, signum: int | None = None):
        super().__init__(*args)
        self.signum = signum
