"""Desired state: targets (given or proposed) and SMART checks made with numbers.

Each goal's five letters get pass / warn / fail with a reason in words and numbers:

- Specific: the KPI exists, the segment exists in the data; one metric, one population.
- Measurable: a baseline with enough n, and a power calculation (statsmodels) of whether the
  change to the target can be detected by the deadline at the expected volume.
- Attainable: the monthly change needed against the historical trend (OLS slope of the monthly
  series, with CI) and against what the best segment or month already achieves.
- Relevant: the KPI is an outcome, or the driver analysis links it to one.
- Time-bound: the deadline is after as_of and within a sane horizon; milestones are produced.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from gapkit.artifacts import columns as artifact_columns
from gapkit.config import Goal
from gapkit.errors import ConfigError
from gapkit.kpi_catalog import CATALOG, KPIS, MIN_N, NPS, SHARE, Z95, clip
from gapkit.results import Result

OUTCOME_KPIS = tuple(k.id for k in CATALOG if k.outcome)  # read from the catalog
HORIZON_MONTHS = 24
ENOUGH_N = 30
PASS, WARN, FAIL = "pass", "warn", "fail"
LETTERS = ["specific", "measurable", "attainable", "relevant", "time_bound"]
GOAL_COLUMNS = [*artifact_columns("goals.csv"), "baseline_n", "baseline_window",
                *(f"{letter}_reason" for letter in LETTERS)]


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
    """OLS slope per month of a monthly KPI series (weighted by n), with its 95% CI."""

    slope: float
    ci_low: float
    ci_high: float
    months: int


def trend(series: pd.DataFrame) -> Trend | None:
    """Slope of ``value`` over months, weighted by each month's n; None below 4 months."""
    series = series.dropna(subset=["value"])
    if len(series) < 4:
        return None
    month = pd.PeriodIndex(series["period"], freq="M")
    t = np.asarray((month - month.min()).map(lambda d: d.n), dtype=float)
    fit = sm.WLS(series["value"].to_numpy(float), sm.add_constant(t), weights=series["n"].to_numpy(float)).fit()
    low, high = fit.conf_int(0.05)[1]
    return Trend(float(fit.params[1]), float(low), float(high), len(series))


def standard_deviation(row: pd.Series, kind: str) -> float:
    """Unit-level spread implied by a KPI row (from its CI for t/normal intervals).

    For a mean or NPS, the units' standard deviation; for a median, sqrt(n) x the standard
    error of the sample median (1.2533 sd for normal data), so that a power calculation on
    medians needs the n a median needs, not the smaller n of a mean.
    """
    n, value = float(row["n"]), float(row["value"])
    if kind == SHARE:
        return float(np.sqrt(value * (1 - value)))
    low, high = float(row["ci_low"]), float(row["ci_high"])
    # an interval held inside the scale is cut on one side only: the other side is the half-width
    half = max(high - value, value - low) if kind in ("mean", NPS) else (high - low) / 2
    if not np.isfinite(half) or n < 2:
        return float("nan")
    # t for means, normal for NPS; a median's order-statistic interval is close to normal
    # theory with SE = 1.2533 sd / sqrt(n), an approximation we state in the reason
    from scipy import stats

    if kind == "mean":
        return half / stats.t.ppf(0.975, n - 1) * np.sqrt(n)
    if kind == NPS:
        return half / Z95 * np.sqrt(n)
    # a median: the spread of the sample median times sqrt(n), i.e. 1.2533 sd under normality;
    # comparing medians, this (not sd) is what the standardized effect divides by
    return half / Z95 * np.sqrt(n)


def detectable(baseline: pd.Series, target: float, kind: str, volume: float) -> tuple[float, float]:
    """Power to tell ``target`` from the baseline with ``volume`` new units, and the n for 80%."""
    if kind == SHARE:
        effect = abs(proportion_effectsize(min(max(target, 1e-6), 1 - 1e-6), float(baseline["value"])))
    else:
        sd = standard_deviation(baseline, kind)
        effect = abs(target - float(baseline["value"])) / sd if sd and np.isfinite(sd) else float("nan")
    if not np.isfinite(effect) or effect == 0 or volume < 2:
        return float("nan"), float("nan")
    analysis = NormalIndPower()
    ratio = float(baseline["n"]) / volume
    power = analysis.power(effect_size=effect, nobs1=volume, alpha=0.05, ratio=ratio, alternative="larger")
    needed = analysis.solve_power(effect_size=effect, nobs1=None, alpha=0.05, power=0.8, ratio=ratio,
                                  alternative="larger")
    return float(power), float(needed)


