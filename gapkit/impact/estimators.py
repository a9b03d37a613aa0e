"""How big was an effect? The estimators behind :func:`gapkit.impact.measure`, each on unit rows.

Each takes unit rows (``gapkit.units``: ``value`` and ``anchor``, plus ``treated`` or ``arm``
where the design needs them) and returns an :class:`Estimate` on the KPI's scale:

- :func:`ab_test`: the control arm is the counterfactual (two-sample test on the units of the
  ``arm`` column's "treatment" and "control"; clustered by customer when customers repeat;
  exact or t-based at small n).
- :func:`did`: difference-in-differences. Unit-level OLS ``value ~ treated + post +
  treated:post`` with standard errors clustered by customer, and a placebo DiD on the
  pre-period (fake start at its midpoint) as a pre-trend check.
- :func:`its`: no comparison group; an interrupted time series on the monthly KPI (segmented
  regression ``y ~ t + post + t_since`` on unweighted monthly means with AR(1) errors: GLS
  averaged over the REML likelihood of the autocorrelation, see :func:`its`). The effect is the
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

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf

from gapkit.contract.catalog import MEDIAN, SHARE, Z95
from gapkit.impact._ar1 import its_coverage, segmented_ar1
from gapkit.impact.ab import ab_test
from gapkit.impact.estimate import Estimate, _replace, _scale

__all__ = ["Estimate", "Z95", "ab_test", "did", "its", "its_coverage", "pre_post"]


def did(units: pd.DataFrame, start_at, end_at=None, kind: str = SHARE, placebo: bool = True,
        alpha: float = 0.05) -> Estimate:
    """Difference-in-differences on unit rows: OLS ``value ~ treated + post + treated:post``.

    ``units`` needs ``value``, ``anchor`` and a boolean ``treated``; with ``customer_id`` the
    errors are clustered by customer, since one customer's units are not independent. ``post``
    is ``start_at <= anchor`` (units after ``end_at`` are dropped). With ``placebo`` the same
    model on the pre-period alone, with a fake start at its midpoint, gives ``pretrend_p``.

    Examples
    --------
    >>> u = gapkit.units(gapkit.datasets.sample(), "csat", "2025-06-30", by=["segment"])
    >>> gapkit.estimators.did(u.assign(treated=u.segment == "B"), "2025-01-01").effect
    0.062019064484767406
    """
    frame, note = _prepared(units, kind, start_at, end_at)
    frame["treated"] = frame["treated"].astype(bool)
    cells = frame.groupby(["treated", "post"]).size()
    if len(cells) < 4 or cells.min() < 2:
        return Estimate("did", note="needs treated and control units both before and after the start")
    coef, low, high, p = _ols(frame, "y ~ treated + post + treated:post", "treated[T.True]:post[T.True]", alpha)
    monthly = _monthly_gap_did(frame, alpha)
    if monthly is not None and monthly.high - monthly.low > high - low:
        # month-level swings shared by a segment's customers (a campaign, a carrier's bad month)
        # are noise the customer-clustered errors do not see; the monthly gap series does
        half = (monthly.high - monthly.low) / 2
        low, high, p = coef - half, coef + half, max(p, monthly.p_value)
        note += ("the treated-minus-control gap swings from month to month more than the customers' own "
                 "variation explains, so the interval is the monthly gap series' (AR(1) errors); ")
    pre_treated = frame.loc[frame["treated"] & ~frame["post"], "value"]
    est = _on_kpi_scale("did", kind, coef, low, high, p, pre_treated)
    pretrend = _placebo(frame[~frame["post"]]) if placebo else np.nan
    drift = pretrend_bound(frame, kind) if placebo else {}
    if pretrend < 0.05:
        note += f"pre-trends differ (placebo DiD p = {pretrend:.3f}): parallel trends doubtful; "
    if drift and np.isfinite(drift["trend_bias"]):
        s = _scale(kind)
        note += (f"pre-period trends differ by {s * drift['pretrend_slope']:+.3g}/month (95% CI "
                 f"{s * drift['pretrend_ci_low']:+.3g} to {s * drift['pretrend_ci_high']:+.3g}); continued, that "
                 f"would move the DiD by {s * drift['trend_bias']:+.3g}; ")
        if kind != MEDIAN:  # on the log scale of a median the shift is not in KPI units
            drift["trend_robust_low"] = est.ci_low - s * max(drift.pop("bias_high"), 0.0)
            drift["trend_robust_high"] = est.ci_high - s * min(drift.pop("bias_low"), 0.0)
        drift["trend_bias"] *= s
        for key in ("pretrend_slope", "pretrend_ci_low", "pretrend_ci_high"):
            drift[key] *= s
    drift = {k: v for k, v in drift.items() if k in Estimate.__dataclass_fields__}
    n_treated = int(frame["treated"].sum())
    return _replace(est, n_treated=n_treated, n_control=len(frame) - n_treated, pretrend_p=pretrend,
                    note=(note + _scale_note(kind)).strip("; "), **drift)


def _monthly_gap_did(frame: pd.DataFrame, alpha: float = 0.05):
    """DiD on the monthly gap between the treated and control means: ``gap_t ~ post`` with AR(1)
    errors (rho integrated out, as the ITS). Shared month-level swings and their persistence
    are in its residuals, which the unit-level model's customer-clustered errors miss: with
    segment x month swings of SD 0.10 the unit-level interval covered 0.87 (0.82 when the swings
    persist, AR 0.6). None with fewer than 4 complete months before or 2 after the start; the
    month the start falls in, if not its first day, is left out (it is part before, part after).
    """
    from gapkit.impact._ar1 import _RHO, _ar1_gls_grid, _t_mixture

    month = _month(frame["anchor"])
    split = frame.groupby(month)["post"].nunique()
    whole = ~month.isin(split[split > 1].index)
    cells = frame[whole].groupby([month[whole], "treated"])["y"].agg(["mean", "var", "count"]).unstack("treated")
    cells = cells[(cells["count"] >= 2).all(axis=1)] if cells.shape[1] == 6 else cells.iloc[:0]
    if cells.empty:
        return None
    post = frame[whole].groupby(month[whole])["post"].first().reindex(cells.index).to_numpy(bool)
    if post.sum() < 2 or (~post).sum() < 4:
        return None
    gap = (cells[("mean", True)] - cells[("mean", False)]).to_numpy(float)
    sampling = (cells[("var", True)] / cells[("count", True)] + cells[("var", False)] / cells[("count", False)])
    if not _swings(gap, post, sampling.to_numpy(float)):
        return None
    index = cells.index.to_period("M")
    t = np.asarray([(m - index[0]).n for m in index], dtype=float)
    loglik, beta, se, df = _ar1_gls_grid(gap, np.column_stack([np.ones_like(t), post.astype(float)]), t)
    if not np.all(se > 0) or df < 2:
        return None
    weight = np.exp(loglik - loglik.max())
    weight /= weight.sum()
    assert len(weight) == len(_RHO)
    return _t_mixture(weight, beta[:, 1], se[:, 1], df, alpha)


def _swings(gap: np.ndarray, post: np.ndarray, sampling: np.ndarray, level: float = 0.10) -> bool:
    """Does the monthly gap vary around its before and after levels more than the months'
    sampling variances explain? A chi-square test of the weighted squared deviations (df: months
    - 2), at 10%: without such swings the unit-level interval holds its level and is narrower
    (the gap series' interval was 1.6 times as wide with no swings at all)."""
    from scipy import stats

    if not np.all(sampling > 0):
        return True  # a month without spread in one arm: no basis to rule swings out
    weights = 1 / sampling
    fitted = np.where(post, np.average(gap[post], weights=weights[post]),
                      np.average(gap[~post], weights=weights[~post]))
    q = float(np.sum(weights * (gap - fitted) ** 2))
    return stats.chi2.sf(q, len(gap) - 2) < level


def pretrend_bound(frame: pd.DataFrame, kind: str = SHARE) -> dict:
    """The groups' difference in monthly trend before the start, and the bias it implies.

    A placebo p-value says only whether trends differed detectably; this says by how much. In
    the pre-period, ``y ~ treated * months`` (errors clustered by customer) gives the
    difference in slope per month with its 95% CI. Were that difference to go on, the DiD would
    be off by slope x (mean month after - mean month before) of the treated units: a linear
    extrapolation bound in the spirit of Rambachan & Roth (2023). ``trend_robust_low/high``
    (set by :func:`did`) shift the effect's interval by the bias interval's far ends, so an
    effect that survives them does not hinge on parallel trends.
    """
    pre = frame[~frame["post"]]
    if pre.empty or pre.groupby("treated").size().min() < 3:
        return {}
    start = frame.loc[frame["post"], "anchor"].min() if frame["post"].any() else pre["anchor"].max()
    months = lambda anchors: (anchors - start).dt.total_seconds() / (86400 * 30.4375)  # noqa: E731
    data = pre.assign(months=months(pre["anchor"]))
    if data.groupby("treated")["months"].nunique().min() < 2:
        return {}
    slope, low, high, _ = _ols(data, "y ~ treated * months", "treated[T.True]:months")
    treated = frame[frame["treated"]]
    gap = float(months(treated.loc[treated["post"], "anchor"]).mean()
                - months(treated.loc[~treated["post"], "anchor"]).mean())
    if not np.isfinite(gap):
        return {}
    bias = sorted((low * gap, high * gap))
    return {"pretrend_slope": slope, "pretrend_ci_low": low, "pretrend_ci_high": high, "trend_bias": slope * gap,
            "bias_low": bias[0], "bias_high": bias[1]}


def pre_post(units: pd.DataFrame, start_at, end_at=None, kind: str = SHARE, alpha: float = 0.05) -> Estimate:
    """Naive after-minus-before on the treated units (OLS ``value ~ post``, clustered by customer).

    Shown beside the real estimate so the reader sees how much the time trend would mislead.

    Examples
    --------
    >>> u = gapkit.units(gapkit.datasets.sample(), "csat", "2025-06-30", by=["segment"])
    >>> gapkit.estimators.pre_post(u[u.segment == "B"], "2025-01-01").effect
    -0.004563350035791391
    """
    frame, note = _prepared(units, kind, start_at, end_at)
    if frame["post"].sum() < 2 or (~frame["post"]).sum() < 2:
        return Estimate("pre_post", note="needs treated units both before and after the start")
    coef, low, high, p = _ols(frame, "y ~ post", "post[T.True]", alpha)
    est = _on_kpi_scale("pre_post", kind, coef, low, high, p, frame.loc[~frame["post"], "value"])
    return _replace(est, n_treated=len(frame), n_control=0, note=(note + _scale_note(kind)).strip("; "))


def its(units: pd.DataFrame, start_at, end_at=None, kind: str = SHARE, alpha: float = 0.05) -> Estimate:
    """Interrupted time series: segmented regression on the monthly series with AR(1) errors.

    Monthly means of ``value`` (log value for medians) are unweighted: each month counts once,
    so a busy month does not dominate the trend. The errors are AR(1) and the autocorrelation is
    integrated out rather than plugged in: GLS at each rho of a grid, weighted by the rho's REML
    likelihood (flat prior on atanh(rho)); the 95% CI is the 2.5/97.5% points of the resulting
    mixture of t(months - 4) distributions. Plug-in methods (OLS, Newey-West, GLSAR, SARIMAX)
    covered 76-86% at rho 0.6 over 24 months; this covers 95% (see :func:`its_coverage`).
    The effect is the level change at the start; the slope change per month and the estimated
    autocorrelation are in ``note``.

    Examples
    --------
    >>> u = gapkit.units(gapkit.datasets.sample(), "first_response_hours", "2025-06-30")
    >>> gapkit.estimators.its(u, "2025-03-01", kind="median").relative_effect
    -0.4018918250756726
    """
    return its_with_lines(units, start_at, end_at, kind, alpha)[0]


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


def _ols(frame: pd.DataFrame, formula: str, term: str, alpha: float = 0.05) -> tuple[float, float, float, float]:
    """One coefficient with its 95% CI and p, errors clustered by customer when known."""
    model = smf.ols(formula, frame)
    if "customer_id" in frame.columns:
        groups = pd.factorize(frame["customer_id"])[0]
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": groups})
    else:
        fit = model.fit(cov_type="HC1")
    low, high = fit.conf_int(alpha).loc[term]
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


def _seasonal_caveat(monthly: pd.DataFrame, t0: float, level: float, scale: float) -> str:
    """A caveat when the start falls in the calendar months that stood out the year before.

    An ITS reads the first months after the start against the line of the months before; when
    those calendar months ran above (or below) that line a year earlier in the direction of the
    estimated change, part of the "level change" may be the season (with a November-December
    peak the ITS gave 9.5% false positives at 12 months and 19% at 24). Needs 12 months before
    the start; the mean deviation of the months of the same season from the pre-period line is
    compared with the other months' spread (more than two of its standard errors: a caveat).
    """
    pre = monthly[monthly["t"] < t0]
    if len(pre) < 12:
        return ""
    fitted = np.polyval(np.polyfit(pre["t"].to_numpy(float), pre["mean"].to_numpy(float), 1), pre["t"])
    residual = pre["mean"].to_numpy(float) - fitted
    first = monthly.loc[monthly["t"] >= t0, "month"].head(2).dt.month.tolist()
    season = pre["month"].dt.month.isin(first).to_numpy()
    if not season.any() or (~season).sum() < 6:
        return ""
    spread = float(np.std(residual[~season], ddof=1))
    ahead = float(residual[season].mean())
    if not spread > 0 or abs(ahead) <= 2 * spread / np.sqrt(season.sum()) or np.sign(ahead) != np.sign(level):
        return ""
    names = " and ".join(pd.Timestamp(2000, m, 1).strftime("%B") for m in first)
    return (f"the start falls in {names}, which ran {scale * ahead:+.3g} against the trend the year before: "
            f"part of the level change may be the season; a comparison group or a second year would tell; ")


def its_with_lines(units: pd.DataFrame, start_at, end_at, kind: str,
                   alpha: float = 0.05) -> tuple[Estimate, pd.DataFrame | None]:
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
    fit = segmented_ar1(monthly["mean"].to_numpy(float), monthly["t"].to_numpy(float), float(t0), alpha=alpha)
    level, slope = fit["post"], fit["t_since"]
    est = _on_kpi_scale("its", kind, level.estimate, level.low, level.high, level.p_value,
                        frame.loc[~frame["post"], "value"])
    s = _scale(kind)
    errors = (f"a month's deviation may carry over into the next (autocorrelation {fit['rho']:.2f}), which the "
              f"interval allows for (technically AR(1) errors fitted by REML-weighted GLS, t on {fit['df']} df)"
              if np.isfinite(fit["rho"]) else "the months lie exactly on the segmented line: nothing to test")
    note += (f"slope change {s * slope.estimate:+.4g} per month (95% CI {s * slope.low:+.4g} to "
             f"{s * slope.high:+.4g}{', log scale' if kind == MEDIAN else ''}); {len(monthly)} unweighted "
             f"monthly means; {errors}; ") + _seasonal_caveat(monthly, t0, level.estimate, s)
    est = _replace(est, n_treated=len(frame), n_control=0, note=(note + _scale_note(kind)).strip("; "))
    observed = _line(monthly, "treated", kind)
    after = monthly[monthly["post"] == 1]
    trend = fit["Intercept"].estimate + fit["t"].estimate * after["t"]
    cf = pd.DataFrame({"month": after["month"], "line": "counterfactual", "value": _display(trend, kind),
                       "n": after["count"]})
    return est, pd.concat([observed, cf], ignore_index=True)
