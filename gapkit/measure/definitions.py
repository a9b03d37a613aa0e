"""KPI definitions written once, as narwhals expressions, so they run unchanged on every engine.

Each definition turns the input tables (narwhals LazyFrames, already cut at ``as_of``) into a
frame of *units*, one row per thing counted (a survey, a ticket, a delivered order, a
customer), with two columns the engine aggregates:

- ``_anchor``: the timestamp that places the unit in a period;
- ``_value``: 0/1 for shares, the score for means, +1/0/-1 for NPS, the duration for medians;

plus the unit's own columns, which ``by`` may name as segments.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import narwhals as nw

from gapkit.measure.business_hours import BusinessClock, BusinessHours

F = nw.Float64
HOUR, DAY = 3600.0, 86400.0


@dataclass(frozen=True)
class Params:
    """Windows of the windowed KPIs (contract section 3, ``params``)."""

    sla_hours: float = 24
    resolution_days: float = 7
    followup_days: float = 7
    repeat_days: float = 90
    referral_days: float = 90
    response_days: float = 7
    #: a resolved ticket counts in reopen_rate and fcr_rate once it has had this long to reopen
    reopen_days: float = 7
    #: the support team's schedule for the ``*_bh`` KPIs (config ``business_hours``); None skips them
    business_hours: BusinessHours | None = None

    def __post_init__(self):
        # the configuration checks these too; this catches the Python entry points
        from gapkit.errors import ConfigError

        for name in ("sla_hours", "resolution_days", "followup_days", "repeat_days", "referral_days",
                     "response_days", "reopen_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < float("inf"):
                raise ConfigError(f"params.{name} = {value!r}: a window must be a number longer than 0 "
                                  f"(default {type(self).__dataclass_fields__[name].default:g}).")


Tables = Mapping[str, nw.LazyFrame]
Definition = Callable[[Tables, Params, datetime], nw.LazyFrame]


def _seconds(later: str, earlier: str) -> nw.Expr:
    return (nw.col(later) - nw.col(earlier)).dt.total_seconds().cast(F)


def _flag(condition: nw.Expr) -> nw.Expr:
    """A condition as 0.0/1.0; unknown (null) counts as 0 (not met)."""
    return condition.cast(F).fill_null(0.0)


def _answered(t: Tables, score: str) -> nw.LazyFrame:
    return t["surveys"].filter(~nw.col("answered_at").is_null() & ~nw.col(score).is_null()).with_columns(
        _anchor=nw.col("answered_at")
    )


def csat(t, p, eod):
    return _answered(t, "csat").with_columns(_value=(nw.col("csat") >= 4).cast(F))


def csat_mean(t, p, eod):
    return _answered(t, "csat").with_columns(_value=nw.col("csat").cast(F))


def nps(t, p, eod):
    promoter = (nw.col("nps") >= 9).cast(F)
    detractor = (nw.col("nps") <= 6).cast(F)
    return _answered(t, "nps").with_columns(_value=promoter - detractor)


def ces_mean(t, p, eod):
    return _answered(t, "ces").with_columns(_value=nw.col("ces").cast(F))


def survey_response_rate(t, p, eod):
    # a survey sent yesterday has not had its chance: only surveys whose response window has
    # closed by as_of count, answered within that window (a late answer is not a response)
    window = p.response_days * DAY
    sent = _aged(t["surveys"].with_columns(_anchor=nw.col("sent_at")), "sent_at", eod, window)
    return sent.with_columns(_value=_flag(_seconds("answered_at", "sent_at") <= window))


def _tickets(t: Tables) -> nw.LazyFrame:
    return t["tickets"].with_columns(_anchor=nw.col("created_at"))


def _aged(frame: nw.LazyFrame, column: str, eod: datetime, seconds: float) -> nw.LazyFrame:
    """Units whose window of ``seconds`` after ``column`` has fully elapsed by ``eod``."""
    return frame.filter(nw.col(column) <= nw.lit(eod - timedelta(seconds=seconds)))


def first_response_hours(t, p, eod):
    # a ticket still unanswered at as_of keeps a null value: the engine leaves it out of the
    # median (taken over finished units) and counts it in the period's open_share
    return _tickets(t).with_columns(_value=_seconds("first_response_at", "created_at") / HOUR)


def first_response_sla(t, p, eod):
    window = p.sla_hours * HOUR
    return _aged(_tickets(t), "created_at", eod, window).with_columns(
        _value=_flag(_seconds("first_response_at", "created_at") <= window)
    )


def resolution_hours(t, p, eod):
    # open tickets: null value, out of the median, counted in open_share (see first_response_hours)
    return _tickets(t).with_columns(_value=_seconds("resolved_at", "created_at") / HOUR)


def _business_clock(t: Tables, p: Params, eod: datetime) -> BusinessClock:
    """The schedule's clock over the tickets' span (from the first ticket to as_of), built once."""

    def build():
        first = _own(t, "tickets").select(nw.col("created_at").min()).collect().item()
        return p.business_hours.clock(first if first is not None else eod, eod)

    return _shared(t, "business_clock", build)


def _business_hours_between(t: Tables, p: Params, eod: datetime, later: str, earlier: str) -> nw.LazyFrame:
    """The tickets with ``_value``: business hours from ``earlier`` to ``later`` (null while ``later`` is)."""
    clock = _business_clock(t, p, eod)
    tickets = clock.with_clocks(_tickets(t), {"_clock_later": later, "_clock_earlier": earlier})
    return tickets.with_columns(_value=(nw.col("_clock_later") - nw.col("_clock_earlier")) / HOUR).drop(
        "_clock_later", "_clock_earlier")


def first_response_hours_bh(t, p, eod):
    # like first_response_hours, on the team's clock: an unanswered ticket keeps a null value
    return _business_hours_between(t, p, eod, "first_response_at", "created_at")


def first_response_sla_bh(t, p, eod):
    # sla_hours of business time: a ticket counts once that much business time has passed by as_of
    clock = _business_clock(t, p, eod)
    window = p.sla_hours * HOUR
    tickets = clock.with_clocks(_tickets(t), {"_clock_answered": "first_response_at", "_clock_opened": "created_at"})
    aged = tickets.filter(nw.col("_clock_opened") <= nw.lit(clock.at(eod) - window))
    answered_in = nw.col("_clock_answered") - nw.col("_clock_opened")
    return aged.with_columns(_value=_flag(answered_in <= window)).drop("_clock_answered", "_clock_opened")


def resolution_hours_bh(t, p, eod):
    return _business_hours_between(t, p, eod, "resolved_at", "created_at")


def resolution_rate(t, p, eod):
    window = p.resolution_days * DAY
    return _aged(_tickets(t), "created_at", eod, window).with_columns(
        _value=_flag(_seconds("resolved_at", "created_at") <= window)
    )


def _settled(t: Tables, p: Params, eod: datetime) -> nw.LazyFrame:
    """Tickets resolved at least reopen_days before as_of ends: one resolved yesterday has not yet
    had its chance to reopen, and counting it would flatter reopen_rate and fcr_rate."""
    resolved = _tickets(t).filter(~nw.col("resolved_at").is_null() & ~nw.col("reopened").is_null())
    return _aged(resolved, "resolved_at", eod, p.reopen_days * DAY)


def fcr_rate(t, p, eod):
    settled = _settled(t, p, eod).filter(~nw.col("contacts").is_null())
    return settled.with_columns(_value=((nw.col("contacts") == 1) & ~nw.col("reopened")).cast(F))


def reopen_rate(t, p, eod):
    return _settled(t, p, eod).with_columns(_value=nw.col("reopened").cast(F))


def _own(t: Tables, name: str) -> nw.LazyFrame:
    """A table with only its own columns, for a query collected on its own that reads none of the
    customers' columns ``gapkit.kpis`` joins on: on Polars the joined table is a part of the KPIs'
    plans, computed only when they are collected, and this query would compute the join again."""
    own = getattr(t, "own", None)
    return own(name) if own is not None else t[name]


def _shared(t: Tables, key: str, build: Callable[[], nw.LazyFrame]) -> nw.LazyFrame:
    """An intermediate that several definitions use, built once per ``gapkit.kpis`` call.

    ``gapkit.kpis`` passes tables with a ``shared`` dict; on the pandas engine the frame is then
    computed once. A lazy engine would re-run the query in every definition that reads it (DuckDB
    does not share work between the branches of a query), so tables with a ``keep`` method
    (``gapkit.kpis`` on DuckDB) compute it once into a temporary table. Plain mappings just build it.
    """
    cache = getattr(t, "shared", None)
    if cache is None:
        return build()
    if key not in cache:
        built, keep = build(), getattr(t, "keep", None)
        cache[key] = keep(built) if keep is not None and isinstance(built, nw.LazyFrame) else built
    return cache[key]


def _delivered_with_first_followup(t: Tables, p: Params, eod: datetime) -> nw.LazyFrame:
    """Delivered orders whose followup_days have passed by as_of, each with ``_first_followup``:
    the first follow-up sent at or after delivery if it came within followup_days, else null."""
    return _shared(t, "delivered_with_first_followup", lambda: _build_delivered_with_first_followup(t, p, eod))


def _build_delivered_with_first_followup(t: Tables, p: Params, eod: datetime) -> nw.LazyFrame:
    window = p.followup_days * DAY
    delivered = _aged(t["orders"].filter(~nw.col("delivered_at").is_null()), "delivered_at", eod, window)
    if "followups" in t:
        sends = t["followups"].select("order_id", _sent=nw.col("sent_at"))
    else:  # no follow-up table: the KPI is skipped upstream; kept total for clarity
        sends = delivered.select("order_id", _sent=nw.col("delivered_at")).filter(nw.lit(False))
    # only the sends within the window: the lag only grows with the send time, so the first of
    # them is the first follow-up whenever that one is within the window (no later one counts)
    first = (
        delivered.select("order_id", "delivered_at")
        .join(sends, on="order_id", how="inner")
        .filter((nw.col("_sent") >= nw.col("delivered_at")) & (_seconds("_sent", "delivered_at") <= window))
        .group_by("order_id")
        .agg(_first_followup=nw.col("_sent").min())
    )
    return delivered.join(first, on="order_id", how="left").with_columns(_anchor=nw.col("delivered_at"))


def followup_coverage(t, p, eod):
    window = p.followup_days * DAY
    units = _delivered_with_first_followup(t, p, eod)
    return units.with_columns(_value=_flag(_seconds("_first_followup", "delivered_at") <= window))


def followup_latency_days(t, p, eod):
    window = p.followup_days * DAY
    lag = _seconds("_first_followup", "delivered_at")
    return _delivered_with_first_followup(t, p, eod).filter(lag <= window).with_columns(_value=lag / DAY)


def personalization_rate(t, p, eod):
    return (
        t["followups"]
        .filter(~nw.col("personalized").is_null())
        .with_columns(_anchor=nw.col("sent_at"), _value=nw.col("personalized").cast(F))
    )


def promises_are_whole_days(orders: nw.LazyFrame) -> bool:
    """True when every promised_at is at midnight UTC: promises are then whole days."""
    ts = nw.col("promised_at")
    off_midnight = (ts.dt.hour() * 3600 + ts.dt.minute() * 60 + ts.dt.second()) != 0
    counted = (
        orders.filter(~ts.is_null())
        .select(n=nw.len(), off=off_midnight.cast(F).sum())
        .collect()
        .rows(named=True)[0]
    )
    return counted["n"] > 0 and (counted["off"] or 0) == 0


def _cancelled_statuses(orders: nw.LazyFrame) -> list[str]:
    """The status values that mean cancelled: canceled or cancelled, in any case, spaces aside.

    Read from the distinct values (a few, in any real export) instead of trimming and lowering
    every order's status, which on DuckDB cost more than the rest of the KPI.
    """
    values = orders.select("status").unique().collect()["status"].to_list()
    return [v for v in values if isinstance(v, str) and v.strip().lower() in ("canceled", "cancelled")]


def on_time_delivery_rate(t, p, eod):
    orders = t["orders"].filter(~nw.col("promised_at").is_null())
    if "status" in orders.collect_schema().names():
        cancelled = _cancelled_statuses(_own(t, "orders").filter(~nw.col("promised_at").is_null()))
        if cancelled:
            orders = orders.filter(~nw.col("status").is_in(cancelled).fill_null(False))
    late_by = _seconds("delivered_at", "promised_at")
    if promises_are_whole_days(_own(t, "orders")):
        # a whole-day promise is kept by a delivery any time on the promised day and falls due
        # at that day's end: a promise for the as_of day itself has fallen due by as_of
        due = orders.filter(nw.col("promised_at") <= nw.lit(eod.replace(hour=0, minute=0, second=0, microsecond=0)))
        on_time = late_by < DAY
    else:
        due = orders.filter(nw.col("promised_at") <= nw.lit(eod))
        on_time = late_by <= 0
    # still undelivered when the promise fell due: late (a null delivery time flags as 0)
    return due.with_columns(_anchor=nw.col("promised_at"), _value=_flag(on_time))


def delivery_days(t, p, eod):
    return (
        t["orders"]
        .filter(~nw.col("delivered_at").is_null())
        .with_columns(_anchor=nw.col("delivered_at"), _value=_seconds("delivered_at", "ordered_at") / DAY)
    )


def _first_orders(t: Tables) -> nw.LazyFrame:
    """Each customer's first order (ties on time broken by the smallest order_id)."""
    return _shared(t, "first_orders", lambda: _build_first_orders(t))


