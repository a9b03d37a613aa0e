"""Invariants (hypothesis) and coverage by simulation of the KPI intervals."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

import gapkit

AS_OF = "2025-06-30"
ORDERS = pd.DataFrame({"order_id": ["o1"], "customer_id": ["c1"], "ordered_at": ["2025-01-01"]})


def survey_frame(scores, segments):
    n = len(scores)
    return pd.DataFrame(
        {
            "response_id": [f"r{i}" for i in range(n)],
            "customer_id": "c1",
            "sent_at": "2025-02-01",
            "answered_at": [f"2025-{1 + (i % 5) + 1:02d}-15" for i in range(n)],
            "csat": scores,
            "nps": [min(10, 2 * s) if s is not None else None for s in scores],
            "team": segments,
        }
    )


scores = st.lists(st.one_of(st.none(), st.integers(1, 5)), min_size=1, max_size=60)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scores=scores, data=st.data())
def test_every_interval_brackets_its_value_and_shares_stay_in_0_1(scores, data):
    teams = data.draw(st.lists(st.sampled_from(["x", "y", None]), min_size=len(scores), max_size=len(scores)))
    table = gapkit.kpis(
        gapkit.validate({"orders": ORDERS, "surveys": survey_frame(scores, teams)}),
        as_of=AS_OF, by=["team"], period="M", kpis=["csat", "csat_mean", "nps"],
    )
    from gapkit.contract.catalog import MIN_N, SMALL_N

    kinds = table.kpi.map(lambda k: gapkit.KPIS[k].kind)
    no_interval = table.n < kinds.map(MIN_N).astype(float)
    assert (table.small_n == (table.n < kinds.map(SMALL_N).astype(float))).all()  # flagged wherever coverage can fall short
    bounded = table[~no_interval]
    assert (bounded.ci_low <= bounded.value + 1e-12).all() and (bounded.value <= bounded.ci_high + 1e-12).all()
    shares = table[table.unit == "share"]
    assert shares.value.between(0, 1).all() and shares.ci_low.between(0, 1).all() and shares.ci_high.between(0, 1).all()
    for kpi, (low, high) in (("csat_mean", (1, 5)), ("nps", (-100, 100))):  # a t interval at n = 3 would not
        rows = bounded[bounded.kpi == kpi]
        assert rows.ci_low.between(low, high).all() and rows.ci_high.between(low, high).all()
    assert table[no_interval][["ci_low", "ci_high"]].isna().all().all()
    assert table[~no_interval][["ci_low", "ci_high"]].notna().all().all()
    overall = table[(table.period == "all") & (table.segment_by == "all") & (table.kpi == "csat")]
    assert overall.n.sum() == sum(s is not None for s in scores)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scores=scores, bad=st.sampled_from(["csat_out_of_range", "orphan_ticket", "duplicate_id", "bad_time"]))
def test_a_rejected_row_never_changes_a_kpi(scores, bad):
    frame = survey_frame(scores, ["x"] * len(scores))
    broken = frame.iloc[[0]].copy()
    broken["response_id"] = "extra"
    if bad == "csat_out_of_range":
        broken["csat"] = 9
    elif bad == "orphan_ticket":
        broken["ticket_id"] = "no-such-ticket"
    elif bad == "duplicate_id":
        broken["response_id"] = frame.loc[0, "response_id"]
    else:
        broken["answered_at"] = "2025-01-01"  # before sent_at
    tickets = pd.DataFrame({"ticket_id": ["t1"], "customer_id": ["c1"], "created_at": ["2025-01-01"]})
    clean = gapkit.validate({"orders": ORDERS, "tickets": tickets, "surveys": frame})
    dirty = gapkit.validate({"orders": ORDERS, "tickets": tickets, "surveys": pd.concat([frame, broken])})
    assert len(dirty.rejects) >= 1 and dirty.counts.set_index("table").loc["surveys", "rejected"] == 1
    kw = dict(as_of=AS_OF, by=["team"], period="M", kpis=["csat", "nps", "survey_response_rate"])
    pd.testing.assert_frame_equal(gapkit.kpis(clean, **kw), gapkit.kpis(dirty, **kw))


# --- coverage: many independent groups with a known true value, one call -------------------

GROUPS, PER_GROUP = 1000, 60


def simulated_surveys(seed):
    rng = np.random.default_rng(seed)
    csat_p = np.array([0.05, 0.1, 0.15, 0.35, 0.35])  # P(csat = 1..5)
    nps_p = np.full(11, 0.04)
    nps_p[9:] = 0.2
    nps_p /= nps_p.sum()
    n = GROUPS * PER_GROUP
    frame = pd.DataFrame(
        {
            "response_id": np.arange(n).astype(str),
            "customer_id": "c1",
            "sent_at": "2025-02-01",
            "answered_at": "2025-02-02",
            "csat": rng.choice(np.arange(1, 6), size=n, p=csat_p),
            "nps": rng.choice(np.arange(11), size=n, p=nps_p),
            "group": np.repeat(np.arange(GROUPS), PER_GROUP).astype(str),
        }
    )
    truth = {
        "csat": csat_p[3:].sum(),
        "csat_mean": (np.arange(1, 6) * csat_p).sum(),
        "nps": 100 * (nps_p[9:].sum() - nps_p[:7].sum()),
    }
    return frame, truth


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_intervals_cover_planted_values_at_about_95_percent(engine):
    frame, truth = simulated_surveys(seed=11)
    table = gapkit.kpis(gapkit.validate({"orders": ORDERS, "surveys": frame}), as_of=AS_OF, by=["group"],
                        kpis=list(truth), engine=engine)
    groups = table[table.segment_by == "group"]
    for kpi, true_value in truth.items():
        rows = groups[groups.kpi == kpi]
        assert len(rows) == GROUPS
        coverage = ((rows.ci_low <= true_value) & (true_value <= rows.ci_high)).mean()
        # 1000 groups: the coverage estimate's standard error is ~0.007
        assert 0.925 <= coverage <= 0.975, (kpi, coverage)
        print(f"{engine} {kpi}: coverage {coverage:.3f}")
        # unbiased: the average of 1000 estimates within 4 standard errors of the truth
        assert abs(rows.value.mean() - true_value) < 4 * rows.value.std() / np.sqrt(GROUPS), kpi


def test_median_interval_covers_a_planted_median():
    rng = np.random.default_rng(5)
    n = GROUPS * 30
    true_median_hours = 6.0
    hours = rng.lognormal(np.log(true_median_hours), 1.0, size=n)
    created = pd.Timestamp("2025-03-01", tz="UTC")
    tickets = pd.DataFrame(
        {
            "ticket_id": np.arange(n).astype(str),
            "customer_id": "c1",
            "created_at": created,
            "first_response_at": created + pd.to_timedelta(np.round(hours * 3600), unit="s"),
            "queue": np.repeat(np.arange(GROUPS), 30).astype(str),
        }
    )
    table = gapkit.kpis(gapkit.validate({"orders": ORDERS, "tickets": tickets}), as_of=AS_OF, by=["queue"],
                        kpis=["first_response_hours"])
    rows = table[table.segment_by == "queue"]
    coverage = ((rows.ci_low <= true_median_hours) & (true_median_hours <= rows.ci_high)).mean()
    # exact order-statistic intervals are conservative: at n = 30 the nominal level is 95.7%
    print(f"first_response_hours median: coverage {coverage:.3f}")
    assert 0.935 <= coverage <= 0.985, coverage


def _small_n_benchmark():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "small_n.py"
    spec = importlib.util.spec_from_file_location("small_n", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_small_n_flags_where_simulated_coverage_falls_short():
    """The thresholds in the catalog come from coverage: below SMALL_N the plain t interval of a
    skewed 1-5 score covered clearly less than 95% (0.83 at n = 5 in benchmarks/small_n.py). With
    half a pseudo-response at each end of the scale it is wide rather than short there (the flag
    still says so); at SMALL_N a typical one is near nominal."""
    from gapkit.contract.catalog import MEAN, SMALL_N

    bench = _small_n_benchmark()
    rng = np.random.default_rng(11)
    happy = np.array(bench.CSAT["happy"])
    truth = float(np.dot(np.arange(1, 6), happy))
    short = bench._coverage(rng.choice(np.arange(1, 6), size=(600, 5), p=happy), "csat_mean", truth)
    assert short >= 0.95  # the plain t: 0.834 with 1,000 samples; 600 samples: sd of the estimate ~0.01
    typical = np.array(bench.CSAT["typical"])
    n = SMALL_N[MEAN]
    truth = float(np.dot(np.arange(1, 6), typical))
    enough = bench._coverage(rng.choice(np.arange(1, 6), size=(600, n), p=typical), "csat_mean", truth)
    assert enough > 0.91  # 0.934 with 1,000 samples


@pytest.mark.slow  # 3 x 4000 simulated groups
@pytest.mark.parametrize("n", [30, 50, 100])
def test_the_nps_interval_holds_its_level_when_nearly_everyone_promotes(n):
    """Issue 28: 85% promoters and 5% detractors; the plain Wald interval covered 0.888 / 0.892 /
    0.928 at n = 30 / 50 / 100, the adjusted one (half a pseudo-response per group) 0.93 or more."""
    from gapkit.contract.catalog import KPIS
    from gapkit.measure.intervals import attach_intervals

    rng = np.random.default_rng(n)
    counts = rng.multinomial(n, [0.85, 0.10, 0.05], size=4000)
    scores = (counts[:, 0] - counts[:, 2]) / n
    squares = (counts[:, 0] + counts[:, 2]) / n
    sd = np.sqrt((squares - scores**2) * n / (n - 1))
    table = attach_intervals(KPIS["nps"], pd.DataFrame({"n": n, "mean": scores, "sd": sd}))
    coverage = ((table["ci_low"] <= 80) & (80 <= table["ci_high"])).mean()
    assert coverage >= 0.93, coverage  # 4000 groups: a standard error of 0.004


def test_alpha_sets_every_interval_and_the_engines_agree():
    import gapkit

    data = gapkit.datasets.sample()
    wide = gapkit.kpis(data, "2025-06-30", by=["segment"])
    narrow = gapkit.kpis(data, "2025-06-30", by=["segment"], alpha=0.10)
    keys = ["kpi", "period", "segment_by", "segment"]
    both = wide.merge(narrow, on=keys, suffixes=("_95", "_90")).dropna(subset=["ci_low_95", "ci_low_90"])
    # a 90% interval sits inside the 95% one, and strictly so for the shares, means and NPS
    assert ((both.ci_low_90 >= both.ci_low_95 - 1e-12) & (both.ci_high_90 <= both.ci_high_95 + 1e-12)).all()
    shares = both[both.unit_95 == "share"]
    assert ((shares.ci_high_90 - shares.ci_low_90) < (shares.ci_high_95 - shares.ci_low_95)).all()
    row = narrow[(narrow.kpi == "csat") & (narrow.segment_by == "all")].iloc[0]
    low, high = proportion_confint(round(row.value * row.n), row.n, alpha=0.10, method="wilson")
    assert (row.ci_low, row.ci_high) == pytest.approx((low, high))
    on_duckdb = gapkit.kpis(data, "2025-06-30", by=["segment"], alpha=0.10, engine="duckdb")
    pd.testing.assert_frame_equal(on_duckdb.set_index(keys)[["ci_low", "ci_high"]].sort_index(),
                                  narrow.set_index(keys)[["ci_low", "ci_high"]].sort_index())
    assert narrow.attrs["alpha"] == 0.10 and wide.attrs["alpha"] == 0.05
    with pytest.raises(gapkit.ConfigError, match="alpha"):
        gapkit.kpis(data, "2025-06-30", alpha=5)
    with pytest.raises(gapkit.ConfigError, match="95% ones"):
        gapkit.gaps.gaps([{"kpi": "csat", "target": 0.9, "deadline": "2025-12-31"}], narrow)


def test_as_of_left_out_is_the_last_complete_day_of_the_orders():
    import gapkit

    data = gapkit.datasets.sample()
    assert gapkit.kpis(data, kpis="csat").attrs["as_of"] == "2025-06-29"  # the last order: 2025-06-30 21:45


@pytest.mark.parametrize("name, shares", [
    ("85% give 5", [0.03, 0.03, 0.04, 0.05, 0.85]),
    ("95% give 5", [0.01, 0.01, 0.01, 0.02, 0.95]),
    ("symmetric", [0.1, 0.2, 0.4, 0.2, 0.1]),
    ("uniform", [0.2] * 5),
])
def test_a_mean_score_interval_holds_its_level_near_the_top_of_the_scale(name, shares):
    # the review: with 85% giving 5 the t interval covered 0.842 / 0.887 / 0.923 at n = 30 / 50 / 100
    # (here 0.886 / 0.912 / 0.933) and 0.53 at n = 5. 20,000 samples per n: Monte Carlo SE 0.0015
    from gapkit.measure.intervals import attach_intervals

    rng = np.random.default_rng(7)
    levels, shares = np.arange(1, 6), np.asarray(shares)
    truth = float(levels @ shares)
    for n in (10, 30, 50, 100):
        x = rng.choice(levels, size=(20_000, n), p=shares)
        table = pd.DataFrame({"n": n, "mean": x.mean(1), "sd": x.std(1, ddof=1)})
        rows = attach_intervals(gapkit.KPIS["csat_mean"], table)
        coverage = float(((rows.ci_low <= truth) & (truth <= rows.ci_high)).mean())
        assert coverage >= (0.93 if n >= 30 else 0.90), (name, n, coverage)
        assert (rows.ci_low <= rows.value).all() and (rows.value <= rows.ci_high).all()
