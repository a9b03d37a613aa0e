"""The input contract as data (gapkit.schema) says what CONTRACT.md section 1 says."""

from gapkit.contract.schema import TABLES

# CONTRACT.md section 1, copied: the required columns of each table (the shared contract is not
# part of this repository, so a clean clone tests against this copy)
REQUIRED = {
    "orders": {"order_id", "customer_id", "ordered_at"},
    "customers": {"customer_id"},
    "followups": {"followup_id", "order_id", "customer_id", "sent_at"},
    "tickets": {"ticket_id", "customer_id", "created_at"},
    "surveys": {"response_id", "customer_id", "sent_at"},
    "referrals": {"referral_id", "customer_id", "referred_at"},
    "interventions": {"intervention_id", "name", "start_at"},
    "costs": {"intervention_id", "incurred_at", "amount"},
}
OPTIONAL = {
    "orders": {"order_value", "channel", "promised_at", "delivered_at", "status"},
    "followups": {"touchpoint", "channel", "personalized"},
    "tickets": {"order_id", "channel", "first_response_at", "resolved_at", "contacts", "reopened", "category"},
    "surveys": {"order_id", "ticket_id", "answered_at", "csat", "nps", "ces", "comment"},
    "referrals": {"converted"},
    "interventions": {"end_at", "segment_by", "segment", "description"},
    "costs": {"kind", "note"},
}


def test_every_contract_column_is_declared_with_the_same_requirement():
    assert set(TABLES) >= set(REQUIRED)
    for name, required in REQUIRED.items():
        declared = {c.name: c.required for c in TABLES[name].columns}
        assert {c for c, needed in declared.items() if needed} == required, name
        optional = OPTIONAL.get(name, set())
        assert optional <= set(declared) and not any(declared[c] for c in optional), name


def test_keys_ranges_and_references_hold_the_contract_rules():
    assert TABLES["orders"].key == "order_id" and TABLES["orders"].required
    csat = next(c for c in TABLES["surveys"].columns if c.name == "csat")
    nps = next(c for c in TABLES["surveys"].columns if c.name == "nps")
    ces = next(c for c in TABLES["surveys"].columns if c.name == "ces")
    assert (csat.min, csat.max, nps.min, nps.max, ces.min, ces.max) == (1, 5, 0, 10, 1, 7)
    amount = next(c for c in TABLES["costs"].columns if c.name == "amount")
    assert amount.min == 0
    parents = {(fk.column, fk.parent) for fk in TABLES["followups"].foreign_keys}
    assert ("order_id", "orders") in parents
    orders = {(t.later, t.earlier) for t in TABLES["tickets"].time_order}
    assert ("first_response_at", "created_at") in orders  # "a response before creation" is rejected
