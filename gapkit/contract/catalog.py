"""The KPI catalog: what each core KPI means, as data (contract section 2).

How each KPI picks its units lives in :mod:`gapkit.definitions`; how it is aggregated and
bounded follows from ``kind``: a ``share`` gets a Wilson interval, a ``mean`` a t interval,
``nps`` the interval from the variance of the +1/0/-1 score, a ``median`` the distribution-free
order-statistic interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

SHARE, MEAN, NPS, MEDIAN = "share", "mean", "nps", "median"

#: The two-sided 95% normal quantile, the one z of every interval and test.
Z95 = NormalDist().inv_cdf(0.975)
#: The journey stage of a follow-up KPI: the first follow-up touchpoint the data holds.
FIRST_FOLLOWUP = "(first follow-up)"

CI_METHODS = {
    SHARE: "wilson",
    MEAN: "t",
    NPS: "nps_variance",
    MEDIAN: "order_statistic",
}

# Below MIN_N no honest 95% interval exists: the row carries empty bounds and small_n = True.
# A median needs n >= 6 for any pair of order statistics to reach 95%; a t interval of a
# 1-5 score covers 0.47-0.90 at n = 2 and 0.83-0.97 at n = 5 (benchmarks/small_n.py).
MIN_N = {SHARE: 1, MEAN: 5, NPS: 10, MEDIAN: 6}
# Below SMALL_N the interval is shown but its coverage can fall short of 95% for realistic
# distributions (simulated in benchmarks/small_n.py, figures in docs/methods.md): Wilson dips
# to 0.86-0.90 at n = 2-5 for shares near 0 or 1; t intervals of skewed scores and the NPS
# normal interval reach 0.93 only from about n = 30. Such rows carry small_n = True and every
# report that states their value says so.
SMALL_N = {SHARE: 10, MEAN: 30, NPS: 30, MEDIAN: 6}


@dataclass(frozen=True)
class KPI:
    """One KPI of the catalog."""

    id: str
    label: str
    kind: str
    unit: str
    better: str
    anchor: str
    tables: tuple[str, ...]
    columns: tuple[str, ...]  # "table.column" the KPI cannot do without
    definition: str
    # an outcome is what customers do or say in the end (satisfaction, NPS, coming back,
    # referring); a driver is an experience the company shapes (follow-up, delivery, support)
    role: str = "driver"
    stage: str | None = None  # the post-sale journey stage a shortfall of this KPI points to
    # the params entry (e.g. "repeat_days") of the window a unit needs before it is counted:
    # a month is complete for this KPI only once that window has passed after the month's end
    window: str | None = None
    # "business": durations on the support team's schedule (config business_hours, the *_bh KPIs)
    clock: str = "wall"

    @property
    def ci_method(self) -> str:
        return CI_METHODS[self.kind]

    @property
    def outcome(self) -> bool:
        return self.role == "outcome"


CATALOG: tuple[KPI, ...] = (
    KPI("csat", "CSAT (share satisfied, 4-5)", SHARE, "share", "higher", "answered_at",
        ("surveys",), ("surveys.csat", "surveys.answered_at"),
        "share of surveys with a csat score whose score is >= 4", role="outcome", stage="survey"),
    KPI("csat_mean", "CSAT mean score", MEAN, "score 1-5", "higher", "answered_at",
        ("surveys",), ("surveys.csat", "surveys.answered_at"), "mean csat score", role="outcome", stage="survey"),
    KPI("nps", "Net Promoter Score", NPS, "NPS points", "higher", "answered_at",
        ("surveys",), ("surveys.nps", "surveys.answered_at"),
        "100 x (share of nps 9-10 - share 0-6), over surveys with an nps score", role="outcome", stage="survey"),
    KPI("ces_mean", "Customer effort (mean, 7 = very easy)", MEAN, "score 1-7", "higher", "answered_at",
        ("surveys",), ("surveys.ces", "surveys.answered_at"), "mean ces score", stage="survey"),
    KPI("survey_response_rate", "Survey response rate", SHARE, "share", "higher", "sent_at",
        ("surveys",), ("surveys.answered_at",),
        "share of surveys sent at least response_days before the end of as_of that were answered "
        "within response_days of sent_at", stage="survey", window="response_days"),
    KPI("first_response_hours", "First response time (median)", MEDIAN, "hours", "lower", "created_at",
        ("tickets",), ("tickets.first_response_at",),
        "median hours from created_at to first_response_at, over tickets with a first response "
        "(open_share: tickets still unanswered at as_of)", stage="support_ticket"),
    KPI("first_response_sla", "First response within SLA", SHARE, "share", "higher", "created_at",
        ("tickets",), ("tickets.first_response_at",),
        "share of tickets answered within sla_hours; unanswered after sla_hours is a breach; "
        "tickets younger than sla_hours at as_of are not counted", stage="support_ticket", window="sla_hours"),
    KPI("resolution_hours", "Resolution time (median)", MEDIAN, "hours", "lower", "created_at",
        ("tickets",), ("tickets.resolved_at",),
        "median hours from created_at to resolved_at, over resolved tickets "
        "(open_share: tickets still open at as_of)", stage="support_ticket"),
    KPI("resolution_rate", "Resolved in time", SHARE, "share", "higher", "created_at",
        ("tickets",), ("tickets.resolved_at",),
        "share of tickets resolved within resolution_days; only tickets at least that old at as_of",
        stage="support_ticket", window="resolution_days"),
    KPI("first_response_hours_bh", "First response time, business hours (median)", MEDIAN, "hours", "lower",
        "created_at", ("tickets",), ("tickets.first_response_at",),
        "median business hours (config business_hours) from created_at to first_response_at, over tickets "
        "with a first response (open_share: tickets still unanswered at as_of)", stage="support_ticket",
        clock="business"),
    KPI("first_response_sla_bh", "First response within SLA, business hours", SHARE, "share", "higher",
        "created_at", ("tickets",), ("tickets.first_response_at",),
        "share of tickets answered within sla_hours of business time; unanswered after that is a breach; "
        "tickets with less than sla_hours of business time behind them at as_of are not counted",
        stage="support_ticket", window="sla_hours", clock="business"),
    KPI("resolution_hours_bh", "Resolution time, business hours (median)", MEDIAN, "hours", "lower", "created_at",
        ("tickets",), ("tickets.resolved_at",),
        "median business hours from created_at to resolved_at, over resolved tickets "
        "(open_share: tickets still open at as_of)", stage="support_ticket", clock="business"),
    KPI("fcr_rate", "First-contact resolution", SHARE, "share", "higher", "created_at",
        ("tickets",), ("tickets.resolved_at", "tickets.contacts", "tickets.reopened"),
        "share of tickets resolved at least reopen_days before as_of with contacts == 1 and not reopened",
        stage="support_ticket", window="reopen_days"),
    KPI("reopen_rate", "Reopen rate", SHARE, "share", "lower", "created_at",
        ("tickets",), ("tickets.resolved_at", "tickets.reopened"),
        "share of tickets resolved at least reopen_days before as_of that were reopened", stage="support_ticket",
        window="reopen_days"),
    KPI("followup_coverage", "Follow-up coverage", SHARE, "share", "higher", "delivered_at",
        ("orders", "followups"), ("orders.delivered_at",),
        "share of delivered orders with a follow-up sent within followup_days after delivered_at; "
        "only orders delivered at least that long before as_of", stage=FIRST_FOLLOWUP, window="followup_days"),
    KPI("followup_latency_days", "Follow-up latency (median)", MEDIAN, "days", "lower", "delivered_at",
        ("orders", "followups"), ("orders.delivered_at",),
        "median days from delivered_at to the first follow-up at or after it, over covered orders",
        stage=FIRST_FOLLOWUP, window="followup_days"),
    KPI("personalization_rate", "Personalized follow-ups", SHARE, "share", "higher", "sent_at",
        ("followups",), ("followups.personalized",), "share of follow-ups with personalized true",
        stage=FIRST_FOLLOWUP),
    KPI("on_time_delivery_rate", "On-time delivery", SHARE, "share", "higher", "promised_at",
        ("orders",), ("orders.delivered_at", "orders.promised_at"),
        "over orders whose promise fell due by the end of as_of (cancelled aside): share delivered by "
        "the promise; undelivered when due is late (whole days when every promise is at midnight)",
        stage="delivery"),
    KPI("delivery_days", "Delivery time (median)", MEDIAN, "days", "lower", "delivered_at",
        ("orders",), ("orders.delivered_at",), "median days from ordered_at to delivered_at", stage="delivery"),
    KPI("repeat_purchase_rate", "Repeat purchase rate", SHARE, "share", "higher",
        "first ordered_at", ("orders",), (),
        "share of customers whose first order is at least repeat_days old who ordered again "
        "strictly later than the first order and within repeat_days after it", role="outcome",
        stage="repeat_purchase", window="repeat_days"),
    KPI("referral_rate", "Referral rate", SHARE, "share", "higher", "first ordered_at",
        ("orders", "referrals"), (),
        "share of customers whose first order is at least referral_days old who referred someone "
        "within referral_days after it", role="outcome", window="referral_days"),
    KPI("referral_conversion_rate", "Referral conversion", SHARE, "share", "higher", "referred_at",
        ("referrals",), ("referrals.converted",),
        "share of referrals with converted known that converted", role="outcome"),
)

KPIS: dict[str, KPI] = {k.id: k for k in CATALOG}

#: The values a KPI of each unit can take; intervals and projections are kept inside them
#: (an interval intersected with the parameter space keeps its coverage).
UNIT_BOUNDS: dict[str, tuple[float, float]] = {
    "share": (0.0, 1.0), "score 1-5": (1.0, 5.0), "score 1-7": (1.0, 7.0), "NPS points": (-100.0, 100.0),
    "VADER compound -1..1": (-1.0, 1.0), "hours": (0.0, np.inf), "days": (0.0, np.inf),
}


def bounds(kpi_or_unit: str) -> tuple[float, float]:
    """(lowest, highest) possible value of a KPI id or unit; (-inf, inf) when unbounded or unknown."""
    unit = KPIS[kpi_or_unit].unit if kpi_or_unit in KPIS else kpi_or_unit
    return UNIT_BOUNDS.get(unit, (-np.inf, np.inf))


def clip(values, kpi_or_unit: str):
    """``values`` (a number, array or Series) held inside the KPI's possible range; NaN stays NaN."""
    low, high = bounds(kpi_or_unit)
    return np.clip(values, low, high)


def catalog() -> pd.DataFrame:
    """The catalog as a table: one row per KPI.

    Examples
    --------
    >>> gapkit.catalog()[["kpi", "unit", "better", "ci_method"]]
                             kpi        unit  better        ci_method
    ...
    """
    return pd.DataFrame(
        [
            {
                "kpi": k.id,
                "label": k.label,
                "unit": k.unit,
                "better": k.better,
                "anchor": k.anchor,
                "tables": ", ".join(k.tables),
                "ci_method": k.ci_method,
                "definition": k.definition,
            }
            for k in CATALOG
        ]
    )
