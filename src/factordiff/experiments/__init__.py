"""Named experiments, one module per paper figure (`registry` lists them); `reproduce` runs one:
sweep → table → measure → draw → judge → report. `factordiff reproduce NAME --scale cpu|paper`."""

from .base import INCONCLUSIVE, NOT_SUPPORTED, OUTCOMES, SUPPORTED, Experiment, Verdict
from .registry import EXPERIMENTS, MODULES, get, help_text, readme_table
from .reproduce import reproduce

__all__ = ["EXPERIMENTS", "INCONCLUSIVE", "MODULES", "NOT_SUPPORTED", "OUTCOMES", "SUPPORTED", "Experiment", "Verdict",
           "get", "help_text", "readme_table", "reproduce"]
