"""Fixtures shared by the end-to-end tests."""

import pytest
from _postgres import postgres  # noqa: F401  (the session's PostgreSQL server, for tests that ask for it)

from gapkit.pipeline import runner
from gapkit.pipeline._kernel import SharedKernel


@pytest.fixture(scope="module")
def kernel():
    """One kernel for a module's runs: each run clears its namespace, so runs stay independent."""
    shared = SharedKernel(runner.NOTEBOOK_DIR)
    yield shared
    shared.shutdown()


@pytest.fixture(scope="session")
def sample_dir():
    """The committed sample input folder."""
    from pathlib import Path

    return Path(__file__).resolve().parents[1] / "data" / "sample"


#: Modules whose tests run the notebook suite, a kernel, a Spark session or an install: the slow
#: tier. `make test-fast` leaves them out for the edit-test loop; `make test` and CI run everything.
SLOW_MODULES = {"test_run", "test_data_shapes", "test_report_folder", "test_examples", "test_install", "test_spark",
                "test_hostile", "test_sample", "test_engines", "test_pipeline", "test_notebook_sources"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if getattr(item, "module", None) else ""
        if module in SLOW_MODULES or "slow" in item.keywords:
            item.add_marker(pytest.mark.slow)
