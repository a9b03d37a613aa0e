"""gapkit.monitor: the run history, control-chart alerts and Kaplan-Meier retention."""

import numpy as np
import pandas as pd
import pytest

import gapkit
from gapkit import monitor

AS_OF = "2025-06-30"


# --- history ----------------------------------------------------------------------------------

def kpi_rows(value, period="2025-05"):
    return pd.DataFrame({"kpi": ["csat", "csat"], "period": [period, "all"], "segment_by": "all", "segment": "all",
                         "n": 100, "value": value, "ci_low": value - 0.1, "ci_high": value + 0.1, "unit": "share",
                         "better": "higher"})


def test_history_keeps_one_run_per_as_of(tmp_path):
    path = tmp_path / "history.parquet"
    monitor.append_history(kpi_rows(0.70), "2025-05-31", path)
    monitor.append_history(kpi_rows(0.72), "2025-06-30", path)
    again = monitor.append_history(kpi_rows(0.74), "2025-06-30", path)  # a re-run replaces its as_of
    assert sorted(again["as_of"].unique()) == ["2025-05-31", "2025-06-30"] and len(again) == 4
    assert gapkit.history(tmp_path).query("as_of == '2025-06-30'")["value"].eq(0.74).all()
    assert gapkit.history(tmp_path / "nothing").empty


def test_revisions_show_how_a_past_month_moved(tmp_path):
    monitor.append_history(kpi_rows(0.70), "2025-05-31", tmp_path / "history.parquet")
    changed = monitor.revisions(gapkit.history(tmp_path), kpi_rows(0.75), AS_OF)
    row = changed.iloc[0]
    assert (row["period"], row["as of 2025-05-31"], row["as of 2025-06-30"]) == ("2025-05", 0.70, 0.75)
    assert row["revised"] == pytest.approx(0.05)


# --- alerts -----------------------------------------------------------------------------------

def monthly_shares(rng, months=18, n=300, rate=0.7, series=1, drop=None):
    """A monthly share KPI table: ``series`` segments in control at ``rate``; ``drop`` = (segment, months
    back, size) plants a fall in one segment-month."""
    periods = [str(p) for p in pd.period_range("2024-01", periods=months, freq="M")]
    rows = []
    for s in range(series):
        for i, period in enumerate(periods):
            p = rate
            if drop and drop[0] == s and i == months - 1 - drop[1]:
                p = rate - drop[2]
            k = rng.binomial(n, p)
            rows.append({"kpi": "csat", "period": period, "segment_by": "team", "segment": f"t{s}", "n": n,
                         "value": k / n, "ci_low": 0.0, "ci_high": 1.0, "unit": "share", "better": "higher"})
    return pd.DataFrame(rows)


@pytest.mark.slow  # a long simulation: in `make test`, not `make test-fast`
def test_in_control_series_rarely_raise_an_alert():
    """100 in-control segments x 3 checked months per run: the widened limits keep the chance of
    any false alarm in a run near 5% (Bonferroni); at plain 3 sigma it would be ~55%."""
    rng = np.random.default_rng(3)
    runs = 60
    noisy = sum(len(monitor.alerts(monthly_shares(rng, series=100), AS_OF).table) > 0 for _ in range(runs))
    assert noisy / runs <= 0.15  # 0.05 expected; 60 runs: 0.15 is ~3 standard errors above
    result = monitor.alerts(monthly_shares(rng, series=100), AS_OF)
    assert result.checked == 300 and result.series == 100 and result.limit_z > 3


def test_a_planted_drop_is_flagged_as_worse():
    rng = np.random.default_rng(5)
    found = 0
    for _ in range(20):
        table = monthly_shares(rng, series=50, n=400, drop=(7, 1, 0.15))
        flagged = monitor.alerts(table, AS_OF).table
        hit = flagged[(flagged["segment"] == "t7") & (flagged["period"] == "2025-05")]
        found += len(hit) == 1 and hit["direction"].iloc[0] == "worse"
    # 15 points at n = 400 is 6.5 sampling errors; the limits are a prediction interval from 15
    # baseline months (Student's t, Bonferroni over 150 points): caught 18 of 20 (a 10-point drop,
    # 4.4 errors, 8 of 20: the price of limits that no longer cry wolf)
    assert found >= 16


@pytest.mark.slow  # 600 alert runs
@pytest.mark.parametrize("swings", [0.0, 1.0])
def test_in_control_kpis_of_every_kind_rarely_raise_an_alert_even_when_months_swing(swings):
    """Issue 28: two shares, a mean, NPS and two medians over 12 months, 5 segments and everyone;
    limits on the sampling error alone (medians from 1.4826 x MAD of the monthly medians) cried
    wolf in 73% of runs (95% with swings); measured now 1.7% and 6.0% of 300 runs (4.3% before
    exceptional baseline months were set aside)."""
    from alert_simulation import false_alarm_rate

    assert false_alarm_rate(300, swings) <= 0.10  # 0.05 promised; 300 runs: 0.10 is 4 standard errors off


