"""Read the contract tables where they live: a PostgreSQL server, a SQLite file or a DuckDB file.

:func:`read_tables` gives frames that :func:`gapkit.contract.validation.validate` checks as it
checks a Parquet folder's, so a database and an export of it give the same kept rows and rejects.
Only the columns gapkit uses cross the wire; no password is in a message, label or note.

How database types arrive (as ``pandas.read_parquet`` gives them, except that missing whole
numbers and flags are ``pd.NA``):

============================================  ===============================================
PostgreSQL / DuckDB type                      gapkit reads it as
============================================  ===============================================
timestamp with time zone (timestamptz)        the instant, in UTC
timestamp (without zone)                      the same clock time taken as UTC, as in a CSV
date                                          midnight UTC in a contract timestamp column;
                                              a date (``datetime.date``) in any other column
smallint, integer, bigint                     a whole number (``Int64``)
real, double precision                        a number (``float64``)
boolean                                       true/false (``boolean``)
text, varchar, char                           text (``str``)
numeric, decimal, uuid, json, interval,       the text the database writes (``CAST(... AS
time, enum, bytea, anything else              TEXT)``); the checks read numbers from it
arrays, records                               refused in a contract column, else left out
============================================  ===============================================

SQLite columns have no fixed type, so every SQLite value is read as its text, as from a CSV. A
contract column whose type cannot hold its kind (an integer ``ordered_at``) is read as text, with
a note: the checks then quarantine it value by value, as they would a CSV's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode

import pandas as pd
import pyarrow
import pyarrow.compute as pc

from gapkit.contract import _mapping
from gapkit.contract.schema import ID, LOAD_ORDER, TABLES, TEXT, TIMESTAMP
from gapkit.errors import InputError, did_you_mean

__all__ = ["DatabaseRead", "is_database", "read_tables", "redact"]

SCHEMES = {"postgresql": "postgresql", "postgres": "postgresql", "sqlite": "sqlite", "duckdb": "duckdb"}
DEFAULT_SCHEMA = {"postgresql": "public", "sqlite": "main", "duckdb": "main"}
INSTALL = {"postgresql": 'pip install "gapkit[postgres]" (adbc-driver-postgresql)',
           "sqlite": 'pip install "gapkit[sqlite]" (adbc-driver-sqlite)', "duckdb": "pip install duckdb"}
FILE_SUFFIXES = (".db", ".duckdb", ".ddb", ".sqlite", ".sqlite3")
#: Every column of these is read: customers' extra columns are segments, and interventions'
#: say how each was run (design, variant_column) and which column names who was treated.
WHOLE_TABLES = frozenset({"customers", "interventions"})
#: Tables whose rows created after ``until`` are left unread: no other table refers to them, so
#: leaving out their later rows changes no other row's checks. Not orders (their span bounds
#: every table's dates; followups, tickets and surveys name them), tickets (a survey may name a
#: ticket opened after it was sent: no rule forbids it, and it would become an orphan) or
#: interventions (costs name them, and are often incurred before the start).
UNTIL_TABLES = frozenset({"followups", "surveys", "referrals", "costs"})
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_HINTS = (("password", "Check the user and password: gapkit takes the password from PGPASSWORD, PGPASSFILE or "
                       "~/.pgpass (libpq's own), never from its configuration."),
          ("refused", "Check the host and port in the URL, and that the server is running."),
          ("host name", "Check the host name in the URL."), ("No such file", "Check the host (a socket folder)."),
          ("does not exist", "Check the database and user names in the URL."))


@dataclass(frozen=True)
class DatabaseRead:
    """The contract tables found in a database, as ``validate`` takes them: ``frames`` (table ->
    DataFrame under the contract's column names; orders always among them), ``files`` (table ->
    where it was read, without password: ``postgresql://shop@db:5432/sales?schema=s#orders``)."""

    frames: dict[str, pd.DataFrame]
    files: dict[str, str]
    notes: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class _Target:
    kind: str  # a key of DEFAULT_SCHEMA
    location: str  # what the driver opens: a libpq URI or a file path
    label: str  # redacted, naming the schema when it is not the default
    schema: str
    secret: str = ""  # the URL's password, scrubbed from every driver message


def is_database(source) -> bool:
    """Whether ``source`` names a database rather than a folder: any URL (``postgresql://``,
    ``sqlite:///file.db``, ``duckdb:///file.duckdb``; :func:`read_tables` refuses other schemes
    by name), or an existing SQLite or DuckDB file (``.db``, ``.duckdb``, ``.sqlite``...).

    Examples
    --------
    >>> is_database = gapkit.contract._database.is_database
    >>> is_database("postgresql://gapkit@localhost/shop"), is_database("data/sample")
    (True, False)
    """
    text = str(source)
    if _URL.match(text):
        return True
    path = Path(text)
    return path.suffix.lower() in FILE_SUFFIXES and path.is_file() and _sniff(path) is not None


def redact(url) -> str:
    """``url`` without its password (the user is kept), for messages, labels and run.json.

    Examples
    --------
    >>> gapkit.contract._database.redact("postgresql://shop:s3cret@db.example.com:5432/sales?sslmode=require")
    'postgresql://shop@db.example.com:5432/sales?sslmode=require'
    """
    scheme, sep, rest = str(url).partition("://")
    if not sep:
        return scheme
    at = rest.rfind("@", 0, rest.find("?") if "?" in rest else len(rest))
    if at < 0 and "@" in rest and "/" not in rest[:rest.find("@")]:
        at = rest.find("@")  # a password holding a raw "?"
    if at >= 0:
        user = rest[:at].split(":", 1)[0]
        rest = (f"{user}@" if user else "") + rest[at + 1:]
    base, sep, query = rest.partition("?")
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k.lower() != "password"]
    return f"{scheme}://{base}" + (f"?{urlencode(kept, safe='/:@')}" if kept else "")


