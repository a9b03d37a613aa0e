"""Business hours: a support team's clock, which stops at night, at weekends and on holidays.

Support tools report response and resolution times both on the wall clock and in business
hours (Zendesk's "business hours" schedules, dbt_zendesk's ``*_business_minutes``). gapkit's
``*_bh`` KPIs use the schedule in the configuration::

    business_hours:
      time_zone: Europe/Berlin        # IANA name; default UTC
      days: [Mon, Tue, Wed, Thu, Fri] # default Monday to Friday
      hours: "09:00-17:00"            # or per day: {Mon: "08:00-18:00", Sat: "10:00-14:00"}
      holidays: DE-BY                 # country (and subdivision) for the holidays package
      closed: [2025-12-24]            # more closed days

The business time between two instants is ``clock(end) - clock(start)``, where ``clock`` counts
the opening-hours seconds since a fixed origin. :class:`BusinessClock` writes ``clock`` as one
narwhals expression (arithmetic and comparisons only, no join), so the ``*_bh`` KPIs run
unchanged on every engine: the week repeats, and the two things that do not (daylight-saving
changes and holidays) are a few step terms each over the span of the data.

Opening hours are read on the local wall clock: a daylight-saving change inside opening hours
(rare: changes happen at night) counts the hour the clock shows, not the hour that passed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import narwhals as nw

from gapkit.errors import ConfigError

DAY = 86400.0
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# 1970-01-01 was a Thursday: day number d (days since the epoch) falls on weekday (d + 3) % 7
_THURSDAY = 3
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class BusinessHours:
    """A weekly schedule in a time zone, with closed days.

    ``hours`` holds, for Monday to Sunday, the (open, close) seconds after local midnight, or
    None for a closed weekday. ``holidays`` is a country code for the ``holidays`` package,
    optionally with a subdivision ("US", "US-CA", "DE-BY"); ``closed`` lists more closed days.

    Examples
    --------
    From Thursday 16:00 to Monday 10:00 in New York over Independence Day (Friday 4 July):

    >>> from datetime import datetime, timezone
    >>> from gapkit.measure.business_hours import BusinessHours
    >>> hours = BusinessHours.from_config({"time_zone": "America/New_York", "holidays": "US"})
    >>> hours.seconds_between(datetime(2025, 7, 3, 20, tzinfo=timezone.utc),
    ...                       datetime(2025, 7, 7, 14, tzinfo=timezone.utc)) / 3600
    2.0
    """

    time_zone: str = "UTC"
    hours: tuple[tuple[int, int] | None, ...] = ((32400, 61200),) * 5 + (None, None)
    holidays: str | None = None
    closed: tuple[date, ...] = ()

    @classmethod
    def from_config(cls, value: Mapping, label: str = "business_hours") -> BusinessHours:
        """The schedule from the configuration's ``business_hours`` mapping, checked."""
        if not isinstance(value, Mapping):
            raise ConfigError(f"{label}: expected a mapping with time_zone, days, hours, holidays; got {value!r}.")
        unknown = sorted(set(value) - {"time_zone", "days", "hours", "holidays", "closed"})
        if unknown:
            raise ConfigError(f"{label}: unknown key(s) {unknown}; known: closed, days, holidays, hours, time_zone.")
        zone = str(value.get("time_zone", "UTC"))
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{label}.time_zone = {zone!r} is not an IANA time zone; write e.g. "
                              f"Europe/Berlin or America/New_York.") from None
        spans = value.get("hours", "09:00-17:00")
        if isinstance(spans, Mapping):
            if "days" in value:
                raise ConfigError(f"{label}: give either days with one hours span, or hours per day, not both.")
            per_day = {_weekday(day, f"{label}.hours"): _span(text, f"{label}.hours.{day}") for day, text in spans.items()}
        else:
            days = value.get("days", list(WEEKDAYS[:5]))
            if isinstance(days, str):
                days = [days]
            span = _span(spans, f"{label}.hours")
            per_day = {_weekday(day, f"{label}.days"): span for day in days}
        if not per_day:
            raise ConfigError(f"{label}: no working day; list the open days (e.g. days: [Mon, Tue, Wed, Thu, Fri]).")
        holidays = value.get("holidays")
        if holidays is not None:
            holidays = str(holidays).strip().upper()
            _holiday_dates(holidays, [2024], f"{label}.holidays")  # refuse an unknown code now
        closed = value.get("closed") or []
        if not isinstance(closed, (list, tuple)):
            closed = [closed]
        from gapkit.errors import parse_date

        closed_days = tuple(sorted({date.fromisoformat(parse_date(d, f"{label}.closed")) for d in closed}))
        return cls(zone, tuple(per_day.get(i) for i in range(7)), holidays, closed_days)

    def to_config(self) -> dict:
        """Plain values that :meth:`from_config` reads back (for run.json and notebook parameters)."""
        return {
            "time_zone": self.time_zone,
            "hours": {WEEKDAYS[i]: f"{_hhmm(s[0])}-{_hhmm(s[1])}" for i, s in enumerate(self.hours) if s},
            "holidays": self.holidays,
            "closed": [d.isoformat() for d in self.closed],
        }

    def describe(self) -> str:
        """One line for reports, e.g. "Mon-Fri 09:00-17:00 Europe/Berlin, DE-BY holidays"."""
        spans = {}
        for i, span in enumerate(self.hours):
            if span:
                spans.setdefault(span, []).append(WEEKDAYS[i])
        text = "; ".join(f"{_day_list(days)} {_hhmm(s[0])}-{_hhmm(s[1])}" for s, days in spans.items())
        extra = [f"{self.holidays} public holidays"] if self.holidays else []
        extra += [f"{len(self.closed)} more closed days"] if self.closed else []
        return f"{text} {self.time_zone}" + (f", {', '.join(extra)}" if extra else "")

    def closed_days(self, first: date, last: date) -> list[date]:
        """Holidays and closed days from ``first`` to ``last`` that fall on an open weekday."""
        days = set(self.closed)
        if self.holidays:
            days |= _holiday_dates(self.holidays, range(first.year, last.year + 1), "business_hours.holidays")
        return sorted(d for d in days if first <= d <= last and self.hours[d.weekday()])

    def seconds_between(self, start: datetime, end: datetime) -> float:
        """Opening-hours seconds from ``start`` to ``end`` (aware datetimes), day by day.

        The plain reference for :class:`BusinessClock`: each local day's opening span is turned
        into UTC instants and intersected with [start, end].
        """
        zone = ZoneInfo(self.time_zone)
        if end <= start:
            return 0.0
        first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
        closed = set(self.closed_days(first, last))
        total = 0.0
        day = first
        while day <= last:
            span = self.hours[day.weekday()]
            if span and day not in closed:
                midnight = datetime.combine(day, time(), tzinfo=zone)
                opens = _wall(midnight, span[0], zone)
                closes = _wall(midnight, span[1], zone)
                total += max(0.0, (min(closes, end) - max(opens, start)).total_seconds())
            day += timedelta(days=1)
        return total

    def clock(self, first: datetime, last: datetime) -> BusinessClock:
        """The business clock for instants from ``first`` to ``last`` (aware datetimes)."""
        return BusinessClock.build(self, first, last)


