"""The input tables as the engines read them: lazy frames on the chosen engine, keys coded
as integers for pandas, and every table cut at the end of as_of."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import narwhals as nw
import pandas as pd

from gapkit.contract._stored import stored_paths
from gapkit.contract.schema import TABLES
from gapkit.errors import ConfigError

ENGINES = ("pandas", "duckdb", "spark", "polars")


def _lazy_tables(data: Mapping, engine: str, part=None) -> dict[str, nw.LazyFrame]:
    """``part(name, frame)``: the part of a pandas table the Polars engine converts (all of it by default)."""
    if engine not in ENGINES:
        raise ConfigError(f"engine must be one of {ENGINES}, not {engine!r}")
    from gapkit.measure import spark  # imports pyspark only when the Spark engine runs

    if engine == "spark" or spark.holds_spark_frames(data):
        return spark.spark_tables(data)
    frames = {}
    connection = None
    # a checked table still on disk (a run's Parquet, see gapkit.contract._stored) is read there by
    # DuckDB, which then reads only the columns and row groups a query needs: the notebook never
    # holds the tables only the KPIs read (at 10M orders, report 1's kernel held 10.8 GB)
    stored, loaded = stored_paths(data), set(getattr(getattr(data, "tables", None), "loaded", ()))
    for name in data:
        if engine == "duckdb" and name in stored and name not in loaded:
            connection = connection or duckdb_connection()
            frames[name] = nw.from_native(connection.read_parquet(str(stored[name]))).lazy()
            continue
        native = data[name]
        if engine == "duckdb" and isinstance(native, pd.DataFrame):
            if connection is None:
                connection = duckdb_connection()
            native = connection.from_df(native)
        elif engine == "polars" and isinstance(native, pd.DataFrame):
            native = _polars_frame(native if part is None else part(name, native))
        frames[name] = nw.from_native(native).lazy()
    return frames


def _polars_frame(frame: pd.DataFrame):
    """A pandas table as a Polars lazy frame (``engine="polars"``: ``pip install gapkit[polars]``)."""
    try:
        import polars as pl
    except ImportError:
        raise ConfigError("engine='polars' needs the polars package: pip install 'gapkit[polars]'") from None
    return pl.from_pandas(frame).lazy()


#: identifier columns that definitions only join, group and take the minimum on
KEY_COLUMNS = ("customer_id", "order_id")


def _coded_keys(tables: dict[str, nw.LazyFrame], by: Sequence[str]) -> dict[str, nw.LazyFrame]:
    """Pandas tables with their key columns as integer codes, for one ``kpis`` call.

    Every join and group-by on a text id would hash the strings again (a dozen times per call);
    the codes are made once per column over all tables and sorted like the ids, so joins,
    groups and minima (the first order's tie-break) come out the same. A missing id stays
    missing; an id asked for as a segment (``by``) keeps its text. Customers' text ``by``
    columns become categoricals: joined onto the tables, each KPI groups them by their codes
    instead of hashing the text again (the labels are the same).
    """
    natives = {name: frame.to_native() for name, frame in tables.items()}
    for column in KEY_COLUMNS:
        names = [n for n, df in natives.items() if column in df.columns and column not in by]
        if not names:
            continue
        values = [natives[n][column] for n in names]
        try:
            codes, _ = pd.factorize(pd.concat(values, ignore_index=True), sort=True)
        except TypeError:  # ids of mixed types that do not sort: leave them as they are
            continue
        start = 0
        for name, original in zip(names, values):
            part, start = codes[start:start + len(original)], start + len(original)
            coded = pd.array(part, dtype="Int64") if (part < 0).any() else part
            if (part < 0).any():
                coded[part < 0] = pd.NA
            natives[name] = natives[name].assign(**{column: pd.Series(coded, index=original.index)})
    customers = natives.get("customers")
    if customers is not None:  # the segments joined onto every table, grouped once per KPI
        text = [c for c in dict.fromkeys(by) if c in customers.columns and pd.api.types.is_string_dtype(customers[c])]
        if text:
            natives["customers"] = customers.assign(**{c: customers[c].astype("category") for c in text})
    return {name: nw.from_native(df).lazy() for name, df in natives.items()}


def duckdb_connection():
    """A DuckDB connection whose session time zone is UTC (month boundaries are UTC months)."""
    import duckdb

    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    return connection


def _as_of_view(tables: dict[str, nw.LazyFrame], eod: datetime) -> dict[str, nw.LazyFrame]:
    """Rows created after ``eod`` are dropped; later timestamps become "not yet happened"."""
    cut = {}
    for name, frame in tables.items():
        spec = TABLES.get(name)
        if spec is None:
            cut[name] = frame
            continue
        columns = frame.collect_schema().names()
        if spec.created and spec.created in columns:
            frame = frame.filter(nw.col(spec.created) <= nw.lit(eod))
        later = [
            c.name for c in spec.columns
            if c.kind == "timestamp" and c.name != spec.created and c.name in columns
            and c.name not in ("promised_at", "end_at")  # plans, not events
        ]
        if later:
            frame = frame.with_columns(
                *[nw.when(nw.col(c) <= nw.lit(eod)).then(nw.col(c)).alias(c) for c in later]
            )
        cut[name] = frame
    return cut