def read_tables(source: str, tables: list[str] | None = None, columns=None, until=None, schema: str | None = None,
                extra: Iterable[str] = ()) -> DatabaseRead:
    """Read the contract tables of the database ``source``, ready for ``validate``.

    Parameters
    ----------
    source : ``postgresql://user@host:5432/db`` (``?schema=`` names the schema; the password comes
        from libpq: PGPASSWORD, PGPASSFILE or ~/.pgpass; one in the URL works, with a note),
        ``sqlite:///relative.db``, ``sqlite:////absolute.db``, ``duckdb:///x.duckdb``, or a file's path.
    tables : read only these contract tables (default: every one the database has).
    columns : the source's name for contract columns, per table (``{"orders": {"order_id": "id"}}``, or
        as ``_mapping.check`` gives it); a wrong mapping is a ConfigError, as in ``gapkit.load``.
    until : rows created after this instant (naive: UTC; e.g. the end of ``as_of``) are left
        unread where that changes no check (:data:`UNTIL_TABLES`, on PostgreSQL and DuckDB).
    schema : the schema when the URL names none (default: public, or main).
    extra : more columns to read where a table has them (segments named in the configuration);
        otherwise a table sends its contract columns only (customers, interventions: all).

    Examples
    --------
    >>> import duckdb
    >>> with duckdb.connect("shop.duckdb") as con:
    ...     for name, frame in gapkit.datasets.sample().items():
    ...         con.from_df(frame).create(name)
    >>> read = gapkit.contract._database.read_tables("shop.duckdb")
    >>> read.files["orders"], gapkit.validate(read.frames, files=read.files)["orders"].shape
    ('shop.duckdb#orders', (4000, 8))
    """
    target, mapping = _target(source, schema), _mapping.check(columns)  # a wrong mapping: a ConfigError, as in load
    unknown = sorted(set(tables or ()) - set(TABLES))
    if unknown:
        raise InputError(f"{target.label}: unknown table(s) {unknown}{did_you_mean(unknown[0], TABLES)}; the contract "
                         f"tables are {', '.join(LOAD_ORDER)}.")
    wanted = [n for n in LOAD_ORDER if tables is None or n in tables]
    cut = None if until is None else pd.to_datetime(until, utc=True)  # a naive instant is UTC
    notes = [f"{target.label}: the URL holds a password; PGPASSWORD or ~/.pgpass keep it out of configurations "
             f"and shell histories"] if target.secret else []
    session = _Session.open(target)
    try:
        catalog = _columns(session, target)
        found = {n: _match(n, list(catalog)) for n in wanted}
        if found.get("orders") is None:
            raise no_orders(target, catalog)
        frames, files, names = {}, {}, set(extra)
        # interventions first: the columns their segment_by and variant_column name are read too
        for name in sorted((n for n in wanted if found[n]), key=lambda n: (n != "interventions", LOAD_ORDER.index(n))):
            files[name] = f"{target.label}#{found[name]}"
            frames[name] = _read_table(session, target, name, (found[name], catalog[found[name]]), mapping, names,
                                       cut, notes)
            if name == "interventions":
                names |= {str(v).strip() for c in ("segment_by", "variant_column") if c in frames[name]
                          for v in frames[name][c].dropna()}
    finally:
        session.close()
    frames = {n: frames[n] for n in LOAD_ORDER if n in frames}
    return DatabaseRead(frames, {n: files[n] for n in frames}, tuple(notes), target.label)


