"""YAML the way configs need it: PyYAML's safe loader with YAML 1.2 floats, errors as ConfigError."""

from __future__ import annotations

import re
from typing import Any

import yaml

from .errors import ConfigError

MAX_NODES = 100_000  # a config or sweep spec expands to at most this many YAML nodes (aliases counted expanded)


class _Loader(yaml.SafeLoader):
    """A safe loader with YAML 1.2 floats (`1e-3` is a float, not the string PyYAML 1.1 makes of it) that refuses,
    before constructing anything, a document whose aliases expand past MAX_NODES nodes (a "billion laughs"
    bomb: 9 aliases of 9 aliases … took 16–41 s and gigabytes before)."""

    def compose_document(self):
        node = super().compose_document()
        if _expanded(node, {}) > MAX_NODES:
            raise yaml.YAMLError(f"the document's anchors and aliases expand past {MAX_NODES:,} nodes (an alias bomb?)")
        return node


def _expanded(node, seen: dict) -> int:
    """How many nodes `node` stands for once every alias is expanded (memoised: the graph stays small)."""
    key = id(node)
    if key not in seen:
        seen[key] = 1  # a recursive alias counts once more per visit at most: no infinite loop
        if isinstance(node, yaml.SequenceNode):
            seen[key] = 1 + sum(_expanded(n, seen) for n in node.value)
        elif isinstance(node, yaml.MappingNode):
            seen[key] = 1 + sum(_expanded(k, seen) + _expanded(v, seen) for k, v in node.value)
        seen[key] = min(seen[key], MAX_NODES + 1)
    return seen[key]


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                |\.[0-9_]+(?:[eE][-+][0-9]+)?
                |[-+]?\.(?:inf|Inf|INF)
                |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."),
)


def parse_yaml(text: str, source: str = "<string>") -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader subclass
    except yaml.YAMLError as e:
        raise ConfigError(source, text[:80], f"valid YAML (safe subset, no python tags, no alias bombs): "
                          f"{str(e)[:300]}") from None
