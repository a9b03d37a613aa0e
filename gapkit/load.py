"""Read a folder of contract tables, check every rule, keep the good rows, quarantine the rest.

Nothing is dropped silently: each input row is either kept or listed in ``data.rejects`` with
the table, row number, column, offending value and the reason; per table,
input rows = kept + rejected, and ``data.counts`` says so.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow
import pyarrow.compute as pc

from gapkit.errors import InputError
from gapkit.schema import (
    BOOLEAN,
    ID,
    INTEGER,
    LOAD_ORDER,
    NUMBER,
    SURVEY_SCORES,
    TABLES,
    TEXT,
    TIMESTAMP,
    Table,
)

log = logging.getLogger("gapkit")

REJECT_COLUMNS = ["table", "row", "column", "value", "reason"]
_TRUE = {"true", "t", "1", "yes", "y", "1.0"}
_FALSE = {"false", "f", "0", "no", "n", "0.0"}


@dataclass(frozen=True)
class Data(Mapping):
    """Validated input: a mapping from table name to the kept rows as a pandas DataFrame.

    ``rejects`` lists every quarantined row (table, row, column, value, reason; ``row`` is the
    1-based data row of the file, so the file line is ``row + 1`` for a CSV with a header) and
    ``counts`` has, per table, input_rows = kept + rejected.

    Examples
    --------
    >>> data = gapkit.load("data/sample")
    >>> data["orders"].shape, len(data.rejects)
    """

    tables: dict[str, pd.DataFrame]
    rejects: pd.DataFrame
    counts: pd.DataFrame
    source: str = ""
    files: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> pd.DataFrame:
        try:
            return self.tables[name]
        except KeyError:
            raise KeyError(
                f"no table '{name}' in {self.source or 'this data'}; present: {sorted(self.tables)}"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.tables)

    def __len__(self) -> int:
        return len(self.tables)

    def __repr__(self) -> str:
        return f"Data from {self.source or '(memory)'}\n{self.counts.to_string(index=False)}"

    def _repr_html_(self) -> str:
        title = html.escape(f"Data from {self.source or '(memory)'}")
        return f"<p><b>{title}</b></p>" + self.counts.to_html(index=False)


def load(path: str | Path, tables: list[str] | None = None) -> Data:
    """Read every contract table found in ``path`` (``<table>.csv`` or ``<table>.parquet``).

    Timestamps are parsed to UTC (naive ones are taken as UTC), every rule of the contract is
    checked, and rows that break one are quarantined in ``data.rejects``.

    Parameters
    ----------
    path : folder holding the tables.
    tables : read only these tables (default: every contract table present).

    Examples
    --------
    >>> data = gapkit.load("data/sample")
    >>> data.counts
    """
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder. Pass the folder that holds orders.csv (or orders.parquet).")
    raw: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    for name in LOAD_ORDER:
        if tables is not None and name not in tables:
            continue
        found = [p for p in (folder / f"{name}.csv", folder / f"{name}.parquet") if p.exists()]
        if len(found) > 1:
            raise InputError(
                f"{folder}: both {found[0].name} and {found[1].name} exist; keep one so it is clear which to read."
            )
        if found:
            files[name] = str(found[0])
            raw[name] = _read(found[0])
            if found[0].suffix == ".csv":
                raw[name] = _typed_missing(raw[name], TABLES[name])
    if "orders" not in raw:
        raise InputError(
            f"{folder}: no orders table. gapkit needs orders.csv or orders.parquet with columns "
            f"{TABLES['orders'].required_columns}; every other table is optional."
        )
    return validate(raw, source=str(folder), files=files)


def _read(file: Path) -> pd.DataFrame:
    if file.suffix == ".parquet":
        return pd.read_parquet(file)
    # Read as text so that a bad value is seen (and quarantined) rather than coerced by guesswork.
    return _read_csv_text(file)


_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # what read_csv(dtype=str) gives in pandas 3


def _read_csv_text(file: Path) -> pd.DataFrame:
    """``pd.read_csv(file, dtype=str)``, read by Arrow's CSV reader (about 2x faster).

    Every column is text and only an empty field is missing, so a segment called "NA" (North
    America) or "None" stays what it says; :func:`_typed_missing` then reads pandas' missing-value
    markers ("NA", "null", "NaN"...) as missing in the contract's number, date and flag columns.
    Anything Arrow's reader
    would treat differently (duplicate or odd header, a parse error) falls back to pandas.
    """
    import csv

    import pyarrow.csv as pa_csv

    try:
        # pandas' private list of NA markers; if a pandas release moves it, read with pandas
        from pandas._libs.parsers import STR_NA_VALUES

        with open(file, newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle))
        if header and len(set(header)) == len(header) and all(header):
            table = pa_csv.read_csv(
                file,
                convert_options=pa_csv.ConvertOptions(
                    column_types={c: pyarrow.string() for c in header},
                    null_values=[""],
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                ),
            )
            if table.column_names == header and all(pyarrow.types.is_string(t) for t in table.schema.types):
                return table.to_pandas(types_mapper=lambda t: _TEXT if pyarrow.types.is_string(t) else None)
    except (ImportError, StopIteration, UnicodeDecodeError, csv.Error, pyarrow.ArrowException, OSError):
        pass
    return pd.read_csv(file, dtype=str, keep_default_na=False, na_values=[""], skipinitialspace=False)


def _typed_missing(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    """Missing-value markers count as missing in typed contract columns, not in text or ids."""
    from pandas._libs.parsers import STR_NA_VALUES

    markers = [m for m in STR_NA_VALUES if m]
    for column in frame.columns:
        spec = table.column(column)
        if spec is not None and spec.kind not in (ID, TEXT):
            frame[column] = frame[column].where(~frame[column].isin(markers))
    return frame


def validate(raw: Mapping[str, pd.DataFrame], source: str = "", files: Mapping[str, str] | None = None) -> Data:
    """Check in-memory tables against the contract; the same rules as :func:`load`.

    Examples
    --------
    >>> data = gapkit.validate(gapkit.sample.generate(n_orders=500))
    """
    files = dict(files or {})
    unknown = sorted(set(raw) - set(TABLES))
    if unknown:
        raise InputError(f"unknown table(s) {unknown}; contract tables are {LOAD_ORDER}.")
    if "orders" not in raw:
        raise InputError(f"{source or 'input'}: no orders table; it is the one required table.")
    kept: dict[str, pd.DataFrame] = {}
    rejects: list[pd.DataFrame] = []
    counts = []
    for name in LOAD_ORDER:
        if name not in raw:
            continue
        spec = TABLES[name]
        label = files.get(name, f"{name} table")
        frame, table_rejects = _validate_table(raw[name], spec, label, kept)
        kept[name] = frame
        n_rejected = table_rejects["row"].nunique() if len(table_rejects) else 0
        counts.append(
            {"table": name, "input_rows": len(raw[name]), "kept": len(frame), "rejected": n_rejected}
        )
        rejects.append(table_rejects)
        if n_rejected:
            log.warning("%s: %d of %d rows rejected (see data.rejects)", label, n_rejected, len(raw[name]))
    all_rejects = pd.concat(rejects, ignore_index=True) if rejects else _empty_rejects()
    counts_frame = pd.DataFrame(counts)
    assert (counts_frame["input_rows"] == counts_frame["kept"] + counts_frame["rejected"]).all()
    log.info("loaded %s:\n%s", source or "tables", counts_frame.to_string(index=False))
    return Data(kept, all_rejects, counts_frame, source=source, files=files)


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else "str") for c in REJECT_COLUMNS})


def _validate_table(
    raw: pd.DataFrame, spec: Table, label: str, parents: Mapping[str, pd.DataFrame]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    missing = [c for c in spec.required_columns if c not in raw.columns]
    if missing:
        expected = ", ".join(f"{c.name} ({c.kind})" for c in spec.columns if c.required)
        raise InputError(
            f"{label}: column(s) {missing} missing. Table '{spec.name}' needs {expected}; "
            f"found {list(raw.columns)}. Rename or add the column(s)."
        )
    frame = raw.reset_index(drop=True).copy()
    row = pd.Series(np.arange(1, len(frame) + 1), index=frame.index)
    problems: list[pd.DataFrame] = []

    def flag(mask: pd.Series, column: str, values: pd.Series, reason) -> None:
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            idx = mask[mask].index
            reasons = reason(idx) if callable(reason) else reason
            problems.append(
                pd.DataFrame(
                    {
                        "table": spec.name,
                        "row": row[idx].to_numpy(),
                        "column": column,
                        "value": values[idx].astype("str").where(values[idx].notna(), "").to_numpy(),
                        "reason": reasons,
                    }
                )
            )

    for col in spec.columns:
        if col.name not in frame.columns:
            continue
        before = frame[col.name]
        parsed = _parse(before, col.kind)
        bad = before.notna() & parsed.isna()
        if col.kind not in (ID, TEXT):
            flag(bad, col.name, before, f"cannot read {before.name} as {_KIND_WORDS[col.kind]}")
        frame[col.name] = parsed

    unreadable = {(p_row - 1, p.iloc[0]["column"]) for p in problems for p_row in p["row"]}
    failures = _pandera_failures(frame, spec)
    for case in failures.itertuples(index=False):
        if (case.index, case.column) in unreadable:
            continue  # already reported as unreadable; "empty" would only repeat it
        idx = pd.Index([case.index])
        flag(pd.Series(True, index=idx), case.column, frame[case.column], case.reason)

    if spec.name == "surveys" and "answered_at" in frame.columns:
        for score in SURVEY_SCORES:
            if score in frame.columns:
                flag(
                    frame[score].notna() & frame["answered_at"].isna(),
                    score,
                    frame[score],
                    f"{score} given but answered_at is empty; set answered_at or clear the score",
                )

    for rule in spec.time_order:
        if rule.later not in frame.columns:
            continue
        if rule.parent is None:
            if rule.earlier not in frame.columns:
                continue
            earlier = frame[rule.earlier]
            where = f"{rule.earlier} of the same row"
        else:
            parent = parents.get(rule.parent)
            if parent is None or rule.earlier not in parent.columns:
                continue
            key = parent.columns[0] if rule.via is None else rule.via
            earlier = _lookup(frame[rule.via], parent[key], parent[rule.earlier])
            where = f"{rule.earlier} of its {rule.parent[:-1]}"
        if rule.whole_days:
            earlier = earlier.dt.floor("D")
        flag(
            frame[rule.later] < earlier,
            rule.later,
            frame[rule.later],
            f"{rule.later} is before {where}; fix the timestamp (or its time zone)",
        )

    for fk in spec.foreign_keys:
        parent = parents.get(fk.parent)
        if parent is None or fk.column not in frame.columns:
            continue
        orphan = frame[fk.column].notna() & ~_isin(frame[fk.column], parent[fk.parent_column])
        flag(
            orphan,
            fk.column,
            frame[fk.column],
            f"{fk.column} not found among the kept rows of {fk.parent} "
            f"(absent there, or rejected); add the {fk.parent[:-1]} or fix the id",
        )

    rejects = pd.concat(problems, ignore_index=True) if problems else _empty_rejects()
    rejects = rejects.sort_values(["row", "column"], kind="stable").reset_index(drop=True)
    bad_rows = set(rejects["row"].tolist())
    keep = ~row.isin(bad_rows)
    return frame[keep].reset_index(drop=True), rejects


def _as_arrow_text(values: pd.Series) -> pyarrow.Array | None:
    """The values as an Arrow string array (ids are text after parsing), or None if not text."""
    if not pd.api.types.is_string_dtype(values.dtype):
        return None
    try:
        array = pyarrow.array(values, from_pandas=True)
    except (pyarrow.ArrowInvalid, pyarrow.ArrowTypeError):
        return None
    if isinstance(array, pyarrow.ChunkedArray):
        array = array.combine_chunks()
    if not (pyarrow.types.is_string(array.type) or pyarrow.types.is_large_string(array.type)):
        return None
    return array.cast(pyarrow.large_string())


def _isin(values: pd.Series, allowed: pd.Series) -> pd.Series:
    """``values.isin(allowed)`` for id columns, in Arrow.

    pandas 3.1's ``isin`` on Arrow-backed strings turns every allowed value into a Python
    object (about a second per million); Arrow's hash lookup does the same in a few ms.
    Missing values are never "in" (callers test them separately).
    """
    child, parent = _as_arrow_text(values), _as_arrow_text(allowed)
    if child is None or parent is None:
        return values.isin(allowed)
    found = pc.is_in(child, value_set=parent, skip_nulls=True).fill_null(False)
    return pd.Series(found.to_numpy(zero_copy_only=False), index=values.index)


def _lookup(keys: pd.Series, parent_keys: pd.Series, parent_values: pd.Series) -> pd.Series:
    """``keys.map(parent_values indexed by parent_keys)``: the parent's value for each key (unique keys)."""
    child, parent = _as_arrow_text(keys), _as_arrow_text(parent_keys)
    if child is None or parent is None:
        return keys.map(pd.Series(parent_values.to_numpy(), index=parent_keys.to_numpy()))
    position = pc.index_in(child, value_set=parent, skip_nulls=True).fill_null(-1)
    taken = parent_values.array.take(position.to_numpy().astype("int64"), allow_fill=True)
    return pd.Series(taken, index=keys.index)


