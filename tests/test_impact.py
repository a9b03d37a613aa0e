"""gapkit.impact: choosing the method per intervention, on the planted sample (estimators: test_estimators.py)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest

import gapkit
from gapkit.errors import ConfigError
from gapkit.impact import effects as impact
from gapkit.sample import GROUND_TRUTH, generate


@pytest.fixture(scope="module")
def sample():
    return gapkit.validate(generate(n_orders=20000, seed=7))


@pytest.fixture(scope="module")
def measured(sample):
    return impact.measure(sample, "2025-06-30", ["csat", "repeat_purchase_rate", "first_response_hours"])


def test_table_has_the_contract_columns_then_the_extras(measured):
    assert list(measured.table.columns[:10]) == impact.IMPACT_COLUMNS
    assert {"chosen", "why", "pretrend_p", "note"} <= set(measured.table.columns)
    naive = measured.table[measured.table["method"] == "pre_post"]
    assert not naive["chosen"].any() and (naive["why"] == "naive: ignores time trends").all()
    chosen = measured.chosen().set_index("intervention_id")["method"].groupby(level=0).first()
    assert chosen.to_dict() == {"checkin": "did", "sms_thanks": "ab", "faster_support": "its"}


@pytest.mark.parametrize("effect", GROUND_TRUTH["interventions"]["checkin"]["effects"], ids=lambda e: e["kpi"])
def test_sample_did_recovers_the_planted_checkin_effects(measured, effect):
    table = measured.table.set_index(["intervention_id", "kpi", "method"])
    did = table.loc[("checkin", effect["kpi"], "did")]
    naive = table.loc[("checkin", effect["kpi"], "pre_post")]
    print(f"\ncheckin {effect['kpi']}: DiD {did.effect:.3f} [{did.ci_low:.3f}, {did.ci_high:.3f}] "
          f"vs planted {effect['effect']}; pre/post {naive.effect:.3f}")
    assert did.ci_low <= effect["effect"] <= did.ci_high
    assert did.chosen


def test_sample_faster_support_its_recovers_the_30_percent_cut(measured):
    row = measured.table.set_index(["intervention_id", "kpi", "method"]).loc[
        ("faster_support", "first_response_hours", "its")]
    assert row.ci_low / row.baseline <= -0.30 <= row.ci_high / row.baseline


def test_plot_returns_axes_with_a_finding_title(measured):
    fig, ax = plt.subplots()
    assert measured.plot("checkin", "csat", ax=ax) is ax
    assert ax.get_title().startswith("checkin raised csat")
    assert ax.get_ylabel().endswith("(share)")
    measured.plot("sms_thanks", "csat", ax=ax)
    plt.close(fig)


def test_repr_and_html_come_from_the_table(measured):
    assert "checkin" in repr(measured) and "<table" in measured._repr_html_()
    assert measured.summary().count("\n") == len(measured.chosen()) - 1


def test_measure_leaves_the_input_unchanged(sample):
    before = sample["customers"].copy()
    impact.measure(sample, "2025-06-30", ["csat"], interventions=["checkin"])
    pd.testing.assert_frame_equal(sample["customers"], before)


def test_errors_name_the_thing_and_the_fix(sample):
    with pytest.raises(ConfigError, match="unknown KPI"):
        impact.measure(sample, "2025-06-30", ["csat_typo"])
    with pytest.raises(ConfigError, match="not in the interventions table"):
        impact.measure(sample, "2025-06-30", ["csat"], interventions=["nope"])
    loose = {"intervention_id": "x", "start_at": "2025-01-01", "segment": "B"}
    with pytest.raises(ConfigError, match="segment_col_default"):
        impact.measure(sample, "2025-06-30", ["csat"], interventions=[loose])
    fixed = impact.measure(sample, "2025-06-30", ["csat"], interventions=[loose], segment_col_default="segment")
    assert fixed.chosen()["method"].tolist() == ["did"]


def test_units_whose_window_straddles_the_start_are_left_out_of_the_before():
    """A first order in December whose 90-day repeat window runs into a January intervention is
    partly treated; counted as "before" it bends the pre-trend (the sample's placebo fired for
    repeat purchase for this reason). It is left out, and the note says how many."""
    from pathlib import Path

    data = gapkit.load(Path(__file__).resolve().parents[1] / "data" / "sample")
    result = impact.measure(data, "2025-06-30", ["repeat_purchase_rate"])
    row = result.table[(result.table["intervention_id"] == "checkin") & result.table["chosen"]].iloc[0]
    assert "units anchored in the 90 days before the start left out" in row["note"]
    units = gapkit.units(data, "repeat_purchase_rate", "2025-06-30", by=["segment"])
    start = pd.Timestamp("2025-01-01", tz="UTC")
    straddling = units[(units["anchor"] < start) & (units["anchor"] > start - pd.Timedelta(days=90))]
    assert f"{len(straddling)} units anchored" in row["note"]
    assert row["n_treated"] + row["n_control"] == len(units[units["anchor"] >= start - pd.DateOffset(months=12)]) \
        - len(straddling)
