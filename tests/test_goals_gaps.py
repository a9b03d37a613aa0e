"""Goals and gaps on data with known truths: shortfall, met, within the noise, bad deadlines."""

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gapkit
from gapkit.analysis import gaps as gap_module
from gapkit.config import Goal, from_dict
from gapkit.desired import goals as goal_module
from gapkit.desired import targets

AS_OF = "2025-06-30"
ROOT = Path(__file__).resolve().parents[1]
ORDERS = pd.DataFrame({"order_id": ["o1"], "customer_id": ["c1"], "ordered_at": ["2024-01-01"]})


def csat_surveys(p_by_team, n_per_month, months=12, seed=0):
    """Answered surveys over `months` months, csat >= 4 with a known probability per team."""
    rng = np.random.default_rng(seed)
    frames = []
    for team, p in p_by_team.items():
        for m in range(months):
            day = pd.Timestamp("2024-07-01", tz="UTC") + pd.DateOffset(months=m)
            happy = rng.random(n_per_month) < p
            frames.append(pd.DataFrame({
                "csat": np.where(happy, rng.choice([4, 5], n_per_month), rng.choice([1, 2, 3], n_per_month)),
                "team": team,
                "sent_at": day,
                "answered_at": day + pd.Timedelta(days=1),
            }))
    surveys = pd.concat(frames, ignore_index=True)
    surveys.insert(0, "response_id", [f"r{i}" for i in range(len(surveys))])
    surveys.insert(1, "customer_id", "c1")
    return gapkit.validate({"orders": ORDERS, "surveys": surveys})


@pytest.fixture(scope="module")
def table():
    data = csat_surveys({"strong": 0.85, "weak": 0.60, "tiny": 0.7}, n_per_month=60)
    return gapkit.kpis(data, as_of=AS_OF, by=["team"], period="M", kpis=["csat"])


def goal(target, segment="weak", deadline="2025-12-31", goal_id="g"):
    return Goal(goal_id, "csat", target, deadline, segment_by="team", segment=segment)


def test_statuses_follow_the_truth(table):
    weak = table.query("segment == 'weak' and period == 'all'").value.item()
    goals = [
        goal(0.80, goal_id="far"),            # weak is at ~0.60: a real shortfall
        goal(0.55, goal_id="met"),            # already past
        goal(weak + 0.01, goal_id="noise"),   # short by less than the noise (SE ~0.018 at n = 720)
        goal(0.80, segment="nobody", goal_id="absent"),
    ]
    result = gap_module.gaps(goals, table)
    status = result.table.set_index("goal_id")["status"]
    assert status.to_dict() == {"far": "shortfall", "met": "met", "noise": "not_significant",
                                "absent": "insufficient_data"}
    far = result.table.set_index("goal_id").loc["far"]
    assert far.gap == pytest.approx(0.80 - far.current) and far.gap > 0 and far.p_adj < 1e-6
    assert list(result.table.columns) == gap_module.GAP_COLUMNS


def test_gap_sign_is_shortfall_positive_for_lower_is_better():
    row = pd.Series({"n": 100, "value": 30.0, "ci_low": 28.0, "ci_high": 32.0})
    # a median of 30 hours against a 24-hour target: short by 6 hours, and the sign test says so
    values = np.r_[np.full(70, 35.0), np.full(30, 10.0)]
    p = gap_module.shortfall_p_value(row, 24.0, "median", "lower", values)
    assert p < 1e-3
    g = gap_module.gaps([Goal("t", "resolution_hours", 24.0, "2025-12-31")],
                        pd.DataFrame([{"kpi": "resolution_hours", "period": "all", "segment_by": "all",
                                       "segment": "all", "n": 100, "value": 30.0, "ci_low": 28.0,
                                       "ci_high": 32.0, "small_n": False}]))
    assert g.table.loc[0, "gap"] == pytest.approx(6.0)


def test_benjamini_hochberg_is_applied_across_goals(table):
    result = gap_module.gaps([goal(0.62, goal_id="a"), goal(0.64, goal_id="b"), goal(0.7, goal_id="c")], table)
    from statsmodels.stats.multitest import multipletests

    expected = multipletests(result.table.p_value, method="fdr_bh")[1]
    assert np.allclose(result.table.p_adj, expected)


