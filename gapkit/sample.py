"""Synthetic post-sale follow-up data with planted, documented effects.

The generator builds the eight input tables of the gapkit contract (orders, customers,
followups, tickets, surveys, referrals, interventions, costs) for an imaginary online shop.
Customer behaviour depends on experience (on-time delivery, a follow-up within 7 days, a
ticket handled well), and three interventions are planted with known effects so that the
impact estimators can be checked against :data:`GROUND_TRUTH`:

* ``checkin``: segment B only, from 2025-01-01 (difference-in-differences against A and C,
  with a common time shift that biases a naive pre/post comparison);
* ``sms_thanks``: a customer-randomized A/B test (``customers.variant``) from 2024-09-01
  to 2024-12-31;
* ``faster_support``: everyone from 2025-03-01, no comparison group (interrupted time series).

Everything is vectorized with :func:`numpy.random.default_rng`; 1,000,000 orders take
seconds, not minutes.  Order chains are simulated generation by generation (the k-th order
of every customer at once), so the number of Python-level iterations is the length of the
longest customer history, never the number of orders.

Command line::

    python -m gapkit.sample --out data/sample --orders 4000 --seed 7
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["GROUND_TRUTH", "TABLES", "generate", "write", "main"]

#: Names of the tables returned by :func:`generate`, in contract order.
TABLES = ("orders", "customers", "followups", "tickets", "surveys", "referrals",
          "interventions", "costs")

DAY = 86_400
HOUR = 3_600
MAX_ORDERS = 5_000_000

# ----------------------------------------------------------------------------------------
# Parameters.  Everything the generator does is driven by these constants, and
# GROUND_TRUTH (below) is built from them, so the documentation cannot drift from the code.
# ----------------------------------------------------------------------------------------
SEGMENTS = ("A", "B", "C")
SEGMENT_SHARE = (0.35, 0.35, 0.30)
REGIONS = ("north", "south", "east", "west")
REGION_SHARE = (0.30, 0.25, 0.25, 0.20)
PERSONAS = ("bargain_hunter", "loyalist", "new_explorer")
PERSONA_SHARE = (0.40, 0.25, 0.35)
LOYALTY_BY_PERSONA = (0.20, 0.60, 0.10)
ORDER_CHANNELS = ("web", "app", "store", "marketplace")
ORDER_CHANNEL_SHARE = (0.45, 0.25, 0.15, 0.15)
PROMISE_DAYS = ((3, 5), (3, 5), (3, 4), (5, 7))  # inclusive range per order channel
VALUE_MEDIAN = 55.0
VALUE_SIGMA = 0.75
VALUE_PERSONA_FACTOR = (0.8, 1.25, 1.0)
MONTH_WEIGHT = (0.85, 0.85, 0.95, 0.95, 1.0, 0.95, 0.9, 0.95, 1.0, 1.05, 1.3, 1.6)  # Jan..Dec
HOUR_WEIGHT = (1, .5, .3, .2, .2, .3, .6, 1.2, 2, 2.5, 3, 3.2, 3.4, 3.2, 3, 3, 3.2, 3.6, 4.2,
               4.8, 5, 4.5, 3.2, 2)
CANCEL_PROB = 0.04
LATE_PROB = 0.09            # base share of non-cancelled orders delivered after the promised day
LATE_MARKETPLACE = 0.06     # extra for the marketplace channel
LATE_MONTH = {11: 0.05, 12: 0.10}  # extra in the peak season (common to all segments)
RETURN_PROB = 0.05
RETURN_LATE = 0.05

FOLLOWUP_COVERAGE_7D = {"A": 0.80, "B": 0.70, "C": 0.45}  # organic, before interventions
FOLLOWUP_LATE_PROB = 0.5    # organic follow-up after day 7 when none within 7 days
FOLLOWUP_EXTRA = (0.5, 0.35, 0.15)  # P(0, 1, 2 extra organic follow-ups after the first)
FOLLOWUP_CHANNELS = ("email", "sms", "phone", "chat", "social", "mail")
FOLLOWUP_CHANNEL_SHARE = (0.55, 0.18, 0.07, 0.12, 0.05, 0.03)
PERSONALIZED_PROB = {"A": 0.45, "B": 0.35, "C": 0.25}

TICKET_PROB = 0.12          # per order, plus the two below
TICKET_LATE = 0.17
TICKET_CANCELLED = 0.15
TICKET_RETURNED = 0.10
TICKET_CATEGORIES = ("delivery", "product", "billing", "returns")
TICKET_CHANNELS = ("email", "phone", "chat", "social")
TICKET_CHANNEL_SHARE = (0.40, 0.25, 0.25, 0.10)
FIRST_RESPONSE_MEDIAN_H = 6.0
FIRST_RESPONSE_SIGMA = 1.1
NEVER_ANSWERED = 0.03
RESOLVED_PROB = 0.92        # among answered tickets
RESOLUTION_MEDIAN_H = 20.0  # after the first response
RESOLUTION_SIGMA = 1.0
# A ticket is "bad" if never answered, first response > 24 h, never resolved or resolved
# more than 72 h after creation; otherwise "good".
TICKET_BAD_RESPONSE_H = 24
TICKET_BAD_RESOLUTION_H = 72

REPEAT_DAYS = 90
REPEAT = {
    "base": {"A": 0.28, "B": 0.26, "C": 0.24},
    "persona": {"bargain_hunter": -0.02, "loyalist": 0.08, "new_explorer": -0.04},
    "loyalty_member": 0.04,
    "followup_7d": 0.05,       # an organic follow-up within 7 days of delivery
    "late_delivery": -0.07,
    "ticket_bad": -0.08,
    "ticket_good": 0.02,
}
LATER_RETURN_PROB = 0.35    # P(order again after 92..540 days | no repeat within 90 days)

CSAT_HIGH = {               # P(csat >= 4) for a survey
    "base": {"A": 0.80, "B": 0.76, "C": 0.72},
    "persona": {"bargain_hunter": -0.02, "loyalist": 0.04, "new_explorer": 0.0},
    "late_delivery": -0.15,
    "ticket_bad": -0.12,
    "no_followup_7d": -0.06,
}
SURVEY_AFTER_DELIVERY = 0.60
SURVEY_AFTER_TICKET = 0.50
RESPONSE_PROB = {"A": 0.42, "B": 0.40, "C": 0.36}
SCORE_MISSING = {"csat": 0.04, "nps": 0.08, "ces": 0.12}
COMMENT_PROB = 0.40
SPANISH_PROB = 0.05

REFERRAL = {
    "base": 0.10,
    "persona": {"bargain_hunter": 0.0, "loyalist": 0.04, "new_explorer": 0.0},
    "followup_7d": 0.04,
    "late_delivery": -0.04,
    "ticket_bad": -0.05,
}
REFERRAL_SECOND = 0.25      # a second referral within 90 days, given a first
REFERRAL_LATER = 0.06       # a referral 95..400 days after the first order
REFERRAL_CONVERTED = 0.35

CHECKIN_START = "2025-01-01"
SMS_START, SMS_END = "2024-09-01", "2024-12-31"
FASTER_SUPPORT_START = "2025-03-01"
EFFECT = {
    "checkin_repeat": 0.08,     # segment B, orders placed on/after CHECKIN_START
    "checkin_csat": 0.10,       # segment B, surveys answered on/after CHECKIN_START
    "common_repeat": 0.04,      # everyone, orders placed on/after CHECKIN_START
    "common_csat": -0.05,       # everyone, surveys answered on/after CHECKIN_START
    "sms_csat": 0.06,           # variant treatment, surveys answered within the SMS window
    "faster_support_factor": 0.70,  # first-response duration multiplier, tickets from start
}
# Costs at n_orders = 4000; amounts scale linearly with n_orders / 4000.
COSTS = {
    "checkin": {"one_off": 300.0, "monthly": 45.0},
    "sms_thanks": {"one_off": 150.0, "monthly": 60.0},
    "faster_support": {"one_off": 500.0, "monthly": 120.0},
}

SPECIAL_COMMENTS = (
    "Please call me back on +1 555-0142 or write to jane.doe@example.com about my refund.",
    "Great service <script>alert(1)</script>",
    '=HYPERLINK("http://example.com/win","Click here") delivery was fine',
)

_BAD = dict(start_day=10)

# Comment templates: [language][sentiment][topic] -> list of sentences.
_TOPICS = ("delivery", "support", "product", "followup")
_SENTIMENTS = ("positive", "neutral", "negative")
_TEMPLATES = {
    "en": {
        "positive": {
            "delivery": ["Delivery was fast and the parcel arrived in perfect condition.",
                         "Arrived earlier than promised, great job!",
                         "Super quick shipping, thanks.",
                         "The courier was friendly and on time."],
            "support": ["Support solved my problem in minutes.",
                        "The agent was very helpful and kind.",
                        "Quick answer from customer service, thank you.",
                        "Great support experience, issue fixed on the first call."],
            "product": ["Love the product, exactly as described.",
                        "Great quality for the price.",
                        "Very happy with my purchase.",
                        "Works perfectly, will buy again."],
            "followup": ["Nice touch to get a thank-you message after delivery.",
                         "I appreciated the check-in call after my order.",
                         "The follow-up email had useful tips.",
                         "Thanks for asking how everything went."],
        },
        "neutral": {
            "delivery": ["Delivery was okay, nothing special.",
                         "Package arrived on the expected day.",
                         "Shipping took a while but it arrived.",
                         "Delivery fine, packaging could be better."],
            "support": ["Support answered eventually.",
                        "The agent was polite but I had to explain twice.",
                        "Issue sorted after a couple of emails.",
                        "Customer service was average."],
            "product": ["Product is fine.",
                        "It does the job.",
                        "Average quality, as expected for the price.",
                        "Okay product, nothing to complain about."],
            "followup": ["Got a few emails after the order, fine.",
                         "The follow-up message was generic.",
                         "Didn't really need the follow-up but ok.",
                         "Received a survey, that's all."],
        },
        "negative": {
            "delivery": ["The delivery arrived late and nobody told me why.",
                         "Package came a week late and the box was damaged.",
                         "Terrible shipping, missed the promised date.",
                         "Still waiting for an update on my late delivery."],
            "support": ["Support never answered my emails.",
                        "Took days to get a reply from customer service.",
                        "I had to call three times to get my issue solved.",
                        "The agent closed my ticket without fixing anything."],
            "product": ["The product broke after two days.",
                        "Poor quality, not as described.",
                        "Disappointed with the item, returning it.",
                        "Wrong size and the colour is different from the photos."],
            "followup": ["Nobody followed up after my order.",
                         "No one checked in after the problem with my order.",
                         "I expected a follow-up and got nothing.",
                         "Too many marketing emails, but no real follow-up."],
        },
    },
    "es": {
        "positive": {
            "delivery": ["El envío llegó antes de lo previsto, ¡genial!",
                         "Entrega rápida y en perfecto estado."],
            "support": ["El soporte resolvió mi problema enseguida.",
                        "La atención al cliente fue muy amable."],
            "product": ["Me encanta el producto, tal como se describe.",
                        "Muy buena calidad por el precio."],
            "followup": ["Me gustó recibir un mensaje de agradecimiento.",
                         "Agradezco la llamada de seguimiento."],
        },
        "neutral": {
            "delivery": ["La entrega fue normal.", "El paquete llegó el día previsto."],
            "support": ["El soporte respondió, pero tardó un poco.",
                        "Atención correcta, sin más."],
            "product": ["El producto está bien.", "Calidad aceptable."],
            "followup": ["Recibí algunos correos después del pedido.",
                         "El mensaje de seguimiento era genérico."],
        },
        "negative": {
            "delivery": ["El envío llegó tarde y nadie respondió.",
                         "El paquete llegó dañado y con retraso."],
            "support": ["Nadie contestó mis correos.",
                        "Tardaron días en responder a mi reclamación."],
            "product": ["El producto se rompió a los dos días.",
                        "Mala calidad, no es lo que se describe."],
            "followup": ["Nadie hizo seguimiento de mi pedido.",
                         "Esperaba un seguimiento y no recibí nada."],
        },
    },
}

# NPS distribution given csat (rows csat 1..5, columns nps 0..10).
_NPS_GIVEN_CSAT = np.array([
    [.40, .30, .20, .10, 0, 0, 0, 0, 0, 0, 0],
    [0, .10, .20, .30, .25, .15, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, .10, .20, .30, .30, .10, 0, 0],
    [0, 0, 0, 0, 0, 0, .05, .30, .40, .20, .05],
    [0, 0, 0, 0, 0, 0, 0, 0, .10, .35, .55],
])

# ----------------------------------------------------------------------------------------
# Ground truth
# ----------------------------------------------------------------------------------------
_BAD_ROWS = [
    {"table": "orders", "key_column": "order_id", "key": "O0000001", "column": "order_id",
     "value": "O0000001",
     "problem": "duplicate order_id: the last-but-two orders row repeats the first order's "
                "id (same row, order_value + 10.00)"},
    {"table": "orders", "key_column": "order_id", "key": "O9999901", "column": "ordered_at",
     "value": "not-a-date", "problem": "unparseable timestamp"},
    {"table": "orders", "key_column": "order_id", "key": "O9999902", "column": "order_value",
     "value": -25.0, "problem": "negative order_value"},
    {"table": "followups", "key_column": "followup_id", "key": "F9999901",
     "column": "order_id", "value": "O9999999",
     "problem": "orphan foreign key: order_id not in orders"},
    {"table": "tickets", "key_column": "ticket_id", "key": "T9999901",
     "column": "first_response_at", "value": "created_at - 3 h",
     "problem": "first_response_at before created_at"},
    {"table": "surveys", "key_column": "response_id", "key": "S9999901", "column": "csat",
     "value": 7, "problem": "csat out of range 1-5"},
    {"table": "surveys", "key_column": "response_id", "key": "S9999902", "column": "nps",
     "value": 11, "problem": "nps out of range 0-10"},
    {"table": "referrals", "key_column": "referral_id", "key": "R9999901",
     "column": "customer_id", "value": "C9999999",
     "problem": "orphan foreign key: customer_id not in customers"},
]

GROUND_TRUTH: dict = {
    "description": (
        "Planted effects of gapkit.sample.generate(). Effects are absolute changes on the "
        "probability scale, added to each unit's probability (then clipped to [0, 1], which "
        "never binds with these parameters). 'anchor' says which timestamp decides whether a "
        "unit is treated/post."),
    "defaults": {"n_orders": 4000, "seed": 7, "start": "2024-01-01", "end": "2025-06-30"},
    "interventions": {
        "checkin": {
            "name": "Proactive satisfaction check-in",
            "start_at": CHECKIN_START, "end_at": None,
            "segment_by": "segment", "segment": "B", "comparison_segments": ["A", "C"],
            "design": "difference_in_differences",
            "mechanism": ("every delivered order of a segment-B customer delivered on/after "
                          "start_at gets an extra satisfaction_check follow-up (phone or "
                          "email, personalized) 3-5 days after delivery"),
            "effects": [
                {"kpi": "repeat_purchase_rate", "effect": EFFECT["checkin_repeat"],
                 "scale": "absolute probability",
                 "unit": "order (so also a customer's first order)",
                 "outcome": "same customer places another order within 90 days after it",
                 "anchor": "ordered_at >= start_at, customer segment == 'B'"},
                {"kpi": "csat", "effect": EFFECT["checkin_csat"],
                 "scale": "absolute probability", "unit": "survey with a csat score",
                 "outcome": "csat >= 4",
                 "anchor": "answered_at >= start_at, customer segment == 'B'"},
            ],
            "naive_pre_post_on_B": {
                "repeat_purchase_rate": EFFECT["checkin_repeat"] + EFFECT["common_repeat"],
                "csat": EFFECT["checkin_csat"] + EFFECT["common_csat"],
                "note": "expected naive post-minus-pre on B (plus small composition drift); "
                        "difference-in-differences against A and C removes the common shift",
            },
        },
        "sms_thanks": {
            "name": "SMS thank-you A/B test",
            "start_at": SMS_START, "end_at": SMS_END + "T23:59:59Z",
            "segment_by": None, "segment": None,
            "design": "randomized_ab", "assignment": "customers.variant",
            "arms": {"treatment": 0.5, "control": 0.5}, "randomization_unit": "customer",
            "mechanism": ("orders of treatment customers placed within the window get an "
                          "extra thank_you SMS follow-up 1-6 hours after delivery"),
            "effects": [
                {"kpi": "csat", "effect": EFFECT["sms_csat"],
                 "scale": "absolute probability", "unit": "survey with a csat score",
                 "outcome": "csat >= 4",
                 "anchor": "start_at <= answered_at <= end_at, customer variant == "
                           "'treatment'"},
            ],
        },
        "faster_support": {
            "name": "Faster first response (support staffing)",
            "start_at": FASTER_SUPPORT_START, "end_at": None,
            "segment_by": None, "segment": None,
            "design": "interrupted_time_series",
            "mechanism": "first-response duration of every ticket created on/after start_at "
                         "is multiplied by 0.70",
            "effects": [
                {"kpi": "first_response_hours",
                 "effect": round(EFFECT["faster_support_factor"] - 1.0, 10),
                 "scale": "relative (duration x 0.70, so the median falls by 30%)",
                 "unit": "ticket", "anchor": "created_at >= start_at",
                 "pre_median_hours": FIRST_RESPONSE_MEDIAN_H,
                 "post_median_hours": FIRST_RESPONSE_MEDIAN_H * EFFECT["faster_support_factor"]},
            ],
            "side_effects": "fewer tickets count as 'bad' (first response > 24 h), which "
                            "slightly raises csat and repeat probability for everyone from "
                            "2025-03-01 (common to all segments)",
        },
    },
    "common_shifts": [
        {"start_at": CHECKIN_START, "kpi": "repeat_purchase_rate",
         "effect": EFFECT["common_repeat"], "scale": "absolute probability", "unit": "order",
         "anchor": "ordered_at >= start_at", "segments": "all"},
        {"start_at": CHECKIN_START, "kpi": "csat", "effect": EFFECT["common_csat"],
         "scale": "absolute probability", "unit": "survey with a csat score",
         "anchor": "answered_at >= start_at", "segments": "all"},
    ],
    "repeat_model": {
        "definition": "P(another order by the same customer within 90 days after an order) = "
                      "base[segment] + persona + loyalty_member + followup_7d + late_delivery "
                      "+ ticket_bad/ticket_good + planted effects",
        **copy.deepcopy(REPEAT),
        "experience_note": "followup_7d uses organic follow-ups only (the planted check-in "
                           "and SMS follow-ups act only through the documented effects)",
        "later_return_prob": LATER_RETURN_PROB,
        "gaps_days": {"repeat": [1, 89], "later": [92, 541]},
        "pre_trends": "parallel: no segment-specific time terms before 2025-01-01",
    },
    "csat_model": {
        "definition": "P(csat >= 4) = base[segment] + persona + late_delivery + ticket_bad "
                      "+ no_followup_7d + planted effects; csat 4/5 or 1/2/3 drawn given "
                      "that; nps and ces drawn conditional on csat",
        **copy.deepcopy(CSAT_HIGH),
    },
    "followup_coverage_7d": dict(FOLLOWUP_COVERAGE_7D),
    "followup_coverage_note": "organic P(follow-up within 7 days of delivery) by segment; "
                              "the planted check-in (B from 2025-01-01) and SMS (treatment, "
                              "Sep-Dec 2024) follow-ups raise observed coverage",
    "tickets": {"share_of_orders": "~0.15", "first_response_median_hours":
                FIRST_RESPONSE_MEDIAN_H, "first_response_lognormal_sigma": FIRST_RESPONSE_SIGMA,
                "never_answered": NEVER_ANSWERED, "resolved_if_answered": RESOLVED_PROB,
                "bad_definition": "never answered, first response > 24 h, never resolved, or "
                                  "resolved > 72 h after creation"},
    "surveys": {"after_delivery": SURVEY_AFTER_DELIVERY, "after_ticket": SURVEY_AFTER_TICKET,
                "response_prob": dict(RESPONSE_PROB), "score_missing": dict(SCORE_MISSING),
                "comment_prob": COMMENT_PROB, "spanish_share_of_comments": SPANISH_PROB},
    "referrals": {**copy.deepcopy(REFERRAL), "window_days": 90,
                  "definition": "P(refer within 90 days of the first order) from the first "
                                "order's experience"},
    "delivery": {"cancel_prob": CANCEL_PROB, "late_prob": LATE_PROB,
                 "late_marketplace": LATE_MARKETPLACE,
                 "late_month_extra": {str(k): v for k, v in LATE_MONTH.items()},
                 "promise": "midnight UTC of ordered date + 3..7 days (whole-day promise)"},
    "costs": {"per_4000_orders": copy.deepcopy(COSTS),
              "rule": "one_off at start_at; recurring on the 1st of each month from start_at "
                      "through end_at (or the data end); amounts x n_orders / 4000"},
    "censoring": "no timestamp after the end of `end`; events that would happen later are "
                 "NaT (first_response_at, resolved_at, answered_at, delivered_at with status "
                 "'shipped') or the row does not exist yet (follow-ups, surveys, tickets, "
                 "referrals, orders)",
    "special_comments": list(SPECIAL_COMMENTS),
    "bad_rows": copy.deepcopy(_BAD_ROWS),
}


# ----------------------------------------------------------------------------------------
# Small vectorized helpers
# ----------------------------------------------------------------------------------------
def _choice_rows(rng: np.random.Generator, prob: np.ndarray) -> np.ndarray:
    """Draw one category per row of a (n, k) probability matrix."""
    cum = np.cumsum(prob, axis=1)
    cum /= cum[:, -1:]
    u = rng.random(prob.shape[0])[:, None]
    return np.minimum((u > cum).sum(axis=1), prob.shape[1] - 1)


def _month(t: np.ndarray) -> np.ndarray:
    """Calendar month (1..12) of epoch seconds."""
    m = np.floor(t).astype("int64").astype("datetime64[s]").astype("datetime64[M]")
    return m.astype("int64") % 12 + 1


def _lognormal(rng, median, sigma, n):
    return median * np.exp(sigma * rng.standard_normal(n))


def _ids(prefix: str, n: int, width: int = 7) -> np.ndarray:
    if n == 0:
        return np.array([], dtype=f"<U{width + len(prefix)}")
    return np.char.add(prefix, np.char.zfill(np.arange(1, n + 1).astype(str), width))


def _ts(x: np.ndarray) -> pd.Series:
    """Epoch seconds (float, NaN = missing) -> tz-aware UTC datetime Series (us)."""
    x = np.asarray(x, dtype="float64")
    out = np.full(x.shape, np.datetime64("NaT"), dtype="datetime64[s]")
    ok = ~np.isnan(x)
    out[ok] = np.floor(x[ok]).astype("int64").astype("datetime64[s]")
    return pd.Series(out.astype("datetime64[us]")).dt.tz_localize("UTC")


def _epoch(value) -> int:
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.value // 10**9)


def _bounds(start, end) -> tuple[int, int]:
    s = pd.Timestamp(start)
    e = pd.Timestamp(end)
    s = (s.tz_localize("UTC") if s.tzinfo is None else s.tz_convert("UTC")).normalize()
    e = (e.tz_localize("UTC") if e.tzinfo is None else e.tz_convert("UTC")).normalize()
    return int(s.value // 10**9), int(e.value // 10**9) + DAY - 1


def _time_of_day(rng, n):
    w = np.asarray(HOUR_WEIGHT, dtype=float)
    return rng.choice(24, size=n, p=w / w.sum()) * HOUR + rng.integers(0, HOUR, n)


# ----------------------------------------------------------------------------------------
# Simulation
# ----------------------------------------------------------------------------------------
def _draw_customers(rng, n, start_s, end_s):
    days = np.arange(start_s // DAY * DAY, end_s + 1, DAY, dtype="int64")
    w = np.asarray(MONTH_WEIGHT)[_month(days.astype(float)) - 1]
    day = days[rng.choice(days.size, size=n, p=w / w.sum())]
    first = (day + _time_of_day(rng, n)).astype(float)
    first = np.minimum(first, end_s)
    seg = rng.choice(3, size=n, p=SEGMENT_SHARE)
    persona = rng.choice(3, size=n, p=PERSONA_SHARE)
    loyal = rng.random(n) < np.asarray(LOYALTY_BY_PERSONA)[persona]
    region = rng.choice(4, size=n, p=REGION_SHARE)
    treat = rng.random(n) < 0.5
    at_checkout = rng.random(n) < 0.6
    offset = np.where(at_checkout, rng.integers(60, 600, n),
                      np.ceil(rng.exponential(120 * DAY, n)))
    signup = first - offset
    return dict(seg=seg, persona=persona, loyal=loyal, region=region, treat=treat,
                first=first, signup=signup)


def _order_block(rng, t, seg, persona, loyal, end_s, fs_start):
    """Order-level outcomes for one generation of orders (all vectorized)."""
    n = t.size
    ch = rng.choice(4, size=n, p=ORDER_CHANNEL_SHARE)
    value = np.round(_lognormal(rng, VALUE_MEDIAN, VALUE_SIGMA, n)
                     * np.asarray(VALUE_PERSONA_FACTOR)[persona], 2)
    lo = np.asarray([p[0] for p in PROMISE_DAYS])[ch]
    hi = np.asarray([p[1] for p in PROMISE_DAYS])[ch]
    pdays = rng.integers(lo, hi + 1)
    oday = np.floor(t / DAY) * DAY
    promised = oday + pdays * DAY
    cancelled = rng.random(n) < CANCEL_PROB
    month = _month(t)
    p_late = LATE_PROB + LATE_MARKETPLACE * (ch == 3)
    for m, extra in LATE_MONTH.items():
        p_late = p_late + extra * (month == m)
    late = ~cancelled & (rng.random(n) < p_late)
    early = rng.choice(3, size=n, p=(0.45, 0.35, 0.20))
    dday = np.where(late, promised + rng.geometric(0.45, n) * DAY,
                    np.maximum(promised - early * DAY, oday + DAY))
    delivered = dday + 8 * HOUR + rng.integers(0, 12 * HOUR, n)
    delivered = np.where(cancelled, np.nan, delivered)
    returned = ~cancelled & (rng.random(n) < RETURN_PROB + RETURN_LATE * late)

    # organic follow-ups: is there one within 7 days of delivery? (details drawn later)
    cov = np.asarray([FOLLOWUP_COVERAGE_7D[s] for s in SEGMENTS])[seg]
    fu7 = ~cancelled & (rng.random(n) < cov)
    late_fu = ~cancelled & ~fu7 & (rng.random(n) < FOLLOWUP_LATE_PROB)
    lat7 = HOUR + (7 * DAY - HOUR - 60) * rng.beta(1.1, 3.5, n)
    lat_late = 7 * DAY + 60 + 7 * DAY * rng.beta(1.0, 2.0, n)
    fu_lat = np.where(fu7, lat7, np.where(late_fu, lat_late, np.nan))

    # tickets (at most one per order)
    p_t = (TICKET_PROB + TICKET_LATE * late + TICKET_CANCELLED * cancelled
           + TICKET_RETURNED * returned)
    has_t = rng.random(n) < p_t
    probs = np.tile([0.20, 0.40, 0.20, 0.20], (n, 1))
    probs[returned] = [0.0, 0.30, 0.0, 0.70]
    probs[late] = [0.70, 0.10, 0.05, 0.15]
    probs[cancelled] = [0.30, 0.0, 0.70, 0.0]
    cat = _choice_rows(rng, probs)
    base_after = np.where(np.isnan(delivered), t + 2 * DAY, delivered)
    created = np.select(
        [cat == 0, cat == 2],
        [t + (0.5 * DAY + rng.random(n) * (pdays + 0.5) * DAY
              + late * rng.random(n) * 2 * DAY),
         t + _lognormal(rng, DAY, 1.0, n)],
        base_after + _lognormal(rng, 2 * DAY, 0.9, n))
    created = np.floor(created)
    fr_h = np.maximum(_lognormal(rng, FIRST_RESPONSE_MEDIAN_H, FIRST_RESPONSE_SIGMA, n),
                      2 / 60)
    fr_h = fr_h * np.where(created >= fs_start, EFFECT["faster_support_factor"], 1.0)
    answered = rng.random(n) >= NEVER_ANSWERED
    first_resp = np.where(answered, created + np.ceil(fr_h * HOUR), np.nan)
    resolved_flag = answered & (rng.random(n) < RESOLVED_PROB)
    res_h = _lognormal(rng, RESOLUTION_MEDIAN_H, RESOLUTION_SIGMA, n)
    resolved = np.where(resolved_flag, first_resp + np.ceil(res_h * HOUR), np.nan)
    with np.errstate(invalid="ignore"):
        slow_res = ~resolved_flag | ((resolved - created) > TICKET_BAD_RESOLUTION_H * HOUR)
    bad = has_t & (~answered | (fr_h > TICKET_BAD_RESPONSE_H) | slow_res)
    good = has_t & ~bad
    contacts = rng.geometric(np.where(bad, 0.5, 0.75))
    reopened = resolved_flag & (rng.random(n) < np.where(bad, 0.10, 0.04))
    t_ch = rng.choice(4, size=n, p=TICKET_CHANNEL_SHARE)
    return dict(ch=ch, value=value, promised=promised, delivered=delivered,
                cancelled=cancelled, returned=returned, late=late, fu7=fu7, fu_lat=fu_lat,
                has_t=has_t, t_cat=cat, t_created=created, t_first=first_resp,
                t_resolved=resolved, t_bad=bad, t_good=good, t_contacts=contacts,
                t_reopened=reopened, t_ch=t_ch)


def _repeat_prob(seg, persona, loyal, o, t, checkin_s):
    persona_eff = np.asarray([REPEAT["persona"][p] for p in PERSONAS])[persona]
    base = np.asarray([REPEAT["base"][s] for s in SEGMENTS])[seg]
    post = t >= checkin_s
    p = (base + persona_eff + REPEAT["loyalty_member"] * loyal
         + REPEAT["followup_7d"] * o["fu7"] + REPEAT["late_delivery"] * o["late"]
         + REPEAT["ticket_bad"] * o["t_bad"] + REPEAT["ticket_good"] * o["t_good"]
         + EFFECT["common_repeat"] * post + EFFECT["checkin_repeat"] * (post & (seg == 1)))
    return np.clip(p, 0.0, 1.0)


def _simulate_orders(rng, cust, end_s):
    """Simulate every customer's chain of orders, one generation (k-th order) at a time."""
    checkin_s, fs_s = _epoch(CHECKIN_START), _epoch(FASTER_SUPPORT_START)
    idx = np.arange(cust["first"].size)
    t = cust["first"].copy()
    parts = []
    k = 0
    while idx.size:
        seg, persona, loyal = cust["seg"][idx], cust["persona"][idx], cust["loyal"][idx]
        o = _order_block(rng, t, seg, persona, loyal, end_s, fs_s)
        o["cust"], o["t"], o["k"] = idx, t, np.full(idx.size, k, dtype="int16")
        p = _repeat_prob(seg, persona, loyal, o, t, checkin_s)
        r90 = rng.random(idx.size) < p
        later = ~r90 & (rng.random(idx.size) < LATER_RETURN_PROB)
        gap_days = np.where(r90, 1 + np.floor(88 * rng.beta(1.3, 2.0, idx.size)),
                            92 + np.floor(450 * rng.beta(1.2, 2.5, idx.size)))
        nxt = np.floor(t / DAY) * DAY + gap_days * DAY + _time_of_day(rng, idx.size)
        o["p_repeat"] = p
        parts.append(o)
        cont = (r90 | later) & (nxt <= end_s)
        idx, t = idx[cont], nxt[cont]
        k += 1
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def _select_customers(rng, counts, n_orders):
    """Pick whole customers (random order) so that their orders add up to n_orders."""
    perm = rng.permutation(counts.size)
    cs = np.cumsum(counts[perm])
    m = int(np.searchsorted(cs, n_orders, side="right"))
    rem = n_orders - (int(cs[m - 1]) if m else 0)
    rest = perm[m:]
    singles = rest[counts[rest] == 1][:rem]
    if singles.size < rem:
        return None
    return np.concatenate([perm[:m], singles])


