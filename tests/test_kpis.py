"""Every KPI against tables small enough to compute by hand, on every engine."""

import math

import numpy as np
import pandas as pd
import pytest

import gapkit
from gapkit.measure.engine import KPI_COLUMNS
from gapkit.measure.intervals import median_bound_ranks

AS_OF = "2025-06-30"


@pytest.fixture(params=["pandas", "duckdb", "polars"])
def engine(request):
    return request.param


def overall(data, kpi, engine, **kw):
    table = gapkit.kpis(gapkit.validate(data), as_of=kw.pop("as_of", AS_OF), kpis=[kpi], engine=engine, **kw)
    row = table[(table.period == "all") & (table.segment_by == "all")]
    assert len(row) == 1, table
    return row.iloc[0]


def orders(*rows, **extra):
    """rows of (order_id, customer_id, ordered_at[, delivered_at[, promised_at]])."""
    frame = pd.DataFrame(
        [dict(zip(["order_id", "customer_id", "ordered_at", "delivered_at", "promised_at"], r)) for r in rows]
    )
    for column, values in extra.items():
        frame[column] = values
    return frame


def surveys(column, scores, answered="2025-03-02"):
    return pd.DataFrame(
        {
            "response_id": [f"r{i}" for i in range(len(scores))],
            "customer_id": "c1",
            "sent_at": "2025-03-01",
            "answered_at": [answered if s is not None else None for s in scores],
            column: scores,
        }
    )


BASE_ORDERS = orders(("o1", "c1", "2025-01-01"))


def tickets(rows):
    """rows of (created_at, first_response_at, resolved_at, contacts, reopened)."""
    frame = pd.DataFrame(rows, columns=["created_at", "first_response_at", "resolved_at", "contacts", "reopened"])
    frame.insert(0, "ticket_id", [f"t{i}" for i in range(len(frame))])
    frame.insert(1, "customer_id", "c1")
    return frame


# --- surveys ---------------------------------------------------------------------------------

def test_csat_share_of_4_and_5(engine):
    row = overall({"orders": BASE_ORDERS, "surveys": surveys("csat", [5, 4, 3, 1, 4, None])}, "csat", engine)
    assert row.n == 5 and row.value == pytest.approx(3 / 5)
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(3, 5, method="wilson")
    assert (row.ci_low, row.ci_high) == pytest.approx((low, high))


def test_csat_mean_with_t_interval(engine):
    scores = [5, 4, 3, 1, 4]
    row = overall({"orders": BASE_ORDERS, "surveys": surveys("csat", scores)}, "csat_mean", engine)
    from scipy import stats

    assert row.value == pytest.approx(3.4)
    # half a pseudo-response at 1 and at 5: 6 "responses" summing 17 + 3 = 20, squares 67 + 13 = 80;
    # centre 20 / 6, variance (80 - 6 (20/6)^2) / 5, t on 5 df over sqrt(6)
    augmented = np.array(scores + [1, 5], dtype=float)
    weights = np.array([1.0] * 5 + [0.5, 0.5])
    centre = (weights * augmented).sum() / 6
    spread = math.sqrt(((weights * augmented**2).sum() - 6 * centre**2) / 5 / 6)
    half = stats.t.ppf(0.975, 5) * spread
    # (1.62, 5.05) meets the end of the 1..5 scale: it is held inside it
    assert (row.ci_low, row.ci_high) == pytest.approx((centre - half, 5.0)) and centre + half > 5


def test_nps_by_hand(engine):
    # 4 promoters (9, 10), 3 passives (7, 8), 3 detractors (0-6) of 10: NPS = 10
    scores = [9, 10, 10, 9, 7, 8, 8, 6, 0, 3]
    row = overall({"orders": BASE_ORDERS, "surveys": surveys("nps", scores)}, "nps", engine)
    assert row.n == 10 and row.value == pytest.approx(10.0)
    # adjusted Wald: half a pseudo-response in each group, (4.5, 3.5, 3.5) of 11.5, variance over n
    p1, p3 = 4.5 / 11.5, 3.5 / 11.5
    centre, half = p1 - p3, 1.959964 * math.sqrt((p1 + p3 - (p1 - p3) ** 2) / 10)
    assert (row.ci_low, row.ci_high) == pytest.approx((100 * (centre - half), 100 * (centre + half)), rel=1e-5)


