"""From gaps to actions: the ranked action plan (``action_plan.csv``).

One row per significant shortfall, in the order of :func:`gapkit.gaps.gaps` (the one priority
rule every report uses), with

- the evidence from the row's own segment: what its customers' negative comments say that the
  others' do not (distinguishing words and pairs, each with its counts and a one-sided Fisher
  test, Benjamini-Hochberg adjusted, and a short redacted quote), the journey stage where the
  segment lags the other customers (reach, days), and the KPI's effect in the driver model;
- a next step chosen from that evidence: the theme the comments single out
  (:data:`THEME_PRACTICES`), else the stage where the segment lags, else the KPI's own practice
  (:data:`PRACTICES`) with "no specific evidence in the data" and how to get some;
- the expected value of closing the gap, per month, where the configuration values a change of
  the KPI (``valuation``): gap x value per unit x units per month, the units per month being the
  mean monthly n of the KPI (for the goal's segment) over its last three complete months.

Nothing here is a new estimate: every number is read from the gap, driver, journey and KPI tables.

Examples
--------
>>> data = gapkit.datasets.sample()
>>> config = gapkit.datasets.sample_config()
>>> kpi_table = gapkit.kpis(data, "2025-06-30", by=["segment"], period="M")
>>> gap_result = gapkit.gaps.gaps(config.goals, kpi_table, data=data, as_of="2025-06-30")
>>> plan = gapkit.actions.action_plan(gap_result.table, kpi_table, drivers=None)
>>> plan.table[["rank", "goal_id", "action"]]
   rank          goal_id                                             action
0     1    fu-coverage-C  No specific evidence in the data for segment C...
1     2         repeat-C  No specific evidence in the data for segment C...
2     3  resolution-time  No specific evidence in the data for everyone:...
3     4         csat-all  No specific evidence in the data for everyone:...
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from gapkit.analysis.playbook import (  # noqa: F401 (the action plan's words, also read from here)
    JOURNEY_KINDS,
    NO_EVIDENCE,
    PRACTICES,
    REFERRAL_STAGE,
    STAGE_PRACTICES,
    THEME_PRACTICES,
    THEMES,
)
from gapkit.contract.artifacts import columns as artifact_columns
from gapkit.contract.catalog import FIRST_FOLLOWUP, KPIS
from gapkit.report import formatting
from gapkit.report.results import Result

__all__ = ["ACTION_COLUMNS", "PRACTICES", "THEMES", "THEME_PRACTICES", "ActionPlan", "action_plan",
           "distinguishing_phrases", "theme_of"]

ACTION_COLUMNS = list(artifact_columns("action_plan.csv"))
EXTRA_COLUMNS = ["current", "target", "n", "p_adj", "priority", "stage", "driver_evidence", "stage_evidence",
                 "comment_evidence", "expected_value_basis"]

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
        caption = "The significant shortfalls, most urgent first, with their evidence and a first step"
        return (f"<p><b>{html.escape(self.title)}.</b></p>" + self.styled().set_caption(html.escape(caption)).to_html()
                + notes)


def _label(kpi: str) -> str:
    return KPIS[kpi].label if kpi in KPIS else str(kpi)


def _kpi_of(row: Mapping, table: pd.DataFrame) -> str:
    return table["kpi"].iloc[int(row["_row"])]


def action_plan(gap_table, kpi_table: pd.DataFrame, drivers: pd.DataFrame | None = None,
                journey=None, comments: pd.DataFrame | None = None, valuation: Sequence[Mapping] = (),
                rule: str = "", currency: str = "", as_of=None, data: Mapping | None = None,
                params=None) -> ActionPlan:
    """The ranked action plan for the significant shortfalls of ``gap_table``.

    Parameters
    ----------
    gap_table : :func:`gapkit.gaps.gaps` result or its table (``rank`` orders the shortfalls).
    kpi_table : ``gapkit.kpis(..., period="M")`` output, for the monthly units behind the expected value.
    drivers : the key-driver table (drivers.csv) or result, for the driver evidence.
    journey : a :class:`gapkit.journey.JourneyResult`, for the stage where the segment lags (optional).
    comments : :func:`gapkit.text.sentiment` output, for what the segment's comments say (optional).
    valuation : config ``valuation`` entries; the first entry naming a KPI gives its value per unit.
    rule : the priority rule in words (``GapResult.rule``, taken from a result when not given).
    currency : printed after amounts (config ``currency``).
    as_of : the report date; the month it falls in counts towards the units a month only when
        as_of is that month's last day.
    data : the loaded tables, to tell whose comment is whose (a segment column of the surveys or
        the customers), and, with ``as_of``, to draw the journey by a row's own segment column
        when ``journey`` is drawn by another; without it comments are compared only as negative
        against the rest.
    params : KPI windows for such a journey.
    """
    if hasattr(gap_table, "table"):
        rule = rule or getattr(gap_table, "rule", "")
        gap_table = gap_table.table
    if drivers is not None and hasattr(drivers, "table"):
        drivers = drivers.table
    shortfalls = gap_table[gap_table["rank"].notna()].sort_values("rank") if "rank" in gap_table else gap_table.iloc[:0]
    notes = []
    values = _values(valuation)
    journeys = {}
    if journey is not None and hasattr(journey, "table"):
        for column in set(journey.table["segment_by"]) - {"all"}:
            journeys[column] = journey
    rows = []
    for g in shortfalls.to_dict("records"):
        stage = _stage(g["kpi"])
        who = "everyone" if g["segment_by"] == "all" else f"{g['segment_by']} {g['segment']}"
        driver = _driver_evidence(g["kpi"], drivers)
        if g["segment_by"] != "all" and g["segment_by"] not in journeys and data is not None and as_of is not None:
            journeys[g["segment_by"]] = _journey_by(data, as_of, g["segment_by"], params, journey)
        where, lagging = _stage_evidence(stage, g, journeys.get(g["segment_by"]))
        said, theme = _comment_evidence(g, comments, data)
        worth, basis = _expected_value(g, kpi_table, values.get(g["kpi"]), currency, as_of)
        default = PRACTICES.get(g["kpi"], "Find the cause with the team that owns this KPI; no standard practice is "
                                          "catalogued for it.")
        if theme:
            action = THEME_PRACTICES[theme].format(who=who)
        elif lagging in STAGE_PRACTICES:
            action = STAGE_PRACTICES[lagging].format(who=who)
        else:
            action = NO_EVIDENCE.format(who=who, practice=default)
        rows.append({
            "rank": int(g["rank"]), "goal_id": g["goal_id"], "kpi": g["kpi"], "segment_by": g["segment_by"],
            "segment": g["segment"], "gap": g["gap"],
            "evidence": " ".join(part for part in (said, where, driver) if part),
            "action": action, "expected_value": worth, "current": g["current"], "target": g["target"],
            "n": g["n"], "p_adj": g["p_adj"], "priority": g["priority"], "stage": stage or "",
            "driver_evidence": driver, "stage_evidence": where, "comment_evidence": said,
            "expected_value_basis": basis,
        })
    if not values and rows:
        notes.append("No expected values: the configuration does not say what a KPI change is worth "
                     "(`valuation` in gapkit.yml).")
    table = pd.DataFrame(rows, columns=ACTION_COLUMNS + EXTRA_COLUMNS)
    table["expected_value"] = table["expected_value"].astype(float)
    return ActionPlan(table, rule, tuple(notes), currency)


def _journey_by(data: Mapping, as_of, column: str, params, drawn=None):
    """The journey drawn by ``column`` (from the events of the one already drawn, when it can), or
    None when the data cannot draw one."""
    from gapkit.analysis.journey import journey
    from gapkit.errors import ConfigError, GapkitError
    from gapkit.measure.engine import as_params

    try:
        same = (getattr(drawn, "measured", None) is not None and str(pd.Timestamp(as_of).date()) == drawn.as_of
                and as_params(params).repeat_days == drawn.window_days)
        if same:
            return drawn.regroup(data, column)
        return journey(data, as_of, by=column, params=params)
    except ConfigError:
        raise
    except GapkitError:
        return None


def _stage(kpi: str) -> str | None:
    if kpi in ("referral_rate", "referral_conversion_rate"):  # referrals are their own step, off the journey map
        return REFERRAL_STAGE
    stage = KPIS[kpi].stage if kpi in KPIS else None
    return "followup" if stage == FIRST_FOLLOWUP else stage


def _driver_evidence(kpi: str, drivers: pd.DataFrame | None) -> str:
    outcome_kpi = kpi in KPIS and KPIS[kpi].outcome
    if drivers is None or drivers.empty:
        return "" if outcome_kpi else "No driver model."
    outcome = str(drivers["outcome"].iloc[0]) if "outcome" in drivers else "the outcome"
    if outcome_kpi:
        return ""  # an outcome is not a driver of itself; its row's evidence is the segment's own
    mine = drivers[drivers["kpi"] == kpi]
    if mine.empty:
        return f"Not in the driver model of {_label(outcome)}."
    d = mine.iloc[0]
    if "effect_ci_low" not in d or not np.isfinite(pd.to_numeric(d["effect_ci_low"], errors="coerce")):
        text = (f"Driver of {_label(outcome)}: {d['driver'].replace('_', ' ')}"
                + (f", odds ratio {float(d['odds_ratio']):.2f} ({formatting.p_phrase(d.get('p_value'))})"
                   if "odds_ratio" in d and np.isfinite(pd.to_numeric(d["odds_ratio"], errors="coerce")) else ""))
        return text + "."
    low, high = float(d["effect_ci_low"]), float(d["effect_ci_high"])
    verdict = ("helps" if low > 0 else "goes with worse" if high < 0 else "has no effect distinguishable from zero on")
    text = f"Driver model: {d['driver'].replace('_', ' ')} {verdict} {_label(outcome)}"
    if "odds_ratio" in d and np.isfinite(pd.to_numeric(d["odds_ratio"], errors="coerce")):
        text += f" (odds ratio {float(d['odds_ratio']):.2f}, {formatting.p_phrase(d.get('p_value'))}, all else fixed)"
    return text + "."


def _stage_evidence(stage: str | None, gap: Mapping, journey) -> tuple[str, str | None]:
    """Where in the journey the row's segment lags the other customers: (words, the lagging stage).

    Reach is compared with the rest of the customers by a two-proportion z test (5%), days by
    the medians' intervals; only a journey drawn by the row's own segment column can say this.
    """
    if journey is None or not hasattr(journey, "table") or gap["segment_by"] == "all":
        return "", None
    table = journey.table
    mine = table[(table["segment_by"] == gap["segment_by"]) & (table["segment"].astype(str) == str(gap["segment"]))]
    everyone = table[table["segment"] == "all"].set_index("stage")
    if mine.empty or everyone.empty:
        return "", None
    from statsmodels.stats.proportion import proportions_ztest

    lags = []
    for r in mine.itertuples(index=False):
        if r.stage not in everyone.index or r.n <= 0:
            continue
        a = everyone.loc[r.stage]
        rest_n, rest_reached = float(a["n"]) - r.n, float(a["reached"]) - r.reached
        if rest_n > 0 and 0 < r.reached + rest_reached < r.n + rest_n:
            p = float(proportions_ztest([r.reached, rest_reached], [r.n, rest_n], alternative="smaller")[1])
            if p < 0.05:
                lags.append((0, r.reached / r.n - rest_reached / rest_n, str(r.kind), str(r.stage),
                             f"reached by {formatting.share(r.coverage)} of its {formatting.count(r.n)} orders against "
                             f"{formatting.share(rest_reached / rest_n)} of the others' ({formatting.p_phrase(p)})"))
        if np.isfinite(r.median_days_ci_low) and np.isfinite(a["median_days_ci_high"]) \
                and r.median_days_ci_low > a["median_days_ci_high"]:
            lags.append((1, -(r.median_days / max(a["median_days"], 1e-9)), str(r.kind), str(r.stage),
                         f"a median {formatting.number(r.median_days)} days after the order against "
                         f"{formatting.number(a['median_days'])} for all customers (95% intervals apart)"))
    # a driver KPI's shortfall is explained at its own stage; an outcome's at any
    kinds = None if (gap["kpi"] in KPIS and KPIS[gap["kpi"]].outcome) else {JOURNEY_KINDS.get(stage or "", stage)}
    lags = [lag for lag in lags if kinds is None or lag[2] in kinds]
    if not lags:
        return f"No journey stage where {gap['segment_by']} {gap['segment']} lags the other customers.", None
    _, _, kind, lagging, words = min(lags)  # fewer reached first (by how many), then slower
    practice = {v: k for k, v in JOURNEY_KINDS.items()}.get(kind, kind)
    return f"Journey: at {lagging.replace('_', ' ')}, {gap['segment_by']} {gap['segment']} lags ({words}).", practice


def _segment_of_comments(comments: pd.DataFrame, data: Mapping | None, segment_by: str) -> pd.Series | None:
    """Each comment's value of ``segment_by``: from the surveys' own column, else the customers'."""
    from gapkit.measure._aggregate import segment_labels

    if segment_by in comments:
        return segment_labels(comments[segment_by])
    if data is None:
        return None
    surveys = data.get("surveys") if hasattr(data, "get") else None
    if surveys is not None and segment_by in surveys and "response_id" in comments:
        found = comments["response_id"].map(surveys.drop_duplicates("response_id").set_index("response_id")[segment_by])
        return segment_labels(found)
    customers = data.get("customers") if hasattr(data, "get") else None
    if customers is not None and segment_by in customers and "customer_id" in comments:
        lookup = customers.drop_duplicates("customer_id").set_index("customer_id")[segment_by]
        found = comments["customer_id"].map(lookup)
        return segment_labels(found)
    return None


