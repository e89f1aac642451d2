"""Typed, frozen configs: validated at construction, saved and loaded as YAML, overridable by `key=value`.

Every default is a paper value (cited) or, where the papers are silent, the default of docs/papers.md §6 (marked
[INFERRED]). A config that constructs is a config the lab can run: all range and cross-field checks happen
in `__post_init__`, before any work, and each error names the field, the value and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from .archs import ARCHS, UNET_LAYERS
from .checks import check_choice, check_interval, check_number  # noqa: F401 - callers import them from here
from .dictcfg import from_dict, parse_overrides, replace_path, to_dict, to_yaml  # noqa: F401 - re-exported
from .errors import ConfigError
from .yamlio import parse_yaml  # noqa: F401 - callers import it from here

# --------------------------------------------------------------------------------------------------------
# Stage configs

DATA_KINDS = ("bump", "sos", "stripes", "bump+stripes", "sos+stripes")
HOLDOUTS = ("none", "box", "cross", "band_x", "band_y")


@dataclass(frozen=True)
class DataConfig:
    """Which images a run trains on: the renderer, the label grid and the held-out / subsampled parts.

    Labels are in the image frame: pixel centres at 1..N, bump labels in [0, N] (P1 §2). Stripe labels of the
    extended canvas (P2 Fig 9) run over [-canvas_margin, N + canvas_margin]; values outside [0, N] are hidden.
    """

    section: ClassVar[str] = "data"

    kind: str = "bump"  # P1 bumps; P2 adds SOS, 1D stripes and their mixtures
    image_size: int = 32  # P1 §2: 32×32 grayscale
    sigma: float = 1.0  # P1 Fig 4: σ = 1.0 (A.6: σ ∈ {0.1, …, 1.0})
    sigma_y: float | None = None  # None → same as sigma (P2 allows σx ≠ σy)
    variance_convention: str = "4sigma2"  # P1 eq. in §2: exp(−Δ²/4σ²); "2sigma2" is P3's convention
    increment: float = 1.0  # d = dx = dy (P1 Fig 4 sweeps 0.1…1.0)
    increment_x: float | None = None  # overrides d in x (P1 Fig 5 imbalance: dx = 0.1)
    increment_y: float | None = None  # overrides d in y (P1 Fig 5 imbalance: dy = 1.0 or 0.5)
    label_start: int = 0  # [INFERRED] grid 0..N (P1: labels in [0, 32]); 1 → grid 1..N
    periodic: bool = False  # P2 Fig 2: periodic boundaries (torus), bumps only, labels in [0, N)
    canvas_margin: int = 6  # P2 Fig 9: 32×32 frame inside a 44×44 canvas → 6 px each side [INFERRED offset]
    sos_norm: str = "mean"  # [INFERRED] SOS = 255(1 − (gx + gy)/2); "clip" = 255(1 − min(gx + gy, 1))
    rim_width: float = 2.0  # [INFERRED] kind=stripes: add 2D SOS whose crossing is within this of the edge (P2 Fig 10)
    include_blank: bool = False  # kind with stripes: also keep 0D (both stripes hidden) images
    stripe_offsets: str = "all"  # 1D stripe images: "all" = every hidden-coordinate value of the canvas (P2 Fig 9);
    # "one" = one image per stripe position, the hidden coordinate at the canvas edge (docs/papers.md §6 #19)
    holdout: str = "none"  # held-out (OOD) region: box (P1 Fig 9 holes), cross (P2 Fig 4), band_x (P2 Fig 11)
    holdout_x: tuple[float, float] = (13.0, 19.0)  # P2 Fig 4: held-out range 13–19; P1 3.5 % hole
    holdout_y: tuple[float, float] = (13.0, 19.0)
    holdout_scope: str = "2d"  # [INFERRED] remove only 2D images in the region ("all": stripes too)
    fraction: float = 1.0  # λ: share of the labels kept (P2 Figs 4g, 5, 6), uniform without replacement
    subsample_scope: str = "2d"  # [INFERRED] subsample only 2D images (P2 Fig 5b keeps all stripes)
    subsample_seed: int = 0
    subsample_complement: bool = False  # keep the labels λ's subsample drops instead (split-half: complementary runs)
    # Reading labels back (P1 §3), P1's criterion in P1's units at any scale (docs/papers.md §7 #24):
    pixel_scale: float = 1.0  # this image's pixels per P1 pixel (the cpu preset renders P1's data at half scale: 0.5)
    tolerance: float = 1.0  # P1 eq. 1: |µ − µ̂| < 1 P1 pixel (= tolerance × pixel_scale pixels here)
    tolerance_frame: str = "p1"  # "pixels": tolerance in this image's pixels (the old absolute rule)
    blob_rule: str = "contours"  # P1 Alg. 1: external contours of the Otsu mask; "relative" (to the image's own
    # background) or "min_dark" (darkest pixel ≥ 64, an earlier rule of ours)
    predictor: str = "bbox"  # P1 Alg. 1's bounding-box centre (quantised to 0.5 px); "subpixel": profile peaks

    def __post_init__(self) -> None:
        p = self.section + "."
        check_choice(p + "kind", self.kind, DATA_KINDS)
        check_number(p + "pixel_scale", self.pixel_scale, 0, 16, lo_open=True)
        check_number(p + "tolerance", self.tolerance, 0, 64, lo_open=True)
        check_choice(p + "tolerance_frame", self.tolerance_frame, ("p1", "pixels"))
        check_choice(p + "blob_rule", self.blob_rule, ("contours", "relative", "min_dark"))
        check_choice(p + "predictor", self.predictor, ("bbox", "subpixel"))
        check_number(p + "image_size", self.image_size, 8, 256, integer=True)
        if self.image_size % 8:
            lo, hi = self.image_size // 8 * 8, self.image_size // 8 * 8 + 8
            raise ConfigError(p + "image_size", self.image_size,
                              f"a multiple of 8 (the UNet halves it three times), e.g. {max(lo, 8)} or {hi}")
        n = self.image_size
        check_number(p + "sigma", self.sigma, 0, n, lo_open=True)
        if self.sigma_y is not None:
            check_number(p + "sigma_y", self.sigma_y, 0, n, lo_open=True)
        check_choice(p + "variance_convention", self.variance_convention, ("4sigma2", "2sigma2"))
        for name in ("increment", "increment_x", "increment_y"):
            value = getattr(self, name)
            if value is not None or name == "increment":
                check_number(p + name, value, 0, n, lo_open=True)
        check_number(p + "label_start", self.label_start, 0, 1, integer=True)
        check_number(p + "canvas_margin", self.canvas_margin, 0, n, integer=True)
        check_choice(p + "sos_norm", self.sos_norm, ("mean", "clip"))
        check_number(p + "rim_width", self.rim_width, 0, n / 2)
        check_choice(p + "stripe_offsets", self.stripe_offsets, ("all", "one"))
        check_choice(p + "holdout", self.holdout, HOLDOUTS)
        lo, hi = self.label_range
        if self.holdout in ("box", "cross", "band_x"):
            check_interval(p + "holdout_x", self.holdout_x, lo, hi)
        if self.holdout in ("box", "cross", "band_y"):
            check_interval(p + "holdout_y", self.holdout_y, lo, hi)
        check_choice(p + "holdout_scope", self.holdout_scope, ("2d", "all"))
        check_number(p + "fraction", self.fraction, 0, 1, lo_open=True)
        check_choice(p + "subsample_scope", self.subsample_scope, ("2d", "all"))
        check_number(p + "subsample_seed", self.subsample_seed, 0, 2**32 - 1, integer=True)
        if not isinstance(self.subsample_complement, bool):
            raise ConfigError(p + "subsample_complement", self.subsample_complement, "true or false")
        if self.subsample_complement and self.fraction >= 1:
            raise ConfigError(p + "subsample_complement", True, "false unless data.fraction < 1 (nothing is dropped)")
        if self.periodic and self.kind != "bump":
            raise ConfigError(p + "periodic", self.periodic,
                              f"false unless data.kind is 'bump' (kind is {self.kind!r})")
        if self.holdout != "none" and self.periodic:
            raise ConfigError(p + "holdout", self.holdout, "'none' for periodic (torus) data")

    @property
    def tol_px(self) -> float:
        """The accuracy tolerance in this image's pixels (= label units)."""
        return self.tolerance * (self.pixel_scale if self.tolerance_frame == "p1" else 1.0)

    @property
    def dx(self) -> float:
        return self.increment if self.increment_x is None else self.increment_x

    @property
    def dy(self) -> float:
        return self.increment if self.increment_y is None else self.increment_y

    @property
    def sigmas(self) -> tuple[float, float]:
        return self.sigma, self.sigma if self.sigma_y is None else self.sigma_y

    @property
    def label_range(self) -> tuple[float, float]:
        """The visible (2D) label range: [0, N] (P1), [1, N] with label_start=1, [0, N) on the torus."""
        return float(self.label_start), float(self.image_size)

    @property
    def has_stripes(self) -> bool:
        return "stripes" in self.kind


