"""The Polars engine's shortcuts (gapkit/measure/_polars.py) give the pandas engine's figures:
only the columns read converted, ids packed into 64-bit integers or kept as text when they do
not fit, medians from selected order statistics, every KPI in one collect."""

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gapkit
from gapkit import sample
from gapkit.measure import _polars, definitions

AS_OF = "2025-06-30"


@pytest.fixture(scope="module")
def data():
    return gapkit.validate(sample.generate(n_orders=2000, seed=5))


def compute(tables, engine, **kw):
    table = gapkit.kpis(tables, as_of=AS_OF, by=kw.pop("by", ["segment", "channel"]), period="M", engine=engine, **kw)
    return table.sort_values(["kpi", "period", "segment_by", "segment"]).reset_index(drop=True)


def same_as_pandas(tables, **kw):
    on_pandas, on_polars = compute(tables, "pandas", **kw), compute(tables, "polars", **kw)
    assert len(on_pandas) > 0
    pd.testing.assert_frame_equal(on_pandas, on_polars, check_exact=False, rtol=1e-9, atol=1e-12)
    assert on_polars.attrs["skipped"] == on_pandas.attrs["skipped"]
    return on_polars


def test_every_column_a_definition_names_is_converted():
    # a column missing from READ_COLUMNS would be absent on Polars (an error, or worse, a KPI
    # silently computed without it, as on_time_delivery_rate without status)
    tree = ast.parse(Path(definitions.__file__).read_text(encoding="utf-8"))
    named = {node.args[0].value for node in ast.walk(tree)
             if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "col"
             and node.args and isinstance(node.args[0], ast.Constant)}
    named |= {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and node.value in
              ("order_id", "customer_id", "status")}
    read = {column for columns in _polars.READ_COLUMNS.values() for column in columns}
    assert {c for c in named if not c.startswith("_")} <= read


def test_only_the_read_columns_of_the_needed_tables_are_converted(data):
    part = _polars.columns_read(["csat", "on_time_delivery_rate"], ["segment"])
    assert list(part("surveys", data["surveys"]).columns) == ["customer_id", "sent_at", "answered_at", "csat",
                                                                "nps", "ces"]
    assert set(part("orders", data["orders"]).columns) == {"order_id", "customer_id", "ordered_at", "promised_at",
                                                            "delivered_at", "status"}
    assert list(part("customers", data["customers"]).columns) == ["customer_id", "segment"]
    unused = part("tickets", data["tickets"])
    assert len(unused) == 0 and list(unused.columns) == list(data["tickets"].columns)


def test_columns_no_kpi_reads_may_hold_anything(data):
    tables = {name: frame.copy() for name, frame in data.items()}
    tables["surveys"]["comment"] = [{"not": "convertible"}] * len(tables["surveys"])
    table = gapkit.kpis(tables, as_of=AS_OF, by=["segment"], kpis=["csat", "nps"], engine="polars")
    assert set(table.kpi) == {"csat", "nps"}


@pytest.mark.parametrize("spelling", ["short and varied", "long", "not ascii"])
def test_ids_that_do_not_fit_64_bits_read_the_same(data, spelling):
    """Ids of 1-8 ASCII bytes are packed (zero-padded, so "C12" sorts before "C120" and
    before "C2" as text does); longer or non-ASCII ids stay text."""
    rename = {"short and varied": lambda i: i.lstrip("CO0") or "0", "long": lambda i: f"{i}-{i}",
              "not ascii": lambda i: f"é{i[-4:]}"}[spelling]
    tables = {name: frame.copy() for name, frame in data.items()}
    for frame in tables.values():
        for column in ("customer_id", "order_id"):
            if column in frame:
                frame[column] = frame[column].map(rename, na_action="ignore").astype(frame[column].dtype)
    same_as_pandas(tables)


def test_first_order_ties_break_on_the_smallest_id_as_text(data):
    # a twin of every first order at the same instant, through another channel, whose id is the
    # smaller text ("N12" < "O12"; ids of varied lengths, packed): the cohort KPIs by channel
    # follow the twin
    tables = {name: frame.copy() for name, frame in data.items()}
    for frame in tables.values():
        if "order_id" in frame:
            frame["order_id"] = frame["order_id"].map(lambda i: f"O{int(i[1:])}", na_action="ignore")
    orders = tables["orders"]
    twin = orders.groupby("customer_id")["ordered_at"].transform("min") == orders["ordered_at"]
    extra = orders[twin].copy()
    extra["order_id"] = "N" + extra["order_id"].str[1:]
    extra["channel"] = np.where(extra["channel"] == "email", "web", "email")
    tables["orders"] = pd.concat([orders, extra], ignore_index=True)
    with_twins = same_as_pandas(tables, kpis=["repeat_purchase_rate", "referral_rate"])
    without = compute({**tables, "orders": orders}, "polars", kpis=["repeat_purchase_rate", "referral_rate"])
    by_channel = with_twins.segment_by == "channel"
    assert by_channel.any()
    assert not with_twins[by_channel]["n"].equals(without[without.segment_by == "channel"]["n"])


def test_packed_ids_sort_and_join_like_the_text():
    import polars as pl

    ids = pl.LazyFrame({"order_id": ["O2", "O10", "O1", None, "O10"]})
    packed = _polars.packed_keys({"orders": __import__("narwhals").from_native(ids)}, by=[])
    values = packed["orders"].to_native().collect()["order_id"]
    assert values.dtype == pl.UInt64 and values.null_count() == 1
    order = values.drop_nulls().arg_sort().to_list()
    assert [["O2", "O10", "O1", "O10"][i] for i in order] == ["O1", "O10", "O10", "O2"]
    assert values[1] == values[4] and values[0] != values[1]


def test_a_median_group_whose_units_are_all_open_has_no_row(data):
    tables = {name: frame.copy() for name, frame in data.items()}
    tickets = tables["tickets"]
    tickets.loc[tickets["channel"] == tickets["channel"].iloc[0], "resolved_at"] = pd.NaT
    table = same_as_pandas(tables, kpis=["resolution_hours", "first_response_hours"], by=["channel"])
    assert tickets["channel"].iloc[0] not in set(table.loc[table.kpi == "resolution_hours", "segment"])
