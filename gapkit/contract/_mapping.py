"""Column mappings: reading a source whose columns are named otherwise under the contract's names.

The ``columns`` key of ``gapkit.yml`` (and ``gapkit.load(..., columns=...)``) maps, per table,
a contract column to the source's name for it: ``{orders: {order_id: id, ordered_at: created}}``.
Each table is renamed right after it is read and before it is checked, so everything after the
reading (rules, rejects, KPIs, reports) sees the contract's names only.

Rejects keep the contract's name in ``column`` (what a report groups by and a script filters
on, the same whatever the source calls it); their ``reason`` ends with the file's own name for
the column, which is what a person fixing the file looks for. A note lists the renames.

Examples
--------
>>> gapkit.contract._mapping.check({"orders": {"order_id": "id", "ordered_at": "created"}})
(('orders', 'order_id', 'id'), ('orders', 'ordered_at', 'created'))
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from gapkit.contract._yaml import text_of
from gapkit.contract.schema import LOAD_ORDER, TABLES
from gapkit.errors import ConfigError, did_you_mean

#: A checked mapping: (table, contract column, source column) in the contract's table order.
Columns = tuple[tuple[str, str, str], ...]

_EXAMPLE = "e.g. {orders: {order_id: id, ordered_at: created}}"


def check(value, label: str = "columns") -> Columns:
    """The mapping ``value`` (``{table: {contract column: source column}}``, or one already checked)
    as :data:`Columns`; every problem a :class:`~gapkit.errors.ConfigError` naming ``label`` and the fix.

    A contract column mapped to its own name is left out: there is nothing to rename.
    """
    if value is None:
        return ()
    if isinstance(value, tuple) and all(isinstance(t, tuple) and len(t) == 3 for t in value):
        value = as_dict(value)  # checked again: a tuple made by hand deserves the same checks
    if not isinstance(value, dict):
        raise ConfigError(f"{label}: expected a mapping from table to {{contract column: your column}}, {_EXAMPLE}; "
                          f"got {value!r}.")
    unknown = sorted(text_of(table) for table in value if table not in TABLES)
    if unknown:
        raise ConfigError(f"{label}: unknown table(s) {unknown}{did_you_mean(unknown[0], TABLES)}; the tables are "
                          f"{', '.join(LOAD_ORDER)}, {_EXAMPLE}.")
    checked = []
    for table in [t for t in LOAD_ORDER if t in value]:
        checked += [(table, column, source) for column, source in _table(value[table], table, f"{label}.{table}")]
    return tuple(checked)


def _table(value, table: str, label: str) -> list[tuple[str, str]]:
    """One table's ``{contract column: source column}`` pairs, checked."""
    if value is None:
        return []
    names = [c.name for c in TABLES[table].columns]
    if not isinstance(value, dict):
        raise ConfigError(f"{label}: expected {{contract column: your column}} pairs, e.g. {{{names[0]}: id}}; "
                          f"got {value!r}.")
    pairs, taken = [], {}
    for column, given in value.items():
        if column not in names:
            shown = text_of(column)
            reversed_ = (f"; it looks reversed: the contract's name comes first ({given}: {shown})"
                         if isinstance(given, str) and given in names else "")
            raise ConfigError(f"{label}: {shown!r} is not a column of the contract's {table} table"
                              f"{did_you_mean(shown, names)}{reversed_}. The keys are the contract's names "
                              f"({', '.join(names)}), the values your file's, e.g. {{{names[0]}: id}}; columns outside "
                              f"the contract keep their own names and need no mapping.")
        source = _source(given, f"{label}.{column}")
        if source in taken:
            raise ConfigError(f"{label}: {taken[source]} and {column} both map to {source!r}; one column of the file "
                              f"can be read as one contract column only. Correct one of the two.")
        taken[source] = column
        if source != column:
            pairs.append((column, source))
    return pairs


def _source(value, label: str) -> str:
    """The source's name for a column: text as written (``007`` stays "007"), not empty."""
    if value is None or isinstance(value, (bool, dict, list, tuple, set)) or not isinstance(value, (str, int, float)):
        raise ConfigError(f"{label}: give your file's name for the column as text, e.g. {label.rsplit('.', 1)[-1]}: "
                          f"id; got {value!r}.")
    name = text_of(value)
    if not name.strip():
        raise ConfigError(f"{label}: the name of your file's column is empty; write it, e.g. "
                          f"{label.rsplit('.', 1)[-1]}: id, or leave the column out to read it under its own name.")
    return name


