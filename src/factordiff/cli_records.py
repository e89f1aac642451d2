"""The `factordiff` commands about records, designs, configs and finished runs (`rejudge`, `designs`, `config
show`, `config restore`, `compare`, `probe`): argv in, one library call, lines out. Split from cli.py, which builds the
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
    from .experiments.campaign import progress
    from .experiments.design import check_frozen, design_hash, freeze

    if args.freeze:
        added = freeze(EXPERIMENTS)
        print("froze " + ", ".join(added) if added else "every design is frozen already")
    problems = check_frozen(EXPERIMENTS)
    for name, exp in EXPERIMENTS.items():
        d = exp.design
        state = next((p.split(": ", 1)[1] for p in problems if p.startswith(f"{name}: ")), "frozen")
        print(f"{name:<21} v{d.version}  seeds {d.seeds[0]}–{d.seeds[-1]} ({len(d.seeds)})  {design_hash(exp)}  "
              f"{state}; {progress(exp, args.records)}")
    return 1 if problems else 0


def cmd_config_restore(args) -> int:
    from .rundir import restore_config

    print(f"wrote {restore_config(args.run_dir)} from the config its newest checkpoint records")
    return 0


def _probe_common(p) -> None:
    p.add_argument("--seed", type=int, default=0, help="the noise every label is sampled from (default 0)")
    p.add_argument("--step", type=int, default=None, help="the checkpoint's step (default: the newest)")
    p.add_argument("--json", action="store_true", help="print every number as JSON instead of lines")
    p.set_defaults(func=cmd_probe)


def add_record_commands(sub, fmt) -> None:
    p = sub.add_parser("rejudge", help="recompute a record's verdicts from its stored data alone; exit 1 if they "
                       "changed", epilog=EXAMPLES["rejudge"], formatter_class=fmt)
    p.add_argument("folders", nargs="+", type=Path, metavar="RECORD", help="records/NAME or a reproduce OUT")
    p.add_argument("--figures", action="store_true", help="also redraw its figures into RECORD/figures")
    p.set_defaults(func=cmd_rejudge)

    p = sub.add_parser("designs", help="the frozen confirmatory designs: version, seeds, hash, state, and how far "
                       "each confirmation is (recorded, runs stored, not started)", epilog=EXAMPLES["designs"],
                       formatter_class=fmt)
    p.add_argument("--freeze", action="store_true", help="freeze every design version not frozen yet")
    p.add_argument("--records", type=Path, default=Path("records"), help="where the records are (default records)")
    p.set_defaults(func=cmd_designs)

    probe = sub.add_parser("probe", help="memorize or compose? split-half agreement of two runs, kernel "
                           "superposition of one", epilog=EXAMPLES["probe"], formatter_class=fmt)
    kinds = probe.add_subparsers(dest="probe_command", required=True)
    p = kinds.add_parser("split-half", help="two runs on complementary halves of the labels, sampled alike "
                         "(Kadkhodaie et al. 2024)", epilog=EXAMPLES["probe"], formatter_class=fmt)
    p.add_argument("run_a", type=Path, metavar="RUN_A")
    p.add_argument("run_b", type=Path, metavar="RUN_B", help="the same config with data.subsample_complement flipped")
    p.add_argument("--n", type=int, default=200, help="labels per region, seen and unseen (default 200)")
    _probe_common(p)
    p = kinds.add_parser("kernel", help="a run's outputs as a factorized or radial kernel superposition of its "
                         "outputs at training labels (Liang et al. 2025)", epilog=EXAMPLES["probe"],
                         formatter_class=fmt)
    p.add_argument("runs", nargs="+", type=Path, metavar="RUN",
                   help="one or more runs (several: one block each, e.g. every variant of a bench task)")
    p.add_argument("--n-train", type=int, default=200, help="training labels sampled (default 200)")
    p.add_argument("--n-probe", type=int, default=100, help="probe labels per region (default 100)")
    _probe_common(p)

    p = sub.add_parser("compare", help="runs side by side: a table of their summaries and their accuracy curves",
                       epilog=EXAMPLES["compare"], formatter_class=fmt)
    p.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="run directories (train, demo or sweep runs)")
    p.add_argument("--out", type=Path, default=None,
                   help="also write OUT/compare.csv and OUT/compare.png (default: print the table only)")
    p.set_defaults(func=cmd_compare)


def cmd_probe(args) -> int:
    import json

    from .probes import kernel_superposition, split_half

    if args.probe_command == "split-half":
        res = split_half(args.run_a, args.run_b, n=args.n, seed=args.seed, step=args.step)
        lines = [f"{region} labels ({r['models']['n']}): {who}: image r {s['agreement']:.2f}, labels agree "
                 f"{s['label_agreement']:.2f}, nearest training image r {s['nearest_a']:.2f} / {s['nearest_b']:.2f}"
                 for region, r in res.items() for who, s in (("models", r["models"]),
                                                              ("closed-form memorizers", r["memorizers"]),
                                                              ("ground truth", r["ground truth"]))]
    else:
        from .api import load_run

        runs = {str(path): load_run(path) for path in args.runs}  # every path checked before any is sampled
        res = {name: kernel_superposition(run, n_train=args.n_train, n_probe=args.n_probe, seed=args.seed,
                                          step=args.step) for name, run in runs.items()}
        many = len(res) > 1
        lines = [line for name, r in res.items() for line in ([f"{name}:"] if many else []) + [
            ("  " if many else "") + _kernel_line(region, f) for region, f in r.items() if region in ("id", "ood")]]
        res = res if many else res[str(args.runs[0])]
    print(json.dumps(res, default=float, indent=1) if args.json else "\n".join(lines))
    return 0


def _kernel_line(region: str, f: dict) -> str:
    """One region of `factordiff probe kernel`: both kernels' fits, which is better, and where the run's R² lies
    between the ground truth's and the nearest-label memorizer's (the kernel the run fits better)."""
    kind = max(("factorized", "radial"), key=lambda k: f[k]["r2"])
    c, b = f["controls"], f["between"][kind]
    where = (f"position {b['position']:.2f} from the truth (0) to the memorizer (1); the truth drawn at shuffled "
             f"labels: {b['wrong_place']:.2f}" if b["position"] is not None
             else f"the controls lie within {b['min_gap']:g}: R² cannot tell composing from copying here")
    acc = f.get("accuracy") or {}
    where += (f"; its accuracy on these labels {acc['acc_detectable']:.2f} (of {acc['n_detectable']} the detector "
              "reads)" if acc.get("acc_detectable") is not None else "")
    return (f"{region}: factorized R² {f['factorized']['r2']:.3f} (ℓx {f['factorized']['lx']:g}, ℓy "
            f"{f['factorized']['ly']:g}), radial R² {f['radial']['r2']:.3f} (ℓ {f['radial']['l']:g}); difference "
            f"{f['delta_r2']:+.3f} [{f['interval'][0]:+.3f}, {f['interval'][1]:+.3f}]: better {f['better']}. "
            f"{kind} R² of the ground truth {c['ground truth'][kind]['r2']:.3f}, of the nearest-label memorizer "
            f"{c['nearest-label memorizer'][kind]['r2']:.3f}: {where}")


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
