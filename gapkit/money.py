"""Was it worth it? Net present value of each intervention from its measured effect (``cost_benefit.csv``).

Conventions (the README states the same):

- Time runs in months from the appraisal date ``as_of``: month 0 is now and is not discounted.
- The annual discount rate r is compounded monthly, r_m = (1 + r)^(1/12) - 1; a flow in
  month m is worth flow / (1 + r_m)^m today.
- Benefit in each month 1..horizon_months = effect x units_per_month x value_per_unit, where
  the effect is the impact table's ``chosen`` estimate and value_per_unit is money per unit per
  +1.0 of the KPI (for a lower-is-better KPI such as hours, a cut is a negative effect: give a
  negative value_per_unit so that the cut is worth money).
- One-off costs (kind ``one_off``, or no kind) incurred up to ``as_of`` are summed at month 0,
  undiscounted: the appraisal includes what was spent to set the intervention up.
- Recurring costs: the run-rate is the mean recurring amount of the last ``RUN_RATE_MONTHS`` (3)
  months that had a recurring cost up to ``as_of`` (fewer if there were fewer). It is paid in
  months 1..horizon, beside the benefit it buys. An intervention with several valuation
  entries (KPIs) sums their benefits; its costs run over the longest horizon.
- An intervention that ended by ``as_of`` (``end_at`` in the interventions table) is appraised
  looking back, not forward: nothing is projected past its end. Its costs are what was spent
  (one-off and recurring, as incurred) and its benefit is the effect x units per month x value
  per unit for each month it ran (start to end, in months of 30.44 days), both at month 0,
  undiscounted. A running intervention is appraised forward as above.
- Payback is the first month from 1 on whose cumulative discounted net is >= 0, and none
  (NaN) when that never happens within the horizon: an intervention that loses money every
  month does not "pay back in month 0".
- ``caveat`` says when the NPV stands on a weak estimate: an effect not distinguishable from
  zero (p >= 0.05; then the NPV's sign is decided by the costs, not by the evidence), a failed
  placebo (pre-trend) check, or a design that does not remove time trends.
- NPV interval: each effect is drawn from Normal(effect, SE), SE = (ci_high - ci_low) / (2 x
  1.96) of its impact row (KPIs independently), costs taken as known; the 2.5% and 97.5%
  quantiles of the simulated NPV make the 95% interval, so it widens when the effect is less
  certain. ``clears_zero`` is ``npv_ci_low > 0``.
- The tornado (one input at a time) and the intangibles shown beside NPV are in
  :mod:`gapkit.sensitivity`; :func:`cost_benefit` includes both.

Examples
--------
>>> data = gapkit.load("data/sample")
>>> valuation = [{"intervention_id": "checkin", "kpi": "repeat_purchase_rate", "value_per_unit": 25.0,
...               "horizon_months": 24, "discount_rate": 0.10}]
>>> measured = gapkit.impact.measure(data, "2025-06-30", ["repeat_purchase_rate"])
>>> reach = gapkit.money.reach_for(data, valuation, "2025-06-30")
>>> result = gapkit.money.cost_benefit(measured, data["costs"], valuation, reach, "2025-06-30")
>>> print(result.summary())
"""

from __future__ import annotations

import textwrap
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from gapkit import formatting
from gapkit.config import valuation_entry
from gapkit.errors import ConfigError, InputError
from gapkit.estimators import Z95
from gapkit.impact import read_interventions
from gapkit.measure import end_of_day, segment_labels
from gapkit.measure import units as kpi_units
from gapkit.results import Result
from gapkit.sensitivity import INTANGIBLE_COLUMNS, intangibles, tornado_table

COST_BENEFIT_COLUMNS = [
    "intervention_id", "cost_pv", "benefit_pv", "npv", "npv_ci_low", "npv_ci_high", "roi", "payback_months",
]
EXTRA_COLUMNS = [
    "benefit_cost_ratio", "p_npv_positive", "method", "clears_zero", "rank", "kpis", "horizon_months",
    "discount_rate", "one_off", "run_rate", "note", "caveat", "appraisal",
]
RUN_RATE_MONTHS = 3


