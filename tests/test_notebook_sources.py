"""The notebooks' sources: percent-format .py files, in step with the executed .ipynb, and linted."""

import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

from gapkit.pipeline.runner import NOTEBOOKS, SOURCE_NOTEBOOKS, notebook_cells

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from refresh_notebooks import sync_notebook_sources  # noqa: E402  (a developer script, not in the package)

HERE = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.mark.parametrize("name", SOURCE_NOTEBOOKS)
def test_each_notebook_says_what_its_source_says(name):
    source = jupytext.read(HERE / f"{name}.py", fmt="py:percent")
    stored = nbformat.read(HERE / f"{name}.ipynb", as_version=4)
    assert notebook_cells(stored) == notebook_cells(source), (
        f"{name}.ipynb differs from {name}.py: edit the .py, then run `make notebooks`")
    assert notebook_cells(source)[1][2] == ("parameters",)  # papermill's parameters cell comes right after the title


def test_an_edited_source_rebuilds_its_notebook(tmp_path):
    for name in SOURCE_NOTEBOOKS:
        shutil.copy(HERE / f"{name}.py", tmp_path)
        shutil.copy(HERE / f"{name}.ipynb", tmp_path)
    assert sync_notebook_sources(tmp_path, progress=lambda line: None) == []
    source = tmp_path / f"{NOTEBOOKS[0]}.py"
    source.write_text(source.read_text() + "\n# %%\nprint('added')\n")
    assert sync_notebook_sources(tmp_path, progress=lambda line: None) == [NOTEBOOKS[0]]
    rebuilt = nbformat.read(tmp_path / f"{NOTEBOOKS[0]}.ipynb", as_version=4)
    assert rebuilt.cells[-1].source == "print('added')" and rebuilt.cells[-1].outputs == []
    assert rebuilt.metadata["kernelspec"]["name"] == "python3"


def test_the_notebook_sources_pass_the_linter():
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(HERE)], capture_output=True,
                          text=True, cwd=HERE.parent)
    assert done.returncode == 0, done.stdout + done.stderr
