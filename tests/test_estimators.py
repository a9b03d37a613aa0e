"""gapkit.estimators: DiD, ITS, A/B and pre/post validated by simulation (known truth).

Monte Carlo tolerances: with R replications a 95% coverage has Monte Carlo SE
sqrt(0.95 * 0.05 / R); at R = 500 that is 0.0097, so the 93-97% band is about +-2 MC SE.
The same holds for a 5% false-positive rate (3-7%).
"""

import numpy as np
import pandas as pd
import pytest

from gapkit.impact import _ar1 as ar1
from gapkit.impact import ab, estimators

START = pd.Timestamp("2025-01-01", tz="UTC")
REPS = 500


def panel(rng, effect=0.08, shift=0.06, n_customers=300, per_customer=4, pre_trend=0.0):
    """Unit rows of a share KPI: half the customers treated from START, plus a shift for everyone.

    Each customer has a persistent propensity (so units are clustered) and units anchored
    uniformly over 2024-2025; ``pre_trend`` adds a treated-only slope before START.
    """
    customer = np.repeat(np.arange(n_customers), per_customer)
    treated = np.repeat(rng.random(n_customers) < 0.5, per_customer)
    propensity = np.repeat(rng.uniform(-0.1, 0.1, n_customers), per_customer)
    days = rng.uniform(0, 730, customer.size)
    anchor = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(days, unit="D")
    post = anchor >= START
    months_to_start = (days - 366) / 30.4
    p = (0.35 + 0.05 * treated + propensity + shift * post + effect * (treated & post)
         + pre_trend * treated * np.minimum(months_to_start, 0))
    return pd.DataFrame({
        "customer_id": customer.astype(str), "treated": treated, "anchor": anchor,
        "value": (rng.random(customer.size) < p).astype(float),
    })


@pytest.fixture(scope="module")
def monte_carlo():
    rng = np.random.default_rng(20250101)
    rows = []
    for _ in range(REPS):
        units = panel(rng, effect=0.08)
        est = estimators.did(units, START, placebo=False)
        naive = estimators.pre_post(units[units["treated"]], START)
        null = estimators.did(panel(rng, effect=0.0), START, placebo=False)
        rows.append({"did": est.effect, "covers": est.ci_low <= 0.08 <= est.ci_high,
                     "pre_post": naive.effect, "false_positive": null.p_value < 0.05})
    return pd.DataFrame(rows)


def test_did_is_unbiased_and_pre_post_is_fooled_by_the_shift(monte_carlo):
    mc_se = monte_carlo["did"].std() / np.sqrt(REPS)
    print(f"\nDiD mean {monte_carlo['did'].mean():.4f} (planted 0.08, MC SE {mc_se:.4f}); "
          f"pre/post mean {monte_carlo['pre_post'].mean():.4f} (planted 0.08 + shift 0.06)")
    assert abs(monte_carlo["did"].mean() - 0.08) < 3 * mc_se
    assert abs(monte_carlo["pre_post"].mean() - 0.14) < 3 * monte_carlo["pre_post"].std() / np.sqrt(REPS)


def test_did_ci_covers_the_planted_effect_95_percent_of_the_time(monte_carlo):
    coverage = monte_carlo["covers"].mean()
    print(f"\nDiD 95% CI coverage over {REPS} runs: {coverage:.3f} (MC SE {np.sqrt(0.95 * 0.05 / REPS):.4f})")
    assert 0.93 <= coverage <= 0.97


def test_did_false_positive_rate_is_five_percent(monte_carlo):
    rate = monte_carlo["false_positive"].mean()
    print(f"\nDiD false-positive rate at alpha 0.05 over {REPS} null runs: {rate:.3f}")
    assert 0.03 <= rate <= 0.07


def test_placebo_flags_diverging_pre_trends():
    rng = np.random.default_rng(3)
    parallel = estimators.did(panel(rng, n_customers=1500), START)
    diverging = estimators.did(panel(rng, n_customers=1500, pre_trend=0.02), START)
    assert parallel.pretrend_p > 0.05
    assert diverging.pretrend_p < 0.05
    assert "parallel trends doubtful" in diverging.note


