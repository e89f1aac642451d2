"""What the P2 experiments share: the cpu-scale overrides (P2's pixel ranges halved with the image) and the
sweep-spec helper."""

from __future__ import annotations

from .base import spec

# At cpu scale images are N = 16 (P2: 32), so P2's pixel ranges are halved: cross 13–19 → 6.5–9.5, canvas
# margin 6 → 3, rim band 2 → 1, lesion widths 1 / 3.5 / 8 → 0.5 / 1.75 / 4. Every cpu run trains the cpu
# preset's 2,500 steps: at 1,500 an N = 16 run is still climbing, which would make the data-efficiency
# verdicts measure the step budget instead of the data.
P2_CPU = {"data.canvas_margin": 3, "data.rim_width": 1.0, "train.eval_ood_samples": 100}
FAST = {"grid": 0, "topology": "none"}


def p2_spec(cpu: dict, paper: dict) -> dict[str, dict]:
    return spec(cpu, paper, cpu_overrides=P2_CPU)
