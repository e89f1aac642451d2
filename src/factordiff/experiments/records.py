"""Records: everything an experiment's verdicts and figures need, without any run directory, so that anyone can
re-judge it (`factordiff rejudge DIR`) on a machine that never trained it.

A record folder (an experiment's OUT after `reproduce`, or `records/NAME/` for a confirmatory recording) holds:
`spec.json` (the sweep as run), `table.jsonl.gz` (the aggregated per-snapshot rows), `measured.json.gz` (what the
experiment's `measure` computed from the runs), `verdicts.json` and `record.json` (calls, machine, wall time,
commit, versions, design version and hash, judge version, and whether it is confirmatory or exploratory).
The README's verdict table is generated from `records/*/` (`verdict_table`), a test keeps it in sync, and CI
re-judges every stored record."""

from __future__ import annotations

import gzip
import json
import math
import re
import shutil
from pathlib import Path

from ..errors import ConfigError
from ..io import atomic_path, atomic_write_json
from .base import MARK, Verdict

RECORDS = Path("records")
FILES = ("spec.json", "table.jsonl.gz", "measured.json.gz", "verdicts.json", "record.json")
MAX_BYTES = 8 * 1024 * 1024  # a record stays a few MB: anything larger is refused, naming the file


def _write_gz_json(path: Path, obj, lines: bool = False) -> None:
    with atomic_path(path) as tmp, gzip.open(tmp, "wt", encoding="utf-8") as f:
        if lines:
            for row in obj:
                f.write(json.dumps(row, sort_keys=True, default=str) + "\n")
        else:
            json.dump(obj, f, sort_keys=True)


def _read_gz_json(path: Path, lines: bool = False):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        if not lines:
            return json.load(f)
        out = []
        for line in f:
            try:
                out.append(json.loads(line))
            except ValueError:
                break  # a cut last line (a killed writer); never anything after it: files are written whole
        return out


def git_commit() -> str | None:
    import subprocess

    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10,
                              cwd=Path(__file__).resolve().parent, check=True).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def write_record(out: Path, exp, body: dict, rows: list[dict], measured: dict, kind: str = "exploratory",
                 reduced: str | None = None, commit: str | None = None) -> None:
    """The record files of one `reproduce` call in OUT (beside its runs): the spec, the table, the measurements,
    and the design and judge versions in record.json (verdicts.json and the calls are written by reproduce)."""
    from .design import design_hash, judge_version

    atomic_write_json(out / "spec.json", body)
    _write_gz_json(out / "table.jsonl.gz", rows, lines=True)
    _write_gz_json(out / "measured.json.gz", measured)
    rec_path = out / "record.json"
    rec = json.loads(rec_path.read_text()) if rec_path.exists() else {}
    rec |= {"kind": kind, "reduced": reduced, "judge_version": judge_version(exp), "commit": commit or git_commit()}
    if exp.design is not None:
        rec |= {"design_version": exp.design.version, "design_hash": design_hash(exp)}
    atomic_write_json(rec_path, rec)


def store(out: Path, name: str, root: Path = RECORDS) -> Path:
    """Copy OUT's record files into ROOT/NAME (whole files: temp, then rename); refuses a file over MAX_BYTES. A
    record of another design version already in ROOT/NAME is kept: moved to ROOT/NAME-vK first (K its version), so
    that each version's verdicts stay re-judgeable beside the newest."""
    dest = root / name
    old, new = _design_version(dest / "record.json"), _design_version(out / "record.json")
    if old is not None and old != new:
        keep = root / f"{name}-v{old}"
        if keep.exists():
            raise ConfigError("record", str(keep), f"a free folder for {name}'s design v{old} record")
        keep.mkdir(parents=True)
        for f in FILES:  # the record's own files; the runs/ folder belongs to the campaign under way
            if (dest / f).exists():
                (dest / f).rename(keep / f)
    dest.mkdir(parents=True, exist_ok=True)
    for f in FILES:
        src = out / f
        if not src.exists():
            raise ConfigError("record", str(src), "a finished reproduce call's record files")
        if src.stat().st_size > MAX_BYTES:
            raise ConfigError("record", f"{src} ({src.stat().st_size / 1e6:.1f} MB)",
                              f"at most {MAX_BYTES / 1e6:.0f} MB per file: measure less per run")
        with atomic_path(dest / f) as tmp:
            shutil.copyfile(src, tmp)
    return dest


def _design_version(path: Path):
    try:
        return json.loads(path.read_text()).get("design_version")
    except (OSError, ValueError):
        return None