@pytest.mark.slow  # a long simulation: in `make test`, not `make test-fast`
def test_false_shortfalls_stay_rare_when_the_target_is_true():
    # the target equals the true value: "shortfall" should come up at most ~5% of the time
    calls = []
    for seed in range(200):
        data = csat_surveys({"t": 0.7}, n_per_month=20, months=3, seed=seed)
        t = gapkit.kpis(data, as_of=AS_OF, by=["team"], kpis=["csat"])
        calls.append(gap_module.gaps([goal(0.7, segment="t")], t).table.loc[0, "status"] == "shortfall")
    assert np.mean(calls) <= 0.08


def test_smart_letters(table):
    goals = [
        goal(0.70, goal_id="reasonable", deadline="2026-06-30"),
        goal(0.99, goal_id="absurd", deadline="2025-08-31"),
        goal(0.70, goal_id="late", deadline="2025-01-31"),
        goal(0.70, goal_id="far-future", deadline="2029-01-31"),
        goal(0.70, segment="nobody", goal_id="vague"),
    ]
    verdicts = goal_module.smart(goals, table, AS_OF).table.set_index("goal_id")
    assert verdicts.loc["reasonable", "specific"] == "pass" and verdicts.loc["reasonable", "time_bound"] == "pass"
    assert verdicts.loc["reasonable", "attainable"] in ("pass", "warn")
    assert verdicts.loc["absurd", "attainable"] == "fail"
    assert verdicts.loc["late", "time_bound"] == "fail"
    assert verdicts.loc["far-future", "time_bound"] == "warn"
    with pytest.raises(gapkit.ConfigError, match="lies in 0..1"):  # a share of 120% is refused outright
        goal(1.20, goal_id="impossible")
    assert verdicts.loc["vague", "specific"] == "fail" and verdicts.loc["vague", "measurable"] == "fail"
    assert verdicts.loc["reasonable", "relevant"] == "pass"  # csat is an outcome
    assert "power" in verdicts.loc["reasonable", "reason"]


def test_attainable_warns_when_the_needed_pace_outruns_every_plausible_trend():
    # 12 flat months near 0.47 (a coverage share): +28 points in six months needs +4.7 points a
    # month; the slope's 95% interval (AR(1) line) reaches about +1 point a month at most. Below
    # the best segment (0.86), so the pace alone makes it a warning.
    rng = np.random.default_rng(3)
    months = [str(p) for p in pd.period_range("2024-07", periods=12, freq="M")]
    values = 0.47 + rng.normal(0, 0.02, 12)
    table = pd.DataFrame({"kpi": "followup_coverage", "period": months, "segment_by": "all", "segment": "all",
                          "n": 400, "value": values, "ci_low": values - 0.05, "ci_high": values + 0.05})
    table = pd.concat([table, pd.DataFrame([
        {"kpi": "followup_coverage", "period": "all", "segment_by": "all", "segment": "all", "n": 4800,
         "value": 0.47, "ci_low": 0.456, "ci_high": 0.484},
        {"kpi": "followup_coverage", "period": "all", "segment_by": "team", "segment": "B", "n": 900,
         "value": 0.86, "ci_low": 0.84, "ci_high": 0.88}])], ignore_index=True)
    row = goal_module.smart([Goal("cov", "followup_coverage", 0.75, "2025-12-31")], table, AS_OF).table.iloc[0]
    assert row["attainable"] == "warn" and "faster than the observed trend" in row["reason"]
    easy = goal_module.smart([Goal("cov", "followup_coverage", 0.50, "2025-12-31")], table, AS_OF).table.iloc[0]
    assert easy["attainable"] == "pass"  # +0.5 point a month is within the trend's interval


def test_measurable_fails_when_volume_cannot_detect_the_change(table):
    weak = table.query("segment == 'weak' and period == 'all'").value.item()
    tiny_change = goal(weak + 0.01, goal_id="tiny", deadline="2025-08-31")
    verdict = goal_module.smart([tiny_change], table, AS_OF).table.iloc[0]
    assert verdict.measurable == "fail" and "80% needs" in verdict.reason


