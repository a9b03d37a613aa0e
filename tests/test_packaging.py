"""pyproject.toml is the single source of dependencies; environment.yml must list the same."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"duckdb": "python-duckdb"}


def names(requirements):
    return {re.split(r"[<>=!~ \[]", r, maxsplit=1)[0].lower() for r in requirements}


def test_environment_yml_lists_the_runtime_dependencies_of_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = set(), set()
    for item in env["dependencies"]:
        if isinstance(item, dict):
            pip |= names(p for p in item["pip"] if not p.startswith("-e"))
        else:
            conda |= names([item])
    for package in names(project["dependencies"]):
        assert CONDA_NAMES.get(package, package) in conda | pip, package
    assert any(p.startswith("-e") for item in env["dependencies"] if isinstance(item, dict) for p in item["pip"])


def test_every_package_gapkit_imports_is_declared():
    """A direct import resting on another package's requirements breaks the day that package
    drops it: each third-party module imported under gapkit/ belongs to a declared distribution
    (the core list, or the extra that needs it)."""
    import sys
    from importlib.metadata import packages_distributions

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = names(project["dependencies"]) | {n for extra in project["optional-dependencies"].values()
                                                 for n in names(extra)}
    import ast

    modules = set()
    for path in (ROOT / "gapkit").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    third_party = {m for m in modules if m not in sys.stdlib_module_names and m not in ("gapkit", "__future__")}
    owners = packages_distributions()
    undeclared = {}
    for module in sorted(third_party):
        # a module of an extra not installed here (pyspark) is known by its own name
        distributions = {d.lower().replace("_", "-") for d in owners.get(module, [module])}
        if not distributions & {d.replace("_", "-") for d in declared}:
            undeclared[module] = sorted(distributions) or ["not installed"]
    assert undeclared == {}, undeclared


def test_the_wheel_lists_every_package_of_the_source_tree():
    # a subpackage missing here is missing from the wheel, and an installed gapkit cannot import it
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "gapkit").rglob("__init__.py")}
    assert found <= listed, sorted(found - listed)
