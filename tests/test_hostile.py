"""Hostile input: every case ends in a named gapkit error or an exact quarantine, never a traceback.

Classes of cases (each a parametrized test below):
- files gapkit cannot read as a table: an InputError naming the file and the fix;
- files read despite their shape (encodings, delimiters, blank lines, quoted line breaks);
- rows quarantined, each with the exact row, file line, column, value and reason;
- Parquet's own types (booleans, float ids, empty strings);
- configuration errors, raised when the file is read (before any notebook runs);
- the Python API's own checks (as_of, by);
- the output folder and signals.
Every load also checks input_rows = kept + rejected against an independent count of the
file's records (Python's csv module, blank lines excluded).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import gapkit
from gapkit import config as configuration
from gapkit.errors import ConfigError, InputError

ROOT = Path(__file__).resolve().parent.parent
HEAD = "order_id,customer_id,ordered_at,order_value\n"
GOOD = "o1,c1,2025-01-01,5\no2,c2,2025-01-02,6\n"
TICKETS = "ticket_id,customer_id,order_id,created_at,first_response_at,resolved_at,contacts,reopened\n"


def write(folder: Path, files: dict) -> Path:
    for name, content in files.items():
        path = folder / name
        if isinstance(content, pd.DataFrame):
            content.to_parquet(path, index=False)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
    return folder


def records(path: Path) -> int:
    """An independent count of a CSV file's data records: csv module, blank lines excluded."""
    raw = path.read_bytes()
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = raw.decode("utf-16")
    else:
        text = raw.decode("utf-8-sig")
    first = text.split("\n", 1)[0]
    delimiter = "," if "," in first else ";" if ";" in first else "\t" if "\t" in first else ","
    rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if r and r != [""]]
    return len(rows) - 1


def load_and_account(folder: Path) -> gapkit.Data:
    data = gapkit.load(folder)
    counts = data.counts.set_index("table")
    assert (counts["input_rows"] == counts["kept"] + counts["rejected"]).all()
    for table, path in data.files.items():
        if path.endswith(".csv"):
            assert counts.loc[table, "input_rows"] == records(Path(path)), table
    return data


# --- files gapkit cannot read as a table -------------------------------------------------------

UNREADABLE = {
    "zero-byte orders": ({"orders.csv": b""}, ["orders.csv", "empty (0 bytes)", "order_id, customer_id, ordered_at"]),
    "zero-byte tickets": ({"orders.csv": HEAD + GOOD, "tickets.csv": b""}, ["tickets.csv", "empty (0 bytes)"]),
    "latin-1": ({"orders.csv": (HEAD + "o1,Müller,2025-01-01,5\n").encode("latin-1")},
                ["orders.csv", "line 2 is not UTF-8", "byte 0xfc", "Windows-1252 or Latin-1", "Save it as UTF-8"]),
    "windows-1252 euro": ({"orders.csv": (HEAD + "o1,c1,2025-01-01,5\no2,c€,2025-01-01,5\n").encode("cp1252")},
                          ["line 3 is not UTF-8", "byte 0x80"]),
    "utf-16 without BOM": ({"orders.csv": (HEAD + "o1,Müller,2025-01-01,5\n").encode("utf-16-le")},
                           ["orders.csv", "UTF-16 without a byte-order mark"]),
    "duplicated header": ({"orders.csv": "order_id,customer_id,ordered_at,ordered_at\no1,c1,2025-01-01,x\n"},
                          ["names 'ordered_at' twice (columns 3 and 4)", "rename one"]),
    "unnamed column": ({"orders.csv": "order_id,customer_id,ordered_at,\no1,c1,2025-01-01,\n"},
                       ["column 4 of the header has no name"]),
    "empty first line": ({"orders.csv": "\norder_id,customer_id,ordered_at\n"}, ["first line is empty"]),
    "missing required column": ({"orders.csv": "order_id,customer_id\no1,c1\n"},
                                ["column(s) ['ordered_at'] missing", "Rename or add"]),
    "wrong delimiter words": ({"orders.csv": "order_id|customer_id|ordered_at\no1|c1|2025-01-01\n"},
                              ["missing", "order_id|customer_id|ordered_at"]),
    "no orders table": ({"tickets.csv": TICKETS}, ["no orders table", "orders.csv or orders.parquet"]),
    "orders twice": ({"orders.csv": HEAD + GOOD, "orders.parquet": pd.DataFrame({"order_id": ["o1"]})},
                     ["both orders.csv and orders.parquet exist"]),
    "not parquet": ({"orders.parquet": b"order_id\no1\n"}, ["orders.parquet", "cannot be read as Parquet"]),
}