@dataclass(frozen=True)
class Benefit:
    """One KPI's contribution: effect (with its CI) x reach x value per unit, for a horizon."""

    kpi: str
    effect: float
    ci_low: float
    ci_high: float
    method: str
    units_per_month: float
    value_per_unit: float
    horizon_months: int
    p_value: float = float("nan")
    pretrend_p: float = float("nan")

    @property
    def caveats(self) -> list[str]:
        """What makes this effect a weak basis for money (empty when nothing does)."""
        out = []
        if np.isfinite(self.p_value) and self.p_value >= 0.05:
            out.append(f"{self.kpi} effect not distinguishable from zero (p = {self.p_value:.2g})")
        if np.isfinite(self.pretrend_p) and self.pretrend_p < 0.05:
            out.append(f"{self.kpi} placebo (pre-trend) check failed (p = {self.pretrend_p:.2g})")
        if self.method in ("its", "pre_post"):
            out.append(f"{self.kpi} by {self.method}: no comparison group")
        return out

    @property
    def se(self) -> float:
        return (self.ci_high - self.ci_low) / (2 * Z95)


@dataclass(frozen=True)
class Appraisal:
    """Everything one intervention's NPV depends on."""

    intervention_id: str
    one_off: float
    run_rate: float
    discount_rate: float
    benefits: tuple[Benefit, ...]
    note: str = ""
    months_run: float | None = None  # set for an intervention that ended: appraised looking back

    @property
    def ended(self) -> bool:
        return self.months_run is not None

    @property
    def horizon_months(self) -> int:
        return 0 if self.ended else max(b.horizon_months for b in self.benefits)

    @property
    def complete(self) -> bool:
        """Every benefit has a finite effect and standard error, so NPV and its interval can be computed."""
        return all(np.isfinite(b.effect) and np.isfinite(b.se) for b in self.benefits)

    def npv(self, effects: Sequence[float] | None = None) -> float:
        """Net present value at the measured effects, or at ``effects`` (one per benefit).

        Examples
        --------
        >>> result.appraisals[0].npv()  # result: see the module example
        """
        cost_pv, benefit_pv = npv_parts(self, effects)
        return float(benefit_pv - cost_pv)


def monthly_rate(annual_rate: float) -> float:
    """Monthly rate equivalent to an annual one: (1 + r)^(1/12) - 1.

    Examples
    --------
    >>> round(gapkit.money.monthly_rate(0.10), 6)
    0.007974
    """
    return (1 + annual_rate) ** (1 / 12) - 1


def cash_flows(appraisal: Appraisal, effects: Sequence[float] | None = None) -> pd.DataFrame:
    """Month-by-month flows: month 0 (one-off costs, undiscounted) to the longest horizon.

    Examples
    --------
    >>> flows = gapkit.money.cash_flows(result.appraisals[0])  # result: see the module example
    >>> flows[["month", "net", "cumulative_pv"]].head()
    """
    effects = [b.effect for b in appraisal.benefits] if effects is None else effects
    month = np.arange(appraisal.horizon_months + 1)
    benefit = np.zeros(month.size)
    for b, effect in zip(appraisal.benefits, effects):
        monthly = effect * b.units_per_month * b.value_per_unit
        if appraisal.ended:  # what it brought while it ran, looking back from as_of
            benefit += np.where(month == 0, monthly * appraisal.months_run, 0.0)
        else:
            benefit += np.where((month >= 1) & (month <= b.horizon_months), monthly, 0.0)
    cost = np.where(month == 0, appraisal.one_off, appraisal.run_rate)
    discount = (1 + monthly_rate(appraisal.discount_rate)) ** -month.astype(float)
    net = benefit - cost
    return pd.DataFrame({
        "intervention_id": appraisal.intervention_id, "month": month, "cost": cost, "benefit": benefit,
        "net": net, "discount_factor": discount, "pv_net": net * discount,
        "cumulative_pv": np.cumsum(net * discount),
    })


