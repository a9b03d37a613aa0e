"""gapkit: gap analysis of post-sale follow-up.

Current state (KPIs with n and 95% CIs), desired state (SMART goals), gaps (tested and
prioritised) and impact (did a follow-up strategy work, and was it worth it).

Examples
--------
>>> import gapkit
>>> data = gapkit.load("data/sample")
>>> gapkit.kpis(data, as_of="2025-06-30", by=["segment"], period="M")
"""

from gapkit.definitions import Params
from gapkit.errors import ConfigError, GapkitError, InputError
from gapkit.kpi_catalog import CATALOG, KPIS, catalog
from gapkit.loading import load, scan, write_parquet
from gapkit.measure import kpis, units
from gapkit.validation import Data, validate

__all__ = [
    "CATALOG", "KPIS", "ConfigError", "Data", "GapkitError", "InputError", "Params",
    "catalog", "history", "kpis", "load", "units", "scan", "validate", "write_parquet",
]
__version__ = "0.1.0"

# `gapkit.kpis`, `gapkit.load` and `gapkit.catalog` are the contract's functions; their modules
# are gapkit.measure, gapkit.loading and gapkit.kpi_catalog, so no name means two things.
# The analysis modules load on first use (gapkit.goals.smart(...) works after a plain
# `import gapkit`), so that importing gapkit does not pay for statsmodels and matplotlib
_MODULES = {
    "actions", "adapt", "appraisal", "ar1", "baseline", "business_hours", "config", "definitions", "drivers",
    "estimators", "formatting", "gaps", "goals", "impact", "intervals", "ipa", "journey", "kernel",
    "kpi_catalog", "loading", "measure", "money", "monitor", "notebook", "parsing", "pipeline", "plots",
    "publish", "reach", "reading", "results", "runner", "sample", "schema", "sensitivity", "spark", "story",
    "targets", "text", "validation",
}


def history(path):
    """The KPI history of earlier runs (``history.parquet``, or the folder holding it).

    Examples
    --------
    >>> gapkit.history("reports")
    """
    from gapkit.monitor import history as read

    return read(path)


def __getattr__(name: str):
    if name in _MODULES:
        import importlib

        return importlib.import_module(f"gapkit.{name}")
    raise AttributeError(f"module 'gapkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _MODULES)
