"""The DuckDB engine's aggregation: every KPI of a ``gapkit.kpis`` call in a few passes.

The units of each KPI still come from its narwhals definition (:mod:`gapkit.definitions`, the
one source of every KPI), built lazily as DuckDB relations in one connection. Aggregating them
one KPI and one grouping at a time cost a pipeline query per KPI plus a query per grouping;
here the units of all KPIs with the same segment columns (a *shape*) are stacked with
``UNION ALL`` and aggregated in one ``GROUP BY GROUPING SETS`` query, so DuckDB plans the
KPIs' pipelines together and scans each grouping once. Medians need exact order statistics
at ranks that depend on each group's n (:func:`gapkit.intervals.median_bound_ranks`), which no
SQL aggregate takes per group: their units (value and group keys only) are fetched once per
shape and the order statistics are picked exactly in NumPy, after one sort of the values.

The result per KPI has the columns :func:`gapkit.intervals.attach_intervals` reads, as the
pandas engine's aggregation gives them: period, segment_by, segment, n, mean, sd (means and
shares) or ci_low, ci_high (medians), open_share.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

import narwhals as nw
import numpy as np
import pandas as pd
import pyarrow as pa

from gapkit.contract.catalog import KPI, MEDIAN
from gapkit.measure.intervals import median_and_bounds

ALL = "all"


def summarise(
    units_by_kpi: Mapping[str, tuple[KPI, nw.LazyFrame]],
    tables,
    by: Sequence[str],
    period: str | None,
    level: float = 0.95,
) -> dict[str, pd.DataFrame]:
    """Aggregated statistics of every KPI, keyed by KPI id (an empty frame: no units).

    ``units_by_kpi`` maps a KPI id to its catalog entry and its units (a narwhals LazyFrame
    over DuckDB, with ``_anchor`` and ``_value``); ``tables`` are the call's tables *without*
    customers' columns joined on: a ``by`` column that a KPI's units lack is joined from
    customers here, once per query on the stacked units, instead of into every table a
    definition reads (orders alone is read four times by repeat_purchase_rate).
    """
    by = list(dict.fromkeys(by))
    customers = tables["customers"].to_native() if "customers" in tables else None
    customer_columns = set(customers.columns) if customers is not None else set()
    # Each KPI's relation contributes its SQL text: DuckDB's Python relations bind every
    # relational step (a view, a filter, a select) at ~10 ms each, which at 19 KPIs cost more
    # than the aggregation itself on small data; one query over the texts binds once.
    shapes: dict[tuple, list[tuple[str, str]]] = {}
    runner = None
    for kpi_id, (kpi, units) in units_by_kpi.items():
        relation = units.to_native()
        if runner is None:  # any one relation runs the queries (not `or`: a relation's truth value counts its rows)
            runner = relation
        types = dict(zip(relation.columns, (str(t) for t in relation.types)))
        own = [c for c in by if c in types]  # the unit's own column first, as the pandas engine
        joined = [c for c in by if c not in types and c in customer_columns and "customer_id" in types]
        carried = [_quote(c) for c in own] + (["customer_id"] if joined else [])
        month = "year(_anchor) * 12 + month(_anchor) - 1" if period else "0"
        # an unfinished median unit (null value) is kept: it counts as open, not measured
        finished = "" if kpi.kind == MEDIAN else " AND _value IS NOT NULL"
        select = (f"SELECT {{index}} AS _kpi, CAST(_value AS DOUBLE) AS _value, {month} AS _month"
                  f"{''.join(', ' + c for c in carried)} FROM ({relation.sql_query()}) AS _units "
                  f"WHERE _anchor IS NOT NULL{finished}")
        # KPIs stack into one query when their segment columns agree in name, source and type:
        # a UNION ALL would otherwise cast one to the other (a boolean to 'true', not "True")
        shape = (kpi.kind == MEDIAN, tuple((c, types[c]) for c in own), tuple(joined))
        shapes.setdefault(shape, []).append((kpi_id, select))

    out = {kpi_id: pd.DataFrame() for kpi_id in units_by_kpi}
    for (is_median, own, joined), members in shapes.items():
        segments = [c for c, _ in own] + list(joined)
        stacked = _stacked_units([select for _, select in members], [c for c, _ in own], list(joined), customers)
        if is_median:
            found = _median_statistics(runner, stacked, len(members), segments, period, level)
        else:
            found = _moment_statistics(runner, stacked, segments, period)
        out.update({members[index][0]: rows for index, rows in found.items()})
    return out


class TempTables:
    """Intermediates kept as temporary tables for one ``gapkit.kpis`` call (``keep``), then dropped.

    A shared intermediate (each customer's first order, each delivery's first follow-up) is
    read by several KPIs; as a view its joins and aggregations would run once per reader.
    """

    def __init__(self):
        self._made: list[tuple[object, str]] = []

    def keep(self, frame: nw.LazyFrame) -> nw.LazyFrame:
        relation = frame.to_native()
        name = f"_gapkit_kept_{uuid.uuid4().hex}"
        relation.query("_gapkit_source", f"CREATE TEMPORARY TABLE {name} AS SELECT * FROM _gapkit_source")
        self._made.append((relation, name))
        return nw.from_native(relation.query("_gapkit_source", f"SELECT * FROM {name}")).lazy()

    def drop(self) -> None:
        """Free the tables' memory: a ``gapkit.scan`` connection outlives the call."""
        while self._made:
            relation, name = self._made.pop()
            relation.query("_gapkit_source", f"DROP TABLE IF EXISTS {name}")


