"""Monitoring across runs: the KPI history, control-chart alerts and retention curves.

- :func:`append_history` / :func:`history`: each ``gapkit run`` adds its KPI table to
  ``history.parquet`` beside the report folders (one run per as_of: a re-run replaces it), so
  revisions of past months (late surveys, tickets closed later) show when runs are compared.
- :func:`alerts`: Shewhart control charts per KPI x segment x month (``alerts.csv``).
- :func:`retention`: Kaplan-Meier curves of the time from a customer's first order to the
  next, right-censored at as_of (``retention.csv``).

Examples
--------
>>> data = gapkit.load("data/sample")
>>> monthly = gapkit.kpis(data, "2025-06-30", by=["segment"], period="M")
>>> gapkit.monitor.alerts(monthly, "2025-06-30").table.head()
>>> gapkit.monitor.retention(data, "2025-06-30", by=["segment"]).table.head()
"""

from __future__ import annotations

import math
import textwrap
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from statistics import NormalDist
from typing import ClassVar

import numpy as np
import pandas as pd

from gapkit.artifacts import columns as artifact_columns
from gapkit.errors import ConfigError, InputError
from gapkit.kpi_catalog import KPIS, MEDIAN, MIN_N, SHARE, Z95, clip
from gapkit.measure import KPI_COLUMNS, OPEN_SHARE_LIMIT, end_of_day, segment_labels, unit_window
from gapkit.results import Result

HISTORY = "history.parquet"
ALERT_COLUMNS = [*artifact_columns("alerts.csv"), "n", "z"]
RETENTION_COLUMNS = list(artifact_columns("retention.csv"))
RETENTION_DAYS = (7, 14, 30, 60, 90, 120, 180, 270, 365)

#: Defaults of the config's ``monitor`` rules.
MONITOR_DEFAULTS = {"months": 3, "baseline_min_months": 6, "false_alarm": 0.05, "sigma": 3.0, "churn_days": 180}


# --- history ----------------------------------------------------------------------------------

def history_path(report_folder: str | Path) -> Path:
    """Where the history of a report folder lives: ``history.parquet`` beside it."""
    return Path(report_folder).resolve().parent / HISTORY


def append_history(kpi_table: pd.DataFrame, as_of: str, path: str | Path) -> pd.DataFrame:
    """Add one run's KPI table to the history at ``path``; a run with the same as_of is replaced.

    Returns the whole history. Runs sharing the file append one at a time (a file lock), and
    the file is written to a temporary name and renamed, so a killed run cannot leave half a file.
    """
    from gapkit.report_folder import history_lock

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with history_lock(path):
        combined, temporary = write_history_aside(kpi_table, as_of, path)
        temporary.replace(path)
    return combined


def write_history_aside(kpi_table: pd.DataFrame, as_of: str, path: Path) -> tuple[pd.DataFrame, Path]:
    """The history at ``path`` with this run added, and a temporary file beside it holding it.

    Call under :func:`gapkit.report_folder.history_lock`; renaming the file over ``path`` is the
    caller's step (``gapkit run`` does it together with publishing the report).
    """
    run = kpi_table[[c for c in KPI_COLUMNS if c in kpi_table.columns]].copy()
    run["as_of"] = str(pd.Timestamp(as_of).date())
    run["run_id"] = uuid.uuid4().hex[:12]
    past = history(path)
    if len(past):
        past = past[past["as_of"] != run["as_of"].iloc[0]] if len(run) else past
    combined = pd.concat([past, run], ignore_index=True) if len(past) else run
    combined = combined.sort_values(["as_of", "kpi", "segment_by", "segment", "period"], kind="stable")
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    try:
        combined.to_parquet(temporary, index=False)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return combined.reset_index(drop=True), temporary


def history(path: str | Path) -> pd.DataFrame:
    """The KPI history: the kpis.csv columns plus ``as_of`` and ``run_id``, one block per run.

    ``path`` is ``history.parquet`` or the folder holding it; no history yet gives an empty table.

    Examples
    --------
    >>> gapkit.history("reports")
    """
    path = Path(path)
    if path.is_dir():
        path = path / HISTORY
    if not path.exists():
        return pd.DataFrame(columns=[*KPI_COLUMNS, "as_of", "run_id"])
    try:
        return pd.read_parquet(path)
    except Exception as error:  # pyarrow raises several kinds for a damaged file
        raise InputError(f"{path}: the run history cannot be read ({type(error).__name__}); move it aside and "
                         f"the next run starts a new one") from None


