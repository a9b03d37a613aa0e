"""The one shape of result: every analysis result shows, summarises and writes itself alike."""

import inspect

import pandas as pd
import pytest

from gapkit.analysis import actions, drivers, gaps, ipa, journey
from gapkit.desired import goals
from gapkit.impact import effects as impact
from gapkit.impact import money
from gapkit.report.publish import read_csv
from gapkit.report.results import Result

RESULTS = [gaps.GapResult, actions.ActionPlan, goals.GoalsResult, drivers.DriverResult,
           ipa.ImportancePerformance, ipa.ServqualResult, journey.JourneyResult, impact.ImpactResult,
           money.CostBenefitResult]


@pytest.mark.parametrize("cls", RESULTS, ids=lambda c: c.__name__)
def test_every_result_shares_the_base(cls):
    assert issubclass(cls, Result) and cls.title != Result.title
    # the reprs come from the base, not from a hand-written copy per class
    assert "__repr__" not in vars(cls)
    assert inspect.signature(cls).parameters["table"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD


def test_repr_and_html_come_from_the_table_and_escape_it():
    result = Result(pd.DataFrame({"segment": ["<b>web</b>"], "n": [12], "value": [0.81234]}))
    assert repr(result).splitlines() == ["Result", "Result: 1 row", "   segment  n  value",
                                         "<b>web</b> 12 0.8123"]
    page = result._repr_html_()
    assert "&lt;b&gt;web&lt;/b&gt;" in page and "<b>web</b>" not in page


def test_an_empty_result_shows_its_summary_not_bare_headers():
    result = Result(pd.DataFrame({"kpi": pd.Series(dtype=str), "value": pd.Series(dtype=float)}))
    assert "<table" not in result._repr_html_() and "Result: 0 rows" in result._repr_html_()
    assert repr(result).splitlines()[-1] == "(no rows)"


def test_to_csv_writes_the_contract_columns_first(tmp_path):
    table = pd.DataFrame({"extra": [1], "driver": ["speed"], "kpi": ["csat"], "importance": [0.5],
                          "importance_ci_low": [0.4], "importance_ci_high": [0.6], "p_value": [0.01], "n": [99]})
    path = drivers.DriverResult(table, outcome="csat").to_csv(tmp_path)
    assert path.name == "drivers.csv"
    assert read_csv(tmp_path, "drivers.csv").columns.tolist()[:2] == ["driver", "kpi"]
    assert read_csv(tmp_path, "drivers.csv").columns.tolist()[-1] == "extra"


def test_a_result_that_is_no_artifact_asks_for_a_name(tmp_path):
    with pytest.raises(ValueError, match="pass name="):
        Result(pd.DataFrame({"a": [1]})).to_csv(tmp_path)
    assert Result(pd.DataFrame({"a": [1]})).to_csv(tmp_path, "a.csv").exists()


def test_a_goal_result_draws_its_trajectory():
    import matplotlib.pyplot as plt

    kpi_table = pd.DataFrame({"kpi": "csat", "period": ["2025-04", "2025-05", "2025-06"], "segment_by": "all",
                              "segment": "all", "n": 100, "value": [0.7, 0.72, 0.74], "ci_low": 0.6,
                              "ci_high": 0.8, "unit": "share", "better": "higher"})
    table = pd.DataFrame({"goal_id": ["g"], "kpi": ["csat"], "segment_by": ["all"], "segment": ["all"],
                          "target": [0.8]})
    milestones = pd.DataFrame({"goal_id": ["g"], "month": ["2025-07"], "expected": [0.76]})
    fig, ax = plt.subplots()
    assert goals.GoalsResult(table, milestones).plot(kpi_table, ax=ax) is ax
    assert any(line.get_label() == "milestones" for line in ax.get_lines())
    plt.close(fig)
