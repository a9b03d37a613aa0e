"""Control-chart alerts: a p-chart for shares, limits from the earlier months' spread for means
and medians, per KPI x segment x month (``alerts.csv``).

Examples
--------
>>> monthly = gapkit.kpis(gapkit.datasets.sample(), "2025-06-30", by=["segment"], period="M")
>>> gapkit.monitor.alerts(monthly, "2025-06-30").table.head()
Empty DataFrame
Columns: [kpi, segment_by, segment, period, value, center, lower_limit, upper_limit, rule, direction, n, z]
Index: []
"""


import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from statistics import NormalDist
from typing import ClassVar

import numpy as np
import pandas as pd

from gapkit.config import MONITOR_DEFAULTS
from gapkit.contract.artifacts import columns as artifact_columns
from gapkit.contract.catalog import KPIS, MEDIAN, MIN_N, SHARE, Z95, clip
from gapkit.errors import ConfigError
from gapkit.measure.engine import OPEN_SHARE_LIMIT, end_of_day, unit_window
from gapkit.report.results import Result

ALERT_COLUMNS = [*artifact_columns("alerts.csv"), "n", "z"]

@dataclass(frozen=True, eq=False, repr=False)
class AlertResult(Result):
    """Months out of control (``table``, alerts.csv) and what was checked (``checked``)."""

    checked: int = 0
    series: int = 0
    limit_z: float = 3.0
    run_length: int = 8
    set_aside: pd.DataFrame | None = None  # exceptional baseline months left out of the limits
    title: ClassVar[str] = "Alerts"
    artifact: ClassVar[str] = "alerts.csv"
    kinds: ClassVar[dict] = {"value": "kpi", "center": "kpi", "lower_limit": "kpi", "upper_limit": "kpi",
                             "n": "count", "z": "number"}

    def summary(self) -> str:
        worse = int((self.table["direction"] == "worse").sum()) if len(self.table) else 0
        better = len(self.table) - worse
        rule = (f"{self.checked} KPI-segment-months checked in {self.series} series; each series' limits are "
                f"the prediction interval of its next month from its own earlier months (at least "
                f"{self.limit_z:.2f} sigma), and runs of {self.run_length} on one side: together they keep the "
                f"chance of any false alarm in this run near 5%")
        if self.checked == 0:
            return ("No month could be checked: a KPI needs a baseline of earlier months and recent months with "
                    "enough units before a month can be judged out of control.")
        aside = self.set_aside if self.set_aside is not None else pd.DataFrame()
        if len(aside):
            months = ", ".join(sorted(set(aside["period"].astype(str))))
            series = len(aside[["kpi", "segment_by", "segment"]].drop_duplicates())
            rule += (f". {len(aside)} exceptional baseline month(s) in {series} series ({months}) lay beyond the limits the other baseline "
                     f"months set and were left out of them, so that one extraordinary month neither hides a "
                     f"real change nor makes ordinary months look better (see set_aside)")
        if self.table.empty:
            return f"No month is out of control. {rule}."
        return f"{worse} month(s) out of control for the worse, {better} for the better. {rule}."

    def plot(self, ax=None, most: int = 12):
        """Each month out of control as its distance from the center in sigmas, the ``most``
        furthest, worse in red and better in green, with the limit marked."""
        import matplotlib.pyplot as plt

        from gapkit.report.formatting import label

        ax = ax or plt.gca()
        if self.table.empty:
            ax.set_title(self.summary().split(". ")[0], fontsize="medium")
            ax.set_axis_off()
            return ax
        shown = self.table.head(most).iloc[::-1]
        names = [f"{KPIS[k].label if k in KPIS else k}"
                 + ("" if b == "all" else f", {label(b)} {label(s)}") + f", {p}"
                 for k, b, s, p in zip(shown["kpi"], shown["segment_by"], shown["segment"], shown["period"])]
        colors = ["#c0392b" if d == "worse" else "#27ae60" for d in shown["direction"]]
        ax.barh(range(len(shown)), shown["z"].abs(), color=colors)
        ax.axvline(self.limit_z, color="black", ls="--", lw=1, label=f"limit ({self.limit_z:.2f} sigma)")
        ax.set_yticks(range(len(shown)), names, fontsize="small")
        ax.set_xlabel("distance from the usual level (sigmas); red: worse, green: better")
        ax.set_title(f"Months out of control (the {len(shown)} furthest)", fontsize="medium")
        ax.legend(loc="lower right", fontsize="small")
        return ax