def test_ces_mean(engine):
    row = overall({"orders": BASE_ORDERS, "surveys": surveys("ces", [7, 6, 2])}, "ces_mean", engine)
    assert row.n == 3 and row.value == pytest.approx(5.0)


def test_survey_response_rate_counts_only_surveys_whose_window_has_closed(engine):
    frame = pd.DataFrame(
        {
            "response_id": ["a", "b", "c", "d", "e", "f"],
            "customer_id": "c1",
            "sent_at": ["2025-06-01", "2025-06-01", "2025-06-29", "2025-07-02", "2025-06-10", "2025-06-23"],
            "answered_at": ["2025-06-02", None, "2025-07-01", "2025-07-03", "2025-06-20", "2025-06-30"],
        }
    )
    row = overall({"orders": BASE_ORDERS, "surveys": frame}, "survey_response_rate", engine)
    # c (sent the day before as_of) and d (after) have not had their 7 days; e answered after
    # 10 days is not a response; f's window closed at the end of as_of and it was answered in it
    assert row.n == 4 and row.value == pytest.approx(2 / 4)


def test_survey_response_rate_is_not_dragged_down_by_surveys_sent_hours_ago(engine):
    # the audit's toy case: one answered survey from last month, one sent hours before as_of
    frame = pd.DataFrame({"response_id": ["old", "new"], "customer_id": "c1",
                          "sent_at": ["2025-05-01", "2025-06-30 09:00"], "answered_at": ["2025-05-02", None]})
    row = overall({"orders": BASE_ORDERS, "surveys": frame}, "survey_response_rate", engine)
    assert row.n == 1 and row.value == 1.0
    # with a 12-hour window the 09:00 survey has had its chance by the end of the day
    assert overall({"orders": BASE_ORDERS, "surveys": frame}, "survey_response_rate", engine,
                   params={"response_days": 0.5}).n == 2


# --- tickets ---------------------------------------------------------------------------------

TICKETS = tickets(
    [
        ("2025-05-01T00:00", "2025-05-01T02:00", "2025-05-02T00:00", 1, False),   # 2 h, 24 h
        ("2025-05-01T00:00", "2025-05-02T00:00", "2025-05-09T00:00", 1, True),    # 24 h (edge), 8 d
        ("2025-05-01T00:00", "2025-05-02T06:00", "2025-05-03T00:00", 2, False),   # 30 h
        ("2025-05-01T00:00", None, None, None, None),                              # never answered
        ("2025-06-30T12:00", None, None, None, None),                              # too young for SLA
    ]
)


def test_first_response_hours_median_over_answered(engine):
    row = overall({"orders": BASE_ORDERS, "tickets": TICKETS}, "first_response_hours", engine)
    assert row.n == 3 and row.value == pytest.approx(24.0)
    assert row.small_n and math.isnan(row.ci_low)  # n = 3 < 6: no 95% order-statistic interval


def test_first_response_sla_counts_unanswered_as_breach_and_skips_young(engine):
    row = overall({"orders": BASE_ORDERS, "tickets": TICKETS}, "first_response_sla", engine)
    # 2 h and exactly 24 h are within; 30 h and never-answered breach; the 12-hour-old one waits
    assert row.n == 4 and row.value == pytest.approx(2 / 4)


def test_sla_hours_parameter(engine):
    row = overall({"orders": BASE_ORDERS, "tickets": TICKETS}, "first_response_sla", engine,
                  params={"sla_hours": 48})
    assert row.n == 4 and row.value == pytest.approx(3 / 4)


