"""Convert the Olist "Brazilian E-Commerce Public Dataset" into gapkit contract tables.

Source
    Olist, "Brazilian E-Commerce Public Dataset by Olist" (2018),
    https://www.kaggle.com/datasets/olistbr/brazilian-ecommerce : about 99,441 orders placed
    from 2016-09 to 2018-10 at the Olist marketplace, in eight related CSV files, of which
    this converter reads four:
      olist_orders_dataset.csv          order_id, customer_id, order_status,
                                        order_purchase_timestamp, order_approved_at,
                                        order_delivered_carrier_date,
                                        order_delivered_customer_date,
                                        order_estimated_delivery_date
      olist_customers_dataset.csv       customer_id, customer_unique_id,
                                        customer_zip_code_prefix, customer_city, customer_state
      olist_order_reviews_dataset.csv   review_id, order_id, review_score (1-5),
                                        review_comment_title, review_comment_message
                                        (Portuguese), review_creation_date,
                                        review_answer_timestamp
      olist_order_payments_dataset.csv  order_id, payment_sequential, payment_type,
                                        payment_installments, payment_value (optional)
    Olist's description: once the product is delivered, or the estimated delivery date is
    due, the customer gets a satisfaction survey by e-mail to give a score and a comment.
Licence
    Creative Commons Attribution-NonCommercial-ShareAlike 4.0 International (CC BY-NC-SA 4.0).
    The extract under ``examples/olist/data/`` is redistributed under the same licence, with
    attribution (see ``data/ATTRIBUTION.md``); it is for non-commercial use only.

Input (``--source``): a folder holding the four files above, each as ``.csv`` or ``.csv.gz``
(the payments file may be absent: order_value is then left empty).

Output (``--out``): ``orders.csv``, ``customers.csv``, ``surveys.csv``.

Mapping
    customer_id everywhere <- customer_unique_id. Olist's own ``customer_id`` is a new key per
        order (so every customer would look like a one-order customer); customer_unique_id is
        the person. The per-order key is kept in orders as ``olist_customer_id``.
    orders, one row per order:
        order_id      <- order_id
        ordered_at    <- order_purchase_timestamp
        promised_at   <- order_estimated_delivery_date (always a bare date at midnight, so gapkit
                         treats the promise as a whole day: delivered any time that day is on time)
        delivered_at  <- order_delivered_customer_date (empty when not delivered)
        status        <- order_status, unchanged (delivered, shipped, canceled, unavailable,
                         invoiced, processing, created, approved). gapkit sets aside only
                         canceled/cancelled when it scores promises; an "unavailable" order
                         (never shipped) or a "shipped" one that never arrived counts as late
                         once its promise has fallen due. Published Olist late-delivery figures
                         count delivered orders only; see examples/README.md.
        order_value   <- sum of payment_value over the order's payments (BRL; vouchers
                         included), empty for orders with no payment row
        approved_at, delivered_carrier_at, olist_customer_id  <- extra columns, unchanged
    customers, one row per customer_unique_id:
        state         <- customer_state (27 states, segment column), city <- customer_city,
        zip_prefix    <- customer_zip_code_prefix; a person who ordered to several addresses
                         gets the address of their first order (the converter prints how many).
    surveys, one row per review row:
        response_id   <- review_id
        order_id      <- order_id;  customer_id <- the order's customer_unique_id
        sent_at       <- review_creation_date (the day the survey was sent, a bare date)
        answered_at   <- review_answer_timestamp
        csat          <- review_score (1-5)
        comment       <- review_comment_message (Portuguese: set ``language: pt`` in
                         gapkit.yml); line breaks inside a comment are replaced by spaces
        comment_title <- review_comment_title (extra column)
    All timestamps are Brazilian local time, written without a zone, so gapkit reads them as
    UTC. They are compared only with each other, so durations and promises are unaffected;
    month boundaries shift by three hours.

Not dropped here, left for gapkit to quarantine (the converter only reshapes)
    * review_id is not unique in the public data: a few hundred reviews are attached to two or
      more orders (same review_id, same text, different order_id). gapkit keeps the first row
      and rejects the later ones as duplicate keys, so each review counts once.
    * orders whose delivered_at is before ordered_at, or reviews of orders not in the orders
      file, if any, are likewise rejected by gapkit with the reason.

Caveats
    * Only answered reviews are published, so survey_response_rate is about 100 % by
      construction and says nothing about how many customers were asked.
    * The data set has no follow-ups, tickets or referrals; those KPIs are skipped.

Run
    python examples/olist/convert.py --source path/to/brazilian-ecommerce --out /tmp/olist
    python examples/olist/convert.py --source examples/olist/data --out /tmp/olist   # the extract
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

FILES = {
    "orders": "olist_orders_dataset",
    "customers": "olist_customers_dataset",
    "reviews": "olist_order_reviews_dataset",
    "payments": "olist_order_payments_dataset",
}
OPTIONAL = {"payments"}


def find(folder: Path, stem: str) -> Path | None:
    for suffix in (".csv", ".csv.gz"):
        path = folder / f"{stem}{suffix}"
        if path.exists():
            return path
    return None


def read_source(folder: Path) -> dict[str, pd.DataFrame]:
    raw = {}
    for key, stem in FILES.items():
        path = find(folder, stem)
        if path is None:
            if key in OPTIONAL:
                print(f"{stem}.csv not found: order_value will be empty")
                continue
            raise SystemExit(f"{folder}: {stem}.csv (or .csv.gz) not found")
        raw[key] = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        print(f"read {len(raw[key]):,} rows from {path}")
    return raw


def _one_line(text: pd.Series) -> pd.Series:
    return text.str.replace(r"\s*[\r\n]+\s*", " ", regex=True).str.strip()


def convert(raw: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    orders_in, customers_in, reviews_in = raw["orders"], raw["customers"], raw["reviews"]

    person = customers_in.drop_duplicates("customer_id").set_index("customer_id")["customer_unique_id"]
    orders = pd.DataFrame(
        {
            "order_id": orders_in["order_id"],
            "customer_id": orders_in["customer_id"].map(person),
            "ordered_at": orders_in["order_purchase_timestamp"],
            "order_value": pd.NA,
            "promised_at": orders_in["order_estimated_delivery_date"],
            "delivered_at": orders_in["order_delivered_customer_date"],
            "status": orders_in["order_status"],
            "approved_at": orders_in["order_approved_at"],
            "delivered_carrier_at": orders_in["order_delivered_carrier_date"],
            "olist_customer_id": orders_in["customer_id"],
        }
    )
    unmatched = orders["customer_id"].isna().sum()
    if unmatched:
        print(f"{unmatched:,} orders have a customer_id missing from the customers file: customer_id left empty")
    if "payments" in raw:
        paid = pd.to_numeric(raw["payments"]["payment_value"]).groupby(raw["payments"]["order_id"]).sum()
        orders["order_value"] = orders["order_id"].map(paid.round(2))
        print(f"order_value: {orders['order_value'].notna().sum():,} orders with payments, "
              f"{orders['order_value'].isna().sum():,} without (left empty)")

    # customers: one row per person, address of their first order
    first = (
        orders.assign(_t=pd.to_datetime(orders["ordered_at"]))
        .sort_values(["_t", "order_id"], kind="stable")
        .drop_duplicates("customer_id")[["customer_id", "olist_customer_id"]]
        .dropna(subset=["customer_id"])
    )
    address = customers_in.drop_duplicates("customer_id").set_index("customer_id")
    customers = pd.DataFrame(
        {
            "customer_id": first["customer_id"].to_numpy(),
            "state": first["olist_customer_id"].map(address["customer_state"]).to_numpy(),
            "city": first["olist_customer_id"].map(address["customer_city"]).to_numpy(),
            "zip_prefix": first["olist_customer_id"].map(address["customer_zip_code_prefix"]).to_numpy(),
        }
    ).sort_values("customer_id")
    moved = customers_in.groupby("customer_unique_id")["customer_state"].nunique()
    print(f"customers: {len(customers):,} people (customer_unique_id) behind {len(customers_in):,} Olist "
          f"customer_ids; {int((moved > 1).sum()):,} ordered to more than one state (state of the first order kept)")

    order_person = orders.set_index("order_id")["customer_id"]
    surveys = pd.DataFrame(
        {
            "response_id": reviews_in["review_id"],
            "customer_id": reviews_in["order_id"].map(order_person),
            "sent_at": reviews_in["review_creation_date"],
            "order_id": reviews_in["order_id"],
            "answered_at": reviews_in["review_answer_timestamp"],
            "csat": reviews_in["review_score"],
            "comment": _one_line(reviews_in["review_comment_message"]),
            "comment_title": _one_line(reviews_in["review_comment_title"]),
        }
    )
    dup = surveys["response_id"].duplicated(keep=False)
    print(f"surveys: {len(surveys):,} review rows; {int(surveys['response_id'].duplicated().sum()):,} repeat a "
          f"review_id already used for another order ({surveys.loc[dup, 'response_id'].nunique():,} review_ids "
          "shared): left in, gapkit rejects them as duplicate keys so each review counts once")
    orphan = surveys["customer_id"].isna().sum()
    if orphan:
        print(f"{orphan:,} reviews refer to orders not in the orders file: customer_id left empty")

    latest = max(
        pd.to_datetime(orders[c]).max()
        for c in ["ordered_at", "delivered_at", "approved_at", "delivered_carrier_at"]
    )
    latest = max(latest, pd.to_datetime(surveys["answered_at"]).max())
    print(f"latest timestamp in the data: {latest} (an as_of on or after that day sees everything)")
    return {"orders": orders, "customers": customers, "surveys": surveys}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, type=Path, help="folder with the olist_*.csv files")
    parser.add_argument("--out", required=True, type=Path, help="folder to write the contract tables into")
    args = parser.parse_args(argv)
    tables = convert(read_source(args.source))
    args.out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(args.out / f"{name}.csv", index=False)
        print(f"wrote {args.out / (name + '.csv')} ({len(frame):,} rows)")


if __name__ == "__main__":
    main()
