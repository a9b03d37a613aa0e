"""In-control KPI tables for the alert calibration test: 12 months x (5 segments + all) x 6 KPIs
(two shares, a mean score, NPS, two median durations), with or without month-to-month swings of
the process itself (``swings`` = their SD in units of a month's sampling error). Run as a script
for the figures: ``python tests/alert_simulation.py 300``."""
import sys

import numpy as np
import pandas as pd

from gapkit import monitor

KPI_SPECS = {  # kpi: (kind, level, unit-level sd)
    "csat": ("share", 0.75, None), "first_response_sla": ("share", 0.85, None),
    "csat_mean": ("mean", 3.9, 1.1), "nps": ("nps", 25.0, 70.0),
    "first_response_hours": ("median", 6.0, 5.0), "resolution_hours": ("median", 30.0, 20.0),
}


def table(rng, swings: float, months: int = 12):
    periods = [str(p) for p in pd.period_range("2024-07", periods=months, freq="M")]
    rows = []
    for kpi, (kind, level, sd) in KPI_SPECS.items():
        for segment, n in [("all", 1500)] + [(f"s{i}", 300) for i in range(5)]:
            by = "all" if segment == "all" else "segment"
            for period in periods:
                if kind == "share":
                    error = np.sqrt(level * (1 - level) / n)
                    p = float(np.clip(level + rng.normal(0, swings * error), 0.01, 0.99))
                    value = rng.binomial(n, p) / n
                    low, high = value - 1.96 * error, value + 1.96 * error
                else:
                    error = sd / np.sqrt(n) * (1.2533 if kind == "median" else 1.0)
                    value = level + rng.normal(0, swings * error) + rng.normal(0, error)
                    low, high = value - 1.96 * error, value + 1.96 * error
                rows.append({"kpi": kpi, "period": period, "segment_by": by, "segment": segment, "n": n,
                             "value": value, "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows)


def false_alarm_rate(runs: int, swings: float, seed: int = 11) -> float:
    rng = np.random.default_rng(seed)
    as_of = "2025-06-30"
    return float(np.mean([len(monitor.alerts(table(rng, swings), as_of).table) > 0 for _ in range(runs)]))


def blizzard(frame: pd.DataFrame, month: str = "2024-09", errors: float = 8.0) -> pd.DataFrame:
    """Every KPI of every segment worse by ``errors`` sampling errors in one baseline month."""
    frame = frame.copy()
    for kpi, (kind, _, _) in KPI_SPECS.items():
        rows = (frame["period"] == month) & (frame["kpi"] == kpi)
        shift = (1 if kind == "median" else -1) * errors * (frame.loc[rows, "ci_high"] - frame.loc[rows, "ci_low"]) / 3.92
        for column in ("value", "ci_low", "ci_high"):
            frame.loc[rows, column] += shift
    return frame


def planted_drop(frame: pd.DataFrame, errors: float = 8.0) -> pd.DataFrame:
    """Segment s0's csat in the last month lower by ``errors`` sampling errors."""
    frame = frame.copy()
    rows = (frame["period"] == "2025-06") & (frame["segment"] == "s0") & (frame["kpi"] == "csat")
    shift = errors * (frame.loc[rows, "ci_high"] - frame.loc[rows, "ci_low"]) / 3.92
    for column in ("value", "ci_low", "ci_high"):
        frame.loc[rows, column] -= shift
    return frame


if __name__ == "__main__":
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    for swings in (0.0, 1.0):
        print(f"swings {swings}: a false alarm in {false_alarm_rate(runs, swings):.1%} of {runs} runs")
