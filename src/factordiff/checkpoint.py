"""Checkpoints: a directory per step with safetensors files and a manifest (sha256 of each file) written last.

A directory without a manifest was never committed and is ignored; a file whose sha256 differs from the
manifest is refused with an error naming it, and resume falls back to the previous retained checkpoint.
Nothing is unpickled: weights, EMA and optimizer tensors are safetensors, the rest is JSON.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch

from .errors import CheckpointError
from .io import atomic_write_json, check_free_space, save_tensors, sha256_file

FORMAT_VERSION = 1
FILES = ("model.safetensors", "ema.safetensors", "optimizer.safetensors")


def _flatten_optimizer(state: dict) -> tuple[dict[str, torch.Tensor], list]:
    tensors = {f"{pid}.{key}": torch.as_tensor(value) for pid, st in state["state"].items()
               for key, value in st.items()}
    return tensors, state["param_groups"]


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], groups: list) -> dict:
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        pid, key = name.split(".", 1)
        state.setdefault(int(pid), {})[key] = value
    return {"state": state, "param_groups": groups}


def save_checkpoint(root: Path, step: int, model, ema, optimizer, meta: dict, keep: int = 2) -> Path:
    """Write checkpoints/step_XXXXXXXX/{model,ema,optimizer}.safetensors, then manifest.json; prune to `keep`."""
    d = Path(root) / f"step_{step:08d}"
    opt_tensors, groups = _flatten_optimizer(optimizer.state_dict())
    parts = (model.state_dict(), ema.state_dict(), opt_tensors)
    size = sum(t.numel() * t.element_size() for part in parts for t in part.values())
    check_free_space(root, 2 * size + (1 << 20), f"checkpoint step {step}")  # margin ×2 (RELIABILITY §0.9)
    if (d / "manifest.json").exists():
        try:
            load_checkpoint(d)
            return d  # this step is already committed (the state of a step is deterministic)
        except CheckpointError:
            pass  # a damaged copy: rewrite it
    if d.exists():
        shutil.rmtree(d)  # debris of an interrupted write, or a damaged copy
    d.mkdir(parents=True, exist_ok=True)
    try:
        for name, part in zip(FILES, parts):
            save_tensors(d / name, part)
    except BaseException:
        shutil.rmtree(d, ignore_errors=True)  # never committed (no manifest): leave no debris
        raise
    manifest = {"format_version": FORMAT_VERSION, "step": step, "param_groups": groups,
                "sha256": {name: sha256_file(d / name) for name in FILES}, **meta}
    atomic_write_json(d / "manifest.json", manifest)  # the commit marker
    for old in list_checkpoints(root)[:-keep]:
        trash = old.with_name(f".tmp-{old.name}")  # uncommit atomically first: a kill mid-delete leaves debris
        os.replace(old, trash)                       # under a temporary name, never a half-deleted checkpoint
        shutil.rmtree(trash, ignore_errors=True)
    return d


def list_checkpoints(root: Path) -> list[Path]:
    """Committed checkpoint directories (with a manifest), oldest first, by step number."""
    root = Path(root)
    if not root.exists():
        return []
    return sorted((d for d in root.glob("step_*") if (d / "manifest.json").exists()), key=lambda d: d.name)


def load_checkpoint(d: Path, *, verify: bool = True) -> dict:
    """{'manifest', 'model', 'ema', 'optimizer'} or CheckpointError naming the bad file."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    d = Path(d)
    try:
        manifest = json.loads((d / "manifest.json").read_text())
    except (OSError, ValueError) as e:
        raise CheckpointError(f"checkpoint {d / 'manifest.json'} is unreadable: {e}") from None
    if manifest.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"checkpoint {d} has format {manifest.get('format_version')!r}, "
                              f"this factordiff reads {FORMAT_VERSION}")
    out = {"manifest": manifest}
    for name in FILES:
        path = d / name
        if verify and (not path.exists() or sha256_file(path) != manifest["sha256"].get(name)):
            raise CheckpointError(f"checkpoint file {path} is missing or corrupt (sha256 differs from the manifest)")
        try:
            out[name.split(".")[0]] = load_file(str(path))
        except (OSError, SafetensorError) as e:
            raise CheckpointError(f"checkpoint file {path} is unreadable: {e}") from None
    out["optimizer"] = _unflatten_optimizer(out["optimizer"], manifest["param_groups"])
    return out


def latest_valid(root: Path, warn=print) -> dict | None:
    """The newest checkpoint that loads and verifies; corrupt ones are reported and skipped."""
    for d in reversed(list_checkpoints(root)):
        try:
            return load_checkpoint(d)
        except CheckpointError as e:
            warn(f"factordiff: warning: {e}; trying the previous checkpoint")
    return None
