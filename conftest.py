"""For ``pytest --doctest-modules gapkit``: each docstring example runs after ``import gapkit``
in an empty folder, as tests/test_docstrings.py runs them."""

import pytest

collect_ignore = ["gapkit/sample/__main__.py"]


@pytest.fixture(autouse=True)
def _doctest_as_pasted(request):
    if type(request.node).__name__ != "DoctestItem":
        return
    import matplotlib

    matplotlib.use("Agg")
    import gapkit

    request.getfixturevalue("doctest_namespace")["gapkit"] = gapkit
    request.getfixturevalue("monkeypatch").chdir(request.getfixturevalue("tmp_path"))