def distinguishing_phrases(inside: pd.Series, outside: pd.Series, min_count: int = 3,
                           alpha: float = 0.05) -> pd.DataFrame:
    """Words and word pairs that ``inside`` comments use more than ``outside`` ones.

    Each phrase (as :func:`gapkit.text.themes` forms them) held by at least ``min_count`` inside
    comments gets a one-sided Fisher exact test of its share inside against outside,
    Benjamini-Hochberg adjusted across the phrases tried. Columns: phrase, inside, n_inside,
    outside, n_outside, p_value, p_adj; the significant ones, larger share difference first.
    """
    from scipy.stats import fisher_exact
    from statsmodels.stats.multitest import multipletests

    from gapkit.analysis.text import phrases

    def documents(texts):
        return [phrases(t) for t in texts.astype("str")]

    ins, outs = documents(inside), documents(outside)
    counts_in = pd.Series([p for doc in ins for p in doc], dtype="str").value_counts()
    counts_out = pd.Series([p for doc in outs for p in doc], dtype="str").value_counts()
    tried = counts_in[counts_in >= min_count]
    columns = ["phrase", "inside", "n_inside", "outside", "n_outside", "p_value", "p_adj"]
    if tried.empty or not outs:
        return pd.DataFrame(columns=columns)
    rows = []
    for phrase, k in tried.items():
        m = int(counts_out.get(phrase, 0))
        p = fisher_exact([[k, len(ins) - k], [m, len(outs) - m]], alternative="greater")[1]
        rows.append((phrase, int(k), len(ins), m, len(outs), float(p)))
    table = pd.DataFrame(rows, columns=columns[:-1])
    table["p_adj"] = multipletests(table["p_value"], method="fdr_bh")[1]
    table = table[table["p_adj"] < alpha]
    lift = table["inside"] / table["n_inside"] - table["outside"] / table["n_outside"]
    table = table.assign(_lift=lift, _pair=table["phrase"].str.contains(" ")).sort_values(
        ["_lift", "_pair", "phrase"], ascending=[False, False, True])
    # phrases held by exactly the same comments (one template's words) say one thing: keep one
    holders = {phrase: frozenset(i for i, doc in enumerate(ins) if phrase in doc) for phrase in table["phrase"]}
    table = table[~table["phrase"].map(holders).duplicated()]
    return table.drop(columns=["_lift", "_pair"]).reset_index(drop=True)


