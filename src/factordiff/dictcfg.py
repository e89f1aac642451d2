"""Frozen dataclass configs as plain data and YAML, with strict types: `from_dict` (unknown keys refused with a
did-you-mean, no bool for an int, no string for a float, NaN and infinity named), `to_dict`, `to_yaml`, and
`key=value` overrides on a nested config (`parse_overrides`, `replace_path`). Generic: config.py declares the
configs and re-exports these."""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Any

import yaml

from .errors import ConfigError
from .yamlio import parse_yaml


def _coerce(name: str, tp: Any, value: Any) -> Any:
    """Check `value` against the annotation `tp` (strict: no bool for int, no str for float)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        for tp_i in inner[:-1]:  # e.g. bool | str: the first type the value is
            if isinstance(value, tp_i):
                return _coerce(name, tp_i, value)
        return _coerce(name, inner[-1], value)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(name, value, "a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(name, args[0], v) for v in value)
        if len(value) != len(args):
            raise ConfigError(name, value, f"a list of {len(args)} values")
        return tuple(_coerce(name, a, v) for a, v in zip(args, value))
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, prefix=name + ".")
    if tp is bool and not isinstance(value, bool):
        raise ConfigError(name, value, "true or false")
    if tp is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(name, value, "an integer")
    if tp is float:
        if isinstance(value, str) and value.strip().lower().lstrip("+-.") in ("nan", "inf", "infinity"):
            raise ConfigError(name, value, "a finite number", f"{name}: must be a finite number (got {value!r}: "
                              "NaN and infinity are not allowed)")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(name, value, "a number")
        return float(value)
    if tp is str and not isinstance(value, str):
        raise ConfigError(name, value, "a string")
    return value


def _unknown_key(prefix: str, key: str, known: list[str]) -> ConfigError:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"; did you mean '{prefix}{close[0]}'?" if close else ""
    allowed = "one of " + ", ".join(known)
    return ConfigError(prefix + key, key, allowed, f"{prefix}{key}: unknown key{hint} (allowed: {', '.join(known)})")


def from_dict(cls: type, data: Any, prefix: str = "") -> Any:
    """Build the dataclass `cls` from plain data; unknown keys and wrong types are errors."""
    if not isinstance(data, dict):
        raise ConfigError(prefix.rstrip(".") or cls.__name__, data, "a mapping of key: value")
    hints = typing.get_type_hints(cls)
    known = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        if key not in known:
            raise _unknown_key(prefix, str(key), known)
        kwargs[key] = _coerce(prefix + key, hints[key], value)
    return cls(**kwargs)


def to_dict(cfg: Any) -> dict[str, Any]:
    """Plain data (lists for tuples) with every default written out."""
    out = {}
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        out[f.name] = to_dict(v) if dataclasses.is_dataclass(v) else list(v) if isinstance(v, tuple) else v
    return out


def to_yaml(cfg: Any) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False, default_flow_style=None)


def replace_path(cfg: Any, updates: dict[str, Any]) -> Any:
    """Apply {dotted.key: value} to a (nested) frozen config; the result is validated again."""
    data = to_dict(cfg)
    for dotted, value in updates.items():
        node, parts = data, dotted.split(".")
        for i, part in enumerate(parts):
            prefix = ".".join(parts[:i])
            prefix = prefix + "." if prefix else ""
            if not isinstance(node, dict) or part not in node:
                raise _unknown_key(prefix, part, list(node) if isinstance(node, dict) else [])
            if i == len(parts) - 1:
                node[part] = list(value) if isinstance(value, tuple) else value
            else:
                node = node[part]
    return from_dict(type(cfg), data)


def parse_overrides(overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    updates = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError("override", item, "key=value, e.g. data.sigma=0.5")
        updates[key.strip()] = parse_yaml(raw, key) if raw.strip() else raw
    return updates
