"""Kaplan-Meier curves of the time from a customer's first order to the next (retention) or to
lapsing (churn), right-censored at as_of (``retention.csv``, ``churn.csv``).

Examples
--------
>>> gapkit.monitor.retention(gapkit.datasets.sample(), "2025-06-30", by=["segment"]).table.head()
  cohort segment_by segment  day  at_risk  events  survival    ci_low   ci_high
0    all        all     all    7     2299      60  0.974752  0.967600  0.980340
1    all        all     all   14     2194      84  0.938978  0.928544  0.947932
2    all        all     all   30     1957     182  0.860064  0.845300  0.873526
3    all        all     all   60     1581     267  0.739498  0.720899  0.757076
4    all        all     all   90     1413      85  0.699028  0.679530  0.717597
"""


import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from statistics import NormalDist
from typing import ClassVar

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from gapkit.config import MONITOR_DEFAULTS
from gapkit.contract._parsing import as_arrow_text, lookup, sorted_rows
from gapkit.contract.artifacts import columns as artifact_columns
from gapkit.contract.catalog import Z95
from gapkit.errors import ConfigError, InputError, check_alpha
from gapkit.measure.engine import end_of_day, month_labels, segment_labels
from gapkit.report.results import Result

RETENTION_COLUMNS = list(artifact_columns("retention.csv"))
RETENTION_DAYS = (7, 14, 30, 60, 90, 120, 180, 270, 365)

