"""P2 Fig 2: a model trained on periodic bumps learns a torus (Betti numbers 1, 2, 1) whose effective dimension
settles near 7, above the Clifford torus's 4; and the ablations that decide what makes the torus.

    factordiff reproduce p2-torus             # cpu scale: 4 variants × 3 seeds, a 16 × 16 probe × 4 samples

Every run is probed on a 16 × 16 grid of labels (4 samples per label, their layer averaged), and the same
measurement (geodesic Vietoris–Rips, analysis.topology; right on ideal tori, a sheet and a cylinder at 16 × 16
and 20 × 20, tests/test_analysis.py) reads the Betti numbers of: layer 4 as recorded, its image-driven part
(layer 4 − the label-only response), the label-only response, the untrained network, the ground-truth images at
the probe's labels (the data's own answer) and the ideal 3-D and Clifford tori on the same grid. Each reading
carries a stability check (other neighbour counts, landmark subsets) and its bars' lifetimes.

Variants (a sweep grid over model.label_encoding, model.padding, model.coords): P2's network (sinusoidal PE
of the raw label, zero padding: neither the label code nor the convolutions know x = 0 and x = N are
neighbours); a smooth periodic label code (harmonics 1–2 of 2πµ/N); circular padding (convolutions and
upsampling wrap: exactly equivariant to shifts by 8 px at N = 16); both; and circular padding with periodic
coordinate channels (cos/sin of each pixel's angle as input: a circular network whose conditioning is
spatially uniform cannot otherwise tell where a label's bump belongs), with either code.

Measured cpu time: see README (recorded table).
"""

from __future__ import annotations

from pathlib import Path

from .. import figures
from ..analyze import pca_views, probe_diagrams
from ..report import CAPTIONS
from ..rundir import RunDir
from .base import INFERRED, Experiment, Verdict, by_run, final, finite, key, last, run_dir
from .claims import Claim, Test
from .design import Design, confirm_seeds
from .p2_common import p2_spec
from .stats import MIN_SEEDS, gate, paired, seed_of, show_seeds, too_few_seeds

ABLATIONS = {"model.label_encoding,model.padding,model.coords": [
    ["sinusoidal", "zeros", "none"], ["periodic_smooth", "zeros", "none"], ["sinusoidal", "circular", "none"],
    ["periodic_smooth", "circular", "none"], ["sinusoidal", "circular", "periodic"],
    ["periodic_smooth", "circular", "periodic"]]}
SPECS = p2_spec({"presets": ["p2-torus"], "grid": ABLATIONS,
                 "analyze": {"grid": 16, "grid_repeats": 4, "topology": "last"}},
                {"presets": ["p2-torus"], "grid": ABLATIONS,
                 "analyze": {"grid": 32, "grid_repeats": 2, "topology": "last"}})
BASE = ("sinusoidal", "zeros", "none")
VARIANTS = {BASE: "P2's network (sinusoidal code of the raw label, zero padding)",
            ("periodic_smooth", "zeros", "none"): "a smooth periodic label code",
            ("sinusoidal", "circular", "none"): "circular padding",
            ("periodic_smooth", "circular", "none"): "a smooth periodic label code and circular padding",
            ("sinusoidal", "circular", "periodic"): "circular padding and periodic coordinate channels",
            ("periodic_smooth", "circular", "periodic"): "a smooth periodic label code, circular padding and "
                                                         "periodic coordinate channels"}
TORUS = "1,2,1"
STABLE = 2 / 3  # a reading counts when at least this share of its stability variants read the same numbers


def variant(run_rows: list[dict]) -> tuple[str, str, str]:
    """(label encoding, padding, coordinates) of a run; a missing key is P2's network's (runs recorded before
    the ablations)."""
    return tuple(key(run_rows, f"model.{k}") or d for k, d in zip(("label_encoding", "padding", "coords"), BASE))


def base_rows(rows: list[dict]) -> list[dict]:
    """The rows of P2's network only (what p2-orthogonality reads from this sweep)."""
    return [r for rs in by_run(rows).values() if variant(rs) == BASE for r in rs]