def alerts(kpi_table: pd.DataFrame, as_of: str | date | datetime, rules: Mapping | None = None,
           params=None) -> AlertResult:
    """Control-chart alerts for every KPI x segment over its recent months.

    For each monthly series (``gapkit.kpis(..., period="M")``), the months before the last
    ``months`` (default 3) complete ones are the baseline (at least ``baseline_min_months``).
    Limits: shares on a p-chart (baseline rate, each month's own n); means and NPS from the
    baseline's unit-level spread (recovered from the intervals) over sqrt(n); medians from each
    month's own interval. Each is widened by how much more the baseline months vary than their n
    explains (see :func:`_month_sigmas`), so ordinary month-to-month swings are not alarms. Rules:
    (1) a point beyond the limits; (2) a run of points on one side of the center, ending in the
    recent months.

    A month is judged only once it and its KPI's window are over (``params``: the windows, e.g.
    repeat_days; a cohort month of repeat purchase waits its 90 days), and a median month only once
    its units are no longer too open, as the current level counts months.

    Many series are checked at once, so the limits widen with their number: with m points checked,
    a point is flagged beyond z = max(sigma, Phi^-1(1 - false_alarm / (2m))) and a run needs
    length L with 2 x 0.5^L <= false_alarm / m, which bounds the chance of any false alarm in a
    run near ``false_alarm`` (Bonferroni). Months with fewer units than an honest interval needs
    are not checked.
    """
    settings = {**MONITOR_DEFAULTS, **(rules or {})}
    unknown = set(settings) - set(MONITOR_DEFAULTS)
    if unknown:
        raise ConfigError(f"monitor: unknown rule(s) {sorted(unknown)}; known: {sorted(MONITOR_DEFAULTS)}")
    recent_months, minimum = int(settings["months"]), int(settings["baseline_min_months"])
    eod = end_of_day(as_of)
    monthly = kpi_table[(kpi_table["period"] != "all") & kpi_table["kpi"].isin(list(KPIS))].copy()
    # a month is judged once it and its KPI's window are over (a cohort's 90 days, a ticket's SLA),
    # as the current level counts it: a sliver cohort of the last weeks is no month to alarm on
    ends = pd.PeriodIndex(monthly["period"], freq="M").end_time.tz_localize("UTC")
    waits = pd.to_timedelta(monthly["kpi"].map(lambda k: unit_window(k, params)).to_numpy())
    monthly = monthly[np.asarray(ends + waits <= pd.Timestamp(eod))]
    monthly = _settled_medians(monthly, eod)
    if monthly.empty:
        return AlertResult(pd.DataFrame(columns=ALERT_COLUMNS))
    # the months checked are the same calendar months for every series: a sparse segment's
    # last points may be a year old, and an alert about them would not be news
    first_checked = str(pd.Period(max(monthly["period"]), freq="M") - (recent_months - 1))
    aside: list[dict] = []
    charts = _charts(monthly, first_checked, minimum, aside)
    checked = sum(len(c[4]) for c in charts)
    alpha = float(settings["false_alarm"])
    z = max(float(settings["sigma"]), NormalDist().inv_cdf(1 - alpha / (2 * max(checked, 1))))
    run_length = max(8, math.ceil(math.log2(2 * max(checked, 1) / alpha)))
    rows = []
    tail = 2 * NormalDist().cdf(-z)  # the chance of a point beyond the limits when in control
    for kpi_id, by, segment, series, recent, center, spread, kind in charts:
        sigma, spread_factor, limit = _month_sigmas(series, len(series) - len(recent), center, spread, kind, z,
                                                     alpha / (2 * max(checked, 1)))
        deviation = (series["value"].to_numpy(float) - center) / sigma
        side = np.sign(deviation)
        for position in range(len(series) - len(recent), len(series)):
            rule = _broken_rule(series.iloc[position], deviation, side, position, limit, z, run_length, tail,
                                center, kind)
            if rule is None:
                continue
            month = series.iloc[position]
            higher = deviation[position] > 0
            worse = higher != (KPIS[kpi_id].better == "higher")
            low = clip(center - limit * sigma[position], kpi_id)
            high = clip(center + limit * sigma[position], kpi_id)
            rows.append({"kpi": kpi_id, "segment_by": by, "segment": segment, "period": month["period"],
                         "value": month["value"], "center": center, "lower_limit": low, "upper_limit": high,
                         "rule": rule, "direction": "worse" if worse else "better", "n": int(month["n"]),
                         "z": float(deviation[position])})
    table = pd.DataFrame(rows, columns=ALERT_COLUMNS)
    # what a manager acts on first: the months gone worse, the furthest out first
    table = (table.assign(_worse=table["direction"].ne("worse"), _far=-table["z"].abs())
             .sort_values(["_worse", "_far", "kpi", "segment_by", "segment", "period"], kind="stable")
             .drop(columns=["_worse", "_far"]).reset_index(drop=True))
    set_aside = pd.DataFrame(aside, columns=["kpi", "segment_by", "segment", "period", "value", "center", "z"])
    return AlertResult(table, checked=checked, series=len(charts), limit_z=z, run_length=run_length,
                       set_aside=set_aside)