def test_relevance_reads_the_driver_table(table):
    drivers = pd.DataFrame({"kpi": ["followup_coverage", "personalization_rate"], "importance": [0.6, 0.01],
                            "importance_ci_low": [0.4, 0.0], "p_value": [0.001, 0.7]})
    assert goal_module._relevance("followup_coverage", drivers)[0] == "pass"
    assert goal_module._relevance("personalization_rate", drivers)[0] == "warn"
    assert goal_module._relevance("delivery_days", drivers)[0] == "warn"


def test_milestones_run_from_baseline_to_target():
    steps = goal_module.milestones_for(goal(0.8, deadline="2025-12-31"), 0.6, AS_OF)
    assert steps.month.iloc[0] == "2025-06" and steps.month.iloc[-1] == "2025-12"
    assert steps.expected.iloc[0] == pytest.approx(0.6) and steps.expected.iloc[-1] == pytest.approx(0.8)
    assert steps.expected.is_monotonic_increasing


def test_proposed_targets_shrink_small_groups(table):
    proposed = targets.propose_targets(table, "team").set_index("kpi").loc["csat"]
    assert proposed.best_segments == "strong"
    assert proposed.baseline < proposed.stretch < proposed.benchmark
    assert proposed.benchmark == pytest.approx(table.query("segment == 'strong' and period == 'all'").value.item())


def test_config_goals_are_checked():
    config = from_dict({"goals": [{"kpi": "csat", "target": 0.8, "deadline": "2025-12-31"}]})
    assert config.goals[0].segment_by == "all" and config.goals[0].id == "csat-all"
    with pytest.raises(gapkit.ConfigError, match="unknown KPI"):
        from_dict({"goals": [{"kpi": "happiness", "target": 1, "deadline": "2025-12-31"}]})
    with pytest.raises(gapkit.ConfigError, match="not a date"):
        from_dict({"goals": [{"kpi": "csat", "target": 1, "deadline": "someday"}]})
    with pytest.raises(gapkit.ConfigError, match="unknown key"):
        from_dict({"gaols": []})


def test_progress_projects_the_trend_to_the_deadline():
    months = [f"2025-{m:02d}" for m in range(1, 7)]
    rising = pd.DataFrame({"kpi": "csat", "period": months + ["all"], "segment_by": "all", "segment": "all",
                           "n": [500] * 6 + [3000], "value": [0.60, 0.62, 0.64, 0.66, 0.68, 0.70, 0.65],
                           "ci_low": np.nan, "ci_high": np.nan, "small_n": False})
    goals = [Goal("easy", "csat", 0.70, "2025-12-31"), Goal("hard", "csat", 0.99, "2025-12-31"),
             Goal("past", "csat", 0.9, "2025-01-31")]
    status = goal_module.progress(goals, rising, AS_OF).set_index("goal_id")["status"]
    assert status.to_dict() == {"easy": "on_track", "hard": "off_track", "past": "deadline_passed"}


def test_user_benchmarks_sit_beside_the_proposals(table):
    config = from_dict({"benchmarks": [{"kpi": "csat", "value": 0.82, "source": "panel"}]})
    proposed = targets.propose_targets(table, "team", benchmarks=pd.DataFrame(list(config.benchmarks)))
    row = proposed.set_index("kpi").loc["csat"]
    assert row.external == 0.82 and row.external_source == "panel"


