"""`gapkit run` on every contract-valid shape of data: it finishes, publishes, and says what it skipped.

Only orders are required, so each shape below (orders only, no customers, a single month, thirty
orders, date-only timestamps, numeric segment labels...) must give all four reports with no
error, and every section the data cannot support must say so in a sentence. The runs share one
kernel to keep the matrix within a couple of minutes.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pages
import pandas as pd
import pytest
import shapes
from shapes import SHAPES, write_shape

from gapkit import config as configuration
from gapkit.pipeline import runner
from gapkit.report.publish import ARTIFACT_COLUMNS

NOT_SHOWN = re.compile(r"([A-Z][\w\- ]+?) is not shown: ([^.]+)")

# what each shape's reports must say it could not show, in their own words
NO_GOALS = "The gap table is not shown: the configuration sets no goals"
NO_VALUATION = "Cost-benefit is not shown: the configuration does not say what a KPI change is worth"
EXPECTED = {
    "orders_only": ["there is no surveys table", "there is no tickets table",
                    "Impact measurement is not shown: there is no interventions table",
                    "What customers say is not shown: there is no surveys table", NO_GOALS],
    "no_customers": [NO_GOALS, NO_VALUATION],
    "customers_without_segment_columns": [NO_GOALS, NO_VALUATION],
    "tickets_without_delivery_columns": ["there is no followups table",
                                         "the orders table has no delivered_at column",
                                         "Impact measurement is not shown: there is no interventions table",
                                         "What customers say is not shown: there is no surveys table"],
    "surveys_without_comments": ["What customers say is not shown: the surveys table has no comment column"],
    "comments_not_in_english": ["not English"],
    "no_followups": ["there is no followups table"],
    "no_interventions": ["Impact measurement is not shown: there is no interventions table"],
    "interventions_without_costs": ["Cost-benefit is not shown: there is no costs table"],
    "single_month": ["Trends by month is not shown", "The key-driver model is not shown", NO_GOALS],
    "thirty_orders": ["The key-driver model is not shown: repeat_purchase_rate"],
    "date_only_timestamps": [NO_GOALS, NO_VALUATION],
    "numeric_and_float_segment_labels": [NO_VALUATION],
    "segment_with_missing_values": [NO_GOALS, NO_VALUATION],
}


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """Every shape run once, in two processes side by side (one kernel each), as the machine has two cores."""
    folder = tmp_path_factory.mktemp("shapes")
    names = list(SHAPES)
    workers = [subprocess.Popen([sys.executable, str(Path(shapes.__file__)), str(folder), *names[i::2]],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for i in range(2)]
    for worker in workers:
        _, stderr = worker.communicate(timeout=1200)
        assert worker.returncode == 0, stderr[-3000:]
    return folder



def report_text(folder) -> str:
    """Every output a reader sees in the four executed notebooks, as text."""
    parts = []
    for name in runner.NOTEBOOKS:
        notebook = nbformat.read(folder / f"{name}.ipynb", as_version=4)
        for cell in notebook.cells:
            for output in cell.get("outputs", []):
                assert output.get("output_type") != "error", f"{name}: {output.get('evalue')}"
                parts.append(output.get("text", ""))
                parts.extend(str(v) for k, v in output.get("data", {}).items() if k.startswith("text/"))
    # Markdown outputs escape their punctuation ("repeat\_purchase\_rate"); a reader sees it plain
    return re.sub(r"\\([\\`*_{}\[\]()#+\-.!|>])", r"\1", "\n".join(parts))


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_contract_valid_shape_runs_end_to_end_and_names_what_it_skipped(shape, reports):
    status = (reports / shape / "status.txt").read_text()
    assert status == "ok", status
    out = reports / shape / "report"
    for name in runner.NOTEBOOKS:
        assert (out / f"{name}.html").stat().st_size > 0
    for name, columns in ARTIFACT_COLUMNS.items():
        assert list(pd.read_csv(out / name).columns[: len(columns)]) == columns, name
    for name in runner.NOTEBOOKS:
        assert pages.problems(out / f"{name}.html") == [], name
    text = report_text(out)
    for phrase in EXPECTED[shape]:
        assert phrase in text, f"{shape}: the reports do not say {phrase!r}"
    for section, reason in NOT_SHOWN.findall(text):  # every skip gives a reason, not an empty clause
        assert len(reason.strip()) > 10, (section, reason)


def test_numeric_segment_labels_match_goals_and_missing_values_get_their_own_segment(reports):
    gaps = pd.read_csv(reports / "numeric_and_float_segment_labels" / "report" / "gaps.csv")
    coverage = gaps.set_index("goal_id").loc["coverage-2"]
    assert coverage["n"] > 0 and coverage["status"] != "insufficient_data"
    kpis = pd.read_csv(reports / "segment_with_missing_values" / "report" / "kpis.csv", keep_default_na=False)
    assert "(missing)" in set(kpis.loc[kpis["segment_by"] == "segment", "segment"])


def test_no_report_date_defaults_to_the_last_complete_day_in_the_data(kernel, tmp_path):
    data = write_shape("orders_only", tmp_path / "data")
    lines = []
    settings = configuration.read(None, data=str(data), out=str(tmp_path / "report"))
    result = runner.run(settings, progress=lines.append, kernel=kernel)
    assert result.status == "success"
    assert any("no as_of given: reporting as of 2025-06-29" in line for line in lines), lines
