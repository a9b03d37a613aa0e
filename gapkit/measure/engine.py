"""The KPI engine: every catalog KPI by period and segment, each with n and a 95% CI.

The definitions (:mod:`gapkit.definitions`) are narwhals expressions; this module cuts the
tables at ``as_of``, picks an engine (pandas by default, DuckDB for data larger than memory),
aggregates each KPI to sufficient statistics in that engine, and only then brings the small
aggregated table into pandas to attach intervals.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timezone

import narwhals as nw
import numpy as np
import pandas as pd

from gapkit.contract.artifacts import columns as artifact_columns
from gapkit.contract.catalog import CATALOG, KPI, KPIS
from gapkit.errors import ConfigError, check_alpha, did_you_mean
from gapkit.measure._aggregate import MISSING_SEGMENT, _finish, _summarise, _with_segments, segment_labels  # noqa: F401
from gapkit.measure._tables import ENGINES, KEY_COLUMNS, _as_of_view, _coded_keys, _lazy_tables, duckdb_connection  # noqa: F401
from gapkit.measure.business_hours import BusinessHours
from gapkit.measure.definitions import DEFINITIONS, Params

log = logging.getLogger("gapkit")

KPI_COLUMNS = [*artifact_columns("kpis.csv"), "label", "ci_method", "small_n", "open_share"]
#: A median period with more than this share of its units still open at as_of is biased low
#: (only the quick ones have finished); goal baselines leave such periods out.
OPEN_SHARE_LIMIT = 0.05
NO_UNITS = "no units by as_of (e.g. no window has elapsed yet)"


def end_of_day(as_of: str | date | datetime) -> datetime:
    """The last instant of the ``as_of`` day in UTC; later events are ignored."""
    if isinstance(as_of, (date, datetime)):
        day = as_of.date() if isinstance(as_of, datetime) else as_of
    else:
        text = str(as_of)
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}([ T].*)?", text):
            raise ConfigError(f"as_of = {as_of!r}: write the report date as YYYY-MM-DD (e.g. 2025-06-30).")
        try:
            day = pd.Timestamp(text).date()
        except (ValueError, TypeError):
            raise ConfigError(f"as_of = {as_of!r} is not a calendar date; write YYYY-MM-DD.") from None
    return datetime.combine(day, time.max, tzinfo=timezone.utc)


def kpis(
    data: Mapping,
    as_of: str | date | datetime | None = None,
    by: Sequence[str] = (),
    period: str | None = None,
    kpis: Sequence[str] | None = None,
    params: Params | Mapping | None = None,
    engine: str = "pandas",
    months: tuple[str, str] | Mapping[str, tuple[str, str]] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Compute the KPI table: one row per kpi x period x segment, with n and a 95% CI.

    ``as_of`` None: the last day the orders cover completely, as ``gapkit run`` takes it.
    ``alpha``: the intervals are 1 - alpha (0.05: the contract's 95%).

    Parameters
    ----------
    data : ``gapkit.load(...)`` result, any mapping of table name to DataFrame, or
        ``gapkit.scan(...)`` (DuckDB relations over Parquet files).
    as_of : report date; events after the end of that day (UTC) are ignored.
    by : segment columns; each gives rows beside the "all" rows.
    period : "M" for calendar months beside the "all" rows, None for "all" only.
    kpis : KPI ids to compute (default: the whole catalog).
    params : windows (sla_hours, resolution_days, followup_days, repeat_days, referral_days).
    engine : "pandas", "duckdb", "polars" or "spark"; the same definitions run on each. "spark" takes
        Spark DataFrames (e.g. metastore tables) and pandas tables alike; see :mod:`gapkit.spark`.
    months : (first, last) calendar months, "YYYY-MM": count only units anchored in them
        (e.g. the recent months that make a goal's current level, :func:`gapkit.baseline.current_levels`),
        or a mapping of KPI id to its own (first, last), so KPIs with different windows are
        counted in one pass (a KPI not in it: every month).

    Returns
    -------
    DataFrame with columns kpi, period, segment_by, segment, n, value, ci_low, ci_high, unit,
    better, label, ci_method, small_n, open_share. ``open_share`` (median durations only;
    empty for the others) is the share of the period's units still open at as_of, which the
    median over finished units leaves out: above :data:`OPEN_SHARE_LIMIT` the median is biased
    low. KPIs that cannot be computed from the tables present are listed with the reason in
    ``result.attrs["skipped"]``.

    Examples
    --------
    >>> data = gapkit.datasets.sample()
    >>> gapkit.kpis(data, as_of="2025-06-30", by=["segment"])
                             kpi period  ...  small_n  open_share
    ...
    """
    level = 1 - check_alpha(alpha)
    if as_of is None:
        as_of = _default_as_of(data)
    if period not in (None, "M"):
        raise ConfigError(f"period must be 'M' (calendar months) or None, not {period!r}")
    if isinstance(by, str):
        by = [by]
    params = as_params(params)
    wanted = _wanted(kpis)
    eod = end_of_day(as_of)
    lazy = _engine_tables(data, engine, wanted, by)
    _check_segments(lazy, by)
    engine_used = "duckdb" if any(f.implementation is nw.Implementation.DUCKDB for f in lazy.values()) else engine
    if engine_used == "duckdb":
        # DuckDB subtracts time-zone-aware timestamps through ICU calendars, ~30x slower than
        # plain ones: on DuckDB the tables hold naive UTC timestamps (the contract reads naive as UTC)
        from gapkit.measure._duckdb import naive_utc

        lazy, eod = naive_utc(lazy), eod.replace(tzinfo=None)
    # on DuckDB, gapkit.measure._duckdb joins customers' by columns once per query instead of into every table
    tables = _SegmentedTables(_as_of_view(lazy, eod), by if engine_used != "duckdb" else ())
    if engine_used == "duckdb":
        from gapkit.measure._duckdb import TempTables

        kept = TempTables()
        tables.keep = kept.keep
        try:
            return _kpi_table(tables, wanted, params, eod, as_of, by, period, months, engine_used, level)
        finally:
            kept.drop()
    return _kpi_table(tables, wanted, params, eod, as_of, by, period, months, engine_used, level)


