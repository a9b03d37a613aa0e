"""Convert the "Helpdesk" event log (an Italian software company) into gapkit contract tables.

Source
    Mirko Polato (2017), "Dataset belonging to the help desk log of an Italian Company",
    4TU.ResearchData, https://doi.org/10.4121/uuid:0c60edf1-6f83-4e75-9367-4c63b3e9d5bb
    (file ``finale.csv``; SHA-256 31024fa6da0a35578643d50f2bea6e90d5ce97628b64851e271b521f005eef1c).
    The ticketing process of the help desk of an Italian software company, 2010-01-13 to
    2014-01-03: 21,348 events, 4,580 tickets ("cases"), 14 activities, 397 customers. Used in
    process-mining papers (e.g. Polato et al. 2018, "Time and activity sequence prediction of
    business process instances", Computing 100(9); Tax et al. 2017,
    "Predictive business process monitoring with LSTM neural networks", CAiSE).
    Columns: Case ID, Activity, Resource, Complete Timestamp (``YYYY/MM/DD hh:mm:ss.sss``),
    Variant, Variant index, seriousness, customer, product, responsible_section,
    seriousness_2, service_level, service_type, support_section, workgroup (all attribute
    values are anonymised as "Value N").
Licence
    Published on 4TU.ResearchData under its "4TU General Terms of Use" (attribution; this
    is not a Creative Commons licence). No extract is committed here: download ``finale.csv``
    from the DOI above and pass its path.

Input (``--source``): ``finale.csv`` (or a .csv.gz of it).

Output (``--out``): ``tickets.csv``, and a derived ``orders.csv`` (see below).

Mapping (each ticket's events are ordered by timestamp, ties kept in file order)
    tickets, one row per Case ID:
        ticket_id         <- Case ID
        customer_id       <- customer of the ticket's first event (7 tickets change customer
                             value mid-way; the converter prints how many)
        created_at        <- timestamp of the ticket's first event, whatever it is (mostly
                             "Assign seriousness" or "Insert ticket"; the log has no separate
                             creation time, so for the 74 tickets whose first event is "Take in
                             charge ticket" the first response is at 0 hours)
        first_response_at <- first "Take in charge ticket" (an agent takes the ticket): the
                             closest thing the log has to a first response; empty if never
        resolved_at       <- last "Resolve ticket" (final resolution); empty for tickets that
                             were never resolved (closed without, or still open at the end)
        reopened          <- true when any working activity ("Take in charge ticket", "Wait",
                             "Assign seriousness", "Require upgrade", "Insert ticket",
                             "Create SW anomaly", "Schedule intervention") happens after the
                             first "Resolve ticket"; false when resolved and none does; empty
                             when never resolved
        category          <- service_type of the first event
        closed_at         <- last "Closed" (extra column; "Closed" is largely automatic, about
                             30 days after resolution, so it is not used as the resolution)
        seriousness_2, service_level, product, responsible_section, support_section,
        workgroup         <- values at the first event (extra columns, usable as segments)
        events, activities  <- number of events, and the activity sequence joined by " > "
        No contacts (the log does not count customer contacts): fcr_rate is skipped.
        No channel, no order_id (tickets are not linked to purchases).
        Timestamps are Italian local time, written without a zone, so gapkit reads them as UTC;
        only differences between them are used by the ticket KPIs.
    orders (required by the contract; the log has none): DERIVED, NOT REAL PURCHASES.
        One row per customer: order_id "first-ticket:<customer>", ordered_at = the created_at
        of the customer's first ticket, status "derived_from_first_ticket", nothing else. It
        only lets gapkit load the tickets. Every order-based KPI on it is an artifact: in
        particular repeat_purchase_rate is 0 by construction. Ignore them.

Dropped: nothing. Every event is used; every case becomes a ticket.

Run
    python examples/helpdesk/convert.py --source path/to/finale.csv --out /tmp/helpdesk
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

WORK = {
    "Take in charge ticket", "Wait", "Assign seriousness", "Require upgrade", "Insert ticket",
    "Create SW anomaly", "Schedule intervention",
}
ATTRIBUTES = ["seriousness_2", "service_level", "product", "responsible_section", "support_section", "workgroup"]


def read_source(path: Path) -> pd.DataFrame:
    events = pd.read_csv(path, dtype=str)
    needed = ["Case ID", "Activity", "Complete Timestamp", "customer", "service_type", *ATTRIBUTES]
    missing = [c for c in needed if c not in events.columns]
    if missing:
        raise SystemExit(f"{path}: missing columns {missing}; expected the 4TU Helpdesk finale.csv")
    events["t"] = pd.to_datetime(events["Complete Timestamp"], format="ISO8601")
    events["_pos"] = range(len(events))
    return events.sort_values(["Case ID", "t", "_pos"], kind="stable")


def _first(events: pd.DataFrame, activity: str) -> pd.Series:
    return events.loc[events["Activity"] == activity].groupby("Case ID")["t"].min()


def _last(events: pd.DataFrame, activity: str) -> pd.Series:
    return events.loc[events["Activity"] == activity].groupby("Case ID")["t"].max()


def convert(events: pd.DataFrame) -> dict[str, pd.DataFrame]:
    by_case = events.groupby("Case ID", sort=False)
    head = by_case.first()  # the first event's attributes
    tickets = pd.DataFrame(
        {
            "ticket_id": head.index,
            "customer_id": head["customer"].to_numpy(),
            "created_at": by_case["t"].min().reindex(head.index).to_numpy(),
        }
    ).set_index("ticket_id", drop=False)
    tickets["first_response_at"] = _first(events, "Take in charge ticket")
    tickets["resolved_at"] = _last(events, "Resolve ticket")
    first_resolve = _first(events, "Resolve ticket")
    after = events.join(first_resolve.rename("_fr"), on="Case ID")
    work_after = after.loc[after["Activity"].isin(WORK) & (after["t"] > after["_fr"])].groupby("Case ID").size()
    reopened = pd.Series(pd.NA, index=tickets.index, dtype="object")
    resolved = tickets["resolved_at"].notna()
    reopened[resolved] = tickets.index[resolved].isin(work_after.index)
    tickets["reopened"] = reopened
    tickets["category"] = head["service_type"]
    tickets["closed_at"] = _last(events, "Closed")
    for column in ATTRIBUTES:
        tickets[column] = head[column]
    tickets["events"] = by_case.size()
    tickets["activities"] = by_case["Activity"].agg(" > ".join)
    tickets = tickets.reset_index(drop=True)
    order = tickets["ticket_id"].str.extract(r"(\d+)$")[0].astype("int64")
    tickets = tickets.iloc[order.argsort(kind="stable")]

    changed = (by_case["customer"].nunique() > 1).sum()
    print(
        f"tickets: {len(tickets):,} from {len(events):,} events; {int(changed)} change customer mid-way (first kept); "
        f"{int(tickets['first_response_at'].isna().sum()):,} never taken in charge; "
        f"{int((~resolved).sum()):,} never resolved; {int(tickets['reopened'].eq(True).sum()):,} reopened after "
        "their first resolution"
    )

    firsts = tickets.sort_values(["created_at", "ticket_id"], kind="stable").drop_duplicates("customer_id")
    orders = pd.DataFrame(
        {
            "order_id": "first-ticket:" + firsts["customer_id"],
            "customer_id": firsts["customer_id"],
            "ordered_at": firsts["created_at"],
            "status": "derived_from_first_ticket",
        }
    ).sort_values("ordered_at", kind="stable")
    print(
        f"orders: {len(orders):,} DERIVED rows (one per customer, at their first ticket), only because the "
        "contract requires an orders table; order KPIs on them are meaningless"
    )
    print(f"latest timestamp in the log: {events['t'].max()} (an as_of on or after that day sees everything)")
    return {"orders": orders, "tickets": tickets}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, type=Path, help="finale.csv from 4TU.ResearchData")
    parser.add_argument("--out", required=True, type=Path, help="folder to write tickets.csv and orders.csv into")
    args = parser.parse_args(argv)
    tables = convert(read_source(args.source))
    args.out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(args.out / f"{name}.csv", index=False, date_format="%Y-%m-%dT%H:%M:%S")
        print(f"wrote {args.out / (name + '.csv')} ({len(frame):,} rows)")


if __name__ == "__main__":
    main()