def measure(rows: list[dict], log=print) -> dict:
    """Per run: its analysis rows and the topology of the images the network generated on its last grid probe
    (`samples`: does its output wrap?); for the first seed of each variant also the persistence diagrams of
    that probe (model, image-driven part, label-only, ground truth, reference tori, all on the probe's grid)
    and 3-D PCA views of layer 4 at three snapshots (the figures)."""
    from ..analysis.topology import topology
    from ..io import load_npz

    out, drawn = {}, set()
    runs = by_run(rows)
    for i, (name, rs) in enumerate(runs.items()):
        log(f"[{i + 1}/{len(runs)}] {name}: topology of the generated images"
            + ("" if variant(rs) in drawn else ", persistence diagrams and PCA views (first seed of its variant)"))
        run = RunDir(run_dir(rows, name))
        probes = run.list_probes()
        images = load_npz(probes[-1][1])["images"] if probes else None
        first = variant(rs) not in drawn  # the figures: one run per variant
        drawn.add(variant(rs))
        out[name] = {"analysis": run.read_analysis(layer="layer4"), "pca": pca_views(run) if first else None,
                     "diagrams": probe_diagrams(probes[-1][1], data=run.load_config().data)
                     if probes and first else None,
                     "samples": topology(images.reshape(-1, images[0, 0].size)) if images is not None else None}
    return out


CLOUDS = ("model", "image_part", "label_only", "samples", "ground_truth", "untrained", "torus3d")


def readings(rows: list[dict], measured: dict) -> list[dict]:
    """torus_readings' panels: per variant, per cloud, each seed's 2nd H1 and 1st H2 lifetimes and Betti reading
    (the generated images' from `measured`, the others from the grid probe's columns)."""
    groups: dict[tuple, dict] = {}
    for name, rs in by_run(rows).items():
        groups.setdefault(variant(rs), {})[name] = rs
    panels = []
    for var in [v for v in VARIANTS if v in groups]:
        p = {"title": VARIANTS[var], "clouds": list(CLOUDS), "h1": {}, "h2": {}, "betti": {}}
        for name, rs in groups[var].items():
            for c in CLOUDS:
                if c == "samples":
                    top = (measured.get(name) or {}).get("samples") or {}
                    life, b = top.get("lifetimes"), ",".join(map(str, top.get("betti", []))) or None
                else:
                    row = last(rs)
                    life = [[float(x) for x in str(row.get(f"{c}_h{d}_life") or "").split(",") if x]
                            for d in (0, 1, 2)]
                    b = row.get(f"{c}_betti")
                h1 = life[1][1] if life and len(life) > 1 and len(life[1]) > 1 else None
                h2 = life[2][0] if life and len(life) > 2 and life[2] else None
                p["h1"].setdefault(c, []).append(h1)
                p["h2"].setdefault(c, []).append(h2)
                p["betti"].setdefault(c, []).append(b)
        panels.append(p)
    return panels


def draw(rows: list[dict], measured: dict, out: Path, title: str) -> list[Path]:
    panels = readings(rows, measured)
    paths = [figures.save(figures.torus_readings(panels), out, "torus_readings",
                          f"{title}: Betti numbers read on the 16 × 16 probe per seed, and the bars they rest on")
             ] if panels else []
    for name, m in measured.items():
        if m["analysis"] and m.get("diagrams"):
            paths.append(figures.save(figures.dimension(m["analysis"]), out, f"dimension_{name}",
                                      f"{title}: acc {m['analysis'][-1]['acc']:.2f}; PCA spectra (Fig 2d), "
                                      "effective dimension (2c)"))
        if m["diagrams"]:
            paths.append(figures.save(figures.topology(m["diagrams"]), out, f"persistence_{name}",
                                      f"{title}: persistence diagrams on the probe's grid: model, its image-driven "
                                      "part, label-only, ground truth, ideal tori (Fig 2b)"))
        if m["pca"]:
            paths.append(figures.save(figures.pca_views(m["pca"]), out, f"pca_{name}",
                                      f"{title}: PCA views over training (Fig 2e–g)"))
    return paths


def _reading(rs: list[dict], cloud: str) -> str | None:
    """'b0,b1,b2 (agree a, H1 l1,l2,l3, H2 l1,l2)' for logs and controls."""
    row = last(rs)
    b = row.get(f"{cloud}_betti")
    if b is None:
        return None
    agree = row.get(f"{cloud}_betti_agree")
    life = ", ".join(f"H{d} {row[f'{cloud}_h{d}_life']}" for d in (1, 2) if row.get(f"{cloud}_h{d}_life"))
    extra = "; ".join(s for s in ((f"agree {agree:.2f}" if agree is not None else ""), life) if s)
    return b + (f" ({extra})" if extra else "")


