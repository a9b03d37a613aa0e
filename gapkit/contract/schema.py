"""The input contract as data: tables, columns, keys, ranges and time-order rules.

Everything the loader checks is declared here, so the contract (``CONTRACT.md`` section 1) and
the code cannot drift apart silently. See ``docs/contract.md`` for the same in words.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Column kinds: how a raw value is parsed.
ID, TEXT, TIMESTAMP, NUMBER, INTEGER, BOOLEAN = "id", "text", "timestamp", "number", "integer", "boolean"
#: what a value of each kind must be, in a reject's reason
KIND_WORDS = {
    TIMESTAMP: "a timestamp (ISO 8601 expected, e.g. 2025-06-30T14:05:00Z)",
    NUMBER: "a number",
    INTEGER: "a whole number",
    BOOLEAN: "true/false",
}


@dataclass(frozen=True)
class Column:
    """One contract column: its kind, whether it is required, and its allowed range."""

    name: str
    kind: str
    required: bool = False
    min: float | None = None
    max: float | None = None
    allowed: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ForeignKey:
    """``column`` must match ``parent_column`` of a kept row of ``parent`` (when both exist)."""

    column: str
    parent: str
    parent_column: str


@dataclass(frozen=True)
class TimeOrder:
    """``later`` must not be before ``earlier`` (same row), or before the parent's timestamp."""

    later: str
    earlier: str
    parent: str | None = None  # when set, ``earlier`` is a column of the parent found via ``via``
    via: str | None = None
    whole_days: bool = False  # compare against the start of the earlier timestamp's day


@dataclass(frozen=True)
class Table:
    """One contract table: its primary key, columns, foreign keys and time-order rules."""

    name: str
    key: str | None
    columns: tuple[Column, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    time_order: tuple[TimeOrder, ...] = ()
    required: bool = False
    created: str | None = None  # the timestamp that says when a row came into being
    notes: tuple[str, ...] = field(default=())

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


TABLES: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "customers",
            key="customer_id",
            columns=(Column("customer_id", ID, required=True),),
        ),
        Table(
            "orders",
            key="order_id",
            required=True,
            created="ordered_at",
            columns=(
                Column("order_id", ID, required=True),
                Column("customer_id", ID, required=True),
                Column("ordered_at", TIMESTAMP, required=True),
                Column("order_value", NUMBER, min=0),
                Column("channel", TEXT),
                Column("promised_at", TIMESTAMP),
                Column("delivered_at", TIMESTAMP),
                Column("status", TEXT),
            ),
            foreign_keys=(ForeignKey("customer_id", "customers", "customer_id"),),
            time_order=(
                TimeOrder("delivered_at", "ordered_at"),
                # a promise is often a bare date: it may fall on the ordering day itself
                TimeOrder("promised_at", "ordered_at", whole_days=True),
            ),
        ),
        Table(
            "followups",
            key="followup_id",
            created="sent_at",
            columns=(
                Column("followup_id", ID, required=True),
                Column("order_id", ID, required=True),
                Column("customer_id", ID, required=True),
                Column("sent_at", TIMESTAMP, required=True),
                Column("touchpoint", TEXT),
                Column("channel", TEXT),
                Column("personalized", BOOLEAN),
            ),
            foreign_keys=(
                ForeignKey("order_id", "orders", "order_id"),
                ForeignKey("customer_id", "customers", "customer_id"),
            ),
            time_order=(TimeOrder("sent_at", "ordered_at", parent="orders", via="order_id"),),
        ),
        Table(
            "tickets",
            key="ticket_id",
            created="created_at",
            columns=(
                Column("ticket_id", ID, required=True),
                Column("customer_id", ID, required=True),
                Column("created_at", TIMESTAMP, required=True),
                Column("order_id", ID),
                Column("channel", TEXT),
                Column("first_response_at", TIMESTAMP),
                Column("resolved_at", TIMESTAMP),
                Column("contacts", INTEGER, min=1),
                Column("reopened", BOOLEAN),
                Column("category", TEXT),
            ),
            foreign_keys=(
                ForeignKey("customer_id", "customers", "customer_id"),
                ForeignKey("order_id", "orders", "order_id"),
            ),
            time_order=(
                TimeOrder("first_response_at", "created_at"),
                TimeOrder("resolved_at", "created_at"),
            ),
        ),
        Table(
            "surveys",
            key="response_id",
            created="sent_at",
            columns=(
                Column("response_id", ID, required=True),
                Column("customer_id", ID, required=True),
                Column("sent_at", TIMESTAMP, required=True),
                Column("order_id", ID),
                Column("ticket_id", ID),
                Column("answered_at", TIMESTAMP),
                Column("csat", INTEGER, min=1, max=5),
                Column("nps", INTEGER, min=0, max=10),
                Column("ces", INTEGER, min=1, max=7),
                Column("comment", TEXT),
            ),
            foreign_keys=(
                ForeignKey("customer_id", "customers", "customer_id"),
                ForeignKey("order_id", "orders", "order_id"),
                ForeignKey("ticket_id", "tickets", "ticket_id"),
            ),
            time_order=(TimeOrder("answered_at", "sent_at"),),
        ),
        Table(
            "referrals",
            key="referral_id",
            created="referred_at",
            columns=(
                Column("referral_id", ID, required=True),
                Column("customer_id", ID, required=True),
                Column("referred_at", TIMESTAMP, required=True),
                Column("converted", BOOLEAN),
            ),
            foreign_keys=(ForeignKey("customer_id", "customers", "customer_id"),),
        ),
        Table(
            "interventions",
            key="intervention_id",
            created="start_at",
            columns=(
                Column("intervention_id", ID, required=True),
                Column("name", TEXT, required=True),
                Column("start_at", TIMESTAMP, required=True),
                Column("end_at", TIMESTAMP),
                Column("segment_by", TEXT),
                Column("segment", TEXT),
                Column("description", TEXT),
            ),
            time_order=(TimeOrder("end_at", "start_at"),),
        ),
        Table(
            "costs",
            key=None,
            created="incurred_at",
            columns=(
                Column("intervention_id", ID, required=True),
                Column("incurred_at", TIMESTAMP, required=True),
                Column("amount", NUMBER, required=True, min=0),
                Column("kind", TEXT, allowed=("one_off", "recurring")),
                Column("note", TEXT),
            ),
            foreign_keys=(ForeignKey("intervention_id", "interventions", "intervention_id"),),
        ),
    ]
}

