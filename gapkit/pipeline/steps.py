"""The steps of a run, what each reads and writes, and the data loaded once for all of them.

A run goes one way: the input folder is read and checked once (:func:`prepare`), the kept rows
are written as Parquet into the run's staging folder, and each report notebook reads them from
there (:func:`dataset`) together with the artifacts of the steps before it. :data:`STEPS` is the
registry: a notebook that reads an artifact no earlier step writes is a bug the tests catch.

Examples
--------
>>> [step.name for step in gapkit.pipeline.STEPS]
['load', 'current_state', 'desired_state', 'gap_identification', 'impact_measurement', 'history']
>>> gapkit.pipeline.maker("gaps.csv")
'03_gap_identification'
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from gapkit.contract import _mapping
from gapkit.contract._stored import StoredTables
from gapkit.contract.artifacts import HISTORY, STEP_NOTEBOOKS, VALIDATED, written_by
from gapkit.contract.validation import Data

MANIFEST = "manifest.json"
SETTINGS = "settings.json"  # the run's checked configuration, handed to every notebook


@dataclass(frozen=True)
class Step:
    """One step of a run: the notebook that performs it (None: the runner itself), and the
    artifacts (file names in the run folder) it reads and writes."""

    name: str
    notebook: str | None
    reads: tuple[str, ...]
    writes: tuple[str, ...]


# what each step writes comes from the artifact registry (gapkit.artifacts); "kpis" and "current"
# also travel between notebooks as Parquet with their metadata (:func:`keep`, :func:`carried`)
STEPS: tuple[Step, ...] = (
    Step("load", None, (), (*written_by("load"), VALIDATED, SETTINGS)),
    # current_state also shows the earlier runs' history.parquet (not an artifact of this run)
    Step("current_state", STEP_NOTEBOOKS["current_state"], (VALIDATED, SETTINGS),
         (*written_by("current_state"), "kpis", "current")),
    Step("desired_state", STEP_NOTEBOOKS["desired_state"], (VALIDATED, SETTINGS, "kpis", "current"),
         written_by("desired_state")),
    Step("gap_identification", STEP_NOTEBOOKS["gap_identification"],
         (VALIDATED, SETTINGS, "kpis", "current", "drivers.csv"), written_by("gap_identification")),
    Step("impact_measurement", STEP_NOTEBOOKS["impact_measurement"], (VALIDATED, SETTINGS, "kpis", "current"),
         written_by("impact_measurement")),
    # after a successful publish: this run's KPIs join the history beside the report folders
    Step("history", None, ("kpis.csv",), (HISTORY,)),
)
NOTEBOOKS = [step.notebook for step in STEPS if step.notebook]


def maker(artifact: str) -> str | None:
    """The notebook (or "gapkit run" for the load step) that first writes ``artifact``."""
    for step in STEPS:
        if artifact in step.writes:
            return step.notebook or "gapkit run"
    return None


def prepare(data_dir: str | Path, folder: str | Path, earliest: str | None = None, as_of=None,
            columns=None, extra=()) -> Data:
    """Read and check the input once; write the kept rows, rejects and counts into ``folder``.

    The tables go to ``folder/validated/<table>.parquet`` with a manifest of where they came
    from (and under which ``columns`` mapping, see :func:`gapkit.load`); ``rejects.csv`` and
    ``row_counts.csv`` go beside the reports. Input of which no order survives the checks, or
    an ``as_of`` before the first order, is an error naming the cause; an ``as_of`` long after
    the last order is a note the report shows. ``data_dir`` may be a database (see
    :func:`gapkit.load`, which also says what ``as_of`` and ``extra`` change there); the
    manifest records its URL without the password.
    """
    from gapkit.contract.loading import load
    from gapkit.contract.validation import EARLIEST
    from gapkit.report.publish import write_csv

    earliest = earliest or EARLIEST
    data = load(data_dir, earliest=earliest, columns=columns, as_of=as_of, extra=extra)
    _check_span(data, as_of)
    if as_of is not None:
        data = dataclasses.replace(data, notes=(*data.notes, *_stale_note(data, as_of)))
    target = Path(folder) / VALIDATED
    target.mkdir(parents=True, exist_ok=True)
    for name, frame in data.items():
        frame.to_parquet(target / f"{name}.parquet", index=False)
    data.rejects.to_parquet(target / "_rejects.parquet", index=False)
    data.counts.to_parquet(target / "_counts.parquet", index=False)
    manifest = {**_read_as(data_dir, earliest, columns, as_of, extra), "tables": list(data), "files": data.files,
                "notes": list(data.notes), "display_source": data.source}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    write_csv(data.rejects, folder, "rejects.csv")
    write_csv(data.counts, folder, "row_counts.csv")
    return data


def _read_as(data_dir, earliest: str, columns, as_of, extra) -> dict:
    """What decides the checked tables: the source (a path resolved, a URL without its password:
    never resolved as a path), ``earliest`` and the mapping; for a database also the report date
    and extra columns, which decide the rows and columns it sends."""
    from gapkit.contract._database import is_database
    from gapkit.contract.loading import source_label

    read_as = {"source": source_label(data_dir), "earliest": earliest,
               "columns": _mapping.as_dict(_mapping.check(columns))}
    if is_database(data_dir):
        read_as |= {"as_of": None if as_of is None else str(as_of), "extra": sorted(set(map(str, extra)))}
    return read_as


def _check_span(data: Data, as_of) -> None:
    """Refuse what can only make an empty or meaningless report."""
    from gapkit.errors import InputError

    counts = data.counts.set_index("table")
    if counts.loc["orders", "kept"] == 0:
        orders = data.rejects[data.rejects["table"] == "orders"]
        rules = orders.drop_duplicates(["row", "rule"])["rule"].value_counts()
        top = "; ".join(f"{rule} ({n:,} rows)" for rule, n in rules.head(3).items())
        example = (f" The first: row {orders['row'].iloc[0]}, {orders['column'].iloc[0]}: {orders['reason'].iloc[0]}."
                   if len(orders) else "")
        raise InputError(f"{data.source}: none of the {int(counts.loc['orders', 'input_rows']):,} orders passed the "
                         f"checks ({top or 'the table has no rows'}); there is nothing to report.{example}")
    if as_of is None:
        return
    first = data["orders"]["ordered_at"].min()
    if pd.Timestamp(str(as_of), tz="UTC") + pd.Timedelta(days=1) <= first:
        raise InputError(f"as_of {as_of} is before the first order ({first.date()}); nothing had happened yet. "
                         f"Pass an as_of between {first.date()} and {data['orders']['ordered_at'].max().date()}.")


def _stale_note(data: Data, as_of) -> tuple[str, ...]:
    """A note when the report date lies long after the last order: the "current" figures are
    then those of the last months with data, and a reader must not take them for today's."""
    last = data["orders"]["ordered_at"].max()
    gap = (pd.Timestamp(str(as_of), tz="UTC") - last).days
    if gap <= 92:
        return ()
    return (f"as_of {as_of} is {gap:,} days after the last order ({last.date()}): the current figures are those of "
            f"the last months with data, not of the weeks before {as_of}; check that the export is complete",)


