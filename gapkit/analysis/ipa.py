"""Where to act: Importance-Performance analysis of the key drivers, and SERVQUAL gaps.

Importance-Performance (Martilla & James): each driver's importance (from
:func:`gapkit.drivers.key_drivers`) against its KPI's current performance on a 0..1 scale, the
grid split at the means into "Concentrate here", "Keep up the good work", "Low priority" and
"Possible overkill". SERVQUAL: perception minus expectation per service-quality dimension from
paired survey items, with paired t 95% CIs.
"""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from statsmodels.stats.weightstats import DescrStatsW

from gapkit.contract.catalog import UNIT_BOUNDS
from gapkit.errors import InputError
from gapkit.report.results import Result

if TYPE_CHECKING:  # ipa reads drivers' results; drivers' separable() is imported where it is used
    from gapkit.analysis.drivers import DriverResult

__all__ = ["BOUNDED", "QUADRANTS", "ImportancePerformance", "ServqualResult", "importance_performance",
           "servqual"]

log = logging.getLogger("gapkit")

# the units with a finite range on both sides (catalog.UNIT_BOUNDS is the one list)
BOUNDED = {unit: (lo, hi) for unit, (lo, hi) in UNIT_BOUNDS.items() if np.isfinite(lo) and np.isfinite(hi)}
QUADRANTS = {(True, False): "Concentrate here", (True, True): "Keep up the good work",
             (False, False): "Low priority", (False, True): "Possible overkill"}


def importance_performance(kpi_table: pd.DataFrame, drivers_table: DriverResult | pd.DataFrame,
                           targets: Mapping[str, float] | None = None, segment_by: str = "all",
                           segment: str = "all", period: str = "all") -> ImportancePerformance:
    """Importance-Performance analysis: each driver's importance against its KPI's performance.

    Performance is 0..1, 1 = best, direction-aware: a bounded KPI (share, scores, NPS) is
    rescaled over its possible range; an unbounded one (hours, days) is the share of its
    target achieved when ``targets`` names it, else its place between the worst and best
    month in ``kpi_table``. Quadrants split at the mean importance and mean performance of
    the points drawn (Martilla & James).

    Examples
    --------
    >>> data = gapkit.datasets.sample(); kd = gapkit.drivers.key_drivers(data, "2025-06-30")
    >>> gapkit.ipa.importance_performance(gapkit.kpis(data, "2025-06-30", period="M"), kd).plot()
    <Axes...
    """
    # a DriverResult or its table (duck-typed)
    drivers = drivers_table if isinstance(drivers_table, pd.DataFrame) else drivers_table.table
    if drivers.empty:
        raise InputError("the key-driver model could not be fitted (see report 2), so no KPI has an importance")
    needed = {"kpi", "period", "segment_by", "segment", "value", "ci_low", "ci_high", "unit", "better"}
    if needed - set(kpi_table.columns):
        raise InputError(f"kpi_table lacks {sorted(needed - set(kpi_table.columns))}; pass gapkit.kpis(...) output")
    now = kpi_table.loc[(kpi_table["period"] == period) & (kpi_table["segment_by"] == segment_by)
                        & (kpi_table["segment"] == segment)].set_index("kpi")
    rows, notes = [], []
    for d in drivers.itertuples(index=False):
        if d.kpi not in now.index:
            notes.append(f"{d.driver}: no {d.kpi} row in kpi_table")
            continue
        k = now.loc[d.kpi]
        history = kpi_table.loc[(kpi_table["kpi"] == d.kpi) & (kpi_table["period"] != "all")
                                & (kpi_table["segment_by"] == segment_by) & (kpi_table["segment"] == segment), "value"]
        scale, rule = _scale(k, (targets or {}).get(d.kpi), history)
        if scale is None:
            notes.append(f"{d.driver}: {rule}")
            continue
        perf = sorted(scale(np.array([k["value"], k["ci_low"], k["ci_high"]], dtype=float))[1:])
        rows.append({"driver": d.driver, "kpi": d.kpi, "importance": d.importance,
                     "importance_ci_low": d.importance_ci_low, "importance_ci_high": d.importance_ci_high,
                     "value": k["value"], "performance": float(scale(np.array([k["value"]]))[0]),
                     "performance_ci_low": perf[0], "performance_ci_high": perf[1], "performance_rule": rule,
                     "n": k["n"]})
    table = pd.DataFrame(rows)
    from gapkit.analysis.drivers import separable

    apart, why = separable(drivers)
    if not table.empty:
        hi_imp = table["importance"] >= table["importance"].mean()
        hi_perf = table["performance"] >= table["performance"].mean()
        # quadrants are only as good as the importance axis: none when the model cannot rank drivers
        table["quadrant"] = [QUADRANTS[(a, b)] if apart else None for a, b in zip(hi_imp, hi_perf)]
    if not apart:
        notes.append(f"No quadrant is named: {why}.")
    return ImportancePerformance(table, tuple(notes), "" if apart else why)


