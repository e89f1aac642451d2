"""Field checks shared by every config class and by the commands' arguments: each raises ConfigError naming
the field, the value and what is allowed."""

from __future__ import annotations

import math
from typing import Any

from .errors import ConfigError


def check_number(name: str, value: Any, lo: float | None = None, hi: float | None = None, *,
                 lo_open: bool = False, hi_open: bool = False, integer: bool = False) -> None:
    """Raise ConfigError unless `value` is a finite number (an int when `integer`) in the given interval."""
    kind = "an integer" if integer else "a finite number"
    lo_s = "" if lo is None else f"{'>' if lo_open else '>='} {lo:g}"
    hi_s = "" if hi is None else f"{'<' if hi_open else '<='} {hi:g}"
    allowed = " ".join(s for s in (kind, lo_s, "and" if lo_s and hi_s else "", hi_s) if s)
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or not math.isfinite(value):
        raise ConfigError(name, value, allowed)
    if lo is not None and (value < lo or (lo_open and value == lo)):
        raise ConfigError(name, value, allowed)
    if hi is not None and (value > hi or (hi_open and value == hi)):
        raise ConfigError(name, value, allowed)


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(name, value, "one of " + ", ".join(repr(c) for c in choices))


def check_interval(name: str, value: Any, lo: float, hi: float) -> None:
    """A closed interval (a, b) with lo <= a < b <= hi."""
    allowed = f"an interval [a, b] with {lo:g} <= a < b <= {hi:g}"
    if not (isinstance(value, tuple) and len(value) == 2):
        raise ConfigError(name, value, allowed)
    for v in value:
        check_number(name, v)
    if not (lo <= value[0] < value[1] <= hi):
        raise ConfigError(name, list(value), allowed)