def _charts(monthly: pd.DataFrame, first_checked: str, minimum: int, aside: list) -> list[tuple]:
    """One control chart per KPI x segment with enough baseline months: its series, the recent
    months to check, and the baseline's center and unit-level spread. Exceptional baseline
    months are appended to ``aside`` and left out (:func:`_exceptional_months`)."""
    charts = []
    for (kpi_id, by, segment), series in monthly.groupby(["kpi", "segment_by", "segment"], sort=True):
        series = series.sort_values("period")
        kind = KPIS[kpi_id].kind
        series = series[series["n"] >= MIN_N[kind]]
        if len(series) < minimum + 1:
            continue
        series = series.reset_index(drop=True)
        baseline, recent = series[series["period"] < first_checked], series[series["period"] >= first_checked]
        if len(baseline) < minimum or recent.empty:
            continue
        exceptional = _exceptional_months(baseline, kind)
        if len(exceptional):
            aside.extend({"kpi": kpi_id, "segment_by": by, "segment": segment, **row} for row in exceptional)
            series = series[~series["period"].isin([row["period"] for row in exceptional])].reset_index(drop=True)
            baseline = series[series["period"] < first_checked]
        center, spread = _limits_basis(baseline, kind)
        if not np.isfinite(center) or not np.isfinite(spread) or spread <= 0:
            continue
        charts.append((kpi_id, by, segment, series, recent, center, spread, kind))
    return charts