def payback_months(flows: pd.DataFrame) -> float:
    """First month whose cumulative discounted net is >= 0; NaN if never within the horizon.

    Examples
    --------
    >>> flows = gapkit.money.cash_flows(result.appraisals[0])  # result: see the module example
    >>> gapkit.money.payback_months(flows)
    """
    # from month 1: month 0 holds only the set-up cost, so "paid back in month 0" would just
    # mean nothing was spent up front, even for a strategy that loses money every month after
    reached = flows.loc[(flows["month"] >= 1) & (flows["cumulative_pv"] >= -1e-9), "month"]
    return float(reached.iloc[0]) if len(reached) else np.nan


def npv_parts(appraisal: Appraisal, effects=None) -> tuple[float, np.ndarray]:
    """(cost_pv, benefit_pv); benefit_pv is an array when ``effects`` holds draws (one column per KPI).

    Examples
    --------
    >>> cost_pv, benefit_pv = gapkit.money.npv_parts(result.appraisals[0])  # result: see the module example
    >>> benefit_pv - cost_pv
    """
    discount = (1 + monthly_rate(appraisal.discount_rate)) ** -np.arange(appraisal.horizon_months + 1.0)
    cost_pv = appraisal.one_off + appraisal.run_rate * discount[1:].sum()
    effects = np.array([b.effect for b in appraisal.benefits] if effects is None else effects, dtype=float)
    per_effect = np.array([b.units_per_month * b.value_per_unit * (
        appraisal.months_run if appraisal.ended else discount[1:b.horizon_months + 1].sum())
        for b in appraisal.benefits])
    return float(cost_pv), effects @ per_effect


def cost_benefit(
    impact_table,
    costs: pd.DataFrame,
    valuation: Sequence[Mapping],
    reach: pd.DataFrame,
    as_of,
    n_sims: int = 2000,
    seed: int = 0,
    intangible_scores: Sequence[Mapping] = (),
    currency: str = "",
    interventions: Sequence | None = None,
) -> CostBenefitResult:
    """NPV, ROI, payback and a 95% NPV interval per valued intervention, ranked by NPV.

    Parameters
    ----------
    impact_table : ``ImpactResult`` or its ``.table``; the ``chosen`` row of each valued KPI is used.
    costs : the costs table (intervention_id, incurred_at, amount, kind).
    valuation : config ``valuation`` entries (intervention_id, kpi, value_per_unit,
        horizon_months, discount_rate).
    reach : intervention_id, kpi, units_per_month (see :func:`monthly_reach`).
    as_of : appraisal date (month 0); later costs are ignored.
    n_sims, seed : draws of the effects for the NPV interval.
    currency : printed after amounts in the summary, tables and charts (config ``currency``).
    intangible_scores : config ``intangibles`` entries, shown beside NPV
        (:func:`gapkit.sensitivity.intangibles`).
    interventions : :class:`gapkit.impact.Intervention` objects (``read_interventions``); one
        that ended by ``as_of`` is appraised looking back (see the module's conventions).

    Examples
    --------
    >>> reach = gapkit.money.reach_for(data, valuation, "2025-06-30")  # data, valuation: module example
    >>> gapkit.money.cost_benefit(measured, data["costs"], valuation, reach, "2025-06-30").table
    """
    appraisals = appraise(impact_table, costs, valuation, reach, as_of, interventions)
    # one stream per intervention, so adding an intervention leaves the others' intervals unchanged
    rows = [_row(a, np.random.default_rng([seed, zlib.crc32(a.intervention_id.encode())]), n_sims)
            for a in appraisals]
    table = pd.DataFrame(rows, columns=COST_BENEFIT_COLUMNS + EXTRA_COLUMNS)
    table = table.sort_values("npv", ascending=False, na_position="last", kind="stable").reset_index(drop=True)
    table["rank"] = np.arange(1, len(table) + 1)
    flows = [cash_flows(a) for a in appraisals if a.complete]
    flows = pd.concat(flows, ignore_index=True) if flows else pd.DataFrame()
    return CostBenefitResult(
        table=table, sensitivity=tornado_table(appraisals), cash_flows=flows,
        intangibles=intangibles(intangible_scores), appraisals=tuple(appraisals), currency=currency,
    )


