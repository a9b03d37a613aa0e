"""The KPI history across runs: each ``gapkit run`` adds its KPI table to ``history.parquet``
beside the report folders (one run per as_of: a re-run replaces it), so revisions of past months
(late surveys, tickets closed later) show when runs are compared.

Examples
--------
>>> gapkit.history("reports").head()
Empty DataFrame
...
"""


import uuid
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from gapkit.contract.artifacts import HISTORY
from gapkit.errors import InputError
from gapkit.measure.engine import KPI_COLUMNS


def history_path(report_folder: str | Path) -> Path:
    """Where the history of a report folder lives: ``history.parquet`` beside it."""
    return Path(report_folder).resolve().parent / HISTORY


def append_history(kpi_table: pd.DataFrame, as_of: str, path: str | Path) -> pd.DataFrame:
    """Add one run's KPI table to the history at ``path``; a run with the same as_of is replaced.

    Returns the whole history. Runs sharing the file append one at a time (a file lock), and
    the file is written to a temporary name and renamed, so a killed run cannot leave half a file.
    """
    from gapkit.pipeline.report_folder import history_lock

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with history_lock(path):
        combined, temporary = write_history_aside(kpi_table, as_of, path)
        temporary.replace(path)
    return combined


def write_history_aside(kpi_table: pd.DataFrame, as_of: str, path: Path) -> tuple[pd.DataFrame, Path]:
    """The history at ``path`` with this run added, and a temporary file beside it holding it.

    Call under :func:`gapkit.report_folder.history_lock`; renaming the file over ``path`` is the
    caller's step (``gapkit run`` does it together with publishing the report).
    """
    run = kpi_table[[c for c in KPI_COLUMNS if c in kpi_table.columns]].copy()
    run["as_of"] = str(pd.Timestamp(as_of).date())
    run["run_id"] = uuid.uuid4().hex[:12]
    past = history(path)
    if len(past):
        past = past[past["as_of"] != run["as_of"].iloc[0]] if len(run) else past
    combined = pd.concat([past, run], ignore_index=True) if len(past) else run
    combined = combined.sort_values(["as_of", "kpi", "segment_by", "segment", "period"], kind="stable")
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    try:
        combined.to_parquet(temporary, index=False)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return combined.reset_index(drop=True), temporary


def history(path: str | Path) -> pd.DataFrame:
    """The KPI history: the kpis.csv columns plus ``as_of`` and ``run_id``, one block per run.

    ``path`` is ``history.parquet`` or the folder holding it; no history yet gives an empty table.

    Examples
    --------
    >>> gapkit.history("reports")
    Empty DataFrame
    ...
    """
    path = Path(path)
    if path.is_dir():
        path = path / HISTORY
    if not path.exists():
        return pd.DataFrame(columns=[*KPI_COLUMNS, "as_of", "run_id"])
    try:
        return pd.read_parquet(path)
    except Exception as error:  # pyarrow raises several kinds for a damaged file
        raise InputError(f"{path}: the run history cannot be read ({type(error).__name__}); move it aside and "
                         f"the next run starts a new one") from None


def revisions(past: pd.DataFrame, kpi_table: pd.DataFrame, as_of: str,
              kpis: Sequence[str] | None = None) -> pd.DataFrame:
    """Each headline KPI's monthly values as each past run saw them, beside this run's.

    One row per kpi x month (everyone), a column per run's as_of, and ``revised`` (the largest
    absolute change between runs): late surveys or tickets closed later move past months.
    """
    now = kpi_table.assign(as_of=str(pd.Timestamp(as_of).date()))
    frames = [past[past["as_of"] != now["as_of"].iloc[0]], now] if len(past) else [now]
    combined = pd.concat(frames, ignore_index=True)
    combined = combined[(combined["segment_by"] == "all") & (combined["period"] != "all")]
    if kpis is not None:
        combined = combined[combined["kpi"].isin(list(kpis))]
    wide = combined.pivot_table(index=["kpi", "period"], columns="as_of", values="value", aggfunc="first")
    wide.columns = [f"as of {c}" for c in wide.columns]
    wide["revised"] = wide.max(axis=1) - wide.min(axis=1)
    return wide.reset_index()


def show_revisions(changed: pd.DataFrame, months: int = 4):
    """The last ``months`` of each KPI of :func:`revisions`, formatted: each run's column in the
    KPI's own units, ``revised`` as a difference."""
    from gapkit.report import formatting

    runs = {column: "kpi" for column in changed.columns if column.startswith("as of")}
    recent = changed.sort_values(["kpi", "period"]).groupby("kpi").tail(months)
    return formatting.table(recent, {**runs, "revised": "gap"})