def test_priority_weighs_shortfalls_by_a_demonstrated_effect_not_a_share_of_variance(table):
    goals = [Goal("cov", "followup_coverage", 0.9, "2025-12-31"), Goal("pers", "personalization_rate", 0.9,
                                                                         "2025-12-31")]
    kpi_table = pd.DataFrame([
        {"kpi": k, "period": "all", "segment_by": "all", "segment": "all", "n": 1000, "value": 0.5,
         "ci_low": 0.47, "ci_high": 0.53, "small_n": False} for k in ("followup_coverage", "personalization_rate")])
    # personalization takes 25% of the explained variance (it is correlated with coverage) but
    # its own effect, all else held fixed, is indistinguishable from zero
    drivers = pd.DataFrame({"driver": ["covered", "personal"], "kpi": ["followup_coverage", "personalization_rate"],
                            "importance": [0.75, 0.25], "importance_ci_low": [0.6, 0.1],
                            "importance_ci_high": [0.9, 0.4], "r_squared": [0.1, 0.1],
                            "outcome": "repeat_purchase_rate",
                            "effect": [0.4, 0.02], "effect_ci_low": [0.3, -0.08], "effect_ci_high": [0.5, 0.12]})
    result = gap_module.gaps(goals, kpi_table, drivers=drivers)
    table = result.table.set_index("goal_id")
    assert table.loc["cov", "weight"] == pytest.approx(1.0) and table.loc["pers", "weight"] == 0.0
    assert (table.status == "shortfall").all() and table["rank"].tolist() == [1, 2]  # both ranked
    assert "smallest plausible effect" in result.rule
    # the SMART relevance verdict reads the same evidence
    assert goal_module._relevance("followup_coverage", drivers)[0] == "pass"
    assert goal_module._relevance("personalization_rate", drivers)[0] == "warn"
    # two drivers with effects weigh by their lower bounds, relative to their average
    both = drivers.assign(effect_ci_low=[0.3, 0.1])
    table = gap_module.gaps(goals, kpi_table, drivers=both).table.set_index("goal_id")
    assert table.loc["cov", "weight"] == pytest.approx(1.5) and table.loc["pers", "weight"] == pytest.approx(0.5)
    # no driver with an effect: nothing is weighed up or down
    none = gap_module.gaps(goals, kpi_table, drivers=drivers.assign(effect_ci_low=[-0.1, -0.1]))
    assert none.table["weight"].tolist() == [1.0, 1.0] and "none is weighed" in none.rule


def test_outcome_kpis_weigh_as_an_average_driver(table):
    goals = [Goal("repeat", "repeat_purchase_rate", 0.6, "2025-12-31"),
             Goal("cov", "followup_coverage", 0.6, "2025-12-31")]
    kpi_table = pd.DataFrame([
        {"kpi": k, "period": "all", "segment_by": "all", "segment": "all", "n": 2000, "value": v,
         "ci_low": v - 0.02, "ci_high": v + 0.02, "small_n": False}
        for k, v in (("repeat_purchase_rate", 0.55), ("followup_coverage", 0.45))])
    drivers = pd.DataFrame({"driver": ["covered", "late"], "kpi": ["followup_coverage", "on_time_delivery_rate"],
                            "importance": [0.5, 0.5], "importance_ci_low": [0.3, 0.3],
                            "importance_ci_high": [0.7, 0.7], "r_squared": [0.2, 0.2],
                            "effect": [0.3, 0.3], "effect_ci_low": [0.2, 0.2], "effect_ci_high": [0.4, 0.4]})
    table = gap_module.gaps(goals, kpi_table, drivers=drivers).table.set_index("goal_id")
    # the larger standardized shortfall (coverage, 15 points from 45%) comes first
    assert table.loc["cov", "rank"] == 1 and table.loc["repeat", "rank"] == 2
    assert np.isnan(table.loc["repeat", "importance"]) and table.loc["repeat", "weight"] == 1.0


def _one_row(kpi, value, n, low, high):
    return {"kpi": kpi, "period": "all", "segment_by": "all", "segment": "all", "n": n, "value": value,
            "ci_low": low, "ci_high": high, "small_n": False}


