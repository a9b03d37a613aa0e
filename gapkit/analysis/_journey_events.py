"""The journey's events: each order's post-sale events (linked to it), their stage order, and
the stage each scored comment speaks of. The rules are in :mod:`gapkit.analysis.journey`."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from gapkit.analysis.text import sentiment
from gapkit.contract._parsing import isin, positions, sorted_rows

DAY = pd.Timedelta(days=1)
TAIL = ("support_ticket", "survey", "review", "repeat_purchase")
KINDS = {"order": "order", "delivery": "delivery", "support_ticket": "support", "survey": "survey",
         "review": "review", "repeat_purchase": "repeat"}


def codes(order_id: pd.Series, cohort_ids: pd.Series) -> np.ndarray:
    """Each order id's row in the cohort (-1: not a cohort order). Events are joined on these
    integers: pandas joins text keys as Python objects, seconds per million (issue 30)."""
    found = positions(order_id, cohort_ids)
    return found if found is not None else pd.Index(cohort_ids).get_indexer(order_id)


def _frame(cohort_ids, order_id, stage, at, channel=None, **extra) -> pd.DataFrame:
    at_cohort = codes(order_id, cohort_ids)
    keep = at_cohort >= 0  # events of orders outside the cohort have no journey here
    # .array keeps the UTC dtype (to_numpy gives objects, which later will not subtract)
    return pd.DataFrame({"order_id": at_cohort[keep], "stage": stage if isinstance(stage, str) else
                         stage.to_numpy()[keep], "at": at.array[keep],
                         "channel": None if channel is None else channel.astype("str").to_numpy()[keep],
                         **{k: v.to_numpy()[keep] for k, v in extra.items()}})


def _link(frame: pd.DataFrame, at: str, orders: pd.DataFrame, via: pd.Series | None = None) -> pd.DataFrame:
    """Give every row an order_id: its own, its ticket's (``via``), else the customer's latest order."""
    frame = frame.copy()
    own = frame["order_id"] if "order_id" in frame else pd.Series(np.nan, index=frame.index, dtype="str")
    if via is not None and "ticket_id" in frame:
        own = own.fillna(frame["ticket_id"].map(via))
    frame["order_id"] = own.astype("str")
    lost = frame["order_id"].isna() & frame[at].notna()
    if lost.any():
        left = frame.loc[lost].drop(columns="order_id").reset_index().sort_values(at)
        right = orders[["customer_id", "order_id", "ordered_at"]].sort_values("ordered_at")
        found = pd.merge_asof(left, right, left_on=at, right_on="ordered_at", by="customer_id",
                              direction="backward").set_index("index")["order_id"]
        frame.loc[lost, "order_id"] = found
    return frame.loc[frame["order_id"].notna()]


def of_cohort(data: Mapping, orders: pd.DataFrame, cohort: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    """The follow-ups, tickets, surveys and orders that can be an event of a ``cohort`` order:
    the rows of its orders and of its customers (a ticket or survey without an order is linked
    to its customer's latest order, a repeat purchase is the customer's next order), and the
    surveys of those tickets. :func:`events_of` gives the same events from these as from all
    rows; on a sample of the cohort it then reads a sample's share of each table (issue 30)."""
    ids, customers = cohort["order_id"], cohort["customer_id"]

    def near(frame: pd.DataFrame) -> pd.Series:
        keep = isin(frame["order_id"], ids) if "order_id" in frame else pd.Series(False, index=frame.index)
        return keep | isin(frame["customer_id"], customers) if "customer_id" in frame else keep

    cut = {}
    if "followups" in data:
        cut["followups"] = data["followups"].loc[near(data["followups"]).to_numpy()]
    if "tickets" in data:
        cut["tickets"] = data["tickets"].loc[near(data["tickets"]).to_numpy()]
    if "surveys" in data:
        surveys = data["surveys"]
        keep = near(surveys)
        if "tickets" in cut and "ticket_id" in surveys:
            keep |= isin(surveys["ticket_id"], cut["tickets"]["ticket_id"])
        cut["surveys"] = surveys.loc[keep.to_numpy()]
    return cut, orders.loc[isin(orders["customer_id"], customers).to_numpy()]


