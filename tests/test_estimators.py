"""gapkit.estimators: DiD, ITS, A/B and pre/post validated by simulation (known truth).

Monte Carlo tolerances: with R replications a 95% coverage has Monte Carlo SE
sqrt(0.95 * 0.05 / R); at R = 500 that is 0.0097, so the 93-97% band is about +-2 MC SE.
The same holds for a 5% false-positive rate (3-7%).
"""

import numpy as np
import pandas as pd
import pytest

from gapkit import estimators

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

