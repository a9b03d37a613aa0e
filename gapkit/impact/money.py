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
  1.96) of its impact row, on the scale it was estimated on (a median KPI's on log duration,
  turned back into hours), costs taken as known; an intervention's KPIs are drawn together (one
  normal draw for all: they are measured on the same customers and their joint estimate is not
  at hand, so independence would narrow the interval by cancelling). The 2.5% and 97.5%
  quantiles of the simulated NPV make the 95% interval, so it widens when the effect is less
  certain. ``clears_zero`` is ``npv_ci_low > 0``.
- The tornado (one input at a time) and the intangibles shown beside NPV are in
  :mod:`gapkit.sensitivity`; :func:`cost_benefit` includes both.

Examples
--------
>>> data = gapkit.datasets.sample()
>>> valuation = [{"intervention_id": "checkin", "kpi": "repeat_purchase_rate", "value_per_unit": 25.0,
...               "horizon_months": 24, "discount_rate": 0.10}]
>>> measured = gapkit.impact.measure(data, "2025-06-30", ["repeat_purchase_rate"])
>>> reach = gapkit.reach.reach_for(data, valuation, "2025-06-30")
>>> result = gapkit.money.cost_benefit(measured, data["costs"], valuation, reach, "2025-06-30")
>>> print(result.summary())
1. checkin: NPV 368 (95% interval -13,009 to 14,817) does not clear zero with confidence; pays back in month 1...
...
"""

from __future__ import annotations

import textwrap
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import ClassVar

import numpy as np
import pandas as pd

from gapkit.config import valuation_entry
from gapkit.contract.artifacts import columns as artifact_columns
from gapkit.errors import ConfigError, InputError, check_alpha
from gapkit.impact.appraisal import Appraisal, Benefit, cash_flows, npv_parts, payback_months
from gapkit.impact.effects import read_interventions
from gapkit.impact.sensitivity import INTANGIBLE_COLUMNS, intangibles, tornado_table
from gapkit.measure.engine import end_of_day
from gapkit.report import formatting
from gapkit.report.results import Result

COST_BENEFIT_COLUMNS = list(artifact_columns("cost_benefit.csv"))
EXTRA_COLUMNS = [
    "benefit_cost_ratio", "p_npv_positive", "method", "clears_zero", "rank", "kpis", "horizon_months",
    "discount_rate", "one_off", "run_rate", "note", "caveat", "appraisal",
]
RUN_RATE_MONTHS = 3


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
    alpha: float = 0.05,
) -> CostBenefitResult:
    """NPV, ROI, payback and a 1 - ``alpha`` (95%) NPV interval per valued intervention, ranked by NPV.

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
    >>> data = gapkit.datasets.sample()
    >>> valuation = [{"intervention_id": "checkin", "kpi": "repeat_purchase_rate", "value_per_unit": 25.0,
    ...               "horizon_months": 24, "discount_rate": 0.10}]
    >>> measured = gapkit.impact.measure(data, "2025-06-30", ["repeat_purchase_rate"])
    >>> reach = gapkit.reach.reach_for(data, valuation, "2025-06-30")
    >>> gapkit.money.cost_benefit(measured, data["costs"], valuation, reach, "2025-06-30").table
      intervention_id  ...                   appraisal
    ...
    """
    appraisals = appraise(impact_table, costs, valuation, reach, as_of, interventions)
    # one stream per intervention, so adding an intervention leaves the others' intervals unchanged
    rows = [_row(a, np.random.default_rng([seed, zlib.crc32(a.intervention_id.encode())]), n_sims, check_alpha(alpha))
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
    >>> data = gapkit.datasets.sample()
    >>> valuation = [{"intervention_id": "checkin", "kpi": "repeat_purchase_rate", "value_per_unit": 25.0,
    ...               "horizon_months": 24, "discount_rate": 0.10}]
    >>> measured = gapkit.impact.measure(data, "2025-06-30", ["repeat_purchase_rate"])
    >>> reach = gapkit.reach.reach_for(data, valuation, "2025-06-30")
    >>> gapkit.money.tornado(measured, data["costs"], valuation, reach, "2025-06-30")
      intervention_id                    factor  ...    npv_base         swing
    ...
    """
    return tornado_table(appraise(impact_table, costs, valuation, reach, as_of))


