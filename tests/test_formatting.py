"""Numbers as a reader sees them: checked against hand-written strings."""

import numpy as np
import pandas as pd
import pytest

import gapkit
from gapkit.report import formatting


def test_kpi_values_print_in_their_unit():
    assert formatting.kpi_value(0.7316, "csat") == "73.2%"
    assert formatting.kpi_value(5.6123, "first_response_hours") == "5.61 hours"
    assert formatting.kpi_value(1234.5, "resolution_hours") == "1,234 hours"
    assert formatting.kpi_value(23.25, "nps") == "23.2"
    assert formatting.kpi_value(3.9, "csat_mean") == "3.90"


def test_gaps_are_points_for_shares_and_signed_units_otherwise():
    assert formatting.kpi_gap(0.0684, "csat") == "+6.8 pp"
    assert formatting.kpi_gap(-1.15, "first_response_hours") == "-1.15 hours"


def test_p_values_money_and_missing():
    assert formatting.p_value(4.58e-50) == "< 0.001" and formatting.p_value(0.0412) == "0.041"
    assert formatting.money(2859.140024, "EUR") == "2,859 EUR"
    for missing in (None, np.nan, float("inf"), pd.NA):
        assert formatting.kpi_value(missing, "csat") == formatting.MISSING
    assert formatting.number(0.000123) == "0.000123" and formatting.number(2859.14) == "2,859"


def test_a_table_shows_formatted_text_with_escaped_data_and_keeps_the_numbers():
    frame = pd.DataFrame({"kpi": ["csat", "nps"], "value": [0.7316, 23.25], "who": ["<b>A</b>", None]})
    page = formatting.table(frame, {"value": "kpi"}).to_html()
    assert "73.2%" in page and "23.2" in page and "&lt;b&gt;A&lt;/b&gt;" in page and "<b>A" not in page
    assert "<th" in page and formatting.MISSING in page
    assert frame["value"].tolist() == [0.7316, 23.25]  # the frame itself is untouched
    assert "Nothing to show" in formatting.table(pd.DataFrame()).to_html()


def test_text_from_the_data_is_redacted_in_tables_findings_and_chart_labels():
    frame = pd.DataFrame({"segment": ["ann.lee@example.com", "call +44 20 7946 0958", "2025-06-30 12:00"]})
    page = formatting.table(frame).to_html()
    assert "example.com" not in page and "7946" not in page
    assert page.count("[email]") == 1 and page.count("[phone]") == 1 and "2025-06-30 12:00" in page
    assert formatting.label("costs $5 for ann@x.io") == r"costs \$5 for [email]"
    from gapkit.report import publish

    shown = publish.findings(["csat is 70% in segment bob@example.org"]).data
    assert "example.org" not in shown and r"\[email\]" in shown  # Markdown-escaped brackets


def test_currency_is_read_from_the_config_and_checked():
    from gapkit import config
    from gapkit.errors import ConfigError

    assert config.from_dict({"currency": "EUR"}).currency == "EUR"
    assert config.from_dict({}).currency == ""
    with pytest.raises(ConfigError, match="currency"):
        config.from_dict({"currency": "=HYPERLINK(1)"})


def test_p_values_inside_sentences():
    assert formatting.p_phrase(4.6e-50) == "p < 0.001" and formatting.p_phrase(0.0412) == "p = 0.041"
    # the impact findings' brief form: two significant digits, never "p = 0" or "p = 2.2e-285"
    assert [formatting.p_brief(p) for p in (0.0, 2.2e-285, 0.0412, 0.3)] == ["p < 0.001", "p < 0.001", "p = 0.041",
                                                                             "p = 0.3"]
    row = {"intervention_id": "checkin", "kpi": "csat", "method": "did", "effect": 0.1, "ci_low": 0.09,
           "ci_high": 0.11, "p_value": 2.2e-285}
    assert "difference-in-differences, p < 0.001" in gapkit.impact.finding(row)


def test_impact_findings_give_durations_in_the_units_the_tables_use():
    row = {"intervention_id": "sms_thanks", "kpi": "first_response_hours", "method": "ab", "effect": 0.55,
           "ci_low": -1.36, "ci_high": 3.3, "p_value": 0.62}
    assert gapkit.impact.finding(row) == ("No clear effect of sms_thanks on first_response_hours: +33 minutes "
                                          "(95% CI -1.36 hours to +3.30 hours; A/B test, p = 0.62)")
    shares = {**row, "kpi": "csat", "effect": 0.036, "ci_low": -0.068, "ci_high": 0.141}
    assert "+3.6 points (95% CI -6.8 to +14.1;" in gapkit.impact.finding(shares)