ALL_LAYERS = tuple(n for n in UNET_LAYERS if n.startswith("layer"))  # the UNet's blocks (attention positions)


@dataclass(frozen=True)
class ModelConfig:
    """The P1 Fig 6 UNet; `base` = 64 with attention everywhere and the big bottleneck is the paper's network."""

    section: ClassVar[str] = "model"

    arch: str = "unet"  # the network (archs.py's registry); the fields below are the UNet's
    base: int = 64  # P1 Fig 6: channels 64-128-256-256
    pe_dim: int = 128  # [INFERRED] PE dims per part (t, µx, µy): 3 × 128 = 384 (docs/papers.md §6 #9)
    attention: tuple[str, ...] = ALL_LAYERS  # P1 Fig 6: self-attention after every Down/Up block
    bottleneck: str = "big"  # dome272 original 256→512→512→256; "light": 256→256→256
    label_encoding: str = "sinusoidal"  # P1: PE of raw µ; "periodic", "periodic_smooth": see unet.sinusoidal
    label_harmonics: int = 2  # [INFERRED] harmonics of "periodic_smooth" (torus ablation)
    padding: str = "zeros"  # "circular": convs and upsampling wrap (torus ablation; unet.CircularUpsample)
    coords: str = "none"  # "periodic": cos/sin(2πi/N), cos/sin(2πj/N) input channels; "linear": CoordConv's
    # i, j ramps (UNet.coordinates)

    def __post_init__(self) -> None:
        p = self.section + "."
        if self.arch not in ARCHS:
            from .archs import get

            get(self.arch)  # the ConfigError naming it, with the closest registered name
        check_number(p + "base", self.base, 4, 512, integer=True)
        if self.base % 4:
            raise ConfigError(p + "base", self.base, "a multiple of 4 (4-head attention)")
        check_number(p + "pe_dim", self.pe_dim, 2, 2048, integer=True)
        if self.pe_dim % 2:
            raise ConfigError(p + "pe_dim", self.pe_dim, "an even number (sin and cos halves)")
        for name in self.attention:
            check_choice(p + "attention", name, ALL_LAYERS)
        check_choice(p + "bottleneck", self.bottleneck, ("big", "light"))
        check_choice(p + "label_encoding", self.label_encoding, ("sinusoidal", "periodic", "periodic_smooth"))
        check_number(p + "label_harmonics", self.label_harmonics, 1, self.pe_dim // 2, integer=True)
        check_choice(p + "padding", self.padding, ("zeros", "circular"))
        check_choice(p + "coords", self.coords, ("none", "periodic", "linear"))


@dataclass(frozen=True)
class DiffusionConfig:
    """Noise schedule and sampler ([INFERRED] dome272 defaults, docs/papers.md §1.2: T = 1000, linear 1e-4 → 0.02)."""

    section: ClassVar[str] = "diffusion"

    timesteps: int = 1000  # T
    schedule: str = "linear"  # "cosine": Nichol & Dhariwal 2021
    beta_start: float = 1e-4
    beta_end: float = 0.02
    scale_betas: bool = True  # for T ≠ 1000 scale both ends by 1000/T (docs/papers.md §4)
    sampler: str = "ddpm"  # ancestral DDPM over all T steps; "ddim": Song et al. 2021
    sample_steps: int = 0  # DDIM steps (0 → T)
    eta: float = 0.0  # DDIM η (0 = deterministic)
    clip_x0: bool = True  # clamp predicted x0 to [−1, 1] in DDIM and DDPM (improved-diffusion's clip_denoised)

    def __post_init__(self) -> None:
        p = self.section + "."
        check_number(p + "timesteps", self.timesteps, 2, 100_000, integer=True)
        check_choice(p + "schedule", self.schedule, ("linear", "cosine"))
        check_number(p + "beta_start", self.beta_start, 0, 1, lo_open=True, hi_open=True)
        check_number(p + "beta_end", self.beta_end, self.beta_start, 1, hi_open=True)
        if self.scale_betas and self.beta_end * 1000 / self.timesteps >= 1:
            raise ConfigError(p + "timesteps", self.timesteps,
                              f"> {self.beta_end * 1000:g} so that the scaled beta_end stays below 1")
        check_choice(p + "sampler", self.sampler, ("ddpm", "ddim"))
        check_number(p + "sample_steps", self.sample_steps, 0, self.timesteps, integer=True)
        check_number(p + "eta", self.eta, 0, 1)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation, EMA, snapshots and checkpoints. P1: 320k steps, an evaluation of 500 samples every 6,400."""

    section: ClassVar[str] = "train"

    steps: int = 320_000  # P1 §2: fixed total training steps
    batch_size: int = 64  # [INFERRED] 64 (docs/papers.md §4)
    lr: float = 3e-4  # [INFERRED] AdamW 3e-4 (dome272)
    weight_decay: float = 0.01  # torch AdamW default
    ema_decay: float = 0.995  # [INFERRED] dome272 EMA; 0 disables
    ema_start: int = 2000  # EMA copies the weights until this step (dome272)
    snapshot_every: int = 6400  # P1 Figs 4, 8: every 6,400 steps + terminal
    # 0 → every snapshot_every steps throughout; else only every this many (a multiple of snapshot_every) up to
    # two thirds of `steps`: for experiments that read only the last third's snapshots (`final`; issue 45)
    early_snapshot_every: int = 0
    eval_samples: int = 500  # P1 §3: 500 generated images per evaluation
    eval_ood_samples: int = 100  # extra samples from the held-out region when the dataset has one
    eval_layers: tuple[str, ...] = ("layer4",)  # P1: the output of layer 4
    checkpoint_every: int = 0  # 0 → at every snapshot
    keep_checkpoints: int = 2  # ≥ 2: one corrupt file never loses the run (RELIABILITY.md §0.2)
    log_every: int = 50
    device: str = "auto"  # auto | cpu | cuda
    # performance options: "auto" = measured on this machine before the first step (tune.py), the choice
    # written into the run's config.yaml; or fixed by the user
    channels_last: bool | str = "auto"  # auto | true | false: NHWC memory format (oneDNN, tensor cores)
    amp: str = "auto"  # auto | none | bf16: autocast the forward pass (fp32 master weights and loss)
    compile: bool | str = "auto"  # auto | true | false | graphs: torch.compile (auto: CUDA only; CPU compiles for
    # minutes); graphs: torch.compile's "reduce-overhead" mode, CUDA graphs for a launch-bound step (CUDA only)
    logger: str = "none"  # none | tensorboard: metrics also as TensorBoard scalars in RUN/tensorboard
    # the closed-form memorizer control (memorizer.py): the exact denoiser of the training set, sampled once per
    # run on the evaluation labels with the snapshots' noise; its label kernel's width in label increments
    memorizer: str = "closed_form"  # closed_form | none
    memorizer_bandwidth: float = 0.25  # [INFERRED] a quarter increment: at a training label it copies that label's
    # own image (≥ 99 %), the best ID accuracy a copier gets; at a held-out one it mixes the nearest training labels
    # a stopping rule (issue 45): "learned" stops training once the accuracy over the detectable labels is at least
    # stop_level at stop_patience snapshots in a row (after step 0); "never" trains all `steps`
    stop_when: str = "never"
    stop_level: float = 0.95
    stop_patience: int = 3

    def __post_init__(self) -> None:
        p = self.section + "."
        for name, lo, hi in (("steps", 1, 10**8), ("batch_size", 1, 65536), ("ema_start", 0, 10**8),
                             ("snapshot_every", 1, 10**8), ("eval_samples", 1, 100_000),
                             ("eval_ood_samples", 0, 100_000), ("checkpoint_every", 0, 10**8),
                             ("keep_checkpoints", 2, 1000), ("log_every", 1, 10**8)):
            check_number(p + name, getattr(self, name), lo, hi, integer=True)
        check_number(p + "lr", self.lr, 0, 1, lo_open=True)
        check_number(p + "weight_decay", self.weight_decay, 0, 1)
        check_number(p + "ema_decay", self.ema_decay, 0, 1, hi_open=True)
        for name in self.eval_layers:  # names a network can record: checked against model.arch by RunConfig
            if not isinstance(name, str) or not name:
                raise ConfigError(p + "eval_layers", name, "layer names")
        check_choice(p + "device", self.device, ("auto", "cpu", "cuda"))
        check_choice(p + "amp", self.amp, ("auto", "none", "bf16"))
        check_choice(p + "channels_last", self.channels_last, ("auto", True, False))
        check_choice(p + "compile", self.compile, ("auto", True, False, "graphs"))
        check_choice(p + "logger", self.logger, ("none", "tensorboard"))
        check_choice(p + "memorizer", self.memorizer, ("closed_form", "none"))
        check_number(p + "memorizer_bandwidth", self.memorizer_bandwidth, 0, 1000, lo_open=True)
        check_choice(p + "stop_when", self.stop_when, ("never", "learned"))
        check_number(p + "stop_level", self.stop_level, 0, 1, lo_open=True)
        check_number(p + "stop_patience", self.stop_patience, 1, 1000, integer=True)
        check_number(p + "early_snapshot_every", self.early_snapshot_every, 0, 10**8, integer=True)
        if self.early_snapshot_every % self.snapshot_every:
            raise ConfigError(p + "early_snapshot_every", self.early_snapshot_every,
                              f"0 or a multiple of train.snapshot_every ({self.snapshot_every})")
        if self.early_snapshot_every and self.stop_when != "never":
            raise ConfigError(p + "early_snapshot_every", self.early_snapshot_every,
                              f"0 with train.stop_when={self.stop_when} (the stopping rule reads every snapshot, "
                              "and a stopped run's last third is not known in advance)")


@dataclass(frozen=True)
class RunConfig:
    """Everything one run needs; written in full to RUN/config.yaml."""

    section: ClassVar[str] = ""

    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        check_number("seed", self.seed, 0, 2**32 - 1, integer=True)
        for name in self.train.eval_layers:
            check_choice("train.eval_layers", name, ARCHS[self.model.arch].layers)


def load_config(path: str | Path, cls: type = RunConfig) -> Any:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError("config", str(path), f"a readable YAML file ({e.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError("config", str(path), "a UTF-8 YAML file", f"{path}: not a text file (undecodable "
                          "as UTF-8): a damaged or binary file where a YAML config belongs") from None
    try:
        return from_dict(cls, parse_yaml(text, str(path)) or {})
    except ConfigError as e:
        if str(path) in str(e):
            raise
        raise ConfigError(e.field, e.value, e.allowed, f"{path}: {e}") from None


def save_config(cfg: Any, path: str | Path) -> Path:
    from .io import atomic_write_text

    return atomic_write_text(path, to_yaml(cfg))


def apply_overrides(cfg: Any, overrides: list[str] | tuple[str, ...] | dict[str, Any]) -> Any:
    """`key=value` strings (as typed on the command line) or a {dotted.key: value} dict, on top of `cfg`."""
    return replace_path(cfg, dict(overrides) if isinstance(overrides, dict) else parse_overrides(overrides))