def tornado(impact_table, costs, valuation, reach, as_of) -> pd.DataFrame:
    """NPV when one input moves at a time: effect (CI ends), value per unit and reach (+-20%),
    horizon (+-50%), discount rate (0 and 2x); largest swing first.

    The appraisals of :func:`appraise` through :func:`gapkit.sensitivity.tornado_table`.

    Examples
    --------
    >>> reach = gapkit.money.reach_for(data, valuation, "2025-06-30")  # data, valuation: module example
    >>> gapkit.money.tornado(measured, data["costs"], valuation, reach, "2025-06-30")
    """
    return tornado_table(appraise(impact_table, costs, valuation, reach, as_of))


def appraise(impact_table, costs, valuation, reach, as_of, interventions: Sequence | None = None) -> list[Appraisal]:
    """Gather each valued intervention's effects, reach, values and costs into an :class:`Appraisal`.

    Examples
    --------
    >>> reach = gapkit.money.reach_for(data, valuation, "2025-06-30")  # data, valuation: module example
    >>> gapkit.money.appraise(measured, data["costs"], valuation, reach, "2025-06-30")[0].run_rate
    """
    table = getattr(impact_table, "table", impact_table)
    entries = [valuation_entry(v, i) for i, v in enumerate(valuation)]
    ended = {iv.id: iv for iv in interventions or () if iv.end_at is not None and iv.end_at <= end_of_day(as_of)}
    out = []
    for iid in dict.fromkeys(e["intervention_id"] for e in entries):
        mine = [e for e in entries if e["intervention_id"] == iid]
        rates = {e["discount_rate"] for e in mine}
        if len(rates) > 1:
            raise ConfigError(f"valuation for {iid}: discount_rate differs between entries ({sorted(rates)}); "
                              f"use one rate per intervention")
        benefits, notes = [], []
        for e in mine:
            row = _chosen_row(table, iid, e["kpi"])
            if not np.isfinite(row["effect"]) or not np.isfinite(row["ci_low"]):
                notes.append(f"{e['kpi']}: no estimated effect ({row.get('note') or 'see impact table'})")
            benefits.append(Benefit(e["kpi"], row["effect"], row["ci_low"], row["ci_high"], row["method"],
                                    _reach(reach, iid, e["kpi"]), e["value_per_unit"], e["horizon_months"],
                                    float(row.get("p_value", np.nan)), float(row.get("pretrend_p", np.nan))))
        one_off, run_rate, spent = _costs(costs, iid, as_of)
        if iid in ended:  # looking back: what it cost and what it brought while it ran
            iv = ended[iid]
            months_run = max((iv.end_at - iv.start_at).total_seconds() / 86400 / 30.4375, 0.0)
            out.append(Appraisal(iid, spent, 0.0, rates.pop(), tuple(benefits), "; ".join(notes), months_run))
        else:
            out.append(Appraisal(iid, one_off, run_rate, rates.pop(), tuple(benefits), "; ".join(notes)))
    return out


def monthly_reach(data: Mapping, intervention, kpi: str, as_of, months: int = RUN_RATE_MONTHS,
                  params=None) -> pd.DataFrame:
    """Units reached per month: the treated units of ``kpi`` over their last complete months.

    Treated units are the segment's (DiD), the treatment arm's inside the test window (A/B), or
    everyone's (ITS). The latest month is left out when its last day has no unit yet (partial
    month, or a windowed KPI whose window has not elapsed); then the ``months`` calendar months
    up to the last complete one are averaged.

    Examples
    --------
    >>> data = gapkit.load("data/sample")
    >>> gapkit.money.monthly_reach(data, "checkin", "repeat_purchase_rate", "2025-06-30")
    """
    iv = read_interventions(data, as_of, [intervention])
    if not iv:
        raise ConfigError(f"intervention {intervention!r} starts after as_of {as_of}: it has reached no one "
                          f"yet; pass its reach by hand")
    iv = iv[0]
    by = [c for c in (iv.segment_by, iv.variant_column) if c]
    units = kpi_units(data, kpi, as_of, by=by, params=params)
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


