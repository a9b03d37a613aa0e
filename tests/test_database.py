"""Reading the contract tables from a database (gapkit.contract._database): the sample stored with
real SQL types in a SQLite file, a DuckDB file and a real PostgreSQL server (tests/_postgres.py)
gives, once checked, the kept rows and rejects that ``gapkit.load`` gives for its CSV folder; only
the columns gapkit uses are read; ``until`` leaves rows unread without changing a check; and every
failure is an InputError naming the table and the URL, never the password.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pyarrow as pa
import pytest
from _postgres import SAMPLE, write_postgres
from _postgres import sample_tables as typed_sample

import gapkit
from gapkit.contract import _database as db
from gapkit.contract.schema import TABLES
from gapkit.contract.validation import validate
from gapkit.errors import ConfigError, InputError

AS_OF = "2025-03-31"
UNTIL = pd.Timestamp(f"{AS_OF} 23:59:59.999999", tz="UTC")  # the end of AS_OF, as the KPI engine cuts


def need(module: str, extra: str) -> None:
    """Skip without the driver; fail under CI, which installs the test extra."""
    if importlib.util.find_spec(module) is None:
        reason = f"{module} is not installed (pip install -e '.[{extra}]')"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the database tests: {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def sample_tables() -> dict[str, pa.Table]:
    return typed_sample()


@pytest.fixture(scope="module")
def folder():
    return gapkit.load(SAMPLE)


def write_duckdb(path: Path, tables: dict[str, pa.Table]) -> Path:
    import duckdb

    with duckdb.connect(str(path)) as con:
        for name, table in tables.items():
            con.from_arrow(table).create(name)
    return path


def write_sqlite(path: Path, tables: dict[str, pa.Table]) -> Path:
    need("adbc_driver_sqlite", "sqlite")
    import adbc_driver_sqlite.dbapi as sqlite

    with sqlite.connect(str(path)) as con, con.cursor() as cursor:
        for name, table in tables.items():
            cursor.adbc_ingest(name, table, mode="create")
        con.commit()
    return path


def sql(server, *statements: str) -> None:
    import adbc_driver_postgresql.dbapi as postgresql

    with postgresql.connect(server.url()) as con, con.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
        con.commit()


@pytest.fixture(scope="module")
def stored(request, sample_tables, tmp_path_factory):
    """Where the sample is stored, by database: built once per module, PostgreSQL only if asked for."""
    folder, made = tmp_path_factory.mktemp("databases"), {}

    def get(kind: str) -> str:
        if kind not in made:
            if kind == "postgresql":
                made[kind] = write_postgres(request.getfixturevalue("postgres"), "shop", sample_tables)
            elif kind == "sqlite":
                made[kind] = f"sqlite:///{write_sqlite(folder / 'shop.db', sample_tables)}"
            else:
                made[kind] = str(write_duckdb(folder / "shop.duckdb", sample_tables))
        return made[kind]

    return get


def checked(read: db.DatabaseRead):
    return validate(read.frames, source=read.source, files=read.files, positions={}, malformed={}, notes=read.notes)


def comparable(rejects: pd.DataFrame, rows: bool = True) -> list[tuple]:
    """Rejects as a set of facts: the value as what it means (25.0 and "25.0", or a timestamp in any
    spelling, are one value); without row numbers when rows were left out before them."""
    def meaning(value: str):
        for read in (float, lambda v: pd.Timestamp(v).tz_localize(None) if pd.Timestamp(v).tzinfo is None
                     else pd.Timestamp(v).tz_convert("UTC").tz_localize(None)):
            try:
                return read(value)
            except (ValueError, TypeError):
                continue
        return value

    facts = []
    for r in rejects.itertuples(index=False):
        reason = r.reason if rows else re.sub(r"row \d+", "row N", r.reason)
        facts.append((r.table, r.row if rows else 0, r.column, str(meaning(r.value)), r.rule, reason))
    return sorted(facts)


@pytest.mark.parametrize("kind", ["sqlite", "duckdb", "postgresql"])
def test_a_database_gives_the_folders_kept_rows_and_rejects(kind, stored, folder):
    read = db.read_tables(stored(kind))
    assert list(read.frames) == list(folder)
    assert read.files["orders"].endswith("#orders") and ":pw" not in read.files["orders"]
    data = checked(read)
    for name in folder:
        pd.testing.assert_frame_equal(data[name], folder[name], obj=f"{kind} {name}")
    pd.testing.assert_frame_equal(data.counts, folder.counts)
    assert comparable(data.rejects) == comparable(folder.rejects)
    assert data.rejects["line"].isna().all()  # a database has no file lines to name


def test_postgres_types_arrive_as_a_parquet_file_of_the_same_data_gives_them(stored, folder):
    read = db.read_tables(stored("postgresql"))
    orders, tickets, customers = read.frames["orders"], read.frames["tickets"], read.frames["customers"]
    assert str(orders["delivered_at"].dtype) == "datetime64[us, UTC]"
    assert orders["ordered_at"].dtype == "str"  # a text column in the database (it holds "not-a-date")
    assert orders["order_value"].dtype == "float64" and tickets["contacts"].dtype == "Int64"
    assert tickets["reopened"].dtype == "boolean" and customers["segment"].dtype == "str"


def with_late_bad_rows(tables: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """The sample plus a survey with csat 9 and a follow-up of an unknown order, both after AS_OF."""
    def plus(table: pa.Table, row: dict) -> pa.Table:
        filled = {name: row.get(name) for name in table.column_names}
        return pa.concat_tables([table, pa.Table.from_pylist([filled], schema=table.schema)])

    late = pd.Timestamp("2025-05-01 12:00", tz="UTC")
    return dict(tables, surveys=plus(tables["surveys"], {"response_id": "S_LATE", "customer_id": "C0000199",
                                                         "sent_at": late, "answered_at": late, "csat": 9}),
                followups=plus(tables["followups"], {"followup_id": "F_LATE", "order_id": "O_NONE",
                                                     "customer_id": "C0000199", "sent_at": late}))


@pytest.mark.parametrize("kind", ["duckdb", "postgresql"])
def test_until_leaves_rows_unread_without_changing_a_check_or_a_kpi(kind, request, sample_tables, tmp_path):
    tables = with_late_bad_rows(sample_tables)
    if kind == "duckdb":
        url = str(write_duckdb(tmp_path / "late.duckdb", tables))
    else:
        url = write_postgres(request.getfixturevalue("postgres"), "late", tables)
    whole, cut = db.read_tables(url), db.read_tables(url, until=UNTIL)
    for name in db.UNTIL_TABLES:
        created = TABLES[name].created
        assert len(cut.frames[name]) == (whole.frames[name][created] <= UNTIL).sum() < len(whole.frames[name])
        assert any(note.startswith(cut.files[name]) and "were not read" in note for note in cut.notes)
    for name in set(whole.frames) - db.UNTIL_TABLES:
        pd.testing.assert_frame_equal(cut.frames[name], whole.frames[name])
    everything, early = checked(whole), checked(cut)
    for name in everything:
        created = TABLES[name].created
        expected = everything[name]
        if name in db.UNTIL_TABLES:
            expected = expected[expected[created] <= UNTIL].reset_index(drop=True)
        pd.testing.assert_frame_equal(early[name], expected)
    after = [(r.table, r.row) for r in everything.rejects.itertuples() if r.table in db.UNTIL_TABLES
             and whole.frames[r.table][TABLES[r.table].created].iloc[r.row - 1] > UNTIL]
    assert len(after) == 2  # the two late bad rows, rejected when read, unread when cut
    rejects = everything.rejects
    kept = rejects[[(t, r) not in after for t, r in zip(rejects.table, rejects.row)]]
    assert comparable(early.rejects, rows=False) == comparable(kept, rows=False)
    pd.testing.assert_frame_equal(gapkit.kpis(early, as_of=AS_OF), gapkit.kpis(everything, as_of=AS_OF))


@pytest.mark.parametrize("kind", ["duckdb", "postgresql"])
@pytest.mark.parametrize("stamp", [pa.timestamp("us", "UTC"), pa.timestamp("us"), pa.date32()],
                         ids=["with zone", "without zone", "date"])
def test_until_still_reads_rows_without_a_time_and_later_copies_of_a_kept_key(kind, stamp, request, tmp_path):
    def times(*days):
        return pa.array([pd.Timestamp(d) if d else None for d in days], pa.timestamp("us")).cast(stamp)

    orders = pa.table({"order_id": ["O1"], "customer_id": ["C1"], "ordered_at": times("2025-01-01")})
    followups = pa.table({"followup_id": ["F1", "F1", "F2", "F3", "F4"], "order_id": ["O1"] * 5,
                          "customer_id": ["C1"] * 5,
                          "sent_at": times("2025-05-01", "2025-02-01", "2025-05-02", None, "2025-02-02")})
    tables = {"orders": orders, "followups": followups}
    if kind == "duckdb":
        url = str(write_duckdb(tmp_path / "keys.duckdb", tables))
    else:
        url = write_postgres(request.getfixturevalue("postgres"), "keys", tables)
    whole, cut = db.read_tables(url), db.read_tables(url, until=UNTIL)
    assert list(cut.frames["followups"]["followup_id"]) == ["F1", "F1", "F3", "F4"]  # F2 alone is later
    everything, early = checked(whole), checked(cut)
    assert list(early["followups"]["followup_id"]) == ["F1", "F4"]  # the later F1 came first: it is kept
    assert list(everything["followups"]["followup_id"]) == ["F1", "F2", "F4"]
    # the same rows rejected for the same reasons (the row without sent_at is row 3 once F2 is left out)
    assert comparable(early.rejects, rows=False) == comparable(everything.rejects, rows=False)
    assert early.rejects["rule"].tolist() == ["duplicate_key", "required"]


def test_only_the_columns_gapkit_uses_leave_the_database(tmp_path, sample_tables):
    huge = pa.array(["x" * 2_000] * sample_tables["orders"].num_rows)
    tables = dict(sample_tables, orders=sample_tables["orders"].append_column("scan_of_invoice", huge))
    path = str(write_duckdb(tmp_path / "wide.duckdb", tables))
    read = db.read_tables(path)
    assert "scan_of_invoice" not in read.frames["orders"]
    assert {"region", "persona", "signup_at"} <= set(read.frames["customers"])  # segments: every column
    assert {"design", "variant_column"} <= set(read.frames["interventions"])
    assert "variant" in read.frames["customers"]  # named by an intervention's variant_column
    assert "scan_of_invoice" in db.read_tables(path, extra=["scan_of_invoice"]).frames["orders"]


def test_a_column_the_user_may_not_read_is_never_asked_for(postgres, sample_tables):
    # a column privilege hides card_number from the reader: selecting it would fail, so reading
    # orders proves it was not selected
    orders = sample_tables["orders"].append_column("card_number", pa.array(["4111"] * sample_tables["orders"].num_rows))
    write_postgres(postgres, "private", {"orders": orders})
    contract = ", ".join(c.name for c in TABLES["orders"].columns)
    postgres.admin("DROP ROLE IF EXISTS narrow; CREATE ROLE narrow LOGIN PASSWORD 'narrow-pw'; "
                   f"GRANT USAGE ON SCHEMA private TO narrow; GRANT SELECT ({contract}) ON private.orders TO narrow")
    url = f"postgresql://narrow:narrow-pw@{postgres.host}:{postgres.port}/{postgres.database}?schema=private"
    assert list(db.read_tables(url).frames["orders"].columns) == [c.name for c in TABLES["orders"].columns]
    with pytest.raises(InputError, match=r"private#orders: the database refused.*permission denied") as caught:
        db.read_tables(url, extra=["card_number"])
    assert "narrow-pw" not in str(caught.value)


def test_columns_maps_the_database_names_to_the_contract_names(tmp_path, sample_tables):
    orders = sample_tables["orders"].rename_columns(["id" if c == "order_id" else c
                                                     for c in sample_tables["orders"].column_names])
    path = str(write_duckdb(tmp_path / "renamed.duckdb", {"orders": orders}))
    read = db.read_tables(path, columns={"orders": {"order_id": "id"}})
    assert list(read.frames["orders"].columns[:2]) == ["order_id", "customer_id"]
    assert len(checked(read)["orders"]) == 4000
    with pytest.raises(InputError, match=r"renamed.duckdb#orders: column\(s\) \['order_id'\] missing.*map them: "
                                         r"columns: \{orders: \{order_id: your_name\}\}"):
        db.read_tables(path)
    # the mapping's own mistakes are the ConfigErrors gapkit.load gives for a file
    with pytest.raises(ConfigError, match=r"renamed.duckdb#orders: columns maps order_id to 'idd', but the file has no "
                                          r"column 'idd'.*did you mean 'id'"):
        db.read_tables(path, columns={"orders": {"order_id": "idd"}})
    with pytest.raises(ConfigError, match=r"columns maps customer_id to 'id', but the file also has a column"):
        db.read_tables(path, columns={"orders": {"customer_id": "id"}})
    with pytest.raises(ConfigError, match=r"columns: unknown table\(s\) \['order'\] \(did you mean 'orders'\?\)"):
        db.read_tables(path, columns={"order": {"order_id": "id"}})


@pytest.fixture()
def secret_free(postgres):
    """Asserts a message holds neither the password nor its URL spelling."""
    def check(message: str) -> str:
        assert postgres.password not in message and quote(postgres.password, safe="") not in message
        return message
    return check


def test_the_password_comes_from_libpq_s_environment_or_password_file(postgres, stored, monkeypatch, tmp_path,
                                                                       secret_free):
    stored("postgresql")
    bare = postgres.url(password=False, schema="shop")
    with pytest.raises(InputError, match="no password supplied.*PGPASSWORD, PGPASSFILE or ~/.pgpass") as caught:
        db.read_tables(bare)
    monkeypatch.setenv("PGPASSWORD", postgres.password)
    assert len(db.read_tables(bare).frames["orders"]) == 4003
    monkeypatch.delenv("PGPASSWORD")
    passfile = tmp_path / "pgpass"
    escaped = postgres.password.replace("\\", "\\\\").replace(":", "\\:")
    passfile.write_text(f"{postgres.host}:{postgres.port}:{postgres.database}:{postgres.user}:{escaped}\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    read = db.read_tables(bare)
    assert len(read.frames["orders"]) == 4003 and not any("password" in note for note in read.notes)
    in_url = db.read_tables(postgres.url(schema="shop"))
    assert any("the URL holds a password" in note for note in in_url.notes)
    secret_free(repr(in_url.notes) + repr(in_url.files) + in_url.source + str(caught.value))


def test_hostile_servers_and_tables_are_input_errors_naming_the_table_and_url(postgres, stored, secret_free):
    stored("postgresql")
    sql(postgres, "DROP SCHEMA IF EXISTS odd CASCADE", "CREATE SCHEMA odd",
        "CREATE TABLE odd.orders (order_id text, customer_id text, ordered_at bigint, extra_note text)",
        "INSERT INTO odd.orders VALUES ('O1', 'C1', 1719792000, 'x'), ('O2', 'C1', NULL, 'y')",
        "DROP SCHEMA IF EXISTS boom CASCADE", "CREATE SCHEMA boom",
        "CREATE VIEW boom.orders AS SELECT order_id, customer_id, ordered_at, "
        "1 / (length(order_id) - length(order_id)) AS order_value FROM shop.orders",
        "DROP SCHEMA IF EXISTS empty CASCADE", "CREATE SCHEMA empty")
    where = f"postgresql://{postgres.user}@{postgres.host}:{postgres.port}/{postgres.database}"
    cases = [
        (postgres.url(schema="empty"), rf"{re.escape(where)}\?schema=empty: no orders table; gapkit needs orders"),
        (postgres.url(schema="boom"), r"\?schema=boom#orders: the database refused to read it .*division by zero"),
        (postgres.url(password=False).replace("@", f":{quote('wrong-' + postgres.password, safe='')}@", 1),
         rf"{re.escape(where)}: cannot connect .*password authentication failed.*PGPASSWORD"),
        (f"postgresql://{postgres.user}:{quote(postgres.password, safe='')}@127.0.0.1:1/{postgres.database}",
         r"postgresql://gapkit@127.0.0.1:1/shop: cannot connect .*Connection refused.*Is the server running"),
        (postgres.url().replace(f"/{postgres.database}", "/nosuchdb"), r"database \"nosuchdb\" does not exist"),
        (f"mysql://{postgres.user}:{postgres.password}@db/shop", r"mysql://gapkit@db/shop: gapkit cannot read mysql://"),
    ]
    for url, message in cases:
        with pytest.raises(InputError, match=message) as caught:
            db.read_tables(url)
        secret_free(str(caught.value))
    # an integer ordered_at is read as its text, so the checks quarantine it row by row, as in a CSV
    read = db.read_tables(postgres.url(schema="odd"))
    assert read.frames["orders"]["ordered_at"].tolist()[0] == "1719792000" and "extra_note" not in read.frames["orders"]
    assert any("odd#orders: ordered_at is of type int64" in note for note in read.notes)
    assert list(read.frames) == ["orders"]  # the other tables are optional: absent, not an error
    rejects = checked(read).rejects
    assert rejects[["column", "rule"]].values.tolist() == [["ordered_at", "unreadable"], ["ordered_at", "required"]]


def test_a_missing_driver_says_which_package_to_install(monkeypatch, stored, tmp_path):
    sqlite = stored("sqlite")
    for module in ("adbc_driver_sqlite", "adbc_driver_sqlite.dbapi", "adbc_driver_postgresql",
                   "adbc_driver_postgresql.dbapi"):
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(InputError, match=r'shop.db: reading this database needs a driver .*"gapkit\[sqlite\]"'):
        db.read_tables(sqlite)
    with pytest.raises(InputError, match=r'postgresql://u@h/d: .*pip install "gapkit\[postgres\]"'):
        db.read_tables("postgresql://u:secret@h/d")


def test_files_and_urls_are_told_apart_from_folders(tmp_path, stored, monkeypatch):
    sqlite, duckdb = Path(stored("sqlite").removeprefix("sqlite:///")), Path(stored("duckdb"))
    (tmp_path / "notes.db").write_text("not a database")
    assert all(db.is_database(s) for s in ("postgresql://u@h/d", "postgres://h/d", "sqlite:///x.db", "duckdb:///x",
                                            "mysql://h/d", sqlite, duckdb))
    assert not any(db.is_database(s) for s in (SAMPLE, tmp_path / "notes.db", tmp_path / "absent.duckdb"))
    monkeypatch.chdir(sqlite.parent)
    assert set(db.read_tables(f"sqlite:///{sqlite.name}").frames) == set(db.read_tables(f"sqlite:///{sqlite}").frames)
    assert db.read_tables(f"duckdb:///{duckdb}").files["orders"] == f"duckdb:///{duckdb}#orders"
    with pytest.raises(InputError, match=r"no such file 'absent.db'. Write sqlite:///relative/path or sqlite:////"):
        db.read_tables("sqlite:///absent.db")
    with pytest.raises(InputError, match="notes.db: not a SQLite or DuckDB file"):
        db.read_tables(str(tmp_path / "notes.db"))


@pytest.mark.parametrize("url, shown", [
    ("postgresql://shop:s3cret@db:5432/sales", "postgresql://shop@db:5432/sales"),
    ("postgresql://shop:s%40c%2Fr%3Fet@db/sales?sslmode=require", "postgresql://shop@db/sales?sslmode=require"),
    ("postgresql://shop:p@ss/w:rd@db/sales", "postgresql://shop@db/sales"),  # unencoded: @ / : in the password
    ("postgresql://shop:pa?ss@db/sales", "postgresql://shop@db/sales"),
    ("postgresql://db/sales?user=shop&password=s3cret&sslmode=require",
     "postgresql://db/sales?user=shop&sslmode=require"),
    ("postgresql://shop@db/sales", "postgresql://shop@db/sales"),
    ("duckdb:///data/shop.duckdb", "duckdb:///data/shop.duckdb"),
])
def test_redact_keeps_the_user_and_drops_the_password(url, shown):
    assert db.redact(url) == shown


# gapkit.load, the report date and the checks before a run, from a database


def test_load_reads_a_database_up_to_as_of_with_the_extra_columns(stored, folder):
    url = stored("postgresql")
    data = gapkit.load(url, as_of=AS_OF)
    expected = checked(db.read_tables(url, until=UNTIL))
    for name in expected:
        pd.testing.assert_frame_equal(data[name], expected[name])
    assert len(data["surveys"]) < len(folder["surveys"])  # later surveys were left in the database
    assert data.source == db.redact(url) and data.files["orders"] == f"{db.redact(url)}#orders"
    assert list(gapkit.load(url)["orders"].columns) == list(folder["orders"].columns)
    with pytest.raises(ConfigError, match="as_of: '30/06/2025' is not a date written YYYY-MM-DD"):
        gapkit.load(url, as_of="30/06/2025")


def test_a_mapping_s_notes_and_rejects_name_the_database_table(tmp_path, sample_tables):
    orders = sample_tables["orders"].rename_columns(["id" if c == "order_id" else c
                                                     for c in sample_tables["orders"].column_names])
    path = write_duckdb(tmp_path / "renamed.duckdb", {"orders": orders})
    from gapkit.contract._mapping import check
    from gapkit.report.adapt import table_columns

    data = gapkit.load(f"duckdb:///{path}", columns={"orders": {"order_id": "id"}})
    assert table_columns(path, check({"orders": {"order_id": "id"}}))["orders"][:2] == ["order_id", "customer_id"]
    assert f"duckdb:///{path}#orders: read 'id' as order_id (the columns mapping); rejects name the contract's " \
           "column and, in the reason, the database's" in data.notes
    reasons = data.rejects.loc[data.rejects["column"] == "order_id", "reason"]
    assert len(reasons) and reasons.str.endswith("(column 'id' in the database)").all()


def stamps_as(kind: pa.DataType, values: list) -> pa.Table:
    times = pa.array([pd.Timestamp(v) if v else None for v in values], pa.timestamp("us")).cast(kind)
    return pa.table({"order_id": [f"O{i}" for i in range(len(values))], "customer_id": ["C1"] * len(values),
                     "ordered_at": times})


@pytest.mark.parametrize("kind", ["duckdb", "postgresql"])
@pytest.mark.parametrize("stamp, values, expected", [
    (pa.timestamp("us", "UTC"), ["2025-06-29 23:30", "2025-06-30 21:45:14", None],
     ("2025-06-29", "2025-06-30 21:45:14+00:00")),
    (pa.timestamp("us"), ["2025-06-01", "2025-06-30 00:00:01"], ("2025-06-29", "2025-06-30 00:00:01+00:00")),
    (pa.timestamp("us", "UTC"), ["2025-06-01", "2025-06-30"], ("2025-06-30", "2025-06-30 00:00:00+00:00")),
    (pa.date32(), ["2025-06-01", "2025-06-30"], ("2025-06-30", "2025-06-30 00:00:00+00:00")),
], ids=["with zone", "without zone", "midnights", "date"])
def test_the_report_date_comes_from_the_latest_order_the_database_reports(kind, stamp, values, expected, request,
                                                                          tmp_path):
    from gapkit.contract.loading import complete_day, last_complete_day

    orders = stamps_as(stamp, values)
    if kind == "duckdb":
        url = str(write_duckdb(tmp_path / "dates.duckdb", {"orders": orders}))
    else:
        url = write_postgres(request.getfixturevalue("postgres"), "dates", {"orders": orders})
    assert last_complete_day(url) == expected
    as_read = db.read_tables(url).frames["orders"]["ordered_at"]
    assert complete_day(pd.to_datetime(as_read, utc=True)) == expected  # what the orders read give


def test_the_report_date_and_columns_of_the_sample_are_the_folders(stored):
    from gapkit.contract.loading import last_complete_day
    from gapkit.report.adapt import table_columns

    for kind in ("postgresql", "sqlite", "duckdb"):  # ordered_at: text in each (it holds "not-a-date")
        assert last_complete_day(stored(kind)) == last_complete_day(SAMPLE), kind
        assert table_columns(stored(kind)) == table_columns(SAMPLE), kind


def test_the_checks_before_a_run_ask_the_catalog(postgres, stored, tmp_path):
    from gapkit.config import from_dict
    from gapkit.pipeline.runner import _checked_before_running, data_label
    from gapkit.report.adapt import check_columns

    url = stored("postgresql")
    said = []
    settings, why = _checked_before_running(from_dict({"data": url, "segments": ["segment"]}), said.append)
    assert settings.as_of == "2025-06-29" and why.startswith("not given") and "reporting as of 2025-06-29" in said[0]
    with pytest.raises(ConfigError, match=rf"names column\(s\) that no table in {re.escape(db.redact(url))} has: "
                                          r"segments: 'plan'") as caught:
        check_columns(from_dict({"segments": ["plan"]}), url)
    assert postgres.password not in str(caught.value)
    assert data_label(url) == "shop/shop" and data_label("sqlite:///exports/shop.db") == "shop.db"
    assert gapkit.config.from_dict({"data": url}).to_dict()["data"] == db.redact(url)


def test_gapkit_kpis_and_notebooks_take_a_url(postgres, stored, tmp_path, capsys):
    from gapkit import cli

    url = stored("postgresql")
    assert cli.main(["kpis", "--data", url, "--as-of", "2025-03-31", "--out", str(tmp_path / "db.csv")]) == 0
    assert cli.main(["kpis", "--data", str(SAMPLE), "--as-of", "2025-03-31", "--out", str(tmp_path / "dir.csv")]) == 0
    assert (tmp_path / "db.csv").read_bytes() == (tmp_path / "dir.csv").read_bytes()
    assert cli.main(["notebooks", str(tmp_path / "lab"), "--data", url]) == 0
    printed = capsys.readouterr().out
    assert f"Input rows per table ({db.redact(url)})" in printed and "set PGPASSWORD" in printed
    parameters = (tmp_path / "lab" / "01_current_state.ipynb").read_text()
    assert f'data: str = \\"{db.redact(url)}\\"' in parameters and 'as_of: str = \\"2025-06-29\\"' in parameters
    assert postgres.password not in printed + parameters and quote(postgres.password, safe="") not in parameters