# ----------------------------------------------------------------------------------------
# Table builders
# ----------------------------------------------------------------------------------------
def _followups(rng, O, cust, end_s):
    """Follow-up rows: organic (0..3 per delivered order) plus the planted interventions."""
    n = O["t"].size
    deliv = O["delivered"]
    has_first = ~np.isnan(O["fu_lat"])
    first_sent = deliv + O["fu_lat"]
    n_extra = np.where(has_first, rng.choice(3, size=n, p=FOLLOWUP_EXTRA), 0)
    gap1 = DAY + 9 * DAY * rng.beta(1.2, 2.0, n)
    gap2 = DAY + 9 * DAY * rng.beta(1.2, 2.0, n)
    e1 = first_sent + gap1
    e2 = e1 + gap2
    # touchpoints
    is_first = O["k"] == 0
    tp_first = np.where(is_first, rng.choice([0, 1, 3], size=n, p=(0.35, 0.30, 0.35)),
                        rng.choice([0, 1], size=n, p=(0.5, 0.5)))
    extra_tp = [4, 2, 5, 6]  # review_request, satisfaction_check, cross_sell, milestone
    seg = cust["seg"][O["cust"]]
    pers_p = np.asarray([PERSONALIZED_PROB[s] for s in SEGMENTS])[seg]

    rows = [  # (mask, sent, touchpoint)
        (has_first, first_sent, tp_first),
        (n_extra >= 1, e1, rng.choice(extra_tp, size=n, p=(0.35, 0.2, 0.3, 0.15))),
        (n_extra >= 2, e2, rng.choice(extra_tp, size=n, p=(0.35, 0.2, 0.3, 0.15))),
    ]
    o_idx, sent, tp, chan, pers = [], [], [], [], []
    for mask, s, tpv in rows:
        i = np.flatnonzero(mask)
        o_idx.append(i)
        sent.append(np.floor(s[i]))
        tp.append(tpv[i])
        chan.append(rng.choice(len(FOLLOWUP_CHANNELS), size=i.size, p=FOLLOWUP_CHANNEL_SHARE))
        pers.append(rng.random(i.size) < pers_p[i])
    # planted: check-in for segment B, delivered on/after CHECKIN_START
    ci = np.flatnonzero((seg == 1) & (deliv >= _epoch(CHECKIN_START)))
    o_idx.append(ci)
    sent.append(np.floor(deliv[ci] + 3 * DAY + rng.random(ci.size) * 2 * DAY))
    tp.append(np.full(ci.size, 2))
    chan.append(np.where(rng.random(ci.size) < 0.5, 2, 0))
    pers.append(np.ones(ci.size, dtype=bool))
    # planted: SMS thank-you for treatment customers' orders placed in the window
    sms_lo, sms_hi = _epoch(SMS_START), _epoch(SMS_END) + DAY - 1
    si = np.flatnonzero(cust["treat"][O["cust"]] & (O["t"] >= sms_lo) & (O["t"] <= sms_hi)
                        & ~np.isnan(deliv))
    o_idx.append(si)
    sent.append(np.floor(deliv[si] + HOUR + rng.random(si.size) * 5 * HOUR))
    tp.append(np.zeros(si.size, dtype=int))
    chan.append(np.ones(si.size, dtype=int))
    pers.append(np.zeros(si.size, dtype=bool))

    o_idx, sent = np.concatenate(o_idx), np.concatenate(sent)
    tp, chan, pers = np.concatenate(tp), np.concatenate(chan), np.concatenate(pers)
    keep = sent <= end_s
    o_idx, sent, tp, chan, pers = o_idx[keep], sent[keep], tp[keep], chan[keep], pers[keep]
    order = np.lexsort((o_idx, sent))
    o_idx, sent, tp, chan, pers = o_idx[order], sent[order], tp[order], chan[order], pers[order]
    touchpoints = np.array(["thank_you", "delivery_check", "satisfaction_check", "onboarding",
                            "review_request", "cross_sell", "milestone"])
    return pd.DataFrame({
        "followup_id": _ids("F", o_idx.size),
        "order_id": O["order_id"][o_idx],
        "customer_id": O["customer_id"][o_idx],
        "sent_at": _ts(sent),
        "touchpoint": touchpoints[tp],
        "channel": np.asarray(FOLLOWUP_CHANNELS)[chan],
        "personalized": pers,
    })