IS_TORUS = Claim("a torus", "Betti numbers (b0, b1, b2) on the grid probe, per seed",
                 tests=(Test("every learned seed reads (1, 2, 1)", 1.0, kind="every"),))
PR = Claim("the effective dimension settles near 7, above the Clifford torus's 4 (P2 summary)",
           "each seed's participation ratio, mean of the last third",
           tests=(Test("PR ≥ 5", 5.0), Test("PR ≤ 10", -10.0, sign=-1)),
           gates=(Test("|PR − label-only PR| ≥ 1", 1.0), Test("|PR − untrained PR| ≥ 1", 1.0)),
           note=f"{INFERRED}: PR of the layer-4 PCA spectrum")


def _torus_verdict(claim: str, runs: dict[str, list[dict]], cloud: str, controls: dict[str, str],
                   beside: tuple[str, ...] = (), samples: dict | None = None) -> Verdict:
    """Is `cloud` a torus in every seed? Decidable only when the measurement could have said so: ≥ 3 seeds, the
    ideal tori and the ground-truth images on the same grid read (1, 2, 1), every reading stable, the model
    learned, and no control (`controls`: cloud → why it voids the claim when it is itself a torus) a torus.
    `beside`: other clouds whose readings are shown with the verdict; `samples`: {run: topology of its generated
    images}, shown too. Every seed is gated: a seed that did not learn is left out and named; the claim is read
    on the seeds that learned, and needs MIN_SEEDS of them."""
    every = runs  # the references (ideal tori, ground truth) are shown from every run, learned or not
    runs, left_out = gate(runs)
    k = len(runs)
    betti = [last(rs).get(f"{cloud}_betti") for rs in runs.values()]
    agree = [last(rs).get(f"{cloud}_betti_agree") for rs in runs.values()]
    refs = {c: [last(rs).get(f"{c}_betti") for rs in runs.values()] for c in ("torus3d", "clifford", "ground_truth")}
    why = [] if k >= MIN_SEEDS else [too_few_seeds(k) + " that learned"]
    have = bool(betti) and all(b is not None for b in betti)
    why += [] if have else ["no grid probe with homology: analyze with --grid and --topology"]
    blind = [c for c, bs in refs.items() if not all(b == TORUS for b in bs)]
    why += [f"{', '.join(blind)} on the probe's grid do not read (1, 2, 1) ("
            + "; ".join(f"{c} {refs[c][0]}" for c in blind) + "): the measurement could not have seen a torus"
            ] if blind and have else []
    unstable = [a for a in agree if a is None or a < STABLE]
    why += [f"unstable reading (stability agreement {show_seeds([a for a in agree if a is not None])} < "
            f"{STABLE:.2f} in {len(unstable)} of {k} seeds)"] if unstable and have else []
    voided = [why_c for c, why_c in controls.items()
              if any(last(rs).get(f"{c}_betti") == TORUS for rs in runs.values())]
    why += voided
    n_torus = sum(b == TORUS for b in betti)
    shown = {"generated images": "; ".join(",".join(map(str, (samples.get(n) or {}).get("betti", [])))
                                           for n in runs)} if samples else {}
    first = next(iter(every.values()), [])
    shown |= {"ground truth": _reading(first, "ground_truth"), "3-D torus on the grid": _reading(first, "torus3d")}
    shown |= {c.replace("_", " "): "; ".join(str(_reading(rs, c)) for rs in runs.values())
              for c in (*controls, *beside)}
    return IS_TORUS.verdict([[b == TORUS for b in betti] if have else []], claim=claim,
                            lead=[f"{n_torus} of {k} seeds read (1, 2, 1)"], why=why, left_out=left_out,
                            value="; ".join(str(_reading(rs, cloud)) for rs in runs.values()),
                            statistic=f"Betti numbers (b0, b1, b2) of the {cloud.replace('_', ' ')} on the grid "
                                      "probe, per seed",
                            controls={n: v for n, v in shown.items() if v})


