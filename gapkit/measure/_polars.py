"""The Polars engine's tables and aggregation: every KPI of a ``gapkit.kpis`` call in one collect.

The units of each KPI still come from its narwhals definition (:mod:`gapkit.definitions`). What
is Polars' own is how little it converts and how the work is shared:

* only the columns the definitions read are converted from pandas, and only for the tables the
  wanted KPIs need (at 1M orders every column of every table cost 0.32 s of CPU, the 27
  columns read about 0.15 s);
* ids of at most 8 bytes are joined and grouped as 64-bit integers that sort like the text
  (their bytes read big-endian), exactly, with no hash to check: a join on them costs about
  half one on the strings;
* the tables with their segments joined and the shared intermediates are cached parts of the
  plans (``LazyFrame.cache``), not collected one by one, and every KPI's aggregations go to
  one ``pl.collect_all``, which computes each cached part once and runs the rest in parallel;
* a median's order statistics are selected from each group's values (the few ranks read),
  instead of ranking every value in a window per grouping.

The statistics per KPI have the columns :func:`gapkit.intervals.attach_intervals` reads, as
the other engines give them: period, segment_by, segment, n, mean, sd (means and shares) or
ci_low, ci_high (medians), open_share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import narwhals as nw
import numpy as np
import pandas as pd

from gapkit.contract.catalog import KPI, KPIS, MEDIAN
from gapkit.contract.schema import TABLES
from gapkit.measure._aggregate import _with_segments, segment_labels
from gapkit.measure.intervals import median_and_bounds, order_statistic_ranks

ALL = "all"
#: every column a definition reads, by table: the rest of a table is never converted. A new
#: column in a definition must be added here (tests/test_polars_engine_fast.py checks).
READ_COLUMNS = {
    "customers": ("customer_id",),
    "orders": ("order_id", "customer_id", "ordered_at", "promised_at", "delivered_at", "status"),
    "followups": ("order_id", "customer_id", "sent_at", "personalized"),
    "tickets": ("customer_id", "created_at", "first_response_at", "resolved_at", "contacts", "reopened"),
    "surveys": ("customer_id", "sent_at", "answered_at", "csat", "nps", "ces"),
    "referrals": ("customer_id", "referred_at", "converted"),
}
KEY_COLUMNS = ("customer_id", "order_id")
PACKED_BYTES = 8


def columns_read(wanted: Sequence[str], by: Sequence[str]):
    """For a ``kpis`` call of ``wanted`` by ``by``: a function giving the part of a pandas
    table (by name) to convert, only the columns the definitions read, no rows of a table no
    wanted KPI needs (its column names still say which ``by`` columns exist)."""
    needed = {table for kpi_id in wanted for table in KPIS[kpi_id].tables} | ({"customers"} if by else set())

    def part(name: str, frame: pd.DataFrame) -> pd.DataFrame:
        if name not in needed:
            return frame.iloc[:0]
        spec = TABLES.get(name)
        # the created column too: the as_of cut drops rows created later (customers' segments too)
        read = {*READ_COLUMNS.get(name, frame.columns), *by, *([spec.created] if spec and spec.created else [])}
        return frame[[c for c in frame.columns if c in read]]

    return part


def packed_keys(tables: Mapping[str, nw.LazyFrame], by: Sequence[str]) -> dict[str, nw.LazyFrame]:
    """Polars tables with ids of at most 8 bytes as unsigned 64-bit integers, customers' text
    ``by`` columns as categoricals.

    An id's bytes, zero-padded and read big-endian, are one integer that sorts like the text
    (the first order's tie-break takes the smallest order_id) and joins like it: an exact code,
    unlike a hash. A column is packed in every table or in none; it stays text when some id is
    longer, not ASCII (padding counts characters) or holds a zero byte (it would equal a shorter
    id). An id asked for as a segment keeps its text.
    """
    import polars as pl

    natives = {name: frame.to_native() for name, frame in tables.items()}
    for column in KEY_COLUMNS:
        if column in by:
            continue
        holders = [n for n, f in natives.items() if f.collect_schema().get(column) == pl.String]
        if holders and len(holders) == sum(column in f.collect_schema().names() for f in natives.values()):
            packed = _packed(column, [natives[n] for n in holders])
            if packed is not None:
                natives.update({n: natives[n].with_columns(packed) for n in holders})
    customers = natives.get("customers")
    if customers is not None:  # joined onto every table and grouped on as 32-bit codes, not text
        schema = customers.collect_schema()
        text = [c for c in dict.fromkeys(by) if schema.get(c) == pl.String]
        # cached: its ids packed and segments cast once for the joins of every table, not once each
        natives["customers"] = customers.with_columns(pl.col(c).cast(pl.Categorical) for c in text).cache()
    return {name: nw.from_native(frame).lazy() for name, frame in natives.items()}


def _packed(column: str, frames: list):
    """The expression packing ``column`` into 64 bits, or None when some id does not fit."""
    import polars as pl

    text = pl.col(column)
    shortest, longest = (
        pl.concat([f.select(text.str.len_bytes().min().alias("low"), text.str.len_bytes().max().alias("high"))
                   for f in frames]).select(pl.col("low").min(), pl.col("high").max()).collect().row(0))
    if longest is None or longest > PACKED_BYTES:
        return None
    if shortest < PACKED_BYTES:
        unfit = pl.concat([f.select(((text.str.len_bytes() != text.str.len_chars())
                                     | text.str.contains("\x00", literal=True)).any().alias("unfit"))
                           for f in frames]).select(pl.col("unfit").any()).collect().item()
        if unfit:
            return None
        text = text.str.pad_end(PACKED_BYTES, "\x00")
    return text.cast(pl.Binary).bin.reinterpret(dtype=pl.UInt64, endianness="big").alias(column)


def summarise(units_by_kpi: Mapping[str, tuple[KPI, nw.LazyFrame]], tables, by: Sequence[str],
              period: str | None, level: float = 0.95) -> dict[str, pd.DataFrame]:
    """Aggregated statistics of every KPI, keyed by KPI id (an empty frame: no units), from
    one ``pl.collect_all`` of every KPI's groupings."""
    import polars as pl

    queries, readers = [], []
    for kpi_id, (kpi, units) in units_by_kpi.items():
        frame, segments = _grouped_units(kpi, units, tables, by, period)
        for per_period in [False, True] if period else [False]:
            for segment in [None, *segments]:
                keys = [*(["_month"] if per_period else []), *([segment] if segment else [])]
                queries.append(_statistics(kpi, frame, keys))
                readers.append((kpi_id, per_period, segment))
    pieces: dict[str, list[dict]] = {kpi_id: [] for kpi_id in units_by_kpi}
    for (kpi_id, per_period, segment), found in zip(readers, pl.collect_all(queries)):
        found = found.filter(pl.col("n") > 0)  # a median group whose units are all still open has none
        if found.height:
            pieces[kpi_id].append(_rows(units_by_kpi[kpi_id][0], found, per_period, segment, level))
    return {kpi_id: _table(found) for kpi_id, found in pieces.items()}


def _grouped_units(kpi: KPI, units: nw.LazyFrame, tables, by: Sequence[str], period: str | None):
    """The units' value, segment columns and month, cached for the groupings."""
    import polars as pl

    units = units.filter(~nw.col("_anchor").is_null())
    if kpi.kind != MEDIAN:  # an unfinished median unit (null value) counts as open, not measured
        units = units.filter(~nw.col("_value").is_null())
    units, segments = _with_segments(units, tables, by)
    anchor = pl.col("_anchor")
    month = [(anchor.dt.year().cast(pl.Int64) * 12 + anchor.dt.month().cast(pl.Int64) - 1).alias("_month")]
    frame = units.to_native().select(pl.col("_value").cast(pl.Float64), *dict.fromkeys(segments),
                                     *(month if period else []))
    return frame.cache(), segments


def _statistics(kpi: KPI, frame, keys: list[str]):
    import polars as pl

    value = pl.col("_value")
    if kpi.kind == MEDIAN:
        values = value.drop_nulls()
        stats = [value.count().alias("n"), value.is_null().mean().alias("open_share"),
                 (values if keys else values.implode()).alias("_values")]
    else:
        stats = [value.count().alias("n"), value.mean().alias("mean"), value.std(ddof=1).alias("sd")]
    return frame.group_by(keys).agg(stats) if keys else frame.select(stats)


def _rows(kpi: KPI, found, per_period: bool, segment: str | None, level: float) -> dict:
    """One grouping's statistics as columns, with the key columns of the other engines: period,
    segment_by, segment."""
    rows = len(found)
    columns = {"period": [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in found["_month"].to_list()] if per_period
               else [ALL] * rows,
               "segment_by": [segment or ALL] * rows,
               "segment": segment_labels(found[segment].to_pandas()).tolist() if segment else [ALL] * rows,
               "n": found["n"].to_numpy().astype("int64")}
    if kpi.kind == MEDIAN:
        middle, ci_low, ci_high = _order_statistics(found, columns["n"], level)
        columns.update(mean=middle, ci_low=ci_low, ci_high=ci_high, open_share=found["open_share"].to_numpy())
    else:
        columns.update(mean=found["mean"].to_numpy(), sd=found["sd"].to_numpy(), open_share=np.full(rows, np.nan))
    return columns


def _table(pieces: list[dict]) -> pd.DataFrame:
    if not pieces:
        return pd.DataFrame()
    table = pd.DataFrame({column: np.concatenate([piece[column] for piece in pieces])
                          if isinstance(pieces[0][column], np.ndarray) else
                          [value for piece in pieces for value in piece[column]] for column in pieces[0]})
    return table.astype({"period": "str", "segment_by": "str", "segment": "str"})


def _order_statistics(found, n: np.ndarray, level: float):
    """The exact median and order-statistic bounds of each group from its values.

    Only the few ranks read are selected (``np.partition``, linear), not every value sorted:
    a median KPI's values are sorted in no grouping.
    """
    values = found["_values"].explode().to_numpy().astype("float64", copy=False)
    picked = []
    for count, end in zip(n.tolist(), np.cumsum(n).tolist()):
        ranks = sorted(set(order_statistic_ranks(count, level)))
        selected = np.partition(values[end - count:end], [r - 1 for r in ranks])
        picked.append({r: selected[r - 1] for r in ranks})
    return median_and_bounds(
        lambda ranks: np.array([group[r] for group, r in zip(picked, ranks.tolist())], dtype="float64"), n, level)
