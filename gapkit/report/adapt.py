"""What the data holds decides which analyses run, and on which columns.

Only ``orders`` is required by the contract, so every section of a report must cope with a
table or column being absent, or with too little data to fit a model. This module makes those
decisions in one place:

- which columns to break KPIs down by, hold fixed in the key-driver model, draw the journey by
  and compare segments on: the configuration's choice where there is one, otherwise chosen from
  the columns the data holds (never a column only the sample has);
- :class:`Skipped`, what a section shows instead of failing: one plain sentence saying what is
  missing, what the section would show, and how to add it;
- :func:`attempt`, which runs an analysis and turns gapkit's own "cannot do this with this
  data" errors into a :class:`Skipped`.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from gapkit.contract._stored import column_names, column_values
from gapkit.errors import ConfigError, GapkitError, TooFewUnits

#: A column with more groups than this (or with at least half as many groups as rows) is an
#: identifier or free text, not a segment; 30 keeps states, regions and plans in.
MAX_SEGMENT_LEVELS = 30
#: The journey map draws one panel per group: more than this is unreadable.
MAX_JOURNEY_LEVELS = 6
#: How many columns are chosen from the data when the configuration names none.
MAX_AUTO_SEGMENTS = 4
#: Tables whose own ``channel`` column is a natural segment of their KPIs.
CHANNEL_TABLES = ("orders", "followups", "tickets")
#: KPIs in the order a segment comparison draws them when the configuration names none.
COMPARE_ORDER = ("csat", "followup_coverage", "on_time_delivery_rate", "first_response_hours",
                 "repeat_purchase_rate", "nps", "resolution_hours", "first_response_sla", "delivery_days",
                 "referral_rate", "csat_mean", "survey_response_rate")


@dataclass(frozen=True)
class Skipped:
    """A report section that could not be shown, and why.

    It stands in for the section's result, so a notebook cell can display it, call
    ``.plot()`` (draws nothing) or read ``.table`` (empty) without a branch.

    Examples
    --------
    >>> gapkit.adapt.Skipped("Key drivers", "there is no tickets table", "which experiences go with repeat purchase",
    ...         "export tickets.csv")
    Key drivers is not shown: there is no tickets table. It would show which experiences go with repeat purchase. ...
    ...
    """

    section: str
    reason: str
    would_show: str = ""
    how_to_add: str = ""

    def sentence(self) -> str:
        text = f"{self.section} is not shown: {self.reason.rstrip('.')}."
        if self.would_show:
            text += f" It would show {self.would_show.rstrip('.')}."
        if self.how_to_add:
            text += f" To add it: {self.how_to_add.rstrip('.')}."
        return text

    @property
    def table(self) -> pd.DataFrame:
        return pd.DataFrame()

    def summary(self) -> str:
        return self.sentence()

    def plot(self, *args, **kwargs):
        return None

    def plot_each(self, *args, **kwargs) -> list:
        return []

    def __getattr__(self, name: str):
        # any other picture of the result it stands in for (plot_cohorts, plot_tornado...) draws nothing
        if name.startswith("plot_"):
            return lambda *args, **kwargs: None
        raise AttributeError(name)

    def __repr__(self) -> str:
        return self.sentence()

    def _repr_html_(self) -> str:
        return f"<p><em>{html.escape(self.sentence())}</em></p>"


def attempt(section: str, would_show: str, how_to_add: str, function: Callable, *args, **kwargs):
    """``function(*args, **kwargs)``, or a :class:`Skipped` saying why the data cannot support it.

    Only what the data's shape explains (a missing table or column, too few units to fit)
    becomes a :class:`Skipped`. A :class:`~gapkit.errors.ConfigError` is the user's to fix and
    is raised, as is any other exception (a bug).
    """
    try:
        return function(*args, **kwargs)
    except ConfigError:
        raise
    except GapkitError as err:
        return Skipped(section, str(err), would_show, how_to_add)


def lacking(data: Mapping, needs: Mapping[str, Sequence[str]]) -> str | None:
    """What of ``needs`` (table -> columns) the data lacks, in words, or None when all is there.

    Examples
    --------
    >>> gapkit.adapt.lacking(gapkit.datasets.sample(), {"surveys": ["comment"]}) is None
    True
    """
    missing = []
    for table, columns in needs.items():
        if table not in data:
            missing.append(f"there is no {table} table")
            continue
        absent = [c for c in columns if c not in column_names(data, table)]
        if absent:
            missing.append(f"the {table} table has no {', '.join(absent)} column{'s' if len(absent) > 1 else ''}")
            continue
        if data[table].empty:
            missing.append(f"the {table} table has no usable rows")
    return "; ".join(missing) if missing else None


def requires(data: Mapping, needs: Mapping[str, Sequence[str]], section: str, would_show: str,
             how_to_add: str) -> Skipped | None:
    """A :class:`Skipped` when the data lacks a table or column of ``needs``, else None."""
    reason = lacking(data, needs)
    return None if reason is None else Skipped(section, reason, would_show, how_to_add)


def _levels(values: pd.Series) -> int:
    return int(values.dropna().nunique())


def _is_segment(values: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return False
    levels = _levels(values)
    return 2 <= levels <= MAX_SEGMENT_LEVELS and levels <= 0.5 * values.notna().sum()


def customer_attributes(data: Mapping) -> list[str]:
    """Columns of ``customers`` that look like segments (2..30 groups, not id-like), in file order."""
    if "customers" not in data:
        return []
    # column by column: a run's stored customers are not read whole to look at their attributes
    return [c for c in column_names(data, "customers")
            if c != "customer_id" and _is_segment(column_values(data, "customers", c))]


def _column_tables(data: Mapping, column: str) -> list[str]:
    return [name for name in data if column in column_names(data, name)]


def segment_columns(data: Mapping, configured: Sequence[str] | None = None, goals=()) -> list[str]:
    """The columns KPIs are broken down by.

    Configured columns must exist in some table (a :class:`~gapkit.errors.ConfigError` names
    the one that does not); without configuration: the customers' attributes with 2..30 groups,
    then ``channel`` where orders, follow-ups or tickets have one, at most four in all. Every
    column a goal names (``segment_by``) is added, listed or not, so each goal has its figure.

    Examples
    --------
    >>> gapkit.adapt.segment_columns(gapkit.datasets.sample())
    ['segment', 'region', 'persona', 'loyalty_member']
    """
    if configured is not None:
        for column in configured:
            if not _column_tables(data, column):
                raise ConfigError(
                    f"segments: column {column!r} is in none of the tables ({', '.join(sorted(data))}); "
                    "remove it from `segments` in the configuration or add it to customers.csv.")
        chosen = list(configured)
    else:
        chosen = customer_attributes(data)
        if any("channel" in column_names(data, t) and _is_segment(column_values(data, t, "channel"))
               for t in CHANNEL_TABLES if t in data):
            chosen.append("channel")
        chosen = list(dict.fromkeys(chosen))[:MAX_AUTO_SEGMENTS]
    named = [goal.segment_by for goal in goals if goal.segment_by != "all" and _column_tables(data, goal.segment_by)]
    return list(dict.fromkeys([*chosen, *named]))


def driver_controls(data: Mapping, configured: Sequence[str] | None = None) -> list[str]:
    """Customer attributes held fixed in the key-driver model (plus the month of the first order).

    Without configuration: the customers' segment-like attributes; ``period`` is always added
    so that an experience does not get credit for a change that hit every customer at once.
    """
    if configured is not None:
        return list(configured)
    return [*customer_attributes(data), "period"]


def journey_by(data: Mapping, configured: str | None = None, segments: Sequence[str] = ()) -> str | None:
    """The segment column the journey map is drawn by, or None (everyone only).

    Without configuration: the first customers' attribute among ``segments`` (or among all of
    them) with 2..6 groups.
    """
    if configured is not None:
        return configured
    attributes = customer_attributes(data)
    candidates = [c for c in segments if c in attributes] or attributes
    for column in candidates:
        if _levels(data["customers"][column]) <= MAX_JOURNEY_LEVELS:
            return column
    return None


def comparisons(kpi_table: pd.DataFrame, configured: Sequence[Sequence[str]] | None = None,
                most: int = 4) -> list[tuple[str, str]]:
    """(kpi, segment column) pairs worth drawing side by side.

    Configured pairs are kept where the KPI table has them; without configuration, KPIs in
    :data:`COMPARE_ORDER` each with a segment column that splits it into at least two groups,
    cycling through the columns so the panels show different splits.
    """
    overall = kpi_table[(kpi_table["period"] == "all") & (kpi_table["segment_by"] != "all")]
    groups = overall.groupby(["kpi", "segment_by"])["segment"].nunique()
    available = {pair for pair, count in groups.items() if count >= 2}
    if configured is not None:
        return [tuple(pair) for pair in configured if tuple(pair) in available][:most]
    columns = list(dict.fromkeys(by for _, by in sorted(available)))
    pairs: list[tuple[str, str]] = []
    turn = 0
    for kpi in COMPARE_ORDER:
        options = [c for c in columns if (kpi, c) in available]
        if not options:
            continue
        pairs.append((kpi, options[turn % len(options)]))
        turn += 1
        if len(pairs) == most:
            break
    return pairs


#: KPIs drawn as monthly trends, in order of preference, when the data has them.
TREND_ORDER = ("csat", "followup_coverage", "first_response_hours", "repeat_purchase_rate", "on_time_delivery_rate",
               "nps", "first_response_sla", "resolution_hours", "delivery_days", "survey_response_rate",
               "referral_rate", "csat_mean")


def headline_kpis(kpi_table: pd.DataFrame, most: int = 4) -> list[str]:
    """Up to ``most`` KPIs with at least two months of values, in :data:`TREND_ORDER`."""
    monthly = kpi_table[(kpi_table["period"] != "all") & (kpi_table["segment_by"] == "all")
                        & kpi_table["value"].notna()]
    months = monthly.groupby("kpi")["period"].nunique()
    return [k for k in TREND_ORDER if months.get(k, 0) >= 2][:most]


def skipped_kpis(kpi_table: pd.DataFrame) -> list[str]:
    """One sentence per KPI the data could not measure, from ``kpi_table.attrs["skipped"]``."""
    skipped = kpi_table.attrs.get("skipped", {})
    return [f"{kpi}: {reason}" for kpi, reason in skipped.items()]


def skipped_table(kpi_table: pd.DataFrame) -> pd.DataFrame:
    """The KPIs the data could not measure, in plain words: KPI, why not (a table for the report)."""
    import re

    from gapkit.contract.catalog import KPIS

    def plain(reason: str) -> str:
        tables = re.fullmatch(r"needs table\(s\) \[(.*)\]", reason)
        if tables:
            names = [t.strip(" '\"") for t in tables.group(1).split(",")]
            return " and ".join(f"there is no {name} table" for name in names)
        column = re.fullmatch(r"needs column (\S+) in (\S+)", reason)
        if column:
            return f"the {column.group(2)} table has no {column.group(1)} column"
        return reason

    skipped = kpi_table.attrs.get("skipped", {})
    return pd.DataFrame({"KPI": [KPIS[k].label if k in KPIS else k for k in skipped],
                         "not measured because": [plain(r) for r in skipped.values()]})


def columns_for(data: Mapping, table: str, segments: Sequence[str]) -> list[str]:
    """The ``segments`` a KPI of ``table`` can be broken down by: its own columns or the customers'."""
    own = set(column_names(data, table)) if table in data else set()
    customers = set(column_names(data, "customers")) if "customers" in data else set()
    return [c for c in segments if c in own | customers]