@pytest.mark.parametrize("files, parts", list(UNREADABLE.values()), ids=list(UNREADABLE))
def test_unreadable_files_are_named_input_errors(tmp_path, files, parts):
    with pytest.raises(InputError) as error:
        gapkit.load(write(tmp_path, files))
    for part in parts:
        assert part in str(error.value)


def test_a_missing_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such folder"):
        gapkit.load(tmp_path / "nope")


# --- files read despite their shape ------------------------------------------------------------

READABLE = {
    "utf-8 BOM": ({"orders.csv": codecs.BOM_UTF8 + (HEAD + GOOD).encode()}, 2, []),
    "utf-16 LE BOM": ({"orders.csv": (HEAD + "o1,Müller,2025-01-01,5\n").encode("utf-16")}, 1, []),
    "utf-16 BE BOM": ({"orders.csv": codecs.BOM_UTF16_BE + (HEAD + GOOD).encode("utf-16-be")}, 2, []),
    "semicolons": ({"orders.csv": (HEAD + GOOD).replace(",", ";")}, 2, ["read with semicolons"]),
    "tabs": ({"orders.csv": (HEAD + GOOD).replace(",", "\t")}, 2, ["read with tabs"]),
    "CRLF": ({"orders.csv": (HEAD + GOOD).replace("\n", "\r\n")}, 2, []),
    "no final newline": ({"orders.csv": (HEAD + GOOD).rstrip("\n")}, 2, []),
    "blank lines": ({"orders.csv": HEAD + "o1,c1,2025-01-01,5\n\n\no2,c2,2025-01-02,6\n\n"}, 2,
                    ["3 blank line(s) skipped"]),
    "quoted comma": ({"orders.csv": "order_id,customer_id,ordered_at,note\no1,c1,2025-01-01,\"a, b\"\n"}, 1, []),
    "quoted line break": ({"orders.csv": "order_id,customer_id,ordered_at,note\no1,c1,2025-01-01,\"a\nb\"\n"}, 1,
                          []),
    "header only": ({"orders.csv": HEAD}, 0, []),
    "unknown file, close to a table": ({"orders.csv": HEAD + GOOD, "support_tickets.csv": "x\n1\n"}, 2,
                                       ["ignored: support_tickets.csv is not a gapkit table; did you mean tickets.csv?"]),
    "unknown spreadsheet": ({"orders.csv": HEAD + GOOD, "export.xlsx": b"PK"}, 2,
                            ["ignored: export.xlsx is not a gapkit table"]),
}


@pytest.mark.parametrize("files, kept, notes", list(READABLE.values()), ids=list(READABLE))
def test_files_of_other_shapes_are_read_and_said_so(tmp_path, files, kept, notes):
    data = load_and_account(write(tmp_path, files))
    assert len(data["orders"]) == kept and data.rejects.empty
    for note in notes:
        assert any(note in n for n in data.notes), data.notes


# --- rows quarantined, exactly -------------------------------------------------------------------