def dataset(data_dir: str | Path, folder: str | Path, earliest: str | None = None, columns=None, as_of=None,
            extra=()) -> Data:
    """The checked tables: those :func:`prepare` wrote into ``folder`` for this input (and this
    ``columns`` mapping; from a database, this ``as_of`` and ``extra``), else read and checked now
    by :func:`prepare` (a notebook opened on its own in JupyterLab), which also writes the rejects
    and row counts, so that each is written by one step."""
    from gapkit.contract.validation import EARLIEST

    earliest = earliest or EARLIEST
    target = Path(folder) / VALIDATED
    manifest = _manifest(target)
    # tables read under another mapping hold other columns under the contract's names
    wanted = _read_as(data_dir, earliest, columns, as_of, extra)
    if manifest is None or {key: manifest.get(key) for key in wanted} != wanted:
        return prepare(data_dir, folder, earliest, as_of=as_of, columns=columns, extra=extra)
    # read at first use: a notebook holds the tables it works on, not the whole input
    tables = StoredTables({name: target / f"{name}.parquet" for name in manifest["tables"]})
    return Data(tables, pd.read_parquet(target / "_rejects.parquet"), pd.read_parquet(target / "_counts.parquet"),
                source=manifest["display_source"], files=manifest["files"], notes=tuple(manifest["notes"]))


def _manifest(target: Path) -> dict | None:
    try:
        return json.loads((target / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_settings(config, folder: str | Path) -> Path:
    """Write the run's checked configuration (:class:`gapkit.config.Config`) for the notebooks.

    JSON is YAML, so a notebook reads it with the same ``gapkit.config.read`` as a ``gapkit.yml``;
    but it holds the settings as the runner resolved them (the report date it chose, its command
    line), so no notebook works them out again.
    """
    target = Path(folder) / VALIDATED
    target.mkdir(parents=True, exist_ok=True)
    path = target / SETTINGS
    path.write_text(json.dumps(config.to_dict(), indent=1, default=str), encoding="utf-8")
    return path


def keep(frame: pd.DataFrame, folder: str | Path, name: str) -> Path:
    """Hand ``frame`` to the later steps as Parquet with its metadata (``attrs``: as_of, the
    segment columns, skipped KPIs), which a CSV artifact loses."""
    target = Path(folder) / VALIDATED
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{name}.parquet"
    frame.to_parquet(path, index=False)
    return path


def carried(folder: str | Path, name: str) -> pd.DataFrame:
    """A table an earlier step handed on with :func:`keep`, its ``attrs`` intact."""
    path = Path(folder) / VALIDATED / f"{name}.parquet"
    if not path.exists():
        from gapkit.errors import InputError

        raise InputError(f"{path}: no {name} table from an earlier step; run {maker(name) or 'the notebooks'} first.")
    return pd.read_parquet(path)



def release_memory() -> None:
    """Hand the memory of freed tables back to the system.

    After the load step the runner holds nothing large, but the allocators keep what the checked
    tables used (2.2 GB resident at 5M orders) while the notebooks' kernel needs its own: both
    count against the machine.
    """
    import ctypes
    import gc

    import pyarrow as pa

    gc.collect()
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl): nothing to trim
        pass
