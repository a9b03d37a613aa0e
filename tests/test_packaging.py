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
