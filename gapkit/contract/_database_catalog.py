"""What a database holds, asked without reading its tables: the columns of each contract table
(the checks ``gapkit run`` makes before any notebook) and the latest order time (the default
report date). Each is one catalog query or one one-row aggregate, whatever the tables' size.

The connection, labels and messages are :mod:`gapkit.contract._database`'s: the URL is shown
without its password, and every failure is an :class:`~gapkit.errors.InputError` naming it.
"""

from __future__ import annotations

import pandas as pd
import pyarrow

from gapkit.contract import _mapping
from gapkit.contract._database import _columns, _match, _quote, _Session, _Target, _target, no_orders
from gapkit.contract.schema import LOAD_ORDER
from gapkit.errors import InputError

__all__ = ["column_names", "latest_order"]

#: Per driver, SQL that is true for a timestamp with a time of day (in UTC; a time without zone
#: is taken as UTC, as the checks take it), given the quoted column.
_TIME_OF_DAY = {"postgresql": "EXTRACT(EPOCH FROM {c}) % 86400 <> 0",
                "duckdb": "epoch_us({c}) % 86400000000 <> 0"}


def column_names(source, columns=None, schema: str | None = None) -> dict[str, list[str]]:
    """The columns of each contract table in the database ``source``, under the contract's names
    once ``columns`` (the configuration's mapping) renamed them; from the catalog only.

    No orders table is the :class:`~gapkit.errors.InputError` that reading would give; a wrong
    mapping the :class:`~gapkit.errors.ConfigError`.

    Examples
    --------
    >>> import duckdb
    >>> with duckdb.connect("shop.duckdb") as con:
    ...     for name, frame in gapkit.datasets.sample().items():
    ...         con.from_df(frame).create(name)
    >>> gapkit.contract._database_catalog.column_names("shop.duckdb")["orders"][:3]
    ['order_id', 'customer_id', 'ordered_at']
    """
    target, mapping = _target(source, schema), _mapping.check(columns)
    catalog = _catalog(target)
    found = {}
    for name in LOAD_ORDER:
        table = _match(name, list(catalog))
        if table is not None:
            renames = _mapping.renames(catalog[table], name, mapping, f"{target.label}#{table}")
            found[name] = [renames.get(c, c) for c in catalog[table]]
    return found


def latest_order(source, columns=None, schema: str | None = None) -> tuple[pd.Timestamp | None, bool]:
    """The latest ``ordered_at`` of the database's orders (None: none readable) and whether every
    order time is a midnight (date-only data), as :func:`gapkit.contract.loading.last_complete_day`
    needs them.

    A timestamp or date column is asked for its maximum: one row crosses the wire. A column of
    another type (text, or every SQLite column) is read alone and its values read as the loader
    reads a CSV's, since what its text means is for the checks to say, not for a comparison in SQL.
    """
    target, mapping = _target(source, schema), _mapping.check(columns)
    session = _Session.open(target)
    try:
        catalog = _columns(session, target)
        table = _match("orders", list(catalog))
        if table is None:
            raise no_orders(target, catalog)
        label, qualified = f"{target.label}#{table}", f"{_quote(target.schema)}.{_quote(table)}"
        column = _mapping.source_name(catalog[table], "orders", "ordered_at", mapping, label)
        if column not in catalog[table]:
            raise InputError(f"{label}: no ordered_at column; orders need order_id, customer_id, ordered_at (or map "
                             f"yours in the configuration: columns: {{orders: {{ordered_at: your_name}}}}).")
        return _latest(session, target, qualified, _quote(column), label)
    finally:
        session.close()


def _catalog(target: _Target) -> dict[str, list[str]]:
    session = _Session.open(target)
    try:
        catalog = _columns(session, target)
    finally:
        session.close()
    if _match("orders", list(catalog)) is None:
        raise no_orders(target, catalog)
    return catalog


def _latest(session: _Session, target: _Target, qualified: str, column: str,
            label: str) -> tuple[pd.Timestamp | None, bool]:
    kind = None
    if target.kind != "sqlite":
        kind = session.query(f"SELECT {column} FROM {qualified} WHERE 1 = 0", label).schema.field(0).type
    if kind is not None and pyarrow.types.is_date(kind):
        latest = session.query(f"SELECT max({column}) FROM {qualified}", label).column(0)[0].as_py()
        return (None if latest is None else pd.Timestamp(latest, tz="UTC")), True
    if kind is not None and pyarrow.types.is_timestamp(kind):
        timed = _TIME_OF_DAY[target.kind].format(c=column)
        row = session.query(f"SELECT max({column}), bool_or({timed}) FROM {qualified}", label)
        latest, has_time = row.column(0)[0].as_py(), row.column(1)[0].as_py()
        if latest is None:
            return None, True
        latest = pd.Timestamp(latest)
        return (latest.tz_convert("UTC") if latest.tzinfo else latest.tz_localize("UTC")), not has_time
    text = session.query(f"SELECT CAST({column} AS TEXT) FROM {qualified}", label).column(0).to_pandas()
    stamps = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601").dropna()
    if stamps.empty:
        return None, True
    return stamps.max(), bool((stamps == stamps.dt.normalize()).all())
