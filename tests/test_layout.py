"""The package's shape: steps as packages, no import cycles, small modules and functions, a
curated public namespace, and the short public names still importable."""

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import gapkit

PACKAGE = Path(gapkit.__file__).resolve().parent
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 80


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "notebooks" in path.parts:
            continue
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The gapkit modules a file imports, at the top or inside functions (a cycle hidden in a
    function is still a cycle)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:  # `from gapkit.report import plots`: the module plots
                if f"{node.module}.{alias.name}" in modules:
                    out.add(f"{node.module}.{alias.name}")
                elif node.module in modules:
                    out.add(node.module)
        elif isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names if alias.name in modules}
    return out


def _graph():
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def test_the_library_is_laid_out_by_step():
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert {"contract", "measure", "monitor", "desired", "analysis", "impact", "report", "pipeline"} <= packages
    flat = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
    assert flat == ["cli", "config", "datasets", "errors"], flat


def test_no_module_imports_a_package_face_or_the_top_level_from_inside():
    # package __init__ files re-export for users; inside gapkit a module imports from the module
    # that defines a name, so the re-exports cannot close a cycle
    faces = {name for name, path in _modules().items() if path.name == "__init__.py"}
    for name, imported in _graph().items():
        if _modules()[name].name == "__init__.py":
            continue
        assert not (imported & faces), f"{name} imports {sorted(imported & faces)}"


def test_there_are_no_import_cycles():
    graph = {name: edges for name, edges in _graph().items() if _modules()[name].name != "__init__.py"}
    index, low, stack, on_stack, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(node):  # Tarjan's strongly connected components
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for edge in graph.get(node, ()):
            if edge not in graph:
                continue
            if edge not in index:
                visit(edge)
                low[node] = min(low[node], low[edge])
            elif edge in on_stack:
                low[node] = min(low[node], index[edge])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in graph:
        if node not in index:
            visit(node)
    assert cycles == []


def test_modules_and_functions_stay_small():
    long_modules, long_functions = [], []
    for name, path in _modules().items():
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MAX_MODULE_LINES:
            long_modules.append((name, len(text.splitlines())))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                size = node.end_lineno - node.lineno + 1
                if size > MAX_FUNCTION_LINES:
                    long_functions.append((name, node.name, size))
    assert long_modules == [] and long_functions == []


def test_the_public_namespace_is_curated():
    listed = set(dir(gapkit))
    assert {"load", "kpis", "catalog", "goals", "gaps", "impact", "money", "monitor", "plots"} <= listed
    internal = {"kernel", "parsing", "reading", "ar1", "sql", "overview", "_kernel", "_parsing", "_duckdb"}
    assert not (listed & internal)
    with pytest.raises(AttributeError):
        gapkit.parsing  # noqa: B018


@pytest.mark.parametrize("short", sorted(gapkit.PUBLIC_MODULES))
def test_every_short_name_is_the_module_it_names(short):
    module = getattr(gapkit, short)
    assert importlib.import_module(f"gapkit.{short}") is module
    assert module.__name__ == gapkit.PUBLIC_MODULES[short]


def test_an_old_import_path_of_a_public_module_still_works():
    code = ("from gapkit.goals import smart; import gapkit.monitor; from gapkit.kpi_catalog import KPIS; "
            "import gapkit.desired.goals as real; assert smart is real.smart; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr
