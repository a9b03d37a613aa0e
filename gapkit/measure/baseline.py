"""The current level of each KPI: its last complete months, the value goals and gaps compare.

Examples
--------
>>> data = gapkit.datasets.sample()
>>> monthly = gapkit.kpis(data, "2025-06-30", period="M")
>>> gapkit.baseline.current_levels(data, "2025-06-30", monthly)[["kpi", "window", "n", "value"]]
                         kpi            window     n      value
...
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

import numpy as np
import pandas as pd

from gapkit.errors import ConfigError
from gapkit.measure.definitions import Params
from gapkit.measure.engine import OPEN_SHARE_LIMIT, as_params, empty_kpi_table, end_of_day, kpis, unit_window


def current_levels(data: Mapping, as_of: str | date | datetime, monthly: pd.DataFrame, by: Sequence[str] = (),
                   params: Params | Mapping | None = None, months: int = 3, engine: str = "pandas",
                   alpha: float = 0.05) -> pd.DataFrame:
    """Each KPI's current level: pooled over its last ``months`` complete calendar months.

    The pooled history mixes last year's level into today's; a goal is about now. For each KPI
    the window is the last ``months`` months of ``monthly`` (a ``gapkit.kpis(..., period="M")``
    table) that are complete by ``as_of`` (the month and then the KPI's window, e.g.
    repeat_days, have passed) and, for a median duration, have at most
    :data:`OPEN_SHARE_LIMIT` more of their units still open than the KPI's settled months
    (see :func:`_excess_open_share`). Cohort KPIs (repeat purchase,
    referral) thus use the latest cohorts whose window has elapsed. Every segment of a KPI
    shares the window of its "all" row.

    Returns the KPI table's columns with ``period = "current"`` and ``window``
    ("YYYY-MM..YYYY-MM") and ``window_months``; the units are counted afresh over the window,
    so n and the interval are exact (a median is not an average of monthly medians).

    Examples
    --------
    >>> data = gapkit.datasets.sample()
    >>> monthly = gapkit.kpis(data, "2025-06-30", period="M")
    >>> gapkit.baseline.current_levels(data, "2025-06-30", monthly)[["kpi", "window", "n", "value"]]
                             kpi            window     n      value
    ...
    """
    if months < 1:
        raise ConfigError(f"baseline_months = {months}: use at least 1 month")
    eod = end_of_day(as_of)
    settings = as_params(params)
    rows = monthly[(monthly["segment_by"] == "all") & (monthly["period"] != "all")]
    windows: dict[tuple[str, str], list[str]] = {}
    counted: dict[str, int] = {}
    for kpi_id, group in rows.groupby("kpi", sort=False):
        # complete: the month has ended, and so has the KPI's window for its last units (the
        # customers who first bought on the 30th have their 90 days only 90 days later)
        wait = unit_window(kpi_id, settings)
        ends = pd.PeriodIndex(group["period"], freq="M").end_time.tz_localize("UTC")
        eligible = group[np.asarray(ends + wait <= pd.Timestamp(eod))]
        if "open_share" in eligible and eligible["open_share"].notna().any():
            eligible = eligible[~(_excess_open_share(eligible, eod) > OPEN_SHARE_LIMIT)]
        chosen = sorted(eligible["period"])[-months:]
        if chosen:
            windows.setdefault((chosen[0], chosen[-1]), []).append(kpi_id)
            counted[kpi_id] = len(chosen)
    if not windows:
        return empty_kpi_table().assign(window=pd.Series(dtype="str"), window_months=pd.Series(dtype="int64"))
    # one pass over the tables, each KPI counted over its own window
    of_kpi = {kpi_id: window for window, ids in windows.items() for kpi_id in ids}
    out = kpis(data, as_of, by=by, period=None, kpis=list(of_kpi), params=params, engine=engine, months=of_kpi,
               alpha=alpha)
    out["window"] = out["kpi"].map({k: f"{first}..{last}" for k, (first, last) in of_kpi.items()}).astype("str")
    out["period"] = "current"
    out["window_months"] = out["kpi"].map(counted).astype("int64")
    return out


def _excess_open_share(months: pd.DataFrame, eod: datetime) -> pd.Series:
    """Each month's open share above the share that never finishes.

    Some units never finish (a ticket nobody closes): in months old enough to have settled
    (ended at least 90 days before as_of) their share is the KPI's settled open share, its
    median over those months. Only open units above that level are still on their way, and only
    they bias the median low; a month more than :data:`OPEN_SHARE_LIMIT` above it is too recent.
    """
    share = months["open_share"].astype(float)
    ends = pd.PeriodIndex(months["period"], freq="M").end_time
    settled = share[ends <= pd.Timestamp(eod.date()) - pd.Timedelta(days=90)]
    return share - (float(settled.median()) if settled.notna().any() else 0.0)


def unsettled(rows: pd.DataFrame, kpi_table: pd.DataFrame, as_of=None) -> pd.Series:
    """Rows of a median duration whose open units are too many to trust its median: more than
    :data:`OPEN_SHARE_LIMIT` above the share that never finishes. A segment (period "all") is
    compared with everyone's open share; a month with the KPI's settled months (as_of given;
    :func:`_excess_open_share`). A team that never closes 91% of its cases looks fastest on
    the few it closes; such a row is no benchmark and no "best month"."""
    if "open_share" not in rows or rows.empty:
        return pd.Series(False, index=rows.index)
    share = rows["open_share"].astype(float)
    everyone = kpi_table[(kpi_table["period"] == "all") & (kpi_table["segment_by"] == "all")]
    base = rows["kpi"].map(everyone.set_index("kpi")["open_share"].astype(float)) if len(everyone) else 0.0
    excess = share - pd.Series(base, index=rows.index).fillna(0.0)
    monthly = rows["period"] != "all"
    if as_of is not None and monthly.any():
        eod = end_of_day(as_of)
        for _, months in rows[monthly].groupby(["kpi", "segment_by", "segment"]):
            excess.loc[months.index] = _excess_open_share(months, eod)
    return (excess > OPEN_SHARE_LIMIT).fillna(False)


def goal_levels(goals, kpi_table: pd.DataFrame, data: Mapping, as_of: str | date | datetime,
                params: Params | Mapping | None = None, months: int = 3, engine: str = "pandas",
                alpha: float = 0.05) -> pd.DataFrame:
    """The current level of each goal's KPI and segment, computed as the reports compute it.

    :func:`current_levels` for the goals' KPIs, broken down by every column a goal names.
    ``kpi_table``'s monthly rows choose the windows when it has them for every goal's KPI;
    otherwise the months are counted here. ``gapkit.gaps.gaps``, ``gapkit.goals.smart`` and
    ``gapkit.goals.progress`` call this when given ``data`` and no ``current``, so the API
    judges a goal by the same figure as the reports.

    Examples
    --------
    >>> data = gapkit.datasets.sample()
    >>> config = gapkit.datasets.sample_config()
    >>> gapkit.baseline.goal_levels(config.goals, gapkit.kpis(data, "2025-06-30"), data, "2025-06-30")
                          kpi   period  ...            window  window_months
    ...
    """
    ids = sorted({goal.kpi for goal in goals})
    by = sorted({goal.segment_by for goal in goals} - {"all"})
    if not ids:
        return current_levels(data, as_of, empty_kpi_table(), months=months)
    monthly = kpi_table[(kpi_table["segment_by"] == "all") & (kpi_table["period"] != "all")
                        & kpi_table["kpi"].isin(ids)] if len(kpi_table) else kpi_table
    if set(ids) - set(monthly["kpi"]):
        monthly = kpis(data, as_of, period="M", kpis=ids, params=params, engine=engine)
    return current_levels(data, as_of, monthly, by=by, params=params, months=months, engine=engine, alpha=alpha)
