"""Numbers as a reader sees them: checked against hand-written strings."""

import numpy as np
import pandas as pd

from gapkit import formatting


def test_kpi_values_print_in_their_unit():
    assert formatting.kpi_value(0.7316, "csat") == "73.2%"
    assert formatting.kpi_value(5.6123, "first_response_hours") == "5.61 hours"
    assert formatting.kpi_value(1234.5, "resolution_hours") == "1,234 hours"
    assert formatting.kpi_value(23.25, "nps") == "23.2"
    assert formatting.kpi_value(3.9, "csat_mean") == "3.90"


def test_gaps_are_points_for_shares_and_signed_units_otherwise():
    assert formatting.kpi_gap(0.0684, "csat") == "+6.8 pp"
    assert formatting.kpi_gap(-1.15, "first_response_hours") == "−1.15 hours"


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
