"""The arithmetic of an appraisal: benefits and costs month by month, discounting, NPV, payback.

The conventions (month 0 = as_of, monthly compounding, looking back for an ended intervention)
are stated once, in :mod:`gapkit.money`.

Examples
--------
>>> from gapkit.impact.appraisal import Appraisal, Benefit
>>> lift = Benefit("repeat_purchase_rate", effect=0.02, ci_low=0.01, ci_high=0.03, method="did",
...                units_per_month=400.0, value_per_unit=25.0, horizon_months=24)
>>> checkin = Appraisal("checkin", one_off=1000.0, run_rate=50.0, discount_rate=0.10, benefits=(lift,))
>>> round(checkin.npv(), 2)
2264.69
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gapkit.contract.catalog import KPIS, MEDIAN, Z95
from gapkit.report.formatting import p_brief


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
    #: the control or pre-period median, for a median KPI: its effect is baseline x (exp(b) - 1)
    #: with b estimated on log duration, so its interval is not symmetric about the effect
    baseline: float = float("nan")
    #: the normal quantile of the impact table's interval (1.96 for 95%), to read its SE from
    z: float = Z95

    @property
    def caveats(self) -> list[str]:
        """What makes this effect a weak basis for money (empty when nothing does)."""
        out = []
        if np.isfinite(self.p_value) and self.p_value >= 0.05:
            out.append(f"{self.kpi} effect not distinguishable from zero ({p_brief(self.p_value)})")
        if np.isfinite(self.pretrend_p) and self.pretrend_p < 0.05:
            out.append(f"{self.kpi} placebo (pre-trend) check failed ({p_brief(self.pretrend_p)})")
        if self.method in ("its", "pre_post"):
            out.append(f"{self.kpi} by {self.method}: no comparison group")
        return out

    @property
    def se(self) -> float:
        return (self.ci_high - self.ci_low) / (2 * self.z)

    @property
    def on_log_scale(self) -> bool:
        """A median KPI's effect, estimated on log duration (see :mod:`gapkit.impact.estimators`)."""
        return (self.kpi in KPIS and KPIS[self.kpi].kind == MEDIAN and np.isfinite(self.baseline)
                and self.baseline > 0 and self.ci_low > -self.baseline)

    def draws(self, z: np.ndarray) -> np.ndarray:
        """Effects at standard-normal draws ``z`` of the estimate, on the scale it was made on.

        A median KPI's interval is symmetric on log duration, not in hours: drawn in hours around
        the effect, an interval from -9.6 to +0.2 h became -10.4 to -0.6 h and "cleared zero". Here
        b = log(1 + effect / baseline) is drawn and turned back into hours.
        """
        z = np.asarray(z, dtype=float)
        if not self.on_log_scale:
            return self.effect + self.se * z
        b, low, high = (np.log1p(v / self.baseline) for v in (self.effect, self.ci_low, self.ci_high))
        return self.baseline * np.expm1(b + (high - low) / (2 * self.z) * z)


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
        >>> from gapkit.impact.appraisal import Appraisal, Benefit
        >>> lift = Benefit("repeat_purchase_rate", effect=0.02, ci_low=0.01, ci_high=0.03, method="did",
        ...                units_per_month=400.0, value_per_unit=25.0, horizon_months=24)
        >>> checkin = Appraisal("checkin", one_off=1000.0, run_rate=50.0, discount_rate=0.10, benefits=(lift,))
        >>> checkin.npv()
        2264.6851511265154
        """
        cost_pv, benefit_pv = npv_parts(self, effects)
        return float(benefit_pv - cost_pv)


def monthly_rate(annual_rate: float) -> float:
    """Monthly rate equivalent to an annual one: (1 + r)^(1/12) - 1.

    Examples
    --------
    >>> round(gapkit.appraisal.monthly_rate(0.10), 6)
    0.007974
    """
    return (1 + annual_rate) ** (1 / 12) - 1


def cash_flows(appraisal: Appraisal, effects: Sequence[float] | None = None) -> pd.DataFrame:
    """Month-by-month flows: month 0 (one-off costs, undiscounted) to the longest horizon.

    Examples
    --------
    >>> from gapkit.impact.appraisal import Appraisal, Benefit
    >>> lift = Benefit("repeat_purchase_rate", effect=0.02, ci_low=0.01, ci_high=0.03, method="did",
    ...                units_per_month=400.0, value_per_unit=25.0, horizon_months=24)
    >>> checkin = Appraisal("checkin", one_off=1000.0, run_rate=50.0, discount_rate=0.10, benefits=(lift,))
    >>> flows = gapkit.appraisal.cash_flows(checkin)
    >>> flows[["month", "net", "cumulative_pv"]].head()
       month     net  cumulative_pv
    0      0 -1000.0   -1000.000000
    1      1   150.0    -851.186658
    2      2   150.0    -703.550588
    3      3   150.0    -557.082474
    4      4   150.0    -411.773078
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
    >>> from gapkit.impact.appraisal import Appraisal, Benefit
    >>> lift = Benefit("repeat_purchase_rate", effect=0.02, ci_low=0.01, ci_high=0.03, method="did",
    ...                units_per_month=400.0, value_per_unit=25.0, horizon_months=24)
    >>> checkin = Appraisal("checkin", one_off=1000.0, run_rate=50.0, discount_rate=0.10, benefits=(lift,))
    >>> flows = gapkit.appraisal.cash_flows(checkin)
    >>> gapkit.appraisal.payback_months(flows)
    7.0
    """
    # from month 1: month 0 holds only the set-up cost, so "paid back in month 0" would just
    # mean nothing was spent up front, even for a strategy that loses money every month after
    reached = flows.loc[(flows["month"] >= 1) & (flows["cumulative_pv"] >= -1e-9), "month"]
    return float(reached.iloc[0]) if len(reached) else np.nan


def npv_parts(appraisal: Appraisal, effects=None) -> tuple[float, np.ndarray]:
    """(cost_pv, benefit_pv); benefit_pv is an array when ``effects`` holds draws (one column per KPI).

    Examples
    --------
    >>> from gapkit.impact.appraisal import Appraisal, Benefit
    >>> lift = Benefit("repeat_purchase_rate", effect=0.02, ci_low=0.01, ci_high=0.03, method="did",
    ...                units_per_month=400.0, value_per_unit=25.0, horizon_months=24)
    >>> checkin = Appraisal("checkin", one_off=1000.0, run_rate=50.0, discount_rate=0.10, benefits=(lift,))
    >>> cost_pv, benefit_pv = gapkit.appraisal.npv_parts(checkin)
    >>> benefit_pv - cost_pv
    np.float64(2264.6851511265154)
    """
    discount = (1 + monthly_rate(appraisal.discount_rate)) ** -np.arange(appraisal.horizon_months + 1.0)
    cost_pv = appraisal.one_off + appraisal.run_rate * discount[1:].sum()
    effects = np.array([b.effect for b in appraisal.benefits] if effects is None else effects, dtype=float)
    per_effect = np.array([b.units_per_month * b.value_per_unit * (
        appraisal.months_run if appraisal.ended else discount[1:b.horizon_months + 1].sum())
        for b in appraisal.benefits])
    return float(cost_pv), effects @ per_effect
