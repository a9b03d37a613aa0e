"""The words of the reports: findings generated from the numbers, and tables shaped for reading.

Every sentence here is computed from a table, so a report's executive summary changes when
(and only when) its numbers do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from gapkit.contract.catalog import KPIS
from gapkit.report.formatting import money, p_phrase
from gapkit.report.results import Result


def fmt(value: float, kpi: str) -> str:
    """A KPI value as a reader expects it (see :mod:`gapkit.formatting`)."""
    from gapkit.report.formatting import kpi_value

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
    from gapkit.report.adapt import Skipped

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
    keys = ["table", "column", "rule", "reason"] if "rule" in rejects else ["table", "column", "reason"]
    if rejects.empty:
        return pd.DataFrame(columns=[*keys, "rows"])
    # one line per kind of problem: the row and line numbers go, what happened to the first copy stays
    generic = (rejects["reason"]
               .str.replace(r"\(first seen in row \d+\)", "(first seen in an earlier row)", regex=True)
               .str.replace(r"^line \d+ has", "a line has", regex=True))
    return (rejects.assign(reason=generic).groupby(keys)["row"].nunique()
            .rename("rows").reset_index().sort_values("rows", ascending=False, kind="stable"))


HEADLINE_KPIS = ("nps", "csat", "csat_mean", "repeat_purchase_rate", "referral_rate")


def segment_gap_tests(table: pd.DataFrame, segments=(), min_n: int = 30) -> pd.DataFrame:
    """Every share KPI x segment column scanned for a difference between its segments.

    One chi-square test of homogeneity per KPI and column (segments with at least ``min_n``
    units), Benjamini-Hochberg adjusted across all of them: a finding that picks the widest of
    many comparisons is then no more often false than the adjusted level says (with no true
    differences anywhere, any finding at all in about 5% of reports, not one in four).
    Columns: kpi, segment_by, worst, best, worst_value, best_value, spread, p_value, p_adj.
    """
    from scipy.stats import chi2_contingency
    from statsmodels.stats.multitest import multipletests

    found = []
    for segment_by in segments:
        rows = table[(table["segment_by"] == segment_by) & (table["n"] >= min_n)]
        for kpi, group in rows.groupby("kpi", sort=True):
            if kpi not in KPIS or KPIS[kpi].unit != "share" or len(group) < 2:
                continue
            yes = np.round(group["value"].to_numpy(float) * group["n"].to_numpy(float))
            counts = np.vstack([yes, group["n"].to_numpy(float) - yes])
            if (counts.sum(axis=1) == 0).any():
                continue  # the same value everywhere: nothing to test
            p = float(chi2_contingency(counts)[1])
            sign = 1 if KPIS[kpi].better == "higher" else -1
            ordered = group.sort_values("value", ascending=sign > 0)
            worst, best = ordered.iloc[0], ordered.iloc[-1]
            found.append({"kpi": kpi, "segment_by": segment_by, "worst": worst["segment"], "best": best["segment"],
                          "worst_value": float(worst["value"]), "best_value": float(best["value"]),
                          "spread": abs(float(best["value"]) - float(worst["value"])), "p_value": p})
    out = pd.DataFrame(found, columns=["kpi", "segment_by", "worst", "best", "worst_value", "best_value", "spread",
                                       "p_value", "p_adj"])
    if len(out):
        out["p_adj"] = multipletests(out["p_value"], method="fdr_bh")[1]
    return out


def response_caveat(kpi_table: pd.DataFrame, kpi: str, segment_by: str) -> str:
    """A sentence when a survey KPI is compared across segments whose customers answer surveys at
    different rates (chi-square test of answered / not answered by segment, whole history): the
    KPI speaks for those who answered, so a segment's score may reflect who answers. "" otherwise
    (not a survey KPI, no response rates by that segment, or no significant difference)."""
    from scipy.stats import chi2_contingency

    if kpi not in KPIS or "surveys" not in KPIS[kpi].tables or kpi == "survey_response_rate":
        return ""
    rates = kpi_table[(kpi_table["kpi"] == "survey_response_rate") & (kpi_table["period"] == "all")
                      & (kpi_table["segment_by"] == segment_by) & (kpi_table["n"] > 0)]
    if len(rates) < 2:
        return ""
    answered = np.round(rates["value"].to_numpy(float) * rates["n"].to_numpy(float))
    counts = np.column_stack([answered, rates["n"].to_numpy(float) - answered])
    if (counts.sum(axis=0) == 0).any():
        return ""
    p = float(chi2_contingency(counts)[1])
    if p >= 0.05:
        return ""
    shown = ", ".join(f"{seg} {fmt(v, 'survey_response_rate')}" for seg, v in
                      zip(rates["segment"], rates["value"]))
    return (f" {KPIS[kpi].label} counts only those who answered, and survey response rates differ by "
            f"{segment_by} ({shown}; {p_phrase(p)}): part of the difference may be who answers.")


def response_caveats(kpi_table: pd.DataFrame, pairs) -> list[str]:
    """:func:`response_caveat` for each (kpi, segment column) compared, those that apply."""
    return [c.strip() for c in (response_caveat(kpi_table, kpi, by) for kpi, by in pairs) if c]


def change_since_before(kpi_table: pd.DataFrame, current_row: pd.Series) -> tuple[float, float] | None:
    """The current window's level against the same number of months just before it: the change
    and its two-sided p-value, from the monthly rows (shares: a two-proportion z test on the
    pooled counts; means and NPS: the n-weighted monthly means, standard errors from their
    intervals). None for medians or without enough months."""
    from scipy import stats

    window = current_row.get("window")
    kpi = current_row["kpi"]
    if not isinstance(window, str) or ".." not in window or kpi not in KPIS or KPIS[kpi].kind == "median":
        return None
    first, last = (pd.Period(m, freq="M") for m in window.split(".."))
    length = (last - first).n + 1
    months = kpi_table[(kpi_table["kpi"] == kpi) & (kpi_table["segment_by"] == current_row["segment_by"])
                       & (kpi_table["segment"] == current_row["segment"]) & (kpi_table["period"] != "all")]
    months = months[months["period"].astype(str).str.fullmatch(r"\d{4}-\d{2}")]
    period = pd.PeriodIndex(months["period"].astype(str), freq="M")
    before = months[(period >= first - length) & (period < first)]
    now = months[(period >= first) & (period <= last)]
    if len(before) < length or before["n"].sum() < 30 or now["n"].sum() < 30:
        return None

    def pooled(frame):
        n = frame["n"].to_numpy(float)
        value = float(np.average(frame["value"].to_numpy(float), weights=n))
        if KPIS[kpi].unit == "share":
            return value, value * (1 - value) / n.sum()
        se = (frame["ci_high"] - frame["ci_low"]).to_numpy(float) / 2 / 1.959964
        return value, float(np.nansum((n * se) ** 2) / n.sum() ** 2)

    (a, va), (b, vb) = pooled(now), pooled(before)
    if KPIS[kpi].unit == "share":  # the pooled proportion under "no change"
        both = (a * now["n"].sum() + b * before["n"].sum()) / (now["n"].sum() + before["n"].sum())
        va = vb = both * (1 - both)
        va, vb = va / now["n"].sum(), vb / before["n"].sum()
    se = np.sqrt(va + vb)
    if not np.isfinite(se) or se == 0:
        return None
    return a - b, float(2 * stats.norm.sf(abs(a - b) / se))


def current_state_findings(kpi_table: pd.DataFrame, counts: pd.DataFrame, segments=(),
                           current: pd.DataFrame | None = None) -> list[str]:
    """What a manager needs first: the headline KPIs now (their recent complete months, beside
    the whole history), how they moved against the months before, the segment gaps that
    survive a multiplicity correction; data quality last. At most five sentences."""
    from gapkit.report.formatting import kpi_gap

    lines = []
    overall = kpi_table[(kpi_table["period"] == "all") & (kpi_table["segment_by"] == "all")]
    now = (current[current["segment_by"] == "all"] if current is not None and len(current)
           else overall.iloc[0:0])
    for kpi in [k for k in HEADLINE_KPIS if k in set(overall["kpi"])]:
        if len(lines) == 2:
            break
        whole = overall[overall["kpi"] == kpi].iloc[0]
        value = float(whole["value"])
        at_bound = KPIS[kpi].unit == "share" and value in (0.0, 1.0)
        if not np.isfinite(value) or at_bound or float(whole["ci_low"]) == float(whole["ci_high"]):
            continue  # one value for every unit (no customer ever came back) is no headline
        here = now[now["kpi"] == kpi]
        # a current level without an interval (too few units in the recent months) is no headline
        if len(here) and np.isfinite(float(here.iloc[0]["value"])) and np.isfinite(float(here.iloc[0]["ci_low"])):
            r = here.iloc[0]
            first, last = str(r["window"]).split("..")
            span = f"{first} to {last}" if first != last else first
            line = (f"{r['label']} now: {fmt(r['value'], kpi)} over {span} (95% CI "
                    f"{fmt_ci(r['ci_low'], r['ci_high'], kpi)}, n={int(r['n']):,}); {fmt(whole['value'], kpi)} "
                    f"over the whole history.")
            change = change_since_before(kpi_table, r)
            if change is not None:
                delta, p = change
                moved = "a change" if p < 0.05 else "within the noise"
                line += (f" Against the {_months(first, last)} before: {kpi_gap(delta, kpi)}, {moved} "
                         f"({p_phrase(p)}).")
        else:
            line = (f"{whole['label']}: {fmt(whole['value'], kpi)} over the whole history (95% CI "
                    f"{fmt_ci(whole['ci_low'], whole['ci_high'], kpi)}, n={int(whole['n']):,}); no current level "
                    f"yet: the recent complete months hold too few units.")
        lines.append(line)
    # segments are compared over the whole history: the recent months alone leave most segments
    # too small to tell apart, and a lasting difference is what a manager can act on
    scanned = segment_gap_tests(kpi_table[kpi_table["period"] == "all"], segments)
    real = scanned[scanned["p_adj"] < 0.05].sort_values("spread", ascending=False)
    for row in real.head(2).itertuples(index=False):
        lines.append(f"By {row.segment_by}: {KPIS[row.kpi].label} {fmt(row.worst_value, row.kpi)} in "
                     f"{row.worst} against {fmt(row.best_value, row.kpi)} in {row.best} (adjusted "
                     f"{p_phrase(row.p_adj)} across the {len(scanned)} KPI x segment comparisons scanned, whole "
                     f"history)." + response_caveat(kpi_table, row.kpi, row.segment_by))
    if len(scanned) and real.empty:
        lines.append(f"No segment stands apart: none of the {len(scanned)} KPI x segment comparisons scanned shows "
                     f"a difference after adjusting for their number.")
    total_in, total_out = int(counts["input_rows"].sum()), int(counts["rejected"].sum())
    quality = f"Data: {total_out:,} of {total_in:,} input rows ({total_out / max(total_in, 1):.2%}) were quarantined"
    if total_out:
        worst_table = counts.sort_values("rejected", ascending=False).iloc[0]
        quality += f", most in {worst_table['table']} ({int(worst_table['rejected'])}); see the rejects table."
    else:
        quality += "."
    lines = lines[:4]
    lines.append(quality)
    return lines


def _months(first: str, last: str) -> str:
    count = (pd.Period(last, freq="M") - pd.Period(first, freq="M")).n + 1
    return "month" if count == 1 else f"{count} months"


def engine_note(engine: str) -> str:
    """One sentence for the report on where its KPIs were computed (the configuration's ``engine``)."""
    other = "duckdb" if engine == "pandas" else "pandas"
    # Polars divides by a constant as a multiplication by its reciprocal: a duration may differ in its last bit
    medians = "medians to the last bit" if engine == "polars" else "medians exactly"
    where = ("" if engine == "pandas" else
             " That is the KPI table and the current levels; the analyses after them read the checked tables in "
             "pandas.")
    return (f"The KPIs were computed on the {engine} engine (engine: {engine} in the configuration); "
            f"engine: {other} gives the same figures (n exactly, {medians}, other values to 1e-9 relative).{where}")


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
    def agree(count: int, one: str, many: str) -> str:
        return f"{count} {one if count == 1 else many}"

    lines.append(f"Of {len(gap_table)} goals, {agree(counts.get('shortfall', 0), 'shows', 'show')} a significant "
                 f"shortfall, {agree(counts.get('not_significant', 0), 'falls', 'fall')} short within the noise, "
                 f"{agree(counts.get('met', 0), 'is', 'are')} met and "
                 f"{agree(counts.get('insufficient_data', 0), 'lacks', 'lack')} data (p-values adjusted for "
                 f"testing several goals at once, Benjamini-Hochberg, 5%).")
    # the ranking of gapkit.gaps (one rule for findings, gap table and action plan)
    ranked = gap_table[gap_table["rank"].notna()].sort_values("rank") if "rank" in gap_table else gap_table.iloc[:0]
    for row in ranked.head(3).itertuples(index=False):
        who = "everyone" if row.segment_by == "all" else f"{row.segment_by} {row.segment}"
        lines.append(f"Fix first ({int(row.rank)}): {KPIS[row.kpi].label if row.kpi in KPIS else row.kpi} for "
                     f"{who} is {fmt(row.current, row.kpi)} against a target of {fmt(row.target, row.kpi)} "
                     f"(n={int(row.n):,}{_small(row)}, {_size(row)}, adjusted "
                     f"{p_phrase(row.p_adj)}{_over(row)}).")
    return lines[:5]


def _size(row) -> str:
    """The shortfall in the KPI's own unit and in words of effect size (the ranking's scale)."""
    from gapkit.report.formatting import kpi_gap

    amount = kpi_gap(abs(row.gap), row.kpi).lstrip("+")
    std = getattr(row, "gap_std", float("nan"))
    if not isinstance(std, (int, float)) or std != std:
        return f"short by {amount}"
    words = "a large" if std >= 0.8 else "a medium" if std >= 0.5 else "a small" if std >= 0.2 else "a very small"
    return f"short by {amount}, {words} gap for its customers ({std:.2f} spreads)"


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
    from gapkit.impact.effects import finding

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
        lines.append(progress_line(progress))
    return lines[:5]


def progress_line(progress: pd.DataFrame) -> str:
    """The goals by status, and for those at risk which way the recent line points: a few
    months whose swings may persist leave most projections uncertain, and the manager still
    needs to know which goals the line carries past their target and which it leaves short."""
    counts = progress["status"].value_counts()
    parts = []
    for status in ["on_track", "at_risk", "off_track", "deadline_passed", "unknown"]:
        if status not in counts:
            continue
        part = f"{counts[status]} {status.replace('_', ' ')}"
        if status == "at_risk":
            risky = progress[progress["status"] == "at_risk"]
            better = np.where(risky["kpi"].map(lambda k: KPIS[k].better == "higher"), 1, -1)
            reaching = int((better * (risky["projected"] - risky["target"]) >= 0).sum())
            part += (f" (the recent line reaches the target in {reaching} of them and falls short in "
                     f"{len(risky) - reaching}, but the months so far cannot tell it from swings)")
        parts.append(part)
    return "Goals: " + ", ".join(parts) + " (the recent monthly line extended to each deadline)."