def test_resolution_kpis(engine):
    data = {"orders": BASE_ORDERS, "tickets": TICKETS}
    hours = overall(data, "resolution_hours", engine)
    assert hours.n == 3 and hours.value == pytest.approx(48.0)
    rate = overall(data, "resolution_rate", engine)
    # created 2025-05-01 (old enough): 24 h and 48 h within 7 days, 8 days not, unresolved not;
    # the ticket of 2025-06-30 is younger than 7 days and not counted
    assert rate.n == 4 and rate.value == pytest.approx(2 / 4)


def test_fcr_and_reopen(engine):
    data = {"orders": BASE_ORDERS, "tickets": TICKETS}
    fcr = overall(data, "fcr_rate", engine)
    assert fcr.n == 3 and fcr.value == pytest.approx(1 / 3)
    reopen = overall(data, "reopen_rate", engine)
    assert reopen.n == 3 and reopen.value == pytest.approx(1 / 3)


def test_ticket_kpis_skipped_without_their_columns(engine):
    data = {"orders": BASE_ORDERS, "tickets": TICKETS.drop(columns=["contacts"])}
    table = gapkit.kpis(gapkit.validate(data), as_of=AS_OF, engine=engine)
    assert "fcr_rate" in table.attrs["skipped"] and "fcr_rate" not in set(table.kpi)
    assert "reopen_rate" in set(table.kpi)
    assert "csat" in table.attrs["skipped"]  # no surveys table


# --- orders and follow-ups ------------------------------------------------------------------

ORDERS = orders(
    ("o1", "c1", "2025-01-01T10:00", "2025-01-03T00:00", "2025-01-03"),  # on time (same day)
    ("o2", "c1", "2025-02-15T00:00", "2025-02-18T15:00", "2025-02-17"),  # late
    ("o3", "c2", "2025-01-05T00:00", "2025-01-20T00:00", "2025-01-20"),  # on the promised day
    ("o4", "c3", "2025-06-20T00:00", "2025-06-28T00:00", None),          # delivered < 7 days ago
    ("o5", "c4", "2025-06-29T00:00", None, "2025-07-02"),                 # not delivered
)
FOLLOWUPS = pd.DataFrame(
    {
        "followup_id": ["f0", "f1", "f2", "f3", "f4"],
        "order_id": ["o1", "o1", "o2", "o3", "o4"],
        "customer_id": ["c1", "c1", "c1", "c2", "c3"],
        # f0 before delivery does not count; f1 2 days after; f2 exactly 7 days; f3 too late
        "sent_at": ["2025-01-02", "2025-01-05", "2025-02-25T15:00", "2025-01-28", "2025-06-29"],
        "personalized": [True, False, True, None, True],
    }
)


def test_followup_coverage_window_edges(engine):
    row = overall({"orders": ORDERS, "followups": FOLLOWUPS}, "followup_coverage", engine)
    # o1 covered (2 d), o2 covered at exactly 7 d, o3 not (8 d), o4 too recent, o5 not delivered
    assert row.n == 3 and row.value == pytest.approx(2 / 3)


def test_followup_latency_over_covered_orders(engine):
    row = overall({"orders": ORDERS, "followups": FOLLOWUPS}, "followup_latency_days", engine)
    assert row.n == 2 and row.value == pytest.approx((2 + 7) / 2)


def test_personalization_rate_ignores_unknown(engine):
    row = overall({"orders": ORDERS, "followups": FOLLOWUPS}, "personalization_rate", engine)
    assert row.n == 4 and row.value == pytest.approx(3 / 4)


def test_on_time_whole_day_promises(engine):
    row = overall({"orders": ORDERS}, "on_time_delivery_rate", engine)
    # o4 has no promise; o1 and o3 delivered on the promised day; o2 a day late
    assert row.n == 3 and row.value == pytest.approx(2 / 3)


