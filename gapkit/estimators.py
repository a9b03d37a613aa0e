"""How big was an effect? The estimators behind :func:`gapkit.impact.measure`, each on unit rows.

Each takes unit rows (``gapkit.units``: ``value`` and ``anchor``, plus ``treated`` or ``arm``
where the design needs them) and returns an :class:`Estimate` on the KPI's scale:

- :func:`ab_test`: the control arm is the counterfactual (two-sample test on the units of the
  ``arm`` column's "treatment" and "control").
- :func:`did`: difference-in-differences. Unit-level OLS ``value ~ treated + post +
  treated:post`` with standard errors clustered by customer, and a placebo DiD on the
  pre-period (fake start at its midpoint) as a pre-trend check.
- :func:`its`: no comparison group; an interrupted time series on the monthly KPI (segmented
  regression ``y ~ t + post + t_since`` on unweighted monthly means, Newey-West errors floored
  at the classical OLS errors, since HAC is biased low on short series). The effect is the
  level change at the start; the slope change is in ``note``.
- :func:`pre_post`: the treated units after minus before, a labelled naive baseline: it
  ignores time trends.

Effects are on the KPI's scale: a share difference is a probability difference (0.05 = 5
points), NPS is in NPS points, a mean in score units. Median KPIs (durations) are modelled on
log duration; the effect is reported in the KPI's unit as ``baseline median x (exp(b) - 1)``
and ``relative_effect = exp(b) - 1``. ``relative_effect`` is otherwise effect / baseline, the
baseline being the treated group's pre-period value (the control arm's value in an A/B test).

The monthly lines the result plots (observed, control, counterfactual) are built here too,
since the counterfactual is the estimator's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.stats.power import NormalIndPower, zt_ind_solve_power
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_effectsize,
    proportions_ztest,
)
from statsmodels.stats.weightstats import CompareMeans

from gapkit.kpi_catalog import MEDIAN, NPS, SHARE, Z95

__all__ = ["Estimate", "Z95", "ab_test", "did", "its", "pre_post"]



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


def did(units: pd.DataFrame, start_at, end_at=None, kind: str = SHARE, placebo: bool = True) -> Estimate:
    """Difference-in-differences on unit rows: OLS ``value ~ treated + post + treated:post``.

    ``units`` needs ``value``, ``anchor`` and a boolean ``treated``; with ``customer_id`` the
    errors are clustered by customer, since one customer's units are not independent. ``post``
    is ``start_at <= anchor`` (units after ``end_at`` are dropped). With ``placebo`` the same
    model on the pre-period alone, with a fake start at its midpoint, gives ``pretrend_p``.

    Examples
    --------
    >>> u = gapkit.units(gapkit.load("data/sample"), "csat", "2025-06-30", by=["segment"])
    >>> gapkit.estimators.did(u.assign(treated=u.segment == "B"), "2025-01-01").effect
    """
    frame, note = _prepared(units, kind, start_at, end_at)
    frame["treated"] = frame["treated"].astype(bool)
    cells = frame.groupby(["treated", "post"]).size()
    if len(cells) < 4 or cells.min() < 2:
        return Estimate("did", note="needs treated and control units both before and after the start")
    coef, low, high, p = _ols(frame, "y ~ treated + post + treated:post", "treated[T.True]:post[T.True]")
    pre_treated = frame.loc[frame["treated"] & ~frame["post"], "value"]
    est = _on_kpi_scale("did", kind, coef, low, high, p, pre_treated)
    pretrend = _placebo(frame[~frame["post"]]) if placebo else np.nan
    if pretrend < 0.05:
        note += f"pre-trends differ (placebo DiD p = {pretrend:.3f}): parallel trends doubtful; "
    n_treated = int(frame["treated"].sum())
    return _replace(est, n_treated=n_treated, n_control=len(frame) - n_treated, pretrend_p=pretrend,
                    note=(note + _scale_note(kind)).strip("; "))


def pre_post(units: pd.DataFrame, start_at, end_at=None, kind: str = SHARE) -> Estimate:
    """Naive after-minus-before on the treated units (OLS ``value ~ post``, clustered by customer).

    Shown beside the real estimate so the reader sees how much the time trend would mislead.

    Examples
    --------
    >>> u = gapkit.units(gapkit.load("data/sample"), "csat", "2025-06-30", by=["segment"])
    >>> gapkit.estimators.pre_post(u[u.segment == "B"], "2025-01-01").effect
    """
    frame, note = _prepared(units, kind, start_at, end_at)
    if frame["post"].sum() < 2 or (~frame["post"]).sum() < 2:
        return Estimate("pre_post", note="needs treated units both before and after the start")
    coef, low, high, p = _ols(frame, "y ~ post", "post[T.True]")
    est = _on_kpi_scale("pre_post", kind, coef, low, high, p, frame.loc[~frame["post"], "value"])
    return _replace(est, n_treated=len(frame), n_control=0, note=(note + _scale_note(kind)).strip("; "))


def its(units: pd.DataFrame, start_at, end_at=None, kind: str = SHARE) -> Estimate:
    """Interrupted time series: segmented regression on the monthly series, Newey-West errors.

    Monthly means of ``value`` (log value for medians) are unweighted: each month counts once,
    so a busy month does not dominate the trend. The standard error is the larger of
    Newey-West's and the classical one (HAC alone under-covers on a couple of dozen months).
    The effect is the level change at the start; the slope change per month is in ``note``.

    Examples
    --------
    >>> u = gapkit.units(gapkit.load("data/sample"), "first_response_hours", "2025-06-30")
    >>> gapkit.estimators.its(u, "2025-03-01", kind="median").relative_effect
    """
    return its_with_lines(units, start_at, end_at, kind)[0]


def ab_test(units: pd.DataFrame, kind: str = SHARE) -> Estimate:
    """Two-sample comparison of the ``arm`` column's "treatment" and "control" units.

    Shares use the z-test and Newcombe's interval for a difference of proportions; means (and
    NPS, and log durations for medians) use Welch's t. ``power`` is the power to detect the
    observed difference at this n (descriptive only); ``mde`` is the smallest difference
    detectable with 80% power at alpha 0.05, on the KPI's scale.

    Examples
    --------
    >>> u = gapkit.units(gapkit.load("data/sample"), "csat", "2025-06-30", by=["variant"])
    >>> gapkit.estimators.ab_test(u[u.period.between("2024-09", "2024-12")].rename(columns={"variant": "arm"}))
    """
    arm = units["arm"].astype(str)
    t_units, c_units = units[arm == "treatment"], units[arm == "control"]
    n_t, n_c = len(t_units), len(c_units)
    if min(n_t, n_c) < 2:
        return Estimate("ab", n_treated=n_t, n_control=n_c, note="needs units in both arms")
    note = _cluster_note(units)
    power = NormalIndPower()
    ratio = n_c / n_t
    mde_d = zt_ind_solve_power(effect_size=None, nobs1=n_t, alpha=0.05, power=0.8, ratio=ratio)
    if kind == SHARE:
        x_t, x_c = t_units["value"].sum(), c_units["value"].sum()
        p_t, p_c = x_t / n_t, x_c / n_c
        p = proportions_ztest([x_t, x_c], [n_t, n_c])[1]
        low, high = confint_proportions_2indep(x_t, n_t, x_c, n_c, compare="diff", method="newcomb")
        h = proportion_effectsize(p_t, p_c)
        # Cohen's h back to a probability difference around the control arm's rate
        mde = math.sin(min(math.asin(math.sqrt(p_c)) + mde_d / 2, math.pi / 2)) ** 2 - p_c
        est = Estimate("ab", p_t - p_c, low, high, p, (p_t - p_c) / p_c if p_c else np.nan,
                       baseline=p_c, power=power.power(abs(h), n_t, 0.05, ratio), mde=mde)
    else:
        log = kind == MEDIAN
        y_t, y_c = (np.log(u.loc[u["value"] > 0, "value"]) if log else u["value"] for u in (t_units, c_units))
        compare = CompareMeans.from_data(y_t.to_numpy(float), y_c.to_numpy(float))
        _, p, _ = compare.ttest_ind(usevar="unequal")
        low, high = compare.tconfint_diff(usevar="unequal")
        diff = y_t.mean() - y_c.mean()
        sd = math.sqrt((y_t.var() * (n_t - 1) + y_c.var() * (n_c - 1)) / (n_t + n_c - 2))
        baseline = c_units["value"].median() if log else _scale(kind) * y_c.mean()
        d_power = power.power(abs(diff) / sd, n_t, 0.05, ratio) if sd > 0 else np.nan
        if log:
            rel = [math.expm1(v) for v in (diff, low, high, mde_d * sd)]
            est = Estimate("ab", *(baseline * r for r in rel[:3]), p, rel[0], baseline=baseline,
                           power=d_power, mde=baseline * rel[3])
            note += "median KPI: Welch t on log duration; effect = control median x (exp(b) - 1); "
        else:
            s = _scale(kind)
            est = Estimate("ab", s * diff, s * low, s * high, p, s * diff / baseline if baseline else np.nan,
                           baseline=baseline, power=d_power, mde=s * mde_d * sd)
    note += "power is at the observed difference (descriptive); mde = 80% power, alpha 0.05"
    return _replace(est, n_treated=n_t, n_control=n_c, note=note)


def utc(value) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _prepared(units: pd.DataFrame, kind: str, start_at, end_at) -> tuple[pd.DataFrame, str]:
    """Units with ``post`` and the modelled ``y`` (log duration for medians); notes what was dropped."""
    start = utc(start_at)
    frame = units[units["anchor"] <= utc(end_at)] if end_at is not None else units
    frame = frame.assign(post=frame["anchor"] >= start)
    note = ""
    if kind == MEDIAN:
        positive = frame["value"] > 0
        if (~positive).any():
            note = f"{int((~positive).sum())} zero durations left out of the log model; "
        frame = frame[positive].assign(y=np.log(frame.loc[positive, "value"].astype(float)))
    else:
        frame = frame.assign(y=frame["value"].astype(float))
    return frame, note


def _ols(frame: pd.DataFrame, formula: str, term: str) -> tuple[float, float, float, float]:
    """One coefficient with its 95% CI and p, errors clustered by customer when known."""
    model = smf.ols(formula, frame)
    if "customer_id" in frame.columns:
        groups = pd.factorize(frame["customer_id"])[0]
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": groups})
    else:
        fit = model.fit(cov_type="HC1")
    low, high = fit.conf_int().loc[term]
    return float(fit.params[term]), float(low), float(high), float(fit.pvalues[term])


def _placebo(pre: pd.DataFrame) -> float:
    """p of a DiD with a fake start at the pre-period's midpoint; small p = trends already differed."""
    if pre.empty:
        return np.nan
    first, last = pre["anchor"].min(), pre["anchor"].max()
    fake = pre.assign(post=pre["anchor"] >= first + (last - first) / 2)
    cells = fake.groupby(["treated", "post"]).size()
    if len(cells) < 4 or cells.min() < 2:
        return np.nan
    return _ols(fake, "y ~ treated + post + treated:post", "treated[T.True]:post[T.True]")[3]