_KIND_WORDS = {
    TIMESTAMP: "a timestamp (ISO 8601 expected, e.g. 2025-06-30T14:05:00Z)",
    NUMBER: "a number",
    INTEGER: "a whole number",
    BOOLEAN: "true/false",
}


def _parse(values: pd.Series, kind: str) -> pd.Series:
    if kind in (ID, TEXT):
        if pd.api.types.is_string_dtype(values.dtype):
            return values
        return values.astype("str").where(values.notna())
    if kind == TIMESTAMP:
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            return values.dt.tz_convert("UTC")
        if pd.api.types.is_datetime64_dtype(values.dtype):
            return values.dt.tz_localize("UTC")
        text = values.astype("str").where(values.notna())
        return pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    if kind in (NUMBER, INTEGER):
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        if kind == INTEGER:
            whole = numbers.notna() & (numbers == np.round(numbers))
            numbers = numbers.where(whole | numbers.isna())
            return numbers.astype("Int64")
        return numbers
    if kind == BOOLEAN:
        if pd.api.types.is_bool_dtype(values.dtype):
            return values.astype("boolean")
        text = values.astype("str").str.strip().str.lower()
        out = pd.Series(pd.NA, index=values.index, dtype="boolean")
        out[text.isin(_TRUE) & values.notna()] = True
        out[text.isin(_FALSE) & values.notna()] = False
        return out
    raise AssertionError(kind)