def test_every_significant_shortfall_is_ranked_on_one_scale_whatever_the_kpi_and_target():
    # NPS with targets of 0 and below, a 1-5 score, a share and a median duration, all short
    rows = [_one_row("nps", -25.0, 2000, -28.0, -22.0), _one_row("csat_mean", 3.6, 800, 3.53, 3.67),
            _one_row("first_response_sla", 0.70, 1500, 0.677, 0.722),
            _one_row("first_response_hours", 30.0, 1200, 28.0, 32.0)]
    goals = [Goal("nps0", "nps", 0.0, "2025-12-31"), Goal("nps-10", "nps", -10.0, "2025-12-31"),
             Goal("score", "csat_mean", 4.0, "2025-12-31"), Goal("sla", "first_response_sla", 0.8, "2025-12-31"),
             Goal("hours", "first_response_hours", 24.0, "2025-12-31")]
    table = gap_module.gaps(goals, pd.DataFrame(rows)).table.set_index("goal_id")
    assert (table.status == "shortfall").all()
    assert table["rank"].notna().all() and sorted(table["rank"]) == [1, 2, 3, 4, 5]
    assert (table["priority"] > 0).all() and table["gap_std"].between(0, gap_module.MAX_GAP_STD).all()
    assert np.isnan(table.loc["nps0", "gap_rel"])  # gap / |target| is undefined at 0, the rank is not
    # NPS spread from its interval: sd = 3 * sqrt(2000) / 1.96 = 68.4 points; 25 short of 0 = 0.37
    assert table.loc["nps0", "gap_std"] == pytest.approx(25 / (3 * np.sqrt(2000) / 1.959964), rel=1e-4)
    assert table.loc["nps0", "rank"] < table.loc["nps-10", "rank"]  # further from its target ranks first
    # shares: Cohen's h
    h = 2 * np.arcsin(np.sqrt(0.8)) - 2 * np.arcsin(np.sqrt(0.7))
    assert table.loc["sla", "gap_std"] == pytest.approx(h)


def test_among_equal_shortfalls_the_larger_standardized_gap_ranks_first_not_the_smaller_target():
    # the 311 case: a 16-point gap must not outrank a 17-point gap because its target is lower
    rows = [dict(_one_row("first_response_sla", 0.50, 965, 0.468, 0.532), segment_by="team", segment="a"),
            dict(_one_row("first_response_sla", 0.73, 5260, 0.718, 0.742), segment_by="team", segment="b")]
    goals = [Goal("a", "first_response_sla", 0.66, "2025-12-31", "team", "a"),
             Goal("b", "first_response_sla", 0.90, "2025-12-31", "team", "b")]
    table = gap_module.gaps(goals, pd.DataFrame(rows)).table.set_index("goal_id")
    assert table.loc["a", "gap_rel"] > table.loc["b", "gap_rel"]  # the old rule put "a" first
    assert table.loc["b", "rank"] == 1


def test_a_goal_already_met_is_measurable_and_its_milestones_hold_the_line():
    goal_met = Goal("fast", "first_response_hours", 48.0, "2025-12-31")
    months = [f"2025-{m:02d}" for m in range(1, 7)]
    monthly = pd.DataFrame({"kpi": "first_response_hours", "period": months + ["all"], "segment_by": "all",
                            "segment": "all", "n": [300] * 6 + [1800], "value": [20.0, 21, 19, 20, 19.5, 20, 19.9],
                            "ci_low": 18.0, "ci_high": 22.0, "small_n": False})
    result = goal_module.smart([goal_met], monthly, AS_OF)
    row = result.table.iloc[0]
    assert row.measurable == "pass" and "already met" in row.reason and row.attainable == "pass"
    assert "needs" not in row.reason.split("A: ")[1].split(";")[0]
    assert result.milestones["expected"].eq(19.9).all()  # never plans a worsening to 48 h