def _scale(k: pd.Series, target, history: pd.Series):
    """A monotone map of the KPI onto 0..1 (1 = best), and the rule used."""
    lower = k["better"] == "lower"
    if k["unit"] in BOUNDED:
        lo, hi = BOUNDED[k["unit"]]
        rule = f"rescaled over {lo:g}..{hi:g}"
    elif target is not None and target > 0:
        rule = f"share of target {target:g} achieved"
        return (lambda v: np.clip(target / v if lower else v / target, 0, 1)), rule
    elif history.notna().sum() >= 2 and history.max() > history.min():
        lo, hi = float(history.min()), float(history.max())
        rule = f"place between worst and best month ({lo:.3g}..{hi:.3g})"
    else:
        return None, "unbounded KPI without a target or monthly history; left out"
    return (lambda v: np.clip((hi - v) / (hi - lo) if lower else (v - lo) / (hi - lo), 0, 1)), rule


@dataclass(frozen=True, eq=False, repr=False)
class ImportancePerformance(Result):
    """The IPA grid: ``.table`` (driver, importance, performance, quadrant...), ``.plot()``."""

    notes: tuple[str, ...] = ()
    unranked: str = ""  # why the driver model cannot rank importance ("" when it can)
    title: ClassVar[str] = "Importance-Performance"
    kinds: ClassVar[dict] = {"importance": "share", "importance_ci_low": "share", "importance_ci_high": "share",
                             "value": "kpi", "performance": "number", "performance_ci_low": "number",
                             "performance_ci_high": "number"}

    def summary(self) -> str:
        if self.table.empty:
            return "No driver with a KPI to place."
        if self.unranked:
            return f"The driver model cannot rank importance ({self.unranked}), so no quadrant is named."
        focus = self.table.loc[self.table["quadrant"] == "Concentrate here", "driver"].tolist()
        return ("Concentrate here (important and performing below the others): " + ", ".join(focus) + "."
                if focus else "No driver is both more important and weaker than the others.")

    def shown(self) -> pd.DataFrame:
        return self.table.drop(columns=["performance_rule"], errors="ignore")

    def footnotes(self) -> tuple[str, ...]:
        rules = "; ".join(f"{d}: {r}" for d, r in zip(self.table.get("driver", []),
                                                        self.table.get("performance_rule", [])))
        return ((f"Performance scale: {rules}",) if rules else ()) + self.notes

    def plot(self, ax=None):
        """Performance (x) against importance (y), CIs both ways, quadrants split at the means."""
        ax = ax or plt.gca()
        t = self.table
        if t.empty:
            ax.set_title("No driver with a KPI to place")
            return ax
        ax.errorbar(t["performance"], t["importance"], fmt="o", color="#1f4e79", ecolor="#9bb3cc", capsize=2,
                    xerr=np.vstack([t["performance"] - t["performance_ci_low"],
                                    t["performance_ci_high"] - t["performance"]]).clip(0),
                    yerr=np.vstack([t["importance"] - t["importance_ci_low"],
                                    t["importance_ci_high"] - t["importance"]]).clip(0))
        mx, my = t["performance"].mean(), t["importance"].mean()
        ax.axvline(mx, color="grey", ls="--", lw=0.8)
        if not self.unranked:
            ax.axhline(my, color="grey", ls="--", lw=0.8)
            for (hi_imp, hi_perf), name in QUADRANTS.items():
                ax.text(0.98 if hi_perf else 0.02, 0.98 if hi_imp else 0.02, name, transform=ax.transAxes,
                        ha="right" if hi_perf else "left", va="top" if hi_imp else "bottom", fontsize=9,
                        color="#7a7a7a")
        ax.set_xlim(-0.05, 1.05)
        ax.set_xlabel("performance (0 = worst, 1 = best; scale in the table below)")
        ax.set_ylabel("importance (share of explained variance)")
        _labels(ax, t)
        if self.unranked:
            title = f"No quadrant named: the driver model cannot rank importance ({self.unranked})"
        else:
            focus = t.loc[t["quadrant"] == "Concentrate here", "driver"].str.replace("_", " ").tolist()
            title = "Concentrate here: " + ", ".join(focus) if focus else "No driver is both important and weak"
        ax.set_title(textwrap.fill(title, 70), fontsize="medium")
        return ax


