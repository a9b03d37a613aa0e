"""Reading one column's raw values as the contract's kind: ids, text, numbers, flags, timestamps.

Pure functions over pandas Series (Arrow where it is faster); :mod:`gapkit.validation` decides
what a value that cannot be read means for its row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow
import pyarrow.compute as pc

from gapkit.schema import BOOLEAN, ID, INTEGER, NUMBER, TEXT, TIMESTAMP

TRUE_WORDS = {"true", "t", "1", "yes", "y", "1.0"}
FALSE_WORDS = {"false", "f", "0", "no", "n", "0.0"}


def typed_missing(values: pd.Series) -> pd.Series:
    """In a number, date or flag column given as text, pandas' missing-value markers ("NA",
    "null", "NaN"...) and empty or blank text are missing; in text and id columns they are values."""
    from pandas._libs.parsers import STR_NA_VALUES

    if not (pd.api.types.is_string_dtype(values.dtype) or values.dtype == object):
        return values
    text = values.astype("str")
    marker = text.isin([m for m in STR_NA_VALUES if m]) | text.str.strip().eq("")
    return values.where(~(marker & values.notna()))


def as_arrow_text(values: pd.Series) -> pyarrow.Array | None:
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


def isin(values: pd.Series, allowed: pd.Series) -> pd.Series:
    """``values.isin(allowed)`` for id columns, in Arrow.

    pandas 3.1's ``isin`` on Arrow-backed strings turns every allowed value into a Python
    object (about a second per million); Arrow's hash lookup does the same in a few ms.
    Missing values are never "in" (callers test them separately).
    """
    child, parent = as_arrow_text(values), as_arrow_text(allowed)
    if child is None or parent is None:
        return values.isin(allowed)
    found = pc.is_in(child, value_set=parent, skip_nulls=True).fill_null(False)
    return pd.Series(found.to_numpy(zero_copy_only=False), index=values.index)


def lookup(keys: pd.Series, parent_keys: pd.Series, parent_values: pd.Series) -> pd.Series:
    """``keys.map(parent_values indexed by parent_keys)``: the parent's value for each key (unique keys)."""
    child, parent = as_arrow_text(keys), as_arrow_text(parent_keys)
    if child is None or parent is None:
        return keys.map(pd.Series(parent_values.to_numpy(), index=parent_keys.to_numpy()))
    position = pc.index_in(child, value_set=parent, skip_nulls=True).fill_null(-1)
    taken = parent_values.array.take(position.to_numpy().astype("int64"), allow_fill=True)
    return pd.Series(taken, index=keys.index)


KIND_WORDS = {
    TIMESTAMP: "a timestamp (ISO 8601 expected, e.g. 2025-06-30T14:05:00Z)",
    NUMBER: "a number",
    INTEGER: "a whole number",
    BOOLEAN: "true/false",
}


def as_text(values: pd.Series) -> np.ndarray:
    """Values as the file held them; a whole float from a Parquet column without its ".0"."""
    if pd.api.types.is_float_dtype(values.dtype):
        finite = values.notna() & np.isfinite(values.astype("float64")) & (values == np.round(values)) \
            & (values.abs() < 2**53)
        text = values.astype("str").where(~finite, values.where(finite).astype("Int64").astype("str"))
    else:
        text = values.astype("str")
    return text.where(values.notna(), "").to_numpy()


def parse(values: pd.Series, kind: str) -> pd.Series:
    if kind in (ID, TEXT):
        if pd.api.types.is_string_dtype(values.dtype):
            return values
        if kind == ID and pd.api.types.is_float_dtype(values.dtype):
            # a Parquet column of float ids (199.0) means the same customer as the CSV's 199
            return pd.Series(as_text(values), index=values.index).where(values.notna())
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
        numbers = numbers.where(np.isfinite(numbers))  # inf, Infinity, 1e400: not a measurement
        if kind == INTEGER:
            whole = numbers.notna() & (numbers == np.round(numbers)) & (numbers.abs() < 2**53)
            numbers = numbers.where(whole)
            return numbers.astype("Int64")
        return numbers
    if kind == BOOLEAN:
        if pd.api.types.is_bool_dtype(values.dtype):
            return values.astype("boolean")
        text = values.astype("str").str.strip().str.lower()
        out = pd.Series(pd.NA, index=values.index, dtype="boolean")
        out[text.isin(TRUE_WORDS) & values.notna()] = True
        out[text.isin(FALSE_WORDS) & values.notna()] = False
        return out
    raise AssertionError(kind)