def no_orders(target: _Target, catalog: dict[str, list[str]]) -> InputError:
    """The error for a schema without an orders table, listing the tables it has."""
    return InputError(f"{target.label}: no orders table{did_you_mean('orders', catalog)}; gapkit needs orders with "
                      f"{', '.join(TABLES['orders'].required_columns)} (every other table is optional). Tables in "
                      f"schema {target.schema!r}: {', '.join(list(catalog)[:20]) or 'none'}.")


def _target(source, schema: str | None) -> _Target:
    """Which driver opens ``source``, what it is given, and the label messages show."""
    text = str(source).strip()
    match = _URL.match(text)
    if not match:
        kind = _sniff(Path(text)) if Path(text).is_file() else None
        if kind is None:
            raise InputError(f"{text}: not a SQLite or DuckDB file (and not a URL such as postgresql://user@host/db).")
        return _Target(kind, text, _with_schema(text, schema, kind), schema or DEFAULT_SCHEMA[kind])
    scheme = text[:match.end() - 3].lower()
    if scheme not in SCHEMES:
        raise InputError(f"{redact(text)}: gapkit cannot read {scheme}:// sources; it reads postgresql://, "
                         f"sqlite:/// and duckdb:/// URLs, SQLite or DuckDB files, and folders of CSV or Parquet.")
    kind = SCHEMES[scheme]
    base, _, query = text.partition("?")
    params = parse_qsl(query, keep_blank_values=True)
    schema = dict(params).get("schema") or schema or DEFAULT_SCHEMA[kind]
    params = [(k, v) for k, v in params if k != "schema"]
    label = _with_schema(redact(base + (f"?{urlencode(params, safe='/:@')}" if params else "")), schema, kind)
    if kind != "postgresql":
        path = unquote(base[match.end():])[1:]
        if not Path(path).is_file():
            raise InputError(f"{label}: no such file {path or '(none given)'!r}. Write {scheme}:///relative/path or "
                             f"{scheme}:////absolute/path (four slashes), or give the file's path itself.")
        return _Target(kind, path, label, schema)
    if not any(k == "connect_timeout" for k, _ in params):
        params.append(("connect_timeout", "10"))  # a host that drops packets would otherwise hang the run
    userinfo = base[match.end():].rpartition("@")[0]
    secret = unquote(userinfo.split(":", 1)[1]) if ":" in userinfo else dict(params).get("password", "")
    return _Target(kind, f"{base}?{urlencode(params, safe='/:@')}", label, schema, secret)


