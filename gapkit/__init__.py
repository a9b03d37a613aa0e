"""gapkit: gap analysis of post-sale follow-up.

Current state (KPIs with n and 95% CIs), desired state (SMART goals), gaps (tested and
prioritised) and impact (did a follow-up strategy work, and was it worth it).

Examples
--------
>>> import gapkit
>>> data = gapkit.load("data/sample")
>>> gapkit.kpis(data, as_of="2025-06-30", by=["segment"], period="M")
"""

from gapkit.catalog import CATALOG, KPIS, catalog
from gapkit.definitions import Params
from gapkit.errors import ConfigError, GapkitError, InputError
from gapkit.kpis import kpis, units
from gapkit.load import load, scan, write_parquet
from gapkit.validation import Data, validate

__all__ = [
    "CATALOG", "KPIS", "ConfigError", "Data", "GapkitError", "InputError", "Params",
    "catalog", "kpis", "load", "units", "scan", "validate", "write_parquet",
]
__version__ = "0.1.0"

# the analysis modules load on first use (gapkit.goals.smart(...) works after a plain
# `import gapkit`), so that importing gapkit does not pay for statsmodels and matplotlib
_MODULES = {
    "actions", "adapt", "config", "drivers", "estimators", "formatting", "gaps", "goals", "impact", "ipa", "journey",
    "kernel", "money", "notebook", "plots", "publish", "reading", "runner", "sample", "sensitivity", "story", "text",
    "validation",
}


def __getattr__(name: str):
    if name in _MODULES:
        import importlib

        return importlib.import_module(f"gapkit.{name}")
    raise AttributeError(f"module 'gapkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _MODULES)