# (files, [(table, row, column, value, reason part, file line)])
QUARANTINED = {
    "extra field": ({"orders.csv": HEAD + "o1,c1,2025-01-01,5\no2,c2,2025-01-02,6,7\no3,c3,2025-01-03,1\n"},
                    [("orders", 2, "", "o2,c2,2025-01-02,6,7", "line 3 has 5 field(s) where the header has 4", 3)]),
    "short row": ({"orders.csv": HEAD + "o1,c1,2025-01-01,5\no2,c2\n"},
                  [("orders", 2, "", "o2,c2", "every column needs a field", 3)]),
    "inf": ({"orders.csv": HEAD + "o1,c1,2025-01-01,inf\n"},
            [("orders", 1, "order_value", "inf", "infinite or too large", 2)]),
    "Infinity": ({"orders.csv": HEAD + "o1,c1,2025-01-01,Infinity\n"},
                 [("orders", 1, "order_value", "Infinity", "infinite or too large", 2)]),
    "-inf": ({"orders.csv": HEAD + "o1,c1,2025-01-01,-inf\n"},
             [("orders", 1, "order_value", "-inf", "infinite or too large", 2)]),
    "1e400": ({"orders.csv": HEAD + "o1,c1,2025-01-01,1e400\n"},
              [("orders", 1, "order_value", "1e400", "infinite or too large", 2)]),
    "negative value kept as written": ({"orders.csv": HEAD + "o1,c1,2025-01-01,-25\n"},
                                       [("orders", 1, "order_value", "-25", "order_value must be >= 0", 2)]),
    "text number": ({"orders.csv": HEAD + "o1,c1,2025-01-01,five\n"},
                    [("orders", 1, "order_value", "five", "cannot read order_value as a number", 2)]),
    "year one": ({"orders.csv": HEAD + GOOD + "o3,c3,0001-01-01,5\n"},
                 [("orders", 3, "ordered_at", "0001-01-01", "before 1990-01-01", 4)]),
    "year 9999": ({"orders.csv": HEAD + GOOD + "o3,c3,9999-12-31,5\n"},
                  [("orders", 3, "ordered_at", "9999-12-31", "later than the orders' span allows", 4)]),
    "year 2099 order": ({"orders.csv": HEAD + GOOD + "o3,c3,2099-01-01,5\n"},
                        [("orders", 3, "ordered_at", "2099-01-01", "later than the orders' span allows", 4)]),
    "excel zero date": ({"orders.csv": "order_id,customer_id,ordered_at,delivered_at\no1,c1,2025-01-01,1899-12-30\n"},
                        [("orders", 1, "delivered_at", "1899-12-30", "before 1990-01-01", 2)]),
    "garbage timestamp": ({"orders.csv": HEAD + "o1,c1,yesterday,5\n"},
                          [("orders", 1, "ordered_at", "yesterday", "cannot read ordered_at as a timestamp", 2)]),
    "NA in a required timestamp": ({"orders.csv": HEAD + "o1,c1,NA,5\n"},
                                   [("orders", 1, "ordered_at", "NA", "ordered_at is required but empty", 2)]),
    "blank order id": ({"orders.csv": HEAD + "   ,c1,2025-01-01,5\no2,c2,2025-01-02,5\n"},
                       [("orders", 1, "order_id", "   ", "order_id is blank (only spaces)", 2)]),
    "blank customer id": ({"orders.csv": HEAD + "o1, ,2025-01-01,5\n"},
                          [("orders", 1, "customer_id", " ", "customer_id is blank", 2)]),
    "duplicate id, first kept": ({"orders.csv": HEAD + "o1,c1,2025-01-01,5\no1,c1,2025-01-02,5\n"},
                                 [("orders", 2, "order_id", "o1", "first seen in row 1); the first is kept", 3)]),
    "duplicate id, first rejected": ({"orders.csv": HEAD + "o1,c1,nope,5\no1,c1,2025-01-02,5\n"},
                                     [("orders", 1, "ordered_at", "nope", "cannot read ordered_at", 2),
                                      ("orders", 2, "order_id", "o1", "that row is rejected too", 3)]),
    "line after blank lines": ({"orders.csv": HEAD + "o1,c1,2025-01-01,5\n\n\no2,c2,2025-01-02,-1\n"},
                               [("orders", 2, "order_value", "-1", "must be >= 0", 5)]),
    "line after a quoted line break": (
        {"orders.csv": "order_id,customer_id,ordered_at,order_value,note\no1,c1,2025-01-01,5,\"a\nb\"\n"
                       "o2,c2,2025-01-02,-1,x\n"},
        [("orders", 2, "order_value", "-1", "must be >= 0", 4)]),
    "whole number with a fraction": ({"orders.csv": HEAD + GOOD, "tickets.csv": TICKETS
                                      + "t1,c1,o1,2025-01-02,,,2.5,\n"},
                                     [("tickets", 1, "contacts", "2.5", "cannot read contacts as a whole number", 2)]),
    "whole number infinite": ({"orders.csv": HEAD + GOOD, "tickets.csv": TICKETS + "t1,c1,o1,2025-01-02,,,inf,\n"},
                              [("tickets", 1, "contacts", "inf", "infinite or too large", 2)]),
    "whole number too large": ({"orders.csv": HEAD + GOOD, "tickets.csv": TICKETS + "t1,c1,o1,2025-01-02,,,1e30,\n"},
                               [("tickets", 1, "contacts", "1e30", "cannot read contacts as a whole number", 2)]),
    "bad flag": ({"orders.csv": HEAD + GOOD, "tickets.csv": TICKETS + "t1,c1,o1,2025-01-02,,,1,maybe\n"},
                 [("tickets", 1, "reopened", "maybe", "cannot read reopened as true/false", 2)]),
    "answer before creation": ({"orders.csv": HEAD + GOOD, "tickets.csv": TICKETS
                                + "t1,c1,o1,2025-01-05,2025-01-04,,,\n"},
                               [("tickets", 1, "first_response_at", "2025-01-04", "before created_at", 2)]),
    "orphan ticket": ({"orders.csv": HEAD + GOOD, "tickets.csv": TICKETS + "t1,c1,o9,2025-01-05,,,,\n"},
                      [("tickets", 1, "order_id", "o9", "not found among the kept rows of orders", 2)]),
    "csat out of range": ({"orders.csv": HEAD + GOOD, "surveys.csv": "response_id,customer_id,sent_at,answered_at,"
                           "csat\nr1,c1,2025-01-03,2025-01-04,6\n"},
                          [("surveys", 1, "csat", "6", "csat must be <= 5", 2)]),
    "score without an answer": ({"orders.csv": HEAD + GOOD, "surveys.csv": "response_id,customer_id,sent_at,"
                                 "answered_at,csat\nr1,c1,2025-01-03,,4\n"},
                                [("surveys", 1, "csat", "4", "answered_at is empty", 2)]),
}


