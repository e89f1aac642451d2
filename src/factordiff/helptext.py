"""The examples each `factordiff` command shows under --help (the experiment list comes from the registry)."""

EXAMPLES = {
    "preview": """examples:
  factordiff data preview                                   # P1 bumps, σ = 1, d = 1 (1,089 images)
  factordiff data preview data.sigma=0.5 data.increment=0.25
  factordiff data preview --preset p2-sos-stripes-cross     # SOS without the 13–19 cross, plus 1D stripes
  factordiff data preview my_run.yaml data.fraction=0.3 --out outputs/mine""",
    "overlap": """examples:
  factordiff data overlap
  factordiff data overlap --sigmas 0.25 0.5 1 --increments 0.1 0.5 1 2""",
    "percolation": """examples:
  factordiff percolation                                    # σ ∈ {0.1, 0.25, 0.5, 1}, thresholds 0.005 and 0.05
  factordiff percolation --sigmas 0.2 0.3 --thresholds 0.005 --draws 50 --overlap continuum""",
    "train": """examples:
  factordiff train --out runs/tiny data.image_size=16 model.base=8 diffusion.timesteps=200 train.steps=500
  factordiff train my_run.yaml --out runs/mine          # rerun the same command to resume
  factordiff train --preset p2-torus --out runs/torus train.device=cuda
  factordiff train --preset paper --out runs/p1 --dry-run   # steps, snapshots, hours on this device""",
    "analyze": """examples:
  factordiff analyze runs/demo                              # every snapshot, layer4, topology on the last one
  factordiff analyze runs/demo --steps 0 2000 4000 --layer layer3 --topology all --grid 16
  factordiff analyze runs/old-cpu-run data.pixel_scale=0.5      # a half-scale run saved before pixel_scale
  factordiff analyze runs/demo data.blob_rule=relative data.predictor=subpixel""",
    "report": """examples:
  factordiff report runs/demo                               # → runs/demo/report.html and runs/demo/figures/
  factordiff report sweeps/increment                        # a sweep: table of final values, curves, heat map""",
    "sample": """examples:
  factordiff sample runs/demo --n 100                       # latest checkpoint, the run's own sampler
  factordiff sample runs/demo --sampler ddpm                # full ancestral DDPM (all T steps)
  factordiff sample runs/demo --sampler ddim --ddim-steps 20 --step 4000""",
    "demo": """examples:
  factordiff demo                                           # → runs/demo/report.html (4-10 min on 2 cores)
  factordiff demo --out runs/demo2 train.steps=3000 seed=1  # any key=value override of the cpu preset
  factordiff demo train.stop_when=never                     # every step (by default it stops once learned)""",
    "sweep": """examples:
  factordiff sweep spec.yaml                        # local process pool; rerun to complete what is missing
  factordiff sweep spec.yaml --jobs 2 --out sweeps/mine
  factordiff sweep spec.yaml --launcher slurm --slurm slurm_partition=gpu gpus_per_node=1 timeout_min=360
  factordiff sweep status spec.yaml                 # done / running / interrupted / failed (with the reason)
  factordiff sweep aggregate spec.yaml              # → SWEEP/results.csv
  factordiff sweep spec.yaml --dry-run              # the runs and their estimated time here; runs nothing

spec.yaml:
  name: increment
  presets: [cpu]
  overrides: {train.steps: 2500}
  grid: {data.increment: [0.25, 0.5, 1.0]}
  seeds: [0, 1]""",
    "reproduce": """examples:
  factordiff reproduce p1-increment                 # cpu scale, local pool: heat maps, table, verdicts
  factordiff reproduce p1-phases --scale cpu --out experiments/phases
  factordiff reproduce p1-increment --scale paper --launcher slurm --slurm slurm_partition=gpu gpus_per_node=1
  factordiff reproduce p2-torus && factordiff reproduce p2-orthogonality   # the second reuses the first's run
  factordiff reproduce p2-percolation --grid data.fraction=[0.1,0.125,0.15,0.175,0.2]   # a finer λ; the runs
                                     # already in OUT are reused, and every run in OUT is judged together
  factordiff reproduce p1-increment --scale paper --dry-run   # runs and hours here (refused on a CPU without
                                                             # --allow-slow when over 24 h)
  factordiff reproduce p2-rim --confirm            # the frozen design on fresh seeds, stored in records/p2-rim
  factordiff reproduce p2-rim --confirm --dry-run  # its runs, time, and the seeds a recorded spread says it needs

P1 Fig 7b is `factordiff data overlap`. The experiments:
""",
    "rejudge": """examples:
  factordiff rejudge records/p2-rim              # recompute its verdicts from the stored table alone
  factordiff rejudge records/*                   # every stored record (CI does this); exit 1 on any change
  factordiff rejudge experiments/p2-rim-cpu --figures   # any reproduce OUT, and redraw its figures""",
    "designs": """examples:
  factordiff designs              # each experiment's frozen design: version, seeds, hash, frozen or changed,
                                  # and its confirmation: recorded, K of N runs stored, or not started
  factordiff designs --freeze     # freeze the versions not frozen yet (a changed frozen version is refused)""",
    "probe": """examples:
  factordiff train --preset cpu --out runs/half-a data.fraction=0.5 data.subsample_scope=all
  factordiff train --preset cpu --out runs/half-b data.fraction=0.5 data.subsample_scope=all \\
      data.subsample_complement=true
  factordiff probe split-half runs/half-a runs/half-b     # agree (generalize) or each copy its own half (memorize)?
  factordiff probe kernel runs/demo                       # its outputs: a factorized or a radial superposition?
                                                          # (beside the ground truth's and a copier's fit)
  factordiff probe kernel runs/demo --json > kernel.json  # every number, as JSON
  factordiff probe kernel runs/sweep/runs/*seed=100       # several runs: one block each""",
    "compare": """examples:
  factordiff compare runs/demo runs/demo-seed1              # one row per run: final accuracy, ceiling, onsets
  factordiff compare experiments/p1-increment-cpu/runs/* --out runs/compare   # + compare.csv, compare.png""",
    "bench": """examples:
  factordiff bench train --preset paper --batch 64 --device cpu   # every candidate vs plain fp32, auto's pick
  factordiff bench train --preset paper --batch 256 --device cuda
  factordiff bench sample --preset cpu --batch 100                # the preset's own sampler
  factordiff bench sample --preset paper --batch 64 --sample-steps 100""",
    "config": """examples:
  factordiff config show --preset p1-hole-10
  factordiff config show data.kind=sos data.holdout=cross > sos.yaml""",
}


SWEEP_ACTIONS = {
    "run": "train every run of SPEC that is not done (the default: `factordiff sweep SPEC`)",
    "status": "one line per run of SPEC: pending / running (its stage and last progress line) / interrupted / "
              "done (its step) / failed (its reason), then the counts",
    "aggregate": "write SWEEP/results.csv: one row per (run, snapshot step) of every run, config columns included",
}


def sweep_action_help(argv: list[str]) -> str | None:
    """`factordiff sweep status --help` (and run / aggregate): that action's own help, not sweep's."""
    if len(argv) >= 2 and argv[0] == "sweep" and argv[1] in SWEEP_ACTIONS and ({"-h", "--help"} & set(argv[2:])):
        return (f"usage: factordiff sweep {argv[1]} SPEC [--out SWEEP]\n\n{SWEEP_ACTIONS[argv[1]]}.\n\n"
                "SPEC: a sweep spec YAML (its folder: --out, default sweeps/NAME) or a sweep / experiment folder "
                f"(its own sweep.json).\n\nexample:\n  factordiff sweep {argv[1]} experiments/p1-holes-cpu\n")
    return None