def _build_first_orders(t: Tables) -> nw.LazyFrame:
    orders = t["orders"]
    first_time = orders.group_by("customer_id").agg(_first=nw.col("ordered_at").min())
    first_id = (
        orders.join(first_time, on="customer_id", how="inner")
        .filter(nw.col("ordered_at") == nw.col("_first"))
        .group_by("customer_id")
        .agg(_first_id=nw.col("order_id").min())
    )
    return (
        orders.join(first_id.select(order_id=nw.col("_first_id")), on="order_id", how="inner")
        .with_columns(_anchor=nw.col("ordered_at"))
    )


def _cohort_flag(t: Tables, events: nw.LazyFrame, when: str, days: float, eod: datetime, strictly_later: bool):
    """First orders old enough for a ``days`` window, flagged when an event falls inside it.

    ``strictly_later``: the event must come after the first order's timestamp (a second order
    at the same instant is the same purchase occasion; with date-only data, the same day).
    """
    window = days * DAY
    firsts = _aged(_first_orders(t), "_anchor", eod, window)
    starts = firsts.select("customer_id", _start=nw.col("_anchor"))
    lag = (nw.col(when) - nw.col("_start")).dt.total_seconds().cast(F)
    hits = (
        events.select("customer_id", when)
        .join(starts, on="customer_id", how="inner")
        .filter(((lag > 0) if strictly_later else (lag >= 0)) & (lag <= window))
        .group_by("customer_id")
        .agg(_hits=nw.len())
    )
    return firsts.join(hits, on="customer_id", how="left").with_columns(_value=_flag(nw.col("_hits") >= 1))


def repeat_purchase_rate(t, p, eod):
    return _cohort_flag(t, t["orders"], "ordered_at", p.repeat_days, eod, strictly_later=True)


def referral_rate(t, p, eod):
    return _cohort_flag(t, t["referrals"], "referred_at", p.referral_days, eod, strictly_later=False)


def referral_conversion_rate(t, p, eod):
    # an unknown outcome (null) is left out, as personalization_rate leaves out unknown flags
    return (
        t["referrals"]
        .filter(~nw.col("converted").is_null())
        .with_columns(_anchor=nw.col("referred_at"), _value=nw.col("converted").cast(F))
    )


DEFINITIONS: dict[str, Definition] = {
    f.__name__: f
    for f in [
        csat, csat_mean, nps, ces_mean, survey_response_rate,
        first_response_hours, first_response_sla, resolution_hours, resolution_rate,
        first_response_hours_bh, first_response_sla_bh, resolution_hours_bh,
        fcr_rate, reopen_rate, followup_coverage, followup_latency_days, personalization_rate,
        on_time_delivery_rate, delivery_days, repeat_purchase_rate, referral_rate, referral_conversion_rate,
    ]
}
