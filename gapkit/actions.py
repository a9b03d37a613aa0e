"""From gaps to actions: the ranked action plan (``action_plan.csv``).

One row per significant shortfall, in the order of :func:`gapkit.gaps.gaps` (the one priority
rule every report uses), with

- the evidence: what the key-driver model says about the KPI, the journey stage where the gap
  occurs (how many orders reach it, how long it takes), and how many negative comments mention
  that stage;
- a concrete next step from a small catalog of post-sale practices (:data:`PRACTICES`);
- the expected value of closing the gap, per month, where the configuration values a change of
  the KPI (``valuation``): gap x value per unit x units per month, the units per month being the
  mean monthly n of the KPI (for the goal's segment) over its last three complete months.

Nothing here is a new estimate: every number is read from the gap, driver, journey and KPI tables.

Examples
--------
>>> kpi_table = gapkit.kpis(data, "2025-06-30", by=["segment"], period="M")
>>> gap_result = gapkit.gaps.gaps(config.goals, kpi_table, data=data, as_of="2025-06-30")
>>> plan = gapkit.actions.action_plan(gap_result.table, kpi_table, drivers=None)
>>> plan.table[["rank", "goal_id", "action"]]
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from gapkit import formatting
from gapkit.kpi_catalog import FIRST_FOLLOWUP, KPIS
from gapkit.results import Result

__all__ = ["ACTION_COLUMNS", "PRACTICES", "STAGE_WORDS", "ActionPlan", "action_plan"]

ACTION_COLUMNS = ["rank", "goal_id", "kpi", "segment_by", "segment", "gap", "evidence", "action", "expected_value"]
EXTRA_COLUMNS = ["current", "target", "n", "p_adj", "priority", "stage", "driver_evidence", "stage_evidence",
                 "comment_evidence", "expected_value_basis"]

#: The next step for a shortfall on each KPI: post-sale practices a support or CX lead would start with.
PRACTICES: dict[str, str] = {
    "followup_coverage": "Add a check-in message after delivery for every order, sent automatically from the "
                         "delivery event rather than by hand.",
    "followup_latency_days": "Trigger the first follow-up from the delivery event (same or next day) instead of "
                             "a batch schedule.",
    "personalization_rate": "Personalize the follow-up: the customer's name, the product bought and one tip "
                            "for using it.",
    "on_time_delivery_rate": "Review carrier performance and the promise dates; warn customers proactively "
                             "before a promise is missed.",
    "delivery_days": "Shorten fulfilment (stock placement, carrier choice) and keep promise dates honest "
                     "meanwhile.",
    "first_response_sla": "Staff support to the hours tickets arrive and send an auto-acknowledgement that "
                          "says when a person will answer.",
    "first_response_hours": "Staff support to the hours tickets arrive; route tickets by topic so the first "
                            "answer comes from someone who can help.",
    "resolution_rate": "Escalate tickets still open near the resolution window; review aged tickets weekly.",
    "resolution_hours": "Triage tickets by type and give agents macros and a knowledge base for the frequent "
                        "issues.",
    "fcr_rate": "Let first-line agents resolve on first contact (authority to refund or replace, a knowledge "
                "base).",
    "reopen_rate": "Confirm the fix with the customer before closing a ticket; review reopened tickets for root "
                   "causes.",
    "csat": "Close the loop: call back customers who scored 1-3 within two days and fix the cause they name.",
    "csat_mean": "Close the loop: call back customers who scored 1-3 within two days and fix the cause they name.",
    "nps": "Close the loop with detractors (0-6); ask promoters (9-10) for a review or a referral.",
    "ces_mean": "Remove effort: fewer steps to get help, self-service for the common questions, no repeating "
                "details across channels.",
    "survey_response_rate": "Send the survey soon after delivery or resolution, keep it to one to three "
                            "questions, make it work on a phone.",
    "repeat_purchase_rate": "Time a replenishment reminder or next-purchase offer to the usual repurchase "
                            "interval, and work on the drivers of coming back.",
    "referral_rate": "Ask satisfied customers (CSAT 4-5, promoters) for a referral, with a reward for both "
                     "sides.",
    "referral_conversion_rate": "Give referred friends a landing page and offer that name the referrer, and "
                                "follow up with those who did not buy within a week.",
}

#: Word stems that tie a (English, VADER-scored) comment to a journey stage.
STAGE_WORDS: dict[str, tuple[str, ...]] = {
    "delivery": ("deliver", "shipping", "shipped", "arriv", "late", "courier", "package", "parcel", "tracking",
                 "damaged"),
    "followup": ("email", "e-mail", "follow", "message", "heard", "reach", "check"),
    "support_ticket": ("support", "ticket", "agent", "respon", "answer", "repl", "wait", "help", "call", "chat",
                       "resolv", "refund"),
    "survey": ("survey", "questionnaire"),
    "repeat_purchase": ("again", "return", "next time", "price", "offer", "discount", "coupon"),
    "referral": ("recommend", "friend", "refer"),
}
REFERRAL_STAGE = "referral"


@dataclass(frozen=True, eq=False, repr=False)
class ActionPlan(Result):
    """The action plan: ``.table`` (action_plan.csv), ``.summary()``, shown as a table in Jupyter."""

    rule: str = ""
    notes: tuple[str, ...] = ()
    currency: str = ""
    title: ClassVar[str] = "Action plan"
    artifact: ClassVar[str] = "action_plan.csv"

    def summary(self) -> str:
        if self.table.empty:
            return "No significant shortfall, so no action is ranked."
        lines = [f"{len(self.table)} significant shortfall(s), ranked:"]
        for row in self.table.itertuples(index=False):
            who = "everyone" if row.segment_by == "all" else f"{row.segment_by} {row.segment}"
            value = (f" Worth about {formatting.money(row.expected_value, self.currency)} a month if closed."
                     if np.isfinite(row.expected_value) else "")
            lines.append(f"{row.rank}. {_label(row.kpi)} for {who}: {row.action}{value}")
        return "\n".join(lines)

    def shown(self) -> pd.DataFrame:
        return self.table.assign(kpi=self.table["kpi"].map(_label))[
            ["rank", "kpi", "segment", "current", "target", "gap", "evidence", "action", "expected_value"]]

    def footnotes(self) -> tuple[str, ...]:
        return tuple(n for n in (self.rule, *self.notes) if n)

    def styled(self):
        shown = self.shown()
        if self.table.empty:
            return formatting.EmptyTable("")
        kinds = {"rank": "count", "current": lambda v, row: formatting.kpi_value(v, _kpi_of(row, self.table)),
                 "target": lambda v, row: formatting.kpi_value(v, _kpi_of(row, self.table)),
                 "gap": lambda v, row: formatting.kpi_gap(v, _kpi_of(row, self.table)),
                 "expected_value": lambda v, row: formatting.money(v, self.currency) + " / month"
                 if np.isfinite(v) else formatting.MISSING}
        styler = formatting.table(shown.assign(_row=range(len(shown))), kinds).hide(["_row"], axis="columns")
        return styler.set_properties(subset=["evidence", "action"], **{"text-align": "left", "min-width": "18em"})

    def _repr_html_(self) -> str:
        # the ranked sentences repeat the table; the HTML shows the table with its notes
        notes = "".join(f"<p><small>{html.escape(n)}</small></p>" for n in self.footnotes())
        if self.table.empty:
            return f"<p>{html.escape(self.summary())}</p>" + notes
        return f"<p><b>{html.escape(self.title)}.</b></p>" + self.styled().to_html() + notes


def _label(kpi: str) -> str:
    return KPIS[kpi].label if kpi in KPIS else str(kpi)


def _kpi_of(row: Mapping, table: pd.DataFrame) -> str:
    return table["kpi"].iloc[int(row["_row"])]


def action_plan(gap_table: pd.DataFrame, kpi_table: pd.DataFrame, drivers: pd.DataFrame | None = None,
                journey=None, comments: pd.DataFrame | None = None, valuation: Sequence[Mapping] = (),
                rule: str = "", currency: str = "", as_of=None) -> ActionPlan:
    """The ranked action plan for the significant shortfalls of ``gap_table``.

    Parameters
    ----------
    gap_table : :func:`gapkit.gaps.gaps` table (``rank`` orders the shortfalls).
    kpi_table : ``gapkit.kpis(..., period="M")`` output, for the monthly units behind the expected value.
    drivers : the key-driver table (drivers.csv), for the driver evidence.
    journey : a :class:`gapkit.journey.JourneyResult`, for the stage evidence (optional).
    comments : :func:`gapkit.text.sentiment` output, for the comment evidence (optional).
    valuation : config ``valuation`` entries; the first entry naming a KPI gives its value per unit.
    rule : the priority rule in words (``GapResult.rule``), shown under the plan.
    currency : printed after amounts (config ``currency``).
    as_of : the report date; the month it falls in counts towards the units a month only when
        as_of is that month's last day.
    """
    shortfalls = gap_table[gap_table["rank"].notna()].sort_values("rank") if "rank" in gap_table else gap_table.iloc[:0]
    notes = []
    values = _values(valuation)
    rows = []
    for g in shortfalls.to_dict("records"):
        stage = _stage(g["kpi"])
        driver = _driver_evidence(g["kpi"], drivers)
        where = _stage_evidence(stage, g, journey)
        said = _comment_evidence(stage, comments)
        worth, basis = _expected_value(g, kpi_table, values.get(g["kpi"]), currency, as_of)
        rows.append({
            "rank": int(g["rank"]), "goal_id": g["goal_id"], "kpi": g["kpi"], "segment_by": g["segment_by"],
            "segment": g["segment"], "gap": g["gap"],
            "evidence": " ".join(part for part in (driver, where, said) if part),
            "action": PRACTICES.get(g["kpi"], "Find the cause with the team that owns this KPI; no standard "
                                              "practice is catalogued for it."),
            "expected_value": worth, "current": g["current"], "target": g["target"], "n": g["n"],
            "p_adj": g["p_adj"], "priority": g["priority"], "stage": stage or "", "driver_evidence": driver,
            "stage_evidence": where, "comment_evidence": said, "expected_value_basis": basis,
        })
    if not values and rows:
        notes.append("No expected values: the configuration does not say what a KPI change is worth "
                     "(`valuation` in gapkit.yml).")
    table = pd.DataFrame(rows, columns=ACTION_COLUMNS + EXTRA_COLUMNS)
    table["expected_value"] = table["expected_value"].astype(float)
    return ActionPlan(table, rule, tuple(notes), currency)


def _stage(kpi: str) -> str | None:
    if kpi in ("referral_rate", "referral_conversion_rate"):  # the journey map ends at the repeat purchase; referrals are their own step
        return REFERRAL_STAGE
    stage = KPIS[kpi].stage if kpi in KPIS else None
    return "followup" if stage == FIRST_FOLLOWUP else stage


def _driver_evidence(kpi: str, drivers: pd.DataFrame | None) -> str:
    from gapkit.drivers import separable

    outcome_kpi = kpi in KPIS and KPIS[kpi].outcome
    if drivers is None or drivers.empty:
        return "An outcome KPI; no driver model to say what moves it." if outcome_kpi else "No driver model."
    apart, why = separable(drivers)
    outcome = str(drivers["outcome"].iloc[0]) if "outcome" in drivers else "the outcome"
    if outcome_kpi:
        if not apart:
            return f"An outcome KPI; the driver model cannot say which experience moves {_label(outcome)} most ({why})."
        top = drivers.sort_values("importance", ascending=False).iloc[0]
        return (f"An outcome KPI; the strongest driver of {_label(outcome)} is {top['driver'].replace('_', ' ')} "
                f"({formatting.share(top['importance'], 0)} of explained variance).")
    mine = drivers[drivers["kpi"] == kpi]
    if mine.empty:
        return f"Not in the driver model of {_label(outcome)}."
    d = mine.iloc[0]
    text = (f"Driver of {_label(outcome)}: {d['driver'].replace('_', ' ')} takes {formatting.share(d['importance'], 0)} "
            f"of the explained variance (95% CI {formatting.share(d['importance_ci_low'], 0)} to "
            f"{formatting.share(d['importance_ci_high'], 0)})")
    if "odds_ratio" in d and np.isfinite(pd.to_numeric(d["odds_ratio"], errors="coerce")):
        text += f", odds ratio {float(d['odds_ratio']):.2f} ({formatting.p_phrase(d.get('p_value'))})"
    return text + ("." if apart else f"; the drivers cannot be ranked ({why}).")


def _stage_evidence(stage: str | None, gap: Mapping, journey) -> str:
    if stage is None:
        return ""
    name = stage.replace("_", " ")
    if journey is None or not hasattr(journey, "table"):
        return f"Journey stage: {name}."
    table = journey.table
    segment = gap["segment"] if gap["segment_by"] != "all" else "all"
    rows = table[(table["segment"] == segment) & (table["segment_by"] == gap["segment_by"])]
    whose = ""
    if rows.empty:  # the journey is drawn by another column: say the numbers are everyone's
        rows = table[table["segment"] == "all"]
        whose = " (all customers)"
    if stage == "followup":
        rows = rows[rows["kind"] == "followup"].sort_values("order").head(1)
    else:
        rows = rows[rows["stage"] == stage]
    if rows.empty:
        return f"Journey stage: {name}."
    r = rows.iloc[0]
    days = (f", a median {formatting.number(r['median_days'])} days after the order"
            if np.isfinite(r["median_days"]) else "")
    return (f"Journey stage {str(r['stage']).replace('_', ' ')}{whose}: reached by {formatting.share(r['coverage'])} "
            f"of {formatting.count(r['n'])} orders{days}.")


def _comment_evidence(stage: str | None, comments: pd.DataFrame | None) -> str:
    if stage is None or comments is None or not isinstance(comments, pd.DataFrame) or "label" not in comments:
        return ""
    negative = comments.loc[comments["scored"].astype(bool) & comments["label"].eq("negative"), "comment"]
    if negative.empty:
        return ""
    stems = STAGE_WORDS.get(stage, ())
    pattern = re.compile(r"\b(" + "|".join(re.escape(s) for s in stems) + r")", re.IGNORECASE)
    found = negative.astype("str").str.findall(pattern)
    mention = found.str.len() > 0
    if not mention.any():
        return f"None of the {len(negative):,} negative comments mentions this stage."
    words = pd.Series([w.lower() for ws in found[mention] for w in ws]).value_counts().head(3).index
    return (f"{int(mention.sum()):,} of {len(negative):,} negative comments mention it "
            f"({', '.join(repr(w) for w in words)}).")


def _values(valuation: Sequence[Mapping]) -> dict[str, float]:
    out: dict[str, float] = {}
    for entry in valuation or ():
        kpi, value = entry.get("kpi"), pd.to_numeric(entry.get("value_per_unit"), errors="coerce")
        if kpi in KPIS and np.isfinite(value) and kpi not in out:
            out[kpi] = float(value)
    return out


def _expected_value(gap: Mapping, kpi_table: pd.DataFrame, value_per_unit: float | None, currency: str, as_of):
    if value_per_unit is None or not np.isfinite(gap["gap"]):
        return np.nan, ""
    monthly = kpi_table[(kpi_table["kpi"] == gap["kpi"]) & (kpi_table["period"] != "all")
                        & (kpi_table["segment_by"] == gap["segment_by"]) & (kpi_table["segment"] == gap["segment"])]
    if monthly.empty:
        return np.nan, "no monthly counts to say how many units a month the KPI covers"
    if as_of is not None:
        day = pd.Timestamp(str(as_of)[:10])
        partial = str(day.to_period("M")) if not day.is_month_end else None
        monthly = monthly[monthly["period"].astype(str) != partial]
    recent = monthly.sort_values("period").tail(3)
    if recent.empty:
        return np.nan, "no complete month to say how many units a month the KPI covers"
    units = float(recent["n"].mean())
    # a shortfall closed moves the KPI by the gap in its better direction; value_per_unit follows
    # gapkit.money's sign convention (negative for a lower-is-better KPI)
    change = gap["gap"] if KPIS[gap["kpi"]].better == "higher" else -gap["gap"]
    worth = change * value_per_unit * units
    per_unit = f"{formatting.number(value_per_unit)} {currency}".strip()
    basis = (f"closing the gap moves the KPI by {formatting.kpi_gap(change, gap['kpi'])}; at {per_unit} per unit for "
             f"a change of 1.0 and {formatting.number(units)} units a month ({', '.join(recent['period'])})")
    return float(worth), basis
