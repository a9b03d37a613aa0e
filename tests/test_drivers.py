"""gapkit.drivers: importance maths by hand, drivers per order by hand, planted truth by simulation."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import gapkit  # noqa: E402
from gapkit.analysis.drivers import (  # noqa: E402
    general_dominance,
    key_drivers,
    order_drivers,
    relative_weights,
    separable,
)
from gapkit.analysis.ipa import importance_performance  # noqa: E402
from gapkit.errors import ConfigError, InputError  # noqa: E402
from gapkit.sample import generate  # noqa: E402

DAY = pd.Timedelta(days=1)


def corr_from(rxx, rxy):
    rxx, rxy = np.asarray(rxx, float), np.asarray(rxy, float)
    return np.block([[rxx, rxy[:, None]], [rxy[None, :], np.ones((1, 1))]])


def test_orthogonal_drivers_get_their_squared_correlations():
    corr = corr_from(np.eye(3), [0.5, 0.3, 0.0])
    assert relative_weights(corr) == pytest.approx([0.25, 0.09, 0.0])
    assert general_dominance(corr) == pytest.approx([0.25, 0.09, 0.0])


def test_weights_split_r2_between_correlated_drivers():
    corr = corr_from([[1, 0.6], [0.6, 1]], [0.5, 0.4])
    r2 = corr[:2, 2] @ np.linalg.solve(corr[:2, :2], corr[:2, 2])
    rw, gd = relative_weights(corr), general_dominance(corr)
    assert rw.sum() == pytest.approx(r2) and gd.sum() == pytest.approx(r2)
    # two drivers: general dominance = mean of the driver's R2 alone and its gain over the other
    assert gd[0] == pytest.approx((0.5**2 + (r2 - 0.4**2)) / 2)
    assert rw[0] > rw[1] > 0


def utc(values):
    return pd.to_datetime(pd.Series(values), utc=True)


def test_order_drivers_by_hand():
    orders = pd.DataFrame({
        "order_id": ["O1", "O2", "O3", "O4"], "customer_id": ["C1", "C2", "C3", "C4"],
        "ordered_at": utc(["2025-01-01T10:00Z", "2025-01-01T10:00Z", "2025-01-01T10:00Z", "2025-06-27T10:00Z"]),
        "promised_at": utc(["2025-01-05", "2025-01-05", "2025-01-05", "2025-07-01"]),
        "delivered_at": utc(["2025-01-05T18:00Z", "2025-01-06T09:00Z", None, "2025-06-29T10:00Z"]),
    })
    followups = pd.DataFrame({
        "followup_id": ["F1", "F2", "F3"], "order_id": ["O1", "O2", "O4"], "customer_id": ["C1", "C2", "C4"],
        "sent_at": utc(["2025-01-07T18:00Z", "2025-01-20T09:00Z", "2025-06-30T10:00Z"]),
        "personalized": [True, True, False],
    })
    tickets = pd.DataFrame({
        "ticket_id": ["T1", "T2"], "customer_id": ["C2", "C4"], "order_id": ["O2", "O4"],
        "created_at": utc(["2025-01-06T10:00Z", "2025-06-30T09:00Z"]),
        "first_response_at": utc(["2025-01-07T12:00Z", None]), "resolved_at": utc(["2025-01-08T10:00Z", None]),
    })
    x = order_drivers({"orders": orders, "followups": followups, "tickets": tickets}, as_of="2025-06-30")
    assert x.loc["O1", "followup_covered"] == 1 and x.loc["O1", "followup_latency_days"] == pytest.approx(2.0)
    assert x.loc["O2", "followup_covered"] == 0 and x.loc["O2", "followup_latency_days"] == 7.0  # capped
    assert x.loc["O1", "followup_personalized"] == 1 and x.loc["O2", "followup_personalized"] == 0
    assert np.isnan(x.loc["O4", "followup_covered"])  # delivered 1 day before as_of: window still open
    # whole-day promises: O1 delivered on the promised day is on time, O2 a day later is late
    assert x.loc["O1", "delivered_on_time"] == 1 and x.loc["O2", "delivered_on_time"] == 0
    # as on_time_delivery_rate: never delivered after its promise fell due is late; O4's is not due yet
    assert x.loc["O3", "delivered_on_time"] == 0 and np.isnan(x.loc["O3", "delivery_days"])
    assert np.isnan(x.loc["O4", "delivered_on_time"])
    assert x.loc["O1", "delivery_days"] == pytest.approx(4 + 8 / 24)
    assert x.loc["O1", "first_response_in_sla"] == 1  # no ticket: no support failure
    assert x.loc["O2", "first_response_in_sla"] == 0 and x.loc["O2", "resolved_in_time"] == 1  # 26 h; 2 days
    assert np.isnan(x.loc["O4", "first_response_in_sla"])  # a 15-hour-old ticket cannot be judged yet


def simulate(n=3000, seed=11):
    """Customers whose repeat purchase depends only on follow-up coverage and on-time delivery.

    Support is pure noise (a third of the orders get a ticket answered at random speed).
    Personalization has no effect either, but segment A gets it more often and also repeats
    more: a confounder that ``controls=["segment"]`` should remove.
    """
    rng = np.random.default_rng(seed)
    first = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.uniform(0, 270, n), unit="D")
    day = first.normalize()
    segment = np.where(rng.random(n) < 0.5, "A", "B")
    on_time = rng.random(n) < 0.7
    covered = rng.random(n) < 0.6
    personal = rng.random(n) < np.where(segment == "A", 0.8, 0.2)
    promised = day + 4 * DAY
    delivered = np.where(on_time, promised - DAY, promised + 2 * DAY) + pd.Timedelta(hours=12)
    p = 0.10 + 0.25 * covered + 0.25 * on_time + 0.15 * (segment == "A")
    again = rng.random(n) < p
    ids = [f"C{i}" for i in range(n)]
    orders = pd.DataFrame({"order_id": [f"O{i}" for i in range(n)], "customer_id": ids, "ordered_at": first,
                           "promised_at": promised, "delivered_at": pd.DatetimeIndex(delivered)})
    repeats = orders.loc[again].assign(order_id=lambda o: o["order_id"] + "r",
                                       ordered_at=lambda o: o["ordered_at"] + 30 * DAY,
                                       promised_at=lambda o: o["promised_at"] + 30 * DAY,
                                       delivered_at=lambda o: o["delivered_at"] + 30 * DAY)
    lag = np.where(covered, rng.uniform(0.2, 6, n), rng.uniform(8, 20, n))
    followups = pd.DataFrame({"followup_id": [f"F{i}" for i in range(n)], "order_id": orders["order_id"],
                              "customer_id": ids, "sent_at": orders["delivered_at"] + pd.to_timedelta(lag, unit="D"),
                              "personalized": personal})
    customers = pd.DataFrame({"customer_id": ids, "segment": segment})
    has_ticket = rng.random(n) < 0.35
    created, k = orders["ordered_at"][has_ticket] + 2 * DAY, int(has_ticket.sum())
    tickets = pd.DataFrame({"ticket_id": [f"T{i}" for i in range(k)], "customer_id": orders["customer_id"][has_ticket],
                            "order_id": orders["order_id"][has_ticket], "created_at": created,
                            "first_response_at": created + pd.to_timedelta(rng.exponential(14, k), unit="h"),
                            "resolved_at": created + pd.to_timedelta(rng.exponential(4, k), unit="D")})
    return {"orders": pd.concat([orders, repeats], ignore_index=True), "followups": followups,
            "customers": customers, "tickets": tickets}


@pytest.fixture(scope="module")
def planted():
    return simulate()


def test_planted_drivers_rank_top_and_noise_gets_nothing(planted):
    kd = key_drivers(planted, "2025-06-30", drivers=["followup_covered", "delivered_on_time", "first_response_in_sla",
                                                      "resolved_in_time"], n_boot=100)
    t = kd.table.set_index("driver")
    assert set(kd.table["driver"].iloc[:2]) == {"followup_covered", "delivered_on_time"}
    assert t["importance"].sum() == pytest.approx(1.0)
    assert (t.loc[["first_response_in_sla", "resolved_in_time"], "importance"] < 0.02).all()
    assert (t.loc[["first_response_in_sla", "resolved_in_time"], "importance_ci_high"] < 0.05).all()
    assert (t.loc[["followup_covered", "delivered_on_time"], "importance_ci_low"] > 0.2).all()
    assert (t.loc[["followup_covered", "delivered_on_time"], "odds_ratio"] > 2).all()
    assert (t.loc[["followup_covered", "delivered_on_time"], "p_value"] < 1e-6).all()
    assert kd.model == "logit" and t["n"].eq(3000).all()


def test_controls_remove_a_confounded_drivers_credit(planted):
    names = ["followup_covered", "delivered_on_time", "followup_personalized"]
    naive = key_drivers(planted, "2025-06-30", drivers=names, n_boot=20).table.set_index("driver")
    fair = key_drivers(planted, "2025-06-30", drivers=names, controls="segment", n_boot=20).table.set_index("driver")
    personal = "followup_personalized"
    assert naive.loc[personal, "p_value"] < 1e-3 < 0.05 < fair.loc[personal, "p_value"]
    # what remains is the credit relative weights give it for riding on coverage (no follow-up,
    # no personalized follow-up), not segment A's higher repeat rate
    assert naive.loc[personal, "importance"] > fair.loc[personal, "importance"] + 0.05


def test_default_drivers_skip_what_the_tables_lack(planted):
    lean = {k: v for k, v in planted.items() if k != "tickets"}
    kd = key_drivers(lean, "2025-06-30", n_boot=20, method="dominance")
    assert {"first_response_in_sla", "resolved_in_time", "satisfied_csat"}.isdisjoint(kd.table["driver"])
    assert any("first_response_in_sla skipped" in note for note in kd.notes)
    # the latency and delivery-days drivers share credit with the binary ones they echo
    top = kd.table.set_index("driver")["importance"]
    assert top[["followup_covered", "followup_latency_days"]].sum() > 0.3
    assert top[["delivered_on_time", "delivery_days"]].sum() > 0.3


def test_bootstrap_is_seeded(planted):
    names = ["followup_covered", "delivered_on_time"]
    a = key_drivers(planted, "2025-06-30", drivers=names, n_boot=20, seed=3).table
    b = key_drivers(planted, "2025-06-30", drivers=names, n_boot=20, seed=3).table
    pd.testing.assert_frame_equal(a, b)


def test_score_outcome_uses_ols(planted):
    rng = np.random.default_rng(2)
    orders = planted["orders"].loc[~planted["orders"]["order_id"].str.endswith("r")]
    on_time = (orders["delivered_at"] < orders["promised_at"] + DAY).to_numpy()
    csat = np.clip(np.rint(3 + 1.2 * on_time + rng.normal(0, 0.8, len(orders))), 1, 5).astype(int)
    surveys = pd.DataFrame({"response_id": [f"S{i}" for i in range(len(orders))], "customer_id": orders["customer_id"],
                            "order_id": orders["order_id"], "sent_at": orders["delivered_at"] + DAY,
                            "answered_at": orders["delivered_at"] + 2 * DAY, "csat": csat})
    kd = key_drivers({**planted, "surveys": surveys}, "2025-06-30", outcome="csat_mean",
                     drivers=["delivered_on_time", "followup_personalized"], n_boot=20)
    t = kd.table.set_index("driver")
    assert kd.model == "ols" and t["odds_ratio"].isna().all()
    assert t.loc["delivered_on_time", "importance"] > 0.95
    assert t.loc["delivered_on_time", "coefficient"] == pytest.approx(1.2, abs=0.15)


def test_key_driver_errors(planted):
    with pytest.raises(ConfigError, match="outcome"):
        key_drivers(planted, "2025-06-30", outcome="first_response_hours")
    with pytest.raises(ConfigError, match="unknown driver"):
        key_drivers(planted, "2025-06-30", drivers=["happiness"])
    with pytest.raises(ConfigError, match="method"):
        key_drivers(planted, "2025-06-30", method="shapley")
    with pytest.raises(ConfigError, match="region"):
        key_drivers(planted, "2025-06-30", controls=["region"])
    with pytest.raises(InputError, match="too few"):
        key_drivers(planted, "2024-03-30", drivers=["followup_covered"])


def test_result_shows_itself(planted):
    kd = key_drivers(planted, "2025-06-30", drivers=["followup_covered", "delivered_on_time"], n_boot=10)
    fig, ax = plt.subplots()
    # the two planted drivers are about equally strong: their intervals overlap, so no winner is named
    assert kd.plot(ax=ax) is ax and "cannot rank the drivers" in ax.get_title()
    plt.close(fig)
    assert "Key drivers of repeat_purchase_rate" in repr(kd) and "<table" in kd._repr_html_()
    assert "cannot be ranked" in kd.summary()


def test_drivers_are_separable_only_when_an_interval_lies_above_another(planted):
    kd = key_drivers(planted, "2025-06-30", drivers=["followup_covered", "delivered_on_time",
                                                      "first_response_in_sla"], n_boot=50)
    apart, why = separable(kd.table)
    assert apart and "first_response_in_sla" in why
    fig, ax = plt.subplots()
    assert "drives repeat purchase rate most" in kd.plot(ax=ax).get_title()
    plt.close(fig)
    overlapping = kd.table.assign(importance_ci_low=0.0, importance_ci_high=0.9)
    assert separable(overlapping) == (False, "every driver's 95% importance interval overlaps every other's")
    weak = kd.table.assign(r_squared=0.005)
    assert not separable(weak)[0] and "0.5%" in separable(weak)[1]
    assert not separable(kd.table.iloc[:1])[0] and not separable(kd.table.iloc[:0])[0]


def test_sample_runs_end_to_end():
    data = gapkit.validate(generate(1500, seed=4, bad_rows=False))
    kd = key_drivers(data, "2025-06-30", n_boot=20)
    assert kd.table["importance"].sum() == pytest.approx(1.0)
    assert {"followup_covered", "delivered_on_time"} <= set(kd.table["driver"])
    assert kd.table["kpi"].isin(gapkit.KPIS).all()
    ipa = importance_performance(gapkit.kpis(data, "2025-06-30", period="M"), kd)
    assert ipa.table["performance"].between(0, 1).all()


def test_inputs_are_not_changed(planted):
    before = {name: table.copy() for name, table in planted.items()}
    key_drivers(planted, "2025-06-30", drivers=["followup_covered"], controls=["segment"], n_boot=5)
    for name, table in planted.items():
        pd.testing.assert_frame_equal(table, before[name])


def test_bootstrap_from_draw_counts_equals_copying_the_resamples():
    """The bootstrap's covariances come from how often each row was drawn; the same resamples
    copied row by row (the plain way, and gapkit's before) give the same importances."""
    from gapkit.analysis import drivers as D
    from gapkit.analysis import importance

    rng = np.random.default_rng(5)
    z = rng.normal(size=(3000, 5)) + 40  # far from 0: the moments must not cancel
    z[:, 0] += 0.5 * z[:, 1]
    fixed = (rng.random((3000, 3)) < 0.3).astype(float)
    weigh = D.METHODS["relative_weights"]
    draws = np.random.default_rng(0)
    plain = []
    for _ in range(50):
        pick = draws.integers(0, len(z), len(z))
        w = weigh(importance._partial_corr(z[pick], fixed[pick]))
        plain.append(w / w.sum())
    weights, boot = D._importance(z, fixed, weigh, 50, seed=0)
    assert boot.shape == (50, 4)
    np.testing.assert_allclose(boot, np.array(plain), rtol=0, atol=1e-12)
    np.testing.assert_allclose(weights, weigh(importance._partial_corr(z, fixed)), atol=0)


def test_above_max_units_the_model_is_fitted_on_a_stratified_seeded_sample(planted):
    """3,000 units, max_units 1,000: the model sees 1,000 units holding each outcome x segment
    group's share, says so, is seeded, and its intervals (wider) still hold the planted ranking."""
    names = ["followup_covered", "delivered_on_time", "first_response_in_sla"]
    full = key_drivers(planted, "2025-06-30", drivers=names, controls="segment", n_boot=50)
    part = key_drivers(planted, "2025-06-30", drivers=names, controls="segment", n_boot=50, max_units=1000)
    again = key_drivers(planted, "2025-06-30", drivers=names, controls="segment", n_boot=50, max_units=1000)
    pd.testing.assert_frame_equal(part.table, again.table)
    assert full.n == full.population == 3000 and part.n == 1000 and part.population == 3000
    assert part.table["n"].eq(1000).all() and "n=1,000 from a seeded random sample of the 3,000 units" in part.summary()
    assert any("random sample of 1,000 of the 3,000 units" in note for note in part.notes)
    assert not any("random sample" in note for note in full.notes)
    def width(table):
        return (table["importance_ci_high"] - table["importance_ci_low"]).mean()

    assert width(part.table) > width(full.table)
    assert set(part.table["driver"].iloc[:2]) == {"followup_covered", "delivered_on_time"}
    with pytest.raises(ConfigError, match="max_units"):
        key_drivers(planted, "2025-06-30", drivers=names, n_boot=5, max_units=0)


def test_the_sample_holds_each_stratum_share():
    from gapkit.analysis._sampling import stratified_sample as _sampled

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"value": rng.random(10_000) < 0.1, "segment": rng.choice(["A", "B", "C"], 10_000,
                                                                                    p=[0.7, 0.2, 0.1])})
    notes: list = []
    picked = _sampled(frame, ["value", "segment"], 1_000, seed=1, notes=notes)
    assert len(picked) == 1000 and picked.index.is_unique and picked.attrs["population"] == 10_000
    share = frame.value_counts(normalize=True)
    got = picked.value_counts(normalize=True).reindex(share.index)
    assert (got - share).abs().max() <= 1 / 1000  # largest remainders: within one unit of each share
    assert _sampled(frame, ["value"], None, 1, []) is frame and _sampled(frame, ["value"], 20_000, 1, []) is frame