def revisions(past: pd.DataFrame, kpi_table: pd.DataFrame, as_of: str,
              kpis: Sequence[str] | None = None) -> pd.DataFrame:
    """Each headline KPI's monthly values as each past run saw them, beside this run's.

    One row per kpi x month (everyone), a column per run's as_of, and ``revised`` (the largest
    absolute change between runs): late surveys or tickets closed later move past months.
    """
    now = kpi_table.assign(as_of=str(pd.Timestamp(as_of).date()))
    frames = [past[past["as_of"] != now["as_of"].iloc[0]], now] if len(past) else [now]
    combined = pd.concat(frames, ignore_index=True)
    combined = combined[(combined["segment_by"] == "all") & (combined["period"] != "all")]
    if kpis is not None:
        combined = combined[combined["kpi"].isin(list(kpis))]
    wide = combined.pivot_table(index=["kpi", "period"], columns="as_of", values="value", aggfunc="first")
    wide.columns = [f"as of {c}" for c in wide.columns]
    wide["revised"] = wide.max(axis=1) - wide.min(axis=1)
    return wide.reset_index()


def show_revisions(changed: pd.DataFrame, months: int = 4):
    """The last ``months`` of each KPI of :func:`revisions`, formatted: each run's column in the
    KPI's own units, ``revised`` as a difference."""
    from gapkit import formatting

    runs = {column: "kpi" for column in changed.columns if column.startswith("as of")}
    recent = changed.sort_values(["kpi", "period"]).groupby("kpi").tail(months)
    return formatting.table(recent, {**runs, "revised": "gap"})


# --- alerts -----------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False, repr=False)
class AlertResult(Result):
    """Months out of control (``table``, alerts.csv) and what was checked (``checked``)."""

    checked: int = 0
    series: int = 0
    limit_z: float = 3.0
    run_length: int = 8
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
        if self.table.empty:
            return f"No month is out of control. {rule}."
        return f"{worse} month(s) out of control for the worse, {better} for the better. {rule}."

    def plot(self, ax=None, most: int = 12):
        """Each month out of control as its distance from the center in sigmas, the ``most``
        furthest, worse in red and better in green, with the limit marked."""
        import matplotlib.pyplot as plt

        from gapkit.formatting import label

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
        center, spread = _limits_basis(baseline, kind)
        if not np.isfinite(center) or not np.isfinite(spread) or spread <= 0:
            continue
        charts.append((kpi_id, by, segment, series, recent, center, spread, kind))
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
            month = series.iloc[position]
            rule = None
            if kind == SHARE and month["n"] * center * (1 - center) < 10:
                # a p-chart's normal limits fail for rare events at small n (3 of 15 against 4%):
                # the point's exact binomial tail is held to the limits' tail probability instead
                beyond = _binomial_tail(month["value"], month["n"], center) < tail
            else:
                beyond = bool(np.isfinite(deviation[position]) and abs(deviation[position]) > limit)
            if beyond:
                rule = f"beyond {z:.2f} sigma"
            else:
                start = position - run_length + 1
                if start >= 0 and side[position] != 0 and (side[start:position + 1] == side[position]).all():
                    rule = f"{run_length} in a row on one side"
            if rule is None:
                continue
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
    return AlertResult(table, checked=checked, series=len(charts), limit_z=z, run_length=run_length)


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
    from gapkit.baseline import _excess_open_share

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


# --- retention --------------------------------------------------------------------------------

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

        from gapkit.formatting import label

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
    orders = data["orders"][["order_id", "customer_id", "ordered_at"]]
    orders = orders[orders["ordered_at"] <= eod].sort_values(["customer_id", "ordered_at", "order_id"], kind="stable")
    first = orders.drop_duplicates("customer_id")
    later = orders.merge(first[["customer_id", "ordered_at"]].rename(columns={"ordered_at": "first_at"}),
                         on="customer_id")
    later = later[later["ordered_at"] > later["first_at"]].groupby("customer_id")["ordered_at"].min()
    out = first.rename(columns={"ordered_at": "first_at", "order_id": "first_order_id"}).set_index("customer_id")
    out["next_at"] = later
    out["repeated"] = out["next_at"].notna()
    end = out["next_at"].where(out["repeated"], eod)
    out["days"] = (end - out["first_at"]).dt.total_seconds() / 86400
    out["cohort"] = out["first_at"].dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("M").astype(str)
    out = out.reset_index()
    for column in by:
        source = data["orders"] if column in data["orders"].columns else data.get("customers")
        if source is None or column not in source.columns:
            raise ConfigError(f"retention by {column!r}: no such column in orders or customers")
        key = "order_id" if source is data["orders"] else "customer_id"
        left = "first_order_id" if key == "order_id" else "customer_id"
        values = source.drop_duplicates(key).set_index(key)[column]
        out[column] = segment_labels(out[left].map(values))
    return out


