"""What an experiment is (`Experiment`), what it concludes (`Verdict`), and the pure helpers its judge uses:
aggregated table rows in, numbers out."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..table import by_run  # noqa: F401 - part of the helpers experiments use

SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "supported", "not supported", "inconclusive"
OUTCOMES = (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE)
MARK = {SUPPORTED: "✔", NOT_SUPPORTED: "✘", INCONCLUSIVE: "?"}
CPU_NOTE = ("cpu scale: the cpu preset (P1's pixels on a cropped canvas: N = 16, σ = 1, d = 1 where the grid "
            "does not set them, tolerance 1 px), few grid points")
INFERRED = "[INFERRED] definitions: docs/definitions.md"


@dataclass(frozen=True)
class Verdict:
    """One claim judged from the runs: the statistic and its value, the outcome, how it was decided, and the
    values it was compared with (ceilings, baselines, controls) by name."""

    claim: str
    statistic: str
    value: Any
    outcome: str
    detail: str = ""
    controls: dict[str, Any] = field(default_factory=dict)
    decision: dict[str, Any] = field(default_factory=dict)  # the rule's record: each call's interval, level,
    # effect size, p and seeds needed, and the seeds left out by the learned gate (`stats.decision`)

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"Verdict.outcome: one of {OUTCOMES} (got {self.outcome!r})")

    @property
    def supported(self) -> bool:
        return self.outcome == SUPPORTED

    def show_value(self) -> str:
        return show(self.value)

    def line(self) -> str:
        """The one-line form for logs: `[supported] claim: statistic = value (detail; controls)`."""
        extra = "; ".join(s for s in (self.detail, ", ".join(f"{k} {show(v)}" for k, v in self.controls.items()))
                          if s)
        return f"[{self.outcome}] {self.claim}: {self.statistic} = {self.show_value()}" + (f" ({extra})" if extra
                                                                                          else "")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Verdict:
        return cls(**{k: d[k] for k in ("claim", "statistic", "value", "outcome", "detail", "controls",
                                                  "decision") if k in d})


def flag_reduced(verdicts: list[Verdict], cut: str | None) -> list[Verdict]:
    """With a reduced budget a 'not supported' is not a finding (the full budget might have said supported):
    inconclusive, with the reason; other outcomes carry the note."""
    if not cut:
        return verdicts
    out = []
    for v in verdicts:
        d = v.to_dict()
        d["detail"] = f"reduced budget ({cut})" + (f"; {v.detail}" if v.detail else "")
        if v.outcome == NOT_SUPPORTED:
            d["outcome"] = INCONCLUSIVE
        out.append(Verdict.from_dict(d))
    return out


def show(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "nan" if math.isnan(v) else "never" if math.isinf(v) else f"{v:.3f}"
    return str(v)


@dataclass(frozen=True)
class Experiment:
    """One paper figure: sweep specs at `cpu` and `paper` scale, an optional `measure(table, log) → measured`
    (computed once, cached in the experiment's folder), `draw(table, measured, out_dir, title) → [paths]` and
    `judge(table, measured) → [Verdict]`."""

    name: str
    figure: str
    claim: str
    specs: dict[str, dict]  # scale → sweep spec (without its name)
    draw: Callable
    judge: Callable
    measure: Callable | None = None
    sweep_of: str | None = None  # read its runs from that experiment's sweep (OUT/../NAME-SCALE) when every run
    # this experiment's spec needs is done there with the same config; otherwise train them in OUT
    doc: str = ""  # the module's docstring: claim, paper figure, command, measured cpu time
    captions: dict[str, str] = field(default_factory=dict)  # figure file stem (or "stem_" prefix) → caption
    design: Any = None  # its frozen confirmatory design (design.Design): what `reproduce NAME --confirm` runs
    measure_by_run: bool = False  # measure(rows) is the union of measure(one run's rows) over the runs, so a
    # campaign can store each run's part as it finishes (campaign.py) and judge runs trained on other machines
    past_judges: dict = field(default_factory=dict)  # design version → the judge that version froze, kept when a
    # later version changed a rule, so that a record of the old version is re-judged by the rule it was run under

    def judge_for(self, design_version: int | None) -> Callable:
        """The judge of a record: the one its design version froze (`past_judges`), else today's."""
        return self.past_judges.get(design_version, self.judge)

    def caption(self, path: str | Path) -> str:
        """What one of this experiment's figures shows and how to read it (its report caption)."""
        stem = Path(path).stem
        for k, text in self.captions.items():
            if stem == k or (k.endswith("_") and stem.startswith(k)):
                return text
        raise KeyError(f"{self.name}: no caption for the figure {stem!r}; add one to its `captions`")


def spec(cpu: dict, paper: dict, cpu_overrides: dict | None = None) -> dict[str, dict]:
    """The two scales of an experiment's sweep: `cpu` (the cpu preset) and `paper`, both with three seeds
    (MIN_SEEDS: fewer make every verdict inconclusive)."""
    cpu, paper = dict(cpu), dict(paper)
    out_cpu = {"presets": ["cpu", *cpu.pop("presets", [])], "seeds": [0, 1, 2], **cpu}
    if cpu_overrides:
        out_cpu["overrides"] = {**cpu_overrides, **cpu.get("overrides", {})}
    return {"cpu": out_cpu, "paper": {"presets": ["paper", *paper.pop("presets", [])], "seeds": [0, 1, 2], **paper}}


# ---- table helpers ----------------------------------------------------------------------------------------

def key(rows: list[dict], col: str):
    """A run's value of a constant column (a config key): its first row's."""
    return rows[0].get(col) if rows else None


def run_dir(rows: list[dict], name: str) -> Path:
    """A run's directory, from the table's run_dir column (the runs may live in another experiment's sweep)."""
    return Path(next(r["run_dir"] for r in rows if r["run"] == name))


def onset(run_rows: list[dict], phase: str = "C") -> float:
    """The first step from which the run stays in `phase` (or later); inf when it never gets there."""
    order = {"A": 0, "B": 1, "C": 2}
    ranks = [order.get(r.get("phase") or "A", 0) for r in run_rows]
    for i in range(len(ranks)):
        if all(x >= order[phase] for x in ranks[i:]):
            return float(run_rows[i]["step"])
    return float("inf")


def first_reached(run_rows: list[dict], col: str = "acc", level: float = 0.5, of: str | None = "acc_ceiling") -> float:
    """The first step at which `col` reaches `level` × the row's `of` column (the ground-truth ceiling, when
    the row has it; `of=None`: `level` itself); inf if never: the learning speed of a run."""
    for r in run_rows:
        ref = r.get(of) if of else None
        need = level * ref if isinstance(ref, int | float) and math.isfinite(ref) else level
        if r.get(col) is not None and r[col] >= need:
            return float(r["step"])
    return float("inf")


def spearman(a, b) -> float:
    from scipy.stats import spearmanr

    a, b = np.asarray(a, float), np.asarray(b, float)
    finite_max = np.nanmax(np.where(np.isfinite(b), b, np.nan)) if np.isfinite(b).any() else 0.0
    b = np.where(np.isinf(b), finite_max + 1, b)  # "never" ranks after every finite onset
    if len(a) < 3 or np.all(a == a[0]) or np.all(b == b[0]):
        return float("nan")
    return float(spearmanr(a, b).statistic)


def pearson(a, b) -> float:
    a, b = (np.asarray([np.nan if v is None else v for v in x], float) for x in (a, b))
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or a[ok].std() == 0 or b[ok].std() == 0:
        return float("nan")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def final(rows: list[dict], col: str, share: float = 1 / 3) -> float:
    """Mean of `col` over the snapshots in the last third of a run's training: the steps after (1 − share) × its
    last step (one run's rows, sorted by step; the last row alone when none is). On snapshots evenly spaced from
    step 0 these are its last round(n × share) rows; sparser snapshots before that window
    (`train.early_snapshot_every`) leave it as it is."""
    end = int(rows[-1].get("step", 0)) if rows else 0
    tail = [r for r in rows if int(r.get("step", 0)) > (1 - share) * end] or rows[-1:]
    vals = [r[col] for r in tail if r.get(col) is not None]
    return float(np.mean(vals)) if vals else float("nan")


def last(rows: list[dict]) -> dict:
    return rows[-1] if rows else {}


def seed_mean(rows: list[dict], group: Callable[[list[dict]], Hashable], col: str) -> dict:
    """{group(run): `final(col)` averaged over the runs (seeds) that share that group}; runs whose value is
    missing are left out of the mean (a group whose runs all lack it maps to nan)."""
    per: dict = {}
    for rs in by_run(rows).values():
        per.setdefault(group(rs), []).append(final(rs, col))
    return {k: float(np.nanmean(v)) if np.isfinite(v).any() else float("nan") for k, v in per.items()}


CURVES_CAPTION = ("One column per run (its name gives the grid point and seed). Top: accuracy over training "
                  "steps by P1's criterion (one bump, within the tolerance of its label), overall and split (x / y, "
                  "or ID / OOD) where the experiment splits it, on the phase bands (A red, B yellow, C green). "
                  "Bottom (empty where the experiment does not analyse its runs: its verdicts read accuracies "
                  "only): R² of x and of y read from a UMAP of layer 4 (P1's ordered-manifold test; r2_x, r2_y) "
                  "and, where analysed, of its image-driven part (r2_image_x, r2_image_y: the layer minus its "
                  "label-only response, which the verdicts read; the layer's own R² is often high from the first "
                  "snapshots, when the label code alone is ordered).")


def draw_curves(rows: list[dict], measured: dict, out: Path, title: str) -> list[Path]:
    """Accuracy and R² curves, one column per run (P1 Fig 5, 9): the `draw` of experiments without a figure of
    their own."""
    from .. import figures

    return [figures.save(figures.sweep_curves(by_run(rows), title), out, "curves")]


def finite(*values) -> bool:
    return all(v is not None and isinstance(v, int | float) and math.isfinite(v) for v in values)