def _fmt(value: float, kpi: str) -> str:
    return f"{value:.3f}" if KPIS[kpi].unit == "share" else f"{value:.3g}"


def check(
    goal: Goal,
    kpi_table: pd.DataFrame,
    as_of: str,
    drivers: pd.DataFrame | None = None,
    current: pd.DataFrame | None = None,
) -> dict:
    """SMART-check one goal against a monthly ``gapkit.kpis`` table (with ``period="M"``).

    The baseline is the goal's current level from ``current`` (:func:`gapkit.baseline.current_levels`,
    the recent complete months) when given, else the pooled history; trends use the months.

    Examples
    --------
    >>> table = gapkit.kpis(data, as_of="2025-06-30", by=["segment"], period="M")
    >>> gapkit.goals.check(config.goals[0], table, as_of="2025-06-30")
    """
    kpi = KPIS[goal.kpi]
    better = 1 if kpi.better == "higher" else -1
    reasons: dict[str, str] = {}
    verdict: dict[str, str] = {}
    base = baseline_row(kpi_table, goal, current)
    series = monthly_series(kpi_table, goal)
    months_left = months_between(as_of, goal.deadline)

    # Specific
    if base is None:
        present = kpi_table.loc[kpi_table["kpi"] == goal.kpi, "segment_by"].unique().tolist()
        verdict["specific"] = FAIL
        where = f"segment {goal.segment_by}={goal.segment}" if goal.segment_by != "all" else "everyone"
        reasons["specific"] = (
            f"no {goal.kpi} data for {where} at {as_of} (segmentations present: {present})"
        )
    else:
        verdict["specific"] = PASS
        reasons["specific"] = f"one KPI ({goal.kpi}) for one population ({goal.segment_by}={goal.segment})"

    # Measurable
    volume = float(series["n"].tail(3).mean()) * max(months_left, 0) if len(series) else 0.0
    met = base is not None and np.isfinite(float(base["value"])) and better * (float(base["value"]) - goal.target) >= 0
    if base is None or base["n"] < MIN_N[kpi.kind]:
        verdict["measurable"] = FAIL
        reasons["measurable"] = "no baseline can be computed (too few units)"
    elif met:
        verdict["measurable"] = PASS if base["n"] >= ENOUGH_N else WARN
        reasons["measurable"] = (f"already met: baseline {_fmt(base['value'], goal.kpi)} (n={int(base['n'])}) is at "
                                 f"or past the target; what is measured now is that it holds")
    else:
        power, needed = detectable(base, goal.target, kpi.kind, volume)
        monthly = float(series["n"].tail(3).mean()) if len(series) else 0.0
        if not np.isfinite(power):
            verdict["measurable"] = WARN if base["n"] >= ENOUGH_N else FAIL
            reasons["measurable"] = (f"baseline n={int(base['n'])}; power not computable (target equals baseline "
                                     f"or no volume)")
        else:
            need_months = needed / monthly if monthly > 0 else float("inf")
            verdict["measurable"] = PASS if power >= 0.8 else WARN if power >= 0.5 else FAIL
            reasons["measurable"] = (
                f"baseline {_fmt(base['value'], goal.kpi)} (n={int(base['n'])}); ~{volume:.0f} units by the deadline "
                f"give {power:.0%} power to detect the change; 80% needs ~{needed:.0f} units "
                f"(~{need_months:.1f} months at {monthly:.0f}/month)"
            )
            if base["n"] < ENOUGH_N:
                verdict["measurable"] = WARN if verdict["measurable"] == PASS else verdict["measurable"]

    # Attainable
    if base is None:
        verdict["attainable"] = FAIL
        reasons["attainable"] = "no baseline"
    elif months_left <= 0:
        verdict["attainable"] = WARN
        reasons["attainable"] = "no pace to judge: the deadline has passed"
    else:
        needed_change = (goal.target - float(base["value"])) / max(months_left, 1e-9)
        fitted = trend(series)
        peers = kpi_table[(kpi_table["kpi"] == goal.kpi) & (kpi_table["period"] == "all")
                          & (kpi_table["n"] >= ENOUGH_N)]
        months = kpi_table[(kpi_table["kpi"] == goal.kpi) & (kpi_table["period"] != "all")
                           & (kpi_table["n"] >= ENOUGH_N)]
        best_segment = better * (better * peers["value"]).max() if len(peers) else float("nan")
        best_month = better * (better * months["value"]).max() if len(months) else float("nan")
        best_seen = np.nanmax([better * best_segment, better * best_month]) * better
        beyond = better * (goal.target - best_seen) > 0 if np.isfinite(best_seen) else False
        impossible = kpi.unit == "share" and not 0 <= goal.target <= 1
        already = better * (float(base["value"]) - goal.target) >= 0
        trend_words = (
            f"trend {fitted.slope:+.4g}/month (95% CI {fitted.ci_low:+.4g} to {fitted.ci_high:+.4g}, "
            f"{fitted.months} months)" if fitted else "too few months for a trend"
        )
        fastest = better * (fitted.ci_high if better > 0 else fitted.ci_low) if fitted else float("nan")
        too_fast = (better * needed_change > 0) and (
            not np.isfinite(fastest) or fastest <= 0 or better * needed_change > 2 * fastest
        )
        if impossible:
            verdict["attainable"] = FAIL
            detail = f"a share cannot reach {goal.target}"
        elif already:
            verdict["attainable"] = PASS
            detail = "already at or past the target; milestones hold today's level"
        elif beyond and too_fast:
            verdict["attainable"] = FAIL
            detail = "beyond anything seen in any segment or month, and far faster than any observed trend"
        elif beyond or too_fast:
            verdict["attainable"] = WARN
            detail = "beyond the best seen" if beyond else "faster than the observed trend"
        else:
            verdict["attainable"] = PASS
            detail = "within what the best segment or month achieves at a plausible pace"
        pace = (f"needs {needed_change:+.4g}/month over {months_left:.1f} months; " if not already else "")
        reasons["attainable"] = (
            f"{detail}: {pace}{trend_words}; "
            f"best segment {_fmt(best_segment, goal.kpi) if np.isfinite(best_segment) else 'n/a'}, "
            f"best month {_fmt(best_month, goal.kpi) if np.isfinite(best_month) else 'n/a'}"
        )

    # Relevant
    verdict["relevant"], reasons["relevant"] = _relevance(goal.kpi, drivers)

    # Time-bound
    if months_left <= 0:
        verdict["time_bound"] = FAIL
        reasons["time_bound"] = f"deadline {goal.deadline} is not after as_of {as_of}"
    elif months_left > HORIZON_MONTHS:
        verdict["time_bound"] = WARN
        reasons["time_bound"] = f"deadline {months_left:.0f} months away: beyond a {HORIZON_MONTHS}-month horizon"
    else:
        verdict["time_bound"] = PASS
        reasons["time_bound"] = f"deadline in {months_left:.1f} months; monthly milestones set"

    reason = "; ".join(f"{letter[0].upper()}: {reasons[letter]}" for letter in LETTERS)
    return {
        "goal_id": goal.id, "kpi": goal.kpi, "segment_by": goal.segment_by, "segment": goal.segment,
        "baseline": float(base["value"]) if base is not None else float("nan"),
        "target": goal.target, "deadline": goal.deadline, **verdict, "reason": reason,
        "baseline_n": int(base["n"]) if base is not None else 0, "baseline_window": window_of(base),
        # one column per letter, so nothing downstream splits the joined sentence apart again
        **{f"{letter}_reason": reasons[letter] for letter in LETTERS},
    }


