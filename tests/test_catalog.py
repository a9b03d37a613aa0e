"""The catalog is the one place a KPI's facts live; the modules read them from it."""

import importlib

import numpy as np
from scipy import stats

from gapkit.analysis import drivers, journey
from gapkit.desired import goals

# gapkit.catalog is also the name of the function that lists the catalog (issue 13: names that
# shadow their modules); the module itself:
catalog = importlib.import_module("gapkit.contract.catalog")


def test_outcomes_and_drivers_are_read_from_the_catalog():
    assert set(goals.OUTCOME_KPIS) == {"csat", "csat_mean", "nps", "repeat_purchase_rate", "referral_rate",
                                      "referral_conversion_rate"}
    assert set(goals.OUTCOME_KPIS) == {k.id for k in catalog.CATALOG if k.outcome}
    assert {k.role for k in catalog.CATALOG} == {"outcome", "driver"}
    assert drivers.SURVEY_KPIS == {"csat", "csat_mean", "nps", "ces_mean", "survey_response_rate"}


def test_every_stage_is_one_the_journey_draws():
    known = set(journey.KINDS) | {catalog.FIRST_FOLLOWUP}
    staged = {k.id: k.stage for k in catalog.CATALOG if k.stage}
    assert set(staged.values()) <= known
    assert {k: v for k, v in journey.KPI_STAGE.items() if k in catalog.KPIS} == staged
    assert catalog.KPIS["on_time_delivery_rate"].stage == "delivery" and catalog.KPIS["referral_rate"].stage is None


def test_one_z_and_one_list_of_bounds():
    assert abs(catalog.Z95 - stats.norm.ppf(0.975)) < 1e-12
    assert catalog.bounds("csat") == (0.0, 1.0) and catalog.bounds("score 1-5") == (1.0, 5.0)
    assert catalog.bounds("nps") == (-100.0, 100.0) and catalog.bounds("first_response_hours") == (0.0, np.inf)
    assert catalog.bounds("unknown unit") == (-np.inf, np.inf)
    assert list(catalog.clip(np.array([-0.2, 0.5, 1.3, np.nan]), "csat")[:3]) == [0.0, 0.5, 1.0]
    assert np.isnan(catalog.clip(np.array([np.nan]), "csat")[0])


def test_import_gapkit_is_quick_and_loads_analysis_modules_on_use():
    import subprocess
    import sys

    code = ("import sys, time; t = time.perf_counter(); import gapkit; took = time.perf_counter() - t; "
            "heavy = [m for m in ('statsmodels', 'matplotlib', 'scipy.stats', 'pandera') if m in sys.modules]; "
            "assert not heavy, heavy; assert gapkit.ipa.importance_performance; print(took)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