@pytest.mark.parametrize("files, expected", list(QUARANTINED.values()), ids=list(QUARANTINED))
def test_bad_rows_are_quarantined_exactly(tmp_path, files, expected):
    data = load_and_account(write(tmp_path, files))
    got = [(r.table, int(r.row), r.column, r.value, r.reason, None if pd.isna(r.line) else int(r.line))
           for r in data.rejects.itertuples(index=False)]
    assert len(got) == len(expected), got
    for (table, row, column, value, reason, line), want in zip(got, expected):
        assert (table, row, column, value, line) == (want[0], want[1], want[2], want[3], want[5]), got
        assert want[4] in reason, reason


def test_text_columns_keep_na_none_and_null_as_values(tmp_path):
    files = {"orders.csv": HEAD + GOOD + "o3,c3,2025-01-03,5\n",
             "customers.csv": "customer_id,region\nc1,NA\nc2,None\nc3,null\n"}
    data = load_and_account(write(tmp_path, files))
    assert data["customers"]["region"].tolist() == ["NA", "None", "null"]
    table = gapkit.kpis(data, "2025-06-30", by="region", kpis=["repeat_purchase_rate"])
    assert {"NA", "None", "null"} <= set(table["segment"])


def test_an_id_spelled_na_is_an_id(tmp_path):
    data = load_and_account(write(tmp_path, {"orders.csv": HEAD + "NA,c1,2025-01-01,5\n"}))
    assert data["orders"]["order_id"].tolist() == ["NA"]