def test_on_time_exact_promises_when_times_given(engine):
    timed = ORDERS.assign(promised_at=["2025-01-03T12:00", "2025-02-18T16:00", "2025-01-19T23:00", None, None])
    row = overall({"orders": timed}, "on_time_delivery_rate", engine)
    assert row.n == 3 and row.value == pytest.approx(2 / 3)  # o3 late by an hour


def test_on_time_counts_an_undelivered_order_past_its_promise_as_late(engine):
    # the audit's toy case: two kept promises and one fallen due without a delivery -> 2/3, not 1
    data = orders(
        ("a", "c1", "2025-06-01T10:00", "2025-06-03T09:00", "2025-06-04"),
        ("b", "c2", "2025-06-02T10:00", "2025-06-04T09:00", "2025-06-05"),
        ("c", "c3", "2025-06-10T10:00", None, "2025-06-14"),        # fell due, never came: late
        ("d", "c4", "2025-06-27T10:00", None, "2025-07-03"),        # promise not yet due: not counted
        ("e", "c5", "2025-06-28T10:00", "2025-06-29T10:00", "2025-06-30"),  # due at the end of as_of
    )
    row = overall({"orders": data}, "on_time_delivery_rate", engine)
    assert row.n == 4 and row.value == pytest.approx(3 / 4)
    timed = data.assign(promised_at=["2025-06-04T12:00", "2025-06-05T12:00", "2025-06-14T12:00",
                                      "2025-07-03T12:00", "2025-06-30T23:00"])
    assert overall({"orders": timed}, "on_time_delivery_rate", engine).n == 4


def test_on_time_leaves_cancelled_orders_aside_and_anchors_on_the_promise(engine):
    data = orders(
        ("a", "c1", "2025-05-20T10:00", "2025-06-02T09:00", "2025-06-01"),   # late, promised in June
        ("b", "c2", "2025-05-25T10:00", None, "2025-05-30"),                  # cancelled: aside
        ("c", "c3", "2025-05-26T10:00", "2025-05-29T09:00", "2025-05-31"),   # on time, May
        status=["delivered", " Cancelled", None],
    )
    table = gapkit.kpis(gapkit.validate({"orders": data}), as_of=AS_OF, kpis=["on_time_delivery_rate"],
                        period="M", engine=engine)
    months = table[(table.segment_by == "all") & (table.period != "all")].set_index("period")
    assert months["n"].to_dict() == {"2025-05": 1, "2025-06": 1}
    assert months["value"].to_dict() == {"2025-05": 1.0, "2025-06": 0.0}


def test_delivery_days_median(engine):
    row = overall({"orders": ORDERS}, "delivery_days", engine)
    values = sorted([38 / 24, 3 + 15 / 24, 15, 8])
    assert row.n == 4 and row.value == pytest.approx((values[1] + values[2]) / 2)


def test_repeat_purchase_respects_censoring(engine):
    data = orders(
        ("a1", "A", "2025-01-01"), ("a2", "A", "2025-04-01"),  # 90 days later exactly: repeat
        ("b1", "B", "2025-01-01"), ("b2", "B", "2025-04-02"),  # 91 days: not
        ("c1", "C", "2025-02-01"),                            # no second order
        ("d1", "D", "2025-04-15"), ("d2", "D", "2025-04-20"),  # window not elapsed: not counted
    )
    row = overall({"orders": data}, "repeat_purchase_rate", engine)
    assert row.n == 3 and row.value == pytest.approx(1 / 3)


def test_repeat_purchase_needs_a_strictly_later_order(engine):
    # two orders at the first order's instant are one purchase occasion, not a repeat
    data = orders(
        ("a1", "A", "2025-01-01T10:00"), ("a2", "A", "2025-01-01T10:00"),
        ("b1", "B", "2025-01-01"), ("b2", "B", "2025-01-01"), ("b3", "B", "2025-01-02"),  # a later day
        ("c1", "C", "2025-01-01T10:00"), ("c2", "C", "2025-01-01T10:05"),
    )
    row = overall({"orders": data}, "repeat_purchase_rate", engine)
    assert row.n == 3 and row.value == pytest.approx(2 / 3)