def _with_schema(label: str, schema: str | None, kind: str) -> str:
    if not schema or schema == DEFAULT_SCHEMA[kind]:
        return label
    return f"{label}{'&' if '?' in label else '?'}schema={quote(schema, safe='')}"


def _sniff(path: Path) -> str | None:
    """"sqlite" or "duckdb" from the file's first bytes, or None."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError:
        return None
    return "sqlite" if head.startswith(b"SQLite format 3\x00") else "duckdb" if head[8:12] == b"DUCK" else None


def _match(name: str, present: list[str]) -> str | None:
    """The database's table for ``name``: itself, or the one name that differs from it by case only."""
    if name in present:
        return name
    folded = [p for p in present if p.casefold() == name]
    return folded[0] if len(folded) == 1 else None


def _quote(text: str, mark: str = '"') -> str:
    """An SQL identifier, or with ``mark="'"`` a string literal."""
    return mark + text.replace(mark, mark * 2) + mark


class _Session:
    """One read-only connection: ``query(sql, where)`` gives an Arrow table, any failure an InputError."""

    def __init__(self, target: _Target, connection, cursor=None):
        self.target, self.connection, self.cursor = target, connection, cursor

    @classmethod
    def open(cls, target: _Target) -> _Session:
        try:
            if target.kind == "duckdb":
                import duckdb as driver
            elif target.kind == "sqlite":
                import adbc_driver_sqlite.dbapi as driver
            else:
                import adbc_driver_postgresql.dbapi as driver
        except ImportError as error:
            raise InputError(f"{target.label}: reading this database needs a driver that is not installed "
                             f"({error.name}): {INSTALL[target.kind]}.") from None
        try:
            if target.kind == "duckdb":
                return cls(target, driver.connect(target.location, read_only=True))
            # read-only: a mistyped path must not become a new, empty database
            location = (f"file:{quote(str(Path(target.location).resolve()))}?mode=ro" if target.kind == "sqlite"
                        else target.location)
            connection = driver.connect(location)
        except Exception as error:  # each driver raises its own classes
            raise InputError(f"{target.label}: cannot connect ({_said(error, target)}){_hint(str(error))}") from None
        session = cls(target, connection, connection.cursor())
        if target.kind == "postgresql":
            # one snapshot for every table: a follow-up written between two reads cannot name an
            # order the first read missed
            session.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", target.label)
        else:
            # the driver types a column by its first batch (NULLs first, then text, fails); one
            # batch holding the whole table sees every value
            session.cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(2**30)})
        return session

    def query(self, sql: str, where: str) -> pyarrow.Table | None:
        try:
            if self.cursor is None:
                return self.connection.sql(sql).to_arrow_table()
            self.cursor.execute(sql)
            return self.cursor.fetch_arrow_table() if self.cursor.description else None
        except Exception as error:
            raise InputError(f"{where}: the database refused to read it ({_said(error, self.target)})") from None

    def close(self) -> None:
        for closable in [c for c in (self.cursor, self.connection) if c is not None]:
            try:
                closable.close()
            except Exception:  # closing after a failure must not hide the failure
                pass


def _said(error: Exception, target: _Target) -> str:
    """The driver's message, on one line, without its status prefixes or the password."""
    text = str(error)
    for secret in {target.secret, quote(target.secret, safe="")} - {""}:
        text = text.replace(secret, "***")
    return re.sub(r"\s*\n\s*", " ", re.sub(r"^(\w+: )?(\[\w+\] )?", "", text.strip()))[:300]


def _hint(text: str) -> str:
    return next((f". {hint}" for words, hint in _HINTS if words in text), ".")