def _tickets(O, end_s):
    i = np.flatnonzero(O["has_t"] & (O["t_created"] <= end_s))
    created = O["t_created"][i]
    i = i[np.argsort(created, kind="stable")]
    created = O["t_created"][i]
    first = O["t_first"][i].copy()
    resolved = O["t_resolved"][i].copy()
    first[first > end_s] = np.nan
    resolved[~(resolved <= end_s)] = np.nan
    reopened = O["t_reopened"][i] & ~np.isnan(resolved)
    df = pd.DataFrame({
        "ticket_id": _ids("T", i.size),
        "customer_id": O["customer_id"][i],
        "created_at": _ts(created),
        "order_id": O["order_id"][i],
        "channel": np.asarray(TICKET_CHANNELS)[O["t_ch"][i]],
        "first_response_at": _ts(first),
        "resolved_at": _ts(resolved),
        "contacts": O["t_contacts"][i].astype("int64"),
        "reopened": reopened,
        "category": np.asarray(TICKET_CATEGORIES)[O["t_cat"][i]],
    })
    return df, i


def _surveys(rng, O, cust, t_rows, ticket_ids, end_s):
    n = O["t"].size
    deliv = O["delivered"]
    d_mask = ~np.isnan(deliv) & (rng.random(n) < SURVEY_AFTER_DELIVERY)
    d_idx = np.flatnonzero(d_mask)
    d_sent = np.floor(deliv[d_idx] + np.maximum(_lognormal(rng, 2 * DAY, 0.5, d_idx.size),
                                                2 * HOUR))
    res = O["t_resolved"][t_rows]
    t_mask = ~np.isnan(res) & (rng.random(t_rows.size) < SURVEY_AFTER_TICKET)
    tk = np.flatnonzero(t_mask)
    t_idx = t_rows[tk]
    t_sent = np.floor(res[tk] + HOUR + rng.random(tk.size) * 23 * HOUR)
    o_idx = np.concatenate([d_idx, t_idx])
    sent = np.concatenate([d_sent, t_sent])
    tick = np.concatenate([np.full(d_idx.size, -1), tk])
    keep = sent <= end_s
    o_idx, sent, tick = o_idx[keep], sent[keep], tick[keep]
    order = np.lexsort((tick, o_idx, sent))
    o_idx, sent, tick = o_idx[order], sent[order], tick[order]
    m = o_idx.size

    c = O["cust"][o_idx]
    seg, persona = cust["seg"][c], cust["persona"][c]
    ans_raw = sent + np.ceil(np.maximum(_lognormal(rng, 18 * HOUR, 1.3, m), 300))
    answered = (rng.random(m) < np.asarray([RESPONSE_PROB[s] for s in SEGMENTS])[seg]) & (
        ans_raw <= end_s)
    checkin_s = _epoch(CHECKIN_START)
    sms_lo, sms_hi = _epoch(SMS_START), _epoch(SMS_END) + DAY - 1
    post = ans_raw >= checkin_s
    in_sms = cust["treat"][c] & (ans_raw >= sms_lo) & (ans_raw <= sms_hi)
    late, bad, fu7 = O["late"][o_idx], O["t_bad"][o_idx], O["fu7"][o_idx]
    p_high = (np.asarray([CSAT_HIGH["base"][s] for s in SEGMENTS])[seg]
              + np.asarray([CSAT_HIGH["persona"][p] for p in PERSONAS])[persona]
              + CSAT_HIGH["late_delivery"] * late + CSAT_HIGH["ticket_bad"] * bad
              + CSAT_HIGH["no_followup_7d"] * ~fu7
              + EFFECT["common_csat"] * post + EFFECT["checkin_csat"] * (post & (seg == 1))
              + EFFECT["sms_csat"] * in_sms)
    p_high = np.clip(p_high, 0.0, 1.0)
    high = rng.random(m) < p_high
    csat = np.where(high, 4 + (rng.random(m) < 0.55),
                    1 + rng.choice(3, size=m, p=(0.2, 0.3, 0.5)))
    nps = _choice_rows(rng, _NPS_GIVEN_CSAT[csat - 1])
    mu = 2.0 + 0.9 * (csat - 1) - 0.8 * bad - 0.5 * late
    ces = np.clip(np.rint(mu + rng.standard_normal(m)), 1, 7).astype("int64")

    def score(x, miss):
        arr = pd.array(x.astype("int64"), dtype="Int64")
        arr[~answered | (rng.random(m) < miss)] = pd.NA
        return arr

    csat_a = score(csat, SCORE_MISSING["csat"])
    nps_a = score(nps, SCORE_MISSING["nps"])
    ces_a = score(ces, SCORE_MISSING["ces"])

    # comments: sentiment from the scores, topic from the experience
    has_c = answered & (rng.random(m) < COMMENT_PROB)
    sent_i = np.where(csat >= 4, 0, np.where(csat == 3, 1, 2))
    flip = rng.random(m) < 0.10
    sent_i = np.where(flip, rng.choice(3, size=m), sent_i)
    w = np.column_stack([1 + 4 * late, 0.3 + 4 * O["has_t"][o_idx] + 6 * (tick >= 0),
                         np.full(m, 2.0), 0.8 + 1.5 * ~fu7])
    topic = _choice_rows(rng, w.astype(float))
    lang = (rng.random(m) < SPANISH_PROB).astype(int)
    flat, offset, count = [], np.zeros((2, 3, 4), int), np.zeros((2, 3, 4), int)
    for li, lg in enumerate(("en", "es")):
        for si, s in enumerate(_SENTIMENTS):
            for ti, tpc in enumerate(_TOPICS):
                offset[li, si, ti] = len(flat)
                count[li, si, ti] = len(_TEMPLATES[lg][s][tpc])
                flat.extend(_TEMPLATES[lg][s][tpc])
    flat = np.asarray(flat, dtype=object)
    cnt = count[lang, sent_i, topic]
    first = flat[offset[lang, sent_i, topic] + np.floor(rng.random(m) * cnt).astype(int)]
    topic2 = (topic + rng.integers(1, 4, m)) % 4
    cnt2 = count[lang, sent_i, topic2]
    second = flat[offset[lang, sent_i, topic2] + np.floor(rng.random(m) * cnt2).astype(int)]
    two = rng.random(m) < 0.25
    text = np.where(two, first + " " + second, first)
    comment = pd.Series(np.where(has_c, text, None), dtype="str")
    ci = np.flatnonzero(has_c)
    if ci.size < len(SPECIAL_COMMENTS):
        ci = np.flatnonzero(answered)
    for j, special in zip(ci[: len(SPECIAL_COMMENTS)], SPECIAL_COMMENTS):
        comment.iloc[j] = special

    return pd.DataFrame({
        "response_id": _ids("S", m),
        "customer_id": O["customer_id"][o_idx],
        "sent_at": _ts(sent),
        "order_id": O["order_id"][o_idx],
        "ticket_id": pd.Series(np.where(tick >= 0, ticket_ids[np.maximum(tick, 0)], None)
                               if ticket_ids.size else np.full(m, None, dtype=object),
                               dtype="str"),
        "answered_at": _ts(np.where(answered, ans_raw, np.nan)),
        "csat": csat_a,
        "nps": nps_a,
        "ces": ces_a,
        "comment": comment,
    })