def naive_utc(tables: Mapping[str, nw.LazyFrame]) -> dict[str, nw.LazyFrame]:
    """The tables with every time-zone-aware timestamp column as a naive UTC timestamp.

    ``make_timestamp(epoch_us(t))`` reads the stored UTC microseconds, so it costs nothing
    like the per-row ICU conversion of ``t AT TIME ZONE 'UTC'``; a frame that is not DuckDB's
    is returned as it is.
    """
    converted = {}
    for name, frame in tables.items():
        relation = frame.to_native()
        types = [str(t) for t in getattr(relation, "types", [])]
        if frame.implementation is not nw.Implementation.DUCKDB or "TIMESTAMP WITH TIME ZONE" not in types:
            converted[name] = frame
            continue
        columns = [
            f"make_timestamp(epoch_us({_quote(c)})) AS {_quote(c)}" if t == "TIMESTAMP WITH TIME ZONE" else _quote(c)
            for c, t in zip(relation.columns, types)
        ]
        converted[name] = nw.from_native(relation.project(", ".join(columns))).lazy()
    return converted


def _stacked_units(selects: list[str], own: list[str], joined: list[str], customers) -> str:
    """SQL stacking the units of a shape's KPIs: _kpi (position in ``selects``), _value,
    _month (months since year 0 of the naive UTC anchor) and the segment columns, the
    ``joined`` ones from customers."""
    query = "\nUNION ALL\n".join(select.format(index=index) for index, select in enumerate(selects))
    if joined:
        segments = "".join(f", u.{_quote(c)}" for c in own) + "".join(f", c.{_quote(c)}" for c in joined)
        customer_columns = ", ".join(["customer_id", *(_quote(c) for c in joined)])
        query = (f"SELECT u._kpi, u._value, u._month{segments} FROM ({query}) AS u LEFT JOIN "
                 f"(SELECT {customer_columns} FROM ({customers.sql_query()}) AS _customers) AS c "
                 "ON u.customer_id = c.customer_id")
    return query


def _groupings(segments: list[str], period: str | None) -> list[tuple[bool, str | None]]:
    """(by period?, segment column or None for everyone) of every row group the table reports."""
    return [(per_period, segment) for per_period in ([False, True] if period else [False])
            for segment in [None, *segments]]


def _moment_statistics(runner, stacked: str, segments: list[str], period: str | None) -> dict[str, pd.DataFrame]:
    """n, mean and sd of the shares, means and NPS of one shape, in one GROUPING SETS query."""
    columns = [_quote(s) for s in segments]
    sets = []
    for per_period, segment in _groupings(segments, period):
        keys = ["_kpi", *(["_month"] if per_period else []), *([_quote(segment)] if segment else [])]
        sets.append(f"({', '.join(keys)})")
    # grouping(c) is 1 in the rows of the sets that leave c out: it tells the sets apart even
    # where a segment value itself is missing (NULL)
    keys = [*(["_month"] if period else []), *columns]
    flags = "".join(f', grouping({c}) AS "_g{i}"' for i, c in enumerate(keys))
    query = (
        f"SELECT _kpi{''.join(', ' + c for c in keys)}{flags}, "
        "count(_value) AS n, avg(_value) AS mean, stddev_samp(_value) AS sd "
        f"FROM ({stacked}) AS _stacked GROUP BY GROUPING SETS ({', '.join(sets)})"
    )
    grouped = runner.query("_gapkit_runner", query).df()
    flag_of = {key: f"_g{i}" for i, key in enumerate([*([None] if period else []), *segments])}
    pieces = []
    for per_period, segment in _groupings(segments, period):
        wanted = np.ones(len(grouped), dtype=bool)
        for key, flag in flag_of.items():
            grouped_by_key = per_period if key is None else key == segment
            wanted &= grouped[flag].to_numpy() == (0 if grouped_by_key else 1)
        rows = grouped.loc[wanted]
        pieces.append(_labelled(rows["_kpi"].to_numpy(), rows["_month"].to_numpy() if per_period else None,
                                segment, rows[segment] if segment else None,
                                {"n": rows["n"].to_numpy("int64"), "mean": rows["mean"].to_numpy("float64"),
                                 "sd": rows["sd"].to_numpy("float64"),
                                 "open_share": np.full(len(rows), np.nan)}))
    return _by_kpi(pieces)