def _scale(kind: str) -> float:
    return 100.0 if kind == NPS else 1.0


def _scale_note(kind: str) -> str:
    if kind == MEDIAN:
        return "median KPI: model on log duration; effect = treated pre-period median x (exp(b) - 1)"
    return ""


def _on_kpi_scale(method: str, kind: str, coef, low, high, p, pre_values: pd.Series) -> Estimate:
    """A model coefficient (and CI) as an effect in the KPI's unit, with its relative size."""
    if kind == MEDIAN:
        baseline = float(pre_values.median())
        rel = [math.expm1(v) for v in (coef, low, high)]
        return Estimate(method, *(baseline * r for r in rel), p, rel[0], baseline=baseline)
    s = _scale(kind)
    baseline = s * float(pre_values.mean())
    rel = s * coef / baseline if baseline else np.nan
    return Estimate(method, s * coef, s * low, s * high, p, rel, baseline=baseline)


def _replace(est: Estimate, **changes) -> Estimate:
    return Estimate(**{**asdict(est), **changes})


def _cluster_note(units: pd.DataFrame) -> str:
    if "customer_id" not in units.columns or units["customer_id"].is_unique:
        return ""
    repeat = int(units["customer_id"].duplicated().sum())
    return f"{repeat} units share a customer with another unit; two-sample test treats them as independent; "