def _columns(session: _Session, target: _Target) -> dict[str, list[str]]:
    """The tables and views of the schema, and their columns, from the catalog: a column the user
    may not read (a column privilege) is listed, but never selected unless gapkit needs it."""
    schema = _quote(target.schema, "'")
    if target.kind == "postgresql":
        sql = ("SELECT c.relname, a.attname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = "
               "c.relnamespace JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT "
               f"a.attisdropped WHERE n.nspname = {schema} AND c.relkind IN ('r', 'v', 'm', 'p', 'f') "
               "ORDER BY 1, a.attnum")
    elif target.kind == "duckdb":
        sql = ("SELECT table_name, column_name FROM information_schema.columns WHERE table_catalog = "
               f"current_database() AND table_schema = {schema} ORDER BY 1, ordinal_position")
    else:
        sql = (f"SELECT m.name, p.name FROM {_quote(target.schema)}.sqlite_master m, pragma_table_info(m.name, "
               f"{schema}) p WHERE m.type IN ('table', 'view') ORDER BY 1, p.cid")
    listed = session.query(sql, f"{target.label}: listing the tables of schema {target.schema!r}")
    found: dict[str, list[str]] = {}
    for table, column in zip(*(c.to_pylist() for c in listed.columns)):
        found.setdefault(str(table), []).append(str(column))
    return found


def _read_table(session: _Session, target: _Target, name: str, table: tuple[str, list[str]], mapping: _mapping.Columns,
                extra: set[str], until: pd.Timestamp | None, notes: list[str]) -> pd.DataFrame:
    """One table: only the columns gapkit uses, under the contract's names, typed for the checks."""
    (table, names), spec = table, TABLES[name]
    label, qualified = f"{target.label}#{table}", f"{_quote(target.schema)}.{_quote(table)}"
    kinds = {c.name: c.kind for c in spec.columns}
    # a mapped name the table lacks, or a table holding both names, is the same ConfigError as for a file
    source_of = {**{c: c for c in kinds}, **{c: s for s, c in _mapping.renames(names, name, mapping, label).items()}}
    absent = [c for c in spec.required_columns if source_of[c] not in names]
    if absent:
        raise InputError(f"{label}: column(s) {absent} missing{did_you_mean(absent[0], names)}; table '{name}' needs "
                         f"{', '.join(spec.required_columns)}, and has {names}. Rename them in the database (or a "
                         f"view), or map them: columns: {{{name}: {{{absent[0]}: your_name}}}}.")
    renamed = {s: c for c, s in source_of.items() if s in names}
    # the contract's columns (by their mapped names), and the extra ones a whole table or `extra` wants
    wanted = [c for c in names if c in renamed or (c not in source_of and (name in WHOLE_TABLES or c in extra))]
    fields = dict.fromkeys(wanted, pyarrow.string())  # SQLite: every value as its text
    if target.kind != "sqlite":
        probe = session.query(f"SELECT {', '.join(map(_quote, wanted))} FROM {qualified} WHERE 1 = 0", label)
        fields = {f.name: f.type for f in probe.schema}
    selected, nested = [], []
    for column, kind in fields.items():
        as_name = renamed.get(column, column)
        if pyarrow.types.is_nested(kind):
            if as_name in kinds:
                raise InputError(f"{label}: column {column} holds arrays or records; the contract needs one value per "
                                 f"row there. Select one value per row (e.g. in a view).")
            nested.append(column)
        elif target.kind == "sqlite" or not _fits(kind, kinds.get(as_name)):
            if target.kind != "sqlite" and kinds.get(as_name) not in (None, ID, TEXT):
                notes.append(f"{label}: {column} is of type {kind} in the database, which cannot hold "
                             f"{kinds[as_name]} values; read as text, so the checks reject every value that is not one")
            selected.append(f"CAST({_quote(column)} AS TEXT) AS {_quote(as_name)}")
        else:
            selected.append(f"{_quote(column)} AS {_quote(as_name)}")
    if nested:
        notes.append(f"{label}: column(s) {nested} hold arrays or records and were left out (a segment must be one "
                     f"value per row)")
    where = _until_clause(name, qualified, fields, source_of, until, target, label, notes)
    return _to_pandas(session.query(f"SELECT {', '.join(selected)} FROM {qualified}{where}", label), kinds, target)


