"""One method's estimate of one effect, on the KPI's scale: what every estimator returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from gapkit.contract.catalog import NPS


@dataclass(frozen=True)
class Estimate:
    """One method's estimate of one effect, on the KPI's scale."""

    method: str
    effect: float = np.nan
    ci_low: float = np.nan
    ci_high: float = np.nan
    p_value: float = np.nan
    relative_effect: float = np.nan
    n_treated: int = 0
    n_control: int = 0
    baseline: float = np.nan
    pretrend_p: float = np.nan
    power: float = np.nan
    mde: float = np.nan
    note: str = ""
    # DiD only: how far the groups' trends already differed before the start, and what that
    # would do to the effect if it went on (see :func:`pretrend`)
    pretrend_slope: float = np.nan
    pretrend_ci_low: float = np.nan
    pretrend_ci_high: float = np.nan
    trend_bias: float = np.nan
    trend_robust_low: float = np.nan
    trend_robust_high: float = np.nan


def _scale(kind: str) -> float:
    return 100.0 if kind == NPS else 1.0


def _replace(est: Estimate, **changes) -> Estimate:
    return Estimate(**{**asdict(est), **changes})