def test_its_recovers_a_planted_level_change():
    rng = np.random.default_rng(11)
    months = pd.date_range("2024-01-01", "2025-12-01", freq="MS", tz="UTC")
    anchor = np.repeat(months, 200) + pd.to_timedelta(rng.uniform(0, 27, 200 * len(months)), unit="D")
    t = np.repeat(np.arange(len(months)), 200)
    post = anchor >= START
    value = 3.5 + 0.01 * t + 0.30 * post + rng.normal(0, 1, anchor.size)
    units = pd.DataFrame({"anchor": anchor, "value": value})
    est = estimators.its(units, START, kind="mean")
    assert est.ci_low <= 0.30 <= est.ci_high
    assert abs(est.effect - 0.30) < 0.15
    assert "slope change" in est.note and est.n_control == 0
    assert "AR(1) errors" in est.note


def test_its_on_durations_reports_the_relative_change():
    rng = np.random.default_rng(2)
    anchor = pd.Timestamp("2024-03-01", tz="UTC") + pd.to_timedelta(rng.uniform(0, 485, 6000), unit="D")
    faster = np.where(anchor >= pd.Timestamp("2025-03-01", tz="UTC"), 0.7, 1.0)
    hours = 6 * np.exp(1.1 * rng.standard_normal(6000)) * faster
    est = estimators.its(pd.DataFrame({"anchor": anchor, "value": hours}), "2025-03-01", kind="median")
    assert est.ci_low / est.baseline <= -0.30 <= est.ci_high / est.baseline
    assert est.relative_effect == pytest.approx(est.effect / est.baseline)


def test_ab_recovers_a_planted_difference_with_power_and_mde():
    rng = np.random.default_rng(5)
    n = 3000
    arm = np.repeat(["treatment", "control"], n)
    value = (rng.random(2 * n) < np.where(arm == "treatment", 0.36, 0.30)).astype(float)
    est = estimators.ab_test(pd.DataFrame({"arm": arm, "value": value}), kind="share")
    assert est.ci_low <= 0.06 <= est.ci_high and est.p_value < 0.05
    assert est.n_treated == est.n_control == n
    # normal-approximation MDE for two equal arms: (z_.975 + z_.8) * sqrt(2 p (1 - p) / n)
    assert est.mde == pytest.approx(2.8016 * np.sqrt(2 * 0.3 * 0.7 / n), rel=0.05)
    # the closed-form Cohen's h behind it is statsmodels' NormalIndPower.solve_power:
    # 2.80158 / sqrt(3000 / 2) = 0.0723364 at n = 3000 per arm
    from statsmodels.stats.power import NormalIndPower
    h = NormalIndPower().solve_power(effect_size=None, nobs1=n, alpha=0.05, power=0.8, ratio=1)
    assert h == pytest.approx(0.0723364, abs=1e-7)
    assert ab._solve_mde(NormalIndPower(), n, 1.0) == pytest.approx(h, rel=1e-5)  # root-finding tolerance
    assert "Fisher" not in est.note and "clustered" not in est.note
    assert 0 < est.power <= 1
    scores = rng.normal(3, 1, 2 * n) + 0.2 * (arm == "treatment")
    means = estimators.ab_test(pd.DataFrame({"arm": arm, "value": scores}), kind="mean")
    assert means.ci_low <= 0.2 <= means.ci_high


def test_did_on_log_durations_for_median_kpis():
    rng = np.random.default_rng(8)
    units = panel(rng, n_customers=2000)
    factor = np.where(units["treated"] & (units["anchor"] >= START), 0.7, 1.0)
    units["value"] = 6 * np.exp(rng.standard_normal(len(units))) * factor
    est = estimators.did(units, START, kind="median")
    assert est.ci_low / est.baseline <= -0.30 <= est.ci_high / est.baseline
    assert "log duration" in est.note



# --- ITS with autocorrelated months ------------------------------------------------------------

ITS_REPS = 2000  # per cell: MC SE 0.0049 at 0.95, so 0.93-0.97 is +-4 SE around 0.95 and
# about +-2 SE around the coverages the method really has (0.948-0.960, measured below)


