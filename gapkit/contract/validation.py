"""Check tables against the contract: keep the rows that follow every rule, quarantine the rest.

Each input row is either kept or listed in ``Data.rejects`` with the table, row number, file
line, column, the value as given and the reason; per table, input rows = kept + rejected, and
``Data.counts`` says so. :func:`gapkit.load` reads files into this; :func:`validate` takes
tables already in memory."""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow

from gapkit.contract import _parsing as parsing
from gapkit.contract._pandera import _pandera_failures
from gapkit.contract._tidy import blank, found_but_for_case, tidy_table
from gapkit.contract.schema import (
    EARLIEST,
    ID,
    INTEGER,
    KIND_WORDS,
    LOAD_ORDER,
    NUMBER,
    PLACEHOLDER_YEAR,
    REJECT_RULES,  # noqa: F401 - still gapkit.validation.REJECT_RULES
    SURVEY_SCORES,
    TABLES,
    TEXT,
    TIMESTAMP,
    Table,
)
from gapkit.errors import InputError

log = logging.getLogger("gapkit")

REJECT_COLUMNS = ["table", "row", "column", "value", "reason", "rule", "line"]


@dataclass(frozen=True)
class Data(Mapping):
    """Validated input: a mapping from table name to the kept rows as a pandas DataFrame.

    ``rejects`` lists every quarantined row (table, row, column, value, reason; ``row`` is the
    1-based data row of the file, so the file line is ``row + 1`` for a CSV with a header) and
    ``counts`` has, per table, input_rows = kept + rejected.

    Examples
    --------
    >>> data = gapkit.datasets.sample()
    >>> data["orders"].shape, len(data.rejects)
    ((4000, 8), 8)
    """

    tables: dict[str, pd.DataFrame]
    rejects: pd.DataFrame
    counts: pd.DataFrame
    source: str = ""
    files: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # how the files were read, and files in the folder that were not

    def __getitem__(self, name: str) -> pd.DataFrame:
        try:
            return self.tables[name]
        except KeyError:
            shown = self.source or "this data"
            raise KeyError(f"no table '{name}' in {shown}; present: {sorted(self.tables)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.tables)

    def __contains__(self, name: object) -> bool:  # Mapping's would read a stored table to answer
        return name in self.tables

    def __len__(self) -> int:
        return len(self.tables)

    def __repr__(self) -> str:
        return f"Data from {self.source or '(memory)'}\n{self.counts.to_string(index=False)}"

    def _repr_html_(self) -> str:
        title = html.escape(f"Data from {self.source or '(memory)'}")
        return f"<p><b>{title}</b></p>" + self.counts.to_html(index=False)


def validate(raw: Mapping[str, pd.DataFrame], source: str = "", files: Mapping[str, str] | None = None,
             positions: Mapping[str, tuple] | None = None, malformed: Mapping[str, tuple] | None = None,
             earliest: str = EARLIEST, notes=()) -> Data:
    """Check in-memory tables against the contract; the same rules as :func:`load`.

    Timestamps before ``earliest`` or from the year 2200 on are rejected as placeholders, and
    so are timestamps later than the orders' own span allows: the median order time plus six
    median absolute deviations of the order times, and at least two years.

    ``positions`` (record numbers and file lines per table) and ``malformed`` (lines that were
    not records) come from reading CSV files; without them row n is the n-th row.

    Examples
    --------
    >>> data = gapkit.validate(gapkit.sample.generate(n_orders=500))
    """
    files = dict(files or {})
    positions, malformed = dict(positions or {}), dict(malformed or {})
    try:
        floor = pd.Timestamp(str(earliest), tz="UTC")
    except (ValueError, TypeError):
        raise InputError(f"earliest = {earliest!r} is not a date; write YYYY-MM-DD.") from None
    unknown = sorted(set(raw) - set(TABLES))
    if unknown:
        raise InputError(f"unknown table(s) {unknown}; contract tables are {LOAD_ORDER}.")
    if "orders" not in raw:
        raise InputError(f"{source or 'input'}: no orders table; it is the one required table.")
    raw, notes = dict(raw), list(notes)
    for name in [n for n in LOAD_ORDER if n in raw]:  # before any table's keys are looked up in another
        raw[name], tidied = tidy_table(raw[name], TABLES[name], files.get(name, f"{name} table"))
        notes.extend(tidied)
    kept: dict[str, pd.DataFrame] = {}
    rejects: list[pd.DataFrame] = []
    counts = []
    horizon_of_kept_orders = None  # the same for every table after orders: computed once
    found_in_parents: dict[str, dict] = {}  # table -> its keys' positions among its parents' kept rows
    for name in LOAD_ORDER:
        if name not in raw:
            continue
        spec = TABLES[name]
        label = files.get(name, f"{name} table")
        known = {}  # the orders' times are read once, for their span and for their checks
        if name == "orders" and "ordered_at" in raw[name]:
            known["ordered_at"] = parsing.read(raw[name]["ordered_at"], TIMESTAMP)
        if "orders" not in kept:
            horizon = _horizon(None, known["ordered_at"][1] if known else None, floor)
        else:
            if horizon_of_kept_orders is None:
                horizon_of_kept_orders = _horizon(kept["orders"], None, floor)
            horizon = horizon_of_kept_orders
        window = (floor, horizon)
        frame, table_rejects = _validate_table(raw[name], spec, label, kept, positions.get(name),
                                               malformed.get(name, ()), window, found_in_parents.get(name), known)
        kept[name] = frame
        if name == "orders" and len(frame) == len(raw[name]):  # no order rejected: their span as read
            horizon_of_kept_orders = horizon
        for child, found in _keys_in_parent(name, frame, raw).items():
            found_in_parents.setdefault(child, {}).update(found)
        n_rejected = table_rejects["row"].nunique() if len(table_rejects) else 0
        counts.append(
            {"table": name, "input_rows": len(raw[name]) + len(malformed.get(name, ())), "kept": len(frame),
             "rejected": n_rejected}
        )
        rejects.append(table_rejects)
        if n_rejected:
            log.warning("%s: %d of %d rows rejected (see data.rejects)", label, n_rejected, len(raw[name]))
    all_rejects = pd.concat(rejects, ignore_index=True) if rejects else _empty_rejects()
    counts_frame = pd.DataFrame(counts)
    assert (counts_frame["input_rows"] == counts_frame["kept"] + counts_frame["rejected"]).all()
    log.info("loaded %s:\n%s", source or "tables", counts_frame.to_string(index=False))
    return Data(kept, all_rejects, counts_frame, source=source, files=files, notes=tuple(notes))


def _keys_in_parent(parent: str, kept_rows: pd.DataFrame, raw: Mapping[str, pd.DataFrame]) -> dict[str, dict]:
    """Where the keys of every later table that refer to ``parent`` are among its kept rows.

    One Arrow lookup for all of them, so the parent's keys are hashed once rather than once per
    referring column. The child's key as given is as good as the parsed one: parsing leaves an id
    as it is, except that a blank id becomes missing, and neither is among a parent's kept keys.
    Returns ``{table: {(column, parent, parent column): positions (-1: absent)}}``.
    """
    wanted: dict[str, list[tuple[str, str]]] = {}  # parent column -> [(table, column)]
    for child in LOAD_ORDER[LOAD_ORDER.index(parent) + 1:]:
        if child not in raw:
            continue
        spec = TABLES[child]
        refs = {(fk.column, fk.parent_column) for fk in spec.foreign_keys if fk.parent == parent}
        refs |= {(rule.via, rule.via) for rule in spec.time_order if rule.parent == parent and rule.via}
        for column, parent_column in sorted(refs):
            if column in raw[child].columns and parent_column in kept_rows.columns:
                wanted.setdefault(parent_column, []).append((child, column))
    found: dict[str, dict] = {}
    for parent_column, refs in wanted.items():
        texts = [(ref, parsing.as_arrow_text(raw[ref[0]][ref[1]], combine=False)) for ref in refs]
        texts = [(ref, text) for ref, text in texts if text is not None]
        if not texts:
            continue
        # the chunks side by side (not copied into one array): one lookup, one hash of the parent's keys
        chunks = [chunk for _, text in texts for chunk in getattr(text, "chunks", [text])]
        keys = pyarrow.chunked_array(chunks, type=pyarrow.large_string())
        where = parsing.key_positions(keys, kept_rows[parent_column])
        if where is None:
            continue
        start = 0
        for (child, column), text in texts:
            found.setdefault(child, {})[column, parent, parent_column] = where[start:start + len(text)]
            start += len(text)
    return found


def _horizon(orders: pd.DataFrame | None, read_times: pd.Series | None, floor: pd.Timestamp) -> pd.Timestamp:
    """The latest plausible timestamp: far enough past the orders' span to allow slow events.

    ``read_times``: the orders' ordered_at as read (by parsing.read: markers and blanks, which it
    sets aside, are no timestamps to parse() either), when no orders are kept yet."""
    limit = pd.Timestamp(f"{PLACEHOLDER_YEAR}-01-01", tz="UTC")
    if orders is not None and "ordered_at" in orders:
        stamps = orders["ordered_at"]
    elif read_times is not None:
        stamps = read_times
    else:
        return limit
    stamps = stamps[(stamps >= floor) & (stamps < limit)].dropna()
    if stamps.empty:
        return limit
    # robust to a few placeholder dates: six median absolute deviations past the median (for
    # orders spread evenly over a span S, the end of the data plus S), and at least two years
    middle = stamps.median()
    spread = (stamps - middle).abs().median()
    return min(middle + max(6 * spread, pd.Timedelta(days=730)), limit)


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("row", "line") else "str") for c in REJECT_COLUMNS})


