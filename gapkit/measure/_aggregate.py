"""Aggregating KPI units into the KPI table on the pandas and narwhals paths: n, value, the
95% interval by the KPI's method, open shares; the segment labels every engine shares."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import narwhals as nw
import numpy as np
import pandas as pd

from gapkit.contract.catalog import KPI, MEDIAN
from gapkit.measure.intervals import attach_intervals, median_and_bounds

MISSING_SEGMENT = "(missing)"


def _with_segments(units: nw.LazyFrame, tables, by: Sequence[str]) -> tuple[nw.LazyFrame, list[str]]:
    """Make every ``by`` column available on the units: own column first, else from customers."""
    columns = set(units.collect_schema().names())
    segments = []
    for column in by:
        if column in columns:
            segments.append(column)
        elif "customers" in tables and column in tables["customers"].collect_schema().names():
            if "customer_id" in columns:
                units = units.join(
                    tables["customers"].select("customer_id", column), on="customer_id", how="left"
                )
                columns.add(column)
                segments.append(column)
    return units, segments


def _summarise(kpi: KPI, units: nw.LazyFrame, tables, by: Sequence[str], period: str | None,
               level: float = 0.95) -> pd.DataFrame:
    units = units.filter(~nw.col("_anchor").is_null())
    if kpi.kind == MEDIAN:  # an unfinished unit (null duration) is counted as open, not measured
        units = units.with_columns(_open=nw.col("_value").is_null().cast(nw.Float64))
    else:
        units = units.filter(~nw.col("_value").is_null())
    units, segments = _with_segments(units, tables, by)
    # only what the aggregations read; month labels only when months are asked for
    keep = ["_value", *(["_open"] if kpi.kind == MEDIAN else []), *dict.fromkeys(segments)]
    units = units.select(*keep, *([nw.col("_anchor").dt.to_string("%Y-%m").alias("_period")] if period else []))
    if units.implementation.is_spark_like():  # Spark: the units stay in the cluster, cached once per KPI
        from gapkit.measure.spark import cached

        with cached(units) as stored:
            return _summarise_units(kpi, stored, by, segments, period, level)
    if units.implementation is nw.Implementation.POLARS:
        # the units' joins and filters run once, not once for each period x segment grouping
        units = nw.from_native(units.to_native().collect()).lazy()
    return _summarise_units(kpi, units, by, segments, period, level)


def _summarise_units(
    kpi: KPI, units: nw.LazyFrame, by: Sequence[str], segments: list[str], period: str | None, level: float = 0.95
) -> pd.DataFrame:
    if units.implementation is nw.Implementation.PANDAS:
        return _finish(kpi, _pandas_statistics(kpi, units.to_native(), segments, period, level), by, level)
    units = units.with_columns(_all_periods=nw.lit("all"), _everyone=nw.lit("all"))
    aggregate = partial(_aggregate, level=level)
    if units.implementation.is_spark_like():  # one Spark job for all groupings, not one each
        from gapkit.measure.spark import aggregate_in_one_job

        groupings = [[p, s or "_everyone"] for p in ["_all_periods"] + (["_period"] if period else [])
                     for s in [None] + segments]
        aggregate = aggregate_in_one_job(kpi, units, groupings, aggregate)

    pieces = []
    for period_key in ["_all_periods"] + (["_period"] if period else []):
        for segment in [None] + segments:
            keys = [period_key, segment or "_everyone"]
            stats_ = aggregate(kpi, units, keys)
            stats_ = stats_.rename(columns={keys[0]: "period", keys[1]: "segment"})
            if period_key == "_all_periods":
                stats_["period"] = "all"
            stats_["segment_by"] = segment or "all"
            stats_["segment"] = "all" if segment is None else segment_labels(stats_["segment"])
            pieces.append(stats_)
    return _finish(kpi, pd.concat(pieces, ignore_index=True), by, level)


def _finish(kpi: KPI, table: pd.DataFrame, by: Sequence[str], level: float = 0.95) -> pd.DataFrame:
    """Aggregated rows (period, segment_by, segment, n and the KPI's statistics) as KPI table rows."""
    if table.empty:
        return table
    table = attach_intervals(kpi, table, level)
    # rows by segment column (all first, then by's order), segment, period; in Python, as the
    # table is small and a pandas sort of text columns cost more than the rest of this function
    order = {"all": 0, **{column: i + 1 for i, column in enumerate(by)}}
    keys = list(zip([order.get(s, len(order)) for s in table["segment_by"].tolist()],
                    table["segment"].tolist(), table["period"].tolist()))
    table = table.take(sorted(range(len(keys)), key=keys.__getitem__)).reset_index(drop=True)
    for column, value in (("kpi", kpi.id), ("unit", kpi.unit), ("better", kpi.better), ("label", kpi.label),
                          ("ci_method", kpi.ci_method)):
        table[column] = value
    return table


def segment_labels(values: pd.Series) -> pd.Series:
    """Segment values as the text reports and configs use (1.0 -> "1", missing -> "(missing)")."""

    def label(v):
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            return MISSING_SEGMENT
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    return values.astype(object).map(label).astype("str")


def _aggregate(kpi: KPI, units: nw.LazyFrame, keys: list[str], level: float = 0.95) -> pd.DataFrame:
    if kpi.kind == MEDIAN:
        medians = _median_rows(units.filter(~nw.col("_value").is_null()), keys, level)
        opened = units.group_by(keys).agg(open_share=nw.col("_open").mean()).collect("pandas").to_native()
        # a period whose units are all still open has an open share but no median
        return opened.merge(medians, on=keys, how="left").query("n == n").astype({"n": "int64"})
    value = nw.col("_value")
    agg = units.group_by(keys).agg(n=value.count(), mean=value.mean(), sd=value.std(ddof=1))
    return agg.collect("pandas").to_native().assign(open_share=np.nan)


def _pandas_statistics(kpi: KPI, units: pd.DataFrame, segments: list[str], period: str | None,
                       level: float = 0.95) -> pd.DataFrame:
    """The rows of :func:`_summarise_units` on the pandas engine, from the units themselves.

    Each key column is factorized once (not once per grouping, and not as Arrow strings), the
    groups are integer codes, and the per-group statistics are the same pandas groupby
    reductions over the same values as the generic path, so the figures are identical; medians
    come from one sort per grouping instead of a windowed rank.
    """
    everyone = np.zeros(len(units), dtype=np.int64)
    keys = {None: (everyone, np.array(["all"], dtype=object))}
    for column in [*(["_period"] if period else []), *segments]:
        codes, uniques = pd.factorize(units[column], use_na_sentinel=False)
        keys[column] = (codes.astype(np.int64), np.asarray(uniques, dtype=object))
    pieces = []
    for period_key in [None] + (["_period"] if period else []):
        for segment in [None] + segments:
            (p_codes, p_labels), (s_codes, s_labels) = keys[period_key], keys[segment]
            combined = p_codes * len(s_labels) + s_codes
            group, uniques = pd.factorize(combined)
            stats_ = _pandas_group_statistics(kpi, units, group, len(uniques), level)
            chosen = uniques[stats_.pop("_group").to_numpy()]
            stats_.insert(0, "segment", s_labels[chosen % len(s_labels)])
            stats_.insert(0, "period", p_labels[chosen // len(s_labels)])
            if period_key is None:
                stats_["period"] = "all"
            else:
                stats_["period"] = stats_["period"].astype("str")
            stats_["segment_by"] = segment or "all"
            stats_["segment"] = "all" if segment is None else segment_labels(stats_["segment"])
            pieces.append(stats_)
    return pd.concat(pieces, ignore_index=True)


def _pandas_group_statistics(kpi: KPI, units: pd.DataFrame, group: np.ndarray, groups: int,
                             level: float = 0.95) -> pd.DataFrame:
    """n and the KPI's statistics per group code (column ``_group``), pandas engine."""
    value = units["_value"]
    if kpi.kind != MEDIAN:
        grouped = value.groupby(group, sort=False)
        out = pd.DataFrame({"n": grouped.count(), "mean": grouped.mean(), "sd": grouped.std(ddof=1)})
        return out.rename_axis("_group").reset_index().assign(open_share=np.nan)
    opened = units["_open"].groupby(group, sort=False).mean()
    measured = value.notna().to_numpy()
    values, codes = value.to_numpy(dtype=float, na_value=np.nan)[measured], group[measured]
    order = np.lexsort((values, codes))  # by group, then by value (ties keep row order: ordinal ranks)
    values = values[order]
    counts = np.bincount(codes, minlength=groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    present = np.flatnonzero(counts)
    n, starts = counts[present], starts[present]
    middle, ci_low, ci_high = median_and_bounds(lambda rank: values[starts + rank - 1], n, level)
    return pd.DataFrame({"_group": present.astype("int64"), "open_share": opened.reindex(present).to_numpy(),
                         "n": n.astype("int64"), "mean": middle, "ci_low": ci_low, "ci_high": ci_high})


def _median_rows(units: nw.LazyFrame, keys: list[str], level: float = 0.95) -> pd.DataFrame:
    """Median and order-statistic bounds per group, computed exactly on any engine.

    The engine ranks values within each group and returns only the rows near the middle
    (a band of about 2.5 standard errors of rank on each side, enough for the exact binomial
    bounds); pandas then picks the median and the two bounding order statistics.
    """
    rank = nw.col("_value").rank(method="ordinal").over(*keys)
    ranked = units.select(*keys, "_value").with_columns(_r=rank, _n=nw.len().over(*keys))
    band = (2 * nw.col("_r") - nw.col("_n")) ** 2 <= 6 * nw.col("_n") + 36
    near = ranked.filter(band).collect("pandas").to_native()
    rows = []
    for group, g in near.groupby(keys, dropna=False, sort=False):
        n = int(g["_n"].iloc[0])
        by_rank = dict(zip(g["_r"].astype(int), g["_value"].astype(float)))
        middle, ci_low, ci_high = median_and_bounds(
            lambda ranks: np.array([by_rank.get(int(r), np.nan) for r in ranks]), [n], level)  # noqa: B023 (used at once)
        rows.append(dict(zip(keys, group), n=n, mean=middle[0], ci_low=ci_low[0], ci_high=ci_high[0]))
    return pd.DataFrame(rows, columns=keys + ["n", "mean", "ci_low", "ci_high"])
