"""Convert the UCI "Online Retail" transaction log into gapkit contract tables.

Source
    Daqing Chen, "Online Retail", UCI Machine Learning Repository, 2015,
    https://doi.org/10.24432/C5BW33 (https://archive.ics.uci.edu/dataset/352/online+retail).
    All transactions of a UK-based, non-store online gift-ware retailer (many customers are
    wholesalers) between 2010-12-01 and 2011-12-09: 541,909 invoice lines, 25,900 invoice
    numbers, 4,372 customer ids, 38 countries.
    Reference: Chen, Sain and Guo (2012), "Data mining for the online retail industry: a case
    study of RFM model-based customer segmentation using data mining", Journal of Database
    Marketing and Customer Strategy Management 19(3), 197-208, doi:10.1057/dbm.2012.17.
Licence
    Creative Commons Attribution 4.0 International (CC BY 4.0), as stated by the UCI repository.
    (The same table is also shipped, CC0, in the R package ``onlineretail`` on CRAN, with the
    donor's permission; that is the copy this example was checked on.)

Input (``--source``)
    The public file in any of its usual shapes: ``Online Retail.xlsx`` as downloaded from UCI
    (needs ``openpyxl``), or a CSV / CSV.gz export of it with the original columns
    InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country.
    InvoiceDate may be ISO (``2010-12-01 08:26:00``) or the UCI/Kaggle CSV form
    (``12/1/2010 8:26``, month first).

Output (``--out``): ``orders.csv`` and ``customers.csv``.

Mapping
    orders, one row per invoice number (an invoice is one purchase occasion):
        order_id     <- InvoiceNo
        customer_id  <- CustomerID, written as a whole number ("17850", not "17850.0");
                        empty where the log has none (see "kept for gapkit to quarantine")
        ordered_at   <- the earliest InvoiceDate of the invoice's lines (42 invoices have lines
                        stamped one minute apart). Local UK time, written without a zone, so
                        gapkit reads it as UTC (at most one hour off in summer; harmless for
                        day-level KPIs).
        order_value  <- sum of Quantity * UnitPrice over the invoice's lines, in pounds sterling,
                        rounded to pennies. Not clipped: a negative sum is passed on as is.
        status       <- "invoiced" for every kept invoice
        country      <- Country of the invoice (an order-level copy; segment column)
        n_lines, units  <- number of lines and sum of Quantity (extra columns, for context)
        No promised_at / delivered_at / channel: the log has no delivery data.
    customers, one row per CustomerID:
        customer_id  <- CustomerID
        country      <- Country; 8 customers appear under two countries: the country of their
                        first invoice is used (the converter prints how many).
        first_invoice_at, invoices  <- extra columns (first order time, number of invoices)

Dropped, counted and printed
    Cancellation invoices (InvoiceNo starting with "C": 3,836 invoices, 9,288 lines, negative
    quantities). They are not purchases: as orders they would count as repeat purchases and
    carry negative values. They cannot be netted against the invoice they cancel either (the
    log has no link to it), so the orders' order_value is the gross invoiced value and the
    value later cancelled is printed (8.4 % of the gross over the whole log, a quarter of it
    two mis-keyed bulk orders of 80,995 and 74,215 units cancelled minutes later).

Kept for gapkit to quarantine (not dropped here, so that its rejects list shows them)
    * invoices without a CustomerID (3,528 of the non-cancellation invoices: guest or
      anonymous sales, and the 1,336 stock-adjustment "invoices" made of negative-quantity,
      zero-price lines) -> rejected by gapkit: customer_id is required;
    * the bad-debt adjustments "A563185", "A563186", "A563187" (no customer; two of them with
      negative value) -> rejected for the missing customer_id (and negative order_value).

Run
    python examples/online_retail/convert.py --source "Online Retail.xlsx" --out /tmp/online_retail
    python examples/online_retail/convert.py \\
        --source examples/online_retail/data/online_retail_sample.csv.gz --out /tmp/online_retail
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

COLUMNS = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]


def read_source(path: Path) -> pd.DataFrame:
    """Read the public file (.xlsx, .csv or .csv.gz) with every column as text first."""
    if path.suffix.lower() in {".xlsx", ".xls"}:
        raw = pd.read_excel(path, dtype=str)  # needs openpyxl
    else:
        raw = pd.read_csv(path, dtype=str, encoding_errors="replace")
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise SystemExit(f"{path}: missing columns {missing}; expected the UCI Online Retail columns {COLUMNS}")
    raw = raw[COLUMNS].copy()
    raw["InvoiceNo"] = raw["InvoiceNo"].str.strip()
    raw["Quantity"] = pd.to_numeric(raw["Quantity"], errors="raise")
    raw["UnitPrice"] = pd.to_numeric(raw["UnitPrice"], errors="raise")
    raw["InvoiceDate"] = _parse_dates(raw["InvoiceDate"])
    # CustomerID comes as "17850", "17850.0" or empty: keep it as a whole-number string
    cid = pd.to_numeric(raw["CustomerID"], errors="coerce")
    raw["CustomerID"] = cid.map(lambda v: "" if pd.isna(v) else str(int(v)))
    return raw


def _parse_dates(values: pd.Series) -> pd.Series:
    iso = pd.to_datetime(values, format="ISO8601", errors="coerce")
    if iso.notna().all():
        return iso
    us = pd.to_datetime(values, format="%m/%d/%Y %H:%M", errors="coerce")  # UCI/Kaggle CSV form
    out = iso.fillna(us)
    if out.isna().any():
        bad = values[out.isna()].head(3).tolist()
        raise SystemExit(f"unreadable InvoiceDate values, e.g. {bad}")
    return out


def convert(lines: pd.DataFrame) -> dict[str, pd.DataFrame]:
    cancel = lines["InvoiceNo"].str.upper().str.startswith("C")
    lines = lines.assign(value=lines["Quantity"] * lines["UnitPrice"])
    gross = lines.loc[~cancel, "value"].sum()
    cancelled_value = -lines.loc[cancel, "value"].sum()
    print(
        f"dropped {lines.loc[cancel, 'InvoiceNo'].nunique():,} cancellation invoices "
        f"({int(cancel.sum()):,} lines, {cancelled_value:,.2f} GBP = {cancelled_value / gross:.1%} of the "
        f"gross invoiced value {gross:,.2f} GBP)"
    )
    kept = lines.loc[~cancel]
    orders = (
        kept.groupby("InvoiceNo", sort=False)
        .agg(
            customer_id=("CustomerID", "first"),
            ordered_at=("InvoiceDate", "min"),
            order_value=("value", "sum"),
            country=("Country", "first"),
            n_lines=("StockCode", "size"),
            units=("Quantity", "sum"),  # whole numbers
        )
        .reset_index()
        .rename(columns={"InvoiceNo": "order_id"})
    )
    orders["order_value"] = orders["order_value"].round(2)
    orders["units"] = orders["units"].round().astype("int64")
    orders["status"] = "invoiced"
    orders = orders.sort_values(["ordered_at", "order_id"], kind="stable")
    orders = orders[["order_id", "customer_id", "ordered_at", "order_value", "status", "country", "n_lines", "units"]]

    no_customer = orders["customer_id"].eq("")
    negative = orders["order_value"] < 0
    print(
        f"orders: {len(orders):,} invoices; left for gapkit to quarantine: {int(no_customer.sum()):,} without a "
        f"CustomerID, {int(negative.sum()):,} with a negative value"
    )

    with_id = orders.loc[~no_customer]
    countries = with_id.groupby("customer_id")["country"].nunique()
    customers = (
        with_id.sort_values(["ordered_at", "order_id"], kind="stable")
        .groupby("customer_id", sort=False)
        .agg(country=("country", "first"), first_invoice_at=("ordered_at", "first"), invoices=("order_id", "size"))
        .reset_index()
        .sort_values("customer_id")
    )
    print(
        f"customers: {len(customers):,}; {int((countries > 1).sum())} appear under more than one country "
        "(the country of their first invoice is used)"
    )
    return {"orders": orders, "customers": customers}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, type=Path, help="Online Retail.xlsx, or a CSV(.gz) export of it")
    parser.add_argument("--out", required=True, type=Path, help="folder to write orders.csv and customers.csv into")
    args = parser.parse_args(argv)
    lines = read_source(args.source)
    print(f"read {len(lines):,} lines, {lines['InvoiceNo'].nunique():,} invoice numbers from {args.source}")
    tables = convert(lines)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(args.out / f"{name}.csv", index=False, date_format="%Y-%m-%dT%H:%M:%S")
        print(f"wrote {args.out / (name + '.csv')} ({len(frame):,} rows)")


if __name__ == "__main__":
    main()
