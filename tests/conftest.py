"""Fixtures shared by the end-to-end tests."""

import pytest

from gapkit import runner
from gapkit.kernel import SharedKernel


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