#: The causes a shortfall on a driver KPI can have; an outcome (csat, NPS, coming back) can have any.
STAGE_THEMES: dict[str, tuple[str, ...]] = {
    "delivery": ("delivery", "product"),
    "followup": ("followup",),
    "support_ticket": ("support", "staff", "billing"),
    "survey": ("followup",),
}


def themes_for(kpi: str) -> tuple[str, ...]:
    """The themes that can explain a shortfall on ``kpi``: comments about products do not make
    the fix for slow ticket answers."""
    if kpi in KPIS and KPIS[kpi].outcome:
        return tuple(THEMES)
    return STAGE_THEMES.get(_stage(kpi) or "", ())


def theme_of(phrase: str) -> str | None:
    """The cause a phrase points to (:data:`THEMES`), or None."""
    words = phrase.lower()
    for theme, stems in THEMES.items():
        if any(re.search(r"\b" + re.escape(stem), words) for stem in stems):
            return theme
    return None


def _comment_evidence(gap: Mapping, comments: pd.DataFrame | None, data: Mapping | None) -> tuple[str, str | None]:
    """What the row's customers' negative comments say that others' do not: (words, theme)."""
    from gapkit.analysis.text import redact

    if comments is None or not isinstance(comments, pd.DataFrame) or "label" not in comments:
        return "", None
    scored = comments[comments["scored"].astype(bool)]
    negative = scored["label"].eq("negative")
    if gap["segment_by"] == "all":
        inside, outside = scored.loc[negative, "comment"], scored.loc[~negative, "comment"]
        whose, against = "negative comments", "the other comments"
    else:
        segment = _segment_of_comments(scored, data, gap["segment_by"])
        if segment is None:
            return "", None
        mine = segment.astype("str").eq(str(gap["segment"])).to_numpy()
        inside, outside = scored.loc[negative & mine, "comment"], scored.loc[negative & ~mine, "comment"]
        whose = f"negative comments of {gap['segment_by']} {gap['segment']}"
        against = "other customers' negative comments"
    if inside.empty:
        return "", None
    found = distinguishing_phrases(inside, outside)
    if found.empty:
        return (f"The {len(inside):,} {whose} use no word or pair more often than {against} (Fisher test, "
                f"BH-adjusted 5%).", None)
    allowed = themes_for(gap["kpi"])
    if not (gap["kpi"] in KPIS and KPIS[gap["kpi"]].outcome):
        # a stage KPI (follow-up coverage, first response): only phrases about that stage are its
        # evidence; product complaints say nothing about why check-ins were not sent
        found = found[found["phrase"].map(theme_of).isin(allowed)]
        if found.empty:
            return "", None
    top = found.head(3)
    votes = found.head(10).assign(theme=found.head(10)["phrase"].map(theme_of)).dropna(subset=["theme"])
    votes = votes[votes["theme"].isin(allowed)]
    theme = votes.groupby("theme", sort=False)["inside"].sum().idxmax() if len(votes) else None
    listed = "; ".join(f"'{r.phrase}' in {r.inside} of {r.n_inside:,} against {r.outside} of {r.n_outside:,}"
                       for r in top.itertuples(index=False))
    quote = next((redact(str(t)) for t in inside.astype("str")
                  if re.search(r"\b" + re.escape(top['phrase'].iloc[0].split(' ')[0]), t, re.IGNORECASE)
                  and len(t) <= 90), None)
    quoted = f" For example: \"{quote.strip()}\"" if quote else ""
    return f"What sets the {whose} apart from {against}: {listed}.{quoted}", theme


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
