"""The analyst's API: the stumbles a new user met (issue 27), each now loud or handled."""

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import gapkit  # noqa: E402
from gapkit import plots  # noqa: E402
from gapkit.config import Goal  # noqa: E402
from gapkit.errors import ConfigError  # noqa: E402

AS_OF = "2025-06-30"


@pytest.fixture(scope="module")
def data(sample_dir):
    return gapkit.load(sample_dir)


def test_a_goal_made_in_python_is_checked_like_one_in_the_configuration():
    with pytest.raises(ConfigError, match="did you mean 'csat'"):
        Goal("g", "csatt", 0.8, "2025-12-31")
    with pytest.raises(ConfigError, match="lies in 0..1"):
        Goal("g", "csat", 2, "2025-12-31")
    with pytest.raises(ConfigError, match="not a date written YYYY-MM-DD"):
        Goal("g", "csat", 0.8, "soon")
    assert Goal("g", "nps", 0, "2025-12-31").target == 0.0


def test_goals_as_plain_dicts_and_results_where_tables_are_expected(data):
    table = gapkit.kpis(data, AS_OF, by=["segment"], period="M")
    goals = [{"id": "cov-C", "kpi": "followup_coverage", "segment_by": "segment", "segment": "C", "target": 0.75,
              "deadline": "2025-12-31"}]
    drivers = gapkit.drivers.key_drivers(data, AS_OF)
    gap = gapkit.gaps.gaps(goals, table, data=data, as_of=AS_OF, drivers=drivers)  # a DriverResult, not .table
    assert gap.table["status"].item() == "shortfall"
    smart = gapkit.goals.smart(goals, table, AS_OF, drivers=drivers, data=data)
    assert smart.table["goal_id"].item() == "cov-C"
    plan = gapkit.actions.action_plan(gap, table)  # a GapResult: its rule comes along
    assert plan.rule == gap.rule and len(plan.table) == 1


def test_one_kpi_as_a_string_is_a_list_of_one_and_a_typo_is_named(data):
    assert set(gapkit.kpis(data, AS_OF, kpis="csat")["kpi"]) == {"csat"}
    with pytest.raises(ConfigError, match="did you mean 'csat'"):
        gapkit.kpis(data, AS_OF, kpis=["csatt"])


def test_a_trend_of_an_unknown_kpi_or_segment_raises_instead_of_drawing_1970(data):
    table = gapkit.kpis(data, AS_OF, by=["segment"], period="M", kpis=["csat", "nps"])
    with pytest.raises(ConfigError, match="did you mean 'csat'"):
        plots.trend(table, "csatt")
    with pytest.raises(ConfigError, match="no segment 'Z' of segment; segments: A, B, C"):
        plots.trend(table, "csat", "segment", "Z")
    fig, ax = plt.subplots()
    assert plots.trend(table, "csat", ax=ax) is ax
    plt.close(fig)


def test_to_csv_takes_the_file_or_its_folder(tmp_path, data):
    result = gapkit.monitor.retention(data, AS_OF)
    written = result.to_csv(tmp_path / "out" / "retention.csv")
    assert written == tmp_path / "out" / "retention.csv" and written.is_file()
    assert result.to_csv(tmp_path / "folder").name == "retention.csv"
    assert list(pd.read_csv(written).columns[:3]) == ["cohort", "segment_by", "segment"]