def _referrals(rng, O, cust, cust_ids, end_s):
    first = np.flatnonzero(O["k"] == 0)
    c = O["cust"][first]
    t0 = O["t"][first]
    n = first.size
    persona = cust["persona"][c]
    p = (REFERRAL["base"] + np.asarray([REFERRAL["persona"][q] for q in PERSONAS])[persona]
         + REFERRAL["followup_7d"] * O["fu7"][first]
         + REFERRAL["late_delivery"] * O["late"][first]
         + REFERRAL["ticket_bad"] * O["t_bad"][first])
    r1 = rng.random(n) < np.clip(p, 0, 1)
    r2 = r1 & (rng.random(n) < REFERRAL_SECOND)
    r3 = rng.random(n) < REFERRAL_LATER
    within = lambda: t0 + HOUR + rng.random(n) * (89 * DAY - HOUR)  # noqa: E731
    t1, t2 = within(), within()
    t3 = t0 + 95 * DAY + rng.random(n) * 305 * DAY
    cc = np.concatenate([c[r1], c[r2], c[r3]])
    tt = np.floor(np.concatenate([t1[r1], t2[r2], t3[r3]]))
    keep = tt <= end_s
    cc, tt = cc[keep], tt[keep]
    order = np.lexsort((cc, tt))
    cc, tt = cc[order], tt[order]
    return pd.DataFrame({
        "referral_id": _ids("R", cc.size),
        "customer_id": cust_ids[cc],
        "referred_at": _ts(tt),
        "converted": rng.random(cc.size) < REFERRAL_CONVERTED,
    })


