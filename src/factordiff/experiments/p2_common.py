"""What the P2 experiments share: the cpu-scale overrides (P2's pixel ranges halved with the image) and the
sweep-spec helper."""

from __future__ import annotations

from .base import spec

# At cpu scale images are N = 16 (P2: 32) with P2's pixels (σ = 1, d = 1), so ranges given as a share of the
# canvas are halved: cross 13–19 → 6.5–9.5 (3 px = 3σ wide, P2's is 6σ), canvas margin 6 → 3, rim band 2 → 1;
# lesion widths stay in pixels where they fit (p2_lesion). Every cpu run trains the cpu preset's steps.
P2_CPU = {"data.canvas_margin": 3, "data.rim_width": 1.0, "train.eval_ood_samples": 100}
FAST = {"grid": 0, "topology": "none"}


def p2_spec(cpu: dict, paper: dict) -> dict[str, dict]:
    return spec(cpu, paper, cpu_overrides=P2_CPU)