def test_the_command_line_has_a_version_and_kpis_by_shows_the_segment_rows(sample_dir):
    version = subprocess.run([sys.executable, "-m", "gapkit.cli", "--version"], capture_output=True, text=True)
    assert version.stdout.strip() == f"gapkit {gapkit.__version__}"
    shown = subprocess.run([sys.executable, "-m", "gapkit.cli", "kpis", "--data", str(sample_dir), "--as-of", AS_OF,
                            "--by", "segment"], capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0 and "By segment:" in shown.stdout
    assert any(line.split()[:3] == ["csat", "segment", "C"] for line in shown.stdout.splitlines())


def test_results_remember_their_context_and_summaries_read_as_text(data):
    import numpy as np
    from test_monitor import monthly_shares

    table = gapkit.kpis(data, AS_OF, by=["segment"], period="M")
    rng = np.random.default_rng(2)
    planted = pd.concat([monthly_shares(rng, series=4, n=400, drop=(1, 1, 0.25)),  # a fall in t1
                         monthly_shares(rng, series=4, n=400, drop=(2, 0, -0.25)).assign(segment_by="shop")])
    alerts = gapkit.monitor.alerts(planted, AS_OF)
    worse = alerts.table["direction"].eq("worse").to_numpy()
    assert worse.any() and (~worse).any() and not (~worse[:worse.sum()]).any()  # the months gone worse first
    summary = alerts.summary()
    assert isinstance(summary, str) and repr(summary) == str(summary) and "<p>" in summary._repr_html_()
    fig, axes = plt.subplots(1, 3, figsize=(18, 5))
    assert alerts.plot(ax=axes[0]) is axes[0] and len(axes[0].patches) == min(12, len(alerts.table))
    smart = gapkit.goals.smart([{"id": "g", "kpi": "csat", "target": 0.8, "deadline": "2025-12-31"}], table, AS_OF)
    assert smart.plot(ax=axes[1]) is axes[1]  # the KPI table the goals were checked against, remembered
    effects = gapkit.impact.measure(data, AS_OF, ["csat"])
    assert effects.plot(ax=axes[2]) is axes[2]  # the first chosen estimate, as a finding quotes it
    plt.close(fig)


def test_kpis_on_the_command_line_reads_a_configuration(sample_dir):
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[1]
    shown = subprocess.run([sys.executable, "-m", "gapkit.cli", "kpis", "--data", str(sample_dir), "--as-of", AS_OF,
                            "--config", str(root / "gapkit.yml")], capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0 and "skipped first_response_sla_bh" not in shown.stdout
    assert any(line.split()[:1] == ["first_response_sla_bh"] for line in shown.stdout.splitlines())


def test_every_function_that_makes_an_interval_takes_alpha():
    data = gapkit.datasets.sample()
    config = gapkit.datasets.sample_config()
    monthly = gapkit.kpis(data, "2025-06-30", by=["segment"], period="M")

    def width(table, low="ci_low", high="ci_high"):
        return float((table[high] - table[low]).sum())

    assert width(gapkit.kpis(data, "2025-06-30", alpha=0.2)) < width(gapkit.kpis(data, "2025-06-30"))
    kept = gapkit.monitor.retention(data, "2025-06-30")
    assert width(gapkit.monitor.retention(data, "2025-06-30", alpha=0.2).table) < width(kept.table)
    drivers = gapkit.drivers.key_drivers(data, "2025-06-30", n_boot=60)
    narrow = gapkit.drivers.key_drivers(data, "2025-06-30", n_boot=60, alpha=0.5 - 1e-9)
    assert width(narrow.table, "importance_ci_low", "importance_ci_high") < width(
        drivers.table, "importance_ci_low", "importance_ci_high")
    goals = config.goals
    wide = gapkit.goals.progress(goals, monthly, "2025-06-30")
    tight = gapkit.goals.progress(goals, monthly, "2025-06-30", alpha=0.2)
    assert width(tight, "projected_low", "projected_high") < width(wide, "projected_low", "projected_high")
    # gaps tests at alpha; a looser level can only turn "not significant" into "shortfall"
    strict = gapkit.gaps.gaps(goals, monthly, alpha=0.001).table.set_index("goal_id")["status"]
    loose = gapkit.gaps.gaps(goals, monthly, alpha=0.2).table.set_index("goal_id")["status"]
    assert ((strict == "shortfall") <= (loose == "shortfall")).all()
    for bad in (0, 0.5, "five", None):
        with pytest.raises(gapkit.ConfigError, match="alpha"):
            gapkit.kpis(data, "2025-06-30", alpha=bad)


def test_a_valuation_entry_needs_only_what_a_change_is_worth():
    # stumble 4: money.evaluate had no defaults for horizon_months and discount_rate
    from gapkit.config import VALUATION_DEFAULTS, valuation_entry

    entry = valuation_entry({"intervention_id": "checkin", "kpi": "csat", "value_per_unit": 40}, 0)
    assert (entry["horizon_months"], entry["discount_rate"]) == (12, 0.10) == tuple(VALUATION_DEFAULTS.values())
    data = gapkit.datasets.sample()
    effects = gapkit.impact.measure(data, "2025-06-30", ["csat"])
    result = gapkit.money.evaluate(effects, data, [{"intervention_id": "checkin", "kpi": "csat",
                                                    "value_per_unit": 40}], "2025-06-30")
    assert result.table.loc[0, "horizon_months"] == 12
    with pytest.raises(gapkit.ConfigError, match="value_per_unit"):
        valuation_entry({"intervention_id": "checkin", "kpi": "csat"}, 0)


def test_impact_and_money_take_alpha_and_the_money_reads_the_impact_tables_level():
    data = gapkit.datasets.sample()
    wide = gapkit.impact.measure(data, "2025-06-30", ["repeat_purchase_rate"])
    narrow = gapkit.impact.measure(data, "2025-06-30", ["repeat_purchase_rate"], alpha=0.2)
    both = wide.table.merge(narrow.table, on=["intervention_id", "kpi", "method"], suffixes=("_95", "_80"))
    both = both.dropna(subset=["ci_low_95", "ci_low_80"])
    assert len(both) >= 4 and narrow.table.attrs["alpha"] == 0.2
    assert ((both.ci_high_80 - both.ci_low_80) < (both.ci_high_95 - both.ci_low_95)).all()
    # the A/B test's interval is normal-shaped (the DiD's, from a heavy-tailed t mixture, is not)
    valuation = [{"intervention_id": "sms_thanks", "kpi": "repeat_purchase_rate", "value_per_unit": 25.0}]
    from_95 = gapkit.money.evaluate(wide, data, valuation, "2025-06-30").table.iloc[0]
    from_80 = gapkit.money.evaluate(narrow, data, valuation, "2025-06-30").table.iloc[0]
    # the same effect uncertainty, read from a 95% or an 80% interval: the same 95% NPV interval
    assert from_80.npv_ci_high - from_80.npv_ci_low == pytest.approx(from_95.npv_ci_high - from_95.npv_ci_low, rel=0.1)
    at_80 = gapkit.money.evaluate(wide, data, valuation, "2025-06-30", alpha=0.2).table.iloc[0]
    assert at_80.npv_ci_high - at_80.npv_ci_low < from_95.npv_ci_high - from_95.npv_ci_low