def _median_statistics(runner, stacked: str, kpi_count: int, segments: list[str], period: str | None,
                       level: float = 0.95) -> dict[str, pd.DataFrame]:
    """Exact median, order-statistic bounds and open share of every median KPI of one shape.

    The units (kpi, value, month, segments) are fetched once and sorted by value (open units,
    with no value, last); every grouping is then integer group codes over them. A stable sort of a grouping's codes in that order lists every group's values in
    ascending order, so the value of rank r in group g is read at the group's start + r - 1.
    """
    fetched: pa.Table = runner.query(
        "_gapkit_runner",
        f"SELECT * REPLACE (CAST(_kpi AS INTEGER) AS _kpi, CAST(_month AS INTEGER) AS _month) FROM ({stacked}) AS _units",
    ).to_arrow_table()
    value = fetched["_value"]
    finished = len(value) - value.null_count
    # finished units first, ascending, then the open ones (no value; durations are finite).
    # Sorting here, not in DuckDB: as fast on two cores, and about 1 GB less at 20M units.
    order = np.argsort(value.fill_null(np.inf).to_numpy(zero_copy_only=False))
    sorted_values = value.to_numpy(zero_copy_only=False)[order[:finished]].astype("float64", copy=False)
    kpi_codes = fetched["_kpi"].to_numpy(zero_copy_only=False)
    month_codes, months = np.zeros(len(value), "int64"), np.zeros(1, "int64")
    if period and len(value):
        month = fetched["_month"].to_numpy(zero_copy_only=False).astype("int64")
        first = month.min()
        present = np.bincount(month - first) > 0  # months as codes without sorting every unit
        months = np.flatnonzero(present) + first
        month_codes = (np.cumsum(present) - 1)[month - first]
    segment_codes, segment_values = {}, {}
    for column in segments:
        encoded = fetched[column].combine_chunks().dictionary_encode(null_encoding="encode")
        segment_codes[column] = encoded.indices.to_numpy(zero_copy_only=False)
        segment_values[column] = encoded.dictionary.to_pandas()
    # group codes in 16 bits when every grouping's fit: NumPy's stable sort is then a radix sort,
    # and the arrays a quarter of int64's
    largest = kpi_count * len(months) * max([len(v) for v in segment_values.values()], default=1)
    work = np.uint16 if largest <= np.iinfo(np.uint16).max else np.int64
    kpi_codes = kpi_codes.astype(work)[order]
    month_codes = month_codes.astype(work)[order]
    segment_codes = {column: codes.astype(work)[order] for column, codes in segment_codes.items()}
    del fetched, value, order

    pieces = []
    for per_period, segment in _groupings(segments, period):
        code, size = kpi_codes, kpi_count
        if per_period:
            code, size = code * work(len(months)) + month_codes, size * len(months)
        if segment:
            levels = len(segment_values[segment])
            code, size = code * work(levels) + segment_codes[segment], size * levels
        opened = np.bincount(code[finished:], minlength=size)
        code_by_value = code[:finished]
        positions = np.argsort(code_by_value, kind="stable")
        n = np.bincount(code_by_value, minlength=size).astype("int64")
        units = n + opened
        starts = np.concatenate([[0], np.cumsum(n)[:-1]])
        groups = np.flatnonzero(n > 0)  # a group whose units are all still open has no median
        n, starts = n[groups], starts[groups]

        middle, ci_low, ci_high = median_and_bounds(
            lambda rank: sorted_values[positions[starts + rank - 1]], n, level)  # noqa: B023 (used at once)
        rest = groups
        segment_level = None
        if segment:
            rest, segment_level = np.divmod(rest, len(segment_values[segment]))
        month_level = None
        if per_period:
            rest, month_level = np.divmod(rest, len(months))
        pieces.append(_labelled(
            rest, months[month_level] if per_period else None,
            segment, segment_values[segment].iloc[segment_level].reset_index(drop=True) if segment else None,
            {"n": n, "mean": middle, "ci_low": ci_low, "ci_high": ci_high,
             "open_share": opened[groups] / units[groups]},
        ))
    return _by_kpi(pieces)


def _labelled(kpi_index, month, segment: str | None, segment_value, statistics: dict) -> pd.DataFrame:
    """One grouping's rows with the pandas engine's key columns: period, segment_by, segment."""
    from gapkit.measure._aggregate import segment_labels

    rows = pd.DataFrame({"_kpi": np.asarray(kpi_index, dtype="int64")})
    rows["period"] = ALL if month is None else [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in np.asarray(month, "int64")]
    rows["segment_by"] = segment or ALL
    rows["segment"] = ALL if segment is None else segment_labels(pd.Series(segment_value).reset_index(drop=True))
    for column, values in statistics.items():
        rows[column] = np.asarray(values)
    return rows


def _by_kpi(pieces: list[pd.DataFrame]) -> dict[int, pd.DataFrame]:
    """The rows of each stacked KPI, keyed by its position in the stack."""
    table = pd.concat(pieces, ignore_index=True)
    table = table.astype({"period": "str", "segment_by": "str", "segment": "str"})
    return {index: rows.drop(columns="_kpi").reset_index(drop=True) for index, rows in table.groupby("_kpi")}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