def reach_for(data: Mapping, valuation: Sequence[Mapping], as_of, params=None) -> pd.DataFrame:
    """:func:`monthly_reach` for every valuation entry, as one reach table.

    Examples
    --------
    >>> valuation = gapkit.config.read("gapkit.yml").valuation
    >>> gapkit.money.reach_for(gapkit.load("data/sample"), valuation, "2025-06-30")
    """
    entries = [valuation_entry(v, i) for i, v in enumerate(valuation)]
    tables = [monthly_reach(data, e["intervention_id"], e["kpi"], as_of, params=params) for e in entries]
    if not tables:
        return pd.DataFrame(columns=["intervention_id", "kpi", "units_per_month", "months", "population"])
    return pd.concat(tables, ignore_index=True)


def evaluate(effects, data: Mapping, valuation: Sequence[Mapping], as_of, params=None, seed: int = 0,
             intangible_scores: Sequence[Mapping] = (), currency: str = "") -> CostBenefitResult:
    """Cost-benefit of the measured ``effects`` with the reach and costs read from ``data``.

    Raises :class:`~gapkit.errors.InputError` when the configuration values no KPI change or
    the data has no costs table: NPV and ROI would otherwise count a strategy as free.

    Examples
    --------
    >>> data = gapkit.load("data/sample")
    >>> settings = gapkit.config.read("gapkit.yml")
    >>> effects = gapkit.impact.measure(data, "2025-06-30", ["csat", "repeat_purchase_rate"])
    >>> gapkit.money.evaluate(effects, data, settings.valuation, "2025-06-30").table
    """
    if not valuation:
        raise InputError("the configuration does not say what a KPI change is worth (no `valuation` entries)")
    if "costs" not in data:
        raise InputError("there is no costs table, so what the strategies cost is unknown; NPV and ROI would "
                         "count them as free")
    reach = reach_for(data, valuation, as_of, params=params)
    return cost_benefit(effects, data["costs"], valuation, reach, as_of, seed=seed,
                        intangible_scores=intangible_scores, currency=currency,
                        interventions=read_interventions(data, as_of))


MONEY_KINDS = {"cost_pv": "money", "benefit_pv": "money", "npv": "money", "npv_ci_low": "money",
               "npv_ci_high": "money", "roi": "share", "payback_months": "number", "rank": "count"}