@pytest.mark.parametrize("months", [24, 48])
@pytest.mark.parametrize("rho", [0.0, 0.3, 0.6])
def test_its_level_change_ci_covers_95_percent_under_ar1_errors(rho, months):
    # Segmented regression on `months` monthly means (start at the middle), AR(1) noise.
    # Coverage of the level change's 95% CI at rho 0 / 0.3 / 0.6 (docs/methods.md):
    #   before (OLS, Newey-West floored at OLS; 4,000 runs): 0.949 / 0.876 / 0.777 with 24 months,
    #     0.957 / 0.877 / 0.764 with 48
    #   after (REML-weighted AR(1) GLS; 10,000 runs): 0.960 / 0.956 / 0.952 with 24 months,
    #     0.956 / 0.954 / 0.954 with 48
    result = estimators.its_coverage(rho=rho, months=months, reps=ITS_REPS, seed=int(100 * rho) + months)
    print(f"\nITS rho {rho}, {months} months: coverage {result['coverage']:.3f} "
          f"(MC SE {result['mc_se']:.4f}), mean rho-hat {result['mean_rho_hat']:.2f}")
    assert 0.93 <= result["coverage"] <= 0.97


def test_its_false_positive_rate_with_autocorrelation_and_no_change():
    # level 0 and rho 0.6, 24 months: the level change's p < 0.05 in 1 - coverage of the runs;
    # 0.049 in 10,000 runs (the former OLS/Newey-West p: 0.22); this seed's 1,000 give 0.056
    result = estimators.its_coverage(rho=0.6, months=24, reps=1000, seed=9, level=0.0)
    print(f"\nITS false-positive rate at rho 0.6, 24 months: {result['false_positive']:.3f}")
    assert result["false_positive"] == pytest.approx(1 - result["coverage"])
    assert result["false_positive"] <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / 1000)


def test_its_ar1_grid_is_statsmodels_gls_weighted_by_reml():
    # Each grid point must equal statsmodels' GLS with sigma = rho^|t_i - t_j| (months 5 and 9
    # missing: a gap of d months has correlation rho^d), and its weight the REML likelihood
    # -log|V|/2 - log|X'V^-1X|/2 - (n - k)/2 log(r'V^-1 r), computed here from dense matrices.
    import statsmodels.api as sm

    rng = np.random.default_rng(4)
    t = np.delete(np.arange(26.0), [5, 9])
    post = (t >= 13).astype(float)
    x = np.column_stack([np.ones_like(t), t, post, (t - 13) * post])
    y = x @ [3.0, 0.05, 0.5, -0.02] + rng.normal(0, 1, len(t))
    loglik, beta, se, df = ar1._ar1_gls_grid(y, x, t)
    assert df == len(t) - 4
    reml = []
    for g in (5, 30, 45, 58):
        rho = ar1._RHO[g]
        sigma = rho ** np.abs(np.subtract.outer(t, t))
        fit = sm.GLS(y, x, sigma=sigma).fit()
        np.testing.assert_allclose(beta[g], fit.params, rtol=1e-8)
        np.testing.assert_allclose(se[g], fit.bse, rtol=1e-8)
        v_inv = np.linalg.inv(sigma)
        resid = y - x @ fit.params
        reml.append(-0.5 * np.linalg.slogdet(sigma)[1] - 0.5 * np.linalg.slogdet(x.T @ v_inv @ x)[1]
                    - 0.5 * df * np.log(resid @ v_inv @ resid))
    np.testing.assert_allclose(np.diff(loglik[[5, 30, 45, 58]]), np.diff(reml), rtol=1e-8, atol=1e-8)


def test_its_interval_is_the_mixture_of_t_quantiles():
    # One weight on one rho: the mixture is a single t(df), so the CI is the textbook
    # centre +- t_{.975, df} se: 1 +- 2.22814 * 0.5 for df 10; p = 2 P(t_10 > 2) = 0.073388.
    one = ar1._t_mixture(np.array([1.0, 0.0]), np.array([1.0, 5.0]), np.array([0.5, 1.0]), 10)
    assert (one.estimate, one.low, one.high) == pytest.approx((1.0, 1 - 1.114069, 1 + 1.114069), abs=1e-6)
    assert one.p_value == pytest.approx(0.073388, abs=1e-6)
    # two equal components at -1 and +1, se 1, df 1000 (nearly normal): symmetric, wider than
    # either alone; the 97.5% point solves (F(q - 1) + F(q + 1)) / 2 = 0.975, F the t_1000 CDF:
    # q = 2.64773 (2.64615 for the normal)
    two = ar1._t_mixture(np.array([0.5, 0.5]), np.array([-1.0, 1.0]), np.array([1.0, 1.0]), 1000)
    assert two.estimate == pytest.approx(0.0, abs=1e-12)
    assert (two.low, two.high) == pytest.approx((-2.647732, 2.647732), abs=1e-6)
    assert two.p_value == pytest.approx(1.0)


