"""Loading: contract checks, quarantine with reasons, and counts that add up."""

import pandas as pd
import pytest

import gapkit

ORDERS = pd.DataFrame(
    {
        "order_id": ["o1", "o2", "o2", "o3", "o4", "o5"],
        "customer_id": ["c1", "c2", "c3", None, "c1", "c9"],
        "ordered_at": ["2025-01-01", "2025-01-02T10:00:00Z", "2025-01-03", "2025-01-04", "not-a-date", "2025-01-05"],
        "order_value": ["10", "-1", "3", "4", "5", "6"],
        "delivered_at": ["2024-12-31", None, None, None, None, None],
        "region_code": ["n", "s", "e", "w", "n", "s"],  # an extra column is kept
    }
)
CUSTOMERS = pd.DataFrame({"customer_id": ["c1", "c2", "c3"], "segment": ["A", "B", None]})


def write(folder, tables, fmt="csv"):
    folder.mkdir(exist_ok=True)
    for name, frame in tables.items():
        if fmt == "csv":
            frame.to_csv(folder / f"{name}.csv", index=False)
        else:
            frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def test_every_rule_breaker_is_quarantined_with_a_reason(tmp_path):
    data = gapkit.load(write(tmp_path / "in", {"orders": ORDERS, "customers": CUSTOMERS}))
    rejects = data.rejects.set_index("row")
    assert list(data["orders"]["order_id"]) == []  # every order row breaks one rule
    expected = {
        1: ("delivered_at", "time_order", "before ordered_at"),
        2: ("order_value", "below_minimum", ">= 0"),
        3: ("order_id", "duplicate_key", "duplicate order_id (first seen in row 2)"),
        4: ("customer_id", "required", "required but empty"),
        5: ("ordered_at", "unreadable", "cannot read ordered_at as a timestamp"),
        6: ("customer_id", "unknown_parent", "not found among the kept rows of customers"),
    }
    orders_rejects = data.rejects[data.rejects.table == "orders"]
    for row, (column, rule, reason) in expected.items():
        hits = orders_rejects[(orders_rejects.row == row) & (orders_rejects.column == column)]
        assert hits.reason.str.contains(reason, regex=False).any(), (row, rejects)
        assert (hits.rule == rule).any(), (row, hits)
    assert set(data.rejects.rule) <= set(gapkit.validation.REJECT_RULES)
    assert orders_rejects.loc[orders_rejects.row == 5, "value"].tolist() == ["not-a-date"]
    counts = data.counts.set_index("table")
    assert (counts.input_rows == counts.kept + counts.rejected).all()
    assert counts.loc["orders", "rejected"] == 6 and counts.loc["customers", "kept"] == 3


def test_good_rows_are_kept_with_types_and_extra_columns(tmp_path):
    good = ORDERS.iloc[[0]].assign(delivered_at="2025-01-02")
    data = gapkit.load(write(tmp_path / "in", {"orders": good, "customers": CUSTOMERS}))
    orders = data["orders"]
    assert len(orders) == 1 and orders.loc[0, "region_code"] == "n"
    assert str(orders["ordered_at"].dt.tz) == "UTC" and orders.loc[0, "order_value"] == 10.0
    assert data.rejects.empty


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_csv_and_parquet_agree(tmp_path, fmt):
    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2"],
            "customer_id": ["c1", "c2"],
            "ordered_at": pd.to_datetime(["2025-01-01 10:00", "2025-01-02 23:00"]),  # naive = UTC
            "delivered_at": pd.to_datetime(["2025-01-03", None]),
        }
    )
    data = gapkit.load(write(tmp_path / fmt, {"orders": orders}, fmt))
    assert data["orders"]["ordered_at"].tolist() == list(pd.to_datetime(orders["ordered_at"]).dt.tz_localize("UTC"))
    assert data.counts.loc[0, "kept"] == 2


def test_missing_orders_table_is_a_clear_error(tmp_path):
    write(tmp_path / "in", {"customers": CUSTOMERS})
    with pytest.raises(gapkit.InputError, match="no orders table.*orders.csv or orders.parquet"):
        gapkit.load(tmp_path / "in")


def test_missing_required_column_names_file_and_column(tmp_path):
    write(tmp_path / "in", {"orders": ORDERS.drop(columns=["ordered_at"])})
    with pytest.raises(gapkit.InputError, match=r"orders.csv: column\(s\) \['ordered_at'\] missing"):
        gapkit.load(tmp_path / "in")


def test_missing_folder(tmp_path):
    with pytest.raises(gapkit.InputError, match="no such folder"):
        gapkit.load(tmp_path / "nowhere")


def test_children_of_rejected_parents_are_rejected_too():
    orders = pd.DataFrame({"order_id": ["o1", "o2"], "customer_id": ["c1", "c1"],
                           "ordered_at": ["2025-01-01", "garbage"]})
    followups = pd.DataFrame({"followup_id": ["f1", "f2", "f3"], "order_id": ["o1", "o2", "o1"],
                              "customer_id": ["c1", "c1", "c1"],
                              "sent_at": ["2025-01-02", "2025-01-02", "2024-12-01"]})
    data = gapkit.validate({"orders": orders, "followups": followups})
    fu = data.rejects[data.rejects.table == "followups"]
    assert set(fu.row) == {2, 3}
    assert fu.loc[fu.row == 3, "reason"].str.contains("before ordered_at of its order").all()
    assert list(data["followups"].followup_id) == ["f1"]


