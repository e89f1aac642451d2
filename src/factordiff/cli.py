"""`factordiff` command line: parses argv, calls one library function per command, prints where things went."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from .analysis.percolation import PercolationConfig
from .cli_records import add_config_commands, add_record_commands
from .config import ConfigError
from .errors import FactordiffError, raise_on_signals
from .helptext import EXAMPLES, sweep_action_help
from .presets import PRESETS, resolve_run_config


def _add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("items", nargs="*", metavar="[CONFIG.yaml] [key=value ...]",
                   help="a run config file and/or overrides such as data.sigma=0.5")
    p.add_argument("--preset", action="append", metavar="NAME",
                   help="start from a named preset; repeat to combine, e.g. --preset cpu --preset p2-torus "
                        f"(one of {', '.join(sorted(PRESETS))})")


def _add_plan_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dry-run", action="store_true", help="print the runs and the time they would take here "
                   "(a few-step benchmark on this device), run nothing")
    p.add_argument("--allow-slow", action="store_true", help="start even when the estimate on a CPU exceeds "
                   "24 h (refused otherwise)")


def _add_lists(p: argparse.ArgumentParser, **flags: str) -> None:
    """--NAME V [V ...] options of floats, one per keyword (its value is the help text)."""
    for name, text in flags.items():
        p.add_argument(f"--{name}", type=float, nargs="+", help=text)


def _progress(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, disable=not sys.stderr.isatty(), leave=False)


def cmd_preview(args) -> int:
    from .commands import preview_data

    summary = preview_data(resolve_run_config(args.items, args.preset), args.out, n=args.n, seed=args.seed)
    counts = summary["counts"]
    print(f"train (ID) images: {counts['train']:,}   held-out (OOD) images: {counts['heldout']:,}")
    print("  " + ", ".join(f"{k} {v:,}" for k, v in counts.items() if k not in ("train", "heldout")))
    print(f"wrote {summary['figure']}")
    return 0


def cmd_overlap(args) -> int:
    from .commands import overlap_figure

    kw = {k: tuple(v) for k, v in (("sigmas", args.sigmas), ("increments", args.increments)) if v}
    summary = overlap_figure(args.out, size=args.size, **kw)
    d = summary["increments"]
    k = min(range(len(d)), key=lambda i: abs(d[i] - 1.0))
    print(f"overlap at d = {d[k]:g}: " + ", ".join(f"σ={s:g}: {row[k]:.3g}"
                                                    for s, row in zip(summary["sigmas"], summary["overlap"])))
    print(f"wrote {summary['figure']}")
    return 0


def cmd_percolation(args) -> int:
    from .commands import percolation_figure

    fields = {k: getattr(args, k) for k in ("sigmas", "thresholds", "fractions") if getattr(args, k)}
    fields = {k: tuple(v) for k, v in fields.items()}
    for k in ("draws", "overlap", "seed", "increment"):
        if getattr(args, k) is not None:
            fields[k] = getattr(args, k)
    cfg = PercolationConfig(image_size=args.size, **fields)
    bar = _progress(len(cfg.sigmas) * len(cfg.thresholds) * len(cfg.fractions), "percolation")
    summary = percolation_figure(cfg, args.out, progress=bar.update)
    bar.close()
    for si, s in enumerate(summary["sigmas"]):
        lam = ", ".join(f"thr {t:g}: {'never' if v is None else f'{v:.3f}'}"
                        for t, v in zip(summary["thresholds"], summary["lambda_c"][si]))
        print(f"σ = {s:g}: λ_c (mass ratio ≥ 0.5) {lam}")
    print(f"wrote {summary['figure']}")
    return 0


def cmd_train(args) -> int:
    from .plan import check_budget, check_floor, describe, plan, training_floor
    from .train import train

    cfg = resolve_run_config(args.items, args.preset)
    if not args.dry_run and not args.allow_slow:  # refused in seconds when even its training cannot fit
        check_floor(training_floor([(args.run_dir.name, cfg, args.run_dir)]), allow_slow=False)
    est = plan([(args.run_dir.name, cfg, args.run_dir)])
    for line in describe(est) if args.dry_run else describe(est, limit=0):
        print(line)
    if args.dry_run:
        return 0
    check_budget(est, allow_slow=args.allow_slow)
    summary = train(cfg, args.run_dir, progress=None)
    print(f"trained {summary['run_dir']} to step {summary['step']} (resumed from step {summary['resumed_from']})")
    return 0


def cmd_analyze(args) -> int:
    from .analyze import analyze_run
    from .config import parse_overrides

    out = analyze_run(args.run, steps=args.steps, layer=args.layer, topology=args.topology, grid=args.grid,
                      grid_repeats=args.grid_repeats, seed=args.seed, umap_seeds=args.umap_seeds,
                      methods=tuple(args.methods), threads=args.threads, scoring=parse_overrides(args.items), log=print)
    print(f"phase onsets {out['summary']['onsets']}; wrote {out['path']}")
    return 0


def cmd_report(args) -> int:
    from .report import write_report, write_sweep_report
    from .rundir import SweepDir

    if SweepDir(args.run).exists():
        out = write_sweep_report(args.run)
        print(f"wrote {out['report']} and {len(out['figures'])} figures")
        return 0
    out = write_report(args.run, layer=args.layer, seed=args.seed)
    print(f"wrote {out['report']} and {len(out['figures'])} figures")
    return 0


def cmd_sample(args) -> int:
    import json

    from .evaluate import sample_run

    out = sample_run(args.run, step=args.step, n=args.n, sampler=args.sampler, steps=args.steps, eta=args.eta,
                     seed=args.seed, out=args.out, device=args.device)
    print(json.dumps(out))
    return 0


def cmd_demo(args) -> int:
    from .commands import demo

    out = demo(args.out, args.items)
    o = out["onsets"]
    say = lambda p: f"step {o[p]}" if o.get(p) is not None else "never reached"  # noqa: E731
    print(f"phase A from step {o['A']}, B from {say('B')}, C from {say('C')}; last snapshot: phase "
          f"{out['last']['phase']}, accuracy {out['last']['acc']:.2f}, R² {out['last']['r2_umap']:.2f}, "
          f"participation ratio {out['last']['participation_ratio']:.1f}")
    print(f"open {out['report']}")
    return 0


def cmd_sweep(args) -> int:
    from .config import parse_overrides
    from .sweep import launch, load_spec, status_lines, sweep_status
    from .table import aggregate

    action, rest = (args.args[0], args.args[1:]) if args.args[0] in ("status", "aggregate", "run") else \
        ("run", args.args)
    if len(rest) != 1:
        raise ConfigError("SPEC", rest, "exactly one sweep spec YAML file or sweep / experiment folder")
    if Path(rest[0]).is_dir():  # a sweep or `reproduce` output folder: its own sweep.json
        from .rundir import SweepDir
        from .sweep import parse_spec

        spec, out = parse_spec(SweepDir(rest[0]).load_spec(), str(rest[0])), args.out or Path(rest[0])
    else:
        spec = load_spec(rest[0])
        out = args.out or Path("sweeps") / spec.name
    if action == "status":
        print("\n".join(status_lines(sweep_status(spec, out))))
        return 0
    if action == "run":
        slurm = parse_overrides(args.slurm or [])
        summary = launch(spec, out, launcher=args.launcher, jobs=args.jobs, slurm=slurm, dry_run=args.dry_run,
                         allow_slow=args.allow_slow, ensemble=args.ensemble)
        if args.dry_run:
            return 0
        print(f"{summary['ran']} runs ran, {summary['failed']} failed, {summary['skipped']} already done")
    table = aggregate(out)
    print(f"wrote {table['path']} ({len(table['rows'])} rows)")
    return 1 if action == "run" and summary["failed"] else 0


def cmd_reproduce(args) -> int:
    from .config import parse_overrides
    from .experiments import reproduce

    out = reproduce(args.experiment, args.scale, out=args.out, launcher=args.launcher, jobs=args.jobs,
                    slurm=parse_overrides(args.slurm or []), overrides=parse_overrides(args.items), seeds=args.seeds,
                    grid=parse_overrides(args.grid or []), dry_run=args.dry_run, allow_slow=args.allow_slow,
                    confirm=args.confirm, records=args.records)
    if not args.dry_run:
        print(f"wrote {out['report']}" + (f"; record stored in {out['record']}" if out.get("record") else ""))
    return 0


def cmd_bench(args) -> int:
    import json

    from .bench import bench_sample, bench_train, machine

    cfg = resolve_run_config(args.items, args.preset)
    if args.what == "train":
        out = bench_train(cfg, batch=args.batch, device=args.device, steps=args.steps, warmup=args.warmup,
                          reference=not args.no_reference)
    else:
        out = bench_sample(cfg, batch=args.batch, device=args.device, sample_steps=args.sample_steps)
    out["preset"] = args.preset
    out["machine"] = machine()
    print(json.dumps(out))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .experiments import help_text

    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="factordiff", description="A laboratory for how diffusion models learn "
                                     "to represent, factorize and compose features (Liang et al. 2024).")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"factordiff {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="datasets of both papers").add_subparsers(dest="data_command", required=True)
    p = data.add_parser("preview", help="grid of images with red dots at their labels, and image counts",
                        epilog=EXAMPLES["preview"], formatter_class=fmt)
    _add_config_args(p)
    p.add_argument("--n", type=int, default=25, help="images per grid (default 25 = 5×5)")
    p.add_argument("--seed", type=int, default=0, help="which images are shown")
    p.add_argument("--out", type=Path, default=Path("outputs/preview"), help="output folder")
    p.set_defaults(func=cmd_preview)

    p = data.add_parser("overlap", help="P1 Fig 7b: neighbour overlap vs increment",
                        epilog=EXAMPLES["overlap"], formatter_class=fmt)
    _add_lists(p, sigmas="bump widths σ", increments="label increments d")
    p.add_argument("--size", type=int, default=32, help="image size N")
    p.add_argument("--out", type=Path, default=Path("outputs/overlap"))
    p.set_defaults(func=cmd_overlap)

    p = sub.add_parser("percolation", help="P2 Fig 6c/13/14b: percolation of the label lattice",
                       epilog=EXAMPLES["percolation"], formatter_class=fmt)
    _add_lists(p, sigmas="bump widths σ", thresholds="neighbour-overlap thresholds", fractions="λ values")
    p.add_argument("--draws", type=int)
    p.add_argument("--overlap", choices=("pixel", "continuum"))
    p.add_argument("--size", type=int, default=32, help="lattice = labels 0..N")
    p.add_argument("--increment", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--out", type=Path, default=Path("outputs/percolation"))
    p.set_defaults(func=cmd_percolation)

    p = sub.add_parser("train", help="train (or resume) one run; snapshots, metrics and checkpoints go to --out",
                       epilog=EXAMPLES["train"], formatter_class=fmt)
    _add_config_args(p)
    p.add_argument("--out", "--run-dir", dest="run_dir", type=Path, required=True,
                   help="run directory; rerunning on it resumes (every command writes to --out)")
    _add_plan_args(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("sample", help="draw and score images from a run's checkpoint (one JSON line)",
                       epilog=EXAMPLES["sample"], formatter_class=fmt)
    p.add_argument("run", type=Path, help="run directory")
    p.add_argument("--step", type=int, help="checkpoint step (default: the latest valid one)")
    p.add_argument("--n", type=int, default=25, help="number of images (labels drawn from the training set)")
    p.add_argument("--sampler", choices=("ddpm", "ddim"), help="default: the run's diffusion.sampler")
    p.add_argument("--ddim-steps", dest="steps", type=int, help="DDIM steps (0 = all T)")
    p.add_argument("--steps", dest="steps", type=int, help=argparse.SUPPRESS)  # its name before 2026-12-06
    p.add_argument("--eta", type=float, help="DDIM η (0 deterministic, 1 ancestral-like)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--out", type=Path, help="output path without suffix (default RUN/samples/step_…)")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("analyze", help="phases, R², effective dimension, topology, factorization of a run",
                       epilog=EXAMPLES["analyze"], formatter_class=fmt)
    p.add_argument("run", type=Path, help="run directory with snapshots")
    p.add_argument("items", nargs="*", metavar="key=value", help="scoring fields to re-read the snapshots with: "
                   "data.pixel_scale, data.tolerance, data.tolerance_frame, data.blob_rule, data.predictor")
    p.add_argument("--steps", type=int, nargs="+", help="only these snapshot steps")
    p.add_argument("--layer", default="layer4", help="recorded layer (default layer4, the papers' choice)")
    p.add_argument("--methods", nargs="+", choices=("pca", "umap"), default=["pca", "umap"])
    p.add_argument("--topology", choices=("none", "last", "all"), default="last",
                   help="persistent homology on which snapshots (default the last)")
    p.add_argument("--grid", type=int, default=10, help="labels per axis of the factorization probe (0 = off)")
    p.add_argument("--grid-repeats", type=int, default=1,
                   help="samples per grid label, their layer averaged (default 1; p2-torus uses 4)")
    p.add_argument("--umap-seeds", type=int, default=3, help="UMAP seeds each R² is averaged over (default 3)")
    p.add_argument("--threads", type=int, help="UMAP fits at once (default: the usable cores; same numbers)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("report", help="figures and an offline HTML page of an analysed run or of a sweep",
                       epilog=EXAMPLES["report"], formatter_class=fmt)
    p.add_argument("run", type=Path, help="run directory or sweep directory")
    p.add_argument("--layer", default="layer4")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("demo", help="train the cpu preset, analyse it and write the report: the three phases",
                       epilog=EXAMPLES["demo"], formatter_class=fmt)
    p.add_argument("items", nargs="*", metavar="key=value", help="overrides of the cpu preset")
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="run directory (rerun to resume)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("sweep", help="run a grid of runs (local pool or Slurm), show status, aggregate",
                       epilog=EXAMPLES["sweep"], formatter_class=fmt)
    p.add_argument("args", nargs="+", metavar="[status|aggregate] SPEC", help="sweep spec YAML")
    p.add_argument("--launcher", choices=("local", "slurm"), default="local")
    p.add_argument("--jobs", type=int, help="parallel runs (local: default one per core; slurm: array size)")
    p.add_argument("--out", type=Path, help="sweep directory (default sweeps/NAME)")
    p.add_argument("--ensemble", type=int, default=1, metavar="K", help="K runs at a time as one batched model (GPU)")
    p.add_argument("--slurm", nargs="+", metavar="key=value", help="submitit parameters (slurm_partition, "
                   "timeout_min, gpus_per_node, cpus_per_task, mem_gb, …; cluster=local runs without Slurm)")
    _add_plan_args(p)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("reproduce", help="regenerate a paper figure: sweep, table, figure, verdicts, report",
                       epilog=EXAMPLES["reproduce"] + help_text(), formatter_class=fmt)
    p.add_argument("experiment", help="experiment name (see below)")
    p.add_argument("items", nargs="*", metavar="key=value", help="overrides for every run, e.g. train.steps=4000")
    p.add_argument("--scale", choices=("cpu", "paper"), default="cpu")
    p.add_argument("--launcher", choices=("local", "slurm"), default="local")
    p.add_argument("--jobs", type=int)
    p.add_argument("--out", type=Path, help="default experiments/NAME-SCALE")
    p.add_argument("--seeds", type=int, nargs="+", help="replace the scale's seeds (default 0 1 2; fewer than three "
                   "make every verdict inconclusive)")
    p.add_argument("--grid", nargs="+", metavar="key=[values]", help="replace the values of one of the scale's grid "
                   "axes, e.g. data.fraction=[0.1,0.125,0.15,0.175,0.2] (runs already in OUT are reused; every run "
                   "in OUT is judged)")
    p.add_argument("--slurm", nargs="+", metavar="key=value")
    p.add_argument("--confirm", action="store_true", help="run the frozen confirmatory design on its fresh seeds "
                   "(no overrides, --grid or --seeds), then store the record in RECORDS/NAME")
    p.add_argument("--records", type=Path, default=Path("records"), help="where --confirm stores records "
                   "(default records/)")
    _add_plan_args(p)
    p.set_defaults(func=cmd_reproduce)

    add_record_commands(sub, fmt)

    p = sub.add_parser("bench", help="images/s of the real training step or sampling loop (one JSON line)",
                       epilog=EXAMPLES["bench"], formatter_class=fmt)
    p.add_argument("what", choices=("train", "sample"))
    _add_config_args(p)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--timed-steps", dest="steps", type=int, default=5, help="timed training steps (train)")
    p.add_argument("--steps", dest="steps", type=int, help=argparse.SUPPRESS)  # its name before 2026-12-06
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (train; compile happens here)")
    p.add_argument("--no-reference", action="store_true", help="skip the plain eager reference (train)")
    p.add_argument("--sample-steps", type=int, help="sample with DDIM in this many steps (sample)")
    p.set_defaults(func=cmd_bench)

    add_config_commands(sub, fmt, _add_config_args)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = sweep_action_help(argv)
    if text:
        print(text, end="")
        return 0
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # key=value overrides after an option (`reproduce p1-sigma --out X train.steps=4000`): argparse fills the
    # positional list before the option and leaves these over; they belong to it, anything else is an error
    if extra and isinstance(getattr(args, "items", None), list) and all(
            "=" in a and not a.startswith("-") for a in extra):
        args.items += extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        # SIGTERM outside training and sweeps (which checkpoint first) ends the command at once with exit 143:
        # every file is written whole (temp file, then rename), so a rerun redoes the cut work
        name = " ".join((sys.argv[1:] if argv is None else argv)[:1]) or "command"
        with raise_on_signals((signal.SIGTERM,), where=f"`factordiff {name}`", stage="command"):
            return args.func(args)
    except FactordiffError as e:
        if args.debug:
            raise
        print(f"factordiff: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("factordiff: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `factordiff designs | head`: the reader left; say nothing more
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

__all__ = ["main", "build_parser"]
