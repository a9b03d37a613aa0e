"""What the synthetic data holds by construction: the planted effects and rule-breaking rows."""

from __future__ import annotations

import copy

from gapkit.sample import parameters as P

BAD_ROWS = [
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
            "start_at": P.CHECKIN_START, "end_at": None,
            "segment_by": "segment", "segment": "B", "comparison_segments": ["A", "C"],
            "design": "difference_in_differences",
            "mechanism": ("every delivered order of a segment-B customer delivered on/after "
                          "start_at gets an extra satisfaction_check follow-up (phone or "
                          "email, personalized) 3-5 days after delivery"),
            "effects": [
                {"kpi": "repeat_purchase_rate", "effect": P.EFFECT["checkin_repeat"],
                 "scale": "absolute probability",
                 "unit": "order (so also a customer's first order)",
                 "outcome": "same customer places another order within 90 days after it",
                 "anchor": "ordered_at >= start_at, customer segment == 'B'"},
                {"kpi": "csat", "effect": P.EFFECT["checkin_csat"],
                 "scale": "absolute probability", "unit": "survey with a csat score",
                 "outcome": "csat >= 4",
                 "anchor": "answered_at >= start_at, customer segment == 'B'"},
            ],
            "naive_pre_post_on_B": {
                "repeat_purchase_rate": P.EFFECT["checkin_repeat"] + P.EFFECT["common_repeat"],
                "csat": P.EFFECT["checkin_csat"] + P.EFFECT["common_csat"],
                "note": "expected naive post-minus-pre on B (plus small composition drift); "
                        "difference-in-differences against A and C removes the common shift",
            },
        },
        "sms_thanks": {
            "name": "SMS thank-you A/B test",
            "start_at": P.SMS_START, "end_at": P.SMS_END + "T23:59:59Z",
            "segment_by": None, "segment": None,
            "design": "randomized_ab", "assignment": "customers.variant",
            "arms": {"treatment": 0.5, "control": 0.5}, "randomization_unit": "customer",
            "mechanism": ("orders of treatment customers placed within the window get an "
                          "extra thank_you SMS follow-up 1-6 hours after delivery"),
            "effects": [
                {"kpi": "csat", "effect": P.EFFECT["sms_csat"],
                 "scale": "absolute probability", "unit": "survey with a csat score",
                 "outcome": "csat >= 4",
                 "anchor": "start_at <= answered_at <= end_at, customer variant == "
                           "'treatment'"},
            ],
        },
        "faster_support": {
            "name": "Faster first response (support staffing)",
            "start_at": P.FASTER_SUPPORT_START, "end_at": None,
            "segment_by": None, "segment": None,
            "design": "interrupted_time_series",
            "mechanism": "first-response duration of every ticket created on/after start_at "
                         "is multiplied by 0.70",
            "effects": [
                {"kpi": "first_response_hours",
                 "effect": round(P.EFFECT["faster_support_factor"] - 1.0, 10),
                 "scale": "relative (duration x 0.70, so the median falls by 30%)",
                 "unit": "ticket", "anchor": "created_at >= start_at",
                 "pre_median_hours": P.FIRST_RESPONSE_MEDIAN_H,
                 "post_median_hours": P.FIRST_RESPONSE_MEDIAN_H * P.EFFECT["faster_support_factor"]},
            ],
            "side_effects": "fewer tickets count as 'bad' (first response > 24 h), which "
                            "slightly raises csat and repeat probability for everyone from "
                            "2025-03-01 (common to all segments)",
        },
    },
    "common_shifts": [
        {"start_at": P.CHECKIN_START, "kpi": "repeat_purchase_rate",
         "effect": P.EFFECT["common_repeat"], "scale": "absolute probability", "unit": "order",
         "anchor": "ordered_at >= start_at", "segments": "all"},
        {"start_at": P.CHECKIN_START, "kpi": "csat", "effect": P.EFFECT["common_csat"],
         "scale": "absolute probability", "unit": "survey with a csat score",
         "anchor": "answered_at >= start_at", "segments": "all"},
    ],
    "repeat_model": {
        "definition": "P(another order by the same customer within 90 days after an order) = "
                      "base[segment] + persona + loyalty_member + followup_7d + late_delivery "
                      "+ ticket_bad/ticket_good + planted effects",
        **copy.deepcopy(P.REPEAT),
        "experience_note": "followup_7d uses organic follow-ups only (the planted check-in "
                           "and SMS follow-ups act only through the documented effects)",
        "later_return_prob": P.LATER_RETURN_PROB,
        "gaps_days": {"repeat": [1, 89], "later": [92, 541]},
        "pre_trends": "parallel: no segment-specific time terms before 2025-01-01",
    },
    "csat_model": {
        "definition": "P(csat >= 4) = base[segment] + persona + late_delivery + ticket_bad "
                      "+ no_followup_7d + planted effects; csat 4/5 or 1/2/3 drawn given "
                      "that; nps and ces drawn conditional on csat",
        **copy.deepcopy(P.CSAT_HIGH),
    },
    "followup_coverage_7d": dict(P.FOLLOWUP_COVERAGE_7D),
    "followup_coverage_note": "organic P(follow-up within 7 days of delivery) by segment; "
                              "the planted check-in (B from 2025-01-01) and SMS (treatment, "
                              "Sep-Dec 2024) follow-ups raise observed coverage",
    "tickets": {"share_of_orders": "~0.15", "first_response_median_hours":
                P.FIRST_RESPONSE_MEDIAN_H, "first_response_lognormal_sigma": P.FIRST_RESPONSE_SIGMA,
                "never_answered": P.NEVER_ANSWERED, "resolved_if_answered": P.RESOLVED_PROB,
                "bad_definition": "never answered, first response > 24 h, never resolved, or "
                                  "resolved > 72 h after creation"},
    "surveys": {"after_delivery": P.SURVEY_AFTER_DELIVERY, "after_ticket": P.SURVEY_AFTER_TICKET,
                "response_prob": dict(P.RESPONSE_PROB), "score_missing": dict(P.SCORE_MISSING),
                "comment_prob": P.COMMENT_PROB, "spanish_share_of_comments": P.SPANISH_PROB},
    "referrals": {**copy.deepcopy(P.REFERRAL), "window_days": 90,
                  "definition": "P(refer within 90 days of the first order) from the first "
                                "order's experience"},
    "delivery": {"cancel_prob": P.CANCEL_PROB, "late_prob": P.LATE_PROB,
                 "late_marketplace": P.LATE_MARKETPLACE,
                 "late_month_extra": {str(k): v for k, v in P.LATE_MONTH.items()},
                 "promise": "midnight UTC of ordered date + 3..7 days (whole-day promise)"},
    "costs": {"per_4000_orders": copy.deepcopy(P.COSTS),
              "rule": "one_off at start_at; recurring on the 1st of each month from start_at "
                      "through end_at (or the data end); amounts x n_orders / 4000"},
    "censoring": "no timestamp after the end of `end`; events that would happen later are "
                 "NaT (first_response_at, resolved_at, answered_at, delivered_at with status "
                 "'shipped') or the row does not exist yet (follow-ups, surveys, tickets, "
                 "referrals, orders)",
    "special_comments": list(P.SPECIAL_COMMENTS),
    "bad_rows": copy.deepcopy(BAD_ROWS),
}