def test_ticket_and_survey_rules():
    orders = pd.DataFrame({"order_id": ["o1"], "customer_id": ["c1"], "ordered_at": ["2025-01-01"]})
    tickets = pd.DataFrame({"ticket_id": ["t1", "t2", "t3"], "customer_id": "c1",
                            "created_at": "2025-01-02T10:00",
                            "first_response_at": ["2025-01-02T09:00", "2025-01-02T11:00", None],
                            "contacts": ["1", "0", "2"], "reopened": ["no", "yes", "perhaps"]})
    surveys = pd.DataFrame({"response_id": ["s1", "s2", "s3", "s4"], "customer_id": "c1",
                            "sent_at": "2025-01-05", "answered_at": ["2025-01-06", "2025-01-06", None, "2025-01-06"],
                            "csat": ["6", "5", "4", "3"], "nps": ["10", "11", None, "7"], "ticket_id": [None, None, None, "t1"]})
    data = gapkit.validate({"orders": orders, "tickets": tickets, "surveys": surveys})
    reasons = data.rejects.groupby(["table", "row"])["reason"].apply(" | ".join)
    assert "first_response_at is before created_at" in reasons[("tickets", 1)]
    assert "contacts must be >= 1" in reasons[("tickets", 2)]
    assert "cannot read reopened as true/false" in reasons[("tickets", 3)]
    assert "csat must be <= 5" in reasons[("surveys", 1)]
    assert "nps must be <= 10" in reasons[("surveys", 2)]
    assert "answered_at is empty" in reasons[("surveys", 3)]
    assert "ticket_id not found" in reasons[("surveys", 4)]  # its ticket was rejected
    assert data.counts.set_index("table").loc["surveys", "kept"] == 0
    rules = data.rejects.groupby(["table", "row"])["rule"].apply(set)
    assert rules[("tickets", 2)] == {"below_minimum"} and rules[("tickets", 3)] == {"unreadable"}
    assert rules[("surveys", 1)] == {"above_maximum"} and "score_without_answer" in rules[("surveys", 3)]


def test_a_repeated_key_names_the_file_row_of_its_first_copy_after_a_malformed_line(tmp_path):
    # the malformed line 3 is set aside before the checks, so frame positions and file rows differ
    (tmp_path / "orders.csv").write_text("order_id,customer_id,ordered_at\no1,c1,2025-01-01\nbad,line,with,extra\n"
                                         "o2,c1,2025-01-02\no2,c1,2025-01-03\n")
    data = gapkit.load(tmp_path)
    dup = data.rejects[data.rejects.rule == "duplicate_key"]
    assert dup["row"].tolist() == [4] and "first seen in row 3" in dup["reason"].iloc[0]
    assert data.rejects.loc[data.rejects.rule == "malformed_line", "row"].tolist() == [2]


def test_unknown_table_name_is_an_error():
    with pytest.raises(gapkit.InputError, match="unknown table"):
        gapkit.validate({"orders": ORDERS, "oders": ORDERS})


def test_data_shows_itself():
    data = gapkit.validate({"orders": ORDERS.iloc[[0]].assign(delivered_at=None)})
    assert "input_rows" in repr(data) and "<table" in data._repr_html_()
    assert set(data) == {"orders"} and len(data) == 1
    with pytest.raises(KeyError, match="no table 'surveys'"):
        data["surveys"]


def test_the_checks_before_a_run_read_files_as_the_loader_does(tmp_path):
    """One way in for files: the pre-flight column check and the report-date guess see a
    semicolon or UTF-16 file as gapkit.load does (both once said its columns were missing)."""
    from gapkit.config import from_dict
    from gapkit.contract.loading import last_complete_day
    from gapkit.report.adapt import check_columns, table_columns

    orders = pd.DataFrame({"order_id": ["o1", "o2"], "customer_id": ["c1", "c2"],
                           "ordered_at": ["2025-06-01T10:00:00Z", "2025-06-30T09:00:00Z"]})
    customers = pd.DataFrame({"customer_id": ["c1", "c2"], "region": ["N", "S"]})
    orders.to_csv(tmp_path / "orders.csv", sep=";", index=False)
    customers.to_csv(tmp_path / "customers.csv", sep="\t", index=False, encoding="utf-16")
    assert table_columns(tmp_path)["customers"] == ["customer_id", "region"]
    check_columns(from_dict({"segments": ["region"]}), tmp_path)  # no "missing column" error
    assert last_complete_day(tmp_path) == ("2025-06-29", "2025-06-30 09:00:00+00:00")
    assert set(gapkit.load(tmp_path)["customers"].columns) >= {"customer_id", "region"}
