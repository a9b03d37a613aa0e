"""Every docstring example pastes: each runs on its own after ``import gapkit``, in an empty
folder, and shows what the docstring says it shows.

Each docstring is its own doctest (as ``pytest --doctest-modules gapkit`` runs them): the only
name at hand is ``gapkit``; data comes from ``gapkit.datasets.sample()`` and the configuration
from ``gapkit.datasets.sample_config()``, never from a path of the checkout. Outputs are
compared with ELLIPSIS and NORMALIZE_WHITESPACE: short outputs in full, long tables by their
header line. Examples that start a kernel, a Spark session or write a report are marked
``+SKIP`` in the docstring itself.
"""

import doctest
import importlib
import pkgutil

import matplotlib
import pytest

matplotlib.use("Agg")

import gapkit  # noqa: E402

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
#: not importable without a running kernel's modules, or the command line's entry module
NOT_IMPORTED = {"gapkit.sample.__main__"}
MODULES = ["gapkit", *sorted(m.name for m in pkgutil.walk_packages(gapkit.__path__, "gapkit.")
                             if m.name not in NOT_IMPORTED and not m.name.startswith("gapkit.notebooks"))]


def _docstrings(name):
    module = importlib.import_module(name)
    return [t for t in doctest.DocTestFinder(exclude_empty=True).find(module, name) if t.examples]


@pytest.mark.parametrize("name", MODULES)
def test_examples_paste_and_show_what_they_say(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an empty folder: no data/sample, no gapkit.yml at hand
    failures = []
    for test in _docstrings(name):
        test.globs = {"gapkit": gapkit}
        runner = doctest.DocTestRunner(optionflags=FLAGS)
        report = []
        runner.run(test, out=report.append)
        if runner.failures:
            failures.append("".join(report))
    assert not failures, "\n".join(failures)[:6000]


def test_most_public_functions_show_an_example():
    documented = sum(len(_docstrings(name)) for name in MODULES)
    assert documented >= 80