@pytest.mark.slow  # 200 alert runs
def test_an_exceptional_baseline_month_neither_hides_a_change_nor_flatters_the_months_after():
    """Issue 28: a blizzard month (every KPI 8 sampling errors worse) in the baseline inflated the
    limits so far that a real csat drop of 8 errors in one segment was caught in 0 of 100 runs
    (50 of 100 without the blizzard). Set aside as Phase I: 42 of 100, no false alarm in 96."""
    from alert_simulation import blizzard, planted_drop, table

    rng = np.random.default_rng(4)
    caught, quiet, aside = [], [], []
    for _ in range(100):
        stormy = blizzard(table(rng, 1.0))
        result = monitor.alerts(planted_drop(stormy), AS_OF)
        flagged = result.table
        caught.append(((flagged["kpi"] == "csat") & (flagged["segment"] == "s0") & (flagged["period"] == "2025-06")
                       & (flagged["direction"] == "worse")).any())
        quiet.append(monitor.alerts(stormy, AS_OF).table.empty)
        aside.append((result.set_aside["period"] == "2024-09").mean())
    print(f"\nblizzard in the baseline: drop caught in {np.mean(caught):.0%}, quiet without a change "
          f"in {np.mean(quiet):.0%}, {np.mean(aside):.0%} of set-aside months are the blizzard")
    assert np.mean(caught) >= 0.3
    assert np.mean(quiet) >= 0.9
    assert np.mean(aside) >= 0.9  # what is set aside is the blizzard, not ordinary months
    assert "exceptional baseline month" in str(result.summary())


def test_alert_rows_carry_the_contract_columns_and_limits_stay_on_the_scale():
    rng = np.random.default_rng(1)
    table = monthly_shares(rng, series=3, n=40, rate=0.05, drop=(0, 0, -0.4))  # a jump up in a rare rate
    flagged = monitor.alerts(table, AS_OF).table
    assert list(flagged.columns[:10]) == gapkit.publish.ARTIFACT_COLUMNS["alerts.csv"]
    assert flagged["lower_limit"].between(0, 1).all() and flagged["upper_limit"].between(0, 1).all()
    assert (flagged["direction"] == "worse").sum() == 0  # csat going up is better


def test_unknown_monitor_rules_are_refused():
    with pytest.raises(gapkit.ConfigError, match="unknown rule"):
        monitor.alerts(monthly_shares(np.random.default_rng(0)), AS_OF, {"sigmas": 3})


# --- retention --------------------------------------------------------------------------------

def orders(rows):
    return pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at"])


def test_kaplan_meier_by_hand_with_censoring():
    data = gapkit.validate({"orders": orders([
        ("a1", "A", "2025-01-01"), ("a2", "A", "2025-01-11"),   # returns on day 10
        ("b1", "B", "2025-01-01"), ("b2", "B", "2025-01-01"),   # same day: not a return; censored
        ("c1", "C", "2025-01-01"), ("c2", "C", "2025-02-01"),   # returns on day 31
        ("d1", "D", "2025-06-20"),                              # followed 10.99 days: censored
    ])})
    curve = monitor.retention(data, AS_OF, days=(7, 14, 60), cohorts=False).table
    at = curve.set_index("day")
    # day 10: 4 at risk, 1 return -> S = 3/4; D is censored at ~11 days; day 31: 2 at risk, 1 return -> 3/8
    assert at.loc[7, "survival"] == 1.0 and at.loc[14, "survival"] == pytest.approx(0.75)
    assert at.loc[60, "survival"] == pytest.approx(0.375)
    assert (at.loc[14, "at_risk"], at.loc[14, "events"], at.loc[60, "events"]) == (2, 1, 1)
    assert at.loc[60, "ci_low"] < 0.375 < at.loc[60, "ci_high"]


def test_ninety_days_off_the_curve_equal_the_repeat_rate_when_nobody_is_censored(sample_dir):
    data = gapkit.load(sample_dir)
    as_of = "2025-06-30"
    first = data["orders"].groupby("customer_id")["ordered_at"].min()
    old = first[first <= pd.Timestamp("2025-03-01", tz="UTC")].index  # everyone followed > 90 days
    tables = {"orders": data["orders"][data["orders"]["customer_id"].isin(old)]}
    curve = monitor.retention(gapkit.validate(tables), as_of, days=(90,), cohorts=False).table.iloc[0]
    rate = gapkit.kpis(gapkit.validate(tables), as_of, kpis=["repeat_purchase_rate"]).iloc[0]
    assert 1 - curve["survival"] == pytest.approx(rate["value"], abs=1e-12)
    assert curve["at_risk"] + curve["events"] <= rate["n"]


def test_retention_by_segment_and_cohort_on_the_sample(sample_dir):
    result = monitor.retention(gapkit.load(sample_dir), AS_OF, by=["segment"])
    table = result.table
    assert set(table["segment_by"]) == {"all", "segment"} and (table["cohort"] != "all").any()
    assert table["survival"].between(0, 1).all() and (table["ci_low"] <= table["survival"] + 1e-12).all()
    # a later first-order month is followed for less time
    assert table[table["cohort"] == "2025-05"]["day"].max() < table[table["cohort"] == "2024-05"]["day"].max()
    assert "order again within 90 days" in result.summary()