def _interventions_and_costs(start_s, end_s, scale):
    gt = GROUND_TRUTH["interventions"]
    desc = {
        "checkin": "Segment B customers get a proactive satisfaction check-in (phone or "
                   "e-mail) 3-5 days after delivery. A and C are untreated.",
        "sms_thanks": "Randomized at customer level (customers.variant): treatment customers "
                      "get a thank-you SMS a few hours after delivery for orders placed in "
                      "the test window.",
        "faster_support": "More support staff: first responses about 30% faster for every "
                          "ticket. No comparison group.",
    }
    rows, costs = [], []
    for iid, info in gt.items():
        s = _epoch(info["start_at"])
        if s > end_s:
            continue
        e = _epoch(info["end_at"]) if info["end_at"] else None
        rows.append({
            "intervention_id": iid, "name": info["name"], "start_at": float(s),
            "end_at": float(e) if e is not None else np.nan,
            "segment_by": info["segment_by"], "segment": info["segment"],
            "description": desc[iid], "design": info["design"],
            "variant_column": "variant" if info["design"] == "randomized_ab" else None,
        })
        c = COSTS[iid]
        costs.append((iid, s, round(c["one_off"] * scale, 2), "one_off", "set-up"))
        last = min(e if e is not None else end_s, end_s)
        months = pd.date_range(pd.Timestamp(s, unit="s").to_period("M").to_timestamp(),
                               pd.Timestamp(last, unit="s"), freq="MS")
        for mstart in months:
            ms = max(int(mstart.value // 10**9), s)
            costs.append((iid, ms, round(c["monthly"] * scale, 2), "recurring",
                          f"monthly running cost {mstart:%Y-%m}"))
    iv = pd.DataFrame(rows, columns=["intervention_id", "name", "start_at", "end_at",
                                     "segment_by", "segment", "description", "design",
                                     "variant_column"])
    iv["start_at"] = _ts(iv["start_at"].to_numpy(float))
    iv["end_at"] = _ts(iv["end_at"].to_numpy(float))
    for col in ("segment_by", "segment", "variant_column"):
        iv[col] = iv[col].astype("str")
    co = pd.DataFrame(costs, columns=["intervention_id", "incurred_at", "amount", "kind",
                                      "note"])
    co["incurred_at"] = _ts(co["incurred_at"].to_numpy(float))
    co["amount"] = co["amount"].astype(float)
    return iv, co


def _append_bad_rows(tables, start_s, end_s):
    t0 = float(start_s + min(_BAD["start_day"] * DAY, (end_s - start_s) // 4) + 12 * HOUR)
    orders = tables["orders"]
    o = orders.copy()
    o["ordered_at"] = o["ordered_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype("str")
    dup = o.iloc[[0]].copy()
    dup["order_value"] = dup["order_value"] + 10.0
    cust0 = orders["customer_id"].iloc[0]
    nat = _ts(np.array([np.nan]))
    extra = pd.DataFrame({
        "order_id": ["O9999901", "O9999902"], "customer_id": [cust0, cust0],
        "ordered_at": ["not-a-date", _ts(np.array([t0])).dt.strftime(
            "%Y-%m-%dT%H:%M:%SZ").iloc[0]],
        "order_value": [10.0, -25.0], "channel": ["web", "web"],
        "promised_at": pd.concat([nat, nat], ignore_index=True),
        "delivered_at": pd.concat([nat, nat], ignore_index=True),
        "status": ["cancelled", "cancelled"]})
    extra["ordered_at"] = extra["ordered_at"].astype("str")
    tables["orders"] = pd.concat([o, dup, extra], ignore_index=True)

    def add(name, row):
        df = tables[name]
        new = pd.DataFrame([row])
        for col in df.columns:
            if isinstance(df[col].dtype, pd.DatetimeTZDtype):
                new[col] = _ts(np.array([row[col]], dtype=float))
            else:
                new[col] = new[col].astype(df[col].dtype)
        tables[name] = pd.concat([df, new[df.columns]], ignore_index=True)

    first_order = orders["order_id"].iloc[0]
    add("followups", {"followup_id": "F9999901", "order_id": "O9999999",
                      "customer_id": cust0, "sent_at": t0 + 20 * DAY,
                      "touchpoint": "thank_you", "channel": "email", "personalized": False})
    add("tickets", {"ticket_id": "T9999901", "customer_id": cust0, "created_at": t0 + 30 * DAY,
                    "order_id": first_order, "channel": "email",
                    "first_response_at": t0 + 30 * DAY - 3 * HOUR,
                    "resolved_at": t0 + 30 * DAY + 5 * HOUR, "contacts": 1,
                    "reopened": False, "category": "billing"})
    for rid, csat, nps in (("S9999901", 7, 9), ("S9999902", 5, 11)):
        add("surveys", {"response_id": rid, "customer_id": cust0, "sent_at": t0 + 40 * DAY,
                        "order_id": first_order, "ticket_id": None,
                        "answered_at": t0 + 41 * DAY, "csat": csat, "nps": nps, "ces": 6,
                        "comment": None})
    add("referrals", {"referral_id": "R9999901", "customer_id": "C9999999",
                      "referred_at": t0 + 50 * DAY, "converted": False})
    return tables


# ----------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------
def generate(n_orders: int = 4000, seed: int = 7, start="2024-01-01", end="2025-06-30",
             bad_rows: bool = True) -> dict[str, pd.DataFrame]:
    """Generate the eight contract tables with planted, documented effects.

    Parameters
    ----------
    n_orders : int, default 4000
        Exact number of valid orders (1 .. 5,000,000); about 0.6 customers per order.
    seed : int, default 7
        Seed for :func:`numpy.random.default_rng`; the same seed gives equal frames.
    start, end : str or Timestamp
        First and last day of the data (UTC). No timestamp is after the end of ``end``:
        events that would happen later are NaT or absent.
    bad_rows : bool, default True
        Append the rule-breaking rows listed in ``GROUND_TRUTH["bad_rows"]``. Then
        ``orders.ordered_at`` is a text column (ISO 8601 with ``Z``) holding one
        ``"not-a-date"``; otherwise it is a UTC datetime column like all others.

    Returns
    -------
    dict of str to pandas.DataFrame
        Keys ``orders, customers, followups, tickets, surveys, referrals, interventions,
        costs``. Timestamps are ``datetime64[us, UTC]``.

    Examples
    --------
    >>> from gapkit.sample import generate
    >>> t = generate(n_orders=500, seed=1, bad_rows=False)
    >>> len(t["orders"]), t["orders"]["order_id"].is_unique
    (500, True)
    """
    n_orders = int(n_orders)
    if not 1 <= n_orders <= MAX_ORDERS:
        raise ValueError(f"n_orders must be within 1..{MAX_ORDERS}, got {n_orders}")
    start_s, end_s = _bounds(start, end)
    if end_s <= start_s:
        raise ValueError("end must be on or after start")
    rng = np.random.default_rng(seed)

    n_cust = int(np.ceil(n_orders * 0.72)) + 20
    for _ in range(8):
        cust = _draw_customers(rng, n_cust, start_s, end_s)
        sim = _simulate_orders(rng, cust, end_s)
        counts = np.bincount(sim["cust"], minlength=n_cust)
        chosen = _select_customers(rng, counts, n_orders)
        if chosen is not None:
            break
        n_cust = int(n_cust * 1.3 * n_orders / max(int(counts.sum()), 1)) + 20
    else:  # pragma: no cover - would need a pathological date range
        raise RuntimeError("could not simulate enough orders")

    # keep the chosen customers; renumber customers by signup time, orders by time
    chosen = chosen[np.lexsort((chosen, cust["signup"][chosen]))]
    new_of_old = np.full(n_cust, -1, dtype="int64")
    new_of_old[chosen] = np.arange(chosen.size)
    cust = {k: v[chosen] for k, v in cust.items()}
    keep = new_of_old[sim["cust"]] >= 0
    O = {k: v[keep] for k, v in sim.items()}
    O["cust"] = new_of_old[O["cust"]]
    order = np.lexsort((O["cust"], O["t"]))
    O = {k: v[order] for k, v in O.items()}
    del sim
    cust_ids = _ids("C", chosen.size)
    O["order_id"] = _ids("O", n_orders)
    O["customer_id"] = cust_ids[O["cust"]]

    # orders
    deliv = O["delivered"]
    delivered_ok = deliv <= end_s
    status = np.where(O["cancelled"], "cancelled",
                      np.where(~delivered_ok, "shipped",
                               np.where(O["returned"] & (deliv + 7 * DAY <= end_s),
                                        "returned", "delivered")))
    orders = pd.DataFrame({
        "order_id": O["order_id"],
        "customer_id": O["customer_id"],
        "ordered_at": _ts(O["t"]),
        "order_value": O["value"],
        "channel": np.asarray(ORDER_CHANNELS)[O["ch"]],
        "promised_at": _ts(np.where(O["promised"] <= end_s, O["promised"], np.nan)),
        "delivered_at": _ts(np.where(delivered_ok, deliv, np.nan)),
        "status": status,
    })
    customers = pd.DataFrame({
        "customer_id": cust_ids,
        "segment": np.asarray(SEGMENTS)[cust["seg"]],
        "region": np.asarray(REGIONS)[cust["region"]],
        "persona": np.asarray(PERSONAS)[cust["persona"]],
        "loyalty_member": cust["loyal"],
        "signup_at": _ts(np.floor(cust["signup"])),
        "variant": np.where(cust["treat"], "treatment", "control"),
    })
    followups = _followups(rng, O, cust, end_s)
    tickets, t_rows = _tickets(O, end_s)
    surveys = _surveys(rng, O, cust, t_rows, tickets["ticket_id"].to_numpy(), end_s)
    referrals = _referrals(rng, O, cust, cust_ids, end_s)
    interventions, costs = _interventions_and_costs(start_s, end_s, n_orders / 4000)
    tables = {"orders": orders, "customers": customers, "followups": followups,
              "tickets": tickets, "surveys": surveys, "referrals": referrals,
              "interventions": interventions, "costs": costs}
    if bad_rows:
        tables = _append_bad_rows(tables, start_s, end_s)
    for df in tables.values():
        for col in df.columns:
            if df[col].dtype == object:
                df[col] = df[col].astype("str")
    return tables


def write(tables: dict[str, pd.DataFrame], out_dir, fmt: str = "csv",
          params: dict | None = None) -> list[Path]:
    """Write tables as ``<name>.csv`` or ``<name>.parquet`` plus ``ground_truth.json``.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        As returned by :func:`generate`.
    out_dir : str or Path
        Folder, created if needed. Existing files of the same names are replaced.
    fmt : {"csv", "parquet"}
        CSV timestamps are ISO 8601 UTC with a ``Z`` suffix (``2024-05-01T13:45:10Z``);
        missing values are empty fields.
    params : dict, optional
        Generation parameters recorded under ``"generated"`` in ``ground_truth.json``.

    Returns
    -------
    list of Path
        The written files, tables first and ``ground_truth.json`` last.

    Examples
    --------
    >>> import tempfile
    >>> from gapkit.sample import generate, write
    >>> paths = write(generate(300, bad_rows=False), tempfile.mkdtemp())
    >>> [p.name for p in paths][:2]
    ['orders.csv', 'customers.csv']
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, df in tables.items():
        path = out / f"{name}.{fmt}"
        if fmt == "csv":
            df.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
        else:
            df.to_parquet(path, index=False)
        paths.append(path)
    truth = copy.deepcopy(GROUND_TRUTH)
    truth["generated"] = {**(params or {}), "format": fmt,
                          "row_counts": {k: int(len(v)) for k, v in tables.items()}}
    gt_path = out / "ground_truth.json"
    gt_path.write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n",
                       encoding="utf-8")
    paths.append(gt_path)
    return paths


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m gapkit.sample --out DIR [--orders N] [--seed S] ...``.

    Examples
    --------
    >>> main(["--out", "/tmp/gapkit-sample", "--orders", "300"])  # doctest: +SKIP
    0
    """
    ap = argparse.ArgumentParser(prog="python -m gapkit.sample",
                                 description="Generate synthetic gapkit input tables.")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--orders", type=int, default=4000, help="number of orders (4000)")
    ap.add_argument("--seed", type=int, default=7, help="random seed (7)")
    ap.add_argument("--start", default="2024-01-01", help="first day (2024-01-01)")
    ap.add_argument("--end", default="2025-06-30", help="last day (2025-06-30)")
    ap.add_argument("--format", choices=("csv", "parquet"), default="csv", dest="fmt")
    ap.add_argument("--no-bad-rows", action="store_true",
                    help="do not append the planted rule-breaking rows")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    tables = generate(args.orders, args.seed, args.start, args.end,
                      bad_rows=not args.no_bad_rows)
    params = {"n_orders": args.orders, "seed": args.seed, "start": args.start,
              "end": args.end, "bad_rows": not args.no_bad_rows}
    paths = write(tables, args.out, args.fmt, params=params)
    dt = time.perf_counter() - t0
    for p in paths:
        rows = f"{len(tables[p.stem]):>9,} rows" if p.stem in tables else ""
        print(f"{p}  {rows}")
    print(f"done in {dt:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
