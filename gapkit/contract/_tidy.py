"""Text as it is meant, not as it was typed: Unicode NFC, ids and segment values trimmed, and
invisible characters taken out before anything is compared.

`north`, `north ` and `north<zero-width space>`, or "Café" typed and "Café" pasted from a Mac
(NFC and NFD), look identical and were separate segments, so a goal measured part of a segment;
ids `o1` and `o1 ` were both kept. Free text (comments, notes) keeps its inside: only its line
breaks are made one kind and its control characters dropped; what a report shows of it is
cleaned again when published.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.compute as pc

from gapkit.contract._parsing import as_arrow_text, string_layout
from gapkit.contract.schema import ID, TEXT, Table
from gapkit.errors import InputError

#: free-text columns of the contract: their inside is the customer's words, not a category
FREE_TEXT = frozenset({"comment", "description", "note"})
SEGMENT_VALUES = 10_000  # the most distinct values of a column whose case twins are named
_ANSI = r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]"


def tidy_table(frame: pd.DataFrame, spec: Table, label: str) -> tuple[pd.DataFrame, list[str]]:
    """``frame`` with its text columns tidied, and notes counting what changed (per column) and
    naming values of one column that differ only by case."""
    kinds = {c.name: c.kind for c in spec.columns}
    notes, out = [], None
    nested = [c for c in frame.columns if frame[c].dtype == object and _holds_collections(frame[c])]
    if nested:
        needed = [c for c in nested if c in kinds]
        if needed:
            raise InputError(f"{label}: column(s) {needed} hold lists or records; the contract needs one value per "
                             f"row there. Write one value per row (e.g. the first element, or one row per element).")
        frame = frame.drop(columns=nested)
        notes.append(f"{label}: column(s) {nested} hold lists or records and were left out (a segment must be one "
                     f"value per row)")
    for column in [c for c in frame.columns if frame[c].dtype == object and _holds_bytes(frame[c])]:
        # a Parquet binary column (or bytes in memory): its text, not "b'o1'"
        out = frame.copy() if out is None else out
        out[column] = out[column].map(lambda v: v.decode("utf-8", errors="replace") if isinstance(v, bytes) else v)
        notes.append(f"{label}: {column} held bytes; read as UTF-8 text")
    frame = frame if out is None else out
    for column in frame.columns:
        kind = kinds.get(column)
        if kind not in (ID, TEXT, None) or not _is_text(frame[column]):
            continue
        free = column in FREE_TEXT
        segment = not free and kind != ID  # may be a segment: values differing by case are named
        distinct = _distinct(frame[column]) if segment else None
        tidied, changed = tidy(frame[column], free_text=free, distinct=distinct)
        if changed:
            out = frame.copy() if out is None else out
            out[column] = tidied
            what = "line breaks and control characters" if free else "spaces at the ends, invisible characters, NFC"
            notes.append(f"{label}: {changed:,} value(s) of {column} tidied ({what})")
            distinct = _distinct(tidied) if segment else None
        if segment:
            notes.extend(_case_twins(distinct, label, column))
    return (frame if out is None else out), notes


def tidy(values: pd.Series, free_text: bool = False, distinct=None) -> tuple[pd.Series, int]:
    """The values tidied and how many changed; only values that are not plain ASCII without
    spaces at their ends are looked at, so a clean column costs one regular-expression scan.

    ``distinct``: the values' distinct values in Arrow when known, to look at those instead."""
    text = as_arrow_text(values, combine=False)  # Arrow-backed text as it is, without a copy per value
    if text is None:
        text = pyarrow.array(values.astype("str").where(values.notna(), None), type=pyarrow.large_string(),
                             from_pandas=True)
    elif _plain_ascii(distinct if isinstance(distinct, pyarrow.Array) else text):
        return values, 0
    # printable ASCII without a space at either end needs nothing: three vectorised checks, about
    # a third of the time of one regular expression (0.024 s against 0.066 s for 1.5M ids)
    look = pc.or_(pc.invert(pc.ascii_is_printable(text)), pc.or_(pc.starts_with(text, " "), pc.ends_with(text, " ")))
    look = pc.fill_null(look, False)
    if not pc.any(look).as_py():
        return values, 0
    rows = pc.indices_nonzero(look)
    chosen = pc.take(text, rows)
    fixed = pc.utf8_normalize(chosen, "NFC")
    if free_text:
        fixed = pc.replace_substring_regex(fixed, r"\r\n?", "\n")
        fixed = pc.replace_substring_regex(fixed, _ANSI, "")
        fixed = pc.replace_substring_regex(fixed, r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "")
    else:
        fixed = pc.replace_substring_regex(fixed, _ANSI, "")
        fixed = pc.replace_substring_regex(fixed, r"\p{Cc}", " ")
        fixed = pc.replace_substring_regex(fixed, r"\p{Cf}", "")  # zero-width, bidi, byte-order mark
        fixed = pc.utf8_trim_whitespace(fixed)
    # a value that tidies to nothing stays as written: the id check rejects it as blank and the
    # reject shows what the file held
    fixed = pc.if_else(pc.equal(fixed, ""), chosen, fixed)
    differs = pc.fill_null(pc.not_equal(fixed, chosen), False)
    changed = int(pc.sum(differs).as_py() or 0)
    if not changed:
        return values, 0
    out = values.copy() if isinstance(values.dtype, pd.StringDtype) else values.astype("str").where(values.notna())
    positions = rows.to_numpy()
    out.iloc[positions] = pd.array(fixed.to_pylist(), dtype=out.dtype)
    return out, changed


