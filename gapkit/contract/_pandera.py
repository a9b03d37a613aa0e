"""Required values, ranges, allowed values and unique keys, checked by pandera, each failure
with the rule it broke (gapkit.contract.validation.REJECT_RULES) and a sentence saying why."""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np
import pandas as pd

from gapkit.contract import _parsing as parsing
from gapkit.contract.schema import Table


@contextmanager
def _without_pyspark_pandas_warning():
    """With pyspark installed (gapkit[spark]), pandera imports pyspark.pandas on first use, which
    warns that it does not support pandas 3; gapkit uses Spark DataFrames, never pyspark.pandas."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
        yield


def _pandera_failures(frame: pd.DataFrame, spec: Table, records: np.ndarray | None = None) -> pd.DataFrame:
    """Required values, ranges, allowed values and unique keys, checked by pandera.

    ``records``: the file's data-row number of each frame row (they differ from position + 1 when
    malformed lines were set aside), for the "first seen in row" of a repeated key.
    """
    records = np.arange(1, len(frame) + 1) if records is None else np.asarray(records)
    with _without_pyspark_pandas_warning():
        import pandera.pandas as pa  # imported here: `import gapkit` stays quick
    columns, rule_of = {}, {}
    for col in spec.columns:
        if col.name not in frame.columns:
            continue
        checks = []
        if col.min is not None:
            checks.append(pa.Check.ge(col.min, error=f"{col.name} must be >= {col.min:g}"))
            rule_of[checks[-1].error] = "below_minimum"
        if col.max is not None:
            checks.append(pa.Check.le(col.max, error=f"{col.name} must be <= {col.max:g}"))
            rule_of[checks[-1].error] = "above_maximum"
        if col.allowed:
            checks.append(pa.Check.isin(col.allowed, error=f"{col.name} must be one of {list(col.allowed)}"))
            rule_of[checks[-1].error] = "not_allowed"
        columns[col.name] = pa.Column(nullable=not col.required, checks=checks)
    # repeated keys are found in Arrow when the keys are text there (pandas' duplicated on Arrow
    # strings took most of the load's checking time); the reason is the one pandera's case gets
    repeated = parsing.repeated(frame[spec.key]) if spec.key else None
    case_columns = ["index", "column", "rule", "reason", "first"]
    arrow_cases = pd.DataFrame(columns=case_columns)
    if repeated is not None:
        rows, firsts = repeated
        arrow_cases = pd.DataFrame({"index": rows.astype("int64"), "column": spec.key, "rule": "duplicate_key",
                                    "reason": [f"duplicate {spec.key} (first seen in row {records[first]}); "
                                               f"the first is kept" for first in firsts],
                                    "first": records[np.asarray(firsts, dtype="int64")].astype("float64")})
    unique = [spec.key] if spec.key and repeated is None else None
    schema = pa.DataFrameSchema(columns, unique=unique, report_duplicates="exclude_first")
    try:
        with _without_pyspark_pandas_warning():
            schema.validate(frame, lazy=True)
        return arrow_cases
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
    cases = cases[cases["index"].notna()].copy()
    cases["index"] = cases["index"].astype("int64")
    cases["column"] = cases["column"].astype("str")
    first_row = {}
    if unique and cases["check"].astype("str").str.contains("uniqueness").any():
        dup = frame[spec.key][frame[spec.key].duplicated(keep=False)]
        first_row = dup.reset_index().drop_duplicates(spec.key).set_index(spec.key)["index"].to_dict()
    reasons, rules, firsts = [], [], []
    for case in cases.itertuples(index=False):
        check, first = str(case.check), np.nan
        if check == "not_nullable":
            rule, reason = "required", f"{case.column} is required but empty; fill it or remove the row"
        elif "uniqueness" in check:
            first = records[first_row[frame.at[case.index, spec.key]]]
            rule, reason = "duplicate_key", f"duplicate {spec.key} (first seen in row {first}); the first is kept"
        else:
            rule, reason = rule_of.get(check, "check"), check
        reasons.append(reason)
        rules.append(rule)
        firsts.append(first)
    cases["reason"], cases["rule"], cases["first"] = reasons, rules, firsts
    cases = pd.concat([cases[case_columns], arrow_cases], ignore_index=True) if len(arrow_cases) \
        else cases[case_columns]
    return cases.drop_duplicates(["index", "column", "rule", "reason"])