def reasons_table(goals_table: pd.DataFrame):
    """Each goal's five SMART verdicts with the numbers behind them, one row per goal and letter,
    as a formatted table (the ``reason`` column of goals.csv, laid out for reading)."""
    from gapkit import formatting

    rows = [{"goal": row["goal_id"], "check": letter.replace("_", "-"), "verdict": row[letter],
             "why": row[f"{letter}_reason"]}
            for _, row in goals_table.iterrows() for letter in LETTERS]
    return formatting.table(pd.DataFrame(rows, columns=["goal", "check", "verdict", "why"]),
                            caption="Each goal's SMART checks and the numbers behind each verdict")


def as_goals(goals) -> tuple[Goal, ...]:
    """Goals as :class:`gapkit.config.Goal`: plain dicts (as in gapkit.yml) are checked like the file."""
    goals = list(goals or ())
    if all(isinstance(goal, Goal) for goal in goals):
        return tuple(goals)
    from gapkit.config import from_dict

    plain = [dataclasses.asdict(g) if isinstance(g, Goal) else dict(g) for g in goals]
    return from_dict({"goals": plain}).goals


def _levels(goals, kpi_table, as_of, current, data, params, months):
    if current is not None or data is None:
        return current
    from gapkit.baseline import goal_levels

    return goal_levels(goals, kpi_table, data, as_of, params=params, months=months)


def window_of(row: pd.Series | None) -> str:
    """The months a baseline row pools: "YYYY-MM..YYYY-MM", or "all" for the whole history."""
    if row is None:
        return ""
    window = row.get("window")
    return str(window) if isinstance(window, str) and window else "all"