def judge(rows: list[dict], measured: dict) -> list[Verdict]:
    """P2's network: layer 4 as recorded is a torus (void when the untrained network's layer is one: then it is
    not learned; the trained network's label-only response is shown beside it, since a wrap learned in the
    conditioning pathway is still learned), and its image-driven part is one (void when the untrained network's
    is); each ablation: the image-driven part is a torus (the recorded layer and the label-only response shown
    beside it). Each learned seed's participation ratio of P2's network (mean of the last third) must lie in
    [5, 10] on its 95 % interval and differ from the same seed's label-only response's and the untrained
    network's by ≥ 1 on the interval of the paired differences."""
    groups: dict[tuple, dict] = {}
    for name, rs in by_run(rows).items():
        groups.setdefault(variant(rs), {})[name] = rs
    base = groups.get(BASE, {})
    samples = {n: (m or {}).get("samples") for n, m in (measured or {}).items()}
    out = [_torus_verdict("the learned representation of periodic bumps (layer 4 as recorded) is a torus "
                          "(P2 Fig 2b)", base, "model",
                          {"untrained": "the untrained network's layer is itself a torus"}, beside=("label_only",),
                          samples=samples),
           _torus_verdict("its image-driven part (layer 4 − label-only response) is a torus", base, "image_part",
                          {"untrained_image_part": "the untrained network's image-driven part is itself a torus"},
                          samples=samples)]
    for var, runs in ((v, groups[v]) for v in VARIANTS if v in groups):  # VARIANTS' order
        if var != BASE:
            out.append(_torus_verdict(f"with {VARIANTS[var]}, the image-driven part of layer 4 is a torus "
                                      "(ablation)", runs, "image_part",
                                      {"untrained_image_part": "the untrained network's image-driven part is "
                                                               "itself a torus"}, beside=("model", "label_only"),
                                      samples=samples))
    learned, left_out = gate(base)
    pr = {seed_of(n, rs): final(rs, "participation_ratio") for n, rs in learned.items()}
    pr_lab = {seed_of(n, rs): final(rs, "pr_label") for n, rs in learned.items()}
    pr0 = {seed_of(n, rs): rs[0].get("participation_ratio") for n, rs in learned.items()}  # step 0: untrained
    pr, pr_lab, pr0 = ({k_: v for k_, v in d.items() if finite(v)} for d in (pr, pr_lab, pr0))
    apart = [(lambda d: d if sum(d) >= 0 else [-x for x in d])(paired(pr, ref)) for ref in (pr_lab, pr0)]
    out.append(PR.verdict([list(pr.values()), list(pr.values())], apart, left_out=left_out,
                          controls={"label-only PR": pr_lab, "untrained PR": pr0}))
    return out


FIGURE_CAPTIONS = {  # figure file stem ("stem_": a prefix) → its report caption
    "torus_readings": (
        "For each variant (panel), each point cloud (x axis) and each seed (dots): the second-longest H1 bar "
        "(a torus has two loops) and the longest H2 bar (its void), as shares of the cloud's diameter, with "
        "the Betti numbers read written at the bottom. The ideal tori and the ground-truth images are the "
        "check that the pipeline can see a torus at this grid."),
    "dimension_": CAPTIONS["dimension"],
    "persistence_": CAPTIONS["topology"],
    "pca_": (
        "3-D PCA views of layer 4 at a few snapshots, coloured by x (P2 Fig 2e–g): a learned periodic code "
        "closes into a ring or torus as training goes on."),
}

DESIGN = Design(  # the confirmatory design, frozen (docs/decisions.md): what `reproduce NAME --confirm` runs
    version=1, seeds=confirm_seeds(3),
    statistic="each learned seed's Betti numbers of layer 4 and of its image-driven part on the grid probe; each "
              "seed's participation ratio",
    effect='every learned seed reads (1, 2, 1) with the controls not tori; 5 ≤ PR ≤ 10 on its 95 % interval and ≥ 1 '
           "from each control's",
    budget='the cpu spec (p2-torus preset)',
    why='exploratory record (seeds 0–2): layer 4 not a torus in 2 of 3 seeds; image-driven part a sphere')

EXPERIMENT = Experiment("p2-torus", "P2 Fig 2", "a model trained on periodic bumps learns a torus (Betti 1, 2, 1) "
                        "whose effective dimension settles near 7", SPECS, draw, judge, measure, doc=__doc__,
                        captions=FIGURE_CAPTIONS,
                        design=DESIGN)