@dataclass(frozen=True, eq=False, repr=False)
class RetentionResult(Result):
    """Kaplan-Meier curves of time to the second order (``table``, retention.csv, read at set
    days; ``curves``: every step of the everyone and segment curves, for drawing)."""

    curves: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: Kaplan-Meier of days from the first order to churn (``churn_days`` without an order),
    #: the retention.csv columns plus ``churn_days`` (churn.csv)
    churn: pd.DataFrame = field(default_factory=pd.DataFrame)
    churn_curves: pd.DataFrame = field(default_factory=pd.DataFrame)
    title: ClassVar[str] = "Retention"
    artifact: ClassVar[str] = "retention.csv"
    kinds: ClassVar[dict] = {"survival": "share", "ci_low": "share", "ci_high": "share", "at_risk": "count",
                             "events": "count", "day": "count"}

    def summary(self) -> str:
        everyone = self.table[(self.table["cohort"] == "all") & (self.table["segment_by"] == "all")]
        at90 = everyone[everyone["day"] == 90]
        if at90.empty:
            return "Too little follow-up for a 90-day retention figure."
        row = at90.iloc[0]
        return (f"{1 - row['survival']:.1%} of customers order again within 90 days of their first order "
                f"(95% CI {1 - row['ci_high']:.1%} to {1 - row['ci_low']:.1%}; Kaplan-Meier, customers "
                f"followed for less than 90 days count while observed).")

    def churn_summary(self) -> str:
        """The share churned a year after the first order (``churn_days`` without an order)."""
        everyone = self.churn[(self.churn["cohort"] == "all") & (self.churn["segment_by"] == "all")] \
            if len(self.churn) else self.churn
        if everyone.empty:
            return "Too little follow-up for a churn curve."
        row = everyone.iloc[-1]
        return (f"{1 - row['survival']:.1%} of customers had churned (no order for {int(row['churn_days'])} days) "
                f"{int(row['day'])} days after their first order (95% CI {1 - row['ci_high']:.1%} to "
                f"{1 - row['ci_low']:.1%}; Kaplan-Meier, censored at the report date).")

    def plot(self, ax=None, segment_by: str = "all", most: int = 6, churn: bool = False):
        """Share of customers who have ordered again (``churn``: who have churned), by days since
        the first order, with 95% bands.

        With many segments, the ``most`` largest are drawn (the table holds them all).
        """
        import matplotlib.pyplot as plt

        from gapkit.report.formatting import label

        ax = ax or plt.gca()
        source = self.churn_curves if churn else self.curves
        shown = source[source["segment_by"] == segment_by] if len(source) else source
        if shown.empty:
            ax.set_title("No retention curve")
            return ax
        sizes = shown.groupby("segment")["customers"].first().sort_values(ascending=False, kind="stable")
        picked = sorted(sizes.index[:most])
        colors = {}
        for segment, curve in shown[shown["segment"].isin(picked)].groupby("segment", sort=True):
            curve = _daily(curve)
            line, = ax.step(curve["day"], 1 - curve["survival"], where="post", label=label(segment))
            colors[segment] = line.get_color()
            ax.fill_between(curve["day"], 1 - curve["ci_high"], 1 - curve["ci_low"], step="post", alpha=0.15,
                            color=line.get_color())
        rows = self._at_risk_rows(churn, segment_by, picked)
        _at_risk_under(ax, rows, colors)
        ax.set_xlabel("days since the first order", labelpad=8 + 11 * (rows["segment"].nunique() + 1)
                      if len(rows) else 4)
        if churn:
            ax.set_ylabel("churned (95% CI)")
            title = self.churn_summary().split(" (95%")[0] if len(self.churn) else "No churn curve"
        else:
            ax.set_ylabel("ordered again (95% CI)")
            title = self.summary().split(" (")[0] if len(self.table) else "No retention curve"
        if len(sizes) > most:
            title += f"\n(the {most} largest of {len(sizes)} {segment_by} groups)"
        ax.set_title(textwrap.fill(title, 60), fontsize="medium")
        if segment_by != "all":
            ax.legend(title=segment_by, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
        return ax

    def _at_risk_rows(self, churn: bool, segment_by: str, picked) -> pd.DataFrame:
        table = self.churn if churn else self.table
        if table is None or table.empty:
            return pd.DataFrame(columns=["segment", "day", "at_risk"])
        rows = table[(table["cohort"] == "all") & (table["segment_by"] == segment_by)
                     & table["segment"].isin(picked)]
        return rows[["segment", "day", "at_risk"]]


    def plot_cohorts(self, ax=None):
        """Heatmap: share who ordered again (rows: first-order month, columns: days since)."""
        import matplotlib.pyplot as plt
        import seaborn as sns

        ax = ax or plt.gca()
        cohorts = self.table[(self.table["cohort"] != "all") & (self.table["segment_by"] == "all")]
        if cohorts.empty:
            ax.set_title("No first-order month has a retention curve")
            return ax
        # a cell read off a handful of customers says little: blank below 20 still followed
        readable = cohorts[cohorts["at_risk"] >= 20]
        if readable.empty:
            ax.set_title("No first-order month has 20 customers followed long enough")
            return ax
        grid = (1 - readable.pivot_table(index="cohort", columns="day", values="survival")).sort_index()
        # many first-order months: the latest 24, numbers only where they stay readable
        grid = grid.iloc[-24:]
        sns.heatmap(grid, ax=ax, cmap="Blues", vmin=0, vmax=max(float(np.nanmax(grid.to_numpy())), 0.01),
                    annot=len(grid) <= 18, fmt=".0%", cbar_kws={"label": "ordered again"},
                    yticklabels=True)  # every month named: seaborn's "auto" silently skips every other one
        ax.set_xlabel("days since the first order (blank: fewer than 20 customers followed that long)")
        ax.set_ylabel("month of the first order")
        ax.set_title("Coming back, by month of the first order", fontsize="medium")
        return ax


def _at_risk_under(ax, rows: pd.DataFrame, colors: Mapping) -> None:
    """The numbers still followed (at risk) beneath a Kaplan-Meier chart, a row per curve, as
    lifelines' add_at_risk_counts does: a curve's tail over a handful of customers says little."""
    if rows.empty:
        return
    low, high = ax.get_xlim()
    days = []
    # columns at least a ninth of the axis apart, so the numbers never run into each other
    for day in sorted(d for d in rows["day"].unique() if low <= d <= high):
        if not days or day - days[-1] >= (high - low) / 9:
            days.append(day)
    ax.annotate("at risk", xy=(0, 0), xycoords="axes fraction", xytext=(-4, -30), textcoords="offset points",
                ha="right", va="top", fontsize=7, color="#52606d")
    for line, (segment, group) in enumerate(rows.groupby("segment", sort=True)):
        counts = group.set_index("day")["at_risk"]
        for day in days:
            if day in counts.index:
                ax.annotate(f"{int(counts[day]):,}", xy=(day, 0), xycoords=("data", "axes fraction"),
                            xytext=(0, -30 - 11 * line), textcoords="offset points", ha="center", va="top",
                            fontsize=7, color=colors.get(segment, "#52606d"))


def repeat_durations(data: Mapping, as_of: str | date | datetime, by: Sequence[str] = ()) -> pd.DataFrame:
    """One row per customer: first order, days to the next strictly later order (or to as_of,
    censored), ``repeated`` (event seen), cohort month and the ``by`` segment columns."""
    if "orders" not in data:
        raise InputError("retention needs the orders table")
    eod = pd.Timestamp(end_of_day(as_of))
    orders, starts = _orders_by_customer(data, eod)
    at = orders["ordered_at"]
    times, first_rows = _ticks(at), np.flatnonzero(starts)
    customer_of_row = np.cumsum(starts) - 1
    # orders are sorted by time within a customer: the first one after the first order's
    # instant is the next order (one at the same instant is the same purchase occasion)
    later = np.flatnonzero(times > times[first_rows][customer_of_row])
    next_row = np.full(len(first_rows), -1)
    first_later = np.r_[True, customer_of_row[later][1:] != customer_of_row[later][:-1]] if len(later) else later
    next_row[customer_of_row[later[first_later]]] = later[first_later]
    repeated = next_row >= 0
    out = pd.DataFrame({"customer_id": orders["customer_id"].take(first_rows).array,
                        "first_order_id": orders["order_id"].take(first_rows).array,
                        "first_at": at.take(first_rows).array})
    out["next_at"] = pd.Series(at.take(np.where(repeated, next_row, 0)).array).where(repeated)
    out["repeated"] = repeated
    end = out["next_at"].where(out["repeated"], eod)
    out["days"] = (end - out["first_at"]).dt.total_seconds() / 86400
    out["cohort"] = month_labels(out["first_at"])
    for column in by:
        source = data["orders"] if column in data["orders"].columns else data.get("customers")
        if source is None or column not in source.columns:
            raise ConfigError(f"retention by {column!r}: no such column in orders or customers")
        key = "order_id" if source is data["orders"] else "customer_id"
        left = "first_order_id" if key == "order_id" else "customer_id"
        out[column] = segment_labels(lookup(out[left], source[key], source[column]))
    return out


def _orders_by_customer(data: Mapping, eod: pd.Timestamp) -> tuple[pd.DataFrame, np.ndarray]:
    """The orders placed by ``eod`` sorted by customer, time and id, and where each customer's
    rows start (True at a customer's first order). Adjacent ids are compared in Arrow: grouping
    and merging on text ids through pandas took most of retention's time (issue 30)."""
    orders = data["orders"][["order_id", "customer_id", "ordered_at"]]
    orders = sorted_rows(orders[orders["ordered_at"] <= eod], ["customer_id", "ordered_at", "order_id"])
    ids = as_arrow_text(orders["customer_id"])
    if ids is None:
        values = orders["customer_id"].to_numpy()
        new = values[1:] != values[:-1]
    else:
        missing = ids.is_null().to_numpy(zero_copy_only=False)
        new = pc.fill_null(pc.not_equal(ids[1:], ids[:-1]), True).to_numpy(zero_copy_only=False)
        new &= ~(missing[1:] & missing[:-1])  # missing ids (sorted last) are one customer, as drop_duplicates has it
    return orders.reset_index(drop=True), np.r_[len(orders) > 0, new].astype(bool)[: len(orders)]


def _ticks(stamps: pd.Series) -> np.ndarray:
    """Timestamps as integers in their own unit (comparisons and differences only)."""
    return np.asarray(stamps.array.asi8, dtype="int64")


def churn_durations(data: Mapping, as_of: str | date | datetime, churn_days: float,
                    by: Sequence[str] = (), units: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per customer: days from the first order to churn, or to as_of (censored).

    A customer churns ``churn_days`` after an order not followed by another within ``churn_days``
    (the moment the silence becomes long enough to call); ``churned`` says whether that moment
    came by as_of. Columns as :func:`repeat_durations`, with ``churned`` for ``repeated``;
    ``units``: those :func:`repeat_durations` gave for the same data, as_of and ``by``, if at hand.
    """
    units = repeat_durations(data, as_of, by) if units is None else units
    eod = pd.Timestamp(end_of_day(as_of))
    window = pd.Timedelta(days=churn_days)
    orders, starts = _orders_by_customer(data, eod)
    at = orders["ordered_at"]
    unit = at.dt.unit
    times, first_rows = _ticks(at), np.flatnonzero(starts)
    # the silence after each order: until the next order, or until as_of after the last one
    following = np.r_[times[1:], 0]
    following[np.r_[starts[1:], True]] = eod.as_unit(unit).asm8.astype("int64")
    silent = np.flatnonzero(following - times > window.as_unit(unit).asm8.astype("int64"))
    customer_of_row = np.cumsum(starts) - 1
    # the first silence of a customer (rows are in time order) is when the customer churned
    first_silent = silent[np.r_[True, customer_of_row[silent][1:] != customer_of_row[silent][:-1]]] if len(silent) \
        else silent
    churn_row = np.full(len(first_rows), -1)
    churn_row[customer_of_row[first_silent]] = first_silent
    churn_at = pd.Series(at.take(np.maximum(churn_row, 0)).array + window).where(churn_row >= 0)
    customers = orders["customer_id"].take(first_rows).reset_index(drop=True)
    units = units.drop(columns=["next_at", "repeated", "days"]).reset_index(drop=True)
    if not _same_ids(customers, units["customer_id"]):  # units in another order: look each customer up
        churn_at = lookup(units["customer_id"], customers, churn_at).reset_index(drop=True)
    units["churned"] = churn_at.notna().to_numpy()
    end = pd.Series(churn_at.array).where(units["churned"], eod)
    units["days"] = (end - units["first_at"]).dt.total_seconds() / 86400
    return units


def _same_ids(ids: pd.Series, other: pd.Series) -> bool:
    """True when two id columns hold the same ids in the same order."""
    if len(ids) != len(other):
        return False
    left, right = as_arrow_text(ids), as_arrow_text(other)
    if left is None or right is None:
        return bool(np.array_equal(ids.to_numpy(), other.to_numpy()))
    return left.equals(right)


def retention(data: Mapping, as_of: str | date | datetime, by: Sequence[str] = (),
              days: Sequence[int] = RETENTION_DAYS, cohorts: bool = True,
              churn_days: float = MONITOR_DEFAULTS["churn_days"], alpha: float = 0.05) -> RetentionResult:
    """Kaplan-Meier curves of days from first order to the next, censored at as_of.

    Curves for everyone and each segment of each ``by`` column (first order's or customer's
    value), and, with ``cohorts``, for each first-order month (everyone). Each curve is read at
    ``days`` up to its longest follow-up: ``survival`` is the share who have not ordered again by
    that day, with a pointwise 95% interval on the log(-log) scale (statsmodels' SurvfuncRight
    for the estimate and Greenwood's standard error); ``at_risk`` is the number still followed
    and not yet returned just before the day, ``events`` the returns since the previous day read.
    1 - survival at day 90 is the 90-day repeat rate; where nobody is censored before 90 days it
    equals ``repeat_purchase_rate``.

    ``churn`` holds the same for days from the first order to churn (:func:`churn_durations`,
    ``churn_days`` without an order), for everyone and each segment.
    """
    units = repeat_durations(data, as_of, by)
    if len(units) and not units["repeated"].astype(bool).any():
        raise InputError(f"none of the {len(units):,} customers has ordered a second time by {as_of}, so there is "
                         f"no curve of coming back to draw (a one-off purchase log, or ids that change with every "
                         f"order)")
    z = NormalDist().inv_cdf(1 - check_alpha(alpha) / 2)
    table, curves = _km_tables(units, "repeated", by, days, cohorts, z)
    lost = churn_durations(data, as_of, churn_days, by, units=units)
    # nobody churns before churn_days: the churn curve is read from there on, for a year
    read_at = [int(churn_days) + extra for extra in (0, 30, 90, 180, 365)]
    churn, churn_curves = _km_tables(lost, "churned", by, read_at, cohorts=False, z=z)
    return RetentionResult(table, curves=curves, churn=churn.assign(churn_days=churn_days),
                           churn_curves=churn_curves)


def _daily(curve: pd.DataFrame) -> pd.DataFrame:
    """The last step of each day of a step curve, for drawing: a million customers make a step
    at almost every distinct time, and a chart of them all weighed 37 MB in report 1's HTML;
    within a day the steps are far narrower than a pixel, so the drawing does not change."""
    day = np.floor(curve["day"].to_numpy(float))
    keep = np.r_[day[1:] != day[:-1], True]
    keep[0] = True  # the curve's start, (0, 1)
    return curve.loc[keep]


def _km_tables(units: pd.DataFrame, event: str, by: Sequence[str], days: Sequence[int], cohorts: bool,
               z: float = Z95):
    """Kaplan-Meier read at ``days`` (RETENTION_COLUMNS) and whole step curves, per group."""
    units = units.rename(columns={event: "repeated"})
    groups = [("all", "all", "all", units)]
    for column in by:
        groups += [("all", column, segment, g) for segment, g in units.groupby(column, sort=True)]
    if cohorts:
        groups += [(cohort, "all", "all", g) for cohort, g in units.groupby("cohort", sort=True)]
    rows, steps = [], []
    for cohort, segment_by, segment, group in groups:
        rows += _curve(group, days, cohort, segment_by, segment, z)
        if cohort == "all" and len(group) >= 2:
            steps.append(_steps(group, max(days), z).assign(segment_by=segment_by, segment=segment))
    curves = pd.concat(steps, ignore_index=True) if steps else pd.DataFrame(
        columns=["day", "survival", "ci_low", "ci_high", "customers", "segment_by", "segment"])
    return pd.DataFrame(rows, columns=RETENTION_COLUMNS), curves


def _steps(group: pd.DataFrame, last_day: float, z: float = Z95) -> pd.DataFrame:
    """The whole Kaplan-Meier step function of one group up to ``last_day``, with its band."""
    from statsmodels.duration.survfunc import SurvfuncRight

    fit = SurvfuncRight(group["days"].to_numpy(float), group["repeated"].to_numpy(int))
    keep = fit.surv_times <= min(last_day, group["days"].max())
    low, high = _loglog_bands(fit.surv_prob[keep], fit.surv_prob_se[keep], z)
    frame = pd.DataFrame({"day": np.r_[0.0, fit.surv_times[keep]], "survival": np.r_[1.0, fit.surv_prob[keep]],
                          "ci_low": np.r_[1.0, low], "ci_high": np.r_[1.0, high]})
    return frame.assign(customers=len(group))


def _curve(group: pd.DataFrame, days: Sequence[int], cohort: str, segment_by: str, segment: str,
           z: float = Z95) -> list[dict]:
    from statsmodels.duration.survfunc import SurvfuncRight

    durations = group["days"].to_numpy(float)
    events = group["repeated"].to_numpy(int)
    if len(durations) < 2:
        return []
    fit = SurvfuncRight(durations, events)
    times, survival, se = fit.surv_times, fit.surv_prob, fit.surv_prob_se
    rows, previous = [], 0.0
    for day in days:
        if day > durations.max():
            break
        index = np.searchsorted(times, day, side="right") - 1
        s = float(survival[index]) if index >= 0 else 1.0
        s_se = float(se[index]) if index >= 0 else 0.0
        low, high = _loglog_interval(s, s_se, z)
        rows.append({"cohort": cohort, "segment_by": segment_by, "segment": segment, "day": int(day),
                     "at_risk": int((durations >= day).sum()),
                     "events": int(((durations > previous) & (durations <= day) & (events == 1)).sum()),
                     "survival": s, "ci_low": low, "ci_high": high})
        previous = day
    return rows


def _loglog_bands(s: np.ndarray, se: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_loglog_interval` of every point of a curve at once (a curve has a step per
    distinct day: hundreds of thousands at a million customers)."""
    s, se = np.asarray(s, float), np.asarray(se, float)
    inside = (s < 1.0) & (s > 0.0) & np.isfinite(se) & (se != 0)
    safe = np.where(inside, s, 0.5)
    theta = np.log(-np.log(safe))
    spread = z * np.where(inside, se, 0.0) / (safe * np.abs(np.log(safe)))
    return (np.where(inside, np.exp(-np.exp(theta + spread)), s), np.where(inside, np.exp(-np.exp(theta - spread)), s))


def _loglog_interval(s: float, se: float, z: float = Z95) -> tuple[float, float]:
    """Pointwise interval (95% at the default z) of a survival probability on the log(-log) scale
    (it stays in 0..1)."""
    if s >= 1.0 or s <= 0.0 or not np.isfinite(se) or se == 0:
        return s, s
    theta = math.log(-math.log(s))
    spread = z * se / (s * abs(math.log(s)))
    # exp(-exp(.)) reverses order: the upper theta gives the lower survival
    return math.exp(-math.exp(theta + spread)), math.exp(-math.exp(theta - spread))