@dataclass(frozen=True, eq=False, repr=False)
class CostBenefitResult(Result):
    """Cost-benefit per intervention: ``table`` (cost_benefit.csv columns first), ``sensitivity``
    (tornado), ``cash_flows`` (month by month) and ``intangibles``.

    Examples
    --------
    >>> result = gapkit.money.cost_benefit(measured, data["costs"], valuation, reach, "2025-06-30")
    >>> result.plot_tornado("checkin")  # measured, data, valuation, reach: see the module example
    """

    sensitivity: pd.DataFrame = field(default_factory=pd.DataFrame)
    cash_flows: pd.DataFrame = field(default_factory=pd.DataFrame)
    intangibles: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=INTANGIBLE_COLUMNS))
    appraisals: tuple[Appraisal, ...] = ()
    currency: str = ""
    title: ClassVar[str] = "Cost-benefit of interventions"
    artifact: ClassVar[str] = "cost_benefit.csv"
    kinds: ClassVar[dict] = MONEY_KINDS

    def shown(self) -> pd.DataFrame:
        return self.table[COST_BENEFIT_COLUMNS + ["clears_zero", "method"]]

    def overview(self):
        """NPV beside the intangible score, ranked by NPV, formatted for reading (``overview_table``: numbers)."""
        from gapkit import formatting

        return formatting.table(self.overview_table(), {**MONEY_KINDS, "intangible_score": "number"},
                                currency=self.currency)

    def overview_table(self) -> pd.DataFrame:
        """NPV beside the intangible score (sum of weighted scores), ranked by NPV."""
        score = self.intangibles.groupby("intervention_id")["weighted_score"].sum().rename("intangible_score")
        shown = self.table[["rank", "intervention_id", "npv", "npv_ci_low", "npv_ci_high", "clears_zero", "roi",
                            "payback_months"]]
        return shown.join(score, on="intervention_id")

    def summary(self) -> str:
        """Plain sentences: the ranking by NPV and which interventions clear zero with confidence."""
        lines = []
        for row in self.table.to_dict("records"):
            if not np.isfinite(row["npv"]):
                lines.append(f"{row['intervention_id']}: no NPV ({row['note']}).")
                continue
            sure = "does not clear zero with confidence"
            if row["clears_zero"]:
                sure = "clears zero with 95% confidence"
            elif row["npv_ci_high"] < 0:
                sure = "loses money with 95% confidence"
            payback = (f"pays back in month {row['payback_months']:.0f}" if np.isfinite(row["payback_months"])
                       else f"does not pay back within {row['horizon_months']} months")
            amount = lambda v: formatting.money(v, self.currency)  # noqa: E731
            caveat = f" Caveat: {row['caveat']}." if isinstance(row.get("caveat"), str) and row["caveat"] else ""
            lines.append(f"{row['rank']}. {row['intervention_id']}: NPV {amount(row['npv'])} (95% interval "
                         f"{amount(row['npv_ci_low'])} to {amount(row['npv_ci_high'])}) {sure}; {payback}.{caveat}")
        for iid, group in self.intangibles.groupby("intervention_id", sort=False):
            factors = ", ".join(f"{f} ({s:+g})" for f, s in zip(group["factor"], group["score"]))
            lines.append(f"{iid} intangibles: {factors}.")
        return "\n".join(lines)

    def plot(self, ax=None):
        """NPV of each intervention with its 95% interval, best first."""
        import matplotlib.pyplot as plt

        ax = ax or plt.gca()
        shown = self.table[np.isfinite(self.table["npv"])].iloc[::-1]
        errors = [shown["npv"] - shown["npv_ci_low"], shown["npv_ci_high"] - shown["npv"]]
        ax.errorbar(shown["npv"], np.arange(len(shown)), xerr=errors, fmt="o", capsize=4)
        ax.set_yticks(np.arange(len(shown)), [formatting.label(i) for i in shown["intervention_id"]])
        ax.axvline(0, color="grey", linewidth=0.8)
        clear = self.table.loc[self.table["clears_zero"], "intervention_id"].tolist()
        title = f"{len(clear)} of {len(shown)} interventions clear zero with 95% confidence"
        ax.set_title(textwrap.fill(formatting.label(title + (f": {', '.join(clear)}" if clear else "")), 70),
                     fontsize="medium")
        ax.set_xlabel(f"net present value ({self.currency or 'money'}, 95% interval)")
        ax.set_ylabel("intervention")
        return ax

    def plot_tornado(self, intervention_id: str, ax=None):
        """Tornado: how far each input's range moves the NPV, largest swing on top."""
        import matplotlib.pyplot as plt

        ax = ax or plt.gca()
        rows = self.sensitivity[self.sensitivity["intervention_id"] == intervention_id].iloc[::-1]
        if rows.empty:
            valued = self.table["intervention_id"].tolist()
            raise ConfigError(f"no sensitivity rows for {intervention_id!r}; pick one of {valued}")
        base = rows["npv_base"].iloc[0]
        labels = [formatting.label(f"{f}\n{lo} / {hi}") for f, lo, hi in zip(rows["factor"], rows["low"], rows["high"])]
        ax.barh(labels, rows["npv_low"] - base, left=base, label="low input", alpha=0.8)
        ax.barh(labels, rows["npv_high"] - base, left=base, label="high input", alpha=0.8)
        ax.axvline(base, color="black", linewidth=0.8)
        ax.axvline(0, color="grey", linewidth=0.8, linestyle="--")
        title = f"{intervention_id}: NPV is most sensitive to {rows['factor'].iloc[-1]}"
        ax.set_title(textwrap.fill(formatting.label(title), 70), fontsize="medium")
        ax.set_xlabel(f"net present value ({self.currency or 'money'})")
        ax.legend()
        return ax

