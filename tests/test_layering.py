"""Data flows one way: every import of the project's packages points down the layers.

    core  <-  ingest, prompts  <-  assistant  <-  evals, app  <-  cli

The test walks every module's AST (module-level, function-level and ``TYPE_CHECKING``
imports alike) and lists each import that points up or sideways between layers, and every
cycle between modules. ``benchmarks/`` and ``tests/`` sit outside the rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Layer of each top-level package or module; a module may import only strictly lower layers
# (or its own package). Same-layer neighbours (ingest/prompts, evals/app) are independent.
LAYERS: dict[str, int] = {
    "core": 0,
    "ingest": 1,
    "prompts": 1,
    "assistant": 2,
    "evals": 3,
    "app": 3,
    "cli": 4,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _project_modules() -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for top in LAYERS:
        pkg = REPO / top
        if pkg.is_dir():
            for path in sorted(pkg.rglob("*.py")):
                mods[_module_name(path)] = path
        elif (REPO / f"{top}.py").exists():
            mods[top] = REPO / f"{top}.py"
    return mods


def _imports(name: str, path: Path, known: set[str]) -> list[tuple[int, str]]:
    """(line, imported project module) for every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_pkg = path.name == "__init__.py"
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against this module's package
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_pkg else 0)]
                mod = ".".join([*base, node.module] if node.module else base)
            else:
                mod = node.module or ""
            # "from pkg import sub" imports the submodule when one exists
            targets = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in known else mod for a in node.names]
        for t in targets:
            # the longest known module the import names
            parts = t.split(".")
            while parts and ".".join(parts) not in known:
                parts.pop()
            if parts:
                out.append((node.lineno, ".".join(parts)))
    return out


def _graph() -> dict[str, list[tuple[int, str]]]:
    mods = _project_modules()
    known = set(mods)
    return {name: _imports(name, path, known) for name, path in mods.items()}


def layer_violations(graph: dict[str, list[tuple[int, str]]]) -> list[str]:
    bad = []
    for mod, imps in graph.items():
        top = mod.split(".")[0]
        for line, target in imps:
            ttop = target.split(".")[0]
            if ttop != top and LAYERS[ttop] >= LAYERS[top]:
                bad.append(f"{mod}:{line} imports {target} ({top} -> {ttop})")
    return bad


def cycles(graph: dict[str, list[tuple[int, str]]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    edges = {m: sorted({t for _, t in imps if t != m}) for m, imps in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, []):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def _parents(graph: dict[str, list[tuple[int, str]]]) -> dict[str, list[tuple[int, str]]]:
    """The graph without edges from a package ``__init__`` to its own submodules."""
    return {m: [(ln, t) for ln, t in imps if not t.startswith(m + ".")] for m, imps in graph.items()}


def test_imports_point_down_the_layers() -> None:
    bad = layer_violations(_graph())
    assert not bad, "imports that point up or sideways:\n" + "\n".join(bad)


def test_no_two_modules_import_each_other() -> None:
    found = cycles(_parents(_graph()))
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_the_walker_sees_every_kind_of_import(tmp_path: Path) -> None:
    """The checker itself: an upward import inside a function or TYPE_CHECKING block counts."""
    graph = {
        "ingest.x": [(3, "assistant.service")],
        "assistant.a": [(1, "assistant.b")],
        "assistant.b": [(1, "assistant.a")],
        "core.settings": [],
    }
    assert layer_violations(graph) == ["ingest.x:3 imports assistant.service (ingest -> assistant)"]
    assert cycles(graph) == [["assistant.a", "assistant.b"]]
    src = tmp_path / "m.py"
    src.write_text(
        "from typing import TYPE_CHECKING\n"
        "def f():\n    from assistant import service\n"
        "if TYPE_CHECKING:\n    from evals.runner import Outcome\n"
    )
    got = _imports("ingest.m", src, {"assistant", "assistant.service", "evals.runner"})
    assert got == [(3, "assistant.service"), (5, "evals.runner")]


@pytest.mark.parametrize("top", sorted(LAYERS))
def test_every_layer_exists(top: str) -> None:
    assert (REPO / top).is_dir() or (REPO / f"{top}.py").exists()
