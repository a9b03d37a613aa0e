"""The synthetic shop's parameters: shares, rates, delays and the planted effects."""

from __future__ import annotations

import numpy as np

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

BAD = dict(start_day=10)


# NPS distribution given csat (rows csat 1..5, columns nps 0..10).
NPS_GIVEN_CSAT = np.array([
    [.40, .30, .20, .10, 0, 0, 0, 0, 0, 0, 0],
    [0, .10, .20, .30, .25, .15, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, .10, .20, .30, .30, .10, 0, 0],
    [0, 0, 0, 0, 0, 0, .05, .30, .40, .20, .05],
    [0, 0, 0, 0, 0, 0, 0, 0, .10, .35, .55],
])