def _validate_table(
    raw: pd.DataFrame, spec: Table, label: str, parents: Mapping[str, pd.DataFrame], position=None,
    malformed=(), window=(None, None), found_in_parents=None, known=None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    _require_columns(raw, spec, label)
    frame = raw.reset_index(drop=True).copy()
    for col in spec.columns:  # ids are handed to Arrow several times; other text columns stay as read
        if col.kind == ID and col.name in frame.columns:
            frame[col.name] = parsing.one_chunk(frame[col.name])
    flags = _Flags(spec.name, frame, position)
    for record, at, text, fields, *quote_runs_to in malformed:
        flags.malformed_line(record, at, text, fields, len(raw.columns), *quote_runs_to)
    _read_values(frame, spec, flags, window, known or {})
    unreadable = flags.flagged_cells()
    for case in _rule_failures(frame, spec, flags.row.to_numpy()).itertuples(index=False):
        if (case.index, case.column) not in unreadable:  # "empty" would only repeat "cannot read"
            flags.flag(pd.Series(True, index=pd.Index([case.index])), case.column, frame[case.column], case.rule,
                       case.reason, case.first)
    if spec.name == "surveys" and "answered_at" in frame.columns:
        for score in [s for s in SURVEY_SCORES if s in frame.columns]:
            flags.flag(frame[score].notna() & frame["answered_at"].isna(), score, frame[score], "score_without_answer",
                       f"{score} given but answered_at is empty; set answered_at or clear the score")
    _check_links(frame, spec, parents, flags, dict(found_in_parents or {}))
    rejects = flags.rejects()
    if rejects.empty:
        return frame, rejects  # already indexed 0..n-1; selecting every row would copy every column
    return frame[~flags.row.isin(set(rejects["row"]))].reset_index(drop=True), rejects


def _rule_failures(frame: pd.DataFrame, spec: Table, records: np.ndarray) -> pd.DataFrame:
    """:func:`_pandera_failures` (required values, ranges, allowed values, unique keys). When no
    value breaks a column's rule (seen here in a few vectorised passes), pandera is handed the
    key column alone, for the same repeated keys (0.09 s of checks at 1M orders not run again)."""
    for col in [c for c in spec.columns if c.name in frame.columns]:
        values, ranged = frame[col.name], col.min is not None or col.max is not None
        if col.allowed or (col.required and values.isna().any()) or (
                ranged and values.dtype not in (np.dtype("float64"), pd.Int64Dtype())):
            return _pandera_failures(frame, spec, records)
        if (col.min is not None and (values < col.min).any()) or (col.max is not None and (values > col.max).any()):
            return _pandera_failures(frame, spec, records)
    return _pandera_failures(frame[[spec.key] if spec.key else []], spec, records)


def _require_columns(raw: pd.DataFrame, spec: Table, label: str) -> None:
    missing = [c for c in spec.required_columns if c not in raw.columns]
    if not missing:
        return
    expected = ", ".join(f"{c.name} ({c.kind})" for c in spec.columns if c.required)
    hint = ""
    if len(raw.columns) == 1 and any(ch in str(raw.columns[0]) for ch in "|:/ "):
        hint = (" The header was read as one column: gapkit reads commas, semicolons or tabs between values; "
                "export with one of those.")
    raise InputError(
        f"{label}: column(s) {missing} missing. Table '{spec.name}' needs {expected}; "
        f"found {list(raw.columns)}. Rename or add the column(s).{hint}"
    )


class _Flags:
    """The rejects of one table as they are found: which row, column, rule and why, with the
    value as the file holds it ("-25", not the parsed -25.0; "NA", not an empty value)."""

    def __init__(self, table: str, frame: pd.DataFrame, position):
        self.table, self.original, self.problems = table, frame.copy(), []
        records, lines = position if position is not None else (np.arange(1, len(frame) + 1), None)
        self.row = pd.Series(np.asarray(records, dtype="int64"), index=frame.index)
        self.line = pd.Series(np.asarray(lines, dtype="int64"), index=frame.index) if lines is not None else None

    def flag(self, mask: pd.Series, column: str, values: pd.Series, rule: str, reason, first=None) -> None:
        if mask.dtype == bool and not mask.to_numpy().any():
            return  # the common case, without a copy of the mask
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        idx = mask[mask].index
        shown = self.original[column] if column in self.original.columns else values
        self.problems.append(pd.DataFrame({
            "table": self.table, "row": self.row[idx].to_numpy(), "column": column,
            "value": parsing.as_text(shown[idx]), "rule": rule,
            "reason": reason(idx) if callable(reason) else reason,
            "line": self.line[idx].to_numpy() if self.line is not None else pd.array([pd.NA] * len(idx), dtype="Int64"),
            "_first": first if first is not None else np.nan,
        }))

    def malformed_line(self, record: int, at: int, text: str, fields: int, width: int,
                       quote_runs_to: int | None = None) -> None:
        if quote_runs_to is not None:
            rule, reason = "open_quote", (
                f"a quote opened on line {at} runs on to line {quote_runs_to} over lines that are "
                f"records of their own: this line is set aside and the lines after it are read as records; close "
                f"the quote (a quote inside a quoted value is written twice: \"\")")
        else:
            rule, reason = "malformed_line", f"line {at} has {fields} field(s) where the header has {width}; " + (
                "a value that holds the delimiter must be in double quotes" if fields > width else
                "every column needs a field, even an empty one")
        self.problems.append(pd.DataFrame({
            "table": [self.table], "row": [record], "column": [""], "value": [text], "rule": [rule],
            "reason": [reason], "line": pd.array([at], dtype="Int64")}))

    def flagged_cells(self) -> set:
        index_of = dict(zip(self.row.to_numpy(), self.row.index)) if self.problems else {}
        return {(index_of.get(r), column) for p in self.problems for r, column in zip(p["row"], p["column"])}

    def rejects(self) -> pd.DataFrame:
        rejects = pd.concat(self.problems, ignore_index=True) if self.problems else _empty_rejects()
        rejects = rejects.sort_values(["row", "column"], kind="stable").reset_index(drop=True)
        rejects["line"] = rejects["line"].astype("Int64")
        # "the first is kept" only when it is: a first copy that broke another rule is rejected too
        first = rejects.pop("_first") if "_first" in rejects else pd.Series(np.nan, index=rejects.index)
        gone = first.notna() & first.astype("float").isin([float(r) for r in set(rejects["row"].tolist())])
        if gone.any():
            rejects.loc[gone, "reason"] = rejects.loc[gone, "reason"].str.replace(
                "the first is kept", "that row is rejected too, so neither copy is kept", regex=False)
        return rejects


#: timestamps that are plans, not events: a late one is no placeholder until PLACEHOLDER_YEAR
PLANS = frozenset({("orders", "promised_at"), ("interventions", "end_at")})


def _read_values(frame: pd.DataFrame, spec: Table, flags: _Flags, window, known: dict) -> None:
    """Parse every contract column in place; flag what cannot be read or is a placeholder.

    ``known``: columns already read (``parsing.read``'s given and parsed), by name."""
    floor = window[0]
    for col in [c for c in spec.columns if c.name in frame.columns]:
        before, kind_words = frame[col.name], KIND_WORDS.get(col.kind, col.kind)
        if col.kind in (NUMBER, INTEGER) and pd.api.types.is_bool_dtype(before.dtype):
            flags.flag(before.notna(), col.name, before, "boolean_in_number",
                       f"{col.name} holds true/false, not {kind_words}; store it as a number")
            frame[col.name] = pd.Series(np.nan, index=frame.index, dtype="float64")
            continue
        if col.name in known:
            given, parsed = (values.set_axis(frame.index) for values in known[col.name])
        elif col.kind in (ID, TEXT):
            given, parsed = before.notna(), parsing.parse(before, col.kind)
        else:
            given, parsed = parsing.read(before, col.kind)
        bad = given & parsed.isna()
        if col.kind in (NUMBER, INTEGER) and bad.any():
            unread = parsing.typed_missing(before[bad])
            huge = pd.to_numeric(unread, errors="coerce").abs().eq(np.inf).reindex(before.index, fill_value=False)
            flags.flag(huge, col.name, before, "infinite", f"{col.name} is infinite or too large to be {kind_words}")
            bad &= ~huge
        if col.kind == ID:
            blank_ids = blank(before)
            flags.flag(blank_ids, col.name, before, "blank_id",
                       f"{col.name} is blank (only spaces or invisible characters); give the id or remove the row")
            parsed = parsed.where(~blank_ids) if blank_ids.any() else parsed  # a copy of every id otherwise
        elif col.kind not in (TEXT,):
            flags.flag(bad, col.name, before, "unreadable", f"cannot read {before.name} as {kind_words}")
        if col.kind == TIMESTAMP and floor is not None:
            parsed = _placeholders(parsed, before, spec, col.name, flags, window)
        frame[col.name] = parsed


def _placeholders(parsed: pd.Series, before: pd.Series, spec: Table, column: str, flags: _Flags, window) -> pd.Series:
    """``parsed`` without its placeholder dates (before ``earliest``, after the span), flagged."""
    floor, plan = window[0], (spec.name, column) in PLANS
    # a promise or a planned end may lie years ahead (a city's target date three years out is
    # real); only a year no plan reaches is a placeholder
    ceiling = pd.Timestamp(f"{PLACEHOLDER_YEAR}-01-01", tz="UTC") if plan else window[1]
    first, last = parsed.min(), parsed.max()  # within the window: nothing to flag, nothing to blank
    if pd.notna(first) and first >= floor and (ceiling is None or last < ceiling):
        return parsed
    early = parsed.notna() & (parsed < floor)
    late = parsed.notna() & (parsed >= ceiling) if ceiling is not None else early & False
    flags.flag(early, column, before, "before_earliest",
               f"{column} is before {floor.date()}, a placeholder date rather than an event (change "
               f"`earliest` if the data really goes back that far)")
    flags.flag(late, column, before, "after_span",
               (f"{column} is in {PLACEHOLDER_YEAR} or later" if plan else
                f"{column} is later than the orders' span allows ({ceiling.date()})") +
               f"; a placeholder date such as 9999-12-31 rather than {'a plan' if plan else 'an event'}. The "
               f"row is set aside whole: fix or clear the date to keep it")
    return parsed.where(~(early | late))


def _check_links(frame: pd.DataFrame, spec: Table, parents: Mapping[str, pd.DataFrame], flags: _Flags,
                 found_in_parent: dict) -> None:
    """Events in time order (after the event they follow) and ids among their parent's kept rows.

    ``found_in_parent``: keys already looked up in their parent (see _keys_in_parent); a key
    looked up for the time order is not looked up again for the foreign key.
    """
    for rule in spec.time_order:
        if rule.later not in frame.columns:
            continue
        if rule.parent is None:
            if rule.earlier not in frame.columns:
                continue
            earlier, where = frame[rule.earlier], f"{rule.earlier} of the same row"
        else:
            parent = parents.get(rule.parent)
            if parent is None or rule.earlier not in parent.columns:
                continue
            key = parent.columns[0] if rule.via is None else rule.via
            if (rule.via, rule.parent, key) not in found_in_parent:
                found_in_parent[rule.via, rule.parent, key] = parsing.positions(frame[rule.via], parent[key])
            earlier = parsing.lookup(frame[rule.via], parent[key], parent[rule.earlier],
                                     found_in_parent[rule.via, rule.parent, key])
            where = f"{rule.earlier} of its {rule.parent[:-1]}"
        early = frame[rule.later] < earlier
        if rule.whole_days and early.any():  # before the start of the day only if before the instant
            early = frame[rule.later] < earlier.dt.floor("D")
        flags.flag(early, rule.later, frame[rule.later], "time_order",
                   f"{rule.later} is before {where}; fix the timestamp (or its time zone)")
    for fk in spec.foreign_keys:
        parent = parents.get(fk.parent)
        if parent is None or fk.column not in frame.columns:
            continue
        found = found_in_parent.get((fk.column, fk.parent, fk.parent_column))
        known = pd.Series(found >= 0, index=frame.index) if found is not None else None
        orphan = frame[fk.column].notna() & ~(known if known is not None else
                                              parsing.isin(frame[fk.column], parent[fk.parent_column]))
        cased = found_but_for_case(frame[fk.column], orphan, parent[fk.parent_column])
        if cased is not None:
            mask, example = cased
            flags.flag(mask, fk.column, frame[fk.column], "unknown_parent",
                       f"{fk.column} not found among the kept rows of {fk.parent}, but an id that differs only by case "
                       f"is there (e.g. {example}); ids must match exactly: write them one way")
            orphan &= ~mask
        flags.flag(orphan, fk.column, frame[fk.column], "unknown_parent",
                   f"{fk.column} not found among the kept rows of {fk.parent} "
                   f"(absent there, or rejected); add the {fk.parent[:-1]} or fix the id")
