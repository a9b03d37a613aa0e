"""Progress toward goals: each goal's recent trend projected to its deadline, with an interval,
and whether it is on track (``goal_progress.csv``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gapkit.contract.catalog import KPIS, clip
from gapkit.desired.levels import _levels, as_goals, baseline_row, monthly_series, months_between, window_of
from gapkit.errors import check_alpha
from gapkit.impact._ar1 import line_ar1


def progress(goals, kpi_table: pd.DataFrame, as_of: str, recent_months: int = 6,
             current: pd.DataFrame | None = None, data=None, params=None, months: int = 3,
             alpha: float = 0.05) -> pd.DataFrame:
    """Where each goal is heading: the recent monthly line extended to the deadline, with its CI.

    A line is fitted through the last ``recent_months`` monthly values (each month once) and read
    at the deadline; its interval (1 - ``alpha``, 95% by default) carries the uncertainty of both the line's level and its
    slope, with month swings that may persist (AR(1) errors, see :func:`_projection`). Starting the slope from the pooled
    history instead would understate a rising KPI and claim a certainty no one has. On track:
    even the pessimistic end of the interval meets the target; off track: even the optimistic
    end misses it; at risk: between. ``current`` is the goal's current level (recent complete
    months, see :func:`baseline_row`; computed from ``data`` when not given, as in :func:`smart`),
    shown beside the projection; the line is fitted to months up to the last one the current
    level counts, never to months still too open to judge.

    Examples
    --------
    >>> data = gapkit.datasets.sample()
    >>> config = gapkit.datasets.sample_config()
    >>> gapkit.goals.progress(config.goals, gapkit.kpis(data, "2025-06-30", by=["segment"], period="M"), "2025-06-30")
               goal_id                    kpi  ...           status  months_fitted
    ...
    """
    goals = as_goals(goals)
    current = _levels(goals, kpi_table, as_of, current, data, params, months)
    rows = []
    for goal in goals:
        better = 1 if KPIS[goal.kpi].better == "higher" else -1
        base = baseline_row(kpi_table, goal, current)
        series = monthly_series(kpi_table, goal).dropna(subset=["value"])
        window = window_of(base)
        if ".." in window:  # the months the current level judged settled, and none after
            series = series[series["period"].astype(str) <= window.split("..")[1]]
        series = series.tail(recent_months)
        months_left = months_between(as_of, goal.deadline)
        record = {"goal_id": goal.id, "kpi": goal.kpi, "current": np.nan, "target": goal.target,
                  "deadline": goal.deadline, "slope": np.nan, "projected": np.nan, "projected_low": np.nan,
                  "projected_high": np.nan, "status": "unknown", "months_fitted": len(series)}
        if base is not None:
            record["current"] = float(base["value"])
        line = _projection(series, goal.deadline, alpha) if len(series) >= 4 and months_left > 0 else None
        if line is not None:
            slope, projected, low, high = line
            # a projection cannot leave the KPI's range: a share heads for 100% at most
            record.update(slope=slope, projected=clip(projected, goal.kpi), projected_low=clip(low, goal.kpi),
                          projected_high=clip(high, goal.kpi))
            pessimistic = record["projected_low"] if better > 0 else record["projected_high"]
            optimistic = record["projected_high"] if better > 0 else record["projected_low"]
            if better * (pessimistic - goal.target) >= 0:
                record["status"] = "on_track"
            elif better * (optimistic - goal.target) < 0:
                record["status"] = "off_track"
            else:
                record["status"] = "at_risk"
        elif months_left <= 0:
            record["status"] = "deadline_passed"
        rows.append(record)
    return pd.DataFrame(rows, columns=PROGRESS_COLUMNS)


def _projection(series: pd.DataFrame, deadline: str, alpha: float = 0.05) -> tuple[float, float, float, float]:
    """Slope per month, and the line at ``deadline`` with its 1 - ``alpha`` interval.

    The line has AR(1) errors with the autocorrelation integrated out (:func:`line_ar1`, the
    ITS's model): a month's swing carries into the next, and a weighted least-squares line
    that treats the months as independent covered the deadline's level 0.90 of the time at
    rho 0.6 instead of 0.95. Each month counts once, as in the ITS; months sit at their middle
    (a month's value is its average), the deadline at its day.
    """
    month = pd.PeriodIndex(series["period"], freq="M")
    start = month.min()
    t = np.asarray([(p - start).n for p in month], dtype=float) + 0.5
    at = (pd.Timestamp(deadline) - start.start_time).days / 30.4375
    fit = line_ar1(series["value"].to_numpy(float), t, at, check_alpha(alpha))
    return fit["slope"].estimate, fit["level"].estimate, fit["level"].low, fit["level"].high


PROGRESS_COLUMNS = ["goal_id", "kpi", "current", "target", "deadline", "slope", "projected", "projected_low",
                    "projected_high", "status", "months_fitted"]