# --- Parquet's own types -------------------------------------------------------------------------

def test_parquet_booleans_in_a_number_column_are_rejected(tmp_path):
    orders = pd.DataFrame({"order_id": ["o1", "o2"], "customer_id": ["c1", "c2"],
                           "ordered_at": ["2025-01-01", "2025-01-02"], "order_value": [True, False]})
    data = load_and_account(write(tmp_path, {"orders.parquet": orders}))
    assert data.rejects["reason"].str.contains("holds true/false, not a number").sum() == 2
    assert data.rejects["value"].tolist() == ["True", "False"] and data.rejects["line"].isna().all()


def test_parquet_float_ids_meet_csv_ids(tmp_path):
    orders = pd.DataFrame({"order_id": [1.0, 2.0], "customer_id": [199.0, 200.0],
                           "ordered_at": pd.to_datetime(["2025-01-01", "2025-01-02"], utc=True)})
    files = {"orders.parquet": orders, "customers.csv": "customer_id,region\n199,north\n200,south\n",
             "tickets.csv": TICKETS + "t1,199,1,2025-01-03,,,,\n"}
    data = load_and_account(write(tmp_path, files))
    assert data.rejects.empty
    assert data["orders"]["customer_id"].tolist() == ["199", "200"] and data["tickets"]["order_id"].tolist() == ["1"]


def test_parquet_empty_text_in_an_optional_timestamp_is_missing(tmp_path):
    orders = pd.DataFrame({"order_id": ["o1"], "customer_id": ["c1"], "ordered_at": ["2025-01-01"],
                           "promised_at": [""]})
    data = load_and_account(write(tmp_path, {"orders.parquet": orders}))
    assert data.rejects.empty and data["orders"]["promised_at"].isna().all()


# --- configuration, checked when it is read --------------------------------------------------------

