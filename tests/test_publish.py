"""gapkit.publish: artifacts are formula-safe, keep the contract's columns first, read back as text."""

import pandas as pd
import pytest

import gapkit
from gapkit.errors import InputError
from gapkit.report import publish


def test_spreadsheet_formulas_are_neutralised_but_numbers_stay_numbers(tmp_path):
    frame = pd.DataFrame({"table": ["=HYPERLINK(\"x\")", "+1+1", "orders"], "row": [1, 2, 3],
                          "column": ["a", "b", "c"], "value": ["-3", "@SUM(A1)", "-2.5"], "reason": "r", "rule": "unreadable"})
    path = publish.write_csv(frame, tmp_path, "rejects.csv")
    text = path.read_text()
    assert "'=HYPERLINK" in text and "'+1+1" in text and "'@SUM(A1)" in text
    back = publish.read_csv(tmp_path, "rejects.csv")
    assert back["value"].tolist()[2] in ("-2.5", -2.5)  # a negative number is data, not a formula


def test_contract_columns_come_first_and_missing_ones_are_an_error(tmp_path):
    frame = pd.DataFrame({"extra": [1], "table": ["t"], "row": [1], "column": ["c"], "value": ["v"],
                          "rule": ["required"], "reason": ["r"]})
    publish.write_csv(frame, tmp_path, "rejects.csv")
    assert publish.read_csv(tmp_path, "rejects.csv").columns.tolist() == ["table", "row", "column", "value",
                                                                          "reason", "rule", "extra"]
    with pytest.raises(InputError, match=r"columns \['reason'\] missing"):
        publish.write_csv(frame.drop(columns="reason"), tmp_path, "rejects.csv")


def test_an_empty_section_writes_its_header_and_reads_back(tmp_path):
    publish.write_csv(pd.DataFrame(), tmp_path, "alerts.csv")
    assert (tmp_path / "alerts.csv").read_text().strip() == ",".join(publish.ARTIFACT_COLUMNS["alerts.csv"])
    assert publish.read_csv(tmp_path, "alerts.csv").empty


def test_segment_names_like_NA_stay_text(tmp_path):
    frame = pd.DataFrame({"kpi": ["csat"], "period": ["all"], "segment_by": ["region"], "segment": ["NA"],
                          "n": [3], "value": [0.5], "ci_low": [0.1], "ci_high": [0.9], "unit": ["share"],
                          "better": ["higher"]})
    publish.write_csv(frame, tmp_path, "kpis.csv")
    assert publish.read_csv(tmp_path, "kpis.csv")["segment"].tolist() == ["NA"]


def test_a_missing_artifact_names_the_notebook_that_makes_it(tmp_path):
    with pytest.raises(InputError, match="Run the 02_desired_state notebook first"):
        publish.read_csv(tmp_path, "goals.csv")


def test_markdown_from_the_data_cannot_link_or_format():
    text = publish.escape_markdown("see [x](javascript:alert(1)) **bold** www.evil.example <b>")
    assert "[" not in text.replace("\\[", "") and "<b>" not in text and "www." not in text


def test_the_overview_cards_compare_a_previous_run_like_with_like(tmp_path):
    """History keeps each run's whole-history figure: beside a current level it is named so."""
    from gapkit.report._overview import _cards

    data = gapkit.datasets.sample()
    kpis = gapkit.kpis(data, "2025-06-30", period="M")
    current = gapkit.baseline.current_levels(data, "2025-06-30", kpis)
    publish.write_csv(kpis, tmp_path, "kpis.csv")
    publish.write_csv(current, tmp_path, "current.csv")
    earlier = gapkit.kpis(data, "2025-05-31", period="M").assign(as_of="2025-05-31", run_id="r1")
    cards = _cards(tmp_path, earlier, "2025-06-30")
    assert "whole history at the previous run (as of 2025-05-31)" in cards
    assert "<br>previous run (as of" not in cards
    # a run for a later date (another family's, or a backfill of past dates) is no previous run
    later = gapkit.kpis(data, "2025-06-30", period="M").assign(as_of="2026-01-31", run_id="r2")
    assert "previous run" not in _cards(tmp_path, later, "2025-06-30")
    assert "(as of 2025-05-31)" in _cards(tmp_path, pd.concat([earlier, later]), "2025-06-30")