def test_median_durations_report_the_share_still_open(engine):
    frame = tickets([
        ("2025-06-01T00:00", "2025-06-01T02:00", "2025-06-01T10:00", 1, False),
        ("2025-06-02T00:00", "2025-06-02T04:00", None, 1, False),              # still open
        ("2025-06-03T00:00", None, None, 1, False),                            # unanswered, open
        ("2025-06-04T00:00", "2025-06-04T06:00", "2025-07-02T00:00", 1, False),  # resolved after as_of
    ])
    data = {"orders": BASE_ORDERS, "tickets": frame}
    resolution = overall(data, "resolution_hours", engine)
    assert resolution.n == 1 and resolution.value == 10 and resolution.open_share == pytest.approx(3 / 4)
    first = overall(data, "first_response_hours", engine)
    assert first.n == 3 and first.value == 4 and first.open_share == pytest.approx(1 / 4)
    assert math.isnan(overall(data, "fcr_rate", engine).open_share)  # shares: not applicable


def test_repeat_purchase_as_of_excludes_later_orders(engine):
    data = orders(("a1", "A", "2025-01-01"), ("a2", "A", "2025-03-01"))
    row = overall({"orders": data}, "repeat_purchase_rate", engine, as_of="2025-04-01")
    assert row.n == 1 and row.value == 1.0
    table = gapkit.kpis(gapkit.validate({"orders": data}), as_of="2025-02-15", kpis=["repeat_purchase_rate"],
                        engine=engine)
    assert table.empty  # nobody's 90 days have elapsed by mid-February


def test_referral_rate(engine):
    data = {
        "orders": orders(("a1", "A", "2025-01-01"), ("b1", "B", "2025-01-01"), ("c1", "C", "2025-01-01")),
        "referrals": pd.DataFrame(
            {
                "referral_id": ["r1", "r2", "r3"],
                "customer_id": ["A", "B", "B"],
                "referred_at": ["2025-02-01", "2024-12-01", "2025-05-01"],  # B: before and after window
            }
        ),
    }
    row = overall(data, "referral_rate", engine)
    assert row.n == 3 and row.value == pytest.approx(1 / 3)


# --- segments, periods, as_of ---------------------------------------------------------------

def test_segments_from_customers_and_own_table_with_missing(engine):
    data = {
        "orders": ORDERS.assign(channel=["web", "app", "web", "web", None]),
        "customers": pd.DataFrame({"customer_id": ["c1", "c2", "c3", "c4"], "segment": ["A", None, "B", "B"],
                                   "channel": ["x", "x", "x", "x"]}),
    }
    table = gapkit.kpis(gapkit.validate(data), as_of=AS_OF, by=["segment", "channel"], kpis=["delivery_days"],
                        engine=engine)
    seg = table[table.segment_by == "segment"].set_index("segment")
    assert seg.loc["(missing)", "n"] == 1 and seg.loc["A", "n"] == 2 and seg.loc["B", "n"] == 1
    chan = table[table.segment_by == "channel"].set_index("segment")
    assert set(chan.index) == {"web", "app"}  # the orders' channel wins over customers.channel


def test_monthly_periods_add_up(engine):
    table = gapkit.kpis(gapkit.validate({"orders": ORDERS}), as_of=AS_OF, period="M", kpis=["delivery_days"],
                        engine=engine)
    months = table[(table.period != "all") & (table.segment_by == "all")]
    assert list(months.period) == ["2025-01", "2025-02", "2025-06"]
    assert months.n.sum() == table[(table.period == "all") & (table.segment_by == "all")].n.item()