def _exceptional_months(baseline: pd.DataFrame, kind: str, false_alarm: float = 0.01) -> list[dict]:
    """Baseline months beyond the prediction limit the other baseline months set (a blizzard,
    an outage), most extreme first, at most a quarter of them: Phase I of a control chart.

    Left in, such a month inflates the spread the limits are drawn from and drags the center,
    so a real change afterwards goes unseen (a csat drop of eight sampling errors was caught in
    50% of runs, 0% with one such month in the baseline) and ordinary months read "better".
    Each candidate is judged by its leave-one-out prediction limit, Student's t on the other
    months' degrees of freedom at a Bonferroni level over the baseline's months.
    """
    found, kept = [], baseline.reset_index(drop=True)
    with np.errstate(divide="ignore", invalid="ignore"):  # a median month of zero width has no error
        for _ in range(len(baseline) // 4):
            if not _set_aside_one(kept, kind, false_alarm, found):
                break
            kept = kept[kept["period"] != found[-1]["period"]].reset_index(drop=True)
    return found


def _set_aside_one(kept: pd.DataFrame, kind: str, false_alarm: float, found: list) -> bool:
    """Append the month of ``kept`` furthest from the center to ``found`` if the other months'
    prediction limit excludes it; whether one was."""
    from scipy import stats

    k = len(kept)
    center, spread = _limits_basis(kept, kind)
    if k < 5 or not np.isfinite(center) or not np.isfinite(spread) or spread <= 0:
        return False
    full, _, _ = _month_sigmas(kept, k, center, spread, kind, 3.0, 0.0)
    distance = np.abs(kept["value"].to_numpy(float) - center) / full
    if not np.isfinite(distance).any():
        return False
    worst = int(np.nanargmax(distance))
    others = kept.drop(index=worst)
    center, spread = _limits_basis(others, kind)
    order = pd.concat([others, kept.iloc[[worst]]], ignore_index=True)
    sigma, _, _ = _month_sigmas(order, k - 1, center, spread, kind, 3.0, 0.0)
    z = (float(kept["value"].iloc[worst]) - center) / sigma[-1]
    if not np.isfinite(z) or abs(z) <= stats.t.ppf(1 - false_alarm / (2 * k), k - 2):
        return False
    found.append({"period": kept["period"].iloc[worst], "value": float(kept["value"].iloc[worst]),
                  "center": center, "z": z})
    return True


def _broken_rule(month, deviation, side, position: int, limit: float, z: float, run_length: int, tail: float,
                 center: float, kind: str) -> str | None:
    """The rule a month breaks (beyond the limits, or the end of a run on one side), or None."""
    if kind == SHARE and month["n"] * center * (1 - center) < 10:
        # a p-chart's normal limits fail for rare events at small n (3 of 15 against 4%):
        # the point's exact binomial tail is held to the limits' tail probability instead
        beyond = _binomial_tail(month["value"], month["n"], center) < tail
    else:
        beyond = bool(np.isfinite(deviation[position]) and abs(deviation[position]) > limit)
    if beyond:
        return f"beyond {z:.2f} sigma"
    start = position - run_length + 1
    if start >= 0 and side[position] != 0 and (side[start:position + 1] == side[position]).all():
        return f"{run_length} in a row on one side"
    return None


def _binomial_tail(value: float, n: float, rate: float) -> float:
    """Two-sided exact binomial tail of ``value`` x ``n`` successes in ``n`` at ``rate``."""
    from scipy import stats

    k, n = int(round(value * n)), int(n)
    return float(min(1.0, 2 * min(stats.binom.cdf(k, n, rate), stats.binom.sf(k - 1, n, rate))))


def _limits_basis(baseline: pd.DataFrame, kind: str) -> tuple[float, float]:
    """(center, spread): spread is the unit-level SD (shares, means, NPS) or the SD of a month (medians)."""
    n = baseline["n"].to_numpy(float)
    values = baseline["value"].to_numpy(float)
    if kind == SHARE:
        center = float(np.average(values, weights=n))
        return center, math.sqrt(center * (1 - center))
    if kind == MEDIAN:  # each month's own interval gives its error (see _month_sigmas)
        return float(np.median(values)), 1.0
    center = float(np.average(values, weights=n))
    half = (baseline["ci_high"].to_numpy(float) - baseline["ci_low"].to_numpy(float)) / 2
    unit_sd = half / Z95 * np.sqrt(n)  # normal approximation; NPS on its -100..100 scale
    return center, float(np.sqrt(np.average(unit_sd ** 2, weights=n)))


def _settled_medians(monthly: pd.DataFrame, eod) -> pd.DataFrame:
    """Median months whose units are still too open to judge left out, as the current level
    leaves them out (:func:`gapkit.baseline._excess_open_share`): the quick ones have finished,
    the slow ones not yet, and the month's median reads low ("better") until they do."""
    if "open_share" not in monthly or monthly["open_share"].isna().all():
        return monthly
    from gapkit.measure.baseline import _excess_open_share

    keep = pd.Series(True, index=monthly.index)
    medians = monthly[monthly["kpi"].map(lambda k: KPIS[k].kind == MEDIAN)]
    for _, series in medians.groupby(["kpi", "segment_by", "segment"], sort=False):
        if series["open_share"].notna().any():
            keep[series.index] = ~(_excess_open_share(series, eod) > OPEN_SHARE_LIMIT).to_numpy()
    return monthly[keep]


def _month_sigmas(series: pd.DataFrame, baseline_months: int, center: float, spread: float, kind: str, z: float,
                  tail: float) -> tuple[np.ndarray, float, float]:
    """Each month's sigma, the factor its sampling error was widened by, and the limit in sigmas.

    A month's sampling error (shares and means from its n, a median from its own interval) is
    scaled by how much the baseline months actually vary around the center relative to their n
    (a Laney-type factor: the variance of the baseline's standardized deviations), so that
    month-to-month swings a process always has are not read as alarms, and by the center's own
    uncertainty (1 + 1/k). The factor is read off k baseline months, so the limit is Student's t
    with k - 1 degrees of freedom at the Bonferroni tail instead of the normal z: a prediction
    interval for the next month. With fewer than 3 usable baseline months, the sampling error
    and z alone.
    """
    from scipy import stats

    if kind == MEDIAN:
        errors = ((series["ci_high"] - series["ci_low"]).to_numpy(float) / (2 * Z95))
        errors = np.where(errors > 0, errors, np.nan)
    else:
        errors = spread / np.sqrt(series["n"].to_numpy(float))
    standardized = (series["value"].to_numpy(float)[:baseline_months] - center) / errors[:baseline_months]
    standardized = standardized[np.isfinite(standardized)]
    factor, limit = 1.0, z
    if len(standardized) >= 3:
        # the months' own spread, sampling and swings together, with Student's t on k - 1 degrees
        # of freedom: the prediction interval of the next month, calibrated whether or not the
        # process swings (normal limits on the sampling error alone cried wolf in 73% of runs)
        # floored at a quarter of the sampling variance: a baseline that did not move at all (a
        # median stuck on one value) must not make every later change an infinite alarm
        factor = max(float(np.var(standardized, ddof=1)), 0.25)
        limit = float(stats.t.ppf(1 - tail, len(standardized) - 1))
    # the center is itself an estimate from the baseline: a new month's deviation from it varies
    # by (1 + 1/k) times a month's own variance (a prediction interval)
    widen = math.sqrt(factor * (1 + 1 / max(len(standardized), 1)))
    return errors * widen, factor, limit