def as_dict(columns: Columns) -> dict[str, dict[str, str]]:
    """``{table: {contract column: source column}}``, as ``gapkit.yml`` writes it (and run.json records it)."""
    out: dict[str, dict[str, str]] = {}
    for table, column, source in columns:
        out.setdefault(table, {})[column] = source
    return out


def source_name(names: Iterable[str], table: str, column: str, columns: Columns, file) -> str:
    """The name ``column`` of ``table`` has among ``names`` (the file's columns) under ``columns``.

    A mapped name the file lacks, or a file that also has a column under the contract's own name
    (which of the two is meant?), is a :class:`~gapkit.errors.ConfigError` naming both and the fix.
    """
    names = list(names)
    mapped = {c: s for t, c, s in columns if t == table}
    if column not in mapped:
        return column
    source = mapped[column]
    if source not in names:
        shown = ", ".join(map(str, names[:30])) + (f", ... ({len(names)} in all)" if len(names) > 30 else "")
        same_but_case = [n for n in names if str(n).lower() == source.lower()]
        hint = f" (did you mean {same_but_case[0]!r}?)" if same_but_case else did_you_mean(source, names)
        fix = (f"the file already has {column}: remove {column} from columns.{table}" if column in names else
               f"correct the name in columns.{table} (names are case-sensitive){hint}")
        raise ConfigError(f"{file}: columns maps {column} to {source!r}, but the file has no column {source!r} "
                          f"(it has: {shown}); {fix}.")
    if column in names and column not in mapped.values():  # a column mapped away is no rival
        raise ConfigError(f"{file}: columns maps {column} to {source!r}, but the file also has a column {column!r}, so "
                          f"it is not clear which is the {column}. Remove {column} from columns.{table} to read "
                          f"{column!r} as it is, or drop or rename one of the two columns in the file.")
    return source


def renames(names: Iterable[str], table: str, columns: Columns, file) -> dict[str, str]:
    """``{source column: contract column}`` for the mapped columns of ``table`` (checked against ``names``)."""
    names = list(names)
    return {source_name(names, table, c, columns, file): c for t, c, _ in columns if t == table}


def rename(raw: dict[str, pd.DataFrame], columns: Columns, files: dict[str, str]) -> dict[str, pd.DataFrame]:
    """Each table of ``raw`` with its mapped columns under the contract's names (a mapped table that
    is not there is no error: every table but orders is optional)."""
    out = dict(raw)
    for table in {t for t, _, _ in columns} & set(raw):
        out[table] = raw[table].rename(columns=renames(raw[table].columns, table, columns, files.get(table, table)))
    return out


def notes(columns: Columns, files: dict[str, str], where: str = "the file") -> list[str]:
    """What was read under which name, per table present, for report 1's notes. ``files`` are
    where each table was read: a file (named without its folder) or a database table's label
    (``postgresql://shop@db/sales#orders``, shown whole: its last part alone says nothing);
    ``where`` is what the source is called ("the file", "the database")."""
    from pathlib import Path

    said = []
    for table in [t for t in LOAD_ORDER if t in files]:
        pairs = [f"{source!r} as {column}" for t, column, source in columns if t == table]
        if pairs:
            shown = files[table] if "://" in files[table] else Path(files[table]).name
            said.append(f"{shown}: read {', '.join(pairs)} (the columns mapping); rejects name the contract's column "
                        f"and, in the reason, {where}'s")
    return said


def in_rejects(rejects: pd.DataFrame, columns: Columns, where: str = "the file") -> pd.DataFrame:
    """``rejects`` with the source's name of a mapped column at the end of each of its reasons
    (``where``: what the source is called, "the file" or "the database")."""
    if not columns or rejects.empty:
        return rejects
    rejects = rejects.copy()
    for table, column, source in columns:
        rows = (rejects["table"] == table) & (rejects["column"] == column)
        if rows.any():
            rejects.loc[rows, "reason"] = rejects.loc[rows, "reason"] + f" (column {source!r} in {where})"
    return rejects