def _pandera_failures(frame: pd.DataFrame, spec: Table) -> pd.DataFrame:
    """Required values, ranges, allowed values and unique keys, checked by pandera."""
    columns = {}
    for col in spec.columns:
        if col.name not in frame.columns:
            continue
        checks = []
        if col.min is not None:
            checks.append(pa.Check.ge(col.min, error=f"{col.name} must be >= {col.min:g}"))
        if col.max is not None:
            checks.append(pa.Check.le(col.max, error=f"{col.name} must be <= {col.max:g}"))
        if col.allowed:
            checks.append(pa.Check.isin(col.allowed, error=f"{col.name} must be one of {list(col.allowed)}"))
        columns[col.name] = pa.Column(nullable=not col.required, checks=checks)
    unique = [spec.key] if spec.key else None
    schema = pa.DataFrameSchema(columns, unique=unique, report_duplicates="exclude_first")
    try:
        schema.validate(frame, lazy=True)
        return pd.DataFrame(columns=["index", "column", "reason"])
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
    cases = cases[cases["index"].notna()].copy()
    cases["index"] = cases["index"].astype("int64")
    cases["column"] = cases["column"].astype("str")
    first_row = {}
    if spec.key:
        dup = frame[spec.key][frame[spec.key].duplicated(keep=False)]
        first_row = dup.reset_index().drop_duplicates(spec.key).set_index(spec.key)["index"].to_dict()
    reasons = []
    for case in cases.itertuples(index=False):
        check = str(case.check)
        if check == "not_nullable":
            reasons.append(f"{case.column} is required but empty; fill it or remove the row")
        elif "uniqueness" in check:
            first = first_row[frame.at[case.index, spec.key]]
            reasons.append(f"duplicate {spec.key} (first seen in row {first + 1}); the first is kept")
        else:
            reasons.append(check)
    cases["reason"] = reasons
    return cases[["index", "column", "reason"]].drop_duplicates()


