"""The current state over time: the KPI history across runs (``runs``), control-chart alerts
(``alerts``), and Kaplan-Meier curves of customers coming back or lapsing (``retention``).

Examples
--------
>>> data = gapkit.datasets.sample()
>>> monthly = gapkit.kpis(data, "2025-06-30", by=["segment"], period="M")
>>> gapkit.monitor.alerts(monthly, "2025-06-30").table.head()
Empty DataFrame
Columns: [kpi, segment_by, segment, period, value, center, lower_limit, upper_limit, rule, direction, n, z]
Index: []
>>> gapkit.monitor.retention(data, "2025-06-30", by=["segment"]).table.head()
  cohort segment_by segment  day  at_risk  events  survival    ci_low   ci_high
0    all        all     all    7     2299      60  0.974752  0.967600  0.980340
1    all        all     all   14     2194      84  0.938978  0.928544  0.947932
2    all        all     all   30     1957     182  0.860064  0.845300  0.873526
3    all        all     all   60     1581     267  0.739498  0.720899  0.757076
4    all        all     all   90     1413      85  0.699028  0.679530  0.717597
"""

from gapkit.config import MONITOR_DEFAULTS
from gapkit.contract.artifacts import HISTORY
from gapkit.monitor.alerts import ALERT_COLUMNS, AlertResult, alerts
from gapkit.monitor.retention import (
    RETENTION_COLUMNS,
    RETENTION_DAYS,
    RetentionResult,
    churn_durations,
    repeat_durations,
    retention,
)
from gapkit.monitor.runs import append_history, history, history_path, revisions, show_revisions, write_history_aside

__all__ = ["ALERT_COLUMNS", "HISTORY", "MONITOR_DEFAULTS", "RETENTION_COLUMNS", "RETENTION_DAYS", "AlertResult",
           "RetentionResult", "alerts", "append_history", "churn_durations", "history", "history_path",
           "repeat_durations", "retention", "revisions", "show_revisions", "write_history_aside"]