def _fits(kind, contract_kind: str | None) -> bool:
    """Whether the checks read Arrow type ``kind`` as ``contract_kind`` (None: an extra column)."""
    if isinstance(kind, pyarrow.ExtensionType):
        return False  # PostgreSQL numeric, uuid, json: their text is what the checks read
    text = pyarrow.types.is_string(kind) or pyarrow.types.is_large_string(kind)
    plain = text or pyarrow.types.is_integer(kind) or pyarrow.types.is_floating(kind) or pyarrow.types.is_boolean(kind)
    temporal = pyarrow.types.is_timestamp(kind) or pyarrow.types.is_date(kind)
    return (text or temporal) if contract_kind == TIMESTAMP else plain if contract_kind else plain or temporal


def _until_clause(name: str, qualified: str, fields: dict, source_of: dict[str, str], until: pd.Timestamp | None,
                  target: _Target, label: str, notes: list[str]) -> str:
    """`` WHERE ...`` leaving out rows created after ``until``, or "" where that could change a check.

    Every row the clause keeps is checked as when everything is read: rows without a creation
    time (rejected for it) are read, and so are later rows sharing a key with a kept one, so
    that "duplicate key" falls on the same rows.
    """
    spec = TABLES[name]
    created = source_of.get(spec.created) if spec.created else None
    if until is None or name not in UNTIL_TABLES or target.kind == "sqlite" or created not in fields:
        return ""
    kind = fields[created]
    if pyarrow.types.is_date(kind):
        bound, sql_type = until.date().isoformat(), "DATE"
    elif pyarrow.types.is_timestamp(kind):  # a time without zone is UTC, as the checks take it
        bound = until.strftime("%Y-%m-%d %H:%M:%S.%f") + ("+00" if kind.tz else "")
        sql_type = "TIMESTAMP WITH TIME ZONE" if kind.tz else "TIMESTAMP"
    else:
        return ""  # text: what it means is for the checks to say, not for a comparison in SQL
    literal = _quote(bound, "'")
    bound = f"CAST({literal} AS {sql_type})"
    early = f"{_quote(created)} <= {bound} OR {_quote(created)} IS NULL"
    key = source_of.get(spec.key) if spec.key else None
    if key in fields:
        early += f" OR {_quote(key)} IS NULL OR {_quote(key)} IN (SELECT {_quote(key)} FROM {qualified} WHERE {early})"
    notes.append(f"{label}: rows with {spec.created} after {until} were not read (reports ignore them)")
    return f" WHERE {early}"


def _to_pandas(table: pyarrow.Table, kinds: dict[str, str], target: _Target) -> pd.DataFrame:
    """The frame the checks get from a Parquet file of the same data: timestamps in UTC (a date
    in a contract timestamp column is its midnight), missing whole numbers and flags as pd.NA."""
    columns = {}
    for field, column in zip(table.schema, table.columns):
        kind = field.type
        if target.kind == "sqlite" and not pyarrow.types.is_string(kind):
            column = pc.cast(column, pyarrow.string())  # a column of NULLs only arrives as integers
        elif pyarrow.types.is_timestamp(kind):
            column = pc.cast(column, pyarrow.timestamp(kind.unit, "UTC"))
        elif pyarrow.types.is_date(kind) and kinds.get(field.name) == TIMESTAMP:
            column = pc.cast(pc.cast(column, pyarrow.timestamp("us")), pyarrow.timestamp("us", "UTC"))
        columns[field.name] = column
    whole = pyarrow.types.is_integer
    return pyarrow.table(columns).to_pandas(types_mapper=lambda t: pd.BooleanDtype() if pyarrow.types.is_boolean(t)
                                            else pd.Int64Dtype() if whole(t) and t != pyarrow.uint64() else None)