def load(folder: Path) -> dict:
    """{'spec', 'rows', 'measured', 'verdicts', 'record'} of a record folder; a missing file is a ConfigError
    naming it."""
    folder = Path(folder)
    missing = [f for f in FILES if not (folder / f).exists()]
    if missing:
        raise ConfigError("rejudge", str(folder), f"a record folder with {', '.join(FILES)} (missing: "
                          f"{', '.join(missing)}); `factordiff reproduce` writes them")
    return {"spec": json.loads((folder / "spec.json").read_text()),
            "rows": _read_gz_json(folder / "table.jsonl.gz", lines=True),
            "measured": _read_gz_json(folder / "measured.json.gz"),
            "verdicts": json.loads((folder / "verdicts.json").read_text()),
            "record": json.loads((folder / "record.json").read_text())}


def _same(a, b, rel: float = 1e-6) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], rel) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y, rel) for x, y in zip(a, b))
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool):
        if math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=rel, abs_tol=1e-9)
    return a == b


def _decided(v: dict) -> dict:
    """What a verdict decided, for comparing a stored verdict with today's: its outcome, value and the numbers of
    its first call (the claim's own statistic). Wording (detail, controls) and added gates may change; these may
    not without a new design version."""
    c = ((v.get("decision") or {}).get("calls") or [{}])[0]
    return {"outcome": v.get("outcome"), "value": v.get("value"),
            "call": {k: c.get(k) for k in ("call", "mean", "lo", "hi", "n", "effect")}}


def rejudge(folder: Path, figures: bool = False) -> dict:
    """Recompute a record's verdicts from its stored table and measurements alone (no run directory), with the
    reduced-budget flag it was judged under, and compare what they decided (`_decided`) with its verdicts.json.
    Returns {'experiment', 'verdicts' (today's), 'same' (bool), 'diffs' (['claim: stored → now'])};
    `figures`: redraw its figures into FOLDER/figures too."""
    from .base import flag_reduced
    from .registry import get

    folder = Path(folder)
    r = load(folder)
    exp = get(r["record"]["experiment"])
    judge = exp.judge_for(r["record"].get("design_version"))  # the rule its design version froze
    verdicts: list[Verdict] = flag_reduced(judge(r["rows"], r["measured"]), r["record"].get("reduced"))
    now = json.loads(json.dumps([v.to_dict() for v in verdicts], default=str))
    diffs = []
    for i in range(max(len(now), len(r["verdicts"]))):
        a = r["verdicts"][i] if i < len(r["verdicts"]) else None
        b = now[i] if i < len(now) else None
        if a is None or b is None or not _same(_decided(a), _decided(b)):
            claim = (a or b)["claim"]
            what = f"{a['outcome'] if a else '–'} → {b['outcome'] if b else '–'}"
            if a and b and a["outcome"] == b["outcome"]:
                da, db = _decided(a), _decided(b)
                changed = [k for k in db if not _same(da.get(k), db[k])]
                what += f" (same outcome; changed: {', '.join(changed)})"
            diffs.append(f"{claim}: {what}")
    out = {"experiment": exp.name, "verdicts": verdicts, "same": not diffs, "diffs": diffs}
    if figures:
        scale = r["record"].get("scale", "cpu")
        out["figures"] = [str(p) for p in exp.draw(r["rows"], r["measured"], folder / "figures",
                                                      f"{exp.figure} ({scale} scale, from the record)")]
    return out


def stored(root: Path = RECORDS) -> list[Path]:
    """The record folders under ROOT (each with a record.json)."""
    return sorted(p.parent for p in Path(root).glob("*/record.json"))


def update_readme(readme: Path = Path("README.md"), root: Path = RECORDS) -> bool:
    """Regenerate README's generated blocks (the verdict table from ROOT's records, the experiment table from
    the registry) in place; True when anything changed."""
    from ..io import atomic_write_text
    from .registry import readme_table

    text = Path(readme).read_text()
    new = text
    page = Path(readme).parent / VERDICTS_PAGE
    full = ("# Every verdict\n\nGenerated from records/ (`python -c 'from factordiff.experiments.records import "
            "update_readme; update_readme()'`); the README shows one row per experiment.\n\n<!-- verdicts -->\n"
            + verdict_table(root, base="../../") + "\n<!-- /verdicts -->\n")
    if not page.is_file() or page.read_text() != full:
        page.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(page, full)
        changed = True
    else:
        changed = False
    for tag, body in (("verdicts", summary_table(root)), ("experiments", readme_table())):
        start, end = f"<!-- {tag} -->\n", f"\n<!-- /{tag} -->"
        if start not in new or end not in new:
            raise ConfigError("README", str(readme), f"<!-- {tag} --> … <!-- /{tag} --> markers")
        head, rest = new.split(start, 1)
        new = head + start + body + end + rest.split(end, 1)[1]
    if new != text:
        atomic_write_text(readme, new)
    return changed or new != text


