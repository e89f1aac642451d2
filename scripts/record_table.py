"""Print the README's table of recorded experiments from `factordiff reproduce` output folders.

    python scripts/record_table.py experiments/v2          # one row per experiment that has verdicts.json

Each row: the command, the wall time and machine (OUT/record.json), the seeds, and every verdict with its
statistic, value and controls (OUT/verdicts.json)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from factordiff.experiments import EXPERIMENTS
from factordiff.experiments.base import Verdict


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def row(name: str, out: Path) -> str | None:
    if not (out / "verdicts.json").exists():
        return None
    verdicts = [Verdict.from_dict(v) for v in json.loads((out / "verdicts.json").read_text())]
    rec = json.loads((out / "record.json").read_text()) if (out / "record.json").exists() else {}
    minutes = f"{rec['wall_s'] / 60:.1f}" if rec.get("wall_s") else "?"
    seeds = ", ".join(map(str, rec.get("seeds", []))) or "?"
    text = "<br>".join(f"**{v.outcome}**: {v.claim}: {v.statistic} = {v.show_value()}"
                       + (f" ({v.detail})" if v.detail else "")
                       + ("; " + ", ".join(f"{k} {json.dumps(c) if isinstance(c, dict) else c}"
                                           for k, c in v.controls.items()) if v.controls else "")
                       for v in verdicts)
    return f"| `{name}` | `factordiff reproduce {name}` | {minutes} | {seeds} | {cell(text)} |"


def main(root: str) -> None:
    print("| experiment | command | minutes | seeds | verdicts (statistic = value; detail; controls) |")
    print("|---|---|---|---|---|")
    for name in EXPERIMENTS:
        line = row(name, Path(root) / name)
        if line:
            print(line)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "experiments")