def appraise(impact_table, costs, valuation, reach, as_of, interventions: Sequence | None = None) -> list[Appraisal]:
    """Gather each valued intervention's effects, reach, values and costs into an :class:`Appraisal`.

    Examples
    --------
    >>> data = gapkit.datasets.sample()
    >>> valuation = [{"intervention_id": "checkin", "kpi": "repeat_purchase_rate", "value_per_unit": 25.0,
    ...               "horizon_months": 24, "discount_rate": 0.10}]
    >>> measured = gapkit.impact.measure(data, "2025-06-30", ["repeat_purchase_rate"])
    >>> reach = gapkit.reach.reach_for(data, valuation, "2025-06-30")
    >>> gapkit.money.appraise(measured, data["costs"], valuation, reach, "2025-06-30")[0].run_rate
    45.0
    """
    table = getattr(impact_table, "table", impact_table)
    # the impact intervals' level (gapkit.impact.measure(alpha=...)), to read their SEs right
    z = NormalDist().inv_cdf(1 - table.attrs.get("alpha", 0.05) / 2)
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
            robust = (float(row.get("trend_robust_low", np.nan)), float(row.get("trend_robust_high", np.nan)))
            if np.isfinite(robust).all() and robust[1] - robust[0] > row["ci_high"] - row["ci_low"]:
                # the money stands on what the effect could be if the pre-period trends went on
                row = {**row, "ci_low": robust[0], "ci_high": robust[1]}
                notes.append(f"{e['kpi']}: the NPV interval allows for the groups' pre-period trends going on")
            benefits.append(Benefit(e["kpi"], row["effect"], row["ci_low"], row["ci_high"], row["method"],
                                    _reach(reach, iid, e["kpi"]), e["value_per_unit"], e["horizon_months"],
                                    float(row.get("p_value", np.nan)), float(row.get("pretrend_p", np.nan)),
                                    float(row.get("baseline", np.nan)), z))
        one_off, run_rate, spent = _costs(costs, iid, as_of)
        if iid in ended:  # looking back: what it cost and what it brought while it ran
            iv = ended[iid]
            months_run = max((iv.end_at - iv.start_at).total_seconds() / 86400 / 30.4375, 0.0)
            out.append(Appraisal(iid, spent, 0.0, rates.pop(), tuple(benefits), "; ".join(notes), months_run))
        else:
            out.append(Appraisal(iid, one_off, run_rate, rates.pop(), tuple(benefits), "; ".join(notes)))
    return out


def evaluate(effects, data: Mapping, valuation: Sequence[Mapping], as_of, params=None, seed: int = 0,
             intangible_scores: Sequence[Mapping] = (), currency: str = "", alpha: float = 0.05,
             engine: str = "pandas") -> CostBenefitResult:
    """Cost-benefit of the measured ``effects`` with the reach and costs read from ``data``
    (the reach's units built on ``engine``, as for :func:`gapkit.kpis`).

    Raises :class:`~gapkit.errors.InputError` when the configuration values no KPI change or
    the data has no costs table: NPV and ROI would otherwise count a strategy as free.

    Examples
    --------
    >>> data = gapkit.datasets.sample()
    >>> settings = gapkit.datasets.sample_config()
    >>> effects = gapkit.impact.measure(data, "2025-06-30", ["csat", "repeat_purchase_rate"])
    >>> gapkit.money.evaluate(effects, data, settings.valuation, "2025-06-30").table
      intervention_id  ...                             appraisal
    ...
    """
    if not valuation:
        raise InputError("the configuration does not say what a KPI change is worth (no `valuation` entries)")
    if "costs" not in data:
        raise InputError("there is no costs table, so what the strategies cost is unknown; NPV and ROI would "
                         "count them as free")
    from gapkit.impact.reach import reach_for

    reach = reach_for(data, valuation, as_of, params=params, engine=engine)
    return cost_benefit(effects, data["costs"], valuation, reach, as_of, seed=seed,
                        intangible_scores=intangible_scores, currency=currency,
                        interventions=read_interventions(data, as_of), alpha=alpha)


MONEY_KINDS = {"cost_pv": "money", "benefit_pv": "money", "npv": "money", "npv_ci_low": "money",
               "npv_ci_high": "money", "roi": "share", "payback_months": "number", "rank": "count"}


@dataclass(frozen=True, eq=False, repr=False)
class CostBenefitResult(Result):
    """Cost-benefit per intervention: ``table`` (cost_benefit.csv columns first), ``sensitivity``
    (tornado), ``cash_flows`` (month by month) and ``intangibles``.

    Examples
    --------
    >>> data = gapkit.datasets.sample()
    >>> valuation = [{"intervention_id": "checkin", "kpi": "repeat_purchase_rate", "value_per_unit": 25.0,
    ...               "horizon_months": 24, "discount_rate": 0.10}]
    >>> measured = gapkit.impact.measure(data, "2025-06-30", ["repeat_purchase_rate"])
    >>> reach = gapkit.reach.reach_for(data, valuation, "2025-06-30")
    >>> result = gapkit.money.cost_benefit(measured, data["costs"], valuation, reach, "2025-06-30")
    >>> result.plot_tornado("checkin")
    <Axes...
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
        from gapkit.report import formatting

        return formatting.table(self.overview_table(), {**MONEY_KINDS, "intangible_score": "number"},
                                currency=self.currency,
                                caption="Each intervention's NPV with its 95% interval, beside its intangibles")

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

def _row(a: Appraisal, rng: np.random.Generator, n_sims: int, alpha: float = 0.05) -> dict:
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
    # one draw per simulation for all of the intervention's KPIs: they are measured on the same
    # customers and their joint estimate is not at hand, so they move together (the widest of the
    # assumptions; drawn independently, two KPIs' benefits narrowed the interval by cancelling)
    z = rng.standard_normal(n_sims)
    draws = np.column_stack([b.draws(z) for b in a.benefits])
    sims = npv_parts(a, draws)[1] - cost_pv
    low, high = np.quantile(sims, [alpha / 2, 1 - alpha / 2])
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
                          f"or compute it with gapkit.reach.monthly_reach")
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
