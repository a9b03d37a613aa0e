"""Pictures and words: plots return their Axes with a finding in the title; findings escape data."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import gapkit  # noqa: E402
from gapkit import plots, publish, sample, story  # noqa: E402

AS_OF = "2025-06-30"


@pytest.fixture(scope="module")
def table():
    data = gapkit.validate(sample.generate(n_orders=2000, seed=4))
    return gapkit.kpis(data, as_of=AS_OF, by=["segment"], period="M"), data


def test_plots_draw_on_the_given_axes_and_state_the_finding(table):
    kpi_table, _ = table
    for draw in (lambda ax: plots.scorecard(kpi_table, {"csat": 0.8}, ax=ax),
                 lambda ax: plots.trend(kpi_table, "csat", target=0.8, ax=ax),
                 lambda ax: plots.segment_comparison(kpi_table, "followup_coverage", "segment", ax=ax)):
        fig, ax = plt.subplots()
        assert draw(ax) is ax and ax.get_title()
        plt.close(fig)
    fig, ax = plt.subplots()
    plots.segment_comparison(kpi_table, "followup_coverage", "segment", ax=ax)
    assert "weakest: C" in ax.get_title()  # the sample's planted weak segment
    plt.close(fig)


def test_findings_come_from_the_numbers(table):
    kpi_table, data = table
    lines = story.current_state_findings(kpi_table, data.counts, ["segment"])
    assert 3 <= len(lines) <= 5
    assert lines[0].startswith(f"{int(data.counts.rejected.sum())} of {int(data.counts.input_rows.sum())}")
    assert any("followup_coverage" in line and " C " in line for line in lines)


def test_findings_escape_text_from_the_data():
    block = publish.findings(["segment <script>alert(1)</script> [x](javascript:alert(1)) *bold*"])
    assert "<script>" not in block.data and "\\[x\\]\\(javascript" in block.data and "\\*bold\\*" in block.data


def test_key_numbers_are_plain_and_stable(table):
    kpi_table, _ = table
    text = story.key_numbers(kpi_table)
    overall = kpi_table[(kpi_table["period"] == "all") & (kpi_table["segment_by"] == "all")]
    assert text.count("\n") == len(overall) - 1 and "n=" in text and "0x" not in text
    first = overall.iloc[0]
    assert text.splitlines()[0].split() == [first["kpi"], f"{first['value']:.4f}", f"[{first['ci_low']:.4f},",
                                            f"{first['ci_high']:.4f}]", f"n={first['n']}"]
