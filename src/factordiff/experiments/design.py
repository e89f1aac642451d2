"""Frozen confirmatory designs (docs/decisions.md): what `factordiff reproduce NAME --confirm` runs, fixed before
the data it is judged on. A design is the experiment's cpu sweep (grid, budget, analysis), the fresh seeds it
runs on, the statistic, effect sizes and level its judge holds the claims to, and every numeric constant of the
experiment's module. Its hash is kept per version in `designs.lock.json`; a test fails when a frozen version's
hash changes (changing a frozen design means a new version, and the old records stay, labelled)."""

from __future__ import annotations

import hashlib
import inspect
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType

from ..errors import ConfigError

LOCK = Path(__file__).with_name("designs.lock.json")
# each frozen version's resolved run settings (presets, overrides and every config default, as dotted keys): the
# hash covers the spec as written, which names its presets; this covers what they and the defaults set
SETTINGS = Path(__file__).with_name("designs.settings.json")
# exploration used seeds 0–5; confirmation draws from here on, so no confirmatory seed was ever looked at
CONFIRM_SEED_BASE = 100


@dataclass(frozen=True)
class Design:
    """An experiment's confirmatory design. `seeds`: the fresh seeds it runs on (≥ 3; 5 where the experiment is
    cheap); `statistic` and `effect`: the claims' per-seed statistics and the sizes they are held to, in words
    (the numbers themselves are the module's constants, which the hash covers); `level`: the interval's level;
    `budget`: how long each run trains (the cpu spec's steps, or a stopping rule); `why`: what the design was
    chosen from (exploratory records, so a reader knows what it saw before freezing)."""

    version: int
    seeds: tuple[int, ...]
    statistic: str
    effect: str
    budget: str
    why: str = ""
    level: float = 0.95

    def __post_init__(self) -> None:
        if len(self.seeds) < 3:
            raise ValueError(f"Design.seeds: at least 3 (got {len(self.seeds)})")
        if min(self.seeds) < CONFIRM_SEED_BASE:
            raise ValueError(f"Design.seeds: fresh seeds ≥ {CONFIRM_SEED_BASE} (0–5 were used in exploration)")


def confirm_seeds(n: int) -> tuple[int, ...]:
    return tuple(range(CONFIRM_SEED_BASE, CONFIRM_SEED_BASE + n))


def _constants(module: ModuleType) -> dict:
    """The module's upper-case constants that can change a verdict: numbers, and short strings (column names)."""
    out = {}
    for k, v in sorted(vars(module).items()):
        if not k.isupper() or k in ("SPECS", "FIGURE_CAPTIONS", "EXPERIMENT", "DESIGN"):
            continue
        if isinstance(v, bool | int | float) or (isinstance(v, str) and len(v) <= 60 and " " not in v):
            out[k] = v
        elif isinstance(v, tuple) and all(isinstance(x, int | float | str) for x in v):
            out[k] = list(v)
    return out


def design_body(exp) -> dict:
    """What the hash covers: the design, the cpu sweep with the design's seeds, the module's constants."""
    module = inspect.getmodule(exp.judge)
    spec = {k: v for k, v in exp.specs["cpu"].items() if k != "seeds"}
    return {"experiment": exp.name, "design": asdict(exp.design), "spec": spec,
            "constants": _constants(module) if module else {}}


def design_hash(exp) -> str:
    blob = json.dumps(design_body(exp), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def judge_version(exp) -> str:
    """A hash of the judge's code: its module, the experiment modules it borrows from (a judge or a claim imported
    from another experiment) and the decision rules (`stats`). Recorded beside a verdict, so a reader knows which
    rules produced it; `rejudge` says when today's rules no longer give the stored verdict."""
    from . import base, claims, stats

    module = inspect.getmodule(exp.judge)
    lent = {inspect.getmodule(v) for v in vars(module).values()} if module else set()
    lent = sorted((m for m in lent if m and m.__name__.startswith(__package__ + ".") and m is not module
                   and m not in (base, claims, stats)), key=lambda m: m.__name__)
    src = "".join(inspect.getsource(m) for m in (module, *lent, claims, stats, base) if m)
    return hashlib.sha256(src.encode()).hexdigest()[:16]


def design_settings(exp) -> dict:
    """The settings every run of the design's cpu sweep trains with, as {dotted.key: value}: its presets, then its
    overrides, over every config default; the grid's own keys and the seed (which vary by run) left out."""
    from ..config import RunConfig
    from ..dictcfg import replace_path, to_dict
    from ..presets import preset

    spec = exp.specs["cpu"]
    cfg = preset(list(spec["presets"])) if spec.get("presets") else RunConfig()
    cfg = replace_path(cfg, spec.get("overrides", {}))
    varying = {k for g in spec.get("grid", {}) for k in g.split(",")} | {"seed"}

    def flat(d: dict, prefix: str = "") -> dict:
        out = {}
        for k, v in d.items():
            out |= flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v}
        return out

    return {k: v for k, v in flat(to_dict(cfg)).items() if k not in varying}


