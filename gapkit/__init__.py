"""gapkit: gap analysis of post-sale follow-up.

Current state (KPIs with n and 95% CIs), desired state (SMART goals), gaps (tested and
prioritised) and impact (did a follow-up strategy work, and was it worth it).

The code is laid out by step: ``contract`` (input tables, KPI facts, artifacts, loading),
``measure`` (KPIs and their intervals), ``monitor`` (history, alerts, retention), ``desired``
(SMART goals, targets), ``analysis`` (gaps, drivers, journey, comments, action plan), ``impact``
(effects, cost-benefit), ``report`` (results, plots, formatting, findings) and ``pipeline`` (the
run). The modules an analyst calls are also reachable by their short names, loaded on first use
(``gapkit.goals.smart(...)`` after a plain ``import gapkit``), listed in :data:`PUBLIC_MODULES`.

Examples
--------
>>> import gapkit
>>> data = gapkit.datasets.sample()  # or gapkit.load("path/to/export")
>>> table = gapkit.kpis(data, as_of="2025-06-30", by=["segment"], period="M")
>>> table.columns[:10].tolist()
['kpi', 'period', 'segment_by', 'segment', 'n', 'value', 'ci_low', 'ci_high', 'unit', 'better']
"""

import importlib
import importlib.abc
import importlib.util
import sys

from gapkit.contract.catalog import CATALOG, KPIS, catalog
from gapkit.contract.loading import load, scan, write_parquet
from gapkit.contract.validation import Data, validate
from gapkit.errors import ConfigError, GapkitError, InputError
from gapkit.measure.definitions import Params
from gapkit.measure.engine import kpis, units

__all__ = [
    "CATALOG", "KPIS", "ConfigError", "Data", "GapkitError", "InputError", "Params",
    "catalog", "history", "kpis", "load", "units", "scan", "validate", "write_parquet",
]
__version__ = "0.1.0"

#: The modules an analyst or a notebook calls, by short name, and where each lives. Everything
#: else (readers, parsers, engines, the kernel) is internal and marked with a leading underscore.
PUBLIC_MODULES = {
    "config": "gapkit.config",
    "errors": "gapkit.errors",
    "sample": "gapkit.sample",
    "datasets": "gapkit.datasets",
    # the input and what a run writes
    "schema": "gapkit.contract.schema",
    "kpi_catalog": "gapkit.contract.catalog",
    "artifacts": "gapkit.contract.artifacts",
    "validation": "gapkit.contract.validation",
    "loading": "gapkit.contract.loading",
    # current state
    "measure": "gapkit.measure",
    "definitions": "gapkit.measure.definitions",
    "intervals": "gapkit.measure.intervals",
    "business_hours": "gapkit.measure.business_hours",
    "baseline": "gapkit.measure.baseline",
    "spark": "gapkit.measure.spark",
    "monitor": "gapkit.monitor",
    # desired state
    "goals": "gapkit.desired.goals",
    "targets": "gapkit.desired.targets",
    # gaps
    "gaps": "gapkit.analysis.gaps",
    "drivers": "gapkit.analysis.drivers",
    "ipa": "gapkit.analysis.ipa",
    "journey": "gapkit.analysis.journey",
    "text": "gapkit.analysis.text",
    "actions": "gapkit.analysis.actions",
    # impact
    "impact": "gapkit.impact",
    "estimators": "gapkit.impact.estimators",
    "money": "gapkit.impact.money",
    "reach": "gapkit.impact.reach",
    "appraisal": "gapkit.impact.appraisal",
    "sensitivity": "gapkit.impact.sensitivity",
    # reports and runs
    "results": "gapkit.report.results",
    "formatting": "gapkit.report.formatting",
    "plots": "gapkit.report.plots",
    "publish": "gapkit.report.publish",
    "story": "gapkit.report.story",
    "adapt": "gapkit.report.adapt",
    "notebook": "gapkit.report.notebook",
    "pipeline": "gapkit.pipeline",
    "runner": "gapkit.pipeline.runner",
    "report_folder": "gapkit.pipeline.report_folder",
}
_PACKAGES = {"contract", "measure", "monitor", "desired", "analysis", "impact", "report", "pipeline"}


def history(path):
    """The KPI history of earlier runs (``history.parquet``, or the folder holding it).

    Examples
    --------
    >>> past = gapkit.history("reports")  # empty until a run has published there
    >>> list(past.columns[-2:]), len(past)
    (['as_of', 'run_id'], 0)
    """
    from gapkit.monitor.runs import history as read

    return read(path)


def __getattr__(name: str):
    if name in PUBLIC_MODULES:
        module = importlib.import_module(PUBLIC_MODULES[name])
        globals()[name] = module  # looked up once
        return module
    if name in _PACKAGES:
        return importlib.import_module(f"gapkit.{name}")
    raise AttributeError(f"module 'gapkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(__all__) | set(PUBLIC_MODULES) | _PACKAGES | {"PUBLIC_MODULES", "__version__"})


class _ShortNames(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``import gapkit.goals`` and ``from gapkit.goals import smart`` find the module where it
    lives now (gapkit.desired.goals): the short names are the analyst's, the layout is ours."""

    def find_spec(self, fullname, path=None, target=None):
        short = fullname[len("gapkit."):] if fullname.startswith("gapkit.") else None
        if short in PUBLIC_MODULES and PUBLIC_MODULES[short] != fullname:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return None  # a placeholder; exec_module puts the real module in its place

    def exec_module(self, module):
        # the import system hands back whatever sys.modules holds under the name after this
        # call, so the short name gets the very module object, its own __spec__ untouched
        sys.modules[module.__name__] = importlib.import_module(PUBLIC_MODULES[module.__name__[len("gapkit."):]])


if not any(isinstance(finder, _ShortNames) for finder in sys.meta_path):
    sys.meta_path.append(_ShortNames())
