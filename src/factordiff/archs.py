"""The model registry: `model.arch` names a denoising network, built through this one table. A network declares
the layers it can record (named submodules whose outputs `diffusion.capture` reads) and the inductive bias it
adds, in one line. Adding one is a module with the network, one `register` line below and a test
(docs/extending.md walks through it). Light on purpose: the config validates `model.arch` against this table
without importing torch; the builder is imported only when a network is built."""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass

from .errors import ConfigError

# P1 Fig 6's UNet (unet.py): the stem, three down blocks, the bottleneck, three up blocks
UNET_LAYERS = ("inc", "layer0", "layer1", "layer2", "bottleneck", "layer3", "layer4", "layer5")


@dataclass(frozen=True)
class Arch:
    """A registered network: `builder` is "module:callable" taking (ModelConfig, image_size) and returning a
    module called as net(x_t, t, labels) → ε̂ (B, 1, N, N); `layers` the names it can record; `bias` the inductive
    bias it adds, in one line (what the inductive-bias bench compares)."""

    name: str
    builder: str
    layers: tuple[str, ...]
    bias: str


ARCHS: dict[str, Arch] = {}


def register(arch: Arch) -> Arch:
    """Add a network to the registry (a name taken is refused: replacing a network silently would change what
    a saved run's `model.arch` means)."""
    if arch.name in ARCHS and ARCHS[arch.name] != arch:
        raise ConfigError("model.arch", arch.name, "a name not registered yet")
    if ":" not in arch.builder or not arch.layers:
        raise ConfigError("Arch", arch.name, "a builder 'module:callable' and at least one recordable layer")
    ARCHS[arch.name] = arch
    return arch


def unregister(name: str) -> None:
    ARCHS.pop(name, None)


def get(name: str) -> Arch:
    """The registered network `name`; a ConfigError naming it, with the closest name, otherwise."""
    if name not in ARCHS:
        close = difflib.get_close_matches(name, list(ARCHS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError("model.arch", name, "one of " + ", ".join(ARCHS),
                          f"model.arch: unknown network {name!r}{hint} (registered: {', '.join(ARCHS)})")
    return ARCHS[name]


def build(model_cfg, image_size: int):
    """The network `model_cfg.arch` names, built for `image_size` (imports its module only now)."""
    arch = get(model_cfg.arch)
    module, _, attr = arch.builder.partition(":")
    return getattr(importlib.import_module(module), attr)(model_cfg, image_size)


register(Arch("unet", "factordiff.unet:UNet", UNET_LAYERS,
              "P1 Fig 6 (dome272): convolutions and self-attention, PE(t) ⊕ PE(x) ⊕ PE(y) added after every block"))
register(Arch("unet-rendered", "factordiff.variants:RenderedUNet", UNET_LAYERS,
              "rendered conditioning: µx, µy also drawn as two 1-D Gaussian profile channels beside x_t"))
register(Arch("unet-rendered-learned", "factordiff.variants:LearnedRenderUNet", UNET_LAYERS,
              "learned rendering: two 1-D profile channels beside x_t, each an MLP of PE(µx) resp. PE(µy)"))
register(Arch("dit", "factordiff.dit:DiT", ("inc", *(f"layer{i}" for i in range(6))),
              "a transformer (DiT, adaLN-Zero): no convolution; position only as a learned embedding per 2 × 2 patch"))
register(Arch("unet-separate", "factordiff.variants:SeparateUNet", UNET_LAYERS,
              "separate pathways: PE(µx) reaches only half of each block's channels, PE(µy) only the other half"))