def events_of(data, orders, cohort, eod, window):
    """Every cohort order's events in its window: order_id (the order's row in ``cohort``), stage,
    at, channel, days (from the order), response_id; and the answered surveys, linked."""
    ids = cohort["order_id"]
    parts = [_frame(ids, ids, "order", cohort["ordered_at"], cohort.get("channel"))]
    if "delivered_at" in cohort:
        done = cohort.loc[cohort["delivered_at"].notna()]
        parts.append(_frame(ids, done["order_id"], "delivery", done["delivered_at"]))
    tickets_order = None
    if "followups" in data:
        fu = data["followups"]
        touch = fu["touchpoint"].fillna("followup") if "touchpoint" in fu else "followup"
        parts.append(_frame(ids, fu["order_id"], touch, fu["sent_at"], fu.get("channel")))
    if "tickets" in data:
        tickets = _link(data["tickets"], "created_at", orders)
        tickets_order = tickets.set_index("ticket_id")["order_id"]
        parts.append(_frame(ids, tickets["order_id"], "support_ticket", tickets["created_at"],
                            tickets.get("channel")))
    answered = pd.DataFrame(columns=["response_id", "order_id", "answered_at", "sent_at"])
    if "surveys" in data and "answered_at" in data["surveys"]:
        surveys = data["surveys"].loc[lambda s: s["answered_at"].notna() & (s["answered_at"] <= eod)]
        answered = _link(surveys, "sent_at", orders, tickets_order)
        parts.append(_frame(ids, answered["order_id"], "survey", answered["answered_at"],
                            response_id=answered["response_id"]))
    ordered = sorted_rows(orders, ["customer_id", "ordered_at", "order_id"])
    nxt = ordered.groupby("customer_id")[["ordered_at"] + (["channel"] if "channel" in ordered else [])].shift(-1)
    again = nxt.loc[nxt["ordered_at"].notna()]
    parts.append(_frame(ids, ordered.loc[again.index, "order_id"], "repeat_purchase", again["ordered_at"],
                        again.get("channel")))
    events = pd.concat(parts, ignore_index=True)
    events["ordered_at"] = cohort["ordered_at"].array.take(events["order_id"].to_numpy())
    events["days"] = (events["at"] - events["ordered_at"]) / DAY
    events = events.loc[(events["days"] >= 0) & (events["days"] <= window / DAY) & (events["at"] <= eod)]
    review = events.loc[events["stage"] == "review_request"].groupby("order_id")["at"].min()
    if len(review):
        late = events.loc[(events["stage"] == "survey") & (events["at"] >= events["order_id"].map(review))]
        events = pd.concat([events, late.assign(stage="review")], ignore_index=True)
    return events.drop(columns="ordered_at"), answered


def stage_order(first: pd.DataFrame, data: Mapping) -> pd.DataFrame:
    """order, delivery, touchpoints by median days from the order (ties by name), then the tail."""
    present = set(first["stage"].unique())
    touch = first.loc[~first["stage"].isin(KINDS)].groupby("stage")["days"].median().reset_index()
    touch = touch.sort_values(["days", "stage"])["stage"].tolist()
    head = ["order"] + (["delivery"] if "delivered_at" in data["orders"] else [])
    tail = [s for s in TAIL if s in present or (s == "support_ticket" and "tickets" in data)
            or (s == "survey" and "surveys" in data) or s == "repeat_purchase"]
    names = head + touch + tail
    return pd.DataFrame({"stage": names, "kind": [KINDS.get(s, "followup") for s in names],
                         "order": range(len(names))})


def feelings_of(answered: pd.DataFrame, events: pd.DataFrame, stages: pd.DataFrame,
                cohort_ids: pd.Series) -> pd.DataFrame:
    """One stage per scored comment (the rule in the module docstring); order_id as in events."""
    empty = pd.DataFrame(columns=["order_id", "stage", "compound"])
    if answered.empty or "comment" not in answered:
        return empty
    in_window = events.loc[events["stage"] == "survey", "response_id"]
    scored = sentiment(answered.loc[isin(answered["response_id"], in_window)],
                       keep=[c for c in ("order_id", "ticket_id", "sent_at") if c in answered])
    scored = scored.loc[scored["scored"]].reset_index(drop=True)
    if scored.empty:
        return empty
    scored["order_id"] = codes(scored["order_id"], cohort_ids)  # in the window, so in the cohort
    scored["stage"] = None
    if "ticket_id" in scored:
        scored.loc[scored["ticket_id"].notna(), "stage"] = "support_ticket"
    review = events.loc[events["stage"] == "review_request"].groupby("order_id")["at"].min()
    if len(review):  # with no review request the map is all-missing and not comparable to timestamps
        is_review = scored["stage"].isna() & (scored["answered_at"] >= scored["order_id"].map(review))
        scored.loc[is_review.fillna(False).astype(bool), "stage"] = "review"
    rest = scored.loc[scored["stage"].isna()].copy()
    rest["ref"] = rest["sent_at"].fillna(rest["answered_at"]) if "sent_at" in rest else rest["answered_at"]
    before = events.loc[events["stage"].isin(stages.loc[stages["kind"].isin(
        ["order", "delivery", "followup", "support"]), "stage"])].merge(stages[["stage", "order"]], on="stage")
    cand = rest[["response_id", "order_id", "ref"]].merge(before[["order_id", "stage", "at", "order"]], on="order_id")
    cand = cand.loc[cand["at"] <= cand["ref"]].sort_values(["response_id", "at", "order"])
    closest = cand.drop_duplicates("response_id", keep="last").set_index("response_id")["stage"]
    scored.loc[rest.index, "stage"] = rest["response_id"].map(closest).to_numpy()
    return scored.loc[scored["stage"].notna(), ["order_id", "stage", "compound"]]