# --- A/B tests: clustering by customer, small samples, t-based power ----------------------------

def clustered_ab(rng, n_customers=120, delta=0.05, icc=0.12, base=0.70):
    """Share KPI randomised by customer; 1 + Poisson(4) surveys each (mean 5); a customer's
    propensity is Beta with mean base (+ delta if treated) and ICC 1 / (a + b + 1) = icc."""
    arm = rng.permutation(np.repeat(["treatment", "control"], n_customers // 2))
    size = 1 + rng.poisson(4, n_customers)
    mean = np.where(arm == "treatment", base + delta, base)
    propensity = rng.beta(mean * (1 / icc - 1), (1 - mean) * (1 / icc - 1))
    customer = np.repeat(np.arange(n_customers), size)
    return pd.DataFrame({"customer_id": customer.astype(str), "arm": np.repeat(arm, size),
                         "value": (rng.random(customer.size) < np.repeat(propensity, size)).astype(float)})


def test_ab_clusters_by_customer():
    # ICC 0.12, ~5 surveys per customer, 120 customers: design effect
    # 1 + (E[m^2] / E[m] - 1) ICC = 1 + (30 / 5 - 1) 0.12 = 1.6. Coverage of the 95% CI for the
    # planted +5 points: before (independent units) 0.878, after 0.949 (2,000 runs); this seed's
    # 500 give 0.950.
    rng = np.random.default_rng(12)
    reps = 500
    covered = [(lambda e: e.ci_low <= 0.05 <= e.ci_high)(estimators.ab_test(clustered_ab(rng), "share"))
               for _ in range(reps)]
    coverage = np.mean(covered)
    print(f"\nA/B clustered coverage over {reps} runs: {coverage:.3f}")
    assert coverage >= 0.93
    units = clustered_ab(np.random.default_rng(13))
    clustered = estimators.ab_test(units, "share")
    independent = estimators.ab_test(units.drop(columns="customer_id"), "share")
    assert "counts customers, not units (120 customers" in clustered.note and "customer-clustered" in clustered.note
    assert clustered.effect == pytest.approx(independent.effect)
    # this sample's estimated design effect is 1.23 (noisy with 120 customers; 1.6 in expectation):
    # the mde is on n / 1.23 (0.1102 vs 0.1003) and the CI is sqrt(1.23) = 1.11 times as wide
    assert "design effect 1.23" in clustered.note
    assert clustered.mde / independent.mde == pytest.approx(0.11024 / 0.10033, rel=1e-3)
    width = (clustered.ci_high - clustered.ci_low) / (independent.ci_high - independent.ci_low)
    assert width == pytest.approx(1.11, abs=0.02)


def test_ab_small_share_uses_fishers_exact_test():
    from dataclasses import asdict

    from gapkit.impact.effects import finding

    units = pd.DataFrame({"arm": ["treatment"] * 2 + ["control"] * 2, "value": [1.0, 1.0, 0.0, 0.0]})
    est = estimators.ab_test(units, "share")
    # Fisher: P(this table | margins) = 1 / C(4, 2) = 1/6, two-sided 2/6 (the z-test gave 0.046)
    assert est.p_value == pytest.approx(1 / 3)
    # Agresti-Caffo: (3/4 - 1/4) +- 1.95996 sqrt(2 * 3/4 * 1/4 / 4) = 0.5 +- 0.60013, capped at 1
    assert (est.ci_low, est.ci_high) == pytest.approx((-0.10013, 1.0), abs=1e-4)
    assert est.effect == 1.0 and "Fisher's exact test" in est.note
    text = finding({**asdict(est), "intervention_id": "sms", "kpi": "csat"})
    assert text.startswith("No clear effect of sms on csat")


def test_ab_share_false_positive_rate_at_8_per_arm_is_at_most_5_percent():
    # Exact, no simulation: the rejection rate under H0 (both arms at rate p) summed over all
    # 9 x 9 tables. Before (z-test): 0.0047 / 0.0527 / 0.0768 / 0.0527 / 0.0047 at p 0.1 / 0.3 /
    # 0.5 / 0.7 / 0.9; after (Fisher's exact, as every 8-per-arm table has an expected count < 5):
    # 0.0004 / 0.0119 / 0.0213 / 0.0119 / 0.0004 (Fisher is conservative).
    from scipy.stats import binom

    n = 8
    arm = ["treatment"] * n + ["control"] * n
    reject = np.zeros((n + 1, n + 1))
    for x_t in range(n + 1):
        for x_c in range(n + 1):
            value = [1.0] * x_t + [0.0] * (n - x_t) + [1.0] * x_c + [0.0] * (n - x_c)
            reject[x_t, x_c] = estimators.ab_test(pd.DataFrame({"arm": arm, "value": value}), "share").p_value < 0.05
    for p in (0.1, 0.3, 0.5, 0.7, 0.9):
        prob = binom.pmf(np.arange(n + 1), n, p)
        size = prob @ reject @ prob
        print(f"\nshare A/B, 8 per arm, rate {p}: false-positive rate {size:.4f}")
        assert size <= 0.05
        assert size == pytest.approx({0.1: 0.0004, 0.3: 0.0119, 0.5: 0.0213, 0.7: 0.0119, 0.9: 0.0004}[p], abs=1e-4)


def test_ab_mean_false_positive_rate_at_8_per_arm():
    # Welch's t (t-based at any n, before and after): 0.050 (normal) and 0.048 (skewed 1-5 scores)
    # in 2,000 runs; this seed's 1,000 give 0.056 and 0.038
    rng = np.random.default_rng(21)
    reps, arm = 1000, np.repeat(["treatment", "control"], 8)
    for draw in (lambda: rng.normal(3, 1, 16), lambda: rng.choice([1.0, 2, 3, 4, 5], 16, p=[.05, .1, .15, .3, .4])):
        rate = np.mean([estimators.ab_test(pd.DataFrame({"arm": arm, "value": draw()}), "mean").p_value < 0.05
                        for _ in range(reps)])
        print(f"\nmean A/B, 8 per arm: false-positive rate {rate:.3f}")
        assert rate <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / reps)


def test_ab_mean_mde_has_80_percent_power_at_10_per_arm():
    # TTestIndPower: d = 1.32495 SD for 80% power with 10 per arm (the normal formula's 1.25291
    # had 0.745 power in 4,000 runs). Planting 1.32495 SD: power 0.791 in 10,000 runs, a little under
    # 0.80 because Welch's t has fewer df than the pooled t the formula assumes; this seed's 2,000
    # give 0.797. Tolerance: 2 MC SE (0.018) around 0.791.
    from statsmodels.stats.power import TTestIndPower

    d = TTestIndPower().solve_power(effect_size=None, nobs1=10, alpha=0.05, power=0.8, ratio=1)
    assert d == pytest.approx(1.324947, abs=1e-6)
    rng = np.random.default_rng(31)
    reps, arm = 2000, np.repeat(["treatment", "control"], 10)
    treated = arm == "treatment"
    ests = [estimators.ab_test(pd.DataFrame({"arm": arm, "value": rng.normal(0, 1, 20) + d * treated}), "mean")
            for _ in range(reps)]
    power = np.mean([e.p_value < 0.05 for e in ests])
    print(f"\nmean A/B, 10 per arm, planted the mde {d:.4f} SD: power {power:.3f}")
    assert abs(power - 0.791) <= 2 * np.sqrt(0.8 * 0.2 / reps)
    # the reported mde is d x the pooled SD of the sample
    y = rng.normal(0, 1, 20)
    one = estimators.ab_test(pd.DataFrame({"arm": arm, "value": y}), "mean")
    pooled_sd = np.sqrt((y[treated].var(ddof=1) + y[~treated].var(ddof=1)) / 2)
    assert one.mde == pytest.approx(d * pooled_sd, rel=1e-6)


def test_its_on_a_constant_series_claims_nothing():
    # every month at exactly 1.0: level change 0 (to rounding), a zero-width CI and no p, rather
    # than a p computed from rounding noise (the unguarded mixture gave p = 0.0006 here)
    months = pd.date_range("2024-01-01", "2025-12-01", freq="MS", tz="UTC")
    units = pd.DataFrame({"anchor": np.repeat(months, 20) + pd.Timedelta(days=3), "value": 1.0})
    est = estimators.its(units, START, kind="share")
    assert est.effect == pytest.approx(0.0, abs=1e-12) and est.ci_low == est.ci_high == est.effect
    assert np.isnan(est.p_value) and "nothing to test" in est.note


def test_did_reports_the_pre_trend_and_an_interval_that_survives_it():
    """The audit's case: a treated-only pre-trend of 0.01/month biases the DiD by about +0.06
    (its CI then misses the planted 0.08 most of the time). The pre-period slope difference is
    reported with its interval, and the trend-robust interval (shifted by the bias a continued
    trend would cause) still holds the planted effect."""
    rng = np.random.default_rng(11)
    covered_plain = covered_robust = 0
    runs = 40
    for _ in range(runs):
        est = estimators.did(panel(rng, n_customers=1500, pre_trend=0.01), START)
        assert est.pretrend_ci_low < est.pretrend_slope < est.pretrend_ci_high
        covered_plain += est.ci_low <= 0.08 <= est.ci_high
        covered_robust += est.trend_robust_low <= 0.08 <= est.trend_robust_high
    last = est
    assert last.pretrend_ci_low <= 0.01 <= last.pretrend_ci_high  # the slope planted before the start
    # units sit uniformly over a year before and a year after: the mean months differ by ~12
    assert last.trend_bias == pytest.approx(12 * last.pretrend_slope, rel=0.1)
    assert covered_plain / runs < 0.6 and covered_robust / runs >= 0.9
    assert "would move the DiD" in last.note
    parallel = estimators.did(panel(rng, n_customers=1500), START)
    assert parallel.trend_robust_low <= parallel.ci_low and parallel.ci_high <= parallel.trend_robust_high


def few_treated_customers(rng, n_customers, treated_share, kind, icc=0.12, base=0.70):
    """No effect; customers randomised, 1 + Poisson(4) units each, alike within a customer."""
    n_t = int(round(n_customers * treated_share))
    arm = rng.permutation(np.r_[np.repeat("treatment", n_t), np.repeat("control", n_customers - n_t)])
    size = 1 + rng.poisson(4, n_customers)
    customer = np.repeat(np.arange(n_customers), size)
    if kind == "share":
        propensity = rng.beta(base * (1 / icc - 1), (1 - base) * (1 / icc - 1), n_customers)
        value = (rng.random(customer.size) < np.repeat(propensity, size)).astype(float)
    else:
        level = np.repeat(rng.normal(0, np.sqrt(icc), n_customers), size)
        value = np.clip(np.round(3.5 + level + rng.normal(0, np.sqrt(1 - icc), customer.size)), 1, 5)
    return pd.DataFrame({"customer_id": customer.astype(str), "arm": np.repeat(arm, size), "value": value})


@pytest.mark.slow
@pytest.mark.parametrize("customers, treated", [(60, 0.1), (20, 0.2)])
def test_ab_with_few_treated_customers_holds_its_false_positive_rate(customers, treated):
    # the review: 10% of 60 customers treated gave 0.18 / 0.15 false positives (shares / means),
    # 20% of 20 gave 0.14 / 0.17; measured here before the fix 0.13 / 0.09 and 0.17 / 0.11 (400
    # runs). With fewer than 30 customers in an arm the test re-randomizes over customers.
    rng = np.random.default_rng(customers)
    for kind in ("share", "mean"):
        rate = np.mean([estimators.ab_test(few_treated_customers(rng, customers, treated, kind), kind).p_value < 0.05
                        for _ in range(600)])
        print(f"\nA/B, {treated:.0%} of {customers} customers treated, {kind}: false positives {rate:.3f}")
        assert rate <= 0.065  # 0.05 +- 0.009 (Monte Carlo) at 600 runs


def test_a_randomization_test_agrees_with_the_exact_one_on_a_small_design():
    # 6 customers, 3 treated: 20 equally likely assignments; the exact two-sided p-value of the
    # observed difference in unit means is the share of assignments at least as far from zero
    import itertools

    values = {0: [1, 1], 1: [1, 0, 1], 2: [1], 3: [0, 0], 4: [0, 1, 0], 5: [0]}
    arm = {c: "treatment" if c < 3 else "control" for c in values}
    units = pd.DataFrame([{"customer_id": str(c), "arm": arm[c], "value": float(v)}
                          for c, vs in values.items() for v in vs])
    est = estimators.ab_test(units, "share")
    sums, sizes = np.array([sum(v) for v in values.values()]), np.array([len(v) for v in values.values()])

    def diff(chosen):
        inside = np.isin(np.arange(6), chosen)
        return sums[inside].sum() / sizes[inside].sum() - sums[~inside].sum() / sizes[~inside].sum()

    observed = diff([0, 1, 2])
    exact = np.mean([abs(diff(c)) >= abs(observed) - 1e-12 for c in itertools.combinations(range(6), 3)])
    assert est.p_value == pytest.approx(exact, abs=0.02) and "re-randomizing" in est.note
    assert est.ci_low <= est.effect <= est.ci_high


def swinging_did(rng, swing, ar, months=24, start=12, per_cell=40, effect=0.05, segments=3):
    """A share KPI, segment 0 treated from month 12 (+5 points); each segment x month has its own
    shock of SD ``swing`` (a campaign, a carrier's bad month), persisting with AR ``ar``."""
    rows = []
    for segment in range(segments):
        shock = 0.0
        for m in range(months):
            shock = ar * shock + np.sqrt(1 - ar**2) * rng.normal(0, swing)
            p = np.clip(0.6 + shock + (effect if segment == 0 and m >= start else 0.0), 0.01, 0.99)
            n = rng.poisson(per_cell)
            anchor = pd.Timestamp("2023-01-01", tz="UTC") + pd.DateOffset(months=m)
            rows.append(pd.DataFrame({"anchor": anchor + pd.to_timedelta(rng.integers(0, 28, n), "D"),
                                      "value": (rng.random(n) < p).astype(float), "treated": segment == 0,
                                      "customer_id": [f"{segment}-{m}-{i}" for i in range(n)]}))
    return pd.concat(rows, ignore_index=True)


@pytest.mark.slow
@pytest.mark.parametrize("swing, ar", [(0.0, 0.0), (0.10, 0.0), (0.10, 0.6)])
def test_did_covers_the_planted_effect_when_segments_swing_month_to_month(swing, ar):
    # the review: coverage 0.870 with segment x month swings of SD 0.10, 0.817 when they persist
    # (AR 0.6); here the unit-level interval alone covered 0.735 / 0.545 (200 runs). 1,000 runs:
    # Monte Carlo SE 0.007
    rng = np.random.default_rng(int(swing * 100) + int(ar * 10))
    start = pd.Timestamp("2024-01-01", tz="UTC")
    covered = [(lambda e: e.ci_low <= 0.05 <= e.ci_high)(
        estimators.did(swinging_did(rng, swing, ar), start, kind="share", placebo=False)) for _ in range(1000)]
    print(f"\nDiD, swings {swing}, AR {ar}: coverage {np.mean(covered):.3f}")
    assert np.mean(covered) >= 0.93


def seasonal_units(rng, peak=0.10, months=24, per_month=200, start_month=22):
    """A share KPI with a November-December peak of ``peak`` and no effect at all."""
    frames = []
    for m in range(months):
        anchor = pd.Timestamp("2023-01-01", tz="UTC") + pd.DateOffset(months=m)
        p = 0.6 + (peak if anchor.month in (11, 12) else 0.0)
        n = rng.poisson(per_month)
        frames.append(pd.DataFrame({"anchor": anchor + pd.to_timedelta(rng.integers(0, 28, n), "D"),
                                    "value": (rng.random(n) < p).astype(float)}))
    return pd.concat(frames, ignore_index=True), pd.Timestamp("2023-01-01", tz="UTC") + pd.DateOffset(months=start_month)


def test_an_its_starting_in_a_recurring_peak_says_so():
    # issue 28: with a November-December peak an ITS starting in November found effects that were
    # the season (false positives 0.095 at 12 months, 0.193 at 24); the caveat names the season
    rng = np.random.default_rng(4)
    flagged, significant = [], []
    for _ in range(60):
        est = estimators.its(*seasonal_units(rng), kind="share")
        flagged.append("may be the season" in est.note)
        significant.append(est.p_value < 0.05)
    flagged, significant = np.array(flagged), np.array(significant)
    # measured: 32% of these runs "find" an effect; 97% carry the caveat, every significant one
    assert flagged.mean() >= 0.9 and flagged[significant].all()
    calm = [("may be the season" in estimators.its(*seasonal_units(rng, peak=0.0), kind="share").note)
            for _ in range(60)]
    assert np.mean(calm) <= 0.1  # measured 0.05