def _relevance(kpi_id: str, drivers: pd.DataFrame | None) -> tuple[str, str]:
    """Relevant when the KPI's experience has a demonstrated helpful effect on the outcome: the
    same evidence that gives it a weight in the gap ranking (:func:`gapkit.gaps.priority_weights`)."""
    if kpi_id in OUTCOME_KPIS:
        return PASS, f"{kpi_id} is itself a customer outcome"
    if drivers is None or "kpi" not in drivers or kpi_id not in set(drivers["kpi"]):
        return WARN, "no measured link to an outcome (no driver analysis for this KPI)"
    mine = drivers[drivers["kpi"] == kpi_id]
    if "effect_ci_low" in mine:
        row = mine.sort_values("effect_ci_low", ascending=False).iloc[0]
        low, high, effect = (float(row.get(c, np.nan)) for c in ("effect_ci_low", "effect_ci_high", "effect"))
        outcome = str(row.get("outcome", ""))
        scale = (f"the log-odds of {outcome.replace('_', ' ')}" if outcome in KPIS and KPIS[outcome].kind == SHARE
                 else outcome.replace("_", " ") or "the outcome")
        words = (f"one standard deviation more of {str(row['driver']).replace('_', ' ')} goes with {effect:+.2f} "
                 f"(95% CI {low:+.2f} to {high:+.2f}) in {scale}, all else held fixed")
        if np.isfinite(low) and low > 0:
            return PASS, words
        if np.isfinite(high) and high < 0:
            return WARN, f"{words}: the opposite of what improving it should do"
        return WARN, f"{words}: not distinguishable from no effect"
    row = mine.sort_values("importance", ascending=False).iloc[0]
    p = row.get("p_value", float("nan"))
    words = f"importance {row['importance']:.2f} in the driver model"
    if np.isfinite(p) and p < 0.05:
        return PASS, f"{words} (p={p:.3g})"
    return WARN, f"{words}, not distinguishable from none" + (f" (p={p:.3g})" if np.isfinite(p) else "")


@dataclass(frozen=True, eq=False, repr=False)
class GoalsResult(Result):
    """SMART verdicts (``.table``, goals.csv) and milestone trajectories (``.milestones``)."""

    milestones: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the monthly KPI table the goals were checked against, for plot()
    kpi_table: pd.DataFrame | None = None
    title: ClassVar[str] = "SMART goals"
    artifact: ClassVar[str] = "goals.csv"
    kinds: ClassVar[dict] = {"baseline": "kpi", "target": "kpi"}

    def summary(self) -> str:
        lines = []
        for row in self.table.itertuples(index=False):
            failed = [letter for letter in LETTERS if getattr(row, letter) == FAIL]
            warned = [letter for letter in LETTERS if getattr(row, letter) == WARN]
            state = "SMART" if not failed and not warned else (
                f"fails {', '.join(failed)}" if failed else f"warns on {', '.join(warned)}")
            lines.append(f"{row.goal_id}: {row.kpi} {row.baseline:.3g} -> {row.target:.3g} by {row.deadline}: {state}")
        return "\n".join(lines) or "No goals."

    def shown(self) -> pd.DataFrame:
        return self.table[["goal_id", "kpi", "segment", "baseline", "target", "deadline", *LETTERS]]

    def plot(self, kpi_table: pd.DataFrame | None = None, goal_id: str | None = None, ax=None):
        """One goal's monthly history, target and milestones (the first goal unless ``goal_id``).

        ``kpi_table``: the monthly ``gapkit.kpis`` table; by default the one the goals were checked
        against.
        """
        if kpi_table is None:
            kpi_table = self.kpi_table
        if kpi_table is None:
            raise ConfigError("pass the monthly KPI table: result.plot(kpi_table)")
        from gapkit.plots import trend

        if self.table.empty:
            raise ConfigError("there are no goals to draw; add goals to the config")
        goal_id = goal_id or self.table["goal_id"].iloc[0]
        picked = self.table[self.table["goal_id"] == goal_id]
        if picked.empty:
            raise ConfigError(f"no goal {goal_id!r}; goals: {self.table['goal_id'].tolist()}")
        row = picked.iloc[0]
        return trend(kpi_table, row["kpi"], row["segment_by"], row["segment"], target=row["target"],
                     milestones=self.milestones[self.milestones["goal_id"] == goal_id], ax=ax)


