"""Typed errors and the exit codes the CLI maps them to (RELIABILITY.md §2)."""

from __future__ import annotations

import contextlib
import signal
import threading

EXIT_OK = 0
EXIT_CONFIG = 2  # bad config or usage
EXIT_NONFINITE = 3  # NaN/inf in the numerics
EXIT_CHECKPOINT = 4  # checkpoint unreadable or incompatible
EXIT_STORAGE = 5  # disk full, permission


def short_repr(value: object, limit: int = 300) -> str:
    """repr(value), bounded whatever the value (a YAML bomb's expansion, a megabyte string): nested containers
    are cut by reprlib per level, and the whole to `limit` characters."""
    import reprlib

    r = reprlib.Repr()
    r.maxstring, r.maxother, r.maxlist, r.maxtuple, r.maxdict, r.maxset, r.maxlevel = 120, 120, 8, 8, 8, 8, 3
    text = r.repr(value)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"


class FactordiffError(Exception):
    """Base class: every error the lab raises on purpose."""

    exit_code = 1


class ConfigError(FactordiffError, ValueError):
    """A config field or CLI argument is invalid; raised before any work starts."""

    exit_code = EXIT_CONFIG

    def __init__(self, field: str, value: object, allowed: str, message: str | None = None):
        self.field, self.value, self.allowed, self.message = field, value, allowed, message
        super().__init__(message or f"{field}: must be {allowed} (got {short_repr(value)})")

    def __reduce__(self):  # picklable, so a sweep worker's error reaches the parent intact
        return type(self), (self.field, self.value, self.allowed, self.message)


class StorageError(FactordiffError, OSError):
    """Writing a file failed (disk full, permission); nothing half-written is left behind."""

    exit_code = EXIT_STORAGE


class RunLocked(FactordiffError):
    """Another process holds the run directory's lock (it is training or analysing that run)."""

    exit_code = EXIT_CONFIG


class DamagedFileError(FactordiffError):
    """A derived file has a damaged line that is not a crash-cut last line: named with its line and how to
    rebuild it (never skipped silently)."""

    exit_code = 1


class CheckpointError(FactordiffError):
    """A checkpoint is unreadable, corrupt or belongs to a different config."""

    exit_code = EXIT_CHECKPOINT


class NonFiniteError(FactordiffError, FloatingPointError):
    """The loss became NaN or inf; the last good checkpoint is kept."""

    exit_code = EXIT_NONFINITE


class CodeChanged(FactordiffError):
    """A sweep worker found the package's code changed on disk since it started; it starts no run under it."""


class Preempted(FactordiffError):
    """SIGTERM / SIGINT arrived; a checkpoint was written at the step boundary. `signum`: the signal; `stage`:
    "training" (a checkpoint holds the progress), "analysis" (nothing kept; a rerun redoes it), "command" (a CLI
    command's own) or "sweep" (the sweep process's, which stops its workers)."""

    exit_code = 143

    def __init__(self, *args, signum: int | None = None, stage: str = "training"):
        super().__init__(*args)
        self.signum = signum
        self.stage = stage


@contextlib.contextmanager
def raise_on_signals(signals: tuple = (signal.SIGTERM, signal.SIGINT), where: str = "the analysis",
                     stage: str = "analysis"):
    """For work that keeps nothing half-done (the analysis: every file it writes is written whole, and a rerun
    recomputes it): a stop signal raises Preempted at once (Python runs the handler between bytecodes, so within
    the current library call: one network call, one UMAP or one persistence diagram), instead of a flag the
    work would have to poll."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    got: list[int] = []

    def stopped(signum) -> Preempted:
        return Preempted(f"stopped by signal {signum} during {where}; nothing half-written, rerun to redo it",
                         signum=signum, stage=stage)

    def handler(signum, _frame):
        got.append(signum)
        raise stopped(signum)

    old = {s: signal.signal(s, handler) for s in signals}
    try:
        yield
        if got:
            # the handler's exception was raised where Python prints and drops exceptions (an at-fork callback,
            # a __del__, a weakref callback) and the work ran on: the stop still ends it, late but not lost
            raise stopped(got[0])
    except Preempted:
        raise
    except Exception as e:
        # library code that catches what it calls may turn the handler's exception into its own (numpy's shape
        # discovery of a torch storage raised "ValueError: could not determine the shape …" in a sweep worker):
        # once a stop signal arrived, whatever ends the work is that stop
        if got:
            raise stopped(got[0]) from e
        raise
    finally:
        for s, h in old.items():
            signal.signal(s, h)
