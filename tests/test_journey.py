"""gapkit.journey: a tiny hand-made set of orders, follow-ups, tickets and surveys, checked by hand."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from statsmodels.stats.proportion import proportion_confint  # noqa: E402
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: E402

import gapkit  # noqa: E402
from gapkit.analysis.journey import journey  # noqa: E402
from gapkit.errors import ConfigError, InputError  # noqa: E402
from gapkit.sample import generate  # noqa: E402

VADER = SentimentIntensityAnalyzer()
HAPPY, FINE = "Great service, very happy!", "Delivery was fine."
ANGRY = "Support never called back, terrible experience."


def ts(text):
    return pd.Timestamp(text, tz="UTC")


def frame(rows, columns, times=()):
    out = pd.DataFrame(rows, columns=columns)
    for column in times:
        out[column] = pd.to_datetime(out[column], utc=True)
    return out


@pytest.fixture
def data():
    orders = frame([
        ("O1", "C1", "2025-01-01T10:00Z", "web", "2025-01-03T10:00Z"),
        ("O2", "C2", "2025-01-02T10:00Z", "app", "2025-01-06T10:00Z"),
        ("O3", "C1", "2025-02-01T10:00Z", "web", "2025-02-03T10:00Z"),  # C1's repeat, 31 days after O1
        ("O4", "C3", "2025-01-10T10:00Z", "web", None),                  # cancelled: never delivered
        ("O5", "C3", "2025-05-01T10:00Z", "web", "2025-05-03T10:00Z"),  # window not over at as_of: out
    ], ["order_id", "customer_id", "ordered_at", "channel", "delivered_at"], ["ordered_at", "delivered_at"])
    followups = frame([
        ("F1", "O1", "C1", "2025-01-04T10:00Z", "thank_you", "email"),       # 3 days after the order
        ("F2", "O2", "C2", "2025-01-07T10:00Z", "thank_you", "sms"),         # 5 days
        ("F3", "O1", "C1", "2025-01-11T10:00Z", "review_request", "email"),  # 10 days
        ("F4", "O3", "C1", "2025-02-05T10:00Z", "thank_you", "email"),       # 4 days
        ("F5", "O4", "C3", "2025-06-01T10:00Z", "thank_you", "email"),       # 142 days: outside the window
    ], ["followup_id", "order_id", "customer_id", "sent_at", "touchpoint", "channel"], ["sent_at"])
    tickets = frame([
        ("T1", "C2", "2025-01-05T10:00Z", "O2", "chat"),
        ("T2", "C1", "2025-02-02T10:00Z", None, "phone"),  # no order_id: C1's latest order then is O3
    ], ["ticket_id", "customer_id", "created_at", "order_id", "channel"], ["created_at"])
    surveys = frame([
        ("S1", "C1", "2025-01-05T10:00Z", "O1", None, "2025-01-12T10:00Z", HAPPY),  # after the review request
        ("S2", "C2", "2025-01-07T12:00Z", "O2", "T1", "2025-01-08T10:00Z", ANGRY),  # about the ticket
        ("S3", "C1", "2025-02-04T10:00Z", "O3", None, "2025-02-04T12:00Z", FINE),   # last event before: delivery
        ("S4", "C3", "2025-01-15T10:00Z", "O4", None, None, None),                  # never answered
    ], ["response_id", "customer_id", "sent_at", "order_id", "ticket_id", "answered_at", "comment"],
        ["sent_at", "answered_at"])
    customers = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "persona": ["loyalist", "new", "new"]})
    return {"orders": orders, "followups": followups, "tickets": tickets, "surveys": surveys, "customers": customers}


def rows(result, segment="all"):
    return result.rows(segment).set_index("stage")


def test_stages_in_time_order(data):
    j = journey(data, as_of="2025-06-30")
    assert list(rows(j).index) == ["order", "delivery", "thank_you", "review_request", "support_ticket", "survey",
                                   "review", "repeat_purchase"]
    assert list(rows(j)["order"]) == list(range(8))


def test_coverage_and_latency_by_hand(data):
    t = rows(journey(data, as_of="2025-06-30"))
    assert t["n"].eq(4).all()  # O5's 90-day window has not elapsed: not in the cohort
    expected = {"order": 4, "delivery": 3, "thank_you": 3, "review_request": 1, "support_ticket": 2, "survey": 3,
                "review": 1, "repeat_purchase": 1}
    assert t["reached"].to_dict() == expected
    assert t.loc["thank_you", "coverage"] == 0.75
    low, high = proportion_confint(3, 4, method="wilson")
    assert (t.loc["thank_you", "coverage_ci_low"], t.loc["thank_you", "coverage_ci_high"]) == pytest.approx((low, high))
    assert t.loc["delivery", "median_days"] == pytest.approx(2.0)  # 2, 4, 2 days
    assert t.loc["thank_you", "median_days"] == pytest.approx(4.0)  # 3, 5, 4 days
    assert t.loc["support_ticket", "median_days"] == pytest.approx(2.0)  # 3 days (T1), 1 day (T2 via O3)
    assert t.loc["repeat_purchase", "median_days"] == pytest.approx(31.0)
    assert np.isnan(t.loc["thank_you", "median_days_ci_low"])  # n < 6: no distribution-free interval


def test_channels(data):
    j = journey(data, as_of="2025-06-30")
    t = rows(j)
    assert t.loc["thank_you", "top_channel"] == "email"
    assert t.loc["thank_you", "channel_mix"] == "email 67%, sms 33%"
    mix = j.channels.query("segment == 'all' and stage == 'support_ticket'").set_index("channel")["share"]
    assert mix.to_dict() == {"chat": 0.5, "phone": 0.5}


def test_comments_go_to_the_stage_they_follow(data):
    t = rows(journey(data, as_of="2025-06-30"))
    score = {text: VADER.polarity_scores(text)["compound"] for text in (HAPPY, ANGRY, FINE)}
    assert t.loc["review", "sentiment"] == pytest.approx(score[HAPPY])
    assert t.loc["support_ticket", "sentiment"] == pytest.approx(score[ANGRY])
    assert t.loc["delivery", "sentiment"] == pytest.approx(score[FINE])
    assert t["sentiment_n"].sum() == 3 and t.loc["survey", "sentiment_n"] == 0


def test_segments_and_censoring(data):
    j = journey(data, as_of="2025-06-30", by="persona")
    loyal = rows(j, "loyalist")
    assert loyal["n"].eq(2).all() and loyal.loc["repeat_purchase", "coverage"] == 0.5
    assert rows(j, "new").loc["delivery", "reached"] == 1
    early = rows(journey(data, as_of="2025-04-15"))  # cohort: orders by 2025-01-15 (O1, O2, O4)
    assert early["n"].eq(3).all()
    assert early.loc["support_ticket", "reached"] == 1  # T2 belongs to O3, outside the cohort
    assert early.loc["repeat_purchase", "reached"] == 1  # O3 still counts as O1's repeat


def test_errors(data):
    with pytest.raises(ConfigError, match="region"):
        journey(data, as_of="2025-06-30", by="region")
    with pytest.raises(InputError, match="repeat_days"):
        journey(data, as_of="2025-01-15")
    with pytest.raises(ConfigError, match="nobody"):
        journey(data, as_of="2025-06-30").rows("nobody")


def test_opportunities_from_gaps_and_by_rule(data):
    j = journey(data, as_of="2025-06-30", by="persona")
    gaps = pd.DataFrame({"kpi": ["followup_coverage", "first_response_sla", "csat"], "segment_by": "all",
                         "segment": "all", "status": ["shortfall", "shortfall", "met"]})
    marked = j.opportunities(gaps=gaps)
    assert list(marked["stage"]) == ["thank_you", "support_ticket"]  # first follow-up; support
    assert j.opportunities().empty  # too few comments and no segment to compare with


def test_plots_return_axes(data):
    j = journey(data, as_of="2025-06-30", by="persona")
    fig, ax = plt.subplots()
    assert j.plot(ax=ax, gaps=pd.DataFrame({"kpi": ["repeat_purchase_rate"], "gap": [0.1]})) is ax
    assert "opportunity" in ax.get_title() and "repeat purchase" in ax.get_title()
    axes = j.plot_each()
    assert len(axes) == 2
    plt.close("all")
    assert "Journey map" in repr(j) and "<table" in j._repr_html_()


def test_sample_journey():
    data = gapkit.validate(generate(1500, seed=5, bad_rows=False))
    j = journey(data, as_of="2025-06-30", by=["persona"])
    t = j.table
    assert t["coverage"].between(0, 1).all()
    everyone = rows(j)
    assert everyone.loc["order", "coverage"] == 1.0
    assert everyone.index[-1] == "repeat_purchase"
    assert set(t["segment"]) >= {"all", "loyalist", "bargain_hunter", "new_explorer"}
    # every scored comment of a cohort order lands on exactly one stage
    assert everyone["sentiment_n"].sum() > 0


def test_inputs_are_not_changed(data):
    before = {name: table.copy() for name, table in data.items()}
    journey(data, as_of="2025-06-30", by="persona")
    for name, table in data.items():
        pd.testing.assert_frame_equal(table, before[name])


def test_segment_labels_agree_with_the_kpis_and_sentiment(sample_dir):
    """A float segment column with gaps labels its segments alike everywhere, so a gap found in
    the KPIs can be matched to its journey stage ('1', not '1.0'; '(missing)', not 'nan')."""
    import numpy as np

    import gapkit
    from gapkit.analysis import text

    tables = dict(gapkit.load(sample_dir).tables)
    customers = tables["customers"].copy()
    position = np.arange(len(customers))
    customers["tier"] = np.where(position % 3 == 0, np.nan, (position % 2).astype(float))
    data = gapkit.validate({**tables, "customers": customers})
    expected = ["(missing)", "0", "1"]
    kpis = gapkit.kpis(data, "2025-06-30", by=["tier"])
    assert sorted(kpis.loc[kpis["segment_by"] == "tier", "segment"].unique()) == expected
    trip = journey(data, "2025-06-30", by=["tier"]).table
    assert sorted(trip.loc[trip["segment_by"] == "tier", "segment"].unique()) == expected
    feeling = text.sentiment_kpi(data, "2025-06-30", by=["tier"], period=None)
    assert sorted(feeling.loc[feeling["segment_by"] == "tier", "segment"].unique()) == expected


def test_regroup_draws_the_same_map_as_a_fresh_journey():
    """The action plan draws the journey by each shortfall's segment column from the events already
    measured; that must be the map journey() itself draws."""
    sample = gapkit.datasets.sample()
    drawn = journey(sample, "2025-06-30", by="persona")
    again = drawn.regroup(sample, ["segment", "channel"])
    fresh = journey(sample, "2025-06-30", by=["segment", "channel"])
    pd.testing.assert_frame_equal(again.table.sort_values(["segment_by", "segment", "order"]).reset_index(drop=True),
                                  fresh.table.sort_values(["segment_by", "segment", "order"]).reset_index(drop=True))
    pd.testing.assert_frame_equal(
        again.channels.sort_values(["segment_by", "segment", "stage", "channel"]).reset_index(drop=True),
        fresh.channels.sort_values(["segment_by", "segment", "stage", "channel"]).reset_index(drop=True))
    with pytest.raises(ConfigError, match="not drawn by"):
        gapkit.journey.JourneyResult(drawn.table).regroup(sample, "segment")


def test_past_max_orders_the_map_is_drawn_from_a_seeded_sample_of_orders():
    data = gapkit.validate(generate(n_orders=6000, seed=5))
    full = journey(data, "2025-06-30", by="segment", max_orders=None)
    part = journey(data, "2025-06-30", by="segment", max_orders=1500)
    again = journey(data, "2025-06-30", by="segment", max_orders=1500)
    pd.testing.assert_frame_equal(part.table, again.table)
    everyone = part.rows("all")
    assert everyone["n"].eq(1500).all() and full.rows("all")["n"].gt(1500).all()
    assert any("random sample of 1,500 of the" in note for note in part.notes)
    assert not any("random sample" in note for note in full.notes)
    # the sample's intervals hold the whole cohort's coverage at (nearly) every stage
    both = everyone.merge(full.rows("all"), on="stage", suffixes=("", "_full"))
    inside = both["coverage_full"].between(both["coverage_ci_low"] - 1e-12, both["coverage_ci_high"] + 1e-12)
    assert inside.mean() >= 0.8 and len(both) >= 5
    assert part.sampled().startswith("drawn from a random sample of 1,500") and full.sampled() == ""


def test_a_sampled_cohort_gets_the_same_events_from_its_own_rows_as_from_every_row():
    """of_cohort keeps each table's rows of the sampled orders and their customers, and the
    surveys of their tickets: the events (and the comments' links) are those from every row."""
    from gapkit.analysis._journey_events import events_of, of_cohort

    data = gapkit.validate(generate(n_orders=6000, seed=5))
    eod, window = ts("2025-06-30 23:59:59.999999"), pd.Timedelta(days=90)
    orders = data["orders"].loc[lambda o: o["ordered_at"] <= eod]
    cohort = orders.loc[orders["ordered_at"] <= eod - window].sample(700, random_state=2)
    tables, their_orders = of_cohort(data, orders, cohort)
    assert len(their_orders) < len(orders) and len(tables["followups"]) < len(data["followups"])
    events, answered = events_of(tables, their_orders, cohort, eod, window)
    expected, expected_answered = events_of(data, orders, cohort, eod, window)
    order = ["order_id", "stage", "at", "response_id"]
    assert set(expected["stage"]) >= {"order", "delivery", "support_ticket", "survey", "repeat_purchase"}
    pd.testing.assert_frame_equal(events.sort_values(order).reset_index(drop=True),
                                  expected.sort_values(order).reset_index(drop=True))
    # the answered surveys whose comments the journey scores: those of the cohort's events
    scored = events.loc[events["stage"] == "survey", "response_id"]
    assert len(scored) > 50

    def of_events(frame):
        return frame.loc[frame["response_id"].isin(scored)].sort_values("response_id").reset_index(drop=True)

    pd.testing.assert_frame_equal(of_events(answered), of_events(expected_answered))
