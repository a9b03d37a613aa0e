"""gapkit.ipa: Importance-Performance and SERVQUAL gaps by hand."""

import logging

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy import stats  # noqa: E402

from gapkit.analysis.ipa import importance_performance, servqual  # noqa: E402
from gapkit.errors import InputError  # noqa: E402


def kpi_row(kpi, value, low, high, unit, better, period="all", n=100):
    return {"kpi": kpi, "period": period, "segment_by": "all", "segment": "all", "n": n, "value": value,
            "ci_low": low, "ci_high": high, "unit": unit, "better": better}


def test_importance_performance_by_hand():
    kpis = pd.DataFrame([
        kpi_row("followup_coverage", 0.6, 0.5, 0.7, "share", "higher"),
        kpi_row("reopen_rate", 0.1, 0.05, 0.15, "share", "lower"),
        kpi_row("first_response_hours", 12.0, 10.0, 14.0, "hours", "lower"),
        kpi_row("delivery_days", 4.0, 3.5, 4.5, "days", "lower"),
        kpi_row("delivery_days", 3.0, 2.0, 4.0, "days", "lower", period="2025-01"),
        kpi_row("delivery_days", 5.0, 4.0, 6.0, "days", "lower", period="2025-02"),
        kpi_row("csat_mean", 4.0, 3.9, 4.1, "score 1-5", "higher"),
    ])
    drivers = pd.DataFrame({"driver": ["a", "b", "c", "d", "e", "f"],
                            "kpi": ["followup_coverage", "reopen_rate", "first_response_hours", "delivery_days",
                                    "csat_mean", "nps"],
                            "importance": [0.4, 0.1, 0.3, 0.15, 0.05, 0.0],
                            "importance_ci_low": [0.3, 0.0, 0.2, 0.05, 0.0, 0.0],
                            "importance_ci_high": [0.5, 0.2, 0.4, 0.25, 0.1, 0.05], "r_squared": 0.2})
    ipa = importance_performance(kpis, drivers, targets={"first_response_hours": 6.0})
    t = ipa.table.set_index("driver")
    assert t["performance"].to_dict() == pytest.approx({"a": 0.6, "b": 0.9, "c": 0.5, "d": 0.5, "e": 0.75})
    assert (t.loc["b", "performance_ci_low"], t.loc["b", "performance_ci_high"]) == pytest.approx((0.85, 0.95))
    assert "f" not in t.index and any("nps" in note for note in ipa.notes)
    # means: importance 0.2, performance 0.65
    assert t["quadrant"].to_dict() == {"a": "Concentrate here", "b": "Possible overkill", "c": "Concentrate here",
                                       "d": "Low priority", "e": "Possible overkill"}
    fig, ax = plt.subplots()
    assert ipa.plot(ax=ax) is ax and ax.get_title() == "Concentrate here: a, c"
    plt.close(fig)
    assert ipa.summary().startswith("Concentrate here") and not ipa.unranked

    # the same drivers when the model cannot rank them: no quadrant, no winner in the title
    unsure = importance_performance(kpis, drivers.assign(r_squared=0.005), targets={"first_response_hours": 6.0})
    assert unsure.table["quadrant"].isna().all() and "0.5%" in unsure.unranked
    fig, ax = plt.subplots()
    title = unsure.plot(ax=ax).get_title()
    assert title.startswith("No quadrant named") and "Concentrate" not in title
    assert not any("Concentrate" in text.get_text() for text in ax.texts)
    plt.close(fig)
    assert "no quadrant is named" in unsure.summary() and "—" in unsure._repr_html_()


def test_point_labels_do_not_overlap():
    kpis = pd.DataFrame([kpi_row(k, v, v - 0.01, v + 0.01, "share", "higher") for k, v in
                         (("followup_coverage", 0.50), ("personalization_rate", 0.505), ("on_time_delivery_rate", 0.51),
                          ("first_response_sla", 0.495))])
    drivers = pd.DataFrame({"driver": ["followup covered", "followup personalized", "delivered on time",
                                       "first response in sla"],
                            "kpi": ["followup_coverage", "personalization_rate", "on_time_delivery_rate",
                                    "first_response_sla"], "importance": [0.25, 0.26, 0.24, 0.25],
                            "importance_ci_low": 0.2, "importance_ci_high": 0.3, "r_squared": 0.1})
    fig, ax = plt.subplots(figsize=(7, 5))
    importance_performance(kpis, drivers).plot(ax=ax)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts if t.get_text().startswith(("followup", "delivered",
                                                                                          "first"))]
    assert len(boxes) == 4
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    plt.close(fig)


def test_servqual_by_hand(caplog):
    surveys = pd.DataFrame({"exp_reliability": [5, 6, 7, 6], "perc_reliability": [4, 6, 5, 6],
                            "exp_empathy": [4, 4, 5, 5], "perc_empathy": [5, 5, 5, 6], "csat": [4, 5, 3, 4]})
    sq = servqual(surveys)
    t = sq.table.set_index("dimension")
    assert list(sq.table["dimension"]) == ["reliability", "empathy"]  # largest shortfall first
    diffs = np.array([-1, 0, -2, 0])
    half = stats.t.ppf(0.975, 3) * diffs.std(ddof=1) / 2
    assert t.loc["reliability", "gap"] == pytest.approx(-0.75) and t.loc["reliability", "n"] == 4
    assert (t.loc["reliability", "gap_ci_low"], t.loc["reliability", "gap_ci_high"]) == pytest.approx(
        (-0.75 - half, -0.75 + half))
    assert t.loc["empathy", "gap"] == pytest.approx(0.75)
    fig, ax = plt.subplots()
    assert sq.plot(ax=ax) is ax and "reliability" in ax.get_title()
    plt.close(fig)
    with caplog.at_level(logging.WARNING, logger="gapkit"):
        assert servqual(surveys[["csat"]]) is None
    assert "exp_<dimension>" in caplog.text
    with pytest.raises(InputError, match="tangibles"):
        servqual(surveys, dimensions=["tangibles"])