def verdict_table(root: Path = RECORDS, base: str = "") -> str:
    """The README's verdict table: one row per verdict of every current record (a record superseded by a newer
    design version's, kept as NAME-vK, is listed under the table, not in it), confirmatory first, with its interval,
    level and effect size, and the Holm-adjusted p over the confirmatory family (every verdict shown whose decision
    has a p); experiments with no record say so."""
    from .registry import EXPERIMENTS
    from .stats import holm

    rows, family = [], {}
    have = set()
    folders = stored(root)
    names = {f.name for f in folders}
    superseded = [f for f in folders if re.fullmatch(r".+-v\d+", f.name) and f.name.rsplit("-v", 1)[0] in names]
    for folder in folders:
        if folder in superseded:
            continue
        r = json.loads((folder / "record.json").read_text())
        verdicts = json.loads((folder / "verdicts.json").read_text())
        kind = r.get("kind", "exploratory")
        have.add(r["experiment"])
        for i, v in enumerate(verdicts):
            calls = (v.get("decision") or {}).get("calls") or []
            c = calls[0] if calls else {}
            key = f"{folder.name}#{i}"
            if kind == "confirmatory" and isinstance(c.get("p"), int | float):
                family[key] = c["p"]
            rows.append((kind != "confirmatory", r["experiment"], key, kind, r.get("design_version"), v, c))
    adjusted = holm(family)
    lines = ["| experiment | claim | verdict | statistic: mean [interval] vs effect | Holm p | record |",
             "|---|---|---|---|---|---|"]
    for _, name, key, kind, version, v, c in sorted(rows, key=lambda x: x[:3]):
        if c.get("lo") is not None and isinstance(c.get("lo"), int | float) and math.isfinite(c["lo"]):
            stat = (f"{c['rule']}: {c['mean']:.2f} [{c['lo']:.2f}, {c['hi']:.2f}] ({c['level']:.0%}, {c['n']} "
                    f"seeds) vs {c['effect']:g}")
        else:
            value = v["value"]
            if isinstance(value, str):  # readings without details ("1,2,1; 1,1,0"); the record keeps them
                value = re.sub(r"\s*\([^()]*\)", "", value) or "–"
            stat = f"{v['statistic']} = {f'{value:.3g}' if isinstance(value, float) else value}"
        p = adjusted.get(key, float("nan"))
        label = f"{kind}, design v{version}" if version else kind
        folder_name = key.split("#")[0]
        page = Path(root).parent / "docs" / "results" / f"{folder_name}.md"  # the record's results page, if written
        read = f" · [reading]({base}docs/results/{folder_name}.md)" if page.is_file() else ""
        lines.append(f"| `{name}` | {v['claim']} | {MARK[v['outcome']]} {v['outcome']} | {stat.replace('|', '∣')} | "
                     f"{'–' if not math.isfinite(p) else f'{p:.3g}'} | [{label}]({base}records/{folder_name}/){read} |")
    for name in EXPERIMENTS:
        if name not in have:
            lines.append(f"| `{name}` | {EXPERIMENTS[name].claim} | not yet recorded under these rules | – | – | "
                         f"`factordiff reproduce {name} --confirm` |")
    if superseded:
        lines += ["", "Records of earlier design versions, superseded above and still re-judged by CI: " + ", ".join(
            f"[{f.name}]({base}records/{f.name}/)" for f in superseded) + "."]
    return "\n".join(lines)


VERDICTS_PAGE = "docs/results/verdicts.md"  # every verdict, generated beside the README (links from two levels down)


def summary_table(root: Path = RECORDS) -> str:
    """The README's results at a glance: one row per experiment, its current record's verdicts counted by outcome,
    with the full table (every verdict, interval and Holm p) on VERDICTS_PAGE."""
    from .registry import EXPERIMENTS

    folders = {f.name: f for f in stored(root)}
    lines = ["| experiment | claim | verdicts | record |", "|---|---|---|---|"]
    for name, exp in EXPERIMENTS.items():
        if name not in folders:
            lines.append(f"| `{name}` | {exp.claim} | not yet recorded under these rules | "
                         f"`factordiff reproduce {name} --confirm` |")
            continue
        r = json.loads((folders[name] / "record.json").read_text())
        outcomes = [v["outcome"] for v in json.loads((folders[name] / "verdicts.json").read_text())]
        counts = ", ".join(f"{MARK[o]} {outcomes.count(o)} {o}" for o in dict.fromkeys(outcomes))
        page = Path(root).parent / "docs" / "results" / f"{name}.md"
        read = f" · [reading](docs/results/{name}.md)" if page.is_file() else ""
        lines.append(f"| `{name}` | {exp.claim} | {counts} | [{r.get('kind', 'exploratory')}, design "
                     f"v{r.get('design_version')}](records/{name}/){read} |")
    return "\n".join(lines + ["", f"Every verdict with its statistic, interval and Holm-adjusted p: "
                                   f"[{VERDICTS_PAGE}]({VERDICTS_PAGE})."])
