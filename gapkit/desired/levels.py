"""What a goal is measured against: its current level (baseline) and monthly series in a KPI
table, the trend of that series, and goals given as plain dicts checked like gapkit.yml."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gapkit.config import Goal
from gapkit.errors import check_alpha
from gapkit.impact._ar1 import line_ar1


def months_between(start: str, end: str) -> float:
    """Months from ``start`` to ``end`` (fractional, 30.4375-day months)."""
    return (pd.Timestamp(end) - pd.Timestamp(start)).days / 30.4375


def baseline_row(kpi_table: pd.DataFrame, goal: Goal, current: pd.DataFrame | None = None) -> pd.Series | None:
    """The goal's current KPI row, or None.

    From ``current`` (:func:`gapkit.baseline.current_levels`: the recent complete months) when
    given and it has the goal's KPI and segment; else the pooled history of ``kpi_table``
    (period "all"), which mixes older levels into "current".
    """
    if current is not None and len(current):
        rows = current[(current["kpi"] == goal.kpi) & (current["segment_by"] == goal.segment_by)
                       & (current["segment"] == goal.segment)]
        if len(rows):
            return rows.iloc[0]
    rows = kpi_table[
        (kpi_table["kpi"] == goal.kpi)
        & (kpi_table["period"] == "all")
        & (kpi_table["segment_by"] == goal.segment_by)
        & (kpi_table["segment"] == goal.segment)
    ]
    return rows.iloc[0] if len(rows) else None


def monthly_series(kpi_table: pd.DataFrame, goal: Goal) -> pd.DataFrame:
    rows = kpi_table[
        (kpi_table["kpi"] == goal.kpi)
        & (kpi_table["period"] != "all")
        & (kpi_table["segment_by"] == goal.segment_by)
        & (kpi_table["segment"] == goal.segment)
    ]
    return rows.sort_values("period").reset_index(drop=True)


@dataclass(frozen=True)
class Trend:
    """Slope per month of a monthly KPI series (AR(1) errors), with its 95% CI."""

    slope: float
    ci_low: float
    ci_high: float
    months: int


def trend(series: pd.DataFrame, alpha: float = 0.05) -> Trend | None:
    """Slope of ``value`` per month with its 1 - ``alpha`` interval; None below 4 months.

    Months count once each and their swings may persist (AR(1) errors, rho integrated out:
    :func:`gapkit.impact._ar1.line_ar1`); an OLS slope would call a pace certain that a few
    correlated months cannot show.
    """
    series = series.dropna(subset=["value"])
    if len(series) < 4:
        return None
    month = pd.PeriodIndex(series["period"], freq="M")
    t = np.asarray((month - month.min()).map(lambda d: d.n), dtype=float)
    slope = line_ar1(series["value"].to_numpy(float), t, alpha=check_alpha(alpha))["slope"]
    return Trend(slope.estimate, slope.low, slope.high, len(series))


def as_goals(goals) -> tuple[Goal, ...]:
    """Goals as :class:`gapkit.config.Goal`: plain dicts (as in gapkit.yml) are checked like the file."""
    goals = list(goals or ())
    if all(isinstance(goal, Goal) for goal in goals):
        return tuple(goals)
    from gapkit.config import from_dict

    # a Goal of a reloaded gapkit.config (autoreload in JupyterLab) is a dataclass, not this Goal
    plain = [dataclasses.asdict(g) if dataclasses.is_dataclass(g) else dict(g) for g in goals]
    return from_dict({"goals": plain}).goals


def _levels(goals, kpi_table, as_of, current, data, params, months):
    if current is not None or data is None:
        return current
    from gapkit.measure.baseline import goal_levels

    return goal_levels(goals, kpi_table, data, as_of, params=params, months=months)


def window_of(row: pd.Series | None) -> str:
    """The months a baseline row pools: "YYYY-MM..YYYY-MM", or "all" for the whole history."""
    if row is None:
        return ""
    window = row.get("window")
    return str(window) if isinstance(window, str) and window else "all"