def test_tz_naive_and_offset_timestamps_agree(engine):
    naive = surveys("csat", [5, 1], answered="2025-03-31T23:30")
    offset = surveys("csat", [5, 1], answered="2025-04-01T01:30+02:00")
    for frame in (naive, offset):
        table = gapkit.kpis(gapkit.validate({"orders": BASE_ORDERS, "surveys": frame}), as_of=AS_OF, period="M",
                            kpis=["csat"], engine=engine)
        assert set(table.period) == {"all", "2025-03"}  # both are 23:30 UTC on 31 March


def test_event_at_end_of_as_of_day_is_included(engine):
    frame = surveys("csat", [5], answered="2025-06-30T23:59:59")
    frame.loc[0, "sent_at"] = "2025-06-30T23:59:00"
    assert overall({"orders": BASE_ORDERS, "surveys": frame}, "csat", engine).n == 1
    frame.loc[0, "answered_at"] = "2025-07-01T00:00:00"
    table = gapkit.kpis(gapkit.validate({"orders": BASE_ORDERS, "surveys": frame}), as_of=AS_OF, kpis=["csat"],
                        engine=engine)
    assert table.empty


def test_all_null_column_gives_no_rows_not_an_error(engine):
    frame = surveys("csat", [None, None, None])
    table = gapkit.kpis(gapkit.validate({"orders": BASE_ORDERS, "surveys": frame}), as_of=AS_OF,
                        kpis=["csat", "csat_mean"], engine=engine)
    assert table.empty


def test_ties_in_medians(engine):
    frame = tickets([("2025-05-01", "2025-05-01T05:00", None, 1, False)] * 9
                    + [("2025-05-01", "2025-05-01T01:00", None, 1, False)])
    row = overall({"orders": BASE_ORDERS, "tickets": frame}, "first_response_hours", engine)
    assert row.value == 5.0 and row.ci_low == 5.0 and row.ci_high == 5.0  # ranks 2 and 9 of 10


def test_unknown_kpi_and_bad_period_raise():
    data = gapkit.validate({"orders": BASE_ORDERS})
    with pytest.raises(gapkit.ConfigError, match="unknown KPI"):
        gapkit.kpis(data, as_of=AS_OF, kpis=["nope"])
    with pytest.raises(gapkit.ConfigError, match="period"):
        gapkit.kpis(data, as_of=AS_OF, period="W")


def test_columns_follow_the_contract():
    table = gapkit.kpis(gapkit.validate({"orders": ORDERS}), as_of=AS_OF)
    assert list(table.columns[:10]) == ["kpi", "period", "segment_by", "segment", "n", "value", "ci_low",
                                        "ci_high", "unit", "better"]


# --- the median interval ----------------------------------------------------------------------

@pytest.mark.parametrize("n, expected", [(5, (None, None)), (6, (1, 6)), (10, (2, 9)), (20, (6, 15)),
                                         (100, (40, 61))])
def test_median_bound_ranks_match_binomial_tables(n, expected):
    # reference ranks from the exact binomial (e.g. Conover, Practical Nonparametric Statistics, table A3)
    assert median_bound_ranks(n) == expected


def test_units_aggregate_to_the_kpi(engine):
    data = gapkit.validate({"orders": ORDERS, "followups": FOLLOWUPS,
                            "customers": pd.DataFrame({"customer_id": ["c1", "c2", "c3", "c4"],
                                                       "segment": ["A", "B", "A", "B"]})})
    unit_rows = gapkit.units(data, "followup_coverage", as_of=AS_OF, by=["segment"], engine=engine)
    assert {"order_id", "customer_id", "segment", "anchor", "period", "value"} <= set(unit_rows.columns)
    table = gapkit.kpis(data, as_of=AS_OF, by=["segment"], kpis=["followup_coverage"], engine=engine)
    by_segment = table[table.segment_by == "segment"].set_index("segment")
    for segment, group in unit_rows.groupby("segment"):
        assert by_segment.loc[segment, "n"] == len(group)
        assert by_segment.loc[segment, "value"] == pytest.approx(group.value.mean())


