"""The PySpark engine's session: tables in Spark, timestamps read in UTC.

``gapkit.kpis(..., engine="spark")`` runs the same narwhals definitions on Spark DataFrames.
Tables that are already Spark DataFrames (e.g. ``spark.table("db.orders")`` from a metastore)
stay where they are; checked tables that a run keeps as Parquet files (a
:class:`~gapkit.contract._stored.StoredTables` mapping) are read by Spark from those files, so
their rows never pass through the notebook's pandas; other pandas tables are handed to the session of
those, or to the active session, or to a local session that gapkit starts. pyspark is
imported only here, and only when the Spark engine is used (``pip install gapkit[spark]``;
Spark needs a Java runtime).

Spark reads a timestamp's calendar fields (the month of a KPI row, the hour of a promise) in
the session time zone, ``spark.sql.session.timeZone``. The contract's timestamps are UTC, so
the session must be in UTC: gapkit's own sessions are, and a user's session in another zone is
refused with the line that fixes it (narwhals reads the zone once per session, so gapkit does
not switch it behind the user's back).
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import narwhals as nw
import pandas as pd

from gapkit.contract._stored import stored_paths
from gapkit.errors import ConfigError

# pyspark 4.0-4.1 warn, at import and at every pandas conversion, that pandas 3 is "not yet fully
# supported"; the engine tests compare every KPI and unit with the pandas engine's, so in a report
# the warning (57 times in report 1) would only alarm its reader
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)

TIME_ZONE_KEY = "spark.sql.session.timeZone"
#: Settings of the local sessions gapkit starts: UTC, and no web UI (one machine, no one to watch it).
LOCAL_SETTINGS = {TIME_ZONE_KEY: "UTC", "spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false"}
MICROS_PER_SECOND = 1_000_000


def local_session(master: str = "local[*]", **settings: str):
    """A Spark session on this machine with its session time zone in UTC.

    Shuffles use two partitions per worker thread of ``master`` instead of Spark's 200.
    ``settings`` are further Spark settings, with dots written as in Spark
    (pass them as a dict: ``local_session(**{"spark.sql.shuffle.partitions": "2"})``).
    If a session is already running in this process, Spark returns that one with these
    settings applied where they can be changed at run time.

    Examples
    --------
    Skipped by the docstring test: they need pyspark and Java, and a Spark start takes tens of seconds.

    >>> spark = gapkit.spark.local_session("local[2]")  # doctest: +SKIP
    >>> gapkit.kpis(gapkit.datasets.sample(), as_of="2025-06-30", engine="spark")  # doctest: +SKIP
    """
    from pyspark.sql import SparkSession

    # Spark's 200 shuffle partitions suit a cluster; on one machine each partition is a task of
    # scheduling and closure deserialization, and a KPI's units cached in 200 partitions, stacked
    # once per grouping (aggregate_in_one_job), made 1,600 tasks per job: report 1 at 1M orders
    # had not finished its KPI table after 15 minutes on 2 cores
    partitions = {"spark.sql.shuffle.partitions": str(2 * _local_cores(master))}
    builder = SparkSession.builder.master(master).appName("gapkit")
    for key, value in {**LOCAL_SETTINGS, **partitions, **settings}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def _local_cores(master: str) -> int:
    """The worker threads of a local master: ``local`` 1, ``local[N]`` N, ``local[*]`` every core."""
    found = re.fullmatch(r"local(?:\[(\*|\d+)(?:,\s*\d+)?\])?", master.strip())
    if found is None or found.group(1) == "*":
        return os.cpu_count() or 1
    return int(found.group(1) or 1)


def why_unavailable() -> str | None:
    """Why no Spark session can start on this machine (pyspark or a Java runtime missing), or None."""
    import importlib.util
    import shutil

    if importlib.util.find_spec("pyspark") is None:
        return 'pyspark is not installed (pip install "gapkit[spark]")'
    java_home = os.environ.get("JAVA_HOME")
    if not shutil.which("java") and not (java_home and (Path(java_home) / "bin" / "java").exists()):
        return "Spark needs a Java runtime (17 or later) and none was found (no java on PATH, no JAVA_HOME)"
    return None


def session_for(data: Mapping):
    """The Spark session the tables of ``data`` run in.

    The session of the first Spark DataFrame in ``data``; without one, the active session
    (e.g. a Databricks notebook's ``spark``); without that, a new :func:`local_session`.
    """
    for name in _in_memory(data):
        native = data[name]
        if _is_spark(native):
            return native.sparkSession
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession() or local_session()


def to_spark(frame: pd.DataFrame, session) -> nw.LazyFrame:
    """A pandas table as a Spark DataFrame in ``session``, classic or Spark Connect alike.

    Zoned pandas timestamps (gapkit's tables hold UTC ones) become the same instants in Spark.
    """
    return nw.from_native(session.createDataFrame(frame)).lazy()


def read_parquet(session, path) -> nw.LazyFrame:
    """A checked table's Parquet file as a Spark DataFrame in ``session``.

    gapkit writes its timestamps as UTC instants (Parquet TIMESTAMP adjusted to UTC), which
    Spark reads as TIMESTAMP, the same instants the pandas table holds.
    """
    return nw.from_native(session.read.parquet(spark_location(path))).lazy()


def spark_location(path) -> str:
    """Where Spark finds a file the notebook's Python wrote at ``path``.

    Spark resolves a path without a scheme against the cluster's default file system (HDFS on
    EMR), not the notebook's, so a local path becomes a ``file:`` URL: on a cluster the run
    folder must then lie on storage mounted at the same path on every node. Databricks' own
    paths keep their meaning: a Unity Catalog volume (``/Volumes/...``) is one path for both,
    and a DBFS file that Python sees at ``/dbfs/x`` is ``dbfs:/x`` to Spark.

    >>> gapkit.spark.spark_location("/dbfs/mnt/runs/validated/orders.parquet")
    'dbfs:/mnt/runs/validated/orders.parquet'
    >>> gapkit.spark.spark_location("/Volumes/main/crm/runs/validated/orders.parquet")
    '/Volumes/main/crm/runs/validated/orders.parquet'
    >>> gapkit.spark.spark_location("/tmp/run/validated/orders.parquet")
    'file:///tmp/run/validated/orders.parquet'
    """
    text = str(path)
    if text.startswith("/dbfs/"):
        return "dbfs:/" + text[len("/dbfs/"):]
    if text.startswith(("/Volumes/", "/Workspace/")):
        return text
    return Path(os.path.abspath(text)).as_uri()


def require_utc(session) -> None:
    """Refuse a session whose time zone is not UTC: months and hours would be read in that zone."""
    zone = session.conf.get(TIME_ZONE_KEY)
    if not is_utc(zone):
        raise ConfigError(
            f"the Spark session's time zone is {zone!r}, but gapkit's timestamps are UTC and its "
            f"months are UTC months; run spark.conf.set({TIME_ZONE_KEY!r}, 'UTC') before gapkit.kpis "
            f"(or start Spark with --conf {TIME_ZONE_KEY}=UTC)"
        )


def is_utc(zone: str | None) -> bool:
    """True when a Spark time-zone setting names UTC under any of its names (UTC, Etc/UTC, Z, +00:00, ...)."""
    if not zone:
        return False
    if re.fullmatch(r"(?i)z|[+-]00:?00", zone.strip()):
        return True
    try:
        info = ZoneInfo(zone.strip())
    except (ZoneInfoNotFoundError, ValueError):
        return False
    # offset zero in winter and in summer alike (Europe/London is zero only in winter)
    return all(info.utcoffset(datetime(2025, month, 15)) == timedelta(0) for month in (1, 7))


def zoned_utc(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamps collected from a UTC session (naive UTC wall times) marked as UTC, as gapkit's
    pandas tables have them: comparing naive with zoned timestamps fails in pandas."""
    naive = [c for c in frame.columns if pd.api.types.is_datetime64_dtype(frame[c]) and frame[c].dt.tz is None]
    return frame.assign(**{c: frame[c].dt.tz_localize("UTC") for c in naive})


def holds_spark_frames(data: Mapping) -> bool:
    """True when a table of ``data`` is a Spark DataFrame: such data runs on the Spark engine."""
    return any(_is_spark(data[name]) for name in _in_memory(data))


def _in_memory(data: Mapping) -> list[str]:
    """The tables of ``data`` not kept as Parquet files: a stored table is a pandas table, and
    asking for it would read the whole file into the driver only to learn that."""
    stored = stored_paths(data)
    return [name for name in data if name not in stored]


@contextmanager
def cached(units: nw.LazyFrame) -> Iterator[nw.LazyFrame]:
    """A KPI's units cached in the cluster while its groupings read them, then released.

    The groupings (all, each segment column, by month) are stacked into one job
    (:func:`aggregate_in_one_job`), each branch reading the units: without the cache each branch
    would re-run the KPI's joins and windows. Measured on 3,000 generated orders by segment and
    month, a second run in one session: 71 s without, 43-46 s with.
    """
    native = units.to_native().cache()
    try:
        yield nw.from_native(native).lazy()
    finally:
        native.unpersist()


def _is_spark(native) -> bool:
    """A pyspark DataFrame, classic or Spark Connect, told apart without importing pyspark."""
    return type(native).__module__.startswith("pyspark.sql")


def spark_tables(data: Mapping) -> dict[str, nw.LazyFrame]:
    """Every table of ``data`` as a narwhals LazyFrame over Spark, all in one UTC session.

    A table kept as a Parquet file (``stored_paths(data)``: the checked tables of a run) is
    read by Spark from that file, never from its pandas copy: on a cluster the executors read
    it where it lies (the run folder on shared storage), and only aggregates reach the driver.
    Spark reads only the columns the KPIs use from it (its optimizer prunes the scan).
    """
    _supply_total_seconds()
    session = session_for(data)
    require_utc(session)
    stored = stored_paths(data)
    frames = {}
    for name in data:
        if name in stored:
            frames[name] = read_parquet(session, stored[name])
            continue
        native = data[name]
        if isinstance(native, pd.DataFrame):
            frames[name] = to_spark(native, session)
        elif _is_spark(native):
            frames[name] = nw.from_native(native).lazy()
        else:
            raise ConfigError(f"table {name!r} is a {type(native).__name__}; engine='spark' takes Spark or pandas "
                              f"DataFrames")
    return frames


def _supply_total_seconds() -> None:
    """Give narwhals' Spark backend ``dt.total_seconds``, which the definitions' durations use.

    narwhals (2.29) leaves it unimplemented on Spark, while its pandas and DuckDB backends give
    whole seconds truncated toward zero. Spark's own arithmetic does the same here: the duration
    (a day-time interval) added to the epoch is a timestamp whose ``unix_micros`` is the
    duration in microseconds, exactly; subtracting the remainder (which keeps the sign, as in
    Java) truncates toward zero. Nothing is replaced once narwhals implements it itself.
    """
    from narwhals._spark_like.expr_dt import SparkLikeExprDateTimeNamespace
    from narwhals._utils import not_implemented

    if not isinstance(SparkLikeExprDateTimeNamespace.__dict__.get("total_seconds"), not_implemented):
        return

    def total_seconds(self):
        F = self.compliant._F

        def whole_seconds(duration):
            micros = F.unix_micros(F.timestamp_micros(F.lit(0)) + duration)
            return (micros - micros % MICROS_PER_SECOND) / MICROS_PER_SECOND

        return self.compliant._with_elementwise(whole_seconds)

    SparkLikeExprDateTimeNamespace.total_seconds = total_seconds


def aggregate_in_one_job(kpi, units: nw.LazyFrame, groupings: list[list[str]], aggregate) -> Callable:
    """Every grouping of a KPI's units aggregated by one Spark job; returns ``aggregate``'s stand-in.

    ``aggregate(kpi, units, keys)`` (the engine's per-grouping aggregation) would run one Spark
    job per grouping (two for a median), each costing about a second of scheduling however
    small the data. Here the groupings are stacked: each is a copy of the units tagged with its
    index, its period key and its own segment column, the other segment columns left empty
    (null in the column's type); one ``aggregate`` over (index, period, segment columns) then
    gives every grouping's rows, which the stand-in hands back grouping by grouping.
    """
    segment_columns = list(dict.fromkeys(key for _, key in groupings if key != "_everyone"))
    value_columns = units.collect_schema().names()
    stacked = nw.concat(
        [
            units.select(
                nw.lit(index).alias("_grouping"),
                nw.col(period_key).alias("_grouping_period"),
                *[nw.col(column) if column == segment_key else _empty_like(column) for column in segment_columns],
                *[c for c in ("_value", "_open") if c in value_columns],
            )
            for index, (period_key, segment_key) in enumerate(groupings)
        ],
        how="vertical",
    )
    stats = aggregate(kpi, stacked, ["_grouping", "_grouping_period", *segment_columns])

    def stand_in(kpi_, units_, keys):
        period_key, segment_key = keys
        rows = stats[stats["_grouping"] == groupings.index(list(keys))]
        segment = rows[segment_key] if segment_key != "_everyone" else "all"
        rows = rows.assign(**{period_key: rows["_grouping_period"], segment_key: segment})
        return rows.drop(columns=["_grouping", "_grouping_period", *[c for c in segment_columns if c != segment_key]])

    return stand_in


def _empty_like(column: str) -> nw.Expr:
    """An all-null column of ``column``'s type (a union needs one type per column)."""
    return nw.when(nw.lit(False)).then(nw.col(column)).alias(column)