GOAL = "{id: a, kpi: csat, target: 0.8, deadline: 2025-12-31}"
BAD_CONFIGS = {
    "seed text": ("seed: x", ["seed", "'x' is not a whole number"]),
    "impact as a list": ("impact: [csat]", ["impact: expected a mapping"]),
    "valuation as text": ('valuation: "x"', ["valuation: expected a list"]),
    "valuation missing keys": ("valuation: [{kpi: csat}]", ["valuation[0]: missing", "value_per_unit"]),
    "valuation horizon": ("valuation: [{intervention_id: x, kpi: csat, value_per_unit: 1, horizon_months: 0.5, "
                          "discount_rate: 0.1}]", ["horizon_months = 0.5", "whole months"]),
    "valuation KPI typo": ("valuation: [{intervention_id: x, kpi: repeat_rate, value_per_unit: 1, horizon_months: 12, "
                           "discount_rate: 0.1}]", ["valuation[0].kpi", "unknown KPI 'repeat_rate'"]),
    "benchmark text": ('benchmarks: [{kpi: csat, value: "high"}]', ["benchmarks[0].value", "'high' is not a number"]),
    "impossible date": ("as_of: 2025-13-40", ["as_of", "'2025-13-40' is not a calendar date"]),
    "as_of now": ("as_of: now", ["as_of", "'now' is not a date written YYYY-MM-DD"]),
    "as_of a year": ("as_of: 2025", ["as_of: 2025 is not a date"]),
    "as_of US style": ("as_of: 1/2/2025", ["'1/2/2025' is not a date written YYYY-MM-DD"]),
    "negative SLA": ("params: {sla_hours: -5}", ["params.sla_hours = -5", "longer than 0"]),
    "zero repeat window": ("params: {repeat_days: 0}", ["params.repeat_days = 0"]),
    "window as text": ("params: {followup_days: week}", ["params.followup_days", "not a number"]),
    "unknown param": ("params: {sla: 24}", ["params: unknown key(s) ['sla']"]),
    "csat target 1.5": ("goals: [{id: a, kpi: csat, target: 1.5, deadline: 2025-12-31}]",
                        ["goals[0].target = 1.5", "0..1 (write 80% as 0.80)"]),
    "NPS target 500": ("goals: [{id: a, kpi: nps, target: 500, deadline: 2025-12-31}]", ["-100..100"]),
    "csat_mean target 6": ("goals: [{id: a, kpi: csat_mean, target: 6, deadline: 2025-12-31}]", ["1..5"]),
    "negative hours": ("goals: [{id: a, kpi: first_response_hours, target: -1, deadline: 2025-12-31}]", ["0..inf"]),
    "NaN target": ("goals: [{id: a, kpi: csat, target: .nan, deadline: 2025-12-31}]", ["nan is not a number"]),
    "duplicate goal ids": (f"goals: [{GOAL}, {GOAL}]", ["goals[0] and goals[1] share the id 'a'"]),
    "KPI typo": ("goals: [{id: a, kpi: csta, target: 0.8, deadline: 2025-12-31}]", ["unknown KPI 'csta'",
                                                                                      "did you mean 'csat'"]),
    "bad deadline": ("goals: [{id: a, kpi: csat, target: 0.8, deadline: soon}]", ["deadline", "'soon'"]),
    "goals as a mapping": ("goals: {a: 1}", ["goals: expected a list"]),
    "goal half a segment": ("goals: [{id: a, kpi: csat, target: 0.8, deadline: 2025-12-31, segment_by: region}]",
                            ["give both segment_by and segment"]),
    "key typo": ("segmnets: [region]", ["unknown key(s) ['segmnets']", "did you mean 'segments'"]),
    "currency formula": ("currency: '=1+1'", ["currency", "not a currency"]),
    "baseline months": ("baseline_months: 0", ["baseline_months", "whole number of months >= 1"]),
    "not YAML": ("goals: [unclosed", ["not valid YAML"]),
    "not a mapping": ("- a\n- b", ["expected a mapping of keys"]),
}


@pytest.mark.parametrize("text, parts", list(BAD_CONFIGS.values()), ids=list(BAD_CONFIGS))
def test_bad_configuration_is_a_named_config_error(tmp_path, text, parts):
    path = tmp_path / "gapkit.yml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError) as error:
        configuration.read(path)
    for part in parts:
        assert part in str(error.value), str(error.value)


def test_one_segment_name_is_a_list_of_one(tmp_path):
    path = tmp_path / "gapkit.yml"
    path.write_text("segments: region\nas_of: 2025-06-30\n")
    settings = configuration.read(path)
    assert settings.segments == ("region",) and settings.as_of == "2025-06-30"


def test_a_bad_configuration_fails_the_command_before_any_notebook(tmp_path):
    path = tmp_path / "gapkit.yml"
    path.write_text("goals: [{id: a, kpi: csat, target: 1.5, deadline: 2025-12-31}]\n")
    out = tmp_path / "report"
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "gapkit.cli", "run", "--config", str(path), "--data",
                           str(ROOT / "data" / "sample"), "--out", str(out)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1 and "goals[0].target = 1.5" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists() and not list(tmp_path.glob(".report.running-*"))
    assert time.perf_counter() - started < 30  # the interpreter and imports; no kernel was started


# --- the Python API --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample_data():
    return gapkit.load(ROOT / "data" / "sample")


@pytest.mark.parametrize("as_of, part", [("2025-13-40", "not a calendar date"), ("yesterday", "YYYY-MM-DD"),
                                         ("30/06/2025", "YYYY-MM-DD")])
def test_kpis_refuse_a_bad_report_date(sample_data, as_of, part):
    with pytest.raises(ConfigError, match=part):
        gapkit.kpis(sample_data, as_of=as_of, kpis=["csat"])