def key_drivers(data: Mapping, as_of, configured_controls: Sequence[str] | None = None, **options):
    """:func:`gapkit.drivers.key_drivers` with controls the data can afford.

    Configured controls are used as they are (too few units is then reported, not hidden).
    Controls chosen from the data are dropped one at a time, the month first and then the
    attribute with the most groups, until the model has enough units per parameter; the result's
    notes say which were dropped.
    """
    from gapkit.analysis import drivers

    if configured_controls is not None:
        return drivers.key_drivers(data, as_of, controls=list(configured_controls), **options)
    controls = driver_controls(data)
    customers = data.get("customers")
    dropped: list[str] = []
    while True:
        try:
            result = drivers.key_drivers(data, as_of, controls=controls, **options)
        except TooFewUnits:
            if not controls:
                raise
            levels = {c: 10**6 if c == "period" else _levels(customers[c]) for c in controls}
            drop = max(controls, key=lambda c: (levels[c], c))
            controls = [c for c in controls if c != drop]
            dropped.append(drop)
            continue
        if dropped:
            note = (f"control(s) {', '.join(dropped)} left out: too few units to hold them fixed "
                    f"({drivers.MIN_UNITS_PER_PARAMETER} units per model parameter needed)")
            result = dataclasses.replace(result, notes=(*result.notes, note))
        return result


