"""The `factordiff` commands about records, designs, configs and finished runs (`rejudge`, `designs`, `config
show`, `config restore`, `compare`): argv in, one library call, lines out. Split from cli.py, which builds the
parser and calls these."""

from __future__ import annotations

import sys
from pathlib import Path

from .helptext import EXAMPLES


def cmd_rejudge(args) -> int:
    from .experiments.records import rejudge

    changed = 0
    for folder in args.folders:
        res = rejudge(folder, figures=args.figures)
        for v in res["verdicts"]:
            print(f"{folder}: {v.line()}")
        if res["same"]:
            print(f"{folder}: {res['experiment']}: the stored verdicts follow from the stored data")
        else:
            changed += 1
            for d in res["diffs"]:
                print(f"{folder}: CHANGED {d}", file=sys.stderr)
        for p in res.get("figures", []):
            print(f"{folder}: drew {p}")
    return 1 if changed else 0


def cmd_designs(args) -> int:
    from .experiments import EXPERIMENTS
    from .experiments.design import check_frozen, design_hash, freeze

    if args.freeze:
        added = freeze(EXPERIMENTS)
        print("froze " + ", ".join(added) if added else "every design is frozen already")
    problems = check_frozen(EXPERIMENTS)
    for name, exp in EXPERIMENTS.items():
        d = exp.design
        state = next((p.split(": ", 1)[1] for p in problems if p.startswith(f"{name}: ")), "frozen")
        print(f"{name:<17} v{d.version}  seeds {d.seeds[0]}–{d.seeds[-1]} ({len(d.seeds)})  {design_hash(exp)}  "
              f"{state}")
    return 1 if problems else 0


def cmd_config_restore(args) -> int:
    from .rundir import restore_config

    print(f"wrote {restore_config(args.run_dir)} from the config its newest checkpoint records")
    return 0


def add_record_commands(sub, fmt) -> None:
    p = sub.add_parser("rejudge", help="recompute a record's verdicts from its stored data alone; exit 1 if they "
                       "changed", epilog=EXAMPLES["rejudge"], formatter_class=fmt)
    p.add_argument("folders", nargs="+", type=Path, metavar="RECORD", help="records/NAME or a reproduce OUT")
    p.add_argument("--figures", action="store_true", help="also redraw its figures into RECORD/figures")
    p.set_defaults(func=cmd_rejudge)

    p = sub.add_parser("designs", help="the frozen confirmatory designs: version, seeds, hash, state",
                       epilog=EXAMPLES["designs"], formatter_class=fmt)
    p.add_argument("--freeze", action="store_true", help="freeze every design version not frozen yet")
    p.set_defaults(func=cmd_designs)

    p = sub.add_parser("compare", help="runs side by side: a table of their summaries and their accuracy curves",
                       epilog=EXAMPLES["compare"], formatter_class=fmt)
    p.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="run directories (train, demo or sweep runs)")
    p.add_argument("--out", type=Path, default=None,
                   help="also write OUT/compare.csv and OUT/compare.png (default: print the table only)")
    p.set_defaults(func=cmd_compare)


def cmd_compare(args) -> int:
    from .api import compare
    from .io import atomic_write_text

    table, fig = compare(args.runs, out=None if args.out is None else args.out / "compare.png")
    print(table.to_string(index=False))
    if args.out is not None:
        atomic_write_text(args.out / "compare.csv", table.to_csv(index=False))
        print(f"wrote {args.out / 'compare.csv'} and {args.out / 'compare.png'}")
    return 0



def cmd_config_show(args) -> int:
    from .config import to_yaml
    from .presets import resolve_run_config

    sys.stdout.write(to_yaml(resolve_run_config(args.items, args.preset)))
    return 0


def cmd_config_presets(args) -> int:
    from .presets import PRESETS

    width = max(map(len, PRESETS))
    for name, fields in PRESETS.items():
        shown = ", ".join(f"{k}={v}" for k, v in fields.items()) or "(the defaults: P1's bumps)"
        print(f"{name:<{width}}  {shown}")
    return 0


def add_config_commands(sub, fmt, add_config_args) -> None:
    """`config show` (the resolved config as YAML), `config presets` (every preset and the fields it sets) and
    `config restore` (a run's config from its checkpoint)."""
    cfg = sub.add_parser("config", help="configs and presets").add_subparsers(dest="config_command", required=True)
    p = cfg.add_parser("show", help="print the resolved config as YAML", epilog=EXAMPLES["config"],
                       formatter_class=fmt)
    add_config_args(p)
    p.set_defaults(func=cmd_config_show)
    p = cfg.add_parser("presets", help="list every preset and the fields it sets")
    p.set_defaults(func=cmd_config_presets)
    p = cfg.add_parser("restore", help="rewrite a run's missing or unreadable config.yaml from its newest "
                       "checkpoint's manifest (the config it was trained with)")
    p.add_argument("run_dir", type=Path, metavar="RUN")
    p.set_defaults(func=cmd_config_restore)