@dataclass(frozen=True)
class BusinessClock:
    """Opening-hours seconds since a Monday origin, as a function of UTC time, over a span.

    ``clock(t) = weeks * week + before[w] + clip(s - open[w], 0, length[w])
    - sum over closed days c of clip(local - open_c, 0, length_c)``, where ``local`` is the
    wall-clock time in seconds (UTC seconds + the zone's offset, a step at each daylight-saving
    change), ``w`` its weekday and ``s`` its second of the day.
    """

    offset: float  # the zone's UTC offset (seconds) at the start of the span
    changes: tuple[tuple[datetime, float], ...]  # (UTC instant, change of offset in seconds)
    opens: tuple[float, ...]  # per weekday: opening second of the day (0 when closed)
    lengths: tuple[float, ...]  # per weekday: open seconds (0 when closed)
    closed: tuple[tuple[float, float], ...]  # per closed day: (local opening instant, length)
    # the engine's timestamps are naive UTC (DuckDB's fast path): literals are then naive too
    naive: bool = False

    @classmethod
    def build(cls, hours: BusinessHours, first: datetime, last: datetime) -> BusinessClock:
        """The clock over ``first`` .. ``last``; naive datetimes are read as UTC (and make a naive clock)."""
        naive = last.tzinfo is None
        first, last = _aware(first), _aware(last)
        zone = ZoneInfo(hours.time_zone)
        start, stop = first - timedelta(days=2), last + timedelta(days=2)
        opens = tuple(float(s[0]) if s else 0.0 for s in hours.hours)
        lengths = tuple(float(s[1] - s[0]) if s else 0.0 for s in hours.hours)
        closed = tuple(
            ((d - EPOCH.date()).days * DAY + opens[d.weekday()], lengths[d.weekday()])
            for d in hours.closed_days(start.astimezone(zone).date(), stop.astimezone(zone).date())
        )
        return cls(_offset(start, zone), _offset_changes(start, stop, zone), opens, lengths, closed, naive)

    @property
    def week(self) -> float:
        return sum(self.lengths)

    def before(self, weekday: int) -> float:
        """Open seconds of the week's days before ``weekday`` (Monday = 0)."""
        return sum(self.lengths[:weekday])

    def expr(self, column: str) -> nw.Expr:
        """The clock at each timestamp of ``column`` (null stays null), on any narwhals engine.

        One expression, in which the local time recurs in every term; to compute clocks over a
        whole table, :meth:`with_clocks` computes each part once.
        """
        local = self._local(nw.col(column))
        second = local % DAY
        shifted = (local - second) / DAY + _THURSDAY
        return self._from_parts(local, second, shifted, shifted % 7)

    def with_clocks(self, frame: nw.LazyFrame, clocks: dict[str, str]) -> nw.LazyFrame:
        """``frame`` with a column ``name`` holding the clock at each timestamp of ``column``, for
        each ``name: column`` of ``clocks``; the same arithmetic as :meth:`expr`, in stages, so
        that the local time, its second of the day and its weekday are computed once a row
        (one expression repeats them in each of its ~20 terms: 3x slower on DuckDB and pandas)."""
        parts = {name: [f"_{name}_{part}" for part in ("local", "second", "shifted", "weekday")]
                 for name in clocks}
        frame = frame.with_columns(*[self._local(nw.col(column)).alias(parts[name][0])
                                     for name, column in clocks.items()])
        frame = frame.with_columns(*[expr for name in clocks for expr in (
            (nw.col(parts[name][0]) % DAY).alias(parts[name][1]),
            ((nw.col(parts[name][0]) - nw.col(parts[name][0]) % DAY) / DAY + _THURSDAY).alias(parts[name][2]))])
        frame = frame.with_columns(*[(nw.col(parts[name][2]) % 7).alias(parts[name][3]) for name in clocks])
        frame = frame.with_columns(*[self._from_parts(*(nw.col(c) for c in parts[name])).alias(name)
                                     for name in clocks])
        return frame.drop(*[c for name in clocks for c in parts[name]])

    def _local(self, ts: nw.Expr) -> nw.Expr:
        """Wall-clock seconds since the epoch in the schedule's zone."""

        def moment(instant: datetime) -> nw.Expr:
            return nw.lit(instant.replace(tzinfo=None) if self.naive else instant)

        # whole seconds, as every duration of the definitions (total_seconds truncates on every
        # engine; total_microseconds is missing on some, e.g. Spark)
        local = (ts - moment(EPOCH)).dt.total_seconds().cast(nw.Float64) + self.offset
        for instant, change in self.changes:
            local = local + (ts >= moment(instant)).cast(nw.Float64) * change
        return local

    def _from_parts(self, local: nw.Expr, second: nw.Expr, shifted: nw.Expr, weekday: nw.Expr) -> nw.Expr:
        """The clock from the local time, its second of the day, its day number (days since the
        Monday before the epoch) and weekday. Float arithmetic is exact here: local - second is a
        multiple of 86400 below 2**53."""
        value = (shifted - weekday) / 7 * self.week
        for w in range(7):
            today = self.before(w) + (second - self.opens[w]).clip(0.0, self.lengths[w])
            value = value + (weekday == w).cast(nw.Float64) * today
        for opens, length in self.closed:
            value = value - (local - opens).clip(0.0, length)
        return value

    def at(self, instant: datetime) -> float:
        """The clock at one instant (naive: UTC), by the same arithmetic as :meth:`expr`."""
        instant = _aware(instant)
        local = math.floor((instant - EPOCH).total_seconds()) + self.offset
        local += sum(change for moment, change in self.changes if instant >= moment)
        second = local % DAY
        shifted = (local - second) / DAY + _THURSDAY
        weekday = int(shifted % 7)
        value = (shifted - weekday) / 7 * self.week + self.before(weekday)
        value += min(max(second - self.opens[weekday], 0.0), self.lengths[weekday])
        return value - sum(min(max(local - opens, 0.0), length) for opens, length in self.closed)