def test_the_api_with_data_judges_goals_by_the_reports_current_level(sample_dir):
    from gapkit.measure.baseline import current_levels

    config = gapkit.config.read(ROOT / "gapkit.yml")
    data = gapkit.load(sample_dir)
    segments = gapkit.adapt.segment_columns(data, config.segments, config.goals)
    monthly = gapkit.kpis(data, AS_OF, by=segments, period="M", params=config.params)
    current = current_levels(data, AS_OF, monthly, by=segments, params=config.params, months=config.baseline_months)
    reported = gap_module.gaps(config.goals, monthly, data=data, as_of=AS_OF, params=config.params, current=current)
    by_default = gap_module.gaps(config.goals, monthly, data=data, as_of=AS_OF, params=config.params)
    columns = ["goal_id", "status", "current", "window"]
    pd.testing.assert_frame_equal(by_default.table[columns], reported.table[columns])
    assert (by_default.table["window"] != "all").all()
    smart_default = goal_module.smart(config.goals, monthly, AS_OF, data=data, params=config.params)
    smart_report = goal_module.smart(config.goals, monthly, AS_OF, current=current)
    pd.testing.assert_frame_equal(smart_default.table, smart_report.table)
    # goals as plain dicts, as written in gapkit.yml
    plain = [dataclasses.asdict(g) for g in config.goals]
    assert gap_module.gaps(plain, monthly, data=data, as_of=AS_OF, params=config.params).table["status"].tolist() \
        == reported.table["status"].tolist()


def test_projections_and_milestones_stay_inside_the_kpis_range():
    months = [f"2025-{m:02d}" for m in range(1, 7)]
    kpi_table = pd.DataFrame(
        [{"kpi": "csat", "period": "all", "segment_by": "all", "segment": "all", "n": 600, "value": 0.95,
          "ci_low": 0.93, "ci_high": 0.97, "small_n": False}]
        + [{"kpi": "csat", "period": p, "segment_by": "all", "segment": "all", "n": 100, "value": 0.80 + 0.03 * i,
            "ci_low": 0.7, "ci_high": 0.9, "small_n": False} for i, p in enumerate(months)])
    goal = Goal("csat", "csat", 0.99, "2026-12-31")
    out = goal_module.progress([goal], kpi_table, "2025-06-30").iloc[0]
    # a straight line at +3 points a month would reach 1.48 by the deadline: held at 100%
    assert out["projected"] == 1.0 and 0 <= out["projected_low"] <= out["projected_high"] <= 1
    assert goal_module.milestones_for(Goal("x", "csat", 1.0, "2025-12-31"), 0.9, "2025-06-30")["expected"].max() <= 1


def test_a_goal_on_a_column_not_listed_in_segments_gets_its_figure(sample_dir):
    data = gapkit.load(sample_dir)
    goal_on_persona = Goal("p", "followup_coverage", 0.9, "2025-12-31", segment_by="persona",
                           segment=str(data["customers"]["persona"].dropna().iloc[0]))
    assert gapkit.adapt.segment_columns(data, ["segment"], [goal_on_persona]) == ["segment", "persona"]
    # the API, given a KPI table without that column, still judges the goal on its own segment
    monthly = gapkit.kpis(data, AS_OF, by=["segment"], period="M", kpis=["followup_coverage"])
    row = gap_module.gaps([goal_on_persona], monthly, data=data, as_of=AS_OF).table.iloc[0]
    assert row["status"] != "insufficient_data" and row["n"] > 100 and ".." in row["window"]


def test_a_segment_that_leaves_most_units_open_is_no_benchmark_and_no_best_segment():
    # issue 28: a 311 log's team that never closed 91% of its cases had the "fastest" median over
    # the few it closed, and became the benchmark and the attainability check's best segment
    from gapkit.desired.targets import propose_targets

    rows = [("all", "all", 600, 30.0, 0.02), ("team", "fast_but_open", 200, 0.5, 0.91),
            ("team", "steady", 200, 24.0, 0.01), ("team", "slow", 200, 40.0, 0.00)]
    table = pd.DataFrame([{"kpi": "resolution_hours", "period": "all", "segment_by": by, "segment": seg, "n": n,
                           "value": v, "ci_low": v * 0.9, "ci_high": v * 1.1, "open_share": o}
                          for by, seg, n, v, o in rows])
    proposal = propose_targets(table, "team").iloc[0]
    assert proposal.best_segments == "steady" and proposal.benchmark == pytest.approx(24.0)
    assert "fast_but_open (91% still open)" in proposal.left_out
    goal = Goal(id="res", kpi="resolution_hours", target=20.0, deadline="2025-12-31")
    checked = gapkit.goals.check(goal, table, as_of="2025-06-30")
    assert "best segment 24," in checked["attainable_reason"]  # not the 0.5 h of the team that leaves 91% open