def test_time_to_churn_by_hand():
    # as_of 2025-06-30; a customer is lost 100 days after an order with no order in those 100 days
    data = gapkit.validate({"orders": orders([
        ("a1", "A", "2024-01-01"), ("a2", "A", "2024-03-01"), ("a3", "A", "2024-12-01"),  # silent from 2024-03-01
        ("b1", "B", "2024-01-01"), ("b2", "B", "2024-04-10"),   # 100 days exactly: still active, then silent
        ("c1", "C", "2025-05-01"),                              # 60 days followed: censored
        ("d1", "D", "2024-06-01"), ("d2", "D", "2025-06-01"),   # silent 2024-06-01 to 2025-06-01
    ])})
    lost = monitor.churn_durations(data, AS_OF, churn_days=100).set_index("customer_id")
    # A: 2024-03-01 + 100 days = 2024-06-09, 160 days after 2024-01-01; B: 2024-04-10 + 100 days,
    # 200 days after its first order; C: censored at the end of 2025-06-30; D: 100 days
    assert lost["churned"].to_dict() == {"A": True, "B": True, "C": False, "D": True}
    assert lost.loc[["A", "B", "D"], "days"].tolist() == [160.0, 200.0, 100.0]
    assert lost.loc["C", "days"] == pytest.approx(60 + 86399.999999 / 86400)
    result = monitor.retention(data, AS_OF, churn_days=100, cohorts=False)
    at = result.churn.set_index("day")
    # day 100: A, B, D still followed (C censored at ~61 days), D churns -> 2/3; day 190: A churns -> 1/3
    assert at.loc[100, "survival"] == pytest.approx(2 / 3) and at.loc[190, "survival"] == pytest.approx(1 / 3)
    assert (result.churn["churn_days"] == 100).all()
    assert "churned (no order for 100 days)" in result.churn_summary()


def test_show_revisions_keeps_the_last_months_of_each_kpi():
    changed = pd.DataFrame({"kpi": ["csat"] * 6, "period": [f"2025-0{m}" for m in range(1, 7)],
                            "as of 2025-05-31": [0.7] * 5 + [np.nan], "as of 2025-06-30": [0.7] * 4 + [0.75, 0.8],
                            "revised": [0.0] * 4 + [0.05, 0.0]})
    shown = monitor.show_revisions(changed, months=4).data
    assert shown["period"].tolist() == ["2025-03", "2025-04", "2025-05", "2025-06"]


def test_months_still_settling_are_not_judged():
    """Issue 28: a cohort month is judged once its window has passed (repeat purchase: 90 days),
    and a median month once its units are no longer too open, as the current level counts them."""
    rng = np.random.default_rng(9)
    cohorts = monthly_shares(rng, series=3, n=400, drop=(1, 1, 0.4)).assign(kpi="repeat_purchase_rate")
    result = monitor.alerts(cohorts, AS_OF)
    assert result.table.empty or (result.table["period"] <= "2025-03").all()  # May's sliver: not judged
    assert result.checked == 3 * 3  # the last three settled cohorts, 2025-01..03, of three series
    settled = monthly_shares(rng, series=3, n=400, drop=(1, 3, 0.4)).assign(kpi="repeat_purchase_rate")
    flagged = monitor.alerts(settled, AS_OF).table  # March's cohort has had its 90 days: judged
    assert ((flagged["segment"] == "t1") & (flagged["period"] == "2025-03")).any()

    periods = [str(p) for p in pd.period_range("2024-01", periods=18, freq="M")]
    hours = pd.DataFrame({"kpi": "first_response_hours", "period": periods, "segment_by": "all", "segment": "all",
                          "n": 300, "value": [10.0] * 17 + [2.0], "ci_low": [9.0] * 17 + [1.8],
                          "ci_high": [11.0] * 17 + [2.2], "open_share": [0.02] * 17 + [0.45]})
    late = monitor.alerts(hours, AS_OF)
    assert "2025-06" not in set(late.table["period"])  # June's median over the quick half: not an alarm


def test_a_curve_is_drawn_from_the_last_step_of_each_day():
    """A million customers step at almost every distinct time; drawing each step made report 1's
    HTML 37 MB. The drawn curve keeps the start and each day's last step, so at every day's end it
    reads what the whole curve reads."""
    from gapkit.monitor.retention import _daily

    rng = np.random.default_rng(4)
    days = np.r_[0.0, np.sort(rng.uniform(0, 60, 5000))]
    curve = pd.DataFrame({"day": days, "survival": np.r_[1.0, np.linspace(0.999, 0.6, 5000)]})
    drawn = _daily(curve)
    assert len(drawn) <= 61 and drawn["day"].iloc[0] == 0.0 and drawn["day"].iloc[-1] == days[-1]
    for end in np.arange(1.0, 60.0):
        whole = curve["survival"].iloc[np.searchsorted(days, end, side="right") - 1]
        thin = drawn["survival"].iloc[np.searchsorted(drawn["day"].to_numpy(), end, side="right") - 1]
        assert whole == thin