def scan(path: str | Path, connection=None) -> dict:
    """Open the Parquet tables of a folder lazily in DuckDB, for data larger than memory.

    Returns a mapping from table name to a DuckDB relation that ``gapkit.kpis(...,
    engine="duckdb")`` reads without loading it into pandas. Unlike :func:`load`, ``scan``
    does not check rows (checking would mean reading everything): use it on tables written by
    ``gapkit.load(...)`` (see :func:`write_parquet`) or otherwise already validated.

    Examples
    --------
    >>> tables = gapkit.scan("warehouse/export")
    >>> gapkit.kpis(tables, as_of="2025-06-30", engine="duckdb")
    """
    from gapkit.kpis import duckdb_connection

    folder = Path(path)
    connection = connection or duckdb_connection()
    relations = {}
    for name in LOAD_ORDER:
        file = folder / f"{name}.parquet"
        if file.exists():
            relations[name] = connection.read_parquet(str(file))
    if "orders" not in relations:
        raise InputError(f"{folder}: no orders.parquet; scan reads Parquet only (use gapkit.load for CSV).")
    return relations


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


def last_complete_day(path: str | Path) -> tuple[str, str]:
    """The last day the orders cover completely, and the latest order time, for a default ``as_of``.

    With times of day, the day of the latest order may still have been under way when the data
    was exported, so it is the day before; with date-only timestamps (all at midnight) it is the
    latest date itself.

    Examples
    --------
    >>> gapkit.load.last_complete_day("data/sample")
    ('2025-06-29', '2025-06-30 20:23:41+00:00')
    """
    folder = Path(path)
    csv, parquet = folder / "orders.csv", folder / "orders.parquet"
    if parquet.exists():
        raw = pd.read_parquet(parquet, columns=["ordered_at"])["ordered_at"]
    elif csv.exists():
        try:
            raw = pd.read_csv(csv, usecols=["ordered_at"], dtype="str")["ordered_at"]
        except ValueError:
            raise InputError(f"{csv}: no ordered_at column; orders need order_id, customer_id, ordered_at.") from None
    else:
        raise InputError(f"{folder}: no orders.csv or orders.parquet.")
    stamps = pd.to_datetime(raw, utc=True, errors="coerce", format="ISO8601").dropna()
    if stamps.empty:
        raise InputError(f"{folder}: no order has a readable ordered_at, so there is no default report date; "
                         "pass --as-of YYYY-MM-DD.")
    latest = stamps.max()
    date_only = bool((stamps == stamps.dt.normalize()).all())
    day = latest.normalize() if date_only else latest.normalize() - pd.Timedelta(days=1)
    return day.date().isoformat(), str(latest)