def _plain_ascii(text: pyarrow.Array | pyarrow.ChunkedArray) -> bool:
    """Whether every value is printable ASCII without a space at either end, so that nothing is
    to tidy, read from the bytes: the smallest and largest byte, and each value's first and last
    (a few ms for 1.5M ids, against 0.02-0.03 s for the three checks below)."""
    for chunk in getattr(text, "chunks", [text]):
        offsets, data = string_layout(chunk)
        used = data[offsets[0]:offsets[-1]]
        if len(used) and (used.min() < 0x20 or used.max() > 0x7E):
            return False
        filled = offsets[1:] > offsets[:-1]
        starts, ends = (offsets[:-1], offsets[1:]) if filled.all() else (offsets[:-1][filled], offsets[1:][filled])
        if (data[starts] == 0x20).any() or (data[ends - 1] == 0x20).any():
            return False
    return True


def _holds_bytes(values: pd.Series) -> bool:
    return any(issubclass(k, (bytes, bytearray)) for k in values.dropna().map(type).unique())


def _holds_collections(values: pd.Series) -> bool:
    kinds = values.dropna().map(type).unique()
    return any(issubclass(k, (list, tuple, dict, set, np.ndarray)) for k in kinds)


def _is_text(values: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(values.dtype) or values.dtype == object


def _distinct(values: pd.Series) -> pyarrow.Array | pd.Series | None:
    """The column's distinct values (Arrow's when it holds the text), or None when there are more
    than SEGMENT_VALUES: a column of timestamps, or ids under another name, is no segment."""
    text = as_arrow_text(values, combine=False)
    if text is None:
        distinct = pd.Series(values.dropna().unique())
        return distinct if len(distinct) <= SEGMENT_VALUES else None
    # a first slice with that many says so without hashing the rest (0.15 s for 586k timestamps)
    if len(text) > 4 * SEGMENT_VALUES and len(pc.unique(text.slice(0, 2 * SEGMENT_VALUES))) > SEGMENT_VALUES + 1:
        return None
    distinct = pc.unique(text).drop_null()
    return distinct if len(distinct) <= SEGMENT_VALUES else None


def _case_twins(distinct, label: str, column: str, most: int = 3) -> list[str]:
    """A note naming values that differ only by case ("North" and "north"): kept apart, since
    they may be meant apart, but a person should know before trusting a segment's figures.
    ``distinct``: the column's :func:`_distinct` values."""
    if distinct is None:
        return []
    if isinstance(distinct, pyarrow.Array):
        distinct = pd.Series(distinct.to_pylist())
    if len(distinct) < 2:
        return []
    folded = distinct.astype("str").str.casefold()
    twins = distinct[folded.duplicated(keep=False)]
    if twins.empty:
        return []
    groups = twins.groupby(folded[twins.index]).agg(lambda v: " / ".join(sorted(map(repr, v))))
    shown = "; ".join(groups.head(most))
    more = f" and {len(groups) - most} more" if len(groups) > most else ""
    return [f"{label}: {column} has values that differ only by case ({shown}{more}); they are kept apart, so "
            f"each is its own segment: write them one way if they mean the same"]


def found_but_for_case(keys: pd.Series, orphan: pd.Series, parent_keys: pd.Series):
    """Orphans whose key matches a parent key once case is ignored, with an example, or None."""
    if not orphan.any():
        return None
    lost = keys[orphan].astype("str")
    folded = dict(zip(parent_keys.dropna().astype("str").str.casefold(), parent_keys.dropna().astype("str")))
    match = lost.str.casefold().map(folded)
    if match.isna().all():
        return None
    first = match.first_valid_index()
    mask = pd.Series(False, index=keys.index)
    mask[match.index[match.notna()]] = True
    return mask, f"{lost[first]!r} for {match[first]!r}"


def blank(values: pd.Series) -> pd.Series:
    """Ids that hold only spaces or invisible characters (or nothing): values tidying cannot make
    anything of."""
    text = as_arrow_text(values)
    if text is None:
        return values.notna() & values.astype("str").str.strip().eq("")
    # only values without a letter or digit can be blank: those that begin with one are ruled out
    # by their first byte (ids of letters and digits: all of them, without a pass over the text);
    # a regular expression tells the others, and Python's strip decides for those few
    offsets, data = string_layout(text)
    first = data.take(offsets[:-1], mode="clip") if len(data) else np.zeros(len(text), dtype=np.uint8)
    maybe = ~_ALNUM[first] | (offsets[1:] == offsets[:-1])
    if text.null_count:
        maybe &= text.is_valid().to_numpy(zero_copy_only=False)
    candidates = np.flatnonzero(maybe)
    if len(candidates):
        without_alnum = pc.match_substring_regex(text.take(candidates), r"^[^0-9A-Za-z]*$").fill_null(False)
        candidates = candidates[without_alnum.to_numpy(zero_copy_only=False)]
    out = np.zeros(len(values), dtype=bool)
    if len(candidates):
        # control and invisible characters count as nothing: an id of BEL and ESC is no id
        chosen = values.iloc[candidates].astype("str").str.replace(INVISIBLE, "", regex=True)
        out[candidates] = chosen.str.strip().eq("").to_numpy()
    return pd.Series(out, index=values.index)


_ALNUM = np.zeros(256, dtype=bool)
_ALNUM[[*range(ord("0"), ord("9") + 1), *range(ord("A"), ord("Z") + 1), *range(ord("a"), ord("z") + 1)]] = True
INVISIBLE = r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u061c]"