# Parents before children, so a child's foreign key is checked against the parent's kept rows.
LOAD_ORDER = ["customers", "orders", "followups", "tickets", "surveys", "referrals", "interventions", "costs"]

# Scores that only mean something once the survey was answered.
SURVEY_SCORES = ("csat", "nps", "ces")

#: The rule each rejected value broke: a code to filter and count by (as pandera's ``check``),
#: beside the sentence in ``reason`` that says what to do about it.
REJECT_RULES = {
    "malformed_line": "the line has more or fewer fields than the header",
    "open_quote": "a quote left open would swallow the records after it",
    "unreadable": "the value cannot be read as the column's kind (number, date, ...)",
    "boolean_in_number": "true/false where a number belongs",
    "infinite": "an infinite or too large number",
    "blank_id": "an id of only spaces",
    "before_earliest": "a timestamp before `earliest`: a placeholder date",
    "after_span": "a timestamp far past the orders' span (e.g. 9999-12-31)",
    "required": "a required value is empty",
    "below_minimum": "a number below the column's minimum",
    "above_maximum": "a number above the column's maximum",
    "not_allowed": "a value outside the column's allowed values",
    "duplicate_key": "a key seen in an earlier row",
    "score_without_answer": "a survey score without answered_at",
    "time_order": "an event before the event it follows",
    "unknown_parent": "an id not among the kept rows of the table it refers to",
}
#: Timestamps before this are placeholders ("0001-01-01", "1900-01-01"), not events.
EARLIEST = "1990-01-01"
#: Timestamps from this year on are placeholders ("9999-12-31") whatever the data's span.
PLACEHOLDER_YEAR = 2200
