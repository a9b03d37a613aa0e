"""How many units an intervention reaches a month: the volume its per-unit effect is multiplied by."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from gapkit.config import valuation_entry
from gapkit.errors import ConfigError, InputError
from gapkit.impact.effects import read_interventions
from gapkit.measure.engine import end_of_day, segment_labels
from gapkit.measure.engine import units as kpi_units

REACH_MONTHS = 3  # the complete months whose mean is the monthly reach


def monthly_reach(data: Mapping, intervention, kpi: str, as_of, months: int = REACH_MONTHS,
                  params=None, engine: str = "pandas") -> pd.DataFrame:
    """Units reached per month: the treated units of ``kpi`` over their last complete months.

    Treated units are the segment's (DiD), the treatment arm's inside the test window (A/B), or
    everyone's (ITS). The latest month is left out when its last day has no unit yet (partial
    month, or a windowed KPI whose window has not elapsed); then the ``months`` calendar months
    up to the last complete one are averaged. ``engine`` builds the units (as for
    :func:`gapkit.kpis`).

    Examples
    --------
    >>> data = gapkit.datasets.sample()
    >>> gapkit.reach.monthly_reach(data, "checkin", "repeat_purchase_rate", "2025-06-30")
      intervention_id                   kpi  ...            months    population
    ...
    """
    iv = read_interventions(data, as_of, [intervention])
    if not iv:
        raise ConfigError(f"intervention {intervention!r} starts after as_of {as_of}: it has reached no one "
                          f"yet; pass its reach by hand")
    iv = iv[0]
    by = [c for c in (iv.segment_by, iv.variant_column) if c]
    units = kpi_units(data, kpi, as_of, by=by, params=params, engine=engine, columns=[])
    if iv.design == "did":
        units = units[segment_labels(units[iv.segment_by]) == iv.segment]
        who = f"{iv.segment_by} == {iv.segment}"
    elif iv.design == "ab":
        end = iv.end_at if iv.end_at is not None else end_of_day(as_of)
        inside = (units["anchor"] >= iv.start_at) & (units["anchor"] <= end)
        units = units[inside & (units[iv.variant_column].astype(str) == "treatment")]
        who = "treatment arm in window"
    else:
        who = "everyone"
    if units.empty:
        raise InputError(f"{kpi}: no treated units for intervention {iv.id} by {as_of}; pass reach by hand")
    month = units["anchor"].dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("M")
    last, latest = month.max(), units["anchor"].max()
    if latest < pd.Timestamp(last.end_time.date(), tz="UTC"):
        last = last - 1
    window = pd.period_range(last - (months - 1), last, freq="M")
    counts = month.value_counts().reindex(window, fill_value=0)
    return pd.DataFrame([{
        "intervention_id": iv.id, "kpi": kpi, "units_per_month": float(counts.mean()),
        "months": f"{window[0]}..{window[-1]}", "population": who,
    }])


def reach_for(data: Mapping, valuation: Sequence[Mapping], as_of, params=None,
              engine: str = "pandas") -> pd.DataFrame:
    """:func:`monthly_reach` for every valuation entry, as one reach table.

    Examples
    --------
    >>> valuation = gapkit.datasets.sample_config().valuation
    >>> gapkit.reach.reach_for(gapkit.datasets.sample(), valuation, "2025-06-30")
      intervention_id  ...               population
    ...
    """
    entries = [valuation_entry(v, i) for i, v in enumerate(valuation)]
    tables = [monthly_reach(data, e["intervention_id"], e["kpi"], as_of, params=params, engine=engine)
              for e in entries]
    if not tables:
        return pd.DataFrame(columns=["intervention_id", "kpi", "units_per_month", "months", "population"])
    return pd.concat(tables, ignore_index=True)