def _engine_tables(data: Mapping, engine: str, wanted: Sequence[str], by: Sequence[str]) -> dict[str, nw.LazyFrame]:
    """The call's tables on their engine, with ids as integers: codes on pandas, packed on Polars
    (which converts only the columns the wanted KPIs read)."""
    part = None
    if engine == "polars":
        from gapkit.measure._polars import columns_read

        part = columns_read(wanted, by)
    lazy = _lazy_tables(data, engine, part=part)
    if all(f.implementation is nw.Implementation.PANDAS for f in lazy.values()):
        return _coded_keys(lazy, by)
    if lazy and all(f.implementation is nw.Implementation.POLARS for f in lazy.values()):
        from gapkit.measure._polars import packed_keys

        return packed_keys(lazy, by)
    return lazy


def _check_segments(lazy: Mapping[str, nw.LazyFrame], by: Sequence[str]) -> None:
    present = {c for frame in lazy.values() for c in frame.collect_schema().names()}
    absent = [c for c in by if c not in present]
    if absent:
        options = sorted(lazy["customers"].collect_schema().names()) if "customers" in lazy else []
        raise ConfigError(f"segment column(s) {absent} are in no table; customers' columns: {options} "
                          f"(channel comes with followups and tickets)")


def _default_as_of(data: Mapping) -> str:
    """The last complete day of the orders in ``data`` (pandas tables)."""
    from gapkit.contract.loading import complete_day

    orders = data.get("orders") if hasattr(data, "get") else None
    if not isinstance(orders, pd.DataFrame) or "ordered_at" not in orders:
        raise ConfigError("as_of is needed here (a report date, YYYY-MM-DD): it can be left out only for "
                          "pandas tables with orders.ordered_at")
    return complete_day(pd.to_datetime(orders["ordered_at"], utc=True, errors="coerce"))[0]