def _aware(instant: datetime) -> datetime:
    """A naive datetime read as UTC (the contract's reading of a timestamp without a zone)."""
    return instant.replace(tzinfo=timezone.utc) if instant.tzinfo is None else instant


def _wall(midnight: datetime, seconds: int, zone: ZoneInfo) -> datetime:
    """The instant the local wall clock shows ``seconds`` after ``midnight`` (86400: next midnight)."""
    day = midnight.date() + timedelta(days=seconds // 86400)
    rest = seconds % 86400
    return datetime.combine(day, time(rest // 3600, rest % 3600 // 60, rest % 60), tzinfo=zone).astimezone(timezone.utc)


def _offset(instant: datetime, zone: ZoneInfo) -> float:
    return instant.astimezone(zone).utcoffset().total_seconds()


def _offset_changes(start: datetime, stop: datetime, zone: ZoneInfo) -> tuple[tuple[datetime, float], ...]:
    """Each change of the zone's UTC offset between ``start`` and ``stop``, to the second."""
    changes = []
    step = timedelta(hours=6)  # offsets change at most once in six hours in every zone there is
    here, before = start, _offset(start, zone)
    while here < stop:
        there = here + step
        after = _offset(there, zone)
        if after != before:
            low, high = here, there  # offset(low) == before, offset(high) == after
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _offset(middle, zone) == before:
                    low = middle
                else:
                    high = middle
            changes.append((high.replace(microsecond=0), after - before))
        here, before = there, after
    return tuple(changes)


def _holiday_dates(code: str, years, label: str) -> frozenset[date]:
    return _holidays_of(code, tuple(years), label)


@lru_cache(maxsize=64)
def _holidays_of(code: str, years: tuple[int, ...], label: str) -> frozenset[date]:
    import holidays

    country, _, subdivision = code.partition("-")
    try:
        calendar = holidays.country_holidays(country, subdiv=subdivision or None, years=list(years))
    except NotImplementedError:
        raise ConfigError(f"{label} = {code!r}: not a country (or subdivision) the holidays package knows; "
                          f"use an ISO code such as US, DE or GB, optionally with a subdivision (US-CA, DE-BY).") from None
    return frozenset(calendar)


def _weekday(value, label: str) -> int:
    text = str(value).strip()[:3].title()
    if text not in WEEKDAYS:
        raise ConfigError(f"{label}: {value!r} is not a weekday; write Mon, Tue, Wed, Thu, Fri, Sat or Sun.")
    return WEEKDAYS.index(text)


def _span(text, label: str) -> tuple[int, int]:
    match = _SPAN.match(str(text))
    if not match:
        raise ConfigError(f"{label} = {text!r}: write the opening hours as HH:MM-HH:MM, e.g. 09:00-17:00.")
    h1, m1, h2, m2 = map(int, match.groups())
    opens, closes = h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60
    if m1 > 59 or m2 > 59 or h1 > 23 or closes > 86400 or closes <= opens:
        raise ConfigError(f"{label} = {text!r}: opening must come before closing within one day "
                          f"(00:00-24:00 at most; a span cannot cross midnight).")
    return opens, closes


def _hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def _day_list(days: list[str]) -> str:
    indices = [WEEKDAYS.index(d) for d in days]
    if len(indices) > 2 and indices == list(range(indices[0], indices[-1] + 1)):
        return f"{days[0]}-{days[-1]}"
    return ",".join(days)