def _row(a: Appraisal, rng: np.random.Generator, n_sims: int) -> dict:
    methods = "; ".join(f"{b.kpi}: {b.method}" for b in a.benefits)
    base = {"intervention_id": a.intervention_id, "method": methods,
            "kpis": ", ".join(b.kpi for b in a.benefits), "horizon_months": a.horizon_months,
            "discount_rate": a.discount_rate, "one_off": a.one_off, "run_rate": a.run_rate, "note": a.note,
            "caveat": "; ".join(c for b in a.benefits for c in b.caveats),
            "appraisal": (f"looking back: ended after {a.months_run:.1f} months" if a.ended
                          else "looking forward from as_of")}
    if not a.complete:
        return {**base, "clears_zero": False}
    cost_pv, benefit_pv = npv_parts(a)
    effects, ses = [b.effect for b in a.benefits], [b.se for b in a.benefits]
    draws = rng.normal(effects, ses, size=(n_sims, len(a.benefits)))
    sims = npv_parts(a, draws)[1] - cost_pv
    low, high = np.quantile(sims, [0.025, 0.975])
    npv = benefit_pv - cost_pv
    return {**base, "cost_pv": cost_pv, "benefit_pv": float(benefit_pv), "npv": float(npv),
            "npv_ci_low": low, "npv_ci_high": high, "roi": npv / cost_pv if cost_pv else np.nan,
            "payback_months": payback_months(cash_flows(a)),
            "benefit_cost_ratio": benefit_pv / cost_pv if cost_pv else np.nan,
            "p_npv_positive": float((sims > 0).mean()), "clears_zero": bool(low > 0)}


def _chosen_row(table: pd.DataFrame, iid: str, kpi: str) -> dict:
    mine = table[(table["intervention_id"] == iid) & (table["kpi"] == kpi)]
    if mine.empty:
        raise ConfigError(f"valuation names {iid} x {kpi}, which the impact table does not have; "
                          f"add {kpi} to impact.kpis or fix the valuation entry")
    chosen = mine[mine["chosen"].astype(bool)] if "chosen" in mine.columns else mine.iloc[:0]
    if chosen.empty:
        return {"effect": np.nan, "ci_low": np.nan, "ci_high": np.nan, "method": "none",
                "note": "; ".join(n for n in mine.get("note", pd.Series(dtype=str)).astype(str) if n)}
    return chosen.iloc[0].to_dict()


def _reach(reach: pd.DataFrame, iid: str, kpi: str) -> float:
    mine = reach[(reach["intervention_id"] == iid) & (reach["kpi"] == kpi)]
    if mine.empty:
        raise ConfigError(f"no reach for {iid} x {kpi}; add a row (intervention_id, kpi, units_per_month) "
                          f"or compute it with gapkit.money.monthly_reach")
    return float(mine["units_per_month"].iloc[0])


def _costs(costs: pd.DataFrame, iid: str, as_of) -> tuple[float, float, float]:
    """(one-off total, monthly run-rate, everything spent) of one intervention's costs up to ``as_of``."""
    for column in ("intervention_id", "incurred_at", "amount"):
        if column not in costs.columns:
            raise InputError(f"costs table: no column {column}; it needs intervention_id, incurred_at, amount")
    incurred = pd.to_datetime(costs["incurred_at"], utc=True)
    mine = costs[(costs["intervention_id"] == iid) & (incurred <= end_of_day(as_of))]
    kind = mine["kind"].astype(str) if "kind" in mine.columns else pd.Series("one_off", index=mine.index)
    recurring = mine[kind == "recurring"]
    one_off = float(mine.loc[kind != "recurring", "amount"].sum())  # no kind: counted once, as a one-off
    spent = float(mine["amount"].sum())
    if recurring.empty:
        return one_off, 0.0, spent
    month = pd.to_datetime(recurring["incurred_at"], utc=True).dt.tz_localize(None).dt.to_period("M")
    # the last months that had a recurring cost (a quiet month is a gap in billing, not a cut)
    paid = recurring["amount"].groupby(month.to_numpy()).sum().sort_index().tail(RUN_RATE_MONTHS)
    return one_off, float(paid.mean()), spent