def test_kpi_without_units_is_listed_as_skipped_not_dropped(engine):
    data = gapkit.validate({"orders": orders(("a1", "A", "2025-01-01"), ("a2", "A", "2025-01-05"))})
    table = gapkit.kpis(data, as_of="2025-01-10", kpis=["repeat_purchase_rate"], engine=engine)
    assert table.empty and list(table.columns) == KPI_COLUMNS
    assert "no window has elapsed" in table.attrs["skipped"]["repeat_purchase_rate"]
    later = gapkit.kpis(data, as_of="2025-06-30", kpis=["repeat_purchase_rate"], engine=engine)
    assert "repeat_purchase_rate" not in later.attrs["skipped"] and set(later.kpi) == {"repeat_purchase_rate"}


def test_segment_columns_are_joined_once_and_match_units(engine):
    data = gapkit.validate(
        {
            "orders": orders(("a1", "A", "2025-01-01", "2025-01-03"), ("b1", "B", "2025-01-02", "2025-01-06")),
            "customers": pd.DataFrame({"customer_id": ["A", "B"], "segment": ["x", None]}),
        }
    )
    table = gapkit.kpis(data, as_of=AS_OF, by=["segment"], kpis=["delivery_days", "repeat_purchase_rate"],
                        engine=engine)
    for kpi in ["delivery_days", "repeat_purchase_rate"]:
        u = gapkit.units(data, kpi, as_of=AS_OF, by=["segment"], engine=engine)
        rows = table[(table.kpi == kpi) & (table.segment_by == "segment")].set_index("segment")
        assert rows.n.to_dict() == {"x": 1, "(missing)": 1}
        assert rows.loc["x", "value"] == pytest.approx(u[u.segment == "x"]["value"].mean())


def test_referral_conversion_rate_over_referrals_with_a_known_outcome(engine):
    referrals = pd.DataFrame({"referral_id": ["r1", "r2", "r3", "r4"], "customer_id": "c1",
                              "referred_at": ["2025-01-05", "2025-02-05", "2025-03-05", "2025-07-05"],
                              "converted": [True, False, None, True]})
    row = overall({"orders": BASE_ORDERS, "referrals": referrals}, "referral_conversion_rate", engine)
    assert row.n == 2 and row.value == 0.5  # r3 unknown, r4 after as_of


def test_reopen_and_fcr_count_only_tickets_that_have_had_reopen_days_to_reopen():
    orders = pd.DataFrame({"order_id": ["o1"], "customer_id": ["c1"], "ordered_at": ["2025-06-01T00:00:00Z"]})
    tickets = pd.DataFrame({
        "ticket_id": ["t1", "t2", "t3"], "customer_id": ["c1"] * 3, "created_at": ["2025-06-01T00:00:00Z"] * 3,
        # resolved 20 days, 1 day and 10 days before the end of as_of
        "resolved_at": ["2025-06-10T00:00:00Z", "2025-06-29T12:00:00Z", "2025-06-20T00:00:00Z"],
        "contacts": [1, 1, 2], "reopened": [True, False, False]})
    data = gapkit.validate({"orders": orders, "tickets": tickets})

    def read(**params):
        table = gapkit.kpis(data, "2025-06-30", kpis=["reopen_rate", "fcr_rate"], params=params or None)
        return table.set_index("kpi")[["n", "value"]].to_dict("index")

    # t2, resolved yesterday, has not had its 7 days: it is in neither KPI
    assert read() == {"reopen_rate": {"n": 2, "value": 0.5}, "fcr_rate": {"n": 2, "value": 0.0}}
    assert read(reopen_days=1)["reopen_rate"] == {"n": 3, "value": pytest.approx(1 / 3)}
    assert read(reopen_days=1)["fcr_rate"] == {"n": 3, "value": pytest.approx(1 / 3)}
