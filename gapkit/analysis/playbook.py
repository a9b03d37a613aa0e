"""What to do about a shortfall: the post-sale practice for each KPI, for each cause the
comments single out (theme), and for each journey stage where a segment lags; the words of the
action plan (:mod:`gapkit.analysis.actions`), kept apart from the logic that chooses them."""

#: The next step for a shortfall on each KPI: post-sale practices a support or CX lead would start with.
PRACTICES: dict[str, str] = {
    "followup_coverage": "Add a check-in message after delivery for every order, sent automatically from the "
                         "delivery event rather than by hand.",
    "followup_latency_days": "Trigger the first follow-up from the delivery event (same or next day) instead of "
                             "a batch schedule.",
    "personalization_rate": "Personalize the follow-up: the customer's name, the product bought and one tip "
                            "for using it.",
    "on_time_delivery_rate": "Review who fulfils late (carrier, team or contractor) and the promise dates; warn "
                             "customers before a promise is missed.",
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

REFERRAL_STAGE = "referral"

#: Word stems that tie a distinguishing comment phrase to a cause; never a stage's own name
#: ("survey"), which says nothing about what went wrong.
THEMES: dict[str, tuple[str, ...]] = {
    "delivery": ("deliver", "shipping", "shipped", "arriv", "late", "courier", "package", "parcel", "tracking",
                 "damaged", "install", "technician", "appointment", "delay"),
    "support": ("support", "ticket", "agent", "respon", "answer", "repl", "wait", "call", "chat", "resolv",
                "hold", "nobody", "ignored", "unanswered", "contact"),
    "followup": ("email", "e-mail", "follow", "message", "heard", "check"),
    "billing": ("bill", "charge", "invoice", "refund", "price", "expensive", "fee", "payment", "overcharg"),
    "product": ("broken", "quality", "defect", "faulty", "stopped working", "wrong item", "missing", "size"),
    "staff": ("rude", "unfriendly", "impolite", "attitude", "unprofessional"),
}
#: The next step when the comments single out a theme for the segment ({who}: the segment).
THEME_PRACTICES: dict[str, str] = {
    "delivery": "Find where {who}'s deliveries go wrong (carrier, team or region, promise dates) and fix that "
                "route first; warn customers before a promise is missed.",
    "support": "Answer {who}'s tickets sooner: staff to the hours they arrive, acknowledge each with a time for a "
               "personal answer, and escalate any ticket left unanswered for a day.",
    "followup": "Send {who} the check-in after delivery from the delivery event itself, and check that their "
                "contact details and channel work.",
    "billing": "Review the charges, refunds and prices {who} complain about with finance; explain the bill "
               "before it arrives.",
    "product": "Take {who}'s product complaints (faults, wrong or missing items) to the product and warehouse "
               "teams, with the comments, and replace quickly meanwhile.",
    "staff": "Coach the staff who serve {who} on tone and ownership; listen to a sample of their contacts.",
}
#: The next step when the segment lags at a journey stage and the comments single out nothing.
STAGE_PRACTICES: dict[str, str] = {
    "delivery": THEME_PRACTICES["delivery"],
    "followup": THEME_PRACTICES["followup"],
    "support_ticket": THEME_PRACTICES["support"],
    "survey": "Ask {who} for feedback sooner after delivery or resolution, in one to three questions that work "
              "on a phone.",
    "repeat_purchase": "Time a next-purchase reminder for {who} to their usual repurchase interval.",
}
#: The journey map's ``kind`` of each action-plan stage.
JOURNEY_KINDS = {"delivery": "delivery", "followup": "followup", "support_ticket": "support", "survey": "survey",
                 "repeat_purchase": "repeat"}
#: What to add to the data when it holds no specific evidence for a row.
NO_EVIDENCE = ("No specific evidence in the data for {who}: ask these customers one open question in the next "
               "survey (what went wrong?), export surveys with comments and tickets with order_id and category, "
               "and meanwhile: {practice}")