def _labels(ax, table: pd.DataFrame) -> None:
    """Driver names beside their points, stacked apart where they would collide."""
    from gapkit.report.plots import spread_labels

    texts = [ax.annotate(d.replace("_", " "), (p, i), xytext=(5, 3), textcoords="offset points", fontsize=8)
             for p, i, d in zip(table["performance"], table["importance"], table["driver"])]
    spread_labels(ax, texts)


@dataclass(frozen=True, eq=False, repr=False)
class ServqualResult(Result):
    """SERVQUAL gaps (perception - expectation) by dimension: ``.table``, ``.plot()``."""

    title: ClassVar[str] = "SERVQUAL gaps"
    kinds: ClassVar[dict] = {"p_value": "p"}

    def summary(self) -> str:
        if self.table.empty:
            return "No SERVQUAL dimension to compare."
        worst = self.table.iloc[0]  # sorted by gap, most negative first
        short = int(((self.table["gap"] < 0) & (self.table["p_value"] < 0.05)).sum())
        return (f"{short} of {len(self.table)} dimensions fall short of expectations at p < 0.05 (paired t); "
                f"the widest gap is {worst['dimension']} at {worst['gap']:+.2f} points (n = {worst['n']}).")

    def plot(self, ax=None):
        """Gap per dimension with paired-t 95% CIs; below zero = expectations not met."""
        ax = ax or plt.gca()
        t = self.table
        y = np.arange(len(t))
        ax.barh(y, t["gap"], xerr=np.vstack([t["gap"] - t["gap_ci_low"], t["gap_ci_high"] - t["gap"]]).clip(0),
                color=np.where(t["gap"] < 0, "#c0392b", "#2e8b57"), capsize=3)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_yticks(y, t["dimension"])
        ax.set_xlabel("perception - expectation (scale points, 95% CI)")
        worst = t.iloc[0]
        ax.set_title(f"Largest shortfall: {worst['dimension']} ({worst['gap']:+.2f} points)"
                     if worst["gap"] < 0 else "Perceptions meet expectations on every dimension")
        return ax


def servqual(surveys: pd.DataFrame, dimensions: Sequence[str] | None = None) -> ServqualResult | None:
    """Perception minus expectation per SERVQUAL dimension, with paired t 95% CIs.

    Looks for column pairs ``exp_<dimension>`` / ``perc_<dimension>`` (e.g. reliability,
    assurance, tangibles, empathy, responsiveness); returns None, with a logged warning, when
    there is none. Rows sort by gap, largest shortfall first.

    Examples
    --------
    >>> sq = gapkit.ipa.servqual(gapkit.datasets.sample()["surveys"])  # the sample has no item pairs
    >>> sq.table if sq else "no SERVQUAL items"
    'no SERVQUAL items'
    """
    found = [c[4:] for c in surveys.columns if c.startswith("exp_") and f"perc_{c[4:]}" in surveys.columns]
    if dimensions is not None:
        lacking = [d for d in dimensions if d not in found]
        if lacking:
            raise InputError(f"surveys: no exp_/perc_ column pair for {lacking}; pairs present: {found}")
        found = list(dimensions)
    if not found:
        log.warning("servqual: surveys have no exp_<dimension>/perc_<dimension> column pairs; no SERVQUAL table")
        return None
    rows = []
    for dim in found:
        pair = surveys[[f"exp_{dim}", f"perc_{dim}"]].apply(pd.to_numeric, errors="coerce").dropna()
        diff = (pair[f"perc_{dim}"] - pair[f"exp_{dim}"]).to_numpy(float)
        n = diff.size
        stats_ = DescrStatsW(diff) if n > 1 else None
        low, high = stats_.tconfint_mean() if stats_ else (np.nan, np.nan)
        rows.append({"dimension": dim, "n": n, "expectation": pair[f"exp_{dim}"].mean(),
                     "perception": pair[f"perc_{dim}"].mean(), "gap": diff.mean() if n else np.nan,
                     "gap_ci_low": low, "gap_ci_high": high,
                     "p_value": stats_.ttest_mean(0)[1] if stats_ else np.nan, "small_n": n < 2})
    return ServqualResult(pd.DataFrame(rows).sort_values("gap", kind="stable").reset_index(drop=True))