def settings_drift(frozen: dict, now: dict) -> list[str]:
    """What a frozen version's runs would now train with differently: 'key: frozen → now' for every setting whose
    value changed or that no longer exists. A setting added since (a new option) is not drift: its default is the
    behaviour the frozen runs had, which a test of that option shows."""
    return [f"{k}: {v!r} → {now[k]!r}" if k in now else f"{k}: {v!r} → (no longer a setting)"
            for k, v in sorted(frozen.items()) if k not in now or now[k] != v]


def read_lock(path: Path = LOCK) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def check_frozen(experiments: dict, lock: dict | None = None, settings: dict | None = None) -> list[str]:
    """Problems with the frozen designs: an experiment without a design, a version never frozen, a frozen version
    whose hash changed (a design changed without a new version), or one whose runs would now train with other
    settings than when it was frozen (a preset or a config default changed under it). [] when every design is as
    frozen."""
    lock = read_lock() if lock is None else lock
    settings = read_lock(SETTINGS) if settings is None else settings
    out = []
    for name, exp in experiments.items():
        if exp.design is None:
            out.append(f"{name}: no confirmatory design (DESIGN in its module)")
            continue
        frozen = lock.get(name, {}).get(str(exp.design.version))
        h = design_hash(exp)
        if frozen is None:
            out.append(f"{name}: design v{exp.design.version} is not frozen yet: `factordiff designs --freeze`")
        elif frozen != h:
            out.append(f"{name}: design v{exp.design.version} changed since it was frozen ({frozen} → {h}); a "
                       f"changed design needs a new version (DESIGN.version = {exp.design.version + 1}), and "
                       "its old records stay, labelled with the old one")
        else:
            drift = settings_drift(settings.get(name, {}).get(str(exp.design.version), {}), design_settings(exp))
            if drift:
                out.append(f"{name}: design v{exp.design.version}'s runs would train with other settings than when "
                           f"it was frozen ({'; '.join(drift[:5])}{' …' if len(drift) > 5 else ''}): a preset or a "
                           "config default changed under a frozen design; restore it, or give the experiment a new "
                           "design version that sets what it needs in its own overrides")
    return out


def freeze(experiments: dict, path: Path = LOCK, settings_path: Path | None = None) -> list[str]:
    """Add every design version not yet in the lock file, with its resolved settings beside it (never overwrites
    a frozen one: that is refused, naming it; a frozen version without stored settings gets today's, which its
    unchanged hash vouches for only as far as the presets and defaults did not change since). Returns what was
    frozen."""
    from ..io import atomic_write_json

    settings_path = path.with_name(SETTINGS.name) if settings_path is None else settings_path
    lock, settings = read_lock(path), read_lock(settings_path)
    changed = [p for p in check_frozen(experiments, lock, settings)
               if "changed since it was frozen" in p or "other settings" in p]
    if changed:
        raise ConfigError("DESIGN.version", "; ".join(changed), "a new version for a changed design")
    added, stored = [], False
    for name, exp in experiments.items():
        if exp.design is None:
            continue
        v = str(exp.design.version)
        if v not in lock.get(name, {}):
            lock.setdefault(name, {})[v] = design_hash(exp)
            added.append(f"{name} v{v}")
        if v not in settings.get(name, {}):
            settings.setdefault(name, {})[v] = design_settings(exp)
            stored = True
    if added:
        atomic_write_json(path, {k: lock[k] for k in sorted(lock)})
    if stored:
        atomic_write_json(settings_path, {k: settings[k] for k in sorted(settings)})
    return added
