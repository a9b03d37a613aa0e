"""Every docstring example runs: the examples are what a reader copies first.

Each module's examples run in order in one namespace (the module docstring's first, so its
``data`` or ``result`` serve the functions' examples), from the repository root, with
``gapkit``, ``np``, ``pd``, the sample ``data``, its ``config`` and ``as_of`` at hand. An example
that raises fails the test; what it prints is not compared (figures change with the sample).
"""

import doctest
import importlib
import os
import pkgutil
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

import gapkit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# start kernels or write reports and notebooks into the working folder
SKIP = {"gapkit.pipeline._kernel", "gapkit.pipeline.runner", "gapkit.pipeline.lab", "gapkit.cli", "gapkit.report.notebook"}
MODULES = sorted(m.name for m in pkgutil.walk_packages(gapkit.__path__, "gapkit.") if m.name not in SKIP
                 and not m.name.startswith("gapkit.notebooks") and not m.name.endswith("__main__"))


@pytest.fixture(scope="module")
def namespace():
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    os.chdir(ROOT)
    data = gapkit.load("data/sample")
    yield {"gapkit": gapkit, "np": np, "pd": pd, "plt": plt, "data": data, "as_of": "2025-06-30",
           "config": gapkit.config.read("gapkit.yml")}
    plt.close("all")


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name, namespace):
    module = importlib.import_module(name)
    tests = doctest.DocTestFinder(exclude_empty=True).find(module, name)
    tests.sort(key=lambda t: (t.name != name, t.lineno or 0))  # the module's own example first
    scope = dict(namespace)
    for test in tests:
        for example in test.examples:
            if example.options.get(doctest.SKIP):
                continue
            try:
                exec(compile(example.source, f"<{test.name}>", "exec"), scope)
            except Exception as error:  # noqa: BLE001 - the message says which example
                pytest.fail(f"{test.name}: {example.source.strip()!r} raised {type(error).__name__}: {error}")
