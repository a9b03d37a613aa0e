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

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from gapkit.config import Goal
from gapkit.contract.artifacts import columns as artifact_columns
from gapkit.contract.catalog import CATALOG, KPIS, MIN_N, NPS, SHARE, Z95, clip
from gapkit.desired.levels import (  # noqa: F401 (also gapkit.goals' own names)
    Trend,
    _levels,
    as_goals,
    baseline_row,
    monthly_series,
    months_between,
    trend,
    window_of,
)
from gapkit.desired.progress import PROGRESS_COLUMNS, progress  # noqa: F401 (gapkit.goals.progress)
from gapkit.errors import ConfigError
from gapkit.measure.baseline import unsettled
from gapkit.report.results import Result

OUTCOME_KPIS = tuple(k.id for k in CATALOG if k.outcome)  # read from the catalog
HORIZON_MONTHS = 24
ENOUGH_N = 30
PASS, WARN, FAIL = "pass", "warn", "fail"
LETTERS = ["specific", "measurable", "attainable", "relevant", "time_bound"]
GOAL_COLUMNS = [*artifact_columns("goals.csv"), "baseline_n", "baseline_window",
                *(f"{letter}_reason" for letter in LETTERS)]


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
    >>> data = gapkit.datasets.sample()
    >>> config = gapkit.datasets.sample_config()
    >>> table = gapkit.kpis(data, as_of="2025-06-30", by=["segment"], period="M")
    >>> gapkit.goals.check(config.goals[0], table, as_of="2025-06-30")
    {'goal_id': 'fu-coverage-C', 'kpi': 'followup_coverage', 'segment_by': 'segment', 'segment': 'C', 'baseline': ...
    ...
    """
    kpi = KPIS[goal.kpi]
    reasons: dict[str, str] = {}
    verdict: dict[str, str] = {}
    base = baseline_row(kpi_table, goal, current)
    series = monthly_series(kpi_table, goal)
    months_left = months_between(as_of, goal.deadline)

    verdict["specific"], reasons["specific"] = _specific(goal, base, kpi_table, as_of)
    verdict["measurable"], reasons["measurable"] = _measurable(goal, kpi, base, series, months_left)
    verdict["attainable"], reasons["attainable"] = _attainable(goal, kpi, base, series, kpi_table, months_left,
                                                               as_of)
    verdict["relevant"], reasons["relevant"] = _relevance(goal.kpi, drivers)
    verdict["time_bound"], reasons["time_bound"] = _time_bound(goal, months_left, as_of)

    reason = "; ".join(f"{letter[0].upper()}: {reasons[letter]}" for letter in LETTERS)
    return {
        "goal_id": goal.id, "kpi": goal.kpi, "segment_by": goal.segment_by, "segment": goal.segment,
        "baseline": float(base["value"]) if base is not None else float("nan"),
        "target": goal.target, "deadline": goal.deadline, **verdict, "reason": reason,
        "baseline_n": int(base["n"]) if base is not None else 0, "baseline_window": window_of(base),
        # one column per letter, so nothing downstream splits the joined sentence apart again
        **{f"{letter}_reason": reasons[letter] for letter in LETTERS},
    }


def _specific(goal: Goal, base, kpi_table: pd.DataFrame, as_of: str) -> tuple[str, str]:
    """S: one KPI for one population that exists in the data."""
    if base is None:
        present = kpi_table.loc[kpi_table["kpi"] == goal.kpi, "segment_by"].unique().tolist()
        verdict = FAIL
        where = f"segment {goal.segment_by}={goal.segment}" if goal.segment_by != "all" else "everyone"
        reason = (
            f"no {goal.kpi} data for {where} at {as_of} (segmentations present: {present})"
        )
    else:
        verdict = PASS
        reason = f"one KPI ({goal.kpi}) for one population ({goal.segment_by}={goal.segment})"
    return verdict, reason


def _measurable(goal: Goal, kpi, base, series: pd.DataFrame, months_left: float) -> tuple[str, str]:
    """M: a baseline with enough n, and the power to see the change by the deadline."""
    better = 1 if kpi.better == "higher" else -1
    volume = float(series["n"].tail(3).mean()) * max(months_left, 0) if len(series) else 0.0
    met = base is not None and np.isfinite(float(base["value"])) and better * (float(base["value"]) - goal.target) >= 0
    if base is None or base["n"] < MIN_N[kpi.kind]:
        verdict = FAIL
        reason = "no baseline can be computed (too few units)"
    elif met:
        verdict = PASS if base["n"] >= ENOUGH_N else WARN
        reason = (f"already met: baseline {_fmt(base['value'], goal.kpi)} (n={int(base['n'])}) is at "
                                 f"or past the target; what is measured now is that it holds")
    else:
        power, needed = detectable(base, goal.target, kpi.kind, volume)
        monthly = float(series["n"].tail(3).mean()) if len(series) else 0.0
        if not np.isfinite(power):
            verdict = WARN if base["n"] >= ENOUGH_N else FAIL
            reason = (f"baseline n={int(base['n'])}; power not computable (target equals baseline "
                                     f"or no volume)")
        else:
            need_months = needed / monthly if monthly > 0 else float("inf")
            verdict = PASS if power >= 0.8 else WARN if power >= 0.5 else FAIL
            reason = (
                f"baseline {_fmt(base['value'], goal.kpi)} (n={int(base['n'])}); ~{volume:.0f} units by the deadline "
                f"give {power:.0%} power to detect the change; 80% needs ~{needed:.0f} units "
                f"(~{need_months:.1f} months at {monthly:.0f}/month)"
            )
            if base["n"] < ENOUGH_N:
                verdict = WARN if verdict == PASS else verdict
    return verdict, reason


def _attainable(goal: Goal, kpi, base, series: pd.DataFrame, kpi_table: pd.DataFrame,
                months_left: float, as_of=None) -> tuple[str, str]:
    """A: the monthly change needed against the trend and the best segment or month."""
    better = 1 if kpi.better == "higher" else -1
    if base is None:
        verdict = FAIL
        reason = "no baseline"
    elif months_left <= 0:
        verdict = WARN
        reason = "no pace to judge: the deadline has passed"
    else:
        needed_change = (goal.target - float(base["value"])) / max(months_left, 1e-9)
        fitted = trend(series)
        # the best segment or month counts only with enough units, and a median only once its
        # units are settled: a month of 1-second administrative closures is no pace to hold up
        mine = kpi_table[kpi_table["kpi"] == goal.kpi]
        settled = ~unsettled(mine, kpi_table, as_of).reindex(kpi_table.index, fill_value=True)
        peers = kpi_table[(kpi_table["kpi"] == goal.kpi) & (kpi_table["period"] == "all")
                          & (kpi_table["n"] >= ENOUGH_N) & settled]
        months = kpi_table[(kpi_table["kpi"] == goal.kpi) & (kpi_table["period"] != "all")
                           & (kpi_table["n"] >= ENOUGH_N) & settled]
        best_segment = better * (better * peers["value"]).max() if len(peers) else float("nan")
        best_month = better * (better * months["value"]).max() if len(months) else float("nan")
        seen = [better * v for v in (best_segment, best_month) if np.isfinite(v)]
        best_seen = better * max(seen) if seen else float("nan")
        beyond = better * (goal.target - best_seen) > 0 if np.isfinite(best_seen) else False
        impossible = kpi.unit == "share" and not 0 <= goal.target <= 1
        already = better * (float(base["value"]) - goal.target) >= 0
        trend_words = (
            f"trend {fitted.slope:+.4g}/month (95% CI {fitted.ci_low:+.4g} to {fitted.ci_high:+.4g}, "
            f"{fitted.months} months)" if fitted else "too few months for a trend"
        )
        fastest = better * (fitted.ci_high if better > 0 else fitted.ci_low) if fitted else float("nan")
        too_fast = (better * needed_change > 0) and (
            not np.isfinite(fastest) or fastest <= 0 or better * needed_change > fastest
        )
        if impossible:
            verdict = FAIL
            detail = f"a share cannot reach {goal.target}"
        elif already:
            verdict = PASS
            detail = "already at or past the target; milestones hold today's level"
        elif beyond and too_fast:
            verdict = FAIL
            detail = "beyond anything seen in any segment or month, and far faster than any observed trend"
        elif beyond or too_fast:
            verdict = WARN
            detail = "beyond the best seen" if beyond else "faster than the observed trend"
        else:
            verdict = PASS
            detail = "within what the best segment or month achieves at a plausible pace"
        pace = (f"needs {needed_change:+.4g}/month over {months_left:.1f} months; " if not already else "")
        reason = (
            f"{detail}: {pace}{trend_words}; "
            f"best segment {_fmt(best_segment, goal.kpi) if np.isfinite(best_segment) else 'n/a'}, "
            f"best month {_fmt(best_month, goal.kpi) if np.isfinite(best_month) else 'n/a'}"
        )
    return verdict, reason


def _time_bound(goal: Goal, months_left: float, as_of: str) -> tuple[str, str]:
    """T: a deadline after the report date and within the horizon."""
    if months_left <= 0:
        verdict = FAIL
        reason = f"deadline {goal.deadline} is not after as_of {as_of}"
    elif months_left > HORIZON_MONTHS:
        verdict = WARN
        reason = f"deadline {months_left:.0f} months away: beyond a {HORIZON_MONTHS}-month horizon"
    else:
        verdict = PASS
        reason = f"deadline in {months_left:.1f} months; monthly milestones set"
    return verdict, reason


def reasons_table(goals_table: pd.DataFrame):
    """Each goal's five SMART verdicts with the numbers behind them, one row per goal and letter,
    as a formatted table (the ``reason`` column of goals.csv, laid out for reading)."""
    from gapkit.report import formatting

    rows = [{"goal": row["goal_id"], "check": letter.replace("_", "-"), "verdict": row[letter],
             "why": row[f"{letter}_reason"]}
            for _, row in goals_table.iterrows() for letter in LETTERS]
    return formatting.table(pd.DataFrame(rows, columns=["goal", "check", "verdict", "why"]),
                            caption="Each goal's SMART checks and the numbers behind each verdict")


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
        from gapkit.report.plots import trend

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
    >>> data = gapkit.datasets.sample()
    >>> config = gapkit.datasets.sample_config()
    >>> as_of = "2025-06-30"
    >>> result = gapkit.goals.smart(config.goals, gapkit.kpis(data, as_of, by=["segment"], period="M"), as_of)
    >>> result.table
               goal_id  ...                                  time_bound_reason
    ...
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