def _wanted(kpis) -> list[str]:
    """KPI ids asked for (one id, a list, or None for every KPI), each checked against the catalog."""
    if isinstance(kpis, str):  # one KPI, not its letters
        kpis = [kpis]
    wanted = list(kpis) if kpis is not None else [k.id for k in CATALOG]
    unknown = [k for k in wanted if k not in KPIS]
    if unknown:
        raise ConfigError(f"unknown KPI id(s) {unknown}{did_you_mean(str(unknown[0]), KPIS)}; known: {list(KPIS)}")
    return wanted


def _kpi_table(tables, wanted, params, eod, as_of, by, period, months, engine_used, level=0.95) -> pd.DataFrame:
    """The KPI table of :func:`kpis` from the call's as_of-cut tables."""
    reasons, built = {}, {}
    for kpi_id in wanted:
        kpi = KPIS[kpi_id]
        reasons[kpi_id] = _why_not(kpi, tables, params)
        if reasons[kpi_id]:
            continue
        units = DEFINITIONS[kpi_id](tables, params, eod)
        window = months.get(kpi_id) if isinstance(months, Mapping) else months
        if window is not None:
            first, last = (m.replace(tzinfo=eod.tzinfo) for m in _month_span(window))
            units = units.filter((nw.col("_anchor") >= nw.lit(first)) & (nw.col("_anchor") < nw.lit(last)))
        built[kpi_id] = units
    on_polars = built and all(u.implementation is nw.Implementation.POLARS for u in built.values())
    if engine_used == "duckdb" or on_polars:
        # every KPI aggregated together: a few GROUPING SETS queries (DuckDB) or one collect_all
        # (Polars) instead of a query per KPI and grouping
        if on_polars:
            from gapkit.measure._polars import summarise
        else:
            from gapkit.measure._duckdb import summarise

        statistics = summarise({k: (KPIS[k], u) for k, u in built.items()}, tables, by, period, level)
        summaries = {k: _finish(KPIS[k], statistics[k], by, level) for k in built}
    else:
        summaries = {k: _summarise(KPIS[k], u, tables, by, period, level) for k, u in built.items()}

    results, skipped = [], {}
    for kpi_id in wanted:
        reason = reasons[kpi_id] or (NO_UNITS if summaries[kpi_id].empty else None)
        if reason:
            skipped[kpi_id] = reason
            log.info("kpi %s skipped: %s", kpi_id, reason)
            continue
        results.append(summaries[kpi_id])
    out = pd.concat(results, ignore_index=True) if results else empty_kpi_table()
    out = out[KPI_COLUMNS]
    out.attrs["skipped"] = skipped
    out.attrs["as_of"] = str(pd.Timestamp(as_of).date())
    out.attrs["alpha"] = round(1 - level, 10)  # the intervals are 1 - alpha
    # the segment columns the table breaks down by (one asked for that yielded no rows is left out)
    out.attrs["by"] = [c for c in by if c in set(out["segment_by"])]
    return out


def _month_span(months: tuple[str, str]) -> tuple[datetime, datetime]:
    """The first instant of the first month and the first instant after the last (UTC)."""
    try:
        first, last = (pd.Period(m, freq="M") for m in months)
    except (TypeError, ValueError):
        raise ConfigError(f"months = {months!r}: give (first, last) as 'YYYY-MM'") from None
    if last < first:
        raise ConfigError(f"months = {months!r}: the last month comes before the first")
    start = first.to_timestamp().to_pydatetime().replace(tzinfo=timezone.utc)
    end = (last + 1).to_timestamp().to_pydatetime().replace(tzinfo=timezone.utc)
    return start, end


def empty_kpi_table() -> pd.DataFrame:
    """A KPI table with no rows and the right column types."""
    kinds = {"n": "int64", "value": "float64", "ci_low": "float64", "ci_high": "float64", "small_n": "bool",
             "open_share": "float64"}
    return pd.DataFrame({c: pd.Series(dtype=kinds.get(c, "str")) for c in KPI_COLUMNS})