def smart(goals, kpi_table: pd.DataFrame, as_of: str, drivers: pd.DataFrame | None = None,
          current: pd.DataFrame | None = None, data=None, params=None, months: int = 3) -> GoalsResult:
    """SMART-check every goal and lay out its monthly milestones.

    The baseline is the goal's current level as the reports quote it: ``current`` when given,
    else computed from ``data`` (:func:`gapkit.baseline.goal_levels`, the last ``months``
    complete months); only without either the pooled history of ``kpi_table``.

    Examples
    --------
    >>> result = gapkit.goals.smart(config.goals, gapkit.kpis(data, as_of, by=["segment"], period="M"), as_of)
    >>> result.table
    """
    goals = as_goals(goals)
    if drivers is not None and hasattr(drivers, "table"):  # a DriverResult where its table is expected
        drivers = drivers.table
    current = _levels(goals, kpi_table, as_of, current, data, params, months)
    rows = [check(goal, kpi_table, as_of, drivers, current) for goal in goals]
    table = pd.DataFrame(rows, columns=GOAL_COLUMNS)
    milestones = pd.concat([milestones_for(goal, row["baseline"], as_of) for goal, row in zip(goals, rows)],
                           ignore_index=True) if rows else pd.DataFrame(columns=["goal_id", "month", "expected"])
    return GoalsResult(table, milestones, kpi_table)


def milestones_for(goal: Goal, baseline: float, as_of: str) -> pd.DataFrame:
    """A straight monthly trajectory from the baseline at as_of to the target at the deadline.

    A goal already met holds today's level: a plan never schedules a worsening.
    """
    start, end = pd.Timestamp(as_of), pd.Timestamp(goal.deadline)
    if not np.isfinite(baseline) or end <= start:
        return pd.DataFrame(columns=["goal_id", "month", "expected"])
    month_ends = pd.date_range(start, end, freq="ME")
    if len(month_ends) == 0 or month_ends[-1] < end:
        month_ends = month_ends.append(pd.DatetimeIndex([end]))
    fraction = (month_ends - start).days / (end - start).days
    better = 1 if KPIS[goal.kpi].better == "higher" else -1
    if better * (baseline - goal.target) >= 0:
        fraction = fraction * 0.0
    return pd.DataFrame({
        "goal_id": goal.id,
        "month": month_ends.strftime("%Y-%m"),
        "expected": clip(baseline + fraction * (goal.target - baseline), goal.kpi),
    })


def progress(goals, kpi_table: pd.DataFrame, as_of: str, recent_months: int = 6,
             current: pd.DataFrame | None = None, data=None, params=None, months: int = 3) -> pd.DataFrame:
    """Where each goal is heading: the recent monthly line extended to the deadline, with its CI.

    A line is fitted through the last ``recent_months`` monthly values (weighted by n) and read
    at the deadline; its 95% interval carries the uncertainty of both the line's level and its
    slope (statsmodels' prediction interval of the mean). Starting the slope from the pooled
    history instead would understate a rising KPI and claim a certainty no one has. On track:
    even the pessimistic end of the interval meets the target; off track: even the optimistic
    end misses it; at risk: between. ``current`` is the goal's current level (recent complete
    months, see :func:`baseline_row`; computed from ``data`` when not given, as in :func:`smart`),
    shown beside the projection; the line is fitted to months up to the last one the current
    level counts, never to months still too open to judge.

    Examples
    --------
    >>> gapkit.goals.progress(config.goals, gapkit.kpis(data, "2025-06-30", by=["segment"], period="M"), "2025-06-30")
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
        line = _projection(series, goal.deadline) if len(series) >= 4 and months_left > 0 else None
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


def _projection(series: pd.DataFrame, deadline: str) -> tuple[float, float, float, float]:
    """Slope per month, and the fitted line at ``deadline`` with its 95% interval (WLS by n).

    Months sit at their middle (a month's value is its average), the deadline at its day.
    """
    month = pd.PeriodIndex(series["period"], freq="M")
    start = month.min().start_time
    t = np.asarray([(p.start_time - start).days / 30.4375 + 0.5 for p in month], dtype=float)
    fit = sm.WLS(series["value"].to_numpy(float), sm.add_constant(t), weights=series["n"].to_numpy(float)).fit()
    at = (pd.Timestamp(deadline) - start).days / 30.4375
    frame = fit.get_prediction(np.array([[1.0, at]])).summary_frame(alpha=0.05)
    return (float(fit.params[1]), float(frame["mean"].iloc[0]), float(frame["mean_ci_lower"].iloc[0]),
            float(frame["mean_ci_upper"].iloc[0]))


PROGRESS_COLUMNS = ["goal_id", "kpi", "current", "target", "deadline", "slope", "projected", "projected_low",
                    "projected_high", "status", "months_fitted"]