def test_kpis_name_a_segment_column_that_no_table_has(sample_data):
    with pytest.raises(ConfigError) as error:
        gapkit.kpis(sample_data, as_of="2025-06-30", by="regoin", kpis=["csat"])
    assert "['regoin'] are in no table" in str(error.value) and "'segment'" in str(error.value)
    one = gapkit.kpis(sample_data, as_of="2025-06-30", by="segment", kpis=["csat"])
    assert set(one["segment_by"]) == {"all", "segment"}


def test_an_unknown_kpi_is_a_config_error(sample_data):
    with pytest.raises(ConfigError, match="unknown KPI id"):
        gapkit.kpis(sample_data, as_of="2025-06-30", kpis=["csta"])


# --- the output folder and signals ------------------------------------------------------------------

def test_out_naming_a_file_is_refused_and_the_file_kept(tmp_path):
    from gapkit.pipeline.report_folder import check_target

    target = tmp_path / "report"
    target.write_text("keep me")
    with pytest.raises(ConfigError, match="a file of that name exists"):
        check_target(target)
    assert target.read_text() == "keep me"


def test_out_where_no_folder_can_be_made_is_a_config_error(tmp_path):
    from gapkit.pipeline.runner import _staging

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="cannot create the report folder"):
        _staging(blocker / "report")


def test_a_stale_staging_folder_of_a_dead_run_is_removed(tmp_path):
    from gapkit.pipeline.runner import _staging

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".report.running-{int(dead.stdout)}-abc"
    stale.mkdir()
    fresh = _staging(tmp_path / "report")
    assert not stale.exists() and fresh.exists() and f".running-{os.getpid()}-" in fresh.name


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("after", [0.3, 1.0])  # mostly in the load step (where -2 was seen), and later
def test_sigterm_leaves_no_half_report(tmp_path, after):
    out = tmp_path / "report"
    process = subprocess.Popen([sys.executable, "-m", "gapkit.cli", "run", "--config", str(ROOT / "gapkit.yml"),
                                "--data", str(ROOT / "data" / "sample"), "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    deadline = time.time() + 120
    while not list(tmp_path.glob(".report.running-*")) and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(after)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130 and "interrupted" in stderr
    assert not out.exists() and not list(tmp_path.glob(".report.running-*"))


def test_a_stop_escaping_code_run_by_pyrun_does_not_kill_the_process_at_exit():
    # a caught KeyboardInterrupt that left PyRun_* code made CPython exit by SIGINT (a stopped
    # run returned -2, not 130, now and then); gapkit's SIGTERM exception must not do that
    # (the script ends normally: a SystemExit under -c would exit before the check)
    script = "import ctypes\nctypes.pythonapi.PyRun_SimpleString(b'from gapkit.cli import Stopped\\nraise Stopped()')\n"
    assert subprocess.run([sys.executable, "-c", script], capture_output=True, cwd=ROOT).returncode == 0
    plain = script.replace("from gapkit.cli import Stopped\\nraise Stopped()", "raise KeyboardInterrupt()")
    assert subprocess.run([sys.executable, "-c", plain], capture_output=True, cwd=ROOT).returncode == -signal.SIGINT


def test_the_local_config_is_used_only_for_the_data_it_describes(tmp_path, monkeypatch, capsys):
    from gapkit.cli import _local_config

    monkeypatch.chdir(tmp_path)
    assert _local_config("anything") is None  # no gapkit.yml here
    (tmp_path / "gapkit.yml").write_text("data: shop\ngoals: [{id: a, kpi: csat, target: 0.8, deadline: 2025-12-31}]\n")
    (tmp_path / "shop").mkdir()
    assert _local_config(None) == "gapkit.yml" and _local_config("shop") == "gapkit.yml"
    assert _local_config("elsewhere") is None
    assert "not using ./gapkit.yml: it describes shop, not elsewhere" in capsys.readouterr().out
