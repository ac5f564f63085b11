"""The package's structure (docs/architecture.md): layers import downward only, no module
imports another that imports it back, and the command line starts without the heavy
libraries.

Imports are read from the source (every ``import`` statement, function-level and
``TYPE_CHECKING`` ones included), so a cycle hidden inside a function still fails.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sim"

LAYERS = ("errors", "scenario", "world", "market", "policy", "benchmark", "enterprise",
          "model", "run", "charts", "sweep", "app", "cli")
"""Bottom to top: a module may import only from its own layer or those before it
(``sim`` itself, the version and instrument ids, is below them all)."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (``from a import b`` counts as a.b when
    a.b is a module, else as a)."""
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.split(".")[0] == "sim")
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[:len(package.split(".")) - node.level + 1]
                    target = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    target = node.module or ""
                if target.split(".")[0] != "sim":
                    continue
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    deps.add(full if full in paths else target)
        graph[name] = {d for d in deps if d in paths and d != name}
    return graph


def layer_of(module: str) -> int:
    parts = module.split(".")
    return -1 if len(parts) == 1 else LAYERS.index(parts[1])


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while (w := stack.pop()) != v:
                component.append(w)
            if component:
                found.append(sorted([v, *component]))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_every_module_belongs_to_a_layer():
    stray = [m for m in import_graph() if m.count(".") >= 1
             and m.split(".")[1] not in LAYERS]
    assert stray == []


def test_no_module_imports_one_that_imports_it_back():
    assert cycles(import_graph()) == []


def test_the_cycle_check_finds_a_cycle_hidden_in_a_function():
    graph = {"sim.a": {"sim.b"}, "sim.b": {"sim.c"}, "sim.c": {"sim.a"}, "sim.d": set()}
    assert cycles(graph) == [["sim.a", "sim.b", "sim.c"]]


def test_layers_import_downward_only():
    upward = [(a, b) for a, deps in import_graph().items() for b in deps
              if layer_of(b) > layer_of(a)]
    assert upward == []


def test_no_helper_of_the_model_receives_the_whole_model():
    """Rules receive the world and state they read and write (docs/architecture.md):
    below the model layer nothing names the model class."""
    below = [p for p in PACKAGE.rglob("*.py")
             if layer_of(module_name(p)) < LAYERS.index("model")]
    naming = [str(p.relative_to(PACKAGE)) for p in below
              if "EmissionsTradingModel" in p.read_text(encoding="utf-8")]
    assert naming == []


MAX_MODULE_LINES = 500
"""Issue 18's limit: a module longer than this owns more than one idea; split it."""


def test_no_module_is_longer_than_the_limit():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert long == {}


@pytest.mark.parametrize("args", [["--help"], ["validate", "scenarios/baseline.toml"]])
def test_the_command_line_starts_without_the_heavy_libraries(args):
    """`etsim --help` and `etsim validate` import none of matplotlib, duckdb, dask,
    solara, scipy or mesa (the scenario layer reads its reference tables with pandas)."""
    probe = ("import sys\nfrom sim.cli.main import app\n"
             f"try:\n    app({args!r})\nexcept SystemExit:\n    pass\n"
             "heavy = [m for m in ('matplotlib', 'duckdb', 'dask', 'distributed', 'solara', "
             "'scipy', 'mesa') if m in sys.modules]\nprint(heavy)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         cwd=PACKAGE.parent, check=True).stdout.strip().splitlines()[-1]
    assert out == "[]"
