"""The words of the reports: findings generated from the numbers, and tables shaped for reading.

Every sentence here is computed from a table, so a report's executive summary changes when
(and only when) its numbers do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from gapkit.formatting import money, p_phrase
from gapkit.kpi_catalog import KPIS
from gapkit.results import Result


def fmt(value: float, kpi: str) -> str:
    """A KPI value as a reader expects it (see :mod:`gapkit.formatting`)."""
    from gapkit.formatting import kpi_value

    return kpi_value(value, kpi)


def fmt_ci(low: float, high: float, kpi: str) -> str:
    if not (np.isfinite(low) and np.isfinite(high)):
        return "too few units"
    return f"{fmt(low, kpi)} to {fmt(high, kpi)}"


def kpi_overview(kpi_table: pd.DataFrame) -> pd.DataFrame:
    """The overall KPI rows, formatted for reading (one row per KPI)."""
    rows = kpi_table[(kpi_table["period"] == "all") & (kpi_table["segment_by"] == "all")]
    return pd.DataFrame({
        "KPI": rows["kpi"],
        "what it is": rows["label"],
        "n": rows["n"],
        "value": [fmt(v, k) for v, k in zip(rows["value"], rows["kpi"])],
        "95% CI": [fmt_ci(lo, hi, k) + (" (small n: may be too narrow)" if small and np.isfinite(lo) else "")
                   for lo, hi, k, small in zip(rows["ci_low"], rows["ci_high"], rows["kpi"], rows["small_n"])],
        "better": rows["better"],
    }).reset_index(drop=True)


#: Support KPIs measured on the wall clock and on the team's schedule (config business_hours).
CLOCK_PAIRS = (("first_response_hours", "first_response_hours_bh"), ("first_response_sla", "first_response_sla_bh"),
               ("resolution_hours", "resolution_hours_bh"))


@dataclass(frozen=True, eq=False, repr=False)
class SupportClocks(Result):
    """Support KPIs on the wall clock beside the same KPIs in business hours (overall rows)."""

    schedule: str = ""
    title: ClassVar[str] = "Support on the team's clock"

    @property
    def kinds(self) -> dict:  # the n columns are counts; the values come formatted
        return {c: "count" for c in self.table.columns if c.endswith(" n")}

    def summary(self) -> str:
        if self.table.empty:
            return f"Business hours: {self.schedule}. No ticket has a business-hours value by the report date."
        return f"Business hours: {self.schedule}."


def support_clocks(kpi_table: pd.DataFrame, schedule=None):
    """The wall-clock and business-hours values of each pair of :data:`CLOCK_PAIRS`, as a
    :class:`SupportClocks`; a :class:`gapkit.adapt.Skipped` when no ``schedule``
    (config ``business_hours``) is set.
    """
    from gapkit.adapt import Skipped

    measured = set(kpi_table["kpi"])
    if not any(wall in measured for wall, _ in CLOCK_PAIRS):
        return Skipped("Business-hours support KPIs", "no support ticket has a response or resolution by the "
                       "report date", "response and resolution times on the wall clock and on the support "
                       "team's schedule", "export tickets.csv with created_at, first_response_at and resolved_at")
    if schedule is None:
        return Skipped("Business-hours support KPIs", "the configuration has no business_hours",
                       "response and resolution times on the support team's schedule",
                       "add business_hours (time_zone, days, hours, holidays) to gapkit.yml; see the README")
    rows = kpi_table[(kpi_table["period"] == "all") & (kpi_table["segment_by"] == "all")].set_index("kpi")
    out = []
    for wall, business in CLOCK_PAIRS:
        if wall not in rows.index or business not in rows.index:
            continue
        out.append({"KPI": KPIS[wall].label, "unit": KPIS[wall].unit, "better": KPIS[wall].better})
        for clock, kpi in (("wall clock", wall), ("business hours", business)):
            row = rows.loc[kpi]
            out[-1][clock] = fmt(row["value"], kpi)
            out[-1][f"{clock} 95% CI"] = fmt_ci(row["ci_low"], row["ci_high"], kpi)
            out[-1][f"{clock} n"] = int(row["n"])
    return SupportClocks(pd.DataFrame(out), schedule=schedule.describe())


def key_numbers(kpi_table: pd.DataFrame) -> str:
    """Plain text of the overall KPIs (value, CI, n): the lines nbval guards."""
    rows = kpi_table[(kpi_table["period"] == "all") & (kpi_table["segment_by"] == "all")]
    lines = [f"{r.kpi:<24} {r.value:>10.4f}  [{r.ci_low:.4f}, {r.ci_high:.4f}]  n={r.n}"
             for r in rows.itertuples(index=False)]
    return "\n".join(lines)


def reject_summary(rejects: pd.DataFrame) -> pd.DataFrame:
    """Rejected rows grouped by table, column and reason, with counts."""
    if rejects.empty:
        return pd.DataFrame(columns=["table", "column", "reason", "rows"])
    # one line per kind of duplicate: the row numbers go, what happened to the first copy stays
    generic = rejects["reason"].str.replace(r"\(first seen in row \d+\)", "(first seen in an earlier row)", regex=True)
    return (rejects.assign(reason=generic).groupby(["table", "column", "reason"])["row"].nunique()
            .rename("rows").reset_index().sort_values("rows", ascending=False, kind="stable"))


def _widest_segment_gap(kpi_table: pd.DataFrame, segment_by: str):
    rows = kpi_table[(kpi_table["period"] == "all") & (kpi_table["segment_by"] == segment_by)
                     & (kpi_table["n"] >= 30) & ~kpi_table["small_n"]]
    best = None
    for kpi, group in rows.groupby("kpi", sort=True):
        if KPIS[kpi].unit != "share" or len(group) < 2:
            continue
        sign = 1 if KPIS[kpi].better == "higher" else -1
        ordered = group.sort_values("value", ascending=sign > 0)
        worst, top = ordered.iloc[0], ordered.iloc[-1]
        separated = (worst["ci_high"] < top["ci_low"]) if sign > 0 else (worst["ci_low"] > top["ci_high"])
        spread = abs(top["value"] - worst["value"])
        if separated and (best is None or spread > best[0]):
            best = (spread, kpi, worst, top)
    return best


def current_state_findings(kpi_table: pd.DataFrame, counts: pd.DataFrame, segments=()) -> list[str]:
    """Three to five sentences on data quality, the weakest KPIs and the widest segment gaps."""
    lines = []
    total_in, total_out = int(counts["input_rows"].sum()), int(counts["rejected"].sum())
    worst_table = counts.sort_values("rejected", ascending=False).iloc[0]
    quality = f"{total_out} of {total_in} input rows ({total_out / max(total_in, 1):.2%}) were quarantined"
    if total_out:
        quality += f", most in {worst_table['table']} ({int(worst_table['rejected'])}); see the rejects table."
    else:
        quality += "."
    lines.append(quality)
    overall = kpi_table[(kpi_table["period"] == "all") & (kpi_table["segment_by"] == "all")]
    # no "weakest KPI" here: a 14% referral rate and a 70% csat are not on one scale of good
    for kpi in ("csat", "nps", "repeat_purchase_rate"):
        row = overall[overall["kpi"] == kpi]
        if len(row):
            r = row.iloc[0]
            lines.append(f"{r['label']}: {fmt(r['value'], kpi)} (95% CI {fmt_ci(r['ci_low'], r['ci_high'], kpi)}, "
                         f"n={r['n']}).")
            break
    for segment_by in segments:
        found = _widest_segment_gap(kpi_table, segment_by)
        if found:
            _, kpi, worst, top = found
            lines.append(f"Widest real gap between {segment_by} values: {kpi} is {fmt(worst['value'], kpi)} in "
                         f"{worst['segment']} against {fmt(top['value'], kpi)} in {top['segment']} "
                         f"(95% CIs do not overlap).")
        if len(lines) >= 5:
            break
    return lines[:5]


def engine_note(engine: str) -> str:
    """One sentence for the report on where its KPIs were computed (the configuration's ``engine``)."""
    other = "duckdb" if engine == "pandas" else "pandas"
    return (f"The KPIs were computed on the {engine} engine (engine: {engine} in the configuration); "
            f"engine: {other} gives the same figures (n and medians exactly, other values to 1e-9 relative).")


def desired_state_findings(goals_table: pd.DataFrame) -> list[str]:
    letters = ["specific", "measurable", "attainable", "relevant", "time_bound"]
    if goals_table.empty:
        return ["No goals are configured: add them to gapkit.yml; the targets proposed below are a place to start."]
    lines = []
    smart = goals_table[(goals_table[letters] == "pass").all(axis=1)]
    lines.append(f"{len(smart)} of {len(goals_table)} goals pass all five SMART checks.")
    for letter in letters:
        failed = goals_table[goals_table[letter] == "fail"]
        if len(failed):
            lines.append(f"{letter.replace('_', '-').capitalize()} fails for {', '.join(failed['goal_id'])}.")
    return lines[:5]


def gap_findings(gap_table: pd.DataFrame) -> list[str]:
    if gap_table.empty:
        return ["No goals are configured, so no gap between current and desired state is tested."]
    lines = []
    counts = gap_table["status"].value_counts()
    lines.append(f"Of {len(gap_table)} goals, {counts.get('shortfall', 0)} show a significant shortfall, "
                 f"{counts.get('not_significant', 0)} fall short within the noise, {counts.get('met', 0)} are met"
                 f" and {counts.get('insufficient_data', 0)} lack data (Benjamini-Hochberg adjusted, 5%).")
    # the ranking of gapkit.gaps (one rule for findings, gap table and action plan)
    ranked = gap_table[gap_table["rank"].notna()].sort_values("rank") if "rank" in gap_table else gap_table.iloc[:0]
    for row in ranked.head(3).itertuples(index=False):
        who = "everyone" if row.segment_by == "all" else f"{row.segment_by} {row.segment}"
        lines.append(f"Fix first ({int(row.rank)}): {KPIS[row.kpi].label if row.kpi in KPIS else row.kpi} for "
                     f"{who} is {fmt(row.current, row.kpi)} against a target of {fmt(row.target, row.kpi)} "
                     f"(n={int(row.n):,}{_small(row)}, short by {row.gap_rel:.0%} of the target, adjusted "
                     f"{p_phrase(row.p_adj)}{_over(row)}).")
    return lines[:5]


def _small(row) -> str:
    """Words for a value read from a small sample, so no finding states it bare."""
    return ", a small sample: its interval may be too narrow" if bool(getattr(row, "small_n", False)) else ""


def _over(row) -> str:
    window = getattr(row, "window", "")
    if isinstance(window, str) and ".." in window:
        first, last = window.split("..")
        return f"; current = {first} to {last}" if first != last else f"; current = {first}"
    return ""


def impact_findings(impact_table: pd.DataFrame, cost_benefit_table: pd.DataFrame, progress: pd.DataFrame,
                    currency: str = "") -> list[str]:
    """Which strategies moved a KPI (with confidence), which paid off, and where goals are heading."""
    from gapkit.impact import finding

    lines = []
    if impact_table.empty or cost_benefit_table.empty:  # a section the data could not support says so itself
        impact_table = pd.DataFrame(columns=["chosen", "p_value"]) if impact_table.empty else impact_table
        cost_benefit_table = pd.DataFrame(columns=["intervention_id", "npv", "npv_ci_low", "npv_ci_high"]) \
            if cost_benefit_table.empty else cost_benefit_table
    chosen = impact_table[impact_table["chosen"].astype(bool)]
    clear = chosen[chosen["p_value"] < 0.05]
    for row in clear.to_dict("records")[:2]:
        lines.append(finding(row))
    if clear.empty and len(chosen):
        lines.append(f"None of the {len(chosen)} intervention x KPI effects is distinguishable from zero at 5%.")
    for row in cost_benefit_table.head(2).itertuples(index=False):
        verdict = ("clears zero with 95% confidence" if row.npv_ci_low > 0 else
                   "loses money with 95% confidence" if row.npv_ci_high < 0 else "is uncertain (interval spans zero)")
        amount = lambda v: money(v, currency)  # noqa: E731
        caveat = getattr(row, "caveat", "")
        caveat = f" Caveat: {caveat}." if isinstance(caveat, str) and caveat else ""
        lines.append(f"{row.intervention_id}: NPV {amount(row.npv)} (95% interval {amount(row.npv_ci_low)} to "
                     f"{amount(row.npv_ci_high)}) {verdict}.{caveat}")
    if len(progress):
        counts = progress["status"].value_counts()
        lines.append("Goals: " + ", ".join(f"{counts[s]} {s.replace('_', ' ')}" for s in
                                           ["on_track", "at_risk", "off_track", "deadline_passed", "unknown"]
                                           if s in counts) + " (the recent monthly line extended to each deadline).")
    return lines[:5]
