"""How sure is the NPV, and what does it leave out? The tornado and the intangibles.

- Tornado (one input at a time): the NPV of an :class:`gapkit.appraisal.Appraisal` when one of its
  inputs moves to the end of a range while the others stay put: the effect to its 95% CI ends,
  value per unit and reach +-20%, the horizon +-50% (costs follow the longest horizon), the
  discount rate to 0 and to 2x. Rows sort by swing (``|npv_high - npv_low|``), largest first.
- Intangibles: factors money does not capture (trust, brand warmth, staff load), scored by the
  user from -2 (harmful) to +2 (helpful) with a weight, shown beside the NPV and never added to it.

:func:`gapkit.money.cost_benefit` computes both; :func:`gapkit.money.tornado` is the tornado
straight from the impact table.

Examples
--------
>>> data = gapkit.datasets.sample()
>>> valuation = [{"intervention_id": "checkin", "kpi": "repeat_purchase_rate", "value_per_unit": 25.0,
...               "horizon_months": 24, "discount_rate": 0.10}]
>>> measured = gapkit.impact.measure(data, "2025-06-30", ["repeat_purchase_rate"])
>>> reach = gapkit.reach.reach_for(data, valuation, "2025-06-30")
>>> appraisals = gapkit.money.appraise(measured, data["costs"], valuation, reach, "2025-06-30")
>>> gapkit.sensitivity.tornado_table(appraisals)
  intervention_id                    factor  ...    npv_base         swing
...
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import pandas as pd

from gapkit.errors import ConfigError

if TYPE_CHECKING:  # money imports this module; the appraisal brings its own NPV (Appraisal.npv)
    from gapkit.impact.appraisal import Appraisal

__all__ = ["INTANGIBLE_COLUMNS", "SENSITIVITY_COLUMNS", "intangibles", "tornado_table"]

SENSITIVITY_COLUMNS = ["intervention_id", "factor", "low", "high", "npv_low", "npv_high", "npv_base", "swing"]
INTANGIBLE_COLUMNS = ["intervention_id", "factor", "score", "weight", "weighted_score", "note"]


def tornado_table(appraisals: Sequence[Appraisal]) -> pd.DataFrame:
    """NPV when one input moves at a time, per appraisal in the given order, largest swing first.

    Appraisals without a usable effect (see ``Appraisal.complete``) get no rows.

    Examples
    --------
    >>> data = gapkit.datasets.sample()
    >>> valuation = [{"intervention_id": "checkin", "kpi": "repeat_purchase_rate", "value_per_unit": 25.0,
    ...               "horizon_months": 24, "discount_rate": 0.10}]
    >>> measured = gapkit.impact.measure(data, "2025-06-30", ["repeat_purchase_rate"])
    >>> reach = gapkit.reach.reach_for(data, valuation, "2025-06-30")
    >>> appraisals = gapkit.money.appraise(measured, data["costs"], valuation, reach, "2025-06-30")
    >>> gapkit.sensitivity.tornado_table(appraisals)
      intervention_id                    factor  ...    npv_base         swing
    ...
    """
    rows = []
    for a in appraisals:
        if not a.complete:
            continue
        base = a.npv()
        for factor, low, high, npv_low, npv_high in _one_at_a_time(a):
            rows.append({"intervention_id": a.intervention_id, "factor": factor, "low": low, "high": high,
                         "npv_low": npv_low, "npv_high": npv_high, "npv_base": base,
                         "swing": abs(npv_high - npv_low)})
    out = pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS)
    order = out["intervention_id"].map({a.intervention_id: i for i, a in enumerate(appraisals)})
    out = out.assign(_order=order).sort_values(["_order", "swing"], ascending=[True, False], kind="stable")
    return out.drop(columns="_order").reset_index(drop=True)


def _one_at_a_time(a: Appraisal):
    """(factor, low label, high label, NPV at low, NPV at high) for each tornado input."""
    def scaled(attr, factor):
        return replace(a, benefits=tuple(replace(b, **{attr: getattr(b, attr) * factor}) for b in a.benefits))

    def horizon(factor):
        # costs follow: the appraisal's horizon is its longest benefit horizon
        longer = (replace(b, horizon_months=max(1, round(b.horizon_months * factor))) for b in a.benefits)
        return replace(a, benefits=tuple(longer))

    yield ("effect (95% CI ends)", "CI low", "CI high",
           a.npv([b.ci_low for b in a.benefits]), a.npv([b.ci_high for b in a.benefits]))
    yield ("value per unit (+-20%)", "-20%", "+20%",
           scaled("value_per_unit", 0.8).npv(), scaled("value_per_unit", 1.2).npv())
    yield ("reach (+-20%)", "-20%", "+20%",
           scaled("units_per_month", 0.8).npv(), scaled("units_per_month", 1.2).npv())
    yield "horizon (+-50%)", "-50%", "+50%", horizon(0.5).npv(), horizon(1.5).npv()
    yield ("discount rate (0 and 2x)", "0", f"{2 * a.discount_rate:g}",
           replace(a, discount_rate=0.0).npv(), replace(a, discount_rate=2 * a.discount_rate).npv())


def intangibles(config_list: Sequence[Mapping] = ()) -> pd.DataFrame:
    """Factors money does not capture, scored by the user from -2 (harmful) to +2 (helpful).

    Examples
    --------
    >>> scores = [{"intervention_id": "checkin", "factor": "brand warmth", "score": 2, "weight": 0.5}]
    >>> gapkit.sensitivity.intangibles(scores)
      intervention_id        factor  score  weight  weighted_score note
    0         checkin  brand warmth    2.0     0.5             1.0
    """
    rows = []
    for i, item in enumerate(config_list):
        where = f"intangibles[{i}]"
        missing = [k for k in ("intervention_id", "factor", "score") if k not in item]
        if missing:
            raise ConfigError(f"{where}: missing {missing}; give intervention_id, factor and score (-2..+2)")
        score = as_number(item["score"], f"{where}.score")
        weight = as_number(item.get("weight", 1.0), f"{where}.weight")
        if not -2 <= score <= 2:
            raise ConfigError(f"{where}.score = {score}: scores run from -2 (harmful) to +2 (helpful)")
        if weight < 0:
            raise ConfigError(f"{where}.weight = {weight}: weights must be >= 0")
        rows.append({"intervention_id": str(item["intervention_id"]), "factor": str(item["factor"]),
                     "score": score, "weight": weight, "weighted_score": score * weight,
                     "note": str(item.get("note", ""))})
    return pd.DataFrame(rows, columns=INTANGIBLE_COLUMNS)


def as_number(value, where: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where} = {value!r}: a number is expected") from None
