"""Business-hours clocks: hand-computed cases across weekends, holidays, DST and out-of-hours tickets,
the same on every engine, and the configuration's checks."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

import gapkit
from gapkit import config
from gapkit.errors import ConfigError
from gapkit.measure.business_hours import BusinessHours
from gapkit.measure.engine import unit_window

UTC = timezone.utc
BERLIN = {"time_zone": "Europe/Berlin", "holidays": "DE"}


def local(zone: str, *fields) -> datetime:
    return datetime(*fields, tzinfo=ZoneInfo(zone)).astimezone(UTC)


# (schedule, created, answered, business hours), each counted by hand
CASES = {
    "same day, in hours": (BERLIN, local("Europe/Berlin", 2025, 2, 4, 10), local("Europe/Berlin", 2025, 2, 4, 12, 30), 2.5),
    "over a weekend": (BERLIN, local("Europe/Berlin", 2025, 2, 7, 16), local("Europe/Berlin", 2025, 2, 10, 10), 2.0),
    # Friday 16:00 CET to Monday 10:00 CEST: 65 hours pass on the wall clock (the clocks went
    # forward on Sunday 30 March), one opening hour on each side
    "spring DST weekend": (BERLIN, local("Europe/Berlin", 2025, 3, 28, 16), local("Europe/Berlin", 2025, 3, 31, 10), 2.0),
    "autumn DST weekend": (BERLIN, local("Europe/Berlin", 2025, 10, 24, 16), local("Europe/Berlin", 2025, 10, 27, 10), 2.0),
    # Thursday 3 July to Monday 7 July; Friday 4 July is Independence Day
    "over a holiday": ({"time_zone": "America/New_York", "holidays": "US"},
                       local("America/New_York", 2025, 7, 3, 16), local("America/New_York", 2025, 7, 7, 10), 2.0),
    "holiday in Germany only": (BERLIN, local("Europe/Berlin", 2025, 10, 2, 16), local("Europe/Berlin", 2025, 10, 6, 10), 2.0),
    "opened Saturday, answered Saturday": (BERLIN, local("Europe/Berlin", 2025, 2, 8, 10), local("Europe/Berlin", 2025, 2, 8, 11), 0.0),
    "opened at night, answered next morning": (BERLIN, local("Europe/Berlin", 2025, 2, 4, 20), local("Europe/Berlin", 2025, 2, 5, 9, 30), 0.5),
    "opened before opening": (BERLIN, local("Europe/Berlin", 2025, 2, 4, 6), local("Europe/Berlin", 2025, 2, 4, 9, 45), 0.75),
    # 09:00-17:00 in Los Angeles is 17:00-01:00 UTC: the opening hours cross midnight UTC
    "west of UTC": ({"time_zone": "America/Los_Angeles"},
                    local("America/Los_Angeles", 2025, 2, 3, 16, 30), local("America/Los_Angeles", 2025, 2, 4, 9, 15), 0.75),
    "half-hour offset": ({"time_zone": "Asia/Kolkata"},
                         local("Asia/Kolkata", 2025, 2, 3, 16, 30), local("Asia/Kolkata", 2025, 2, 4, 9, 15), 0.75),
    "Saturday half day": ({"time_zone": "UTC", "hours": {"Fri": "09:00-17:00", "Sat": "10:00-14:00"}},
                          datetime(2025, 2, 7, 15, tzinfo=UTC), datetime(2025, 2, 10, 11, tzinfo=UTC), 6.0),
    "a closed day": ({"time_zone": "UTC", "closed": ["2025-02-05"]},
                     datetime(2025, 2, 4, 16, tzinfo=UTC), datetime(2025, 2, 6, 10, tzinfo=UTC), 2.0),
    "a whole week": (BERLIN, local("Europe/Berlin", 2025, 2, 3, 9), local("Europe/Berlin", 2025, 2, 10, 9), 40.0),
}


def tickets(rows) -> dict:
    frame = pd.DataFrame(rows, columns=["ticket_id", "created_at", "first_response_at", "resolved_at"])
    for column in ["created_at", "first_response_at", "resolved_at"]:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    frame["customer_id"] = "C1"
    orders = pd.DataFrame({"order_id": ["O1"], "customer_id": ["C1"],
                           "ordered_at": pd.to_datetime(["2025-01-01"], utc=True)})
    return {"orders": orders, "tickets": frame}


@pytest.mark.parametrize("case", list(CASES))
def test_hand_computed_business_hours(case):
    schedule, created, answered, expected = CASES[case]
    hours = BusinessHours.from_config(schedule)
    assert hours.seconds_between(created, answered) / 3600 == pytest.approx(expected, abs=1e-9)
    clock = hours.clock(created, answered)
    assert (clock.at(answered) - clock.at(created)) / 3600 == pytest.approx(expected, abs=1e-9)
    data = tickets([("T1", created, answered, answered)])
    as_of = (answered + timedelta(days=1)).date().isoformat()
    for engine in ("pandas", "duckdb"):
        table = gapkit.kpis(data, as_of=as_of, kpis=["first_response_hours_bh", "resolution_hours_bh"],
                            params={"business_hours": schedule}, engine=engine)
        assert table.set_index("kpi")["value"].to_dict() == pytest.approx(
            {"first_response_hours_bh": expected, "resolution_hours_bh": expected}, abs=1e-6), engine


def test_sla_counts_a_ticket_once_its_business_time_has_passed():
    # Friday 16:00 with a 4-hour SLA: one hour on Friday, the other three on Monday until 12:00
    created = local("Europe/Berlin", 2025, 2, 7, 16)
    late = local("Europe/Berlin", 2025, 2, 10, 12, 30)  # 4.5 business hours: a breach
    data = tickets([("T1", created, late, None)])
    params = {"business_hours": BERLIN, "sla_hours": 4}
    for engine in ("pandas", "duckdb"):
        sunday = gapkit.kpis(data, as_of="2025-02-09", kpis=["first_response_sla_bh"], params=params, engine=engine)
        assert sunday.empty and "first_response_sla_bh" in sunday.attrs["skipped"]  # not yet due: not counted
        monday = gapkit.kpis(data, as_of="2025-02-10", kpis=["first_response_sla_bh"], params=params, engine=engine)
        assert monday[["n", "value"]].values.tolist() == [[1, 0.0]]
        # the wall-clock SLA (4 hours) was due on Friday evening and breached too
        wall = gapkit.kpis(data, as_of="2025-02-07", kpis=["first_response_sla"], params=params, engine=engine)
        assert wall[["n", "value"]].values.tolist() == [[1, 0.0]]
    answered = tickets([("T1", created, local("Europe/Berlin", 2025, 2, 10, 11, 30), None)])
    kept = gapkit.kpis(answered, as_of="2025-02-10", kpis=["first_response_sla_bh", "first_response_sla"], params=params)
    assert kept.set_index("kpi")["value"].to_dict() == {"first_response_sla_bh": 1.0, "first_response_sla": 0.0}


def test_open_tickets_stay_out_of_the_median_and_count_as_open():
    created = local("Europe/Berlin", 2025, 2, 4, 10)
    data = tickets([("T1", created, created + timedelta(hours=1), None), ("T2", created, None, None)])
    table = gapkit.kpis(data, as_of="2025-02-28", kpis=["first_response_hours_bh", "resolution_hours_bh"],
                        params={"business_hours": BERLIN}).set_index("kpi")
    assert table.loc["first_response_hours_bh", ["n", "value", "open_share"]].tolist() == [1, 1.0, 0.5]
    assert "resolution_hours_bh" not in table.index  # no ticket resolved: nothing to take a median of


@pytest.mark.parametrize("zone,holidays", [("Europe/Berlin", "DE-BY"), ("America/Los_Angeles", "US-CA"),
                                           ("Australia/Lord_Howe", "AU"), ("Asia/Kolkata", None)])
def test_clock_expression_equals_the_day_by_day_reference(zone, holidays):
    """5,000 random spans over two years: the engines' arithmetic equals the day-by-day count.

    Lord Howe moves its clocks by 30 minutes; Kolkata is UTC+5:30 without DST."""
    hours = BusinessHours.from_config({"time_zone": zone, "holidays": holidays, "hours": {
        "Mon": "08:30-17:30", "Tue": "08:30-17:30", "Wed": "08:30-12:00", "Thu": "08:30-17:30", "Fri": "08:30-17:30",
        "Sat": "10:00-14:00"}})
    rng = np.random.default_rng(11)
    low, high = datetime(2024, 1, 1, tzinfo=UTC).timestamp(), datetime(2025, 12, 1, tzinfo=UTC).timestamp()
    start = pd.to_datetime(np.round(rng.uniform(low, high, 5000)), unit="s", utc=True)
    end = start + pd.to_timedelta(np.round(rng.exponential(4 * 86400, 5000)), unit="s")
    reference = np.array([hours.seconds_between(s, e) for s, e in zip(start.to_pydatetime(), end.to_pydatetime())])
    clock = hours.clock(start.min().to_pydatetime(), end.max().to_pydatetime())
    frame = pd.DataFrame({"start": start, "end": end})
    import narwhals as nw

    from gapkit.measure._tables import duckdb_connection

    for native in (frame, duckdb_connection().from_df(frame)):
        lazy = nw.from_native(native).lazy()
        got = lazy.select(v=clock.expr("end") - clock.expr("start")).collect().to_pandas()["v"].to_numpy()
        assert np.abs(got - reference).max() < 1e-3  # seconds
        # the staged form the definitions use: the same arithmetic, so the same clocks exactly
        staged = clock.with_clocks(lazy, {"_end": "end", "_start": "start"})
        assert staged.collect_schema().names() == ["start", "end", "_end", "_start"]
        staged = staged.select(v=nw.col("_end") - nw.col("_start")).collect().to_pandas()["v"].to_numpy()
        np.testing.assert_array_equal(staged, got)
    assert (reference > 0).mean() > 0.5 and (reference == 0).any()  # the draw reached both kinds of span


def test_configuration_round_trips_and_names_mistakes():
    settings = config.from_dict({"business_hours": {"time_zone": "Europe/Berlin", "days": ["Mon", "Tue"],
                                                    "hours": "08:00-16:30", "holidays": "de-by", "closed": ["2025-12-24"]}})
    schedule = settings.params.business_hours
    assert schedule.describe() == "Mon,Tue 08:00-16:30 Europe/Berlin, DE-BY public holidays, 1 more closed days"
    assert config.from_dict({"business_hours": settings.to_dict()["business_hours"]}).params == settings.params
    assert config.from_dict({}).to_dict()["business_hours"] is None
    mistakes = {
        "time_zone": ({"time_zone": "CET+1"}, "IANA time zone"),
        "hours": ({"hours": "9-17"}, "HH:MM-HH:MM"),
        "order": ({"hours": "17:00-09:00"}, "opening must come before closing"),
        "day": ({"days": ["Mo", "Funday"]}, "not a weekday"),
        "holidays": ({"holidays": "XX"}, "holidays package knows"),
        "closed": ({"closed": ["24.12.2025"]}, "YYYY-MM-DD"),
        "key": ({"timezone": "UTC"}, "unknown key"),
    }
    for value, message in mistakes.values():
        with pytest.raises(ConfigError, match=message):
            config.from_dict({"business_hours": value})


def test_without_a_schedule_the_bh_kpis_are_skipped_with_the_reason():
    created = datetime(2025, 2, 4, 10, tzinfo=UTC)
    table = gapkit.kpis(tickets([("T1", created, created + timedelta(hours=1), None)]), as_of="2025-02-28",
                        kpis=["first_response_hours", "first_response_hours_bh"])
    assert list(table.kpi) == ["first_response_hours"]
    assert "business_hours" in table.attrs["skipped"]["first_response_hours_bh"]
    # without tickets the missing table is the reason, with a schedule or without
    orders_only = gapkit.kpis({"orders": tickets([])["orders"]}, as_of="2025-02-28", kpis=["first_response_hours_bh"])
    assert orders_only.attrs["skipped"]["first_response_hours_bh"] == "needs table(s) ['tickets']"


def test_a_business_sla_window_is_bounded_in_calendar_time():
    # 24 business hours of a 40-hour week can take up to 3 days + a weekend + holidays; one week
    # of schedule plus a week of holidays bounds it
    params = {"business_hours": BERLIN, "sla_hours": 24}
    assert unit_window("first_response_sla_bh", params) == pd.Timedelta(days=14)
    assert unit_window("first_response_sla", params) == pd.Timedelta(hours=24)


def test_report_section_sets_both_clocks_side_by_side_or_says_what_is_missing():
    from gapkit.report import story
    from gapkit.report.adapt import Skipped

    created = local("Europe/Berlin", 2025, 2, 7, 16)
    data = tickets([("T1", created, local("Europe/Berlin", 2025, 2, 10, 10), local("Europe/Berlin", 2025, 2, 10, 11))])
    table = gapkit.kpis(data, as_of="2025-02-28", params={"business_hours": BERLIN})
    section = story.support_clocks(table, BusinessHours.from_config(BERLIN))
    rows = section.table.set_index("KPI")
    # Friday 16:00 to Monday 10:00: 66 hours on the wall clock, 2 in business hours
    assert rows.loc["First response time (median)", ["wall clock", "business hours"]].tolist() == ["66.0 hours",
                                                                                                 "2.00 hours"]
    assert section.summary() == "Business hours: Mon-Fri 09:00-17:00 Europe/Berlin, DE public holidays."
    assert "<table" in section._repr_html_()
    assert isinstance(story.support_clocks(table, None), Skipped)
    assert "business_hours" in story.support_clocks(table, None).sentence()
    no_tickets = table[~table["kpi"].str.startswith(("first_response", "resolution"))]
    assert "tickets.csv" in story.support_clocks(no_tickets, BusinessHours.from_config(BERLIN)).sentence()
