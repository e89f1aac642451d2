"""What a record's verdicts would be had its runs taken a snapshot only every E steps (and at the last): each
claim's first call (its own statistic: mean and interval over seeds) from the stored table as it is and from the
table thinned to those snapshots, judged by the rule the record's design version froze. The question it answers
is issue 45's "snapshots as cheap as their use": which experiments read only their final snapshots (so the ones in
between cost sampling and buy nothing the verdict reads), and how far thinning moves each statistic against its
own interval. Thinning the table is exact for the question: training draws its batches from (seed, step) alone, so
a run with fewer snapshots trains the same network and samples the kept snapshots with the same noise.

    python scripts/thin-snapshots.py 500 records/p2-composition records/p1-holes
    python scripts/thin-snapshots.py 500 records/*          # every record (the curve readers move most)
"""

import sys
from pathlib import Path

from factordiff.experiments.records import _decided, load
from factordiff.experiments.registry import get


def thinned(rows: list[dict], every: int) -> list[dict]:
    last = {}
    for r in rows:
        last[r["run"]] = max(last.get(r["run"], 0), int(r.get("step", 0)))
    return [r for r in rows if int(r.get("step", 0)) % every == 0 or int(r.get("step", 0)) == last[r["run"]]]


def fmt(d: dict) -> str:
    c = d["call"]
    if c.get("mean") is None:
        return f"{d['outcome']} ({d['value']})"
    return f"{d['outcome']}: {c['mean']:.3g} [{c['lo']:.3g}, {c['hi']:.3g}] n={c['n']}"


def main() -> None:
    every, folders = int(sys.argv[1]), sys.argv[2:]
    for folder in folders:
        r = load(Path(folder))
        exp = get(r["record"]["experiment"])
        judge = exp.judge_for(r["record"].get("design_version"))
        rows = r["rows"]
        thin = thinned(rows, every)
        steps = sorted({int(x.get("step", 0)) for x in rows})
        print(f"== {folder}: {len(rows)} rows, snapshots every {steps[1] - steps[0] if len(steps) > 1 else '-'} "
              f"steps → {len(thin)} rows every {every}")
        for a, b in zip(judge(rows, r["measured"]), judge(thin, r["measured"])):
            da, db = _decided(a.to_dict()), _decided(b.to_dict())
            mark = "same" if da == db else ("moved" if da["outcome"] == db["outcome"] else "CHANGED")
            print(f"  [{mark}] {a.claim[:90]}\n      all: {fmt(da)}\n      thin: {fmt(db)}")


if __name__ == "__main__":
    main()
