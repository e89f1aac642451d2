"""The shape of the source tree (DESIGN.md "Target layout"): no import cycle among factordiff's modules, lazy
imports inside functions included; no module over 400 lines; figures compute nothing."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "factordiff"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every factordiff module `path` imports, at module level or inside a function."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        out |= {n for n in names if n in modules and n != me}
    return out


def graph() -> dict[str, set[str]]:
    paths = sorted(SRC.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    return {module_name(p): imports_of(p, modules) for p in paths}


def find_cycle(g: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(g.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state and (c := visit(m)):
                return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(g):
        if n not in state and (c := visit(n)):
            return c
    return None


def test_no_import_cycle():
    g = graph()
    assert "factordiff.train" in g and "factordiff.evaluate" in g["factordiff.train"]  # the graph is real
    assert find_cycle(g) is None, " → ".join(find_cycle(g))


def test_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_over_400_lines():
    long = {module_name(p): n for p in SRC.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert not long, long


def test_figures_compute_nothing():
    """figures.py and plot.py import no analysis, inference or simulation."""
    g = graph()
    banned = {"factordiff.analysis", "factordiff.analyze", "factordiff.evaluate", "factordiff.diffusion",
              "factordiff.unet", "factordiff.analysis.embed", "factordiff.analysis.percolation"}
    for mod in ("factordiff.figures", "factordiff.plot"):
        assert not g[mod] & banned, (mod, g[mod] & banned)


def test_every_module_is_named_in_the_layout_page():
    """docs/layout.md says what each module owns: a module it does not name (by file name or stem) is a page
    that is no longer true."""
    import re

    page = (SRC.parents[1] / "docs" / "layout.md").read_text()
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*(?:\.py)?", page))
    missing = sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
                     if p.name not in words and p.stem not in words)
    assert not missing, f"modules docs/layout.md does not name: {missing}"