def units(
    data: Mapping,
    kpi: str,
    as_of: str | date | datetime,
    by: Sequence[str] = (),
    params: Params | Mapping | None = None,
    engine: str = "pandas",
    months: tuple[str, str] | Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The units one KPI counts, one row each, as pandas: for unit-level models (impact, drivers).

    ``months``: (first, last) "YYYY-MM", only units anchored in those months (as in :func:`kpis`).
    ``columns``: of the unit's own columns, only its key and those of these it has (default:
    all); on DuckDB and Spark the others are then never read.

    Columns: the unit's own columns, the ``by`` columns (joined from customers when needed),
    ``anchor`` (the timestamp that places it in a period), ``period`` (YYYY-MM) and ``value``
    (0/1 for shares, the score for means, +1/0/-1 for NPS, the duration for medians).
    Aggregating ``value`` the KPI's way gives exactly the ``gapkit.kpis`` figure. On the
    DuckDB, Polars and Spark engines the rows come in anchor order (ties by the unit's key), the
    same on every call.

    Examples
    --------
    >>> u = gapkit.units(gapkit.datasets.sample(), "repeat_purchase_rate", as_of="2025-06-30", by=["segment"])
    >>> u.groupby("segment")["value"].mean()
    segment
    A    0.300719
    B    0.317647
    C    0.268562
    Name: value, dtype: float64
    """
    if kpi not in KPIS:
        raise ConfigError(f"unknown KPI id {kpi!r}; known: {list(KPIS)}")
    eod = end_of_day(as_of)
    tables = _as_of_view(_lazy_tables(data, engine), eod)
    reason = _why_not(KPIS[kpi], tables, as_params(params))
    if reason:
        raise ConfigError(f"KPI {kpi} cannot be computed from these tables: {reason}")
    frame = DEFINITIONS[kpi](tables, as_params(params), eod)
    frame, _ = _with_segments(frame, tables, [by] if isinstance(by, str) else by)
    frame = frame.filter(~nw.col("_value").is_null() & ~nw.col("_anchor").is_null())
    if months is not None:
        first, last = _month_span(tuple(months))
        frame = frame.filter((nw.col("_anchor") >= nw.lit(first)) & (nw.col("_anchor") < nw.lit(last)))
    if frame.implementation is not nw.Implementation.PANDAS:
        # a parallel engine hands rows back in a different order from call to call; seeded
        # samples and permutation tests over the rows must not change with it
        frame = frame.sort(["_anchor", *[c for c in frame.columns[:1] if not c.startswith("_")]])
    if columns is not None:
        keep = {*frame.columns[:1], *columns, *([by] if isinstance(by, str) else by), "_anchor", "_value"}
        frame = frame.select([c for c in frame.columns if c in keep])
    out = frame.collect("pandas").to_native()
    if frame.implementation.is_spark_like():  # Spark hands back UTC wall times without their zone
        from gapkit.measure.spark import zoned_utc

        out = zoned_utc(out)
    out = out.rename(columns={"_anchor": "anchor", "_value": "value"})
    out["period"] = month_labels(out["anchor"])
    return out[[c for c in out.columns if not c.startswith("_")]].reset_index(drop=True)


def month_labels(stamps: pd.Series) -> pd.Series:
    """"YYYY-MM" of each UTC timestamp. A report spans a few dozen months, so each distinct
    month is formatted once: ``dt.strftime`` formats every row, 1.7 s a million (issue 30)."""
    stamps = stamps.dt.tz_convert("UTC") if stamps.dt.tz is not None else stamps
    codes, months = pd.factorize(stamps.dt.year * 100 + stamps.dt.month)
    labels = np.array([f"{m // 100:04d}-{m % 100:02d}" for m in np.asarray(months, dtype="int64")], dtype=object)
    return pd.Series(labels[codes] if len(labels) else np.array([], dtype=object), index=stamps.index, dtype="str")


class _SegmentedTables(Mapping):
    """The tables of one ``kpis`` call, with the customers' ``by`` columns joined on once.

    A table with ``customer_id`` that lacks a ``by`` column found in customers gets it by a left
    join, on first use; definitions keep their table's columns, so each KPI's units then carry
    their segments without one customers join per KPI. ``shared`` caches intermediates that
    several definitions use (see :func:`gapkit.definitions._shared`).
    """

    def __init__(self, tables: Mapping[str, nw.LazyFrame], by: Sequence[str]):
        self._base = dict(tables)
        self._by = list(dict.fromkeys(by))
        self._joined: dict[str, nw.LazyFrame] = {}
        self.shared: dict[str, nw.LazyFrame] = {}

    def __getitem__(self, name: str) -> nw.LazyFrame:
        if name not in self._joined:
            self._joined[name] = _computed_once(self._with_customer_columns(name))
        return self._joined[name]

    def own(self, name: str) -> nw.LazyFrame:
        """The table without the customers' columns (:func:`gapkit.definitions._own`)."""
        return self._base[name]

    @staticmethod
    def keep(frame: nw.LazyFrame) -> nw.LazyFrame:
        """A shared intermediate (:func:`gapkit.definitions._shared`), computed once on Polars;
        the DuckDB engine sets its own (temporary tables)."""
        return _computed_once(frame)

    def __iter__(self):
        return iter(self._base)

    def __len__(self) -> int:
        return len(self._base)

    def __contains__(self, name) -> bool:
        return name in self._base

    def _with_customer_columns(self, name: str) -> nw.LazyFrame:
        frame = self._base[name]
        if name == "customers" or "customers" not in self._base or not self._by:
            return frame
        columns = frame.collect_schema().names()
        if "customer_id" not in columns:
            return frame
        customer_columns = self._base["customers"].collect_schema().names()
        extra = [c for c in self._by if c not in columns and c in customer_columns]
        if not extra:
            return frame
        return frame.join(self._base["customers"].select("customer_id", *extra), on="customer_id", how="left")


def _computed_once(frame: nw.LazyFrame) -> nw.LazyFrame:
    """On Polars, an intermediate several KPIs read (a table with its segments joined, the first
    orders) is a cached part of their plans, which go to one ``collect_all``: computed once there,
    not once per KPI, nor collected on its own first. Other engines' frames are returned as they are."""
    if frame.implementation is nw.Implementation.POLARS:
        return nw.from_native(frame.to_native().cache()).lazy()
    return frame


def unit_window(kpi_id: str, params=None) -> pd.Timedelta:
    """How long after its anchor a unit of ``kpi_id`` keeps counting (its params window, e.g.
    repeat_days); zero for a KPI without a window."""
    name = KPIS[kpi_id].window
    if not name:
        return pd.Timedelta(0)
    settings = as_params(params)
    amount = float(getattr(settings, name))
    if KPIS[kpi_id].clock == "business" and settings.business_hours is not None:
        # business time runs only in opening hours: bound the calendar time it can take by whole
        # weeks of the schedule, plus a week for holidays
        weeks = np.ceil(amount * 3600 / sum(e - s for s, e in filter(None, settings.business_hours.hours)))
        return pd.Timedelta(days=7 * (weeks + 1))
    return pd.Timedelta(hours=amount) if name.endswith("hours") else pd.Timedelta(days=amount)


def as_params(params) -> Params:
    if params is None:
        return Params()
    if isinstance(params, Params):
        return params
    known = set(Params.__dataclass_fields__)
    extra = set(params) - known
    if extra:
        raise ConfigError(f"unknown KPI parameter(s) {sorted(extra)}; known: {sorted(known)}")
    params = dict(params)
    if isinstance(params.get("business_hours"), Mapping):
        params["business_hours"] = BusinessHours.from_config(params["business_hours"])
    return Params(**params)


NO_SCHEDULE = "needs business_hours in the configuration (the support team's schedule)"


def _why_not(kpi: KPI, tables: Mapping[str, nw.LazyFrame], params: Params | None = None) -> str | None:
    # what the data lacks first: a schedule cannot help a KPI without its table
    missing = [t for t in kpi.tables if t not in tables]
    if missing:
        return f"needs table(s) {missing}"
    for needed in kpi.columns:
        table, column = needed.split(".")
        if column not in tables[table].collect_schema().names():
            return f"needs column {column} in {table}"
    if kpi.clock == "business" and (params is None or params.business_hours is None):
        return NO_SCHEDULE
    return None
