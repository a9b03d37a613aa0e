"""The A/B test: the control arm is the counterfactual; clustered by customer when customers
repeat, exact or t-based at small n (see :func:`ab_test`)."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_effectsize,
    proportions_ztest,
)
from statsmodels.stats.weightstats import CompareMeans

from gapkit.contract.catalog import MEDIAN, SHARE
from gapkit.impact.estimate import Estimate, _replace, _scale


def ab_test(units: pd.DataFrame, kind: str = SHARE, alpha: float = 0.05) -> Estimate:
    """Two-sample comparison of the ``arm`` column's "treatment" and "control" units.

    Which test, stated in ``note``:

    - customers with several units (a ``customer_id`` column with repeats): OLS ``value ~
      treated`` with errors clustered by customer and t on (customers - 1) df, because one
      customer's surveys are alike (with 5 surveys each and an ICC of 0.12 the independent test's
      95% CI covered 85-89% of the time);
    - shares otherwise: Fisher's exact test with the Agresti-Caffo interval when any expected cell
      count of the 2x2 table is below 5 (Cochran's rule; the z-test's false-positive rate reached
      8% at 8 units per arm), else the z-test and Newcombe's interval;
    - means (and NPS, and log durations for medians) otherwise: Welch's t.

    ``mde`` is the smallest difference detectable with 80% power at alpha 0.05 on the KPI's
    scale (t-based for means: ``TTestIndPower``; Cohen's h for shares), on the effective sample
    size n / design effect when clustered; ``power`` is the power at the observed difference
    (descriptive only).

    Examples
    --------
    >>> u = gapkit.units(gapkit.datasets.sample(), "csat", "2025-06-30", by=["variant"])
    >>> est = gapkit.estimators.ab_test(u[u.period.between("2024-09", "2024-12")].rename(columns={"variant": "arm"}))
    >>> round(est.effect, 4), round(est.ci_low, 4), round(est.ci_high, 4), round(est.p_value, 3)
    (0.0361, -0.0683, 0.1406, 0.496)
    """
    arm = units["arm"].astype(str)
    t_units, c_units = units[arm == "treatment"], units[arm == "control"]
    n_t, n_c = len(t_units), len(c_units)
    if min(n_t, n_c) < 2:
        return Estimate("ab", n_treated=n_t, n_control=n_c, note="needs units in both arms")
    log = kind == MEDIAN
    control_median = float(c_units["value"].median())
    if log:
        t_units, c_units = (u[u["value"] > 0] for u in (t_units, c_units))
    y_t, y_c = (np.log(u["value"].to_numpy(float)) if log else u["value"].to_numpy(float) for u in (t_units, c_units))
    if min(len(y_t), len(y_c)) < 2:
        return Estimate("ab", n_treated=n_t, n_control=n_c, note="needs positive durations in both arms")
    diff = float(y_t.mean() - y_c.mean())
    low, high, p, design_effect, note = _difference_test(t_units, c_units, y_t, y_c, kind, alpha)
    est, extra = _sized(diff, low, high, p, y_t, y_c, design_effect, kind, control_median)
    note += extra + ("power is the chance of detecting a difference as large as the one observed (descriptive); "
                     "the smallest detectable effect (mde) is the one found 80% of the time at the 5% level")
    return _replace(est, n_treated=n_t, n_control=n_c, note=note)


def _difference_test(t_units, c_units, y_t, y_c, kind: str, alpha: float = 0.05):
    """95% CI and p of the difference in means, by the test the design calls for; the design
    effect of clustering (1 when none) and the note that names the test."""
    n_t, n_c = len(t_units), len(c_units)
    # with no variation at all there is nothing for clustering to correct
    groups = _customer_groups(pd.concat([t_units, c_units])) if np.ptp(np.r_[y_t, y_c]) > 0 else None
    design_effect = 1.0
    randomized = _randomization_test(y_t, y_c, groups, alpha) if groups is not None else None
    if randomized is not None:
        low, high, p, design_effect, customers = randomized
        note = (f"only {customers[0]} customers in one arm against {customers[1]}: the p-value and interval "
                f"come from re-randomizing the arms over customers ({PERMUTATIONS:,} draws), since with "
                f"so few customers the cluster-robust t is too often significant when nothing happened "
                f"(design effect {design_effect:.2f}); ")
        if kind == SHARE:
            low, high = max(low, -1.0), min(high, 1.0)
    elif groups is not None:
        low, high, p, design_effect = _clustered_difference(y_t, y_c, groups, alpha)
        note = (f"{len(groups) - len(np.unique(groups))} units share a customer with another unit, so the interval "
                f"counts customers, not units ({len(np.unique(groups))} customers; the clustering makes the sample "
                f"worth n / {design_effect:.2f} independent units for power and the smallest detectable effect; "
                f"technically OLS with customer-clustered errors, t on customers - 1 df, design effect "
                f"{design_effect:.2f}); ")
        if kind == SHARE:
            low, high = max(low, -1.0), min(high, 1.0)
    elif kind == SHARE:
        x_t, x_c = int(round(y_t.sum())), int(round(y_c.sum()))
        pooled = (x_t + x_c) / (n_t + n_c)
        if min(n_t, n_c) * min(pooled, 1 - pooled) < SMALL_EXPECTED:
            # the z-test's normal approximation fails here (2/2 vs 0/2 gave p = 0.046; Fisher: 0.333)
            p = stats.fisher_exact([[x_t, n_t - x_t], [x_c, n_c - x_c]]).pvalue
            low, high = confint_proportions_2indep(x_t, n_t, x_c, n_c, compare="diff", method="agresti-caffo",
                                                   alpha=alpha)
            low, high = max(low, -1.0), min(high, 1.0)
            note = (f"small n (an expected count < {SMALL_EXPECTED}): Fisher's exact test and the Agresti-Caffo "
                    f"interval; mde and power are normal approximations; ")
        else:
            p = proportions_ztest([x_t, x_c], [n_t, n_c])[1]
            low, high = confint_proportions_2indep(x_t, n_t, x_c, n_c, compare="diff", method="newcomb", alpha=alpha)
            note = ""
    else:
        compare = CompareMeans.from_data(y_t, y_c)
        _, p, _ = compare.ttest_ind(usevar="unequal")
        low, high = compare.tconfint_diff(alpha=alpha, usevar="unequal")
        note = "Welch's t; "
    return low, high, p, design_effect, note


def _sized(diff, low, high, p, y_t, y_c, design_effect: float, kind: str, control_median: float):
    """The estimate on the KPI's scale with its power and smallest detectable effect (mde)."""
    note = ""
    log = kind == MEDIAN
    # effective sample sizes: a clustered sample carries the information of n / design effect units
    e_t, e_c = len(y_t) / design_effect, len(y_c) / design_effect
    ratio = e_c / e_t
    if kind == SHARE:
        p_t, p_c = y_t.mean(), y_c.mean()
        h = proportion_effectsize(p_t, p_c)
        mde_h = _solve_mde(NormalIndPower(), e_t, ratio)
        # Cohen's h back to a probability difference around the control arm's rate
        mde = math.sin(min(math.asin(math.sqrt(p_c)) + mde_h / 2, math.pi / 2)) ** 2 - p_c
        est = Estimate("ab", diff, low, high, p, diff / p_c if p_c else np.nan, baseline=p_c,
                       power=_power(NormalIndPower(), abs(h), e_t, ratio), mde=mde)
    else:
        sd = math.sqrt((y_t.var(ddof=1) * (len(y_t) - 1) + y_c.var(ddof=1) * (len(y_c) - 1))
                       / (len(y_t) + len(y_c) - 2))
        # t-based: at 10 units per arm the normal-theory mde (d = 1.25) had only 73-74% power
        mde_d = _solve_mde(TTestIndPower(), e_t, ratio)
        d_power = _power(TTestIndPower(), abs(diff) / sd, e_t, ratio) if sd > 0 else np.nan
        if log:
            baseline = control_median
            rel = [math.expm1(v) for v in (diff, low, high, mde_d * sd)]
            est = Estimate("ab", *(baseline * r for r in rel[:3]), p, rel[0], baseline=baseline,
                           power=d_power, mde=baseline * rel[3])
            note += "median KPI: test on log duration; effect = control median x (exp(b) - 1); "
        else:
            s = _scale(kind)
            baseline = s * y_c.mean()
            est = Estimate("ab", s * diff, s * low, s * high, p, s * diff / baseline if baseline else np.nan,
                           baseline=baseline, power=d_power, mde=s * mde_d * sd)
    return est, note


#: below this expected count in any cell of the 2x2 table, shares get Fisher's exact test
SMALL_EXPECTED = 5
#: with fewer customers than this in either arm, a clustered A/B test is a randomization test
#: over customers: the cluster-robust t gave 13-17% false positives with 4-6 treated customers
FEW_CUSTOMERS = 30
PERMUTATIONS = 2000


def _randomization_test(y_t: np.ndarray, y_c: np.ndarray, groups: np.ndarray, alpha: float = 0.05):
    """Difference in unit means tested by re-randomizing the arms over customers.

    Under "no effect" every assignment of the arms to the same customers was as likely; the
    p-value is the share of ``PERMUTATIONS`` seeded re-assignments (the observed one counted)
    whose difference is as far from zero as the observed. The interval holds the shifts d for
    which "effect = d" (d taken off every treated unit) is not rejected at 5%. Returns None when
    both arms have enough customers (:data:`FEW_CUSTOMERS`), or a customer is in both arms.
    Returns (ci_low, ci_high, p, design effect, (customers in the smaller arm, in the larger)).
    """
    y = np.r_[y_t, y_c]
    treated = np.r_[np.ones(len(y_t)), np.zeros(len(y_c))]
    _, customer = np.unique(groups, return_inverse=True)
    size = np.bincount(customer)
    in_treatment = np.bincount(customer, weights=treated)
    if not np.all((in_treatment == 0) | (in_treatment == size)):
        return None
    is_treated = in_treatment > 0
    arms = sorted((int(is_treated.sum()), int((~is_treated).sum())))
    if arms[0] >= FEW_CUSTOMERS or arms[0] < 2:
        return None
    rng = np.random.default_rng(len(y))  # seeded by the data's size: the same data, the same p-value
    labels = np.array([rng.permutation(is_treated) for _ in range(PERMUTATIONS)], dtype=float)
    units_t = labels @ size
    total_n = size.sum()

    def p_value(shift: float) -> float:
        sums = np.bincount(customer, weights=y - shift * treated)
        observed = sums[is_treated].sum() / size[is_treated].sum() - sums[~is_treated].sum() / size[~is_treated].sum()
        permuted = labels @ sums / units_t - (sums.sum() - labels @ sums) / (total_n - units_t)
        return (1 + np.sum(np.abs(permuted) >= abs(observed) - 1e-12)) / (PERMUTATIONS + 1)

    diff = float(y_t.mean() - y_c.mean())
    low, high, _, design_effect = _clustered_difference(y_t, y_c, groups, alpha)
    reach = 3 * max(high - low, 1e-9)
    ends = [_boundary(p_value, diff, diff - reach, alpha), _boundary(p_value, diff, diff + reach, alpha)]
    return ends[0], ends[1], p_value(0.0), design_effect, tuple(arms)


def _boundary(p_value, inside: float, outside: float, alpha: float = 0.05, steps: int = 30) -> float:
    """Where p_value crosses alpha between a shift not rejected and one rejected (bisection)."""
    if p_value(outside) >= alpha:
        return outside
    for _ in range(steps):
        middle = (inside + outside) / 2
        inside, outside = (middle, outside) if p_value(middle) >= alpha else (inside, middle)
    return (inside + outside) / 2


def _customer_groups(rows: pd.DataFrame) -> np.ndarray | None:
    """Customer codes for clustering, or None when no customer has two units (nothing to cluster).

    A unit without a customer id is its own cluster.
    """
    if "customer_id" not in rows.columns:
        return None
    ids = rows["customer_id"].astype(object)
    missing = ids.isna().to_numpy()
    # codes in id order, so the randomization test permutes the same customers whatever the
    # order of the rows (an engine's)
    codes = pd.factorize(ids, sort=True)[0]
    codes[missing] = codes.max() + 1 + np.arange(missing.sum())
    return codes if len(np.unique(codes)) < len(codes) else None


def _clustered_difference(y_t: np.ndarray, y_c: np.ndarray, groups: np.ndarray,
                          alpha: float = 0.05) -> tuple[float, float, float, float]:
    """95% CI, p and design effect of mean(y_t) - mean(y_c) by OLS with customer-clustered errors.

    statsmodels' CR1 errors with t on (customers - 1) df; the design effect is the clustered
    variance over the heteroskedasticity-robust (HC1) one.
    """
    y = np.concatenate([y_t, y_c])
    x = sm.add_constant(np.r_[np.ones(len(y_t)), np.zeros(len(y_c))])
    model = sm.OLS(y, x)
    fit = model.fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    independent = model.fit(cov_type="HC1")
    low, high = fit.conf_int(alpha)[1]
    design_effect = float((fit.bse[1] / independent.bse[1]) ** 2) if independent.bse[1] > 0 else 1.0
    return float(low), float(high), float(fit.pvalues[1]), design_effect


def _solve_mde(analysis, nobs1: float, ratio: float) -> float:
    """Standardised effect with 80% power at alpha 0.05, two-sided (nan when n is too small).

    For the normal test the closed form ``(z_.975 + z_.8) / sqrt(n1 ratio / (1 + ratio))``, which is
    ``NormalIndPower().solve_power`` without the far rejection tail (< 1e-6 of power here) and
    without its 9 ms of root finding; the t test's is cached per (n1, ratio).
    """
    if isinstance(analysis, NormalIndPower):
        return float((stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) / math.sqrt(nobs1 * ratio / (1 + ratio)))
    return _solve_t_mde(float(nobs1), float(ratio))


@lru_cache(maxsize=1024)
def _solve_t_mde(nobs1: float, ratio: float) -> float:
    try:
        value = TTestIndPower().solve_power(effect_size=None, nobs1=nobs1, alpha=0.05, power=0.8, ratio=ratio)
    except (ValueError, RuntimeError, ZeroDivisionError):
        return np.nan
    return float(np.squeeze(value))


def _power(analysis, effect: float, nobs1: float, ratio: float) -> float:
    try:
        return float(analysis.power(effect, nobs1, 0.05, ratio))
    except (ValueError, RuntimeError, ZeroDivisionError):
        return np.nan
