"""Gap identification: current against desired, tested, adjusted for many goals, prioritised.

For each goal: the current value with n and CI, the target, the signed gap (positive = a
shortfall whatever the KPI's direction), the relative gap, a one-sided test of "meets the
target", Benjamini-Hochberg adjustment across goals, and a status:

- ``insufficient_data``: too few units for an interval;
- ``met``: the current value is at or past the target;
- ``shortfall``: short of the target and the test says so (p_adj < alpha);
- ``not_significant``: short of the target by less than the noise at this n.

The tests: exact binomial for shares (statsmodels ``binom_test``), one-sample t for means and
a z test with the NPS variance for NPS (standard errors taken from the KPI's own interval), and
the sign test for medians (on the units, via ``gapkit.units``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import binom_test

from gapkit.contract.artifacts import columns as artifact_columns
from gapkit.contract.catalog import KPIS, MEDIAN, NPS, SHARE, Z95
from gapkit.desired.goals import OUTCOME_KPIS, as_goals, baseline_row, window_of
from gapkit.errors import ConfigError
from gapkit.report.results import Result

GAP_COLUMNS = [*artifact_columns("gaps.csv"), "weight", "window", "small_n", "gap_std"]
ALPHA = 0.05
#: A standardized gap beyond this many spreads ranks as this many: a KPI whose customers barely
#: vary (every ticket answered in exactly 48 h) would otherwise outrank everything by division by ~0.
MAX_GAP_STD = 10.0


def standardized_gap(row: pd.Series, target: float, kind: str, better: str, unit_values=None) -> float:
    """The shortfall in units of the KPI's customer-level spread (positive = short of the target).

    One scale for every KPI, whatever its unit and whatever the target (0, negative, 100%):

    - shares: Cohen's h, ``2 asin sqrt(target) - 2 asin sqrt(current)``;
    - means (1-5, 1-7 scores) and NPS: the gap over the customers' standard deviation, read
      back from the interval (``half-width x sqrt(n) / critical value``);
    - medians (durations): the gap over the customers' robust spread (interquartile range /
      1.349) when the units are given, else over the spread the median's interval implies.

    Read as Cohen's d: 0.2 small, 0.5 medium, 0.8 large. Capped at :data:`MAX_GAP_STD`.
    """
    value, n = float(row["value"]), float(row["n"])
    sign = 1.0 if better == "higher" else -1.0
    if not np.isfinite(value) or n <= 0:
        return float("nan")
    if kind == SHARE:
        h = 2 * np.arcsin(np.sqrt(np.clip(target, 0, 1))) - 2 * np.arcsin(np.sqrt(np.clip(value, 0, 1)))
        return float(np.clip(sign * h, -MAX_GAP_STD, MAX_GAP_STD))
    gap = sign * (target - value)
    spread = float("nan")
    if kind == MEDIAN and unit_values is not None and len(unit_values) > 1:
        q1, q3 = np.nanpercentile(np.asarray(unit_values, dtype=float), [25, 75])
        spread = (q3 - q1) / 1.349 if q3 > q1 else float(np.nanstd(unit_values, ddof=1))
    if not np.isfinite(spread) or spread <= 0:
        half = max(float(row["ci_high"]) - value, value - float(row["ci_low"]))
        critical = stats.t.ppf(0.975, max(n - 1, 1)) if kind not in (NPS, MEDIAN) else Z95
        spread = half * np.sqrt(n) / critical / (1.2533 if kind == MEDIAN else 1.0)
    if not np.isfinite(spread):
        return float("nan")
    if spread <= 0:
        return float(np.sign(gap) * MAX_GAP_STD) if gap else 0.0
    return float(np.clip(gap / spread, -MAX_GAP_STD, MAX_GAP_STD))


def shortfall_p_value(row: pd.Series, target: float, kind: str, better: str, unit_values=None) -> float:
    """One-sided p-value of H0 "the KPI meets the target" against "it falls short"."""
    n, value = int(row["n"]), float(row["value"])
    shortfall_side = "smaller" if better == "higher" else "larger"
    if kind == SHARE:
        if not 0 < target < 1:
            # a target of 100% (or 0%) is missed by a single miss: no sampling question left
            return 0.0 if (value < target if better == "higher" else value > target) else 1.0
        successes = int(round(value * n))
        return float(binom_test(successes, n, prop=target, alternative=shortfall_side))
    if kind == MEDIAN:
        if unit_values is None or len(unit_values) == 0:
            return _median_p_from_interval(row, target, better)
        values = np.asarray(unit_values, dtype=float)
        worse = int((values < target).sum() if better == "higher" else (values > target).sum())
        decided = int((values != target).sum())
        if decided == 0:
            return 1.0
        # sign test: if the median met the target, a unit would be worse than it at most half the time
        return float(stats.binomtest(worse, decided, 0.5, alternative="greater").pvalue)
    # an interval held inside the scale (NPS at +100, a mean score near 5) is cut on one side:
    # the uncut side is the test's half-width
    half = max(float(row["ci_high"]) - value, value - float(row["ci_low"]))
    if not np.isfinite(half):
        return float("nan")
    if half == 0:
        return 0.0 if (value < target if better == "higher" else value > target) else 1.0
    if kind == NPS:
        z = (value - target) / (half / Z95)
        return float(stats.norm.cdf(z) if better == "higher" else stats.norm.sf(z))
    se = half / stats.t.ppf(0.975, n - 1)
    t = (value - target) / se
    return float(stats.t.cdf(t, n - 1) if better == "higher" else stats.t.sf(t, n - 1))


def _median_p_from_interval(row: pd.Series, target: float, better: str) -> float:
    """Without the units: a normal approximation from the median's order-statistic interval.

    The sign test needs the units; from the KPI row alone, the interval's half-width gives the
    median's standard error (half / 1.96), good to a few percent once n passes ~30.
    """
    low, high, value = float(row["ci_low"]), float(row["ci_high"]), float(row["value"])
    se = (high - low) / 2 / Z95
    if not np.isfinite(se) or int(row["n"]) < 30:
        return float("nan")
    if se == 0:
        return 0.0 if (value < target if better == "higher" else value > target) else 1.0
    z = (value - target) / se
    return float(stats.norm.cdf(z) if better == "higher" else stats.norm.sf(z))


@dataclass(frozen=True, eq=False, repr=False)
class GapResult(Result):
    """The gap table (``.table``, gaps.csv) with a diverging-bar picture."""

    rule: str = ""
    title: ClassVar[str] = "Gaps"
    artifact: ClassVar[str] = "gaps.csv"
    kinds: ClassVar[dict] = {"current": "kpi", "target": "kpi", "gap": "gap", "p_adj": "p", "n": "count",
                             "rank": "count", "weight": "number"}

    def summary(self) -> str:
        counts = self.table["status"].value_counts()
        parts = [f"{counts.get(s, 0)} {s.replace('_', ' ')}" for s in ("shortfall", "not_significant", "met",
                                                                        "insufficient_data")]
        return f"{len(self.table)} goals: " + ", ".join(parts)

    def shown(self) -> pd.DataFrame:
        return self.table.sort_values("rank", na_position="last", kind="stable")[
            ["rank", "goal_id", "kpi", "segment", "n", "current", "target", "gap", "p_adj", "status", "weight"]]

    def footnotes(self) -> tuple[str, ...]:
        return (self.rule,) if self.rule else ()

    def plot(self, ax=None):
        from gapkit.report.plots import gap_bars

        return gap_bars(self.table, ax=ax)


def gaps(goals, kpi_table: pd.DataFrame, data=None, as_of: str | None = None, drivers: pd.DataFrame | None = None,
         params=None, current: pd.DataFrame | None = None, months: int = 3, alpha: float = ALPHA,
         engine: str = "pandas") -> GapResult:
    """Compare each goal's current value with its target and say whether the gap is real.

    The current value is the goal's level over its last ``months`` complete months, as every
    report quotes it: from ``current`` (:func:`gapkit.baseline.current_levels`) when given, else
    computed from ``data`` and ``as_of`` (:func:`gapkit.baseline.goal_levels`); only without
    either is it the pooled history of ``kpi_table``. ``window`` says which ("YYYY-MM..YYYY-MM"
    or "all").

    Parameters
    ----------
    goals : goals from the config (``gapkit.config.Goal``).
    kpi_table : ``gapkit.kpis`` output holding each goal's KPI and segment.
    data, as_of, params : for median KPIs, the sign test reads the units (without them, a normal
        approximation from the median's interval, from n = 30).
    engine : where those units (and, without ``current``, the current levels) are computed, as
        for :func:`gapkit.kpis`.
    alpha : the level of the shortfall test: ``p_adj < alpha`` (Benjamini-Hochberg) is a shortfall;
        0.05 by default. The intervals stay 95%, the level the tests read their errors from.
    drivers : ``gapkit.drivers`` importance table (kpi, importance and its interval); sets
        ``importance`` and the ``weight`` of the priority rule (:func:`priority_weights`).

    The priority rule, the one every report uses (gap table, findings, action plan): every
    significant shortfall is ranked; ``priority`` = standardized shortfall (``gap_std``, see
    :func:`standardized_gap`: one scale for shares, scores, NPS and durations, whatever the
    target) x ``weight`` (:func:`priority_weights`: the KPI's demonstrated effect on the
    outcome relative to the average driver's; 1 for outcome KPIs and KPIs outside the model).
    ``rank`` orders the shortfalls (1 = fix first); ties go to the larger standardized gap, then
    the larger n. ``gap_rel`` (gap / |target|) is kept for reading, empty where the target is 0.

    Examples
    --------
    >>> data = gapkit.datasets.sample()
    >>> config = gapkit.datasets.sample_config()
    >>> result = gapkit.gaps.gaps(config.goals, gapkit.kpis(data, "2025-06-30", by=["segment"]))
    >>> result.table[["goal_id", "gap", "p_adj", "status"]]
               goal_id       gap         p_adj           status
    ...
    """
    goals = as_goals(goals)
    _check_95(kpi_table=kpi_table, current=current)
    if drivers is not None and hasattr(drivers, "table"):  # a DriverResult where its table is expected
        drivers = drivers.table
    if current is None and data is not None and as_of is not None:
        from gapkit.measure.baseline import goal_levels

        current = goal_levels(goals, kpi_table, data, as_of, params=params, months=months, engine=engine)
    rows = []
    for goal in goals:
        kpi = KPIS[goal.kpi]
        row = baseline_row(kpi_table, goal, current)
        record = {"goal_id": goal.id, "kpi": goal.kpi, "segment_by": goal.segment_by, "segment": goal.segment,
                  "target": goal.target, "window": window_of(row),
                  "small_n": bool(row["small_n"]) if row is not None and "small_n" in row else True}
        if row is None or row["n"] == 0 or not np.isfinite(float(row["ci_low"])):  # no honest interval
            record.update(n=0 if row is None else int(row["n"]), current=np.nan if row is None else row["value"],
                          ci_low=np.nan, ci_high=np.nan, p_value=np.nan)
        else:
            values = _median_units(goal, data, as_of, params, record["window"], engine) if kpi.kind == MEDIAN else None
            record.update(n=int(row["n"]), current=float(row["value"]), ci_low=float(row["ci_low"]),
                          ci_high=float(row["ci_high"]),
                          p_value=shortfall_p_value(row, goal.target, kpi.kind, kpi.better, values),
                          gap_std=standardized_gap(row, goal.target, kpi.kind, kpi.better, values))
        sign = 1 if kpi.better == "higher" else -1
        record["gap"] = sign * (goal.target - record["current"])
        record["gap_rel"] = record["gap"] / abs(goal.target) if goal.target else np.nan
        rows.append(record)
    table = pd.DataFrame(rows, columns=[*GAP_COLUMNS[:GAP_COLUMNS.index("p_value") + 1], "window", "small_n",
                                        "gap_std"])
    table["p_adj"] = _bh(table["p_value"])
    table["status"] = [_status(r, alpha) for r in table.itertuples(index=False)]
    return _ranked(table, drivers)


def _ranked(table: pd.DataFrame, drivers: pd.DataFrame | None) -> GapResult:
    """The gap table with each significant shortfall's ``priority`` and ``rank`` (see :func:`gaps`)."""
    weights, rule = priority_weights(table["kpi"], drivers)
    table["importance"] = _importance(table["kpi"], drivers)
    table["weight"] = weights
    shortfall = table["status"] == "shortfall"
    # gap_std is finite for every shortfall: a shortfall needs a finite interval and p-value
    table["priority"] = (table["gap_std"].fillna(0.0) * table["weight"]).where(shortfall, 0.0)
    order = table[shortfall].sort_values(["priority", "gap_std", "n", "goal_id"],
                                         ascending=[False, False, False, True], kind="stable").index
    table["rank"] = pd.Series(np.arange(1, len(order) + 1), index=order, dtype="Int64").reindex(table.index)
    return GapResult(table[GAP_COLUMNS], rule)


def _check_95(**tables) -> None:
    """The tests read standard errors from 95% intervals: a table measured at another level is refused."""
    for name, table in tables.items():
        if table is not None and table.attrs.get("alpha", 0.05) != 0.05:
            raise ConfigError(f"gaps: {name} holds {1 - table.attrs['alpha']:.0%} intervals, and the shortfall "
                              f"tests read their standard errors from 95% ones; measure it with alpha=0.05 "
                              f"and pass gaps(..., alpha={table.attrs['alpha']}) to test at that level instead")


def _median_units(goal, data, as_of, params, window: str, engine: str = "pandas"):
    """The goal's duration values over its window, for the sign test (None without data)."""
    if data is None:
        return None
    from gapkit.measure.engine import segment_labels, units

    by = [] if goal.segment_by == "all" else [goal.segment_by]
    unit_rows = units(data, goal.kpi, as_of=as_of, by=by, params=params, engine=engine, columns=[],
                      months=window.split("..") if ".." in window else None)
    if by:
        unit_rows = unit_rows[segment_labels(unit_rows[goal.segment_by]) == goal.segment]
    return unit_rows["value"].to_numpy()


def _bh(p_values: pd.Series) -> pd.Series:
    adjusted = pd.Series(np.nan, index=p_values.index)
    known = p_values.notna()
    if known.any():
        adjusted[known] = multipletests(p_values[known], alpha=ALPHA, method="fdr_bh")[1]
    return adjusted


def _status(row, alpha: float = ALPHA) -> str:
    if row.n == 0 or not np.isfinite(row.current) or not np.isfinite(row.p_value):
        return "insufficient_data"
    if row.gap <= 0:
        return "met"
    return "shortfall" if row.p_adj < alpha else "not_significant"


def _importance(kpis: pd.Series, drivers: pd.DataFrame | None) -> pd.Series:
    """Driver importance (share of explained outcome variance); NaN for outcomes and unmodelled KPIs."""
    if drivers is None or drivers.empty:
        return pd.Series(np.nan, index=kpis.index, dtype=float)
    weights = drivers.groupby("kpi")["importance"].max()
    return kpis.map(weights).astype(float).where(~kpis.isin(OUTCOME_KPIS))


def priority_weights(kpis: pd.Series, drivers: pd.DataFrame | None) -> tuple[pd.Series, str]:
    """The weight of each KPI's shortfall in the priority rule, and the rule in words.

    A driver KPI weighs its smallest plausible helpful effect on the outcome (the 95% bound of
    the standardized conditional effect nearest zero, ``effect_ci_low`` of
    :func:`gapkit.drivers.helpful_effects`) relative to the average over the drivers that have
    one; a driver whose interval reaches zero weighs 0 (no demonstrated effect: the SMART
    "relevant" check says the same). Outcome KPIs and KPIs outside the model weigh 1, as an
    average driver. Without a driver model, or when no driver shows an effect, every KPI weighs 1.
    """
    ones = pd.Series(1.0, index=kpis.index)
    scale = ("their size in units of the KPI's customer-level spread (standardized gap: Cohen's h for shares, "
             "the gap over the customers' standard deviation for scores and NPS, over their robust spread for "
             "medians; 0.2 is small, 0.5 medium, 0.8 large)")
    if drivers is None or drivers.empty or "effect_ci_low" not in drivers:
        return ones, f"Shortfalls are ranked by {scale}; there is no driver model to weigh them."
    smallest = pd.to_numeric(drivers["effect_ci_low"], errors="coerce").clip(lower=0).groupby(drivers["kpi"]).max()
    shown = smallest[smallest > 0]
    outcome = str(drivers["outcome"].iloc[0]) if "outcome" in drivers else "the outcome"
    label = KPIS[outcome].label if outcome in KPIS else outcome
    if shown.empty:
        return ones, (f"Shortfalls are ranked by {scale}; no experience in the driver model shows an effect on "
                      f"{label} that its 95% interval keeps away from zero, so none is weighed up or down.")
    weights = kpis.map(smallest / shown.mean()).astype(float).where(~kpis.isin(OUTCOME_KPIS)).fillna(1.0)
    return weights, (f"Shortfalls are ranked by {scale}, times the KPI's weight as a driver of {label}: its "
                     f"smallest plausible effect (the 95% bound nearest zero of one standard deviation more of "
                     f"the experience, all else held fixed) relative to the average driver with an effect. "
                     f"Outcome KPIs and KPIs outside the model weigh 1; a driver without a demonstrated effect 0.")
