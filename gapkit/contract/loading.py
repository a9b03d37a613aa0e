"""Read a folder of contract tables (CSV or Parquet) and validate them.

Reading is :mod:`gapkit.contract._reading` (encodings, delimiters, file lines); the rules and the
quarantine are :mod:`gapkit.validation`. Nothing is dropped silently: each input row is either
kept or listed in ``data.rejects``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote

import numpy as np
import pandas as pd

from gapkit.contract import _database, _mapping
from gapkit.contract._reading import read_text_csv
from gapkit.contract.schema import LOAD_ORDER, TABLES
from gapkit.contract.validation import EARLIEST, Data, validate
from gapkit.errors import InputError, parse_date

__all__ = ["last_complete_day", "load", "scan", "source_label", "write_parquet"]


def load(path: str | Path, tables: list[str] | None = None, earliest: str = EARLIEST, columns=None, as_of=None,
         extra=()) -> Data:
    """Read every contract table found in ``path`` (``<table>.csv`` or ``<table>.parquet``, or
    the tables of a database).

    Timestamps are parsed to UTC (naive ones are taken as UTC), every rule of the contract is
    checked, and rows that break one are quarantined in ``data.rejects``.

    Parameters
    ----------
    path : folder holding the tables, or a database: ``postgresql://user@host:5432/db?schema=s``
        (the password from PGPASSWORD or ~/.pgpass), ``sqlite:///file.db``, ``duckdb:///file.duckdb``
        or such a file's path; see docs/database.md.
    tables : read only these tables (default: every contract table present).
    earliest : timestamps before this date are rejected as placeholders (e.g. 0001-01-01);
        so are those far past the orders' own span (see :func:`validate`).
    columns : the source's names for contract columns, per table, when they differ:
        ``{"orders": {"order_id": "id", "ordered_at": "created"}}`` (the ``columns`` key of
        ``gapkit.yml``). Each table is renamed as it is read; rejects name the contract's column
        and end their reason with the file's name for it.
    as_of : report date (YYYY-MM-DD). A database then leaves the rows of followups, surveys,
        referrals and costs created after the end of that day unread (reports ignore them, and
        no other row's checks change); a folder is read whole.
    extra : more columns a database sends where a table has them (segments the configuration
        names); a database otherwise sends the contract's columns (customers: all). A folder's
        files are read whole.

    Examples
    --------
    >>> data = gapkit.datasets.sample()
    >>> data.counts
               table  input_rows  kept  rejected
    ...
    """
    mapping = _mapping.check(columns)
    if _database.is_database(path):
        read = _database.read_tables(str(path), tables, mapping, until=_end_of(as_of), extra=extra)
        data = validate(read.frames, source=read.source, files=read.files, earliest=earliest,
                        notes=[*read.notes, *_mapping.notes(mapping, read.files, "the database")])
        return dataclasses.replace(data, rejects=_mapping.in_rejects(data.rejects, mapping, "the database"))
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder. Pass the folder that holds orders.csv (or orders.parquet).")
    source = _read_folder(folder, tables, mapping)
    # the source's names become the contract's before any rule looks at them
    raw = _mapping.rename(source.raw, mapping, source.files)
    data = validate(raw, source=str(folder), files=source.files, positions=source.positions,
                    malformed=source.malformed, earliest=earliest,
                    notes=[*source.notes, *_mapping.notes(mapping, source.files)])
    return dataclasses.replace(data, rejects=_mapping.in_rejects(data.rejects, mapping)) if mapping else data


def _end_of(as_of) -> pd.Timestamp | None:
    """The last instant of the ``as_of`` day in UTC (as gapkit.measure.engine.end_of_day, which
    this module cannot import: the engine reads through it)."""
    if as_of is None:
        return None
    day = pd.Timestamp(parse_date(as_of, "as_of"), tz="UTC")
    return day + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)


def source_label(source) -> str:
    """Where the data is, as a run records and compares it: a folder's or file's absolute path,
    a URL without its password.

    Examples
    --------
    >>> gapkit.contract.loading.source_label("postgresql://analyst:s3cret@db:5432/shop?schema=sales")
    'postgresql://analyst@db:5432/shop?schema=sales'
    """
    text = str(source)
    if "://" not in text:
        return str(Path(text).resolve())
    scheme, _, rest = _database.redact(text).partition("://")
    if scheme.lower() in ("sqlite", "duckdb") and rest.startswith("/"):  # a file: its absolute path
        path, mark, query = rest[1:].partition("?")
        return f"{scheme}:///{quote(str(Path(unquote(path)).resolve()))}{mark}{query}" if path else f"{scheme}://{rest}"
    return f"{scheme}://{rest}"


@dataclass
class _Source:
    """The tables of a folder as read, before any check: frames by table, the file each came
    from, record numbers and lines (CSV), lines that were not records, and notes on the reading."""

    raw: dict[str, pd.DataFrame] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    positions: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    malformed: dict[str, tuple] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _read_folder(folder: Path, tables: list[str] | None, mapping: _mapping.Columns) -> _Source:
    """Every contract table in ``folder`` (or those of ``tables``) read as its file holds it."""
    source = _Source(notes=_unknown_files(folder))
    for name in LOAD_ORDER:
        if tables is not None and name not in tables:
            continue
        found = [p for p in (folder / f"{name}.csv", folder / f"{name}.parquet") if p.exists()]
        if len(found) > 1:
            raise InputError(
                f"{folder}: both {found[0].name} and {found[1].name} exist; keep one so it is clear which to read."
            )
        if not found:
            continue
        _check_file(found[0], folder)
        source.files[name] = str(found[0])
        if found[0].suffix == ".parquet":
            source.raw[name] = _read_parquet(found[0], source.notes, _mapping.as_dict(mapping).get(name, {}))
            continue
        # read as text so that a bad value is seen (and quarantined) rather than coerced by guesswork
        needs = f" with the columns {', '.join(TABLES[name].required_columns)}" if TABLES[name].required_columns else ""
        text = read_text_csv(found[0], needs=needs)
        source.raw[name] = text.frame
        source.positions[name] = (text.records, text.lines)
        source.malformed[name] = text.malformed
        source.notes += text.notes
    if "orders" not in source.raw:
        raise InputError(
            f"{folder}: no orders table. gapkit needs orders.csv or orders.parquet with columns "
            f"{TABLES['orders'].required_columns}; every other table is optional."
        )
    return source


def _check_file(file: Path, folder: Path) -> None:
    """A table must be a readable regular file in the folder: a folder, a device (/dev/zero would
    be read for ever) or a link out of the folder (to /etc/passwd, whose first line an error
    would quote) is refused before a byte is read."""
    if file.is_symlink():
        target = file.resolve()
        if not target.is_relative_to(folder.resolve()):
            raise InputError(f"{file}: is a link to a file outside the data folder; gapkit reads only files in "
                             f"{folder}. Copy the file into the folder, or pass the folder it lives in.")
    if file.is_dir():
        raise InputError(f"{file}: is a folder, not a file; the table must be a CSV or Parquet file of that name.")
    if not file.is_file():
        raise InputError(f"{file}: is not a regular file (a device or a pipe); save the table as a file.")
    try:
        with open(file, "rb"):
            pass
    except OSError as error:
        raise InputError(f"{file}: cannot be read ({error.strerror or error}); check the file's permissions "
                         f"(the user running gapkit must be able to read it).") from None


def _unknown_files(folder: Path) -> list[str]:
    """Files of the folder that are not contract tables, with a did-you-mean."""
    import difflib

    notes = []
    for file in sorted(folder.iterdir()):
        if file.name.startswith(".") or not file.is_file() or file.suffix.lower() not in (".csv", ".parquet", ".tsv",
                                                                                            ".txt", ".xlsx", ".json"):
            continue
        if file.suffix in (".csv", ".parquet") and file.stem in TABLES:
            continue
        guess = difflib.get_close_matches(file.stem.lower(), list(TABLES), n=1, cutoff=0.5)
        hint = f"; did you mean {guess[0]}{file.suffix}?" if guess else ""
        notes.append(f"ignored: {file.name} is not a gapkit table{hint}")
    return notes


def _read_parquet(file: Path, notes: list[str] | None = None, renamed: dict[str, str] | None = None) -> pd.DataFrame:
    """The file's table; a column name given twice is refused, and a column of lists or records
    (no segment, id or value can be one) is left out with a note, or refused if the contract
    needs it (under its own name, or the file's when ``renamed`` maps it: contract -> file)."""
    import pyarrow
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(file)
    except Exception as error:  # pyarrow raises several kinds for a file that is not Parquet
        raise InputError(f"{file}: cannot be read as Parquet ({type(error).__name__}: {str(error)[:200]}).") from None
    names = list(schema.names)
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(f"{file}: the column name(s) {twice} appear more than once; rename one of each so it is "
                         f"clear which to read.")
    nested = [f.name for f in schema if pyarrow.types.is_nested(f.type)]
    renamed = renamed or {}
    contract = {renamed.get(c.name, c.name) for c in TABLES[file.stem].columns} if file.stem in TABLES else set()
    needed = [n for n in nested if n in contract]
    if needed:
        raise InputError(f"{file}: column(s) {needed} hold lists or records; the contract needs one value per row "
                         f"there. Write one value per row (e.g. the first element, or one row per element).")
    if nested and notes is not None:
        notes.append(f"{file.name}: column(s) {nested} hold lists or records and were left out (a segment must be "
                     f"one value per row)")
    try:
        return pd.read_parquet(file, columns=[n for n in names if n not in nested])
    except Exception as error:
        raise InputError(f"{file}: cannot be read as Parquet ({type(error).__name__}: {str(error)[:200]}).") from None


def scan(path: str | Path, connection=None, columns=None) -> dict:
    """Open the Parquet tables of a folder lazily in DuckDB, for data larger than memory.

    Returns a mapping from table name to a DuckDB relation that ``gapkit.kpis(...,
    engine="duckdb")`` reads without loading it into pandas. Unlike :func:`load`, ``scan``
    does not check rows (checking would mean reading everything): use it on tables written by
    ``gapkit.load(...)`` (see :func:`write_parquet`) or otherwise already validated.
    ``columns`` maps contract columns to the files' names as in :func:`load`; the relations
    carry the contract's names.

    Examples
    --------
    >>> paths = gapkit.write_parquet(gapkit.datasets.sample(), "/tmp/gapkit-parquet")
    >>> tables = gapkit.scan("/tmp/gapkit-parquet")
    >>> gapkit.kpis(tables, as_of="2025-06-30", engine="duckdb")
                             kpi period  ...  small_n  open_share
    ...
    """
    from gapkit.measure._tables import duckdb_connection

    mapping = _mapping.check(columns)
    folder = Path(path)
    connection = connection or duckdb_connection()
    relations = {}
    for name in LOAD_ORDER:
        file = folder / f"{name}.parquet"
        if file.exists():
            relations[name] = _renamed(connection.read_parquet(str(file)), name, mapping, file)
    if "orders" not in relations:
        raise InputError(f"{folder}: no orders.parquet; scan reads Parquet only (use gapkit.load for CSV).")
    return relations


def _renamed(relation, table: str, mapping: _mapping.Columns, file: Path):
    """``relation`` with its mapped columns under the contract's names (a projection: nothing is read)."""
    renames = _mapping.renames(relation.columns, table, mapping, file)
    if not renames:
        return relation

    def quoted(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    return relation.project(", ".join(f"{quoted(c)} AS {quoted(renames.get(c, c))}" for c in relation.columns))


def write_parquet(data: Data, path: str | Path) -> list[Path]:
    """Write the kept rows of every table as Parquet, ready for :func:`scan`."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in data.items():
        file = folder / f"{name}.parquet"
        frame.to_parquet(file, index=False)
        written.append(file)
    return written


def last_complete_day(path: str | Path, columns=None) -> tuple[str, str]:
    """The last day the orders cover completely, and the latest order time, for a default ``as_of``.

    With times of day, the day of the latest order may still have been under way when the data
    was exported, so it is the day before; with date-only timestamps (all at midnight) it is the
    latest date itself. ``columns`` names the orders' ordered_at as the file does (see :func:`load`).
    A database (see :func:`load`) is asked for the latest order time: one row, not the table.

    Examples
    --------
    >>> paths = gapkit.sample.write(gapkit.sample.generate(n_orders=500), "shop")
    >>> gapkit.loading.last_complete_day("shop")
    ('2025-06-29', '2025-06-30 21:45:14+00:00')
    """
    import pyarrow.parquet as pq

    mapping = _mapping.check(columns)
    if _database.is_database(path):
        from gapkit.contract._database_catalog import latest_order

        return _complete_day(*latest_order(str(path), mapping), _database.redact(path))
    folder = Path(path)
    csv, parquet = folder / "orders.csv", folder / "orders.parquet"
    if parquet.exists():
        file, frame = parquet, None
        names = list(pq.read_schema(parquet).names)
    elif csv.exists():
        file, frame = csv, read_text_csv(csv).frame  # as the loader reads it: semicolons, tabs, UTF-16
        names = list(frame.columns)
    else:
        raise InputError(f"{folder}: no orders.csv or orders.parquet.")
    name = _mapping.source_name(names, "orders", "ordered_at", mapping, file)
    if name not in names:
        raise InputError(f"{file}: no ordered_at column; orders need order_id, customer_id, ordered_at (or map "
                         f"yours in the configuration: columns: {{orders: {{ordered_at: your_name}}}}).")
    raw = pd.read_parquet(parquet, columns=[name])[name] if frame is None else frame[name]
    return complete_day(pd.to_datetime(raw, utc=True, errors="coerce", format="ISO8601"), str(folder))


def complete_day(stamps: pd.Series, where: str = "the orders") -> tuple[str, str]:
    """The last day ``stamps`` (order times) cover completely, and the latest of them."""
    stamps = stamps.dropna()
    if stamps.empty:
        return _complete_day(None, True, where)
    return _complete_day(stamps.max(), bool((stamps == stamps.dt.normalize()).all()), where)


def _complete_day(latest: pd.Timestamp | None, date_only: bool, where: str) -> tuple[str, str]:
    if latest is None:
        raise InputError(f"{where}: no order has a readable ordered_at, so there is no default report date; "
                         "pass as_of (--as-of YYYY-MM-DD).")
    day = latest.normalize() if date_only else latest.normalize() - pd.Timedelta(days=1)
    return day.date().isoformat(), str(latest)