def table_columns(folder, columns=()) -> dict[str, list[str]]:
    """The column names of each table file in ``folder``, read from headers only, as the loader
    names them once ``columns`` (a checked mapping, :attr:`gapkit.config.Config.columns`) renamed them.
    A database (``gapkit.load`` takes the same sources) is asked its catalog: no table is read."""
    from pathlib import Path

    import pyarrow.parquet as pq

    from gapkit.contract import _database, _mapping
    from gapkit.contract.schema import TABLES

    if _database.is_database(folder):
        from gapkit.contract._database_catalog import column_names

        return column_names(str(folder), columns)
    found = {}
    for name in TABLES:
        csv, parquet = Path(folder) / f"{name}.csv", Path(folder) / f"{name}.parquet"
        if parquet.exists():
            file, names = parquet, list(pq.read_schema(parquet).names)
        elif csv.exists():
            from gapkit.contract._reading import csv_header

            file, names = csv, csv_header(csv)  # the loader's reading of the header (delimiter, encoding)
        else:
            continue
        renames = _mapping.renames(names, name, columns, file)
        found[name] = [renames.get(c, c) for c in names]
    return found


def named_columns(config) -> list[tuple[str, str]]:
    """The data columns the configuration names, as (key, column): segments, key-driver controls,
    the journey's and comparisons' columns and the goals' segment columns. A database sends these
    beside the contract's columns (``gapkit.load(..., extra=...)``)."""
    named = [("segments", c) for c in config.segments or ()]
    named += [("drivers.controls", c) for c in config.driver_controls or () if c != "period"]
    named += [("journey.by", config.journey_by)] if config.journey_by else []
    named += [("compare", by) for _, by in config.compare or ()]
    named += [(f"goals[{g.id}].segment_by", g.segment_by) for g in config.goals if g.segment_by != "all"]
    return named


def check_columns(config, folder) -> None:
    """Raise :class:`~gapkit.errors.ConfigError`, before any notebook runs, for every column the
    configuration names that no table in ``folder`` (or the database it names) has."""
    from gapkit.contract._database import redact

    present = {c for names in table_columns(folder, config.columns).values() for c in names}
    missing = [f"{key}: {column!r}" for key, column in named_columns(config) if column not in present]
    if missing:
        where = config.source or "the configuration"
        raise ConfigError(f"{where} names column(s) that no table in {redact(folder)} has: {'; '.join(missing)}. "
                          f"Add them to customers.csv (or the KPI's own table) or remove them from {where}.")
