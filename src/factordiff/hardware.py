"""What a number was measured on: the CPU (model, vector extensions), GPU, torch and threads."""

from __future__ import annotations

import torch


def device_name(dev: torch.device) -> str:
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    return f"{machine()['cpu']}, {torch.get_num_threads()} threads"


def machine() -> dict:
    """What a number was measured on: CPU model, cores, the vector extensions that matter for speed, the GPU,
    torch's version and threads (every benchmark and recording names its machine)."""
    import os
    import platform

    info: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                k, _, v = line.partition(":")
                info.setdefault(k.strip(), v.strip())
                if k.strip() == "flags":
                    break
    except OSError:
        pass
    model = info.get("model name") or platform.processor() or platform.machine()
    if "cpu family" in info:
        model += f" (family {info['cpu family']} model {info.get('model', '?')})"
    flags = set(info.get("flags", "").split())
    wanted = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile")
    return {"cpu": model, "cores": os.cpu_count(), "cpu_flags": [f for f in wanted if f in flags],
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "torch": torch.__version__, "threads": torch.get_num_threads()}