def churn_durations(data: Mapping, as_of: str | date | datetime, churn_days: float,
                    by: Sequence[str] = ()) -> pd.DataFrame:
    """One row per customer: days from the first order to churn, or to as_of (censored).

    A customer churns ``churn_days`` after an order not followed by another within ``churn_days``
    (the moment the silence becomes long enough to call); ``churned`` says whether that moment
    came by as_of. Columns as :func:`repeat_durations`, with ``churned`` for ``repeated``.
    """
    units = repeat_durations(data, as_of, by)
    eod = pd.Timestamp(end_of_day(as_of))
    window = pd.Timedelta(days=churn_days)
    orders = data["orders"][["customer_id", "ordered_at"]]
    orders = orders[orders["ordered_at"] <= eod].sort_values(["customer_id", "ordered_at"], kind="stable")
    following = orders.groupby("customer_id")["ordered_at"].shift(-1)
    # the silence after each order: until the next order, or until as_of after the last one
    silent = (following.fillna(eod) - orders["ordered_at"]) > window
    churn_at = (orders.loc[silent, "ordered_at"] + window).groupby(orders.loc[silent, "customer_id"]).min()
    units = units.drop(columns=["next_at", "repeated", "days"]).set_index("customer_id")
    units["churned"] = churn_at.reindex(units.index).notna()
    end = churn_at.reindex(units.index).where(units["churned"], eod)
    units["days"] = (end - units["first_at"]).dt.total_seconds() / 86400
    return units.reset_index()


def retention(data: Mapping, as_of: str | date | datetime, by: Sequence[str] = (),
              days: Sequence[int] = RETENTION_DAYS, cohorts: bool = True,
              churn_days: float = MONITOR_DEFAULTS["churn_days"]) -> RetentionResult:
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
    table, curves = _km_tables(units, "repeated", by, days, cohorts)
    lost = churn_durations(data, as_of, churn_days, by)
    # nobody churns before churn_days: the churn curve is read from there on, for a year
    read_at = [int(churn_days) + extra for extra in (0, 30, 90, 180, 365)]
    churn, churn_curves = _km_tables(lost, "churned", by, read_at, cohorts=False)
    return RetentionResult(table, curves=curves, churn=churn.assign(churn_days=churn_days),
                           churn_curves=churn_curves)


def _km_tables(units: pd.DataFrame, event: str, by: Sequence[str], days: Sequence[int], cohorts: bool):
    """Kaplan-Meier read at ``days`` (RETENTION_COLUMNS) and whole step curves, per group."""
    units = units.rename(columns={event: "repeated"})
    groups = [("all", "all", "all", units)]
    for column in by:
        groups += [("all", column, segment, g) for segment, g in units.groupby(column, sort=True)]
    if cohorts:
        groups += [(cohort, "all", "all", g) for cohort, g in units.groupby("cohort", sort=True)]
    rows, steps = [], []
    for cohort, segment_by, segment, group in groups:
        rows += _curve(group, days, cohort, segment_by, segment)
        if cohort == "all" and len(group) >= 2:
            steps.append(_steps(group, max(days)).assign(segment_by=segment_by, segment=segment))
    curves = pd.concat(steps, ignore_index=True) if steps else pd.DataFrame(
        columns=["day", "survival", "ci_low", "ci_high", "customers", "segment_by", "segment"])
    return pd.DataFrame(rows, columns=RETENTION_COLUMNS), curves


def _steps(group: pd.DataFrame, last_day: float) -> pd.DataFrame:
    """The whole Kaplan-Meier step function of one group up to ``last_day``, with its band."""
    from statsmodels.duration.survfunc import SurvfuncRight

    fit = SurvfuncRight(group["days"].to_numpy(float), group["repeated"].to_numpy(int))
    keep = fit.surv_times <= min(last_day, group["days"].max())
    bands = [_loglog_interval(s, e) for s, e in zip(fit.surv_prob[keep], fit.surv_prob_se[keep])]
    frame = pd.DataFrame({"day": np.r_[0.0, fit.surv_times[keep]], "survival": np.r_[1.0, fit.surv_prob[keep]],
                          "ci_low": np.r_[1.0, [b[0] for b in bands]], "ci_high": np.r_[1.0, [b[1] for b in bands]]})
    return frame.assign(customers=len(group))


def _curve(group: pd.DataFrame, days: Sequence[int], cohort: str, segment_by: str, segment: str) -> list[dict]:
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
        low, high = _loglog_interval(s, s_se)
        rows.append({"cohort": cohort, "segment_by": segment_by, "segment": segment, "day": int(day),
                     "at_risk": int((durations >= day).sum()),
                     "events": int(((durations > previous) & (durations <= day) & (events == 1)).sum()),
                     "survival": s, "ci_low": low, "ci_high": high})
        previous = day
    return rows


def _loglog_interval(s: float, se: float) -> tuple[float, float]:
    """Pointwise 95% interval of a survival probability on the log(-log) scale (stays in 0..1)."""
    if s >= 1.0 or s <= 0.0 or not np.isfinite(se) or se == 0:
        return s, s
    theta = math.log(-math.log(s))
    spread = Z95 * se / (s * abs(math.log(s)))
    # exp(-exp(.)) reverses order: the upper theta gives the lower survival
    return math.exp(-math.exp(theta + spread)), math.exp(-math.exp(theta - spread))


