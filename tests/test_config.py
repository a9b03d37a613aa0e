"""gapkit.config: a configuration is checked whole, before anything runs, and errors name the fix."""

import pandas as pd
import pytest

from gapkit.config import Config, from_dict, parse_date, read
from gapkit.errors import ConfigError


def test_defaults_and_overrides():
    settings = read(None, data="elsewhere", as_of="2025-06-30")
    assert (settings.data, settings.as_of, settings.baseline_months, settings.params.response_days) == (
        "elsewhere", "2025-06-30", 3, 7)
    assert settings.out_dir == "reports/2025-06-30" and Config().monitor == {}
    assert (settings.engine, from_dict({"engine": "duckdb"}).engine) == ("pandas", "duckdb")
    assert from_dict({"engine": " DuckDB "}).engine == "duckdb"  # as the product writes it
    assert from_dict({"engine": "Spark"}).engine == "spark"
    assert settings.to_dict()["engine"] == "pandas"


def test_a_goal_is_read_with_its_segment_and_checked_against_its_kpi():
    settings = from_dict({"goals": [{"id": "g", "kpi": "csat", "target": 0.8, "deadline": "2025-12-31",
                                     "segment_by": "segment", "segment": "C"}]})
    goal = settings.goals[0]
    assert (goal.kpi, goal.segment_by, goal.segment, goal.target) == ("csat", "segment", "C", 0.8)
    with pytest.raises(ConfigError, match="did you mean 'csat'"):
        from_dict({"goals": [{"id": "g", "kpi": "cstat", "target": 0.8, "deadline": "2025-12-31"}]})
    with pytest.raises(ConfigError, match="0..1|share"):
        from_dict({"goals": [{"id": "g", "kpi": "csat", "target": 80, "deadline": "2025-12-31"}]})


@pytest.mark.parametrize("raw, words", [
    ({"as_of": "30.06.2025"}, "YYYY-MM-DD"),
    ({"baseline_months": 0}, "baseline_months"),
    ({"params": {"repeat_days": -1}}, "repeat_days"),
    ({"params": {"respons_days": 7}}, "response_days"),
    ({"monitor": {"false_alarm": 2}}, "false_alarm"),
    ({"monitor": {"months": 1.5}}, "whole number"),
    ({"segments": 5}, "segments"),
    ({"currency": 12}, "currency"),
    ({"engine": "sparks"}, r"engine is 'sparks' \(did you mean 'spark'\?\); write pandas"),
    ({"engine": "duckbd"}, r"engine is 'duckbd' \(did you mean 'duckdb'\?\); write pandas"),
    ({"engine": None}, "engine is None"),
])
def test_bad_values_are_refused_with_the_key_named(raw, words):
    with pytest.raises(ConfigError, match=words):
        from_dict(raw)


def test_dates_are_strict():
    assert parse_date("2025-06-30", "as_of") == "2025-06-30"
    for bad in ("2025-02-30", "2025/06/30", "June 30"):
        with pytest.raises(ConfigError):
            parse_date(bad, "as_of")


def test_the_yaml_file_is_read_as_text_dates_and_unknown_keys_refused(tmp_path):
    path = tmp_path / "gapkit.yml"
    path.write_text("as_of: 2025-06-30\nmonitor: {months: 2}\n", encoding="utf-8")
    settings = read(path)
    assert settings.as_of == "2025-06-30" and settings.monitor == {"months": 2}
    path.write_text("as_of: 2025-06-30\ngoal: []\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="goal"):
        read(path)
    with pytest.raises(ConfigError, match="no such config file"):
        read(tmp_path / "missing.yml")


def test_a_configuration_that_contradicts_itself_is_an_error_not_a_quiet_skip():
    import gapkit
    from gapkit.config import from_dict
    from gapkit.report import adapt

    valuation = [{"intervention_id": "x", "kpi": "nps", "value_per_unit": 2.0, "horizon_months": 12,
                  "discount_rate": 0.1}]
    with pytest.raises(gapkit.ConfigError, match=r"valuation\[0\]\.kpi is 'nps', which impact\.kpis"):
        from_dict({"impact": {"kpis": ["csat"]}, "valuation": valuation})
    assert from_dict({"impact": {"kpis": ["nps"]}, "valuation": valuation}).valuation[0]["kpi"] == "nps"

    def misconfigured():
        raise gapkit.ConfigError("drivers.controls: 'regoin' is in no table")

    with pytest.raises(gapkit.ConfigError):  # adapt.attempt turns only data-shape reasons into "not shown"
        adapt.attempt("Section", "what it shows", "how to add", misconfigured)


@pytest.mark.parametrize("params", [{"sla_hours": -1}, {"repeat_days": 0}, {"reopen_days": float("nan")}])
def test_the_python_entry_points_check_the_windows_as_the_configuration_does(params):
    import gapkit

    data = gapkit.validate({"orders": pd.DataFrame({"order_id": ["o1"], "customer_id": ["c1"],
                                                   "ordered_at": ["2025-01-01"]})})
    with pytest.raises(gapkit.ConfigError, match="window must be a number longer than 0"):
        gapkit.kpis(data, "2025-06-30", params=params)