def _month(anchor: pd.Series) -> pd.Series:
    return anchor.dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("M").dt.to_timestamp()


def _monthly(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Monthly mean of the modelled value, with n and a normal-approximation 95% CI."""
    y = np.log(frame["value"].where(frame["value"] > 0)) if kind == MEDIAN else frame["value"].astype(float)
    out = y.groupby(_month(frame["anchor"])).agg(["mean", "std", "count"]).rename_axis("month").reset_index()
    half = Z95 * out["std"].fillna(0) / np.sqrt(out["count"])
    return out.assign(low=out["mean"] - half, high=out["mean"] + half)


def _display(values, kind: str):
    """Model scale back to the KPI's display scale (NPS points, geometric mean duration)."""
    return np.exp(values) if kind == MEDIAN else _scale(kind) * np.asarray(values, dtype=float)


def monthly_lines(frame: pd.DataFrame, kind: str, groups: Mapping[str, pd.Series]) -> pd.DataFrame:
    pieces = []
    for name, mask in groups.items():
        m = _monthly(frame[mask.reindex(frame.index, fill_value=False)], kind)
        pieces.append(_line(m, name, kind))
    return pd.concat(pieces, ignore_index=True)


def _line(monthly: pd.DataFrame, name: str, kind: str) -> pd.DataFrame:
    return pd.DataFrame({
        "month": monthly["month"], "line": name, "value": _display(monthly["mean"], kind),
        "ci_low": _display(monthly["low"], kind), "ci_high": _display(monthly["high"], kind),
        "n": monthly["count"],
    })


def did_lines(frame: pd.DataFrame, treated: pd.Series, kind: str, start_at) -> pd.DataFrame:
    """Treated and control by month, and the treated counterfactual: control + the pre-period gap."""
    lines = monthly_lines(frame, kind, {"treated": treated, "control": ~treated})
    pre = frame["anchor"] < utc(start_at)
    y = np.log(frame["value"].where(frame["value"] > 0)) if kind == MEDIAN else frame["value"].astype(float)
    gap = y[treated & pre].mean() - y[~treated & pre].mean()
    control = _monthly(frame[~treated], kind)
    after = control[control["month"] >= _month(pd.Series([utc(start_at)])).iloc[0]]
    cf = pd.DataFrame({"month": after["month"], "line": "counterfactual",
                       "value": _display(after["mean"] + gap, kind), "n": after["count"]})
    return pd.concat([lines, cf], ignore_index=True)


def its_with_lines(units: pd.DataFrame, start_at, end_at, kind: str) -> tuple[Estimate, pd.DataFrame | None]:
    frame, note = _prepared(units, kind, start_at, end_at)
    start = utc(start_at)
    monthly = _monthly(frame, kind)
    first_post = _month(pd.Series([start])).iloc[0]
    if start != start.normalize() or start.day != 1:
        # the month holding a mid-month start is part before, part after: neither level is clean
        monthly = monthly[monthly["month"] != first_post]
        first_post = first_post + pd.offsets.MonthBegin(1)
    # t counts calendar months, so a month without units (or the dropped one) keeps its place
    index = monthly["month"].dt.year * 12 + monthly["month"].dt.month
    monthly = monthly.assign(t=index - index.min(), post=(monthly["month"] >= first_post).astype(float))
    n_pre, n_post = int((monthly["post"] == 0).sum()), int(monthly["post"].sum())
    if n_pre < 3 or n_post < 2:
        why = f"needs >= 3 months before and >= 2 after the start (has {n_pre} and {n_post})"
        return Estimate("its", note=why), None
    t0 = monthly.loc[monthly["post"] == 1, "t"].min()
    monthly["t_since"] = (monthly["t"] - t0) * monthly["post"]
    lags = max(1, int(4 * (len(monthly) / 100) ** (2 / 9)))  # Newey-West rule of thumb
    model = smf.ols("mean ~ t + post + t_since", monthly)
    hac = model.fit(cov_type="HAC", cov_kwds={"maxlags": lags}, use_t=True)
    classic = model.fit()
    # With a couple of dozen months Newey-West errors are biased low (simulated coverage of a
    # 95% CI: 73% at 16 months), so the classical error is a floor: the larger of the two is used.
    fit = hac if hac.bse["post"] >= classic.bse["post"] else classic
    errors = "Newey-West" if fit is hac else "classical OLS (larger than Newey-West)"
    low, high = fit.conf_int().loc["post"]
    est = _on_kpi_scale("its", kind, fit.params["post"], low, high, fit.pvalues["post"],
                        frame.loc[~frame["post"], "value"])
    slope, (s_low, s_high) = fit.params["t_since"], fit.conf_int().loc["t_since"]
    s = _scale(kind)
    note += (f"slope change {s * slope:+.4g} per month (95% CI {s * s_low:+.4g} to {s * s_high:+.4g}"
             f"{', log scale' if kind == MEDIAN else ''}); {len(monthly)} unweighted monthly means; "
             f"{errors} errors (maxlags {lags}); ")
    est = _replace(est, n_treated=len(frame), n_control=0, note=(note + _scale_note(kind)).strip("; "))
    observed = _line(monthly, "treated", kind)
    after = monthly[monthly["post"] == 1]
    trend = fit.params["Intercept"] + fit.params["t"] * after["t"]
    cf = pd.DataFrame({"month": after["month"], "line": "counterfactual", "value": _display(trend, kind),
                       "n": after["count"]})
    return est, pd.concat([observed, cf], ignore_index=True)
